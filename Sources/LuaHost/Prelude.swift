/// Trusted Lua code run once per state, with the full standard library, before any step.
/// It keeps what it needs in locals (steps never see them) and returns the table of
/// functions the Swift side calls: building a run's sandboxed environment, registering
/// namespace entries and read-only data, defining Lua-side host functions.
enum Prelude {
    static let source = #"""
local H, NULL = ...

local type, next, ipairs, error, select, tostring = type, next, ipairs, error, select, tostring
local rawget, rawlen, setmetatable, load = rawget, rawlen, setmetatable, load
local dsetmt, dgetmt = debug.setmetatable, debug.getmetatable
local strfind, strformat, strgsub = string.find, string.format, string.gsub
local concat = table.concat
local mathtype = math.type
local STRING_MT = dgetmt("")

local SANDBOX = " is not available to steps (sandbox)"
local dgetinfo = debug.getinfo
local rawsetmetatable = setmetatable

-- Error values: what a host function (or the sandbox) raises is not a string but a table that
-- carries its kind, its message and, for a request, the request; `tostring(err)` gives the text
-- a string error would have had (`steps/x.lua:12: GET /api/v1/x: 404 Not Found`). Steps cannot
-- make one (the metatable is hidden), so the host reads the kind from the value, never from
-- the text. ERRORS: error value -> { where = "file:line: ", fields = {kind=, message=, ...}, id = }
local ERRORS = rawsetmetatable({}, { __mode = "k" })
local STRINGS = string
local function errorText(e)
  local info = ERRORS[e]
  if info == nil then return "error" end
  return info.where .. info.fields.message
end
local ERROR_MT = {
  __name = "host error",
  __metatable = "host error",
  __tostring = errorText,
  __concat = function(a, b) return tostring(a) .. tostring(b) end,
  __index = function(e, k)
    local v = ERRORS[e].fields[k]
    if type(v) == "table" then
      local copy = {}
      for kk, vv in next, v do copy[kk] = vv end
      return copy
    end
    if v ~= nil then return v end
    -- The string methods work on the text: err:find("404"), err:match(...).
    local method = STRINGS[k]
    if type(k) == "string" and k ~= "dump" and method ~= nil then
      return function(self, ...) return method(tostring(self), ...) end
    end
    return nil
  end,
  __newindex = function() error("an error value is read-only", 2) end,
}
-- Raises an error value of `kind` where `error(message, level)` would have put the location.
local function raise(kind, message, level)
  local where = ""
  local info = dgetinfo(level + 1, "Sl")
  if info ~= nil and info.currentline > 0 then where = info.short_src .. ":" .. info.currentline .. ": " end
  local e = {}
  ERRORS[e] = { where = where, fields = { kind = kind, message = message } }
  rawsetmetatable(e, ERROR_MT)
  error(e)
end

-- Names steps may not use: reading one raises an error naming it.
local forbiddenGlobals = {
  io = true, package = true, debug = true, dofile = true, loadfile = true, collectgarbage = true,
}
local forbiddenFields = {
  os = { execute = true, exit = true, getenv = true, remove = true, rename = true, tmpname = true, setlocale = true },
  string = { dump = true },
}
-- The libraries steps get (each run gets its own shallow copy of each).
local libs = {
  string = string, table = table, math = math, utf8 = utf8,
  os = { time = os.time, date = os.date, clock = os.clock },
}
local base = { _VERSION = _VERSION }
for _, name in ipairs({ "pairs", "ipairs", "next", "select", "type", "tostring", "tonumber", "pcall", "xpcall",
    "error", "assert", "setmetatable", "getmetatable", "rawget", "rawset", "rawequal", "rawlen" }) do
  base[name] = _G[name]
end
-- Lua runs a message handler while it handles an error, with hooks off: a handler that loops
-- would escape the instruction budget and SIGTERM. So the step's handler is called after the
-- error has been caught, as ordinary code under the budget (it sees the error value, not the
-- stack that raised it, which steps cannot inspect anyway: there is no debug library).
local rawxpcall, rawpcall, pack, unpack = xpcall, pcall, table.pack, table.unpack
local function keep(e) return e end
base.xpcall = function(f, msgh, ...)
  if type(msgh) ~= "function" then
    error("bad argument #2 to 'xpcall' (function expected)", 2)
  end
  local r = pack(rawxpcall(f, keep, ...))
  if r[1] then return unpack(r, 1, r.n) end
  local ok, handled = rawpcall(msgh, r[2])
  return false, handled
end
-- Finalizers would run outside any run's instruction budget (at a garbage collection
-- between runs): steps cannot install them.
base.setmetatable = function(t, mt)
  if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
    raise("sandbox", "setmetatable: __gc metamethods are not available to steps (sandbox)", 2)
  end
  return rawsetmetatable(t, mt)
end

