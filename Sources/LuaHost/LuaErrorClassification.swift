import CLua
import Foundation
import JSONModel

/// How a failed run becomes a `LuaError`: its kind, location, traceback and, for a host
/// function's failure, the Swift error it threw.
extension LuaVM {
    func recordHostError(message: String, error: Error) {
        hostErrors.append((message, error))
    }

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
}
