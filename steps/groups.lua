-- groups: the console groups of `console.groups` ({group, role, authType [oidcGroup]}).
--
-- * The console's groups are read once (GET groups); a values group matches the console group
--   whose groupName (else _id) is its name, so running twice never creates a second group.
-- * Missing: created (POST groups) with its role and exactly one of
--   ldapGroup/samlGroup/oauthGroup/oidcGroup true.
-- * Present with another role or auth flag: updated in place (PUT groups/{id}) on a copy of the
--   group as the console returned it — its users, permissions and other fields are kept; the
--   values' auth flag is set true and any other flag that is true is set false.
-- * Present and equal: nothing is written.
-- * Not listed, but the console answers "already exists" (409, 400 or 500) to its creation: an
--   SSO group hidden from GET groups until its auth type is configured. It is left as it is,
--   with a warning (it cannot be read, so neither compared nor safely replaced).
-- * A role that is not built in is passed on (validation warned: consoles have custom roles); a
--   group the console refuses fails the step naming the group, after the others were done.
-- * The values were validated before any step ran (docs/values.md): the step trusts them.

local tables = require("tables")
local identity = require("identity")
local fields = require("settings_fields")
local answers = require("answers")

local specs = identity.group_specs(fields.lookup(values, "console.groups"))

local groups = answers.get_array("groups", { null_is_empty = true })

local function handle(spec)
  local object = "group " .. spec.name
  local current = identity.find_group(groups, spec.name)
  if current == nil then
    -- An SSO group may exist yet be left out of GET groups until its auth type is configured
    -- on the console: it is not listed even after it is created (absent_ok), and creating it
    -- again is answered "already exists". Such a group cannot be read, so its role cannot be
    -- checked: it is left as the console has it (a PUT would replace its users and needs its
    -- lastModified), with a warning, never created twice.
    local res = identity.create("groups", identity.group_create_body(spec),
      { object = object, verify = { absent_ok = true } })
    if res == false then
      log.warn("group %s exists on the console but GET groups does not list it (SSO groups are hidden until "
        .. "their auth type is configured); its role (%s) cannot be checked and is left as the console has it",
        spec.name, spec.role)
      return
    end
    log.info("%s group %s (%s, %s)", fields.verb(res, "created", "would create"),
      spec.name, spec.role, spec.authType)
    return
  end
  local body = tables.copy(current)
  local changed = identity.group_update(body, spec)
  if #changed == 0 then
    log.info("group %s unchanged (%s, %s)", spec.name, spec.role, spec.authType)
    return
  end
  local id = current._id
  if type(id) ~= "string" or id == "" then id = spec.name end
  local res = console.put("groups/" .. identity.path_segment(id), body, { before = current, object = object })
  log.info("%s group %s (%s)", fields.verb(res, "updated", "would update"), spec.name,
    fields.describe(body, changed))
end

identity.each_item(specs, "group", function(spec) return spec.name end, handle)
