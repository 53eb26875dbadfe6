-- Pure logic of the identity steps (users, groups, metrics-user, sso): what the (validated)
-- values ask for, and how a console object is brought to them in place.
--
-- The only function that talks to the console is `password_accepted` (a login as the user);
-- everything else works on plain tables, so it can be tested with the standalone interpreter.

local tables = require("tables")
local fields = require("settings_fields")

local M = {}

-- The values are validated before any step runs (Sources/JobConfig: kinds, required fields,
-- auth types, passwords only for basic users, unique names, the shapes of names, roles and
-- URLs): the functions below trust them and only shape them for the console.

--- The flags of a console group (types.Group) that say its identity provider.
M.GROUP_AUTH_TYPES = { "ldapGroup", "samlGroup", "oauthGroup", "oidcGroup" }

local function member(list, v)
  for _, x in ipairs(list) do
    if x == v then return true end
  end
  return false
end
M.member = member

local function nonempty(v)
  return type(v) == "string" and v ~= ""
end

--- Whether `role` is one of the console's built-in roles (the job's one list, `job.builtin_roles`).
function M.is_builtin_role(role)
  return member(job.builtin_roles or {}, role)
end

--- The metrics user's name (`monitoring.username`; its default comes with the values).
function M.metrics_username(values_root)
  return fields.lookup(values_root, "monitoring.username")
end

--- The users other steps own, name → why: the admin account (console.credentials.username)
--- and, when monitoring is enabled, the metrics user (monitoring.username).
function M.reserved_users(values_root)
  local out = {}
  local admin = fields.lookup(values_root, "console.credentials.username")
  if nonempty(admin) then
    out[admin] = "is the admin account (console.credentials.username); the admin step manages it"
  end
  if fields.lookup(values_root, "monitoring.enabled") == true then
    out[M.metrics_username(values_root)] =
      "is the metrics user (monitoring.username); the metrics-user step manages it"
  end
  return out
end

--- The users of `console.additionalUsers` as specs (`{key, username, password, role, authType,
--- builtin_role}` in values order), without the entries naming a reserved user (see
--- `reserved_users`; validation warned about them already).
function M.user_specs(list, reserved)
  reserved = reserved or {}
  local specs = {}
  for i, u in ipairs(list or {}) do
    local key = string.format("console.additionalUsers[%d]", i - 1)
    if reserved[u.username] ~= nil then
      log.info("%s: %s %s; skipped", key, u.username, reserved[u.username])
    else
      local password = u.password
      if password == "" or u.authType ~= "basic" then password = nil end
      specs[#specs + 1] = {
        key = key, username = u.username, password = password, role = u.role,
        authType = u.authType, builtin_role = M.is_builtin_role(u.role),
      }
    end
  end
  return specs
end

--- The groups of `console.groups` as specs `{key, name, role, authType, builtin_role}`.
function M.group_specs(list)
  local specs = {}
  for i, g in ipairs(list or {}) do
    specs[#specs + 1] = {
      key = string.format("console.groups[%d]", i - 1), name = g.group, role = g.role,
      authType = g.authType, builtin_role = M.is_builtin_role(g.role),
    }
  end
  return specs
end

-- values key → identity.SamlSettings field, in the order they are applied and reported.
M.SAML_FIELDS = {
  { key = "client_id", field = "audience" },
  { key = "provider_name", field = "providerAlias" },
  { key = "provider_type", field = "type" },
  { key = "issuer_uri", field = "issuer" },
  { key = "idp_url", field = "url" },
  { key = "console_url", field = "consoleURL" },
  { key = "groups", field = "groupAttribute" },
  { key = "cert", field = "cert" },
}

--- The SamlSettings fields `sso.*` asks for: field → value; optional fields that are empty are
--- left out, so they keep what the console has.
function M.saml_spec(sso)
  local spec = {}
  for _, f in ipairs(M.SAML_FIELDS) do
    local v = sso[f.key]
    if nonempty(v) then spec[f.field] = v end
  end
  return spec
end

local function normalize_pem(s)
  return (string.gsub(string.gsub(s, "\r\n", "\n"), "%s+$", ""))
end

