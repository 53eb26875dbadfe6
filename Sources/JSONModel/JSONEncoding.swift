extension JSON {
    /// The JSON text of this value. Deterministic: object keys are sorted (by Unicode scalar
    /// values); doubles use the shortest text that reads back as the same double and always
    /// carry a fraction or exponent (`1.0`, `1e+20`), so they parse back as doubles;
    /// NaN and infinities encode as `null`. Non-ASCII characters are kept as UTF-8.
    /// `pretty`: two-space indentation, one member or element per line, `"key": value`.
    public func encoded(pretty: Bool = false) -> String {
        String(decoding: encodedBytes(pretty: pretty), as: UTF8.self)
    }

    /// The UTF-8 bytes of `encoded(pretty:)`, without making a `String` (what HTTP bodies need).
    public func encodedBytes(pretty: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        // Never throws: no text is longer than Int.max bytes.
        try? encode(into: &out, pretty: pretty, indent: 0, limit: .max)
        return out
    }

    /// Thrown by `encodedBytes(pretty:limit:)` when the text would be longer than `limit`.
    public struct EncodingLimitExceeded: Error, CustomStringConvertible {
        public let limit: Int
        public var description: String { "the JSON text would be longer than \(limit) bytes" }
    }

    /// `encodedBytes(pretty:)`, stopped (before a string is copied) as soon as the text would
    /// be longer than `limit` bytes: what a caller under a memory ceiling uses.
    public func encodedBytes(pretty: Bool = false, limit: Int) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(min(256, max(limit, 0)))
        try encode(into: &out, pretty: pretty, indent: 0, limit: limit)
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
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count + 2)
        appendQuoted(s, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private static let hexDigits: [UInt8] = Array("0123456789ABCDEF".utf8)

    /// Escapes byte by byte: every byte that needs escaping is ASCII, and the bytes of
    /// non-ASCII characters (always >= 0x80 in UTF-8) are copied as they are.
    private static func appendQuoted(_ s: String, to out: inout [UInt8]) {
        out.append(0x22)
        var s = s
        s.withUTF8 { bytes in
            var runStart = 0
            var i = 0
            let n = bytes.count
            while i < n {
                let b = bytes[i]
                if b >= 0x20 && b != 0x22 && b != 0x5C && b != 0x7F {
                    i += 1
                    continue
                }
                if runStart < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i])) }
                switch b {
                case 0x22: out.append(0x5C); out.append(0x22)
                case 0x5C: out.append(0x5C); out.append(0x5C)
                case 0x0A: out.append(0x5C); out.append(0x6E)
                case 0x0D: out.append(0x5C); out.append(0x72)
                case 0x09: out.append(0x5C); out.append(0x74)
                case 0x08: out.append(0x5C); out.append(0x62)
                case 0x0C: out.append(0x5C); out.append(0x66)
                default:
                    out.append(contentsOf: [0x5C, 0x75, 0x30, 0x30])
                    out.append(hexDigits[Int(b >> 4)])
                    out.append(hexDigits[Int(b & 0x0F)])
                }
                i += 1
                runStart = i
            }
            if runStart < n { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<n])) }
        }
        out.append(0x22)
    }

    private func encode(into out: inout [UInt8], pretty: Bool, indent: Int, limit: Int) throws {
        // Checked before each value (a string before its bytes are copied): the text never
        // grows past `limit` by more than a number's or a bracket's few bytes.
        if case .string(let s) = self {
            if out.count + s.utf8.count + 2 > limit { throw EncodingLimitExceeded(limit: limit) }
        } else if out.count + (pretty ? 2 * indent + 32 : 32) > limit && limit != .max {
            throw EncodingLimitExceeded(limit: limit)
        }
        switch self {
        case .null:
            out.append(contentsOf: "null".utf8)
        case .bool(let b):
            out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i):
            out.append(contentsOf: String(i).utf8)
        case .double(let d):
            out.append(contentsOf: (JSON.encodeDouble(d) ?? "null").utf8)
        case .string(let s):
            JSON.appendQuoted(s, to: &out)
            // Escapes may have made it longer than checked above.
            if out.count > limit { throw EncodingLimitExceeded(limit: limit) }
        case .array(let elements):
            if elements.isEmpty {
                out.append(0x5B); out.append(0x5D)
                return
            }
            out.append(0x5B)
            var first = true
            for element in elements {
                if !first { out.append(0x2C) }
                first = false
                if pretty { JSON.newline(&out, indent + 1) }
                try element.encode(into: &out, pretty: pretty, indent: indent + 1, limit: limit)
            }
            if pretty { JSON.newline(&out, indent) }
            out.append(0x5D)
        case .object(let members):
            if members.isEmpty {
                out.append(0x7B); out.append(0x7D)
                return
            }
            out.append(0x7B)
            var first = true
            for (key, value) in JSON.sortedMembers(members) {
                if !first { out.append(0x2C) }
                first = false
                if pretty { JSON.newline(&out, indent + 1) }
                if out.count + key.utf8.count + 2 + 2 * indent > limit { throw EncodingLimitExceeded(limit: limit) }
                JSON.appendQuoted(key, to: &out)
                out.append(0x3A)
                if pretty { out.append(0x20) }
                try value.encode(into: &out, pretty: pretty, indent: indent + 1, limit: limit)
            }
            if pretty { JSON.newline(&out, indent) }
            out.append(0x7D)
        }
    }

    private static func newline(_ out: inout [UInt8], _ indent: Int) {
        out.append(0x0A)
        for _ in 0..<(2 * indent) { out.append(0x20) }
    }

    /// Object keys in the order encoding uses: by Unicode scalar values (not by Swift's
    /// `String` comparison, which normalises), so the order never depends on the platform.
    /// (UTF-8 byte order is the same as scalar order.)
    public static func sortedKeys(_ object: [String: JSON]) -> [String] {
        object.keys.sorted { a, b in a.utf8.lexicographicallyPrecedes(b.utf8) }
    }

    /// The members in `sortedKeys` order, with their values (one dictionary walk, no lookups).
    public static func sortedMembers(_ object: [String: JSON]) -> [(key: String, value: JSON)] {
        object.sorted { a, b in a.key.utf8.lexicographicallyPrecedes(b.key.utf8) }
    }
}
