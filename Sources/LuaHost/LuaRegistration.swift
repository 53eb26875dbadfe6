import CLua
import Foundation
import JSONModel

/// A host function as Lua sees it: a C closure (the trampoline) whose upvalue points here.
final class HostFunction {
    let name: String
    weak var vm: LuaVM?
    /// Reads its arguments from the stack, pushes its results and returns their count.
    let body: (LuaVM, OpaquePointer) throws -> Int32

    init(name: String, vm: LuaVM, body: @escaping (LuaVM, OpaquePointer) throws -> Int32) {
        self.name = name
        self.vm = vm
        self.body = body
    }
}

/// Called by `clua_trampoline`. Never raises a Lua error itself: on failure it leaves the
/// message on the stack and returns CLUA_HOST_ERROR, and the C trampoline raises it.
private let hostDispatch: @convention(c) (OpaquePointer?) -> Int32 = { L in
    guard let L, let raw = lua_touserdata(L, clua_upvalueindex(2)) else { return 0 }
    let host = Unmanaged<HostFunction>.fromOpaque(raw).takeUnretainedValue()
    guard let vm = host.vm else {
        lua_settop(L, 0)
        lua_pushstring(L, "\(host.name): called after its Lua VM was closed")
        return clua_host_error()
    }
    // What the call builds in Swift (copies of its arguments, the text it makes) counts
    // against what is left of the state's ceiling.
    let outer = vm.allowance
    if outer == nil { vm.allowance = HostAllowance(left: vm.memoryRemaining) }
    defer { if outer == nil { vm.allowance = nil } }
    do {
        return try host.body(vm, L)
    } catch {
        // The failure travels as an error value that says what it is (see LuaErrorValue.swift).
        let message: String
        var kind = LuaErrorValueKind.host
        var request: LuaErrorRequest?
        var fields: [String: JSON] = [:]
        var id = 0
        switch error {
        case let e as LuaBridge.PathlessError:
            // Bad arguments (or results): the step's error, not the host's.
            message = "\(host.name): \(e.message)"
            kind = LuaErrorValueKind.argument
        case let e as LuaConversionError:
            message = "\(host.name): \(e)"
            kind = LuaErrorValueKind.argument
        case let e as LuaMemoryCeiling:
            // Counted as the state's own memory error (`LuaError.Kind.memoryLimit`).
            vm.noteMemoryRefused()
            message = "\(host.name): not enough memory (\(e.detail))"
            kind = LuaErrorValueKind.memory
            id = vm.recordHostError(e)
        default:
            message = String(describing: error)
            if let described = error as? LuaStructuredError {
                kind = described.luaKind
                request = described.luaRequest
                fields = described.luaFields
            }
            id = vm.recordHostError(error)
        }
        lua_settop(L, 0)
        vm.pushErrorValue(kind: kind, message: message, request: request, fields: fields, hostID: id)
        return clua_host_error()
    }
}

/// Registration: what steps can call and read (host functions, Lua-defined functions, read-only
/// globals and fields).
extension LuaVM {
    func noteRegistered(_ namespace: String?, _ name: String) {
        let qualified = namespace.map { "\($0).\(name)" } ?? name
        if !registeredNames.contains(qualified) { registeredNames.append(qualified) }
    }
    /// The chunk being run, while `run` is running.

    func pushHostFunction(name: String, _ body: @escaping (LuaVM, OpaquePointer) throws -> Int32) {
        let host = HostFunction(name: name, vm: self, body: body)
        hostFunctions.append(host)
        lua_pushlightuserdata(L, Unmanaged.passUnretained(host).toOpaque())
        clua_pushhostfunction(L, hostDispatch, 1)
    }

    /// Calls a prelude function (protected) with the arguments `pushArgs` pushes.
    func callPrelude(_ ref: Int32, _ pushArgs: () throws -> Int32) throws {
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        clua_pushmsghandler(L)
        lua_rawgeti(L, clua_registryindex(), lua_Integer(ref))
        let count = try pushArgs()
        let status = clua_pcall(L, count, 0, top + 1)
        if status != LUA_OK { throw errorFromStack(status: status) }
    }

