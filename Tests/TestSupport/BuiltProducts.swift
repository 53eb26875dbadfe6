import Foundation

/// The package's executables as SwiftPM built them for the tests (every product is built beside
/// the test bundle): `twistlock-init`, `twistlock-demo`, `twistlock-console-sim`.
public enum BuiltProduct {
    /// Where a product may be: beside the test runner, in or beside the test bundle, in
    /// `.build/debug` of the package.
    public static func candidates(_ name: String) -> [URL] {
        let runner = URL(fileURLWithPath: CommandLine.arguments.first ?? "")
        return [
            runner.deletingLastPathComponent().appendingPathComponent(name),
            Bundle.main.bundleURL.appendingPathComponent(name),
            Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent(name),
            Project.root.appendingPathComponent(".build/debug/\(name)"),
        ]
    }

    /// The built executable `name`, nil when it is not built.
    public static func find(_ name: String) -> URL? {
        candidates(name).first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// The built executable `name`; throws saying how to build it when it is not built.
    public static func url(_ name: String) throws -> URL {
        if let url = find(name) { return url }
        throw BuiltProductError(description: "\(name) is not built (looked in \(candidates(name).map(\.path))); run `swift build --product \(name)`")
    }
}

public struct BuiltProductError: Error, CustomStringConvertible {
    public let description: String
}
