import Foundation
import JSONModel

/// One thing wrong (or worth a warning) in the values: the key path it concerns and what is
/// wrong, e.g. `policies.vulnerabilities.alertThreshold: "severe" is not one of low, medium,
/// high, critical`. List items are named with 0-based indexes
/// (`console.additionalUsers[1].authType`). Messages never quote a secret.
public struct ValuesProblem: Hashable, Sendable, CustomStringConvertible {
    public let key: String
    public let message: String
    /// A secret (password, license) that is missing: a problem for `run` and `plan`, not for
    /// `list`, which needs no credentials. Not part of equality.
    public var missingSecret = false

    public init(key: String, message: String) {
        self.key = key
        self.message = message
    }

    public var description: String { key.isEmpty ? message : "\(key): \(message)" }

    public static func == (a: ValuesProblem, b: ValuesProblem) -> Bool { a.key == b.key && a.message == b.message }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(key)
        hasher.combine(message)
    }
}

/// Why values could not be loaded. The description is meant for the operator: it names the
/// file, the key or the secret, never a secret's value.
public enum ValuesError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The merged values break one or more rules; all problems at once.
    case invalid([ValuesProblem])
    /// A values file (or the secrets directory) could not be read or is not acceptable YAML.
    case unreadable(file: String, reason: String)
    /// A secret could not be read (bad name, missing, unreadable).
    case secret(name: String, reason: String)

    public var description: String {
        switch self {
        case .invalid(let problems):
            let noun = problems.count == 1 ? "problem" : "problems"
            return "values are invalid (\(problems.count) \(noun)):\n"
                + problems.map { "  - \($0)" }.joined(separator: "\n")
        case .unreadable(let file, let reason):
            return "\(file): \(reason)"
        case .secret(let name, let reason):
            return "secret \"\(name)\": \(reason)"
        }
    }

    /// The problems of an `.invalid` error (empty for the other cases).
    public var problems: [ValuesProblem] {
        if case .invalid(let problems) = self { return problems }
        return []
    }
}

/// The merged, validated values of one run.
public struct Values: Sendable {
    /// Defaults, then `-f` files, then `--set`, with secrets filled in from the secrets directory.
    public let root: JSON
    /// Every secret string the values hold (credentials, license, proxy and metrics passwords,
    /// additional users' passwords), for masking. Non-empty, no duplicates.
    public let secrets: [String]
    /// Things that are allowed but probably not meant (unknown roles, near-miss key names,
    /// secret files nobody reads).
    public let warnings: [ValuesProblem]
    /// The secrets directory the values were completed from, if any.
    public let secretsDir: URL?

    public init(root: JSON, secrets: [String] = [], warnings: [ValuesProblem] = [], secretsDir: URL? = nil) {
        self.root = root
        self.secrets = secrets
        self.warnings = warnings
        self.secretsDir = secretsDir
    }

    /// The value at a path such as `policies.runtime.enabled` or
    /// `console.additionalUsers[0].username` (0-based indexes); `nil` when absent or when the
    /// path is malformed.
    public func lookup(_ path: String) -> JSON? {
        guard let components = try? ValuePath.parse(path) else { return nil }
        return ValuePath.lookup(components, in: root)
    }

    /// Shorthands for the common kinds.
    public func string(_ path: String) -> String? { lookup(path)?.stringValue }
    public func bool(_ path: String) -> Bool? { lookup(path)?.boolValue }
    public func int(_ path: String) -> Int? { lookup(path)?.intValue }

    /// The built-in defaults (every key the job reads).
    public static var defaults: JSON { ValuesSchema.defaults }
}

/// A parsed key path: object keys and 0-based list indexes.
public enum PathComponent: Hashable, Sendable {
    case key(String)
    case index(Int)
}

public enum ValuePath {
    public struct SyntaxError: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// Parses `a.b[0].c`. Keys are non-empty runs of characters other than `.`, `[`, `]`;
    /// an index is a non-negative decimal number in brackets.
    public static func parse(_ path: String) throws -> [PathComponent] {
        var result: [PathComponent] = []
        let chars = Array(path)
        var i = 0
        if chars.isEmpty { throw SyntaxError(message: "empty path") }
        var expectKey = true
        while i < chars.count {
            if expectKey {
                var key = ""
                while i < chars.count, chars[i] != ".", chars[i] != "[", chars[i] != "]" {
                    key.append(chars[i])
                    i += 1
                }
                if key.isEmpty { throw SyntaxError(message: "empty key in \"\(path)\"") }
                result.append(.key(key))
                expectKey = false
            } else if chars[i] == "." {
                i += 1
                if i == chars.count { throw SyntaxError(message: "empty key in \"\(path)\"") }
                expectKey = true
            } else if chars[i] == "[" {
                i += 1
                var digits = ""
                while i < chars.count, chars[i] != "]" {
                    digits.append(chars[i])
                    i += 1
                }
                guard i < chars.count else { throw SyntaxError(message: "unclosed [ in \"\(path)\"") }
                i += 1
                guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
                      digits.count <= 9, let n = Int(digits) else {
                    throw SyntaxError(message: "bad list index [\(digits)] in \"\(path)\"")
                }
                result.append(.index(n))
            } else {
                throw SyntaxError(message: "unexpected \"\(chars[i])\" in \"\(path)\"")
            }
        }
        return result
    }

    public static func lookup(_ components: [PathComponent], in root: JSON) -> JSON? {
        var current = root
        for component in components {
            switch component {
            case .key(let key):
                guard case .object(let object) = current, let next = object[key] else { return nil }
                current = next
            case .index(let index):
                guard case .array(let array) = current, array.indices.contains(index) else { return nil }
                current = array[index]
            }
        }
        return current
    }

    public static func string(_ components: [PathComponent]) -> String {
        var out = ""
        for component in components {
            switch component {
            case .key(let key):
                if !out.isEmpty { out += "." }
                out += key
            case .index(let index):
                out += "[\(index)]"
            }
        }
        return out
    }

    /// `base.key` (or `key` at the top).
    static func join(_ base: String, _ key: String) -> String { base.isEmpty ? key : "\(base).\(key)" }
}
