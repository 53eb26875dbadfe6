import CLua
import Foundation
import JSONModel

/// The ceilings of a Lua VM.
public struct LuaLimits: Sendable {
    /// Bytes the Lua state may allocate (default 256 MiB). Beyond it allocations fail and the
    /// run fails with `.memoryLimit`. Host functions are not refused allocations while they
    /// run (a Lua error must not cross Swift frames); instead the bridge stops pushing a value
    /// once the state is over its ceiling and `json.decode`/`yaml.decode` refuse a text that
    /// cannot fit, both failing the run with `.memoryLimit` too.
    public var memoryBytes: Int
    /// The default instruction budget of each run (`nil`: none). `run` can override it.
    public var instructionLimit: Int?
    /// The deepest nesting of tables/arrays/objects converted between Lua and JSON.
    public var maxDepth: Int

    public init(memoryBytes: Int = 256 * 1024 * 1024, instructionLimit: Int? = nil, maxDepth: Int = 200) {
        self.memoryBytes = memoryBytes
        self.instructionLimit = instructionLimit
        self.maxDepth = maxDepth
    }
}

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
        let message: String
        switch error {
        case let e as LuaBridge.PathlessError:
            // Bad arguments (or results): the step's error, not the host's.
            message = "\(host.name): \(e.message)"
        case let e as LuaConversionError:
            message = "\(host.name): \(e)"
        case let e as LuaMemoryCeiling:
            // Counted as the state's own memory error (`LuaError.Kind.memoryLimit`).
            vm.noteMemoryRefused()
            message = "\(host.name): not enough memory (\(e.detail))"
            vm.recordHostError(message: message, error: e)
        default:
            message = String(describing: error)
            vm.recordHostError(message: message, error: error)
        }
        lua_settop(L, 0)
        vm.bridge.pushString(message)
        return clua_host_error()
    }
}

/// The bytes a host function call may still build in Swift: what was left of the state's
/// memory ceiling when the call began, less what the call's copies and outputs took so far.
final class HostAllowance {
    var left: Int
    init(left: Int) { self.left = left }

    /// Takes `bytes` from the allowance, or throws `LuaMemoryCeiling` naming `what`.
    func charge(_ bytes: Int, what: @autoclosure () -> String) throws {
        guard bytes <= left else {
            throw LuaMemoryCeiling(detail: "\(what()) needs more than the \(ByteSize.text(max(left, 0))) left under the ceiling")
        }
        left -= bytes
    }
}

/// Thrown by a host function (or the bridge) when what it would build does not fit under the
/// state's memory ceiling; the run fails as if Lua itself had run out (`.memoryLimit`).
public struct LuaMemoryCeiling: Error, CustomStringConvertible {
    public let detail: String
    public init(detail: String) { self.detail = detail }
    public var description: String { "not enough memory (\(detail))" }
}

/// A Lua 5.4 state that runs step chunks in a sandbox, with a memory ceiling, an
/// instruction budget, host functions and a JSON bridge.
///
/// Not thread-safe: use one VM from one thread at a time (a run blocks its thread, including
/// while host functions run, so run it on a thread of its own rather than on Swift's
/// cooperative pool). Only `interrupt(reason:)` and `memoryInUse` may be used from other
/// threads.
public final class LuaVM: @unchecked Sendable {
    struct Refs {
        var null: Int32 = 0
        var arrayMT: Int32 = 0
        var objectMT: Int32 = 0
        var proxies: Int32 = 0
        var makeEnv: Int32 = 0
        var setEntry: Int32 = 0
        var setData: Int32 = 0
        var define: Int32 = 0
    }

    let L: OpaquePointer
    private let state: UnsafeMutablePointer<clua_vmstate>
    public let limits: LuaLimits
    /// Where `require("x.y")` looks for `lib/x/y.lua`, first match wins.
    public var libraryDirectories: [URL] = []
    /// Receives what steps `print` (arguments joined by tabs). Without it, print writes to
    /// standard error.
    public var printHandler: ((String) -> Void)?

    /// Every name the host made visible to steps (`console.get`, `job.mode`, `values`), in
    /// registration order: what `steps/types/host.lua` must declare.
    public private(set) var registeredNames: [String] = []