--- Brings SAML settings `obj` (a copy of what the console has) to `spec` in place: enabled,
--- then each field of the spec. A certificate that differs only in line endings or trailing
--- whitespace is left as the console has it. Returns the changed field names.
function M.saml_update(obj, spec)
  local changed = {}
  if fields.set(obj, "enabled", true) then changed[#changed + 1] = "enabled" end
  for _, f in ipairs(M.SAML_FIELDS) do
    local want = spec[f.field]
    if want ~= nil then
      local have = obj[f.field]
      if f.field == "cert" and type(have) == "string" and normalize_pem(have) == normalize_pem(want) then
        want = have
      end
      if fields.set(obj, f.field, want) then changed[#changed + 1] = f.field end
    end
  end
  return changed
end

--- Index of a list of console objects by a field (first one wins); null lists are empty.
function M.index(list, field)
  local out = {}
  if tables.is_null(list) or type(list) ~= "table" then return out end
  for _, o in ipairs(list) do
    if type(o) == "table" then
      local k = o[field]
      if k ~= nil and out[k] == nil then out[k] = o end
    end
  end
  return out
end

--- The console group for a values group name: by groupName, else by _id.
function M.find_group(list, name)
  if tables.is_null(list) or type(list) ~= "table" then return nil end
  for _, g in ipairs(list) do
    if type(g) == "table" and g.groupName == name then return g end
  end
  for _, g in ipairs(list) do
    if type(g) == "table" and g._id == name then return g end
  end
  return nil
end

--- What differs between a console user and a spec (role, authType), as "field: have → want".
function M.user_differences(user, spec)
  local out = {}
  if user.role ~= spec.role then
    out[#out + 1] = string.format("role: %s → %s", tostring(user.role), spec.role)
  end
  local have_auth = user.authType
  if tables.is_null(have_auth) or have_auth == "" then have_auth = "basic" end
  if have_auth ~= spec.authType then
    out[#out + 1] = string.format("authType: %s → %s", tostring(user.authType), spec.authType)
  end
  return out
end

--- Sets role and authType of `user` (a copy) in place. Returns the changed field names.
function M.user_update(user, spec)
  local assignments = { { field = "role", value = spec.role } }
  local have_auth = user.authType
  if tables.is_null(have_auth) or have_auth == "" then have_auth = "basic" end
  if have_auth ~= spec.authType then
    assignments[#assignments + 1] = { field = "authType", value = spec.authType }
  end
  return fields.apply(user, assignments)
end

--- The body that creates a user (password only for basic users).
function M.user_create_body(spec)
  local body = { username = spec.username, role = spec.role, authType = spec.authType }
  if spec.authType == "basic" then body.password = spec.password end
  return body
end

--- The body that creates a group: name, role and exactly one auth flag.
function M.group_create_body(spec)
  local body = { groupName = spec.name, role = spec.role }
  body[spec.authType] = true
  return body
end

--- Brings a console group (a copy) to the spec in place: its role, its auth flag true and any
--- other auth flag that is true set to false (absent flags stay absent). Returns changed fields.
function M.group_update(group, spec)
  local assignments = { { field = "role", value = spec.role } }
  for _, flag in ipairs(M.GROUP_AUTH_TYPES) do
    if flag == spec.authType then
      assignments[#assignments + 1] = { field = flag, value = true }
    elseif group[flag] == true then
      assignments[#assignments + 1] = { field = flag, value = false }
    end
  end
  return fields.apply(group, assignments)
end

--- Percent-encodes a path segment (RFC 3986 unreserved characters kept).
function M.path_segment(s)
  return (string.gsub(s, "[^%w%-%._~]", function(c)
    return string.format("%%%02X", string.byte(c))
  end))
end

--- Whether the console accepts `password` for `username`: a login as that user
--- (POST authenticate without the job's own credentials; it changes nothing on the console).
--- Returns true (accepted), false (refused: 401/403), or nil and the status when the answer
--- says neither.
function M.password_accepted(username, password)
  local res = console.request {
    method = "POST", path = "authenticate", auth = false, read = true,
    body = { username = username, password = password },
  }
  if res.status >= 200 and res.status < 300 then return true end
  if res.status == 401 or res.status == 403 then return false end
  return nil, res.status
end

--- Whether an error from a create says the object exists: consoles answer that with 409, 400
--- or 500 (the status is not documented; the text "... already exists" is).
function M.is_already_exists(err)
  local text = tostring(err)
  return string.find(text, ": 4%d%d [^:]*: .*already exists") ~= nil
    or string.find(text, ": 5%d%d [^:]*: .*already exists") ~= nil
end

--- Creates an object with `console.post(path, body, opts)`. Returns the write's result, or
--- false (and the console's message) when the console answers that it already exists (an
--- object GET did not list: an SSO group hidden until its auth type is configured, or one
--- made meanwhile). Any other refusal is raised as usual.
function M.create(path, body, opts)
  local ok, res = pcall(console.post, path, body, opts)
  if ok then return res end
  if M.is_already_exists(res) then return false, tostring(res) end
  error(res, 0)
end

--- Runs `handle(spec)` for every spec, each under pcall so that one failing item does not stop
--- the others; then fails naming every item that failed. A failure of an item whose role is not
--- built in says so (consoles have custom roles; a 400 may mean the role does not exist there).
---@param specs table[] the users or groups
---@param kind string "user" or "group"
---@param name_of fun(spec: table): string
---@param handle fun(spec: table)
function M.each_item(specs, kind, name_of, handle)
  local failures = {}
  for _, spec in ipairs(specs) do
    local ok, err = pcall(handle, spec)
    if not ok then
      local message = tostring(err)
      if not spec.builtin_role then
        message = string.format("%s (role %q is not built in: does the console have it?)", message, spec.role)
      end
      failures[#failures + 1] = message
      log.error("%s %s: %s", kind, name_of(spec), message)
    end
  end
  if #failures > 0 then
    error(string.format("%ss: %d of %d %ss failed:\n  %s", kind, #failures, #specs, kind,
      table.concat(failures, "\n  ")), 0)
  end
end

return M
