-- dns-san: add the console's external host name to the SANs of its certificate
-- (settings/certs, types.CertSettings.consoleSAN).
--
-- The name is `console.externalHost`, else the first of `routes.inbound.console.hosts` (the
-- console chart's route; `{{ .Values.domain }}` in it becomes `domain`), else
-- `twistlock.<domain>`.
-- * Read once (GET settings/certs). When consoleSAN already holds the name (DNS names compare
--   case-insensitively) nothing is written.
-- * Otherwise the name is appended, every other SAN kept in its order, and the settings are
--   POSTed back without caExpiration and defenderOldCAExpiration (read-only dates the console
--   reports but must not be sent back). The diff shown compares against the read settings
--   without those two dates, so it shows just the added name.

local tables = require("tables")
local fields = require("settings_fields")
local answers = require("answers")

local host, key
local external = fields.lookup(values, "console.externalHost")
local routed = fields.lookup(values, "routes.inbound.console.hosts")
local domain = fields.lookup(values, "domain")
if external ~= "" then
  host, key = external, "console.externalHost"
elseif type(routed) == "table" and routed[1] ~= nil and routed[1] ~= "" then
  -- the console chart's first route host; the chart renders its {{ .Values.domain }}, a values
  -- file given to the binary as it is still has it
  host = string.gsub(routed[1], "{{%-?%s*%.Values%.domain%s*%-?}}", function() return domain end)
  key = "routes.inbound.console.hosts[0]"
elseif domain ~= "" then
  host, key = "twistlock." .. domain, "domain"
else
  error("dns-san: neither console.externalHost, routes.inbound.console.hosts nor domain is set", 0)
end
-- a DNS name (or address): letters, digits, '-', '.', a leading '*.' wildcard; no scheme or port
if #host > 253 or not string.match(host, "^[%w%*][%w%-%.]*$") or string.find(host, "..", 1, true)
  or string.sub(host, -1) == "." or string.find(host, "*", 2, true) then
  error(string.format("dns-san: %s: %q is not a DNS name (no scheme, port or path)", key,
    key == "domain" and domain or host), 0)
end

local current = answers.get_object("settings/certs", { null_is_empty = true })
local sans = current.consoleSAN
if tables.is_null(sans) then sans = {} end
for _, san in ipairs(sans) do
  if type(san) == "string" and string.lower(san) == string.lower(host) then
    log.info("certificate SAN %s already present (%d SANs), unchanged", host, #sans)
    return
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
log.info("%s certificate SAN %s (now %d SANs)", fields.verb(res, "added", "would add"), host, #list)
