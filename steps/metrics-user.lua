-- metrics-user: the user Prometheus logs in with to scrape the console's metrics
-- (`monitoring.enabled`): basic auth, role auditor, name `monitoring.username` (filled by the job:
-- bigbang-metrics-sa for Big Bang values, else twistlock-metrics; docs/values.md), password
-- `monitoring.password` (values, or the secret file of that name).
--
-- * Missing: created (POST users).
-- * Present: brought back to role auditor and authType basic (PUT users, on a copy of the user
--   as the console has it, so every other field is kept). The console never returns passwords,
--   so the password is checked by logging in as the metrics user (POST authenticate without the
--   job's credentials; it changes nothing): refused → the password is restored too. Nothing is
--   written when role, authType and password already match, so a second run writes nothing.
-- * The password never appears in output (the body's password field is masked in diffs).

local tables = require("tables")
local identity = require("identity")
local fields = require("settings_fields")
local answers = require("answers")

local ROLE, AUTH = "auditor", "basic"
local name = identity.metrics_username(values)

-- Validated before any step ran: monitoring.username is a user name and monitoring.password is
-- set (in the values or the secret file monitoring.password, filled in already).
local password = fields.lookup(values, "monitoring.password")

local spec = { username = name, password = password, role = ROLE, authType = AUTH }
local object = "user " .. name
local current = identity.index(answers.get_array("users", { null_is_empty = true }), "username")[name]

if current == nil then
  local res = identity.create("users", identity.user_create_body(spec),
    { object = object, sensitive = { "password" } })
  if res == false then
    log.warn("metrics user %s exists on the console but GET users did not list it; left as it is (run again to compare it)",
      name)
    return
  end
  log.info("%s metrics user %s (%s, %s)", fields.verb(res, "created", "would create"), name, ROLE, AUTH)
  return
end

local body = tables.copy(current)
local changed = identity.user_update(body, spec)
local reason = table.concat(identity.user_differences(current, spec), ", ")
if #changed == 0 then
  local accepted, status = identity.password_accepted(name, password)
  if accepted == nil then
    log.warn("metrics user %s: could not check its password (the console answered %s to a login); not restored",
      name, tostring(status))
    return
  end
  if not accepted then reason = "password differs" end
end
if reason == "" then
  log.info("metrics user %s unchanged (%s, %s)", name, ROLE, AUTH)
  return
end
body.password = password
local res = console.put("users", body, { before = current, object = object, sensitive = { "password" } })
log.info("%s metrics user %s (%s)", fields.verb(res, "restored", "would restore"), name, reason)