    private func noteRegistered(_ namespace: String?, _ name: String) {
        let qualified = namespace.map { "\($0).\(name)" } ?? name
        if !registeredNames.contains(qualified) { registeredNames.append(qualified) }
    }
    /// The chunk being run, while `run` is running.
    public private(set) var currentChunkName: String?

    private(set) var refs = Refs()
    private var hostFunctions: [HostFunction] = []
    private var hostErrors: [(message: String, error: Error)] = []
    private let lock = NSLock()
    private var interruptReason: String?
    private var running = false

    var bridge: LuaBridge { LuaBridge(L: L, refs: refs, maxDepth: limits.maxDepth, memory: state, allowance: allowance) }

    /// Set while a host function runs (see `charge`).
    var allowance: HostAllowance?

    /// For host functions: counts `bytes` the function is about to build in Swift (a text it
    /// makes, a copy) against what was left of the memory ceiling when the call began, together
    /// with the copies of its arguments; throws `LuaMemoryCeiling` (a memory error the step can
    /// catch with `pcall`) when it does not fit. No effect outside host functions.
    public func charge(_ bytes: Int, what: String) throws {
        try allowance?.charge(bytes, what: what)
    }

    /// What a host function may still build (Int.max outside host functions).
    public var allowanceLeft: Int { allowance.map { max($0.left, 0) } ?? .max }

    /// Bytes the state may still allocate before its ceiling (0 when it is over).
    public var memoryRemaining: Int {
        let used = Int(state.pointee.used)
        return used >= limits.memoryBytes ? 0 : limits.memoryBytes - used
    }

    /// For host functions that decode a text the step gave them (`json.decode`,
    /// `yaml.decode`): throws `LuaMemoryCeiling` when the decoded value could not fit in what
    /// is left of the ceiling, before any of it is built. A decoded value takes at least half
    /// its text's size in Lua (a table slot is 16 bytes, its shortest text 2), so a text more
    /// than twice the remaining bytes is refused at once; a smaller one that still does not
    /// fit is stopped while it is pushed.
    public func ensureRoom(toDecode byteCount: Int, what: String) throws {
        let remaining = memoryRemaining
        if byteCount / 2 > remaining {
            throw LuaMemoryCeiling(detail: "\(what): a text of \(ByteSize.text(byteCount)) cannot be decoded in the \(ByteSize.text(remaining)) left")
        }
    }

    public init(limits: LuaLimits = LuaLimits()) throws {
        self.limits = limits
        state = .allocate(capacity: 1)
        state.initialize(to: clua_vmstate())
        state.pointee.limit = limits.memoryBytes
        // Outside runs the Swift side is "in the host": no allocation is refused, so no memory
        // error can longjmp across Swift frames.
        state.pointee.host_depth = 1
        state.pointee.budget = -1
        state.pointee.granularity = CLUA_HOOK_GRANULARITY
        guard let L = clua_newstate(state) else {
            state.deallocate()
            throw LuaError(kind: .memoryLimit, message: "cannot create a Lua state")
        }
        self.L = L
        luaL_openlibs(L)
        try loadPrelude()
        registerJSONLibrary()
    }

    func noteMemoryRefused() { state.pointee.refused = 1 }

    deinit {
        lua_close(L)
        state.deallocate()
    }

    /// Bytes allocated by the Lua state now.
    public var memoryInUse: Int { Int(state.pointee.used) }

    /// The most bytes the Lua state has held at once since it was made.
    public var peakMemory: Int { Int(state.pointee.peak) }

    // MARK: Setup

