import JSONModel

// MARK: - A seeded random JSON generator (the JSON model's tests and the Lua bridge tests)

/// SplitMix64: small, seeded, the same sequence on every platform.
public struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    /// Starts at `seed` plus the increment (the sequences the JSON and Lua bridge tests were written with).
    public init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    /// Starts at `state` exactly.
    public init(state: UInt64) { self.state = state }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

public enum RandomJSON {
    public static let samples = ["", "a", "hello world", "é", "中文", "😀 emoji", "quote \" backslash \\", "tab\tnew\nline",
                                 "\u{01}\u{1F}", "json.null", "name", "1", "/", "ﬁ", "\u{7F}"]

    public static func string<G: RandomNumberGenerator>(_ rng: inout G) -> String {
        if Bool.random(using: &rng) { return samples.randomElement(using: &rng)! }
        let scalars: [Unicode.Scalar] = ["a", "Z", "0", " ", "\"", "\\", "\n", "é", "中", "😀", "\u{0}", "\u{2028}"]
        let count = Int.random(in: 0...8, using: &rng)
        var s = ""
        for _ in 0..<count { s.unicodeScalars.append(scalars.randomElement(using: &rng)!) }
        return s
    }

    public static func scalar<G: RandomNumberGenerator>(_ rng: inout G) -> JSON {
        switch Int.random(in: 0..<12, using: &rng) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &rng))
        case 2: return .int([Int64.min, Int64.max, 0, -1, 1, 1 << 53, (1 << 53) + 1].randomElement(using: &rng)!)
        case 3, 4: return .int(Int64.random(in: Int64.min...Int64.max, using: &rng))
        case 5: return .int(Int64.random(in: -1000...1000, using: &rng))
        case 6: return .double([1.0, -0.5, 0.1, 1e300, -1e-300, 2.0, 1e16, 5e-324, 123.456].randomElement(using: &rng)!)
        case 7: return .double(Double.random(in: -1e6...1e6, using: &rng))
        case 8: return .double(Double(Int.random(in: -100...100, using: &rng)))
        default: return .string(string(&rng))
        }
    }

    public static func value<G: RandomNumberGenerator>(_ rng: inout G, depth: Int) -> JSON {
        guard depth > 0, Int.random(in: 0..<3, using: &rng) > 0 else { return scalar(&rng) }
        let count = Int.random(in: 0...4, using: &rng)
        if Bool.random(using: &rng) {
            return .array((0..<count).map { _ in value(&rng, depth: depth - 1) })
        }
        var object: [String: JSON] = [:]
        for _ in 0..<count { object[string(&rng)] = value(&rng, depth: depth - 1) }
        return .object(object)
    }
}
