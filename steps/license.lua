-- license: install console.license when given (the console cannot return a key to compare,
-- so it is sent on every run), then read the license back: none installed ends the run with a
-- clear message (exit 0 unless --strict); an expired one fails the step, naming the date.
local dates = require("dates")
local answers = require("answers")
local key = values.console.license

if key ~= nil and key ~= "" then
  console.post("settings/license", {key = key}, {object = "license key", sensitive = {"key"}})
  if job.mode == "plan" then
    log.info("would install the license key from console.license")
    return
  end
  log.info("installed the license key from console.license")
end

-- A console without a license answers null, an empty body or an object without dates (Go's
-- zero time, 0001-01-01T00:00:00Z, when it marshals every field): all mean "none installed".
local answer = console.get("settings/license")
local lic = answers.expect(answer, "object", answers.endpoint("GET", "settings/license"), { null_is_empty = true })
local expiry = lic.expiration_date
if dates.is_zero(expiry) then
  if key ~= nil and key ~= "" then
    error(string.format("the console accepted the key of console.license (POST settings/license) but GET settings/license "
      .. "then answered %s: the license was not installed", answers.describe(answer)), 0)
  end
  job.stop("no license is installed on the console: set console.license, or install one in the console, and run again")
end

local expires_at = dates.parse_rfc3339(expiry)
if not expires_at then
  error(string.format("GET settings/license: expiration_date %q is not an RFC 3339 date", tostring(expiry)))
end
if expires_at <= dates.now() then
  error(string.format("the console's license expired on %s (customer %s): install a current key in console.license",
    expiry, tostring(lic.customer_id or "unknown")))
end
local days = (expires_at - dates.now()) // 86400
log.info("license for %s (%s) valid until %s (%d days)", tostring(lic.customer_id or "unknown"),
  tostring(lic.type or "unknown type"), expiry, days)
if days < 30 then
  log.warn("the license expires in %d days (%s)", days, expiry)
end
