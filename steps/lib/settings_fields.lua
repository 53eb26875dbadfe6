-- Pure helpers shared by the identity and settings steps: safe values lookup and "set these
-- fields in place, tell me which ones changed". Null tests, copies and the JSON markers are
-- lib/tables.lua's.
--
-- Nothing here talks to the console.

local M = {}

local T = require("tables")

--- Reads a dotted path ("console.options.network.host") from a table, nil when any part is
--- missing (or not a table).
function M.lookup(root, path)
  local cur = root
  for part in string.gmatch(path, "[^%.]+") do
    if type(cur) ~= "table" or T.is_null(cur) then return nil end
    cur = cur[part]
  end
  if T.is_null(cur) then return nil end
  return cur
end

--- Element-wise equality of two sequences of scalars (nil/null counts as empty).
function M.same_list(a, b)
  local na = T.is_null(a) and 0 or #a
  local nb = T.is_null(b) and 0 or #b
  if na ~= nb then return false end
  for i = 1, na do
    if a[i] ~= b[i] then return false end
  end
  return true
end

--- Sets `obj[path] = value` (dotted path; missing intermediate objects are created) when the
--- current value differs. Returns true when it changed something.
function M.set(obj, path, value)
  local parts = {}
  for part in string.gmatch(path, "[^%.]+") do parts[#parts + 1] = part end
  local cur = obj
  for i = 1, #parts - 1 do
    local nxt = cur[parts[i]]
    if type(nxt) ~= "table" or T.is_null(nxt) then
      nxt = T.object({})
      cur[parts[i]] = nxt
    end
    cur = nxt
  end
  local last = parts[#parts]
  local old = cur[last]
  if T.is_null(old) then old = nil end
  if old == value and math.type(old) == math.type(value) then return false end
  cur[last] = value
  return true
end

--- Applies a list of assignments `{ {field = "stdout.enabled", value = true}, ... }` to `obj`
--- in place. Returns the list of changed field paths, in the order given.
function M.apply(obj, assignments)
  local changed = {}
  for _, a in ipairs(assignments) do
    if M.set(obj, a.field, a.value) then changed[#changed + 1] = a.field end
  end
  return changed
end

--- Describes a change list for a log line: "containerEnabled → true, hostEnabled → false".
function M.describe(obj, changed)
  local parts = {}
  for _, path in ipairs(changed) do
    parts[#parts + 1] = string.format("%s → %s", path, tostring(M.lookup(obj, path)))
  end
  return table.concat(parts, ", ")
end

--- Checks that the value at `key` (a values path) is a boolean; appends a problem otherwise.
--- Returns the value (nil when it is missing or of another type).
function M.bool(values_root, key, problems)
  local v = M.lookup(values_root, key)
  if type(v) ~= "boolean" then
    problems[#problems + 1] = string.format("%s: must be true or false (got %s)", key, M.show(v))
    return nil
  end
  return v
end

--- A short, secret-free rendering of a values entry for error messages.
function M.show(v)
  if v == nil then return "nothing" end
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) == "table" then return "a " .. ((#v > 0) and "list" or "map") end
  return tostring(v)
end

--- "created" / "would create" (plan mode) for a write result.
function M.verb(res, done, planned)
  if res ~= nil and res.planned then return planned end
  return done
end

--- Raises one error listing every problem (`what: problem` lines), or returns.
function M.fail_on(problems, what)
  if #problems == 0 then return end
  error(string.format("%s: invalid values:\n  %s", what, table.concat(problems, "\n  ")), 0)
end

return M
