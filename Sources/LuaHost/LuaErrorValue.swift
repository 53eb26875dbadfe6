import CLua
import JSONModel

/// The request a host error is about (`err.request` in Lua: `{method = "GET", path = "/api/v1/users"}`).
public struct LuaErrorRequest: Sendable, Equatable {
    public let method: String
    public let path: String
    public init(method: String, path: String) {
        self.method = method
        self.path = path
    }
}

/// An error a host function throws that says what it is. Steps receive it as an error value
/// (see `docs/step-api.md`, "Errors"): `err.kind` is `luaKind`, `err.request` is `luaRequest`,
/// `err.message` is the error's description, and `luaFields` adds further fields (`err.status`).
/// A Swift error that does not conform is raised with the kind `"host"`.
public protocol LuaStructuredError: Error {
    /// A word steps can test (`"status"`, `"transport"`, `"stop"`).
    var luaKind: String { get }
    /// The request the error is about, when there is one.
    var luaRequest: LuaErrorRequest? { get }
    /// Further fields steps can read (`status = 404`). Their names must not be `kind`,
    /// `message` or `request`.
    var luaFields: [String: JSON] { get }
}

extension LuaStructuredError {
    public var luaRequest: LuaErrorRequest? { nil }
    public var luaFields: [String: JSON] { [:] }
}

/// The kinds the Lua side itself gives error values.
enum LuaErrorValueKind {
    /// A host function's arguments (or results) could not be converted: the step's mistake.
    static let argument = "argument"
    /// What a host function would build does not fit under the memory ceiling.
    static let memory = "memory"
    /// The step touched something steps may not use (raised by the prelude).
    static let sandbox = "sandbox"
    /// A Swift error that says nothing more about itself.
    static let host = "host"
}

/// What an error value on the stack says (read raw: no metamethod runs).
struct LuaErrorValueInfo {
    var kind: String
    var message: String
    /// `file:line: ` where it was raised ("" when unknown).
    var location: String
    /// The id of the Swift error in `LuaVM.hostErrors` (0: none).
    var hostID: Int
}

extension LuaVM {
    /// Keeps the Swift error a host function threw for the rest of the run; returns its id.
    func recordHostError(_ error: Error) -> Int {
        let id = nextHostErrorID
        nextHostErrorID += 1
        hostErrors[id] = error
        return id
    }

    /// Pushes a new error value (what a failed host function raises). Only raw, non-raising
    /// Lua API calls: safe inside a host function.
    func pushErrorValue(kind: String, message: String, request: LuaErrorRequest?, fields: [String: JSON], hostID: Int) {
        let bridge = self.bridge
        lua_createtable(L, 0, 0)
        let value = lua_gettop(L)
        // Where the host function was called from, as Lua would prefix a string error.
        luaL_where(L, 1)
        let location = (try? bridge.string(at: -1)) ?? ""
        clua_pop(L, 1)
        lua_createtable(L, 0, 3)  // info
        bridge.pushString(location)
        lua_setfield(L, -2, "where")
        lua_pushinteger(L, lua_Integer(hostID))
        lua_setfield(L, -2, "id")
        lua_createtable(L, 0, Int32(clamping: fields.count + 3))  // fields
        for (key, field) in fields where key != "kind" && key != "message" && key != "request" {
            bridge.pushString(key)
            if (try? bridge.push(field, topLevelNullIsNil: false)) == nil { lua_pushboolean(L, 0) }
            lua_rawset(L, -3)
        }
        bridge.pushString(kind)
        lua_setfield(L, -2, "kind")
        bridge.pushString(message)
        lua_setfield(L, -2, "message")
        if let request {
            lua_createtable(L, 0, 2)
            bridge.pushString(request.method)
            lua_setfield(L, -2, "method")
            bridge.pushString(request.path)
            lua_setfield(L, -2, "path")
            lua_setfield(L, -2, "request")
        }
        lua_setfield(L, -2, "fields")
        let info = lua_gettop(L)
        // ERRORS[value] = info
        lua_rawgeti(L, clua_registryindex(), lua_Integer(refs.errors))
        lua_pushvalue(L, value)
        lua_pushvalue(L, info)
        lua_rawset(L, -3)
        lua_settop(L, value)
        lua_rawgeti(L, clua_registryindex(), lua_Integer(refs.errorMT))
        lua_setmetatable(L, value)
    }
}

extension LuaBridge {
    /// What the value at `index` says when it is an error value; nil for any other value.
    func errorValue(at index: Int32) -> LuaErrorValueInfo? {
        let index = lua_absindex(L, index)
        guard lua_type(L, index) == LUA_TTABLE, lua_getmetatable(L, index) != 0 else { return nil }
        lua_rawgeti(L, clua_registryindex(), lua_Integer(refs.errorMT))
        let isError = lua_rawequal(L, -1, -2) != 0
        clua_pop(L, 2)
        guard isError else { return nil }
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        lua_rawgeti(L, clua_registryindex(), lua_Integer(refs.errors))
        lua_pushvalue(L, index)
        guard lua_rawget(L, -2) == LUA_TTABLE else { return nil }
        let info = lua_gettop(L)
        func text(_ table: Int32, _ key: String) -> String {
            pushString(key)
            defer { clua_pop(L, 1) }
            guard lua_rawget(L, table) == LUA_TSTRING else { return "" }
            return (try? string(at: -1)) ?? ""
        }
        let location = text(info, "where")
        pushString("id")
        _ = lua_rawget(L, info)
        let id = lua_isinteger(L, -1) != 0 ? Int(lua_tointegerx(L, -1, nil)) : 0
        clua_pop(L, 1)
        pushString("fields")
        guard lua_rawget(L, info) == LUA_TTABLE else { return nil }
        let fields = lua_gettop(L)
        return LuaErrorValueInfo(kind: text(fields, "kind"), message: text(fields, "message"), location: location, hostID: id)
    }
}
