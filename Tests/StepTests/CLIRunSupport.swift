import Foundation
import XCTest

/// Runs the real `twistlock-init` binary with arguments and an environment, and collects its
/// exit status, stdout and stderr (each to a file: a pipe could fill and block the child).
struct CLIRun {
    let status: Int32
    let stdout: String
    let stderr: String
    var output: String { stdout + stderr }

    static func run(_ arguments: [String], environment: [String: String] = [:], removing: [String] = [],
                    seconds: Double = 60, executable: String? = nil) throws -> CLIRun {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("stdout")
        let err = dir.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        let process = Process()
        process.executableURL = try executable.map { URL(fileURLWithPath: $0) } ?? HardeningSignalTests.binary()
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for k in ["KUBECONFIG", "NO_COLOR", "TWISTLOCK_CONSOLE_URL", "TWISTLOCK_INIT_STEPS"] + removing { env[k] = nil }
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw HardeningError("twistlock-init \(arguments.joined(separator: " ")) did not end within \(Int(seconds)) s")
        }
        return CLIRun(status: process.terminationStatus,
                      stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }
}
