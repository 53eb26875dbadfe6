-- sso: SAML single sign-on (`sso.enabled`), settings/saml (identity.SamlSettings).
--
-- values → field: sso.client_id → audience, sso.provider_name → providerAlias,
-- sso.provider_type [shibboleth] → type, sso.issuer_uri → issuer, sso.idp_url → url,
-- sso.console_url → consoleURL, sso.groups → groupAttribute, sso.cert → cert; and enabled: true.
-- (The old job sent `groupAttributes`, which the console silently dropped.)
--
-- * Read once (GET settings/saml), changed on a copy so every other field (appId, tenantId,
--   skipAuthnContext, ...) is kept, written (POST settings/saml) only when a field differs.
-- * provider_name, console_url and groups are optional: left empty, the console's value is kept.
-- * A certificate that differs only in line endings / trailing whitespace counts as equal.
-- * The values were validated before any step ran (required fields, provider type, a PEM
--   certificate, http(s) URLs: docs/values.md): the step trusts them.

local tables = require("tables")
local identity = require("identity")
local fields = require("settings_fields")
local answers = require("answers")

local spec = identity.saml_spec(values.sso)

local current = answers.get_object("settings/saml", { null_is_empty = true })
local body = tables.copy(current)
local changed = identity.saml_update(body, spec)

if #changed == 0 then
  log.info("SAML settings unchanged (%s, issuer %s)", spec.type, spec.issuer)
  return
end
-- idempotent = true: POST settings/saml sets the whole object (sent again after a 5xx, it sets the same).
local res = console.post("settings/saml", body, { before = current, object = "SAML settings", idempotent = true })
log.info("%s SAML settings (%s, issuer %s): changed %s", fields.verb(res, "updated", "would update"),
  spec.type, spec.issuer, table.concat(changed, ", "))
