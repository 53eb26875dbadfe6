-- dns-san: add the console's external host name to the SANs of its certificate
-- (settings/certs, types.CertSettings.consoleSAN).
--
-- The name is `console.externalHost`, else the first of `routes.inbound.console.hosts` (the
-- console chart's route; `{{ .Values.domain }}` in it becomes `domain`), else
-- `twistlock.<domain>`.
-- The name is added once, every other SAN kept (steps/lib/console_san.lua).

local fields = require("settings_fields")
local console_san = require("console_san")

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

console_san.ensure(host)
