-- users: create the additional users of `console.additionalUsers`, and with
-- `console.updateUsers: true` bring existing ones back to the values.
--
-- * The console's users are read once (GET users).
-- * A missing user is created (POST users) with its role, authType and — basic users only —
--   its password.
-- * An existing user is left alone while `console.updateUsers` is false (a difference is
--   reported, nothing is written).
-- * With `console.updateUsers: true` an existing user is brought back to the values' role and
--   authType (and, for basic users, password) with PUT users, on a copy of the user as the
--   console returned it, so every other field (permissions, description, ...) is kept.
--   The console never returns passwords, so a basic user's password is checked by logging in
--   as that user (POST authenticate without the job's credentials — it changes nothing). The
--   user is written only when its role or authType differ or that login is refused; so a
--   second run with nothing changed writes nothing, and a password changed by hand is restored.
--   (A login the console answers with neither success nor 401/403 is reported and the user is
--   not written.)
-- * An entry naming the metrics user (`monitoring.username`, when `monitoring.enabled`) or the
--   admin account (`console.credentials.username`) is skipped (validation warned): the
--   metrics-user and admin steps own them.
-- * A role that is not built in (`job.builtin_roles`) is passed on (validation warned: consoles
--   have custom roles); the console's refusal of it fails the step naming the user, after the
--   other users were done.
-- * The values were validated before any step ran (docs/values.md): the step trusts them.
-- * No password appears in any output: bodies are marked sensitive, log lines never hold one.

local tables = require("tables")
local identity = require("identity")
local fields = require("settings_fields")
local answers = require("answers")

local specs = identity.user_specs(fields.lookup(values, "console.additionalUsers"), identity.reserved_users(values))

local update = fields.lookup(values, "console.updateUsers") == true

local existing = identity.index(answers.get_array("users", { null_is_empty = true }), "username")

local function describe(spec)
  return string.format("%s (%s, %s)", spec.username, spec.role, spec.authType)
end

local function handle(spec)
  local object = "user " .. spec.username
  local current = existing[spec.username]
  if current == nil then
    local res = identity.create("users", identity.user_create_body(spec),
      { object = object, sensitive = { "password" } })
    if res == false then
      log.warn("user %s exists on the console but GET users did not list it; left as it is (run again to compare it)",
        spec.username)
      return
    end
    log.info("%s user %s", fields.verb(res, "created", "would create"), describe(spec))
    return
  end

  local differences = identity.user_differences(current, spec)
  if not update then
    if #differences == 0 then
      log.info("user %s unchanged", describe(spec))
    else
      log.info("user %s exists and differs (%s); left as is because console.updateUsers is false",
        spec.username, table.concat(differences, ", "))
    end
    return
  end

  local body = tables.copy(current)
  local changed = identity.user_update(body, spec)
  local reason = table.concat(differences, ", ")
  if spec.authType == "basic" then
    if #changed == 0 then
      local accepted, status = identity.password_accepted(spec.username, spec.password)
      if accepted == nil then
        log.warn("user %s: could not check its password (the console answered %s to a login); not restored",
          spec.username, tostring(status))
        return
      end
      if not accepted then reason = "password differs" end
    end
    if reason ~= "" then body.password = spec.password end
  end
  if reason == "" then
    log.info("user %s unchanged", describe(spec))
    return
  end
  local res = console.put("users", body, { before = current, object = object, sensitive = { "password" } })
  if res.changed then
    log.info("%s user %s (%s)", fields.verb(res, "restored", "would restore"), describe(spec), reason)
  else
    log.info("user %s unchanged", describe(spec))
  end
end

identity.each_item(specs, "user", function(spec) return spec.username end, handle)