    private func loadPrelude() throws {
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        clua_pushmsghandler(L)
        let handler = lua_gettop(L)
        guard load(Prelude.source, chunkName: "=[luahost prelude]") == LUA_OK else {
            throw errorFromStack(status: LUA_ERRSYNTAX)
        }
        lua_createtable(L, 0, 2)
        pushHostFunction(name: "require") { vm, L in try vm.readLibrary(L) }
        lua_setfield(L, -2, "readlib")
        pushHostFunction(name: "print") { vm, L in
            let text = try vm.bridge.string(at: 1)
            if let handler = vm.printHandler {
                handler(text)
            } else {
                FileHandle.standardError.write(Data((text + "\n").utf8))
            }
            return 0
        }
        lua_setfield(L, -2, "print")
        _ = lua_newuserdatauv(L, 0, 0)  // json.null
        let status = clua_pcall(L, 2, 1, handler)
        guard status == LUA_OK else { throw errorFromStack(status: status) }
        let prelude = lua_gettop(L)
        func ref(_ field: String) -> Int32 {
            lua_getfield(L, prelude, field)
            return luaL_ref(L, clua_registryindex())
        }
        refs.null = ref("NULL")
        refs.arrayMT = ref("ARRAY_MT")
        refs.objectMT = ref("OBJECT_MT")
        refs.proxies = ref("PROXIES")
        refs.makeEnv = ref("makeEnv")
        refs.setEntry = ref("setEntry")
        refs.setData = ref("setData")
        refs.define = ref("define")
    }