-- JSON markers and the null sentinel.
local ARRAY_MT = { __metatable = "json.array", __name = "json.array" }
local OBJECT_MT = { __metatable = "json.object", __name = "json.object" }
dsetmt(NULL, {
  __tostring = function() return "null" end,
  __name = "json.null",
  __metatable = "json.null",
  __index = function(_, k) error("attempt to index json.null (field '" .. tostring(k) .. "')", 2) end,
  __newindex = function() error("attempt to assign to a field of json.null", 2) end,
})
-- read-only proxy -> the table it stands for (the Swift bridge converts the latter)
local PROXIES = setmetatable({}, { __mode = "k" })
-- every read-only view (data and namespaces) -> function(key) giving the refusal message, so
-- that `rawset` on a view is refused like an assignment (it would otherwise shadow the data).
local READONLY = setmetatable({}, { __mode = "k" })
-- rawset on a read-only view (values, a namespace) is refused like an assignment.
local rawrawset = rawset
base.rawset = function(t, k, v)
  local refuse = READONLY[t]
  if refuse ~= nil then error(refuse(k), 2) end
  if ERRORS[t] ~= nil then error("an error value is read-only", 2) end
  return rawrawset(t, k, v)
end


local function keyPath(path, k)
  if type(k) == "string" and strfind(k, "^[%a_][%w_]*$") then return path .. "." .. k end
  if type(k) == "string" then return path .. "[" .. strformat("%q", k) .. "]" end
  return path .. "[" .. tostring(k) .. "]"
end

-- Namespaces: name -> { name, entries = {key -> value}, data = backing table or nil, label }
local namespaces = {}
-- Globals registered without a namespace (e.g. `secret`).
local globals = {}

local function namespace(name)
  local n = namespaces[name]
  if n == nil then
    n = { name = name, entries = {}, label = name .. " is read-only" }
    namespaces[name] = n
  end
  return n
end

-- A per-run factory of read-only views of data tables (cached, so that a table always has
-- the same view during a run).
local function newViews()
  local cache = setmetatable({}, { __mode = "k" })
  local wrap
  local function view(v, path, label)
    if type(v) == "table" then return wrap(v, path, label) end
    return v
  end
  wrap = function(backing, path, label)
    local p = cache[backing]
    if p ~= nil then return p end
    p = {}
    dsetmt(p, {
      __index = function(_, k) return view(rawget(backing, k), keyPath(path, k), label) end,
      __newindex = function(_, k) error(label .. " (assignment to " .. keyPath(path, k) .. ")", 2) end,
      __len = function() return rawlen(backing) end,
      __pairs = function()
        return function(_, k)
          local nk, nv = next(backing, k)
          if nk == nil then return nil end
          return nk, view(nv, keyPath(path, nk), label)
        end, p, nil
      end,
      __metatable = false,
    })
    cache[backing] = p
    PROXIES[p] = backing
    READONLY[p] = function(k) return label .. " (assignment to " .. keyPath(path, k) .. ")" end
    return p
  end
  return view
end

local function namespaceView(n, view)
  local entries, data, name, label = n.entries, n.data, n.name, n.label
  local p = {}
  dsetmt(p, {
    __index = function(_, k)
      local v = entries[k]
      if v == nil and data ~= nil then v = rawget(data, k) end
      return view(v, keyPath(name, k), label)
    end,
    __newindex = function(_, k) error(label .. " (assignment to " .. keyPath(name, k) .. ")", 2) end,
    __len = function() if data ~= nil then return rawlen(data) end return 0 end,
    __pairs = function()
      local inEntries = true
      return function(_, k)
        local nk, nv
        if inEntries then
          nk, nv = next(entries, k)
          if nk == nil then inEntries = false; k = nil end
        end
        if not inEntries then
          if data == nil then return nil end
          repeat
            nk, nv = next(data, k)
            k = nk
          until nk == nil or entries[nk] == nil
        end
        if nk == nil then return nil end
        return nk, view(nv, keyPath(name, nk), label)
      end, p, nil
    end,
    __metatable = false,
  })
  if data ~= nil then PROXIES[p] = data end
  READONLY[p] = function(k) return label .. " (assignment to " .. keyPath(name, k) .. ")" end
  return p
end

local function makeRequire(env)
  local loaded, loading = {}, {}
  return function(name)
    if type(name) ~= "string" then
      error("require: expected a module name (a string), got " .. type(name), 2)
    end
    local value = loaded[name]
    if value ~= nil then return value end
    if strfind(name, "..", 1, true) or strfind(name, "/", 1, true) or strfind(name, "\\", 1, true) then
      raise("sandbox", "require(" .. strformat("%q", name) .. "): module names may not contain '/', '\\' or '..' (sandbox)", 2)
    end
    if not (strfind(name, "^[%w_%-]+$") or strfind(name, "^[%w_%-][%w_%-%.]*[%w_%-]$")) then
      error("require(" .. strformat("%q", name) .. "): invalid module name", 2)
    end
    if loading[name] then
      error("require(" .. strformat("%q", name) .. "): circular require", 2)
    end
    local source, display = H.readlib(name)
    if source == nil then
      local file = strgsub(name, "%.", "/")
      error("module '" .. name .. "' not found (no lib/" .. file .. ".lua in the steps directories)", 2)
    end
    local chunk, err = load(source, "@" .. display, "t", env)
    if chunk == nil then error(err, 0) end
    loading[name] = true
    local result = chunk(name)
    loading[name] = nil
    if result == nil then result = true end
    loaded[name] = result
    return result
  end
