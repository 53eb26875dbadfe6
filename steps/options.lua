-- options: console-wide options under `console.options` (all gated by console.options.enabled).
--
-- | object                     | endpoint                        | field ← values key                                  |
-- |----------------------------|---------------------------------|-----------------------------------------------------|
-- | network monitoring         | PUT  policies/firewall/network  | containerEnabled ← console.options.network.container |
-- |                            |                                 | hostEnabled ← console.options.network.host           |
-- | logging settings           | POST settings/logging           | stdout.enabled ← console.options.logging             |
-- |                            |                                 | enableMetricsCollection ← monitoring.enabled         |
-- | telemetry settings         | POST settings/telemetry         | enabled ← console.options.telemetry                  |
-- | intelligence settings      | POST settings/intelligence      | uploadDisabled ← console.options.intelligence.uploadDisabled |
-- | scan settings              | POST settings/scan              | scanRunningImages ← console.options.scan.scanRunningImages |
-- | logon settings             | POST settings/logon             | useSupportCredentials ← console.options.logon.useSupportCredentials |
-- |                            |                                 | strongPassword ← console.options.logon.requireStrongPassword |
-- |                            |                                 | basicAuthDisabled ← console.options.logon.basicAuthDisabled |
--
-- Each object is read once, changed on a copy only where the values differ (every other field
-- kept as the console has it), and written only then. A failing object does not stop the
-- others; the step fails at the end naming every object that failed.
--
-- `idempotent = true`: a settings POST sets the whole object (sent twice, it sets the same), so
-- the host may send it again after a 5xx or a lost connection. A PUT is idempotent already.

local tables = require("tables")
local fields = require("settings_fields")
local answers = require("answers")

local problems = {}
local function b(key) return fields.bool(values, key, problems) end

local OBJECTS = {
  {
    object = "network monitoring", path = "policies/firewall/network", method = "put",
    set = {
      { field = "containerEnabled", value = b("console.options.network.container") },
      { field = "hostEnabled", value = b("console.options.network.host") },
    },
  },
  {
    object = "logging settings", path = "settings/logging", method = "post", idempotent = true,
    set = {
      { field = "stdout.enabled", value = b("console.options.logging") },
      { field = "enableMetricsCollection", value = b("monitoring.enabled") },
    },
  },
  {
    object = "telemetry settings", path = "settings/telemetry", method = "post", idempotent = true,
    set = { { field = "enabled", value = b("console.options.telemetry") } },
  },
  {
    object = "intelligence settings", path = "settings/intelligence", method = "post", idempotent = true,
    set = { { field = "uploadDisabled", value = b("console.options.intelligence.uploadDisabled") } },
  },
  {
    object = "scan settings", path = "settings/scan", method = "post", idempotent = true,
    set = { { field = "scanRunningImages", value = b("console.options.scan.scanRunningImages") } },
  },
  {
    object = "logon settings", path = "settings/logon", method = "post", idempotent = true,
    set = {
      { field = "useSupportCredentials", value = b("console.options.logon.useSupportCredentials") },
      { field = "strongPassword", value = b("console.options.logon.requireStrongPassword") },
      { field = "basicAuthDisabled", value = b("console.options.logon.basicAuthDisabled") },
    },
  },
}
fields.fail_on(problems, "options")

if fields.lookup(values, "console.options.logon.basicAuthDisabled") == true
  and fields.lookup(values, "monitoring.enabled") == true then
  log.warn("console.options.logon.basicAuthDisabled is true while monitoring.enabled is true: "
    .. "a scraper that logs in with HTTP Basic auth as the metrics user will be refused")
end

local failures = {}

local function handle(o)
  local current = answers.get_object(o.path, { null_is_empty = true })
  local body = tables.copy(current)
  local changed = fields.apply(body, o.set)
  if #changed == 0 then
    log.info("%s unchanged", o.object)
    return
  end
  local res = console[o.method](o.path, body, { before = current, object = o.object, idempotent = o.idempotent })
  log.info("%s %s: %s", fields.verb(res, "updated", "would update"), o.object, fields.describe(body, changed))
end

for _, o in ipairs(OBJECTS) do
  local ok, err = pcall(handle, o)
  if not ok then
    failures[#failures + 1] = tostring(err)
    log.error("%s: %s", o.object, tostring(err))
  end
end

if #failures > 0 then
  error(string.format("options: %d of %d objects failed:\n  %s", #failures, #OBJECTS,
    table.concat(failures, "\n  ")), 0)
end
