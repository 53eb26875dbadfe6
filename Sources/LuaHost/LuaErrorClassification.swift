import CLua
import Foundation
import JSONModel

/// How a failed run becomes a `LuaError`: its kind, location, traceback and, for a host
/// function's failure, the Swift error it threw.
extension LuaVM {
    /// The LuaError for the failure whose error value is on top of the stack.
    func errorFromStack(status: Int32) -> LuaError {
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
        // What was raised, when it says what it is: an error value (a host function's failure, a
        // sandbox refusal), read from the value itself; never recognised by its text.
        var value: LuaErrorValueInfo?
        if status == LUA_ERRRUN {
            clua_push_error_value(L)
            value = bridge.errorValue(at: -1)
            clua_pop(L, 1)
        }
        clua_clear_error_value(L)
        if let value {
            rest = value.message
            let located = LuaError.splitLocation(value.location + "x")
            if located.file != nil { (file, line) = (located.file, located.line) }
        }
        let underlying = value.flatMap { hostErrors[$0.hostID] }
        if status == LUA_ERRMEM || value?.kind == LuaErrorValueKind.memory
            || (value == nil && s.refused != 0 && rest.contains("not enough memory")) {
            // Lua's own memory error is the bare text "not enough memory" (the refused flag says it
            // was one); a host function's refusal is an error value that says what did not fit.
            let detail = (underlying as? LuaMemoryCeiling).map { "not enough memory: " + $0.detail } ?? "not enough memory"
            return LuaError(kind: .memoryLimit,
                            message: "Lua memory limit of \(ByteSize.text(limits.memoryBytes)) exceeded (\(detail))",
                            file: file, line: line, traceback: traceback)
        }
        if status == LUA_ERRSYNTAX {
            return LuaError(kind: .syntax, message: rest, file: file, line: line)
        }
        switch value?.kind {
        case LuaErrorValueKind.sandbox?:
            return LuaError(kind: .sandbox, message: rest, file: file, line: line, traceback: traceback)
        case LuaErrorValueKind.argument?, nil:
            break
        default:
            return LuaError(kind: .hostError, message: rest, file: file, line: line, traceback: traceback, underlying: underlying)
        }
        return LuaError(kind: .runtime, message: rest, file: file, line: line, traceback: traceback)
    }
}