    func pushOptionalString(_ s: String?) {
        if let s { bridge.pushString(s) } else { lua_pushnil(L) }
    }

    func installHostFunction(_ namespace: String?, _ name: String, _ body: @escaping (LuaVM, OpaquePointer) throws -> Int32) {
        noteRegistered(namespace, name)
        let qualified = namespace.map { "\($0).\(name)" } ?? name
        do {
            try callPrelude(refs.setEntry) {
                pushOptionalString(namespace)
                bridge.pushString(name)
                pushHostFunction(name: qualified, body)
                return 3
            }
        } catch {
            preconditionFailure("LuaVM: cannot register \(qualified): \(error)")
        }
    }

    // MARK: Public API

    /// Registers a host function callable from Lua as `namespace.name` (or the global `name`
    /// when `namespace` is nil). Arguments arrive converted to JSON (`nil` and missing ones as
    /// `.null`, `json.null` as `.null`, tables by the array/object rules, read-only views as
    /// what they show); a value that cannot be converted fails the call with an error naming
    /// the function and where in the argument it is. Results are pushed back: a top-level
    /// `.null` becomes `nil` (nested ones `json.null`), arrays and objects get their markers.
    /// A thrown error becomes a Lua error whose message is the error's description; when it
    /// ends the run, `LuaError.underlying` is the thrown error (kind `.hostError`).
    public func register(_ namespace: String?, _ name: String, _ fn: @escaping ([JSON]) throws -> [JSON]) {
        installHostFunction(namespace, name) { vm, L in
            let bridge = vm.bridge
            let count = lua_gettop(L)
            var args: [JSON] = []
            args.reserveCapacity(Int(count))
            if count > 0 {
                for i in 1...count { args.append(try bridge.json(at: i, root: "argument \(i)")) }
            }
            let results = try fn(args)
            guard lua_checkstack(L, Int32(clamping: results.count + 4)) != 0 else {
                throw LuaBridge.PathlessError(message: "too many results (\(results.count))")
            }
            for result in results { try bridge.push(result) }
            return Int32(results.count)
        }
    }

    /// Defines `namespace.name` (or a global) as a function written in Lua: `source` is a
    /// chunk that returns the function. The chunk runs once, now, in a trusted environment
    /// with the standard libraries, the base functions and every namespace's raw table (so
    /// it can call host functions registered before, e.g. a `__log.write`). Use it for
    /// primitives that need Lua semantics, e.g. `log.info(fmt, ...)` with `string.format`.
    public func define(_ namespace: String?, _ name: String, lua source: String) throws {
        noteRegistered(namespace, name)
        let qualified = namespace.map { "\($0).\(name)" } ?? name
        try callPrelude(refs.define) {
            pushOptionalString(namespace)
            bridge.pushString(name)
            bridge.pushString(source)
            bridge.pushString(qualified)
            return 4
        }
    }

    /// Makes `value` visible to every run as the global `name`, read-only: arrays and objects
    /// become read-only views (indexing, `#`, `ipairs` and `pairs` work; assigning anywhere
    /// raises "values are read-only" / "<name> is read-only"). When `name` is also a
    /// namespace (host functions, `setField`), its entries are looked up first.
    public func setGlobal(_ name: String, readOnly value: JSON) throws {
        noteRegistered(nil, name)
        switch value {
        case .array, .object:
            let label = name == "values" ? "values are read-only" : "\(name) is read-only"
            try callPrelude(refs.setData) {
                bridge.pushString(name)
                try bridge.push(value)
                bridge.pushString(label)
                return 3
            }
        default:
            try callPrelude(refs.setEntry) {
                lua_pushnil(L)
                bridge.pushString(name)
                try bridge.push(value)
                return 3
            }
        }
    }

    /// Sets `namespace.name` (e.g. `job.mode`) for every later run. Arrays and objects are
    /// read-only for steps. `.null` removes the field.
    public func setField(_ namespace: String, _ name: String, _ value: JSON) throws {
        noteRegistered(namespace, name)
        try callPrelude(refs.setEntry) {
            bridge.pushString(namespace)
            bridge.pushString(name)
            try bridge.push(value)
            return 3
        }
    }
}
