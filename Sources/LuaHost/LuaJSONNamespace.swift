import CLua
import Foundation
import JSONModel

/// The `json` namespace's host functions (`json.encode`, `decode`, `equal`, `copy`); the Lua
/// side (`json.null`, `array`, `object`, `is_array`) is in the prelude.
extension LuaVM {
    // MARK: The json namespace

    func registerJSONLibrary() {
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
