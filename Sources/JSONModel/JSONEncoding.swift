extension JSON {
    /// The JSON text of this value. Deterministic: object keys are sorted (by Unicode scalar
    /// values); doubles use the shortest text that reads back as the same double and always
    /// carry a fraction or exponent (`1.0`, `1e+20`), so they parse back as doubles;
    /// NaN and infinities encode as `null`. Non-ASCII characters are kept as UTF-8.
    /// `pretty`: two-space indentation, one member or element per line, `"key": value`.
    public func encoded(pretty: Bool = false) -> String {
        var out = ""
        out.reserveCapacity(64)
        encode(into: &out, pretty: pretty, indent: 0)
        return out
    }

    /// The text `encoded()` writes for a double, or `nil` for NaN and infinities.
    public static func encodeDouble(_ d: Double) -> String? {
        guard d.isFinite else { return nil }
        // Swift's description is the shortest representation that round-trips.
        var text = d.description
        if !text.contains(".") && !text.contains("e") && !text.contains("E") { text += ".0" }
        return text
    }

    /// `s` as a JSON string literal, quotes included.
    public static func quote(_ s: String) -> String {
        var out = ""
        appendQuoted(s, to: &out)
        return out
    }

    private static func appendQuoted(_ s: String, to out: inout String) {
        out.append("\"")
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out.append("\\\"")
            case "\\": out.append("\\\\")
            case "\n": out.append("\\n")
            case "\r": out.append("\\r")
            case "\t": out.append("\\t")
            case "\u{08}": out.append("\\b")
            case "\u{0C}": out.append("\\f")
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out.append("\\u")
                    out.append(hex4(scalar.value))
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out.append("\"")
    }

    private func encode(into out: inout String, pretty: Bool, indent: Int) {
        switch self {
        case .null:
            out.append("null")
        case .bool(let b):
            out.append(b ? "true" : "false")
        case .int(let i):
            out.append(String(i))
        case .double(let d):
            out.append(JSON.encodeDouble(d) ?? "null")
        case .string(let s):
            JSON.appendQuoted(s, to: &out)
        case .array(let elements):
            if elements.isEmpty {
                out.append("[]")
                return
            }
            out.append("[")
            for (n, element) in elements.enumerated() {
                if n > 0 { out.append(",") }
                if pretty { JSON.newline(&out, indent + 1) }
                element.encode(into: &out, pretty: pretty, indent: indent + 1)
            }
            if pretty { JSON.newline(&out, indent) }
            out.append("]")
        case .object(let members):
            if members.isEmpty {
                out.append("{}")
                return
            }
            out.append("{")
            for (n, key) in JSON.sortedKeys(members).enumerated() {
                if n > 0 { out.append(",") }
                if pretty { JSON.newline(&out, indent + 1) }
                JSON.appendQuoted(key, to: &out)
                out.append(pretty ? ": " : ":")
                members[key]!.encode(into: &out, pretty: pretty, indent: indent + 1)
            }
            if pretty { JSON.newline(&out, indent) }
            out.append("}")
        }
    }

    private static func newline(_ out: inout String, _ indent: Int) {
        out.append("\n")
        out.append(String(repeating: "  ", count: indent))
    }

    /// Object keys in the order encoding uses: by Unicode scalar values (not by Swift's
    /// `String` comparison, which normalises), so the order never depends on the platform.
    public static func sortedKeys(_ object: [String: JSON]) -> [String] {
        object.keys.sorted { a, b in a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars) }
    }
}
