import CLua
import JSONModel

/// A Lua value that cannot be converted to JSON (or a JSON value too deep for Lua), with
/// where in the value it is (`value.rules[2].name`, Lua-style: 1-based indices).
public struct LuaConversionError: Error, CustomStringConvertible {
    public let message: String
    public let path: String

    public var description: String { path == "value" ? message : "\(message) (at \(path))" }
}

/// Converts between JSON and Lua values on a state's stack. Only raw, non-raising Lua API
/// calls are used (no metamethods), so it is safe inside host functions.
struct LuaBridge {
    let L: OpaquePointer
    let refs: LuaVM.Refs
    let maxDepth: Int
    /// The state's allocation counters: pushing stops once it is over its ceiling.
    var memory: UnsafeMutablePointer<clua_vmstate>?
    /// While a host function runs: its copies of Lua values count against this.
    var allowance: HostAllowance? = nil

    fileprivate enum PathComponent {
        case key(String)
        case index(Int64)
    }

    private func render(_ path: some Sequence<PathComponent>, root: String) -> String {
        var out = root
        for component in path {
            switch component {
            case .key(let k):
                if LuaBridge.isIdentifier(k) { out += "." + k } else { out += "[" + JSON.quote(k) + "]" }
            case .index(let i):
                out += "[\(i)]"
            }
        }
        return out
    }

