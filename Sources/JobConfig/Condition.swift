import Foundation
import JSONModel

/// When a step runs: a values path that must be truthy, or a combination.
public indirect enum Condition: Hashable, Sendable {
    case path(String)
    case all([Condition])
    case any([Condition])
    case not(Condition)
    case always
}

/// Whether a step runs, and why, e.g. `policies.runtime.enabled = false` or
/// `all of: policies.enabled = true, policies.runtime.enabled = false`.
public struct Gate: Hashable, Sendable, CustomStringConvertible {
    public let run: Bool
    public let reason: String

    public init(run: Bool, reason: String) {
        self.run = run
        self.reason = reason
    }

    public var description: String { "\(run ? "runs" : "skipped"): \(reason)" }
}

extension Condition {
    /// Truthiness of a value: false, null, a missing key, "", 0, an empty list and an empty
    /// map are false; everything else is true.
    public static func isTruthy(_ value: JSON?) -> Bool {
        switch value {
        case nil, .null?: return false
        case .bool(let b)?: return b
        case .int(let i)?: return i != 0
        case .double(let d)?: return d != 0
        case .string(let s)?: return !s.isEmpty
        case .array(let a)?: return !a.isEmpty
        case .object(let o)?: return !o.isEmpty
        }
    }

    public func evaluate(_ values: Values) -> Gate {
        switch self {
        case .always:
            return Gate(run: true, reason: "always")
        case .path(let path):
            let value = values.lookup(path)
            return Gate(run: Self.isTruthy(value), reason: "\(path) \(Self.show(value, secrets: values.secrets))")
        case .all(let conditions):
            let gates = conditions.map { $0.evaluate(values) }
            return Gate(run: gates.allSatisfy(\.run), reason: "all of: " + gates.map(\.reason).joined(separator: ", "))
        case .any(let conditions):
            let gates = conditions.map { $0.evaluate(values) }
            return Gate(run: gates.contains(where: \.run), reason: "any of: " + gates.map(\.reason).joined(separator: ", "))
        case .not(let condition):
            let gate = condition.evaluate(values)
            return Gate(run: !gate.run, reason: "not (\(gate.reason))")
        }
    }

    /// A value, compactly: `= false`, `= "" (empty)`, `= [] (empty)`, `= 3 items`, `is not set`.
    /// Secret strings and long strings are not shown.
    static func show(_ value: JSON?, secrets: [String]) -> String {
        switch value {
        case nil: return "is not set"
        case .null?: return "= null"
        case .bool(let b)?: return "= \(b)"
        case .int(let i)?: return "= \(i)"
        case .double(let d)?: return "= \(JSON.double(d).encoded())"
        case .string(let s)?:
            if s.isEmpty { return "= \"\" (empty)" }
            if secrets.contains(s) { return "= (a secret, set)" }
            if s.count > 60 || s.contains("\n") { return "= a string of \(s.count) characters" }
            return "= \(JSON.quote(s))"
        case .array(let a)?:
            if a.isEmpty { return "= [] (empty)" }
            return a.count == 1 ? "= 1 item" : "= \(a.count) items"
        case .object(let o)?:
            if o.isEmpty { return "= {} (empty)" }
            return o.count == 1 ? "= 1 key" : "= \(o.count) keys"
        }
    }

    /// Every values path the condition reads, in order.
    public var paths: [String] {
        switch self {
        case .always: return []
        case .path(let path): return [path]
        case .all(let conditions), .any(let conditions): return conditions.flatMap(\.paths)
        case .not(let condition): return condition.paths
        }
    }

    /// The condition as written in a manifest (`policies.enabled`, `{all: [a, b]}`).
    public var text: String {
        switch self {
        case .always: return "always"
        case .path(let path): return path
        case .all(let conditions): return "{all: [\(conditions.map(\.text).joined(separator: ", "))]}"
        case .any(let conditions): return "{any: [\(conditions.map(\.text).joined(separator: ", "))]}"
        case .not(let condition): return "{not: \(condition.text)}"
        }
    }
}
