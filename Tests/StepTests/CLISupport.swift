import Foundation
import JSONModel
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The real `twistlock-init` binary run through `bash`, so a test can give it the plumbing an
/// operator would (`| head -3`, `>/dev/full`, `2>&-`) and read its exit status (issue 13).
/// Every run is bounded: a binary still running after `seconds` is killed and the test fails.
enum CLI {
    struct Result {
        let status: Int32
        /// What reached the test: the shell's stdout and stderr (after any `| head`).
        let stdout: String
        let stderr: String
        var output: String { stdout + stderr }
        var stderrLines: [String] { stderr.split(separator: "\n").map(String.init) }
    }

    /// Runs `twistlock-init ARGS` as `bash -c '"$BIN" "$@" <plumbing>; exit ${PIPESTATUS[0]}'`:
    /// `plumbing` is shell text after the command (`| head -n 3`, `>/dev/full 2>&1`).
    /// `brokenStdout`: stdout is a pipe whose reading end is closed before the process starts,
    /// so its first write fails with EPIPE (deterministic, unlike a race with `head`).
    static func run(_ arguments: [String], plumbing: String = "", environment: [String: String] = [:],
                    brokenStdout: Bool = false,
                    seconds: Double = 60, file: StaticString = #filePath, line: UInt = #line) throws -> Result {
        let binary = try HardeningSignalTests.binary()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", "\"$TWISTLOCK_INIT_BIN\" \"$@\" \(plumbing); exit ${PIPESTATUS[0]}", "cli"] + arguments
        var env = ProcessInfo.processInfo.environment
        env["KUBECONFIG"] = nil
        env["TWISTLOCK_CONSOLE_URL"] = nil
        env["TWISTLOCK_INIT_BIN"] = binary.path
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("stdout"), err = dir.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        var broken: Pipe?
        if brokenStdout {
            let pipe = Pipe()
            try pipe.fileHandleForReading.close()
            process.standardOutput = pipe.fileHandleForWriting
            broken = pipe
        }
        process.standardError = try FileHandle(forWritingTo: err)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try? broken?.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(-process.processIdentifier, SIGKILL)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            XCTFail("twistlock-init \(arguments.joined(separator: " ")) did not end within \(Int(seconds)) s", file: file, line: line)
        }
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }

    /// The arguments of a `run` against the harness's console: the base values and `values`.
    static func runArguments(_ h: StepHarness, values: String = "", report: URL? = nil, extra: [String] = []) throws -> [String] {
        let base = h.workDir.appendingPathComponent("cli-base-\(UUID().uuidString.prefix(6)).yaml")
        try StepHarness.baseValues.write(to: base, atomically: true, encoding: .utf8)
        let more = h.workDir.appendingPathComponent("cli-values-\(UUID().uuidString.prefix(6)).yaml")
        try values.write(to: more, atomically: true, encoding: .utf8)
        var args = ["run", "-f", base.path, "-f", more.path, "--secrets-dir", h.secretsDir.path,
                    "--console-url", h.consoleURL, "--builtin-steps", StepHarness.projectSteps.path]
        if let report { args += ["--report-json", report.path] }
        return args + extra
    }

    /// A FIFO at `url` (mkfifo).
    static func makeFIFO(_ url: URL) throws {
        guard mkfifo(url.path, 0o600) == 0 else { throw HardeningError("mkfifo \(url.path): \(errno)") }
    }

    /// A listening UNIX socket file at `url` (closed again; the file stays).
    static func makeSocketFile(_ url: URL) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HardeningError("socket: \(errno)") }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let path = Array(url.path.utf8CString)
        guard path.count <= MemoryLayout.size(ofValue: addr.sun_path) else { throw HardeningError("socket path too long") }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in path.enumerated() { raw[i] = UInt8(bitPattern: b) }
        }
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw HardeningError("bind \(url.path): \(errno)") }
    }

    /// The file type of `path` without following a link.
    static func fileType(_ path: String) -> mode_t {
        var st = stat()
        guard lstat(path, &st) == 0 else { return 0 }
        return st.st_mode & S_IFMT
    }

    static func report(_ url: URL) throws -> JSON {
        try JSON.parse(String(contentsOf: url, encoding: .utf8))
    }
}
