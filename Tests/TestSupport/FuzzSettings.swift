import Foundation

/// How long the fuzz tests run (docs/reliability.md): `TWISTLOCK_FUZZ_ITERATIONS` cases per test
/// from the seed `TWISTLOCK_FUZZ_SEED`, each with a fixed default so CI is deterministic.
public enum FuzzSettings {
    /// The base seed (`TWISTLOCK_FUZZ_SEED`, else `defaultBase`) plus a per-test offset.
    public static func seed(offset: UInt64, defaultBase: UInt64) -> UInt64 {
        let base = ProcessInfo.processInfo.environment["TWISTLOCK_FUZZ_SEED"].flatMap { UInt64($0) } ?? defaultBase
        return base &+ offset &* 0x9E37_79B9_7F4A_7C15
    }

    /// How many random cases a fuzz test runs (`TWISTLOCK_FUZZ_ITERATIONS`, else `standard`).
    public static func iterations(_ standard: Int) -> Int {
        ProcessInfo.processInfo.environment["TWISTLOCK_FUZZ_ITERATIONS"].flatMap { Int($0) }.map { max(1, $0) } ?? standard
    }
}
