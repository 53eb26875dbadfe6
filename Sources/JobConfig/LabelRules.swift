/// Kubernetes label keys and values, as the API server checks them (apimachinery
/// `validation.IsQualifiedName` and `IsValidLabelValue`): a map of labels in the values
/// (`podLabels`, `defender.podLabels`) is refused before anything is sent, naming the key, rather
/// than by the Kubernetes API in the middle of a run.
enum LabelRules {
    static let maxNameBytes = 63
    static let maxPrefixBytes = 253
    static let maxValueBytes = 63

    // The same rules as JSON Schema patterns (values.schema.json); the prefix's 253-byte limit is
    // only checked here (the pattern bounds the whole key).
    static let keyPattern = "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
    static let valuePattern = "^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$"

    /// Why `key` is not a label key, or nil when it is one.
    static func keyProblem(_ key: String) -> String? {
        var prefix: Substring? = nil
        var name = Substring(key)
        if let slash = key.firstIndex(of: "/") {
            prefix = key[..<slash]
            name = key[key.index(after: slash)...]
        }
        if let prefix {
            if prefix.isEmpty {
                return "the prefix before \"/\" is empty (a label key is NAME or PREFIX/NAME)"
            }
            if name.contains("/") {
                return "has more than one \"/\" (a label key is NAME or PREFIX/NAME)"
            }
            if let why = prefixProblem(prefix) { return why }
        }
        if name.isEmpty {
            return "the name is empty (a label key is NAME or PREFIX/NAME)"
        }
        if name.utf8.count > maxNameBytes {
            return "the name is longer than \(maxNameBytes) characters"
        }
        if !isAlphanumeric(name.utf8.first!) || !isAlphanumeric(name.utf8.last!)
            || !name.utf8.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }) {
            return "the name must be letters, digits, \"-\", \"_\" and \".\", starting and ending with a letter or digit"
        }
        return nil
    }

    /// A DNS subdomain: lower-case labels of letters, digits and "-" joined by ".", at most 253.
    static func prefixProblem(_ prefix: Substring) -> String? {
        let why = "the prefix \(ValuesValidator.quoteRefused(String(prefix))) is not a DNS subdomain "
            + "(lower-case letters, digits, \"-\" and \".\", each part starting and ending with a letter or digit)"
        if prefix.utf8.count > maxPrefixBytes {
            return "the prefix is longer than \(maxPrefixBytes) characters"
        }
        for part in prefix.split(separator: ".", omittingEmptySubsequences: false) {
            let bytes = Array(part.utf8)
            guard let first = bytes.first, let last = bytes.last, isLowerAlphanumeric(first), isLowerAlphanumeric(last),
                  bytes.allSatisfy({ isLowerAlphanumeric($0) || $0 == UInt8(ascii: "-") }) else {
                return why
            }
        }
        return nil
    }

    /// Why `value` is not a label value, or nil when it is one (the empty string is one).
    static func valueProblem(_ value: String) -> String? {
        if value.isEmpty { return nil }
        if value.utf8.count > maxValueBytes {
            return "too long for a label value (\(value.utf8.count) characters; at most \(maxValueBytes))"
        }
        let bytes = Array(value.utf8)
        if !isAlphanumeric(bytes.first!) || !isAlphanumeric(bytes.last!)
            || !bytes.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }) {
            return "not a Kubernetes label value (letters, digits, \"-\", \"_\" and \".\", starting and ending with a letter or digit, at most \(maxValueBytes))"
        }
        return nil
    }

    static func isAlphanumeric(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
    }

    static func isLowerAlphanumeric(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x7A)
    }
}