end

local P = { NULL = NULL, ARRAY_MT = ARRAY_MT, OBJECT_MT = OBJECT_MT, PROXIES = PROXIES,
  ERROR_MT = ERROR_MT, ERRORS = ERRORS }

-- A fresh environment for one run: copies of the libraries, views of the namespaces.
function P.makeEnv()
  local env = {}
  local view = newViews()
  for name, lib in next, libs do
    local copy = {}
    for k, v in next, lib do copy[k] = v end
    local forbidden = forbiddenFields[name]
    if forbidden ~= nil then
      for k in next, forbidden do copy[k] = nil end
      dsetmt(copy, {
        __index = function(_, k)
          if forbidden[k] then raise("sandbox", name .. "." .. tostring(k) .. SANDBOX, 2) end
          return nil
        end,
        __metatable = false,
      })
    end
    env[name] = copy
  end
  -- String methods ("x"):rep(3) use this run's string table; getmetatable("") shows only it.
  STRING_MT.__index = env.string
  STRING_MT.__metatable = { __index = env.string }
  for k, v in next, base do env[k] = v end
  for name, n in next, namespaces do env[name] = namespaceView(n, view) end
  for name, v in next, globals do env[name] = v end
  env.print = function(...)
    local n = select("#", ...)
    local parts = {}
    for i = 1, n do parts[i] = tostring((select(i, ...))) end
    H.print(concat(parts, "\t"))
  end
  env.load = function(chunk, chunkname, mode, ...)
    local e = env
    if select("#", ...) > 0 then e = ... end
    return load(chunk, chunkname, "t", e)  -- text only, whatever mode says
  end
  env.require = makeRequire(env)
  env._G = env
  dsetmt(env, {
    __index = function(_, k)
      if forbiddenGlobals[k] then raise("sandbox", tostring(k) .. SANDBOX, 2) end
      return nil
    end,
    __metatable = false,
  })
  return env
end

function P.setEntry(nsName, key, value)
  if nsName == nil then globals[key] = value else namespace(nsName).entries[key] = value end
end

function P.setData(name, backing, label)
  local n = namespace(name)
  n.data = backing
  n.label = label
end

-- A host function written in Lua: `source` is a chunk returning the function. It runs in a
-- trusted environment: the libraries, the base functions and the raw namespace tables.
function P.define(nsName, key, source, chunkName)
  local env = setmetatable({}, {
    __index = function(_, k)
      local n = namespaces[k]
      if n ~= nil then return n.entries end
      local v = globals[k]
      if v ~= nil then return v end
      v = libs[k]
      if v ~= nil then return v end
      return base[k]
    end,
  })
  local chunk, err = load(source, "=" .. chunkName, "t", env)
  if chunk == nil then error(err, 0) end
  local fn = chunk()
  if type(fn) ~= "function" then error(chunkName .. ": the chunk must return a function", 0) end
  P.setEntry(nsName, key, fn)
end

-- json.array / json.object / json.is_array / json.null
local json = namespace("json").entries
json.null = NULL

local function mark(t, mt, fname)
  if t == nil then return dsetmt({}, mt) end
  if type(t) ~= "table" then error(fname .. ": expected a table, got " .. type(t), 3) end
  if PROXIES[t] ~= nil then error(fname .. ": cannot mark a read-only value", 3) end
  local current = dgetmt(t)
  if current ~= nil and current ~= ARRAY_MT and current ~= OBJECT_MT then
    error(fname .. ": the table already has a metatable", 3)
  end
  return dsetmt(t, mt)
end

json.array = function(t)
  local r = mark(t, ARRAY_MT, "json.array")
  return r
end

json.object = function(t)
  local r = mark(t, OBJECT_MT, "json.object")
  return r
end

json.is_array = function(t)
  if type(t) ~= "table" then return false end
  local backing = PROXIES[t]
  if backing ~= nil then t = backing end
  local mt = dgetmt(t)
  if mt == ARRAY_MT then return true end
  if mt == OBJECT_MT then return false end
  local n = 0
  for k in next, t do
    if mathtype(k) ~= "integer" or k < 1 then return false end
    n = n + 1
  end
  if n == 0 then return false end
  for i = 1, n do
    if rawget(t, i) == nil then return false end
  end
  return true
end

return P
"""#
}