    static func isIdentifier(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic) else {
            return false
        }
        return s.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
    }

    private func registry(_ ref: Int32) {
        lua_rawgeti(L, clua_registryindex(), lua_Integer(ref))
    }

    func typeName(at index: Int32) -> String {
        String(cString: lua_typename(L, lua_type(L, index)))
    }

    /// Whether the value at `index` is the `json.null` sentinel.
    func isNull(at index: Int32) -> Bool {
        let index = lua_absindex(L, index)
        registry(refs.null)
        defer { clua_pop(L, 1) }
        return lua_rawequal(L, index, -1) != 0
    }

    // MARK: Lua -> JSON

    /// The JSON value of the Lua value at `index`. `nil` (and no value) become `.null`.
    func json(at index: Int32, root: String = "value") throws -> JSON {
        var visiting: [UnsafeRawPointer] = []
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        do {
            return try convert(lua_absindex(L, index), depth: 0, visiting: &visiting)
        } catch let error as PathlessError {
            throw LuaConversionError(message: error.message, path: render(error.innermostFirst.reversed(), root: root))
        }
    }

    /// A string on the stack, which must be valid UTF-8.
    func string(at index: Int32) throws -> String {
        var length = 0
        guard let pointer = lua_tolstring(L, index, &length) else {
            throw PathlessError(message: "expected a string, got \(typeName(at: index))")
        }
        let buffer = UnsafeBufferPointer(start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self), count: length)
        // Most strings are ASCII: check that with a plain loop and skip the generic validator.
        var ascii = true
        for byte in buffer where byte >= 0x80 {
            ascii = false
            break
        }
        if ascii { return String(decoding: buffer, as: UTF8.self) }
        guard let s = String(validating: buffer, as: UTF8.self) else {
            throw PathlessError(message: "string is not valid UTF-8")
        }
        return s
    }

    /// The raw bytes of the string at `index` (which must be a string).
    func bytes(at index: Int32) -> UnsafeRawBufferPointer? {
        guard lua_type(L, index) == LUA_TSTRING else { return nil }
        var length = 0
        guard let pointer = lua_tolstring(L, index, &length) else { return nil }
        return UnsafeRawBufferPointer(start: pointer, count: length)
    }

    /// A conversion error; the path to the bad value is collected while the error unwinds
    /// (innermost component first), so converting a good value keeps no path at all.
    struct PathlessError: Error {
        let message: String
        fileprivate var innermostFirst: [PathComponent] = []

        init(message: String) { self.message = message }
    }

    /// Runs `body` for the member `component`, adding it to the path of an error it throws.
    @inline(__always)
    private func at<T>(_ component: @autoclosure () -> PathComponent, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch var error as PathlessError {
            error.innermostFirst.append(component())
            throw error
        }
    }

    private func convert(_ index: Int32, depth: Int, visiting: inout [UnsafeRawPointer]) throws -> JSON {
        switch lua_type(L, index) {
        case LUA_TNIL, LUA_TNONE:
            return .null
        case LUA_TBOOLEAN:
            return .bool(lua_toboolean(L, index) != 0)
        case LUA_TNUMBER:
            if lua_isinteger(L, index) != 0 { return .int(lua_tointegerx(L, index, nil)) }
            return .double(lua_tonumberx(L, index, nil))
        case LUA_TSTRING:
            if let allowance {
                // The same Lua string reached twice is copied twice in Swift.
                var length = 0
                _ = lua_tolstring(L, index, &length)
                try allowance.charge(length + 16, what: "a copy of the arguments")
            }
            return .string(try string(at: index))
        case LUA_TUSERDATA where isNull(at: index):
            return .null
        case LUA_TTABLE:
            return try convertTable(index, depth: depth, visiting: &visiting)
        default:
            throw PathlessError(message: "cannot convert a \(typeName(at: index)) value to JSON")
        }
    }

    private enum Marker { case none, array, object, error }

    private func marker(of index: Int32) -> Marker {
        guard lua_getmetatable(L, index) != 0 else { return .none }
        defer { clua_pop(L, 1) }
        registry(refs.arrayMT)
        let isArray = lua_rawequal(L, -1, -2) != 0
        clua_pop(L, 1)
        if isArray { return .array }
        registry(refs.objectMT)
        let isObject = lua_rawequal(L, -1, -2) != 0
        clua_pop(L, 1)
        if isObject { return .object }
        registry(refs.errorMT)
        let isError = lua_rawequal(L, -1, -2) != 0
        clua_pop(L, 1)
        return isError ? .error : .none
    }

    private func convertTable(_ index: Int32, depth: Int, visiting: inout [UnsafeRawPointer]) throws -> JSON {
        guard depth < maxDepth else {
            throw PathlessError(message: "value nested deeper than \(maxDepth) levels")
        }
        guard lua_checkstack(L, 8) != 0 else {
            throw PathlessError(message: "value nested too deeply (Lua stack exhausted)")
        }
        // A read-only proxy (values, job, ...): convert what it stands for.
        registry(refs.proxies)
        lua_pushvalue(L, index)
        _ = lua_rawget(L, -2)
        if lua_type(L, -1) == LUA_TTABLE {
            let backing = lua_absindex(L, -1)
            defer { lua_settop(L, backing - 2) }
            return try convertTable(backing, depth: depth, visiting: &visiting)
        }
        clua_pop(L, 2)

        guard let pointer = lua_topointer(L, index) else {
            throw PathlessError(message: "cannot convert this table")
        }
        // The tables being converted, outermost first (a short list: one per level).
        guard !visiting.contains(pointer) else {
            throw PathlessError(message: "cyclic table: a table contains itself")
        }
        visiting.append(pointer)
        defer { visiting.removeLast() }
        try allowance?.charge(64, what: "a copy of the arguments")

        let mark = marker(of: index)
        if mark == .error, let info = errorValue(at: index) {
            // An error value passed on (`log.warn("%s", err)` formats it; `json.encode(err)`,
            // a result): its text, as the string error it stands for.
            return .string(info.location + info.message)
        }
        var integerEntries: [(Int64, JSON)] = []
        var stringEntries: [(String, JSON)] = []
        lua_pushnil(L)
        while lua_next(L, index) != 0 {
            let keyType = lua_type(L, -2)
            if keyType == LUA_TSTRING {
                let key = try string(at: -2)
                let value = try at(.key(key)) { try convert(lua_absindex(L, -1), depth: depth + 1, visiting: &visiting) }
                stringEntries.append((key, value))
            } else if keyType == LUA_TNUMBER, lua_isinteger(L, -2) != 0 {
                let key = lua_tointegerx(L, -2, nil)
                let value = try at(.index(key)) { try convert(lua_absindex(L, -1), depth: depth + 1, visiting: &visiting) }
                integerEntries.append((key, value))
            } else {
                throw PathlessError(message: "cannot convert a table with a key of type \(describeKey(at: -2)) to JSON (object keys must be strings)")
            }
            clua_pop(L, 1)
        }

        switch mark {
        case .array:
            if let (key, _) = stringEntries.first {
                throw PathlessError(message: "a table marked as a JSON array has the string key \(JSON.quote(key))")
            }
            return .array(try sequence(integerEntries, marked: true))
        case .object:
            if let (key, _) = integerEntries.min(by: { $0.0 < $1.0 }) {
                throw PathlessError(message: "a table marked as a JSON object has a key of type number (\(key)); object keys must be strings")
            }
            return .object(object(stringEntries))
        case .none, .error:
            if integerEntries.isEmpty {
                return .object(object(stringEntries))
            }
            if !stringEntries.isEmpty {
                let key = integerEntries.min(by: { $0.0 < $1.0 })!.0
                throw PathlessError(message: "cannot convert a table with both string keys and a key of type number (\(key)) to JSON (object keys must be strings)")
            }
            return .array(try sequence(integerEntries, marked: false))
        }
    }

    /// The members as a dictionary (Lua table keys are unique).
    private func object(_ entries: [(String, JSON)]) -> [String: JSON] {
        var out: [String: JSON] = [:]
        out.reserveCapacity(entries.count)
        for (key, value) in entries { out[key] = value }
        return out
    }

    private func describeKey(at index: Int32) -> String {
        let type = typeName(at: index)
        switch lua_type(L, index) {
        case LUA_TNUMBER: return "number (\(lua_tonumberx(L, index, nil)))"
        case LUA_TBOOLEAN: return "boolean (\(lua_toboolean(L, index) != 0))"
        default: return type
        }
    }

    /// The elements of a table whose keys are integers. Unmarked tables must hold exactly
    /// 1..n; marked arrays may have holes (nil elements), which become `null`.
    private func sequence(_ entries: [(Int64, JSON)], marked: Bool) throws -> [JSON] {
        let sorted = entries.sorted { $0.0 < $1.0 }
        guard let first = sorted.first, let last = sorted.last else { return [] }
        if first.0 < 1 {
            throw PathlessError(message: "cannot convert a table with a key of type number (\(first.0)) to JSON (array indices start at 1; object keys must be strings)")
        }
        if !marked {
            if last.0 != Int64(sorted.count) {
                throw PathlessError(message: "cannot convert a table with keys that are not exactly 1..n to JSON (key of type number (\(last.0)) in a table of \(sorted.count) elements; object keys must be strings)")
            }
            return sorted.map(\.1)
        }
        guard last.0 <= Int64(sorted.count) * 2 + 16 else {
            throw PathlessError(message: "JSON array is too sparse (index \(last.0) with \(sorted.count) elements)")
        }
        var result = [JSON](repeating: .null, count: Int(last.0))
        for (key, value) in sorted { result[Int(key - 1)] = value }
        return result
    }

    // MARK: JSON -> Lua

    /// Pushes `value`. Arrays and objects become tables with the array/object marker;
    /// `null` becomes `json.null`, except at the top level when `topLevelNullIsNil`.
    func push(_ value: JSON, topLevelNullIsNil: Bool = true) throws {
        let top = lua_gettop(L)
        do {
            if topLevelNullIsNil, case .null = value {
                guard lua_checkstack(L, 1) != 0 else { throw PathlessError(message: "Lua stack exhausted") }
                lua_pushnil(L)
                return
            }
            try push(value, depth: 0)
        } catch let error as PathlessError {
            lua_settop(L, top)
            throw LuaConversionError(message: error.message, path: render(error.innermostFirst.reversed(), root: "value"))
        } catch {
            lua_settop(L, top)
            throw error
        }
    }

    private func push(_ value: JSON, depth: Int) throws {
        guard lua_checkstack(L, 4) != 0 else { throw PathlessError(message: "value nested too deeply (Lua stack exhausted)") }
        switch value {
        case .null:
            registry(refs.null)
        case .bool(let b):
            lua_pushboolean(L, b ? 1 : 0)
        case .int(let i):
            lua_pushinteger(L, i)
        case .double(let d):
            lua_pushnumber(L, d)
        case .string(let s):
            pushString(s)
        case .array(let elements):
            guard depth < maxDepth else { throw PathlessError(message: "value nested deeper than \(maxDepth) levels") }
            try checkCeiling()
            lua_createtable(L, Int32(clamping: elements.count), 0)
            for (i, element) in elements.enumerated() {
                try at(.index(Int64(i + 1))) { try push(element, depth: depth + 1) }
                lua_rawseti(L, -2, lua_Integer(i + 1))
            }
            registry(refs.arrayMT)
            lua_setmetatable(L, -2)
        case .object(let members):
            guard depth < maxDepth else { throw PathlessError(message: "value nested deeper than \(maxDepth) levels") }
            try checkCeiling()
            lua_createtable(L, 0, Int32(clamping: members.count))
            for (key, member) in members {
                pushString(key)
                try at(.key(key)) { try push(member, depth: depth + 1) }
                lua_rawset(L, -3)
            }
            registry(refs.objectMT)
            lua_setmetatable(L, -2)
        }
    }

    /// Host functions run with the ceiling lifted; a value being pushed is cut short here.
    @inline(__always)
    private func checkCeiling() throws {
        if let m = memory, m.pointee.used > m.pointee.limit {
            throw LuaMemoryCeiling(detail: "the value does not fit under the ceiling")
        }
    }

    func pushString(_ s: String) {
        var s = s
        s.withUTF8 { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                _ = lua_pushlstring(L, chars.baseAddress, chars.count)
            }
        }
    }
}
