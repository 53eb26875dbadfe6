-- The one set of JSON table helpers the steps and lib/ share: null tests, the array/object
-- markers, copies that keep them.
--
--   tables.is_null(v)    nil or json.null
--   tables.is_table(v)   a table that is not json.null
--   tables.array(t)      t (or a new table) marked as a JSON array: an empty one encodes as []
--   tables.object(t)     t (or a new table) marked as a JSON object: an empty one encodes as {}
--   tables.array_of(l)   a new JSON array holding the elements of the sequence l (a values list
--                        or an answer's list, which stay as they are)
--   tables.copy(v)       a deep copy keeping the markers (a read-only values view becomes a
--                        plain, writable copy, marked array or object as the host sees it)
--
-- Pure Lua: the host's `json` global is used when it is there (its markers and `json.null`);
-- without it (a standalone interpreter) plain tables are used, which encode the same way except
-- for empty tables.

local M = {}

--- The host's `json` namespace, or nil outside the host.
local function host_json()
  local ok, j = pcall(function() return json end)
  if ok and type(j) == "table" then return j end
  return nil
end

--- True when `v` is missing or the JSON null.
function M.is_null(v)
  if v == nil then return true end
  local j = host_json()
  return j ~= nil and j.null ~= nil and rawequal(v, j.null)
end

--- True when `v` is a table that is not `json.null`.
function M.is_table(v)
  return type(v) == "table" and not M.is_null(v)
end

--- `t` (or a new table) marked with the host's json.array or json.object.
local function mark(t, marker)
  t = t or {}
  local j = host_json()
  if j ~= nil and j[marker] ~= nil then return j[marker](t) end
  return t
end

--- Marks `t` (or a new table) as a JSON array, so an empty one encodes as `[]`.
function M.array(t) return mark(t, "array") end

--- Marks `t` (or a new table) as a JSON object, so an empty one encodes as `{}`.
function M.object(t) return mark(t, "object") end

--- A new JSON array holding the elements of the sequence `list` (nil: an empty array).
function M.array_of(list)
  local out = {}
  if list ~= nil then
    for _, x in ipairs(list) do out[#out + 1] = x end
  end
  return M.array(out)
end

--- Deep copy of a decoded JSON value, keeping the array/object markers (so an empty list stays
--- `[]`). Plain Lua: cheaper than a round trip through the host for big policies.
function M.copy(v)
  if type(v) ~= "table" or M.is_null(v) then return v end
  local out = {}
  for k, x in pairs(v) do
    if type(x) == "table" then out[k] = M.copy(x) else out[k] = x end
  end
  local mt = getmetatable(v)
  if mt == "json.array" then return M.array(out) end
  if mt == "json.object" then return M.object(out) end
  if mt == false then
    -- A read-only view (values): a writable copy, array or object as the host sees it.
    local j = host_json()
    if j ~= nil and j.is_array ~= nil and j.is_array(v) then return M.array(out) end
    return M.object(out)
  end
  if type(mt) == "table" then return setmetatable(out, mt) end
  return out
end

return M
