import JSONModel
import LuaHost

// What the host's errors say about themselves to steps: a step that catches one with `pcall`
// reads `err.kind`, `err.request`, `err.status` instead of parsing `tostring(err)`
// (docs/step-api.md, "Errors").

extension ConsoleError: LuaStructuredError {
    public var luaKind: String {
        switch self {
        case .transport: return "transport"
        case .status: return "status"
        case .authentication: return "authentication"
        case .deadlineExceeded: return "deadline"
        case .interrupted: return "interrupted"
        case .invalidURL: return "invalid_url"
        case .responseTooLarge: return "too_large"
        case .malformedAnswer: return "malformed"
        }
    }

    public var luaRequest: LuaErrorRequest? {
        request.map { LuaErrorRequest(method: $0.method, path: $0.path) }
    }

    public var luaFields: [String: JSON] {
        switch self {
        case .status(_, _, let status, _), .authentication(let status, _): return ["status": .int(Int64(status))]
        default: return [:]
        }
    }
}

/// A console request that failed, named by the object a write was about:
/// `POST /api/v1/users (user alice): 400 Bad Request: …`. Built from the `ConsoleError` and the
/// object, never by rewriting the error's text.
struct ConsoleFailure: Error, CustomStringConvertible, LuaStructuredError {
    let error: ConsoleError
    let object: String?

    var description: String {
        guard let object, let (method, path) = error.request else { return error.description }
        return "\(method) \(path) (\(object)): \(error.detail)"
    }

    var luaKind: String { error.luaKind }
    var luaRequest: LuaErrorRequest? { error.luaRequest }
    var luaFields: [String: JSON] {
        var fields = error.luaFields
        if let object { fields["object"] = .string(object) }
        return fields
    }
}

extension KubeError: LuaStructuredError {
    public var luaKind: String {
        switch reason {
        case .status: return "status"
        case .transport: return "transport"
        case .invalid: return "invalid"
        case .interrupted: return "interrupted"
        }
    }

    public var luaFields: [String: JSON] {
        var fields: [String: JSON] = ["operation": .string(operation), "object": .string(object)]
        if let statusCode { fields["status"] = .int(Int64(statusCode)) }
        return fields
    }
}
