-- dns-san: add the console's external host name to the SANs of its certificate
-- (settings/certs, types.CertSettings.consoleSAN).
--
-- The name is `job.console_host` (the host works it out from the values, and validation checked
-- it is a host name, docs/values.md): `console.externalHost`, else the first of
-- `routes.inbound.console.hosts` (the console chart's route; `{{ .Values.domain }}` in it becomes
-- `domain`), else `twistlock.<domain>`.
-- The name is added once, every other SAN kept (steps/lib/console_san.lua).

local console_san = require("console_san")

local console_host = job.console_host
if console_host == nil then
  -- The step's condition holds, so validation found a name; a step run by hand may not.
  error("dns-san: neither console.externalHost, routes.inbound.console.hosts nor domain gives a host name", 0)
end
local host = console_host.name

console_san.ensure(host)
