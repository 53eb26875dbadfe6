/// The one value model of twistlock-init: values, console bodies, Lua tables and YAML
/// documents all convert through it. Objects are unordered; encoding sorts keys so that
/// output is deterministic. Integers and floats stay distinct (64-bit integers survive).
///
/// `==` (from `Hashable`) is strict: `.int(1) != .double(1.0)`. Use `isEquivalent(to:)` for
/// the JSON-value comparison that treats numbers numerically (what `json.equal` and
/// `JSON.diff` use).
public enum JSON: Hashable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSON])
    case object([String: JSON])
}

// MARK: - Literals

extension JSON: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
}

extension JSON: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int64) { self = .int(value) }
}

extension JSON: ExpressibleByFloatLiteral {
    public init(floatLiteral value: Double) { self = .double(value) }
}

extension JSON: ExpressibleByBooleanLiteral {
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension JSON: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
}

extension JSON: ExpressibleByDictionaryLiteral {
    /// Duplicate keys in a literal: the last one wins.
    public init(dictionaryLiteral elements: (String, JSON)...) {
        var object: [String: JSON] = [:]
        for (key, value) in elements { object[key] = value }
        self = .object(object)
    }
}

// MARK: - Accessors

extension JSON {
    /// The member `key` of an object; `nil` for a missing key or when this is not an object.
    /// Setting on an object (or on `.null`, which becomes an object) stores the member;
    /// setting `nil` removes it. Setting on any other kind of value is ignored.
    public subscript(key: String) -> JSON? {
        get {
            if case .object(let object) = self { return object[key] }
            return nil
        }
        set {
            switch self {
            case .object(var object):
                object[key] = newValue
                self = .object(object)
            case .null:
                guard let newValue else { return }
                self = .object([key: newValue])
            default:
                return
            }
        }
    }

    /// The element at `index` (0-based) of an array; `nil` when out of range or not an array.
    public subscript(index: Int) -> JSON? {
        if case .array(let array) = self, array.indices.contains(index) { return array[index] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The integer, also from a double with an integral value that fits `Int64`.
    public var int64Value: Int64? {
        switch self {
        case .int(let i):
            return i
        case .double(let d):
            guard d.isFinite, d.rounded(.towardZero) == d,
                  d >= -9_223_372_036_854_775_808.0, d < 9_223_372_036_854_775_808.0 else { return nil }
            return Int64(d)
        default:
            return nil
        }
    }

    /// The integer as `Int`, also from a double with an integral value.
    public var intValue: Int? {
        guard let i = int64Value else { return nil }
        return Int(exactly: i)
    }

    /// The number as a double (integers are converted).
    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var arrayValue: [JSON]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var objectValue: [String: JSON]? {
        if case .object(let o) = self { return o }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    public var isNumber: Bool {
        switch self {
        case .int, .double: return true
        default: return false
        }
    }

    /// "object", "array", "string", "integer", "number", "boolean" or "null".
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .int: return "integer"
        case .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// Equality as JSON values: like `==`, except that numbers compare by value, so
    /// `.int(1)` is equivalent to `.double(1.0)` (an integer and a double are equivalent only
    /// when the double is exactly that integer). Object key order never matters.
    public func isEquivalent(to other: JSON) -> Bool {
        switch (self, other) {
        case (.int(let a), .int(let b)):
            return a == b
        case (.double(let a), .double(let b)):
            return a == b
        case (.int(let i), .double(let d)), (.double(let d), .int(let i)):
            guard let exact = JSON.double(d).int64Value else { return false }
            return exact == i
        case (.array(let a), .array(let b)):
            guard a.count == b.count else { return false }
            for (x, y) in zip(a, b) where !x.isEquivalent(to: y) { return false }
            return true
        case (.object(let a), .object(let b)):
            guard a.count == b.count else { return false }
            for (key, x) in a {
                guard let y = b[key], x.isEquivalent(to: y) else { return false }
            }
            return true
        default:
            return self == other
        }
    }
}

extension JSON: CustomStringConvertible {
    /// The compact encoding (`encoded()`).
    public var description: String { encoded() }
}
