-- license: install console.license when given (the console cannot return a key to compare,
-- so a run sends it every time), then read the license back: none installed ends the run with
-- a clear message (exit 0 unless --strict); an expired one fails the step, naming the date.
-- A plan reads the license first: when the console has a valid one, the key is listed as
-- "cannot compare" (a line of the plan, not a change); otherwise installing it is planned.
local dates = require("dates")
local answers = require("answers")
local fields = require("settings_fields")
local key = fields.lookup(values, "console.license")

--- The console's license: nil and a reason when none is installed, or when it is expired or
--- unreadable; the license and its expiry time otherwise.
local function valid_license(lic)
  local expiry = lic.expiration_date
  if dates.is_zero(expiry) then
    return nil, "none installed"
  end
  local expires_at = dates.parse_rfc3339(expiry)
  if not expires_at then
    return nil, string.format("expiration_date %q is not an RFC 3339 date", tostring(expiry))
  end
  if expires_at <= dates.now() then
    return nil, "expired on " .. expiry
  end
  return lic, expires_at
end

-- idempotent = true: POST settings/license sets the whole license object (the same key twice
-- is the same license), so the host may send it again after a 5xx or a lost connection.
if key ~= nil and key ~= "" then
  if job.mode == "plan" then
    local lic, why = valid_license(answers.expect(console.get("settings/license"), "object",
      answers.endpoint("GET", "settings/license"), { null_is_empty = true }))
    if lic then
      job.cannot_compare("license key",
        string.format("the console does not show its key back (it has a valid license for %s until %s); a run sends console.license again",
          tostring(lic.customer_id or "unknown"), lic.expiration_date))
    else
      console.post("settings/license", {key = key}, {object = "license key", sensitive = {"key"}, idempotent = true})
      log.info("would install the license key from console.license (the console's license: %s)", why)
    end
    return
  end
  console.post("settings/license", {key = key}, {object = "license key", sensitive = {"key"}, idempotent = true})
  log.info("installed the license key from console.license")
end

-- A console without a license answers null, an empty body or an object without dates (Go's
-- zero time, 0001-01-01T00:00:00Z, when it marshals every field): all mean "none installed".
local answer = console.get("settings/license")
local lic = answers.expect(answer, "object", answers.endpoint("GET", "settings/license"), { null_is_empty = true })
local expiry = lic.expiration_date
if dates.is_zero(expiry) then
  -- idempotent = true: POST settings/license sets the whole license object (the same key twice
-- is the same license), so the host may send it again after a 5xx or a lost connection.
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
