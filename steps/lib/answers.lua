-- Reading the console with the JSON shape a step expects.
--
-- A console (or a proxy in front of it) that answers a read with valid JSON of the wrong shape
-- — an array or a string where an object was expected — must stop the step right at the read,
-- naming the step's endpoint, before anything is built from the answer. Without the check an
-- array would travel into the body sent back, and only the bridge would notice, naming a
-- field instead of the endpoint.
--
--   answers.get_object(path [, opts]) → the answer, a JSON object
--   answers.get_array(path [, opts])  → the answer, a JSON array
--   answers.expect(value, "object"|"array", label [, opts]) → value, checked
--
-- opts.null_is_empty: an empty answer or `null` reads as an empty object/array (settings a
-- console has never stored); otherwise it is refused like any other wrong shape.
--
-- Errors read `GET /api/v1/settings/saml: expected a JSON object, got an array` (the host adds
-- `step "sso": `). Arrays and objects are told apart by the host's markers (`json.is_array`):
-- the console's `{}` is an object and its `[]` an array, even though both are empty tables.

local M = {}

local is_null = require("tables").is_null

--- How a value is named in an error: "an array", "an object", "a string", "null", ...
function M.shape(v)
  if is_null(v) then return "null" end
  local t = type(v)
  if t == "table" then return json.is_array(v) and "an array" or "an object" end
  if t == "number" then return math.type(v) == "integer" and "an integer" or "a number" end
  if t == "string" then return "a string" end
  if t == "boolean" then return "a boolean" end
  return "a " .. t
end

--- A short rendering of an answer for messages: `null`, `{}`, or its JSON cut at 120 characters.
function M.describe(v)
  if is_null(v) then return "null" end
  if type(v) == "table" and next(v) == nil then return json.is_array(v) and "[]" or "{}" end
  local ok, text = pcall(json.encode, v)
  if not ok then return M.shape(v) end
  if #text > 120 then text = text:sub(1, 117) .. "..." end
  return text
end

--- "GET /api/v1/<path>", as the host names requests (a path starting with "/" is kept).
function M.endpoint(method, path)
  if string.sub(path, 1, 1) == "/" then return method .. " " .. path end
  return method .. " /api/v1/" .. path
end

local function check(value, want, label, opts, level)
  if is_null(value) and opts ~= nil and opts.null_is_empty then
    if want == "array" then return json.array() end
    return json.object()
  end
  if type(value) == "table" and not is_null(value) and json.is_array(value) == (want == "array") then
    return value
  end
  -- `level` points the error's location at the step's line that read the answer.
  error(string.format("%s: expected a JSON %s, got %s", label, want, M.shape(value)), level)
end

--- `value` when it is a JSON `want` ("object" or "array"); an error naming `label` (the
--- request, e.g. "GET /api/v1/trust/data") otherwise.
function M.expect(value, want, label, opts)
  local checked = check(value, want, label, opts, 3)
  return checked -- not a tail call: the error's level counts this frame
end

--- GET `path`; the answer when it is a JSON object, else an error naming the endpoint.
function M.get_object(path, opts)
  local checked = check(console.get(path), "object", M.endpoint("GET", path), opts, 3)
  return checked -- not a tail call: the error's level counts this frame
end

--- GET `path`; the answer when it is a JSON array, else an error naming the endpoint.
function M.get_array(path, opts)
  local checked = check(console.get(path), "array", M.endpoint("GET", path), opts, 3)
  return checked -- not a tail call: the error's level counts this frame
end

return M
