-- A name in the console certificate's SANs (settings/certs, types.CertSettings.consoleSAN: "the
-- SAN for the console server certificate. Used for websocket and API"): the dns-san step adds
-- the console's external host, the defenders step the address the Defenders connect to.
-- * Read once (GET settings/certs). When consoleSAN already holds the name (DNS names compare
--   case-insensitively) nothing is written.
-- * Otherwise the name is appended, every other SAN kept in its order, and the settings are
--   POSTed back without caExpiration and defenderOldCAExpiration (read-only dates the console
--   reports but must not be sent back). The diff shown compares against the read settings
--   without those two dates, so it shows just the added name.
local tables = require("tables")
local fields = require("settings_fields")
local answers = require("answers")

local M = {}

--- Makes `host` one of the console's SANs; `why` (optional) ends the log line.
function M.ensure(host, why)
  local suffix = why and (" (" .. why .. ")") or ""
  local current = answers.get_object("settings/certs", { null_is_empty = true })
  local sans = current.consoleSAN
  if tables.is_null(sans) then sans = {} end
  for _, san in ipairs(sans) do
    if type(san) == "string" and string.lower(san) == string.lower(host) then
      log.info("certificate SAN %s already present (%d SANs), unchanged%s", host, #sans, suffix)
      return false
    end
  end

  local before = tables.copy(current)
  before.caExpiration = nil
  before.defenderOldCAExpiration = nil
  local body = tables.copy(before)
  local list = tables.array_of(sans)
  list[#list + 1] = host
  body.consoleSAN = list

  -- idempotent = true: POST settings/certs sets the whole object (sent again after a 5xx, it sets the same).
  local res = console.post("settings/certs", body, { before = before, object = "certificate settings", idempotent = true })
  log.info("%s certificate SAN %s (now %d SANs)%s", fields.verb(res, "added", "would add"), host, #list, suffix)
  return true
end

return M