    private func load(_ source: String, chunkName: String) -> Int32 {
        var source = source
        return source.withUTF8 { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                luaL_loadbufferx(L, chars.baseAddress, chars.count, chunkName, "t")
            }
        }
    }

    private func pushHostFunction(name: String, _ body: @escaping (LuaVM, OpaquePointer) throws -> Int32) {
        let host = HostFunction(name: name, vm: self, body: body)
        hostFunctions.append(host)
        lua_pushlightuserdata(L, Unmanaged.passUnretained(host).toOpaque())
        clua_pushhostfunction(L, hostDispatch, 1)
    }

    /// Calls a prelude function (protected) with the arguments `pushArgs` pushes.
    private func callPrelude(_ ref: Int32, _ pushArgs: () throws -> Int32) throws {
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        clua_pushmsghandler(L)
        lua_rawgeti(L, clua_registryindex(), lua_Integer(ref))
        let count = try pushArgs()
        let status = clua_pcall(L, count, 0, top + 1)
        if status != LUA_OK { throw errorFromStack(status: status) }
    }

    private func pushOptionalString(_ s: String?) {
        if let s { bridge.pushString(s) } else { lua_pushnil(L) }
    }

    private func installHostFunction(_ namespace: String?, _ name: String, _ body: @escaping (LuaVM, OpaquePointer) throws -> Int32) {
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

    /// Runs a chunk of Lua text (never bytecode) in a fresh sandboxed environment.
    /// `chunkName` names it in errors (`steps/users.lua:12: ...`). `instructionLimit`
    /// overrides `limits.instructionLimit` for this run. Throws `LuaError`.
    public func run(source: String, chunkName: String, instructionLimit: Int? = nil) throws {
        _ = try execute(source: source, chunkName: chunkName, instructionLimit: instructionLimit, collectResults: false)
    }

    /// Like `run`, and returns what the chunk returns, converted to JSON (nil as `.null`).
    public func evaluate(source: String, chunkName: String, instructionLimit: Int? = nil) throws -> [JSON] {
        try execute(source: source, chunkName: chunkName, instructionLimit: instructionLimit, collectResults: true)
    }

    /// Compiles a chunk of Lua text without running it: throws the syntax error
    /// (`LuaError`, kind `.syntax`, naming `chunkName` and the line) when it does not compile.
    public func compile(source: String, chunkName: String) throws {
        precondition(!running, "LuaVM: compile called while a chunk is running")
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        let status = load(source, chunkName: "@" + chunkName)
        if status != LUA_OK { throw errorFromStack(status: status) }
    }

    /// Stops the running chunk at its next instruction-count hook (within about a thousand
    /// instructions; a host function that is running is not interrupted). The run fails with
    /// `.interrupted` and `reason`. Thread-safe. Has no effect on later runs.
    public func interrupt(reason: String) {
        lock.withLock { interruptReason = reason }
        clua_request_interrupt(state, 1)
    }

    // MARK: Running

    private func execute(source: String, chunkName: String, instructionLimit: Int?, collectResults: Bool) throws -> [JSON] {
        precondition(!running, "LuaVM: run called while another chunk is running")
        running = true
        currentChunkName = chunkName
        hostErrors.removeAll()
        lock.withLock { interruptReason = nil }
        clua_request_interrupt(state, 0)
        state.pointee.refused = 0
        state.pointee.failure = CLUA_FAIL_NONE
        let top = lua_gettop(L)
        defer {
            lua_settop(L, top)
            _ = clua_gc_collect(L)
            running = false
            currentChunkName = nil
        }
        clua_pushmsghandler(L)
        let handler = top + 1
        let loadStatus = load(source, chunkName: "@" + chunkName)
        if loadStatus != LUA_OK { throw errorFromStack(status: loadStatus) }
        let chunk = lua_gettop(L)

        lua_rawgeti(L, clua_registryindex(), lua_Integer(refs.makeEnv))
        let envStatus = clua_pcall(L, 0, 1, handler)
        if envStatus != LUA_OK { throw errorFromStack(status: envStatus) }
        _ = lua_setupvalue(L, chunk, 1)  // the chunk's _ENV

        let budget = (instructionLimit ?? limits.instructionLimit).map { Int64($0) } ?? -1
        clua_install_hook(L, budget)
        state.pointee.host_depth = 0
        let status = clua_pcall(L, 0, LUA_MULTRET, handler)
        state.pointee.host_depth = 1
        clua_remove_hook(L)
        if status != LUA_OK { throw errorFromStack(status: status) }

        guard collectResults else { return [] }
        var results: [JSON] = []
        let newTop = lua_gettop(L)
        if newTop > handler {
            for i in (handler + 1)...newTop {
                do {
                    results.append(try bridge.json(at: i, root: "result \(i - handler)"))
                } catch {
                    throw LuaError(kind: .runtime, message: "\(error)", file: chunkName)
                }
            }
        }
        return results
    }

    func recordHostError(message: String, error: Error) {
        hostErrors.append((message, error))
    }

    private func readLibrary(_ L: OpaquePointer) throws -> Int32 {
        let name = try bridge.string(at: 1)
        guard !name.contains(".."), !name.contains("/"), !name.contains("\\"), !name.hasPrefix("."), !name.isEmpty else {
            throw LuaBridge.PathlessError(message: "invalid module name \(JSON.quote(name))")
        }
        let relative = name.replacingOccurrences(of: ".", with: "/") + ".lua"
        for directory in libraryDirectories {
            let url = directory.appendingPathComponent("lib").appendingPathComponent(relative)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue else {
                continue
            }
            // A link may not lead out of the steps directory (as step files may not): the
            // library is read through its resolved path, and its target is never named.
            guard let real = LuaVM.resolveInside(url.path, directory: directory.path) else {
                throw LuaBridge.PathlessError(message: "\(directory.lastPathComponent)/lib/\(relative) is a link that points outside the steps directory \(directory.path); refused")
            }
            guard let data = FileManager.default.contents(atPath: real) else {
                throw LuaBridge.PathlessError(message: "cannot read \(url.path)")
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw LuaBridge.PathlessError(message: "\(url.path) is not valid UTF-8")
            }
            bridge.pushString(text)
            bridge.pushString("\(directory.lastPathComponent)/lib/\(relative)")
            return 2
        }
        lua_pushnil(L)
        return 1
    }

    /// `path` with every link and `.`/`..` resolved, when that lies inside `directory` (itself
    /// resolved); nil otherwise (outside, or a dangling link). Compared byte for byte.
    static func resolveInside(_ path: String, directory: String) -> String? {
        func real(_ p: String) -> String? {
            guard let r = realpath(p, nil) else { return nil }
            defer { free(r) }
            return String(cString: r)
        }
        guard let dir = real(directory), let file = real(path) else { return nil }
        let prefix = dir.hasSuffix("/") ? dir : dir + "/"
        guard file.utf8.count > prefix.utf8.count, file.utf8.starts(with: prefix.utf8) else { return nil }
        return file
    }

    /// The LuaError for the failure whose error value is on top of the stack.
    private func errorFromStack(status: Int32) -> LuaError {
        let raw: String
        if let bytes = bridge.bytes(at: -1) {
            raw = String(decoding: bytes, as: UTF8.self)
        } else {
            raw = "(error object is a \(bridge.typeName(at: -1)) value)"
        }
        var message = raw
        var traceback: String?
        if let range = raw.range(of: "\nstack traceback:\n") {
            message = String(raw[..<range.lowerBound])
            traceback = String(raw[range.upperBound...])
        }
        var (file, line, rest) = LuaError.splitLocation(message)
        if file == nil, let traceback, let frame = LuaError.firstLuaFrame(traceback) {
            file = frame.file
            line = frame.line
        }
        let s = state.pointee
        if s.failure == CLUA_FAIL_INSTRUCTIONS {
            return LuaError(kind: .instructionLimit, message: "instruction limit of \(s.budget) exceeded",
                            file: file, line: line, traceback: traceback)
        }
        if s.failure == CLUA_FAIL_INTERRUPT {
            let reason = lock.withLock { interruptReason }
            return LuaError(kind: .interrupted, message: reason.map { "interrupted: \($0)" } ?? "interrupted",
                            file: file, line: line, traceback: traceback)
        }
        let host = hostErrors.last(where: { rest == $0.message || message.hasSuffix($0.message) })
        if status == LUA_ERRMEM || (s.refused != 0 && rest.contains("not enough memory")) {
            // A host function's refusal says what did not fit.
            let detail = (host?.error as? LuaMemoryCeiling).map { "not enough memory: " + $0.detail } ?? "not enough memory"
            return LuaError(kind: .memoryLimit,
                            message: "Lua memory limit of \(ByteSize.text(limits.memoryBytes)) exceeded (\(detail))",
                            file: file, line: line, traceback: traceback)
        }
        if status == LUA_ERRSYNTAX {
            return LuaError(kind: .syntax, message: rest, file: file, line: line)
        }
        if let host {
            return LuaError(kind: .hostError, message: rest, file: file, line: line, traceback: traceback, underlying: host.error)
        }
        if rest.hasSuffix("(sandbox)") {
            return LuaError(kind: .sandbox, message: rest, file: file, line: line, traceback: traceback)
        }
        return LuaError(kind: .runtime, message: rest, file: file, line: line, traceback: traceback)
    }

    // MARK: The json namespace

    private func registerJSONLibrary() {
        installHostFunction("json", "encode") { vm, L in
            let bridge = vm.bridge
            let value = try bridge.json(at: 1)
            var pretty = false
            switch lua_type(L, 2) {
            case LUA_TNONE, LUA_TNIL:
                break
            case LUA_TTABLE:
                let options = try bridge.json(at: 2, root: "options")
                switch options["pretty"] {
                case nil, .null?, .bool(false)?: pretty = false
                default: pretty = true
                }
            default:
                throw LuaBridge.PathlessError(message: "options must be a table, got \(bridge.typeName(at: 2))")
            }
            let text: [UInt8]
            do {
                text = try value.encodedBytes(pretty: pretty, limit: vm.allowanceLeft)
            } catch is JSON.EncodingLimitExceeded {
                throw LuaMemoryCeiling(detail: "json.encode: the text needs more than the \(ByteSize.text(vm.allowanceLeft)) left under the ceiling")
            }
            try vm.charge(text.count, what: "json.encode")
            text.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { chars in
                    _ = lua_pushlstring(L, chars.baseAddress, chars.count)
                }
            }
            return 1
        }
        installHostFunction("json", "decode") { vm, L in
            let bridge = vm.bridge
            guard let bytes = bridge.bytes(at: 1) else {
                throw LuaBridge.PathlessError(message: "expected a string, got \(bridge.typeName(at: 1))")
            }
            try vm.ensureRoom(toDecode: bytes.count, what: "json.decode")
            let value: JSON
            do {
                value = try JSON.parse(bytes: bytes)
            } catch {
                throw LuaBridge.PathlessError(message: "\(error)")
            }
            try bridge.push(value, topLevelNullIsNil: false)
            return 1
        }
        installHostFunction("json", "equal") { vm, L in
            let bridge = vm.bridge
            let a = try bridge.json(at: 1, root: "argument 1")
            let b = try bridge.json(at: 2, root: "argument 2")
            lua_pushboolean(L, a.isEquivalent(to: b) ? 1 : 0)
            return 1
        }
        installHostFunction("json", "copy") { vm, L in
            let bridge = vm.bridge
            let isNil = lua_type(L, 1) <= LUA_TNIL
            let value = try bridge.json(at: 1)
            try bridge.push(value, topLevelNullIsNil: isNil)
            return 1
        }
    }
}
