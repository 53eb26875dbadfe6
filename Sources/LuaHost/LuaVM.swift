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
// @unchecked Sendable: the Lua state is a C pointer confined by design to the thread that runs
// the VM (see above); only `interrupt(reason:)` and `memoryInUse` cross threads, and they touch
// `lock`-guarded fields and the allocator's counter only.
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
        var errorMT: Int32 = 0
        var errors: Int32 = 0
    }

    let L: OpaquePointer
    let state: UnsafeMutablePointer<clua_vmstate>
    public let limits: LuaLimits
    /// Where `require("x.y")` looks for `lib/x/y.lua`, first match wins.
    public var libraryDirectories: [URL] = []
    /// Receives what steps `print` (arguments joined by tabs). Without it, print writes to
    /// standard error.
    public var printHandler: ((String) -> Void)?

    /// Every name the host made visible to steps (`console.get`, `job.mode`, `values`), in
    /// registration order: what `steps/types/host.lua` must declare.
    public internal(set) var registeredNames: [String] = []

    public private(set) var currentChunkName: String?

    private(set) var refs = Refs()
    var hostFunctions: [HostFunction] = []
    /// The Swift errors host functions threw during this run, by the id their error value carries.
    var hostErrors: [Int: Error] = [:]
    var nextHostErrorID = 1
    let lock = NSLock()
    var interruptReason: String?
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
        clua_clear_error_value(L)
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
        refs.errorMT = ref("ERROR_MT")
        refs.errors = ref("ERRORS")
    }

    func load(_ source: String, chunkName: String) -> Int32 {
        var source = source
        return source.withUTF8 { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                luaL_loadbufferx(L, chars.baseAddress, chars.count, chunkName, "t")
            }
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
        clua_clear_error_value(L)
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
}
