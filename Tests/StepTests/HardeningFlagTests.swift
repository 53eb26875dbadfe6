import Foundation
import JSONModel
import TwistlockInit
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Flags checked before anything is sent (issue 13, point 5; docs/reliability.md "Bad
/// input: flags"): the real binary. Every invalid flag value is exit 2 with one line naming
/// the flag and what it accepts — never a runtime trap (132), never ArgumentParser's 64, never
/// a wait of the whole `wait` step for a URL that cannot work.
final class HardeningFlagTests: XCTestCase {
    /// `run` with each bad numeric value: exit 2, one stderr line naming the flag and its range.
    func testNumericFlagsOutOfRangeOrNotNumbersExit2NamingTheFlagAndRange() throws {
        let cases: [(flag: String, value: String, range: String)] = [
            ("--request-timeout", "nan", "0.1 to 3600"), ("--request-timeout", "inf", "0.1 to 3600"),
            ("--request-timeout", "1e300", "0.1 to 3600"), ("--request-timeout", "-inf", "0.1 to 3600"),
            ("--request-timeout", "0", "0.1 to 3600"), ("--request-timeout", "ten", "0.1 to 3600"),
            ("--lua-memory-limit", "99999999999999", "8 to 65536"), ("--lua-memory-limit", "9223372036854775807", "8 to 65536"),
            ("--lua-memory-limit", "-8", "8 to 65536"),
            ("--step-instruction-limit", "99999999999999999999", "1000 to 1000000000000"),
            ("--step-instruction-limit", "9223372036854775807", "1000 to 1000000000000"),
            ("--step-instruction-limit", "1e9", "1000 to 1000000000000"),
            ("--deadline", "-1", "0.1 to 86400"), ("--deadline", "nan", "0.1 to 86400"), ("--deadline", "1e308", "0.1 to 86400"),
            ("--retries", "-1", "0 to 20"), ("--retries", "21", "0 to 20"), ("--retries", "1.5", "0 to 20"),
        ]
        for c in cases {
            for spelling in [[c.flag, c.value], ["\(c.flag)=\(c.value)"]] {
                let r = try CLI.run(["run"] + spelling, seconds: 20)
                XCTAssertEqual(r.status, 2, "\(spelling): \(r.output)")
                XCTAssertEqual(r.stderrLines.count, 1, "\(spelling): \(r.stderr)")
                XCTAssertTrue(r.stderr.contains(c.flag) && r.stderr.contains(c.range), "\(spelling): \(r.stderr)")
                XCTAssertFalse(r.output.contains("Missing value") || r.output.contains("Fatal error"), r.output)
            }
        }
        // `plan` takes the same flags and checks.
        let plan = try CLI.run(["plan", "--request-timeout", "nan"], seconds: 20)
        XCTAssertEqual(plan.status, 2, plan.output)
    }

    /// Unknown flags, missing values and bad choices: exit 2 (ArgumentParser's default is 64),
    /// one line naming the flag; `--help` and `--version` stay 0.
    func testParseErrorsExit2AndHelpAndVersionExit0() throws {
        for args in [["run", "--no-such-flag"], ["run", "--retries"], ["list", "--output", "xml"],
                     ["run", "--log-format", "yaml"], ["no-such-command"], ["plan", "--strict=yes"]] {
            let r = try CLI.run(args, seconds: 20)
            XCTAssertEqual(r.status, 2, "\(args): \(r.output)")
            XCTAssertEqual(r.stderrLines.count, 1, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stdout.isEmpty, "\(args): \(r.stdout)")
        }
        let unknown = try CLI.run(["run", "--no-such-flag"], seconds: 20)
        XCTAssertTrue(unknown.stderr.contains("--no-such-flag"), unknown.stderr)
        let format = try CLI.run(["run", "--log-format", "yaml"], seconds: 20)
        XCTAssertTrue(format.stderr.contains("--log-format") && format.stderr.contains("text") && format.stderr.contains("json"), format.stderr)
        for args in [["--help"], ["run", "--help"], ["help", "plan"], ["--version"]] {
            let r = try CLI.run(args, seconds: 20)
            XCTAssertEqual(r.status, 0, "\(args): \(r.output)")
            XCTAssertFalse(r.stdout.isEmpty, "\(args)")
        }
    }

    /// A console URL that cannot work: exit 2 at once (it used to wait out `wait`'s 600 s),
    /// with nothing sent — from the flag and from the environment.
    func testConsoleURLsThatCannotWorkExit2AtOnce() async throws {
        let h = try await StepHarness.start()
        let bad = ["htp://127.0.0.1:1", "127.0.0.1:8081", "console.example:8081", "ftp://console", "http://",
                   "http:///api", "http://:8081", "http://host/?x=1", "http://host/#frag", "http://host/a/../b",
                   "http://host/%2e%2e/x", "http://host:99999", "http://ho st", "http://host\n/x", "//host:8081"]
        for url in bad {
            var args = try CLI.runArguments(h)
            if let i = args.firstIndex(of: "--console-url") { args[i + 1] = url }
            let r = try CLI.run(args, seconds: 20)
            XCTAssertEqual(r.status, 2, "\(url): \(r.output)")
            XCTAssertEqual(r.stderrLines.count, 1, "\(url): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("--console-url"), "\(url): \(r.stderr)")
        }
        // From the environment (no flag): named as such.
        var args = try CLI.runArguments(h)
        if let i = args.firstIndex(of: "--console-url") { args.removeSubrange(i...(i + 1)) }
        let env = try CLI.run(args, environment: ["TWISTLOCK_CONSOLE_URL": "htp://x"], seconds: 20)
        XCTAssertEqual(env.status, 2, env.output)
        XCTAssertTrue(env.stderr.contains("$TWISTLOCK_CONSOLE_URL"), env.stderr)
        // A path prefix is fine (a console behind a proxy): checked, not refused.
        XCTAssertNil(ConsoleURL.problem("https://proxy.example.mil:8443/prisma"))
        XCTAssertNil(ConsoleURL.problem("http://127.0.0.1:8081/"))
        let sent = try await h.requests()
        XCTAssertTrue(sent.isEmpty, "\(sent.count) requests sent")
        await h.stop()
    }

    /// `--ca-file` that is missing, a directory, empty, text, a key, a FIFO or a device: exit 2
    /// before any request (a FIFO is not opened for a blocking read).
    func testCAFilesWithoutAPEMCertificateExit2() async throws {
        let h = try await StepHarness.start()
        let dir = h.workDir.appendingPathComponent("ca")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let empty = dir.appendingPathComponent("empty.pem"), text = dir.appendingPathComponent("text.pem")
        let key = dir.appendingPathComponent("key.pem"), broken = dir.appendingPathComponent("broken.pem")
        let fifo = dir.appendingPathComponent("ca.fifo")
        try "".write(to: empty, atomically: true, encoding: .utf8)
        try "just some text\n".write(to: text, atomically: true, encoding: .utf8)
        try "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n".write(to: key, atomically: true, encoding: .utf8)
        try "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n".write(to: broken, atomically: true, encoding: .utf8)
        try CLI.makeFIFO(fifo)
        for path in [dir.appendingPathComponent("missing.pem").path, dir.path, empty.path, text.path, key.path,
                     broken.path, fifo.path, "/dev/zero"] {
            let r = try CLI.run(try CLI.runArguments(h, extra: ["--ca-file", path]), seconds: 20)
            XCTAssertEqual(r.status, 2, "\(path): \(r.output)")
            XCTAssertEqual(r.stderrLines.count, 1, "\(path): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("--ca-file"), "\(path): \(r.stderr)")
        }
        // In process too: a JobRunner given such a file refuses it as invalid input.
        let run = try await h.run(configure: { $0.caFile = text.path })
        XCTAssertEqual(run.report.exitCode, 2, run.output)
        let sent = try await h.requests()
        XCTAssertTrue(sent.isEmpty, "\(sent.count) requests sent")
        await h.stop()
    }

    /// In process (any caller of `JobRunner`): out-of-range options are invalid input, exit 2,
    /// nothing sent — the runner does not trust its caller to have checked.
    func testTheRunnerRefusesOutOfRangeOptionsBeforeAnyRequest() async throws {
        let h = try await StepHarness.start()
        let cases: [(String, (inout JobOptions) -> Void)] = [
            ("--request-timeout", { $0.requestTimeout = .nan }),
            ("--request-timeout", { $0.requestTimeout = 1e300 }),
            ("--deadline", { $0.deadlineSeconds = -1 }),
            ("--retries", { $0.maxRetries = -1 }),
            ("--lua-memory-limit", { $0.memoryLimitBytes = Int.max }),
            ("--step-instruction-limit", { $0.instructionLimit = 10 }),
            ("--console-url", { $0.consoleURL = "htp://x" }),
        ]
        for (flag, configure) in cases {
            let run = try await h.run(configure: configure)
            XCTAssertEqual(run.report.exitCode, 2, "\(flag): \(run.output)")
            XCTAssertTrue(run.report.problems.contains { $0.hasPrefix(flag) }, "\(flag): \(run.report.problems)")
        }
        let sent = try await h.requests()
        XCTAssertTrue(sent.isEmpty, "\(sent.count) requests sent")
        await h.stop()
    }

    /// Other files the job reads, other spellings of the same hang: a values file or a
    /// manifest that is a FIFO nobody writes to reads as empty (a pipe with a writer, as
    /// `-f <(…)` gives, still works); a socket as a values file is refused; a `--kubeconfig`
    /// that is a FIFO is exit 2 before any request (it is read only when the defenders step
    /// runs, midway).
    func testValuesFilesManifestsAndKubeconfigsThatAreFIFOsNeverHangTheJob() async throws {
        let h = try await StepHarness.start()
        let fifo = h.workDir.appendingPathComponent("values.fifo")
        try CLI.makeFIFO(fifo)
        let socketFile = h.workDir.appendingPathComponent("values.sock")
        try CLI.makeSocketFile(socketFile)
        let base = ["list", "--builtin-steps", StepHarness.projectSteps.path, "--set", "init.enabled=false"]
        let quiet = try CLI.run(base + ["-f", fifo.path], seconds: 20)
        XCTAssertEqual(quiet.status, 0, quiet.output)
        let sock = try CLI.run(base + ["-f", socketFile.path], seconds: 20)
        XCTAssertEqual(sock.status, 2, sock.output)
        XCTAssertTrue(sock.output.contains(socketFile.path), sock.output)
        // A pipe with a writer: process substitution.
        let piped = try CLI.run(base + ["-f", "/dev/stdin"], plumbing: "< <(printf 'domain: piped.example\\n')", seconds: 20)
        XCTAssertEqual(piped.status, 0, piped.output)
        // A steps directory whose manifest is a FIFO.
        let steps = h.workDir.appendingPathComponent("fifo-steps")
        try FileManager.default.createDirectory(at: steps, withIntermediateDirectories: true)
        try CLI.makeFIFO(steps.appendingPathComponent("manifest.yaml"))
        let manifest = try CLI.run(base + ["--steps-dir", steps.path], seconds: 20)
        XCTAssertNotEqual(manifest.status, 0, manifest.output)
        // --kubeconfig a FIFO.
        let kube = h.workDir.appendingPathComponent("kubeconfig.fifo")
        try CLI.makeFIFO(kube)
        let r = try CLI.run(try CLI.runArguments(h, extra: ["--kubeconfig", kube.path]), seconds: 20)
        XCTAssertEqual(r.status, 2, r.output)
        XCTAssertTrue(r.output.contains("--kubeconfig"), r.output)
        let sent = try await h.requests()
        XCTAssertTrue(sent.isEmpty, "\(sent.count) requests sent")
        await h.stop()
    }

    /// A FIFO, a socket or a device node in the secrets directory is refused, not read: `list`
    /// used to hang on a FIFO. Exit 2 naming the secret.
    func testAFIFOOrSocketInTheSecretsDirectoryIsRefusedNotRead() async throws {
        let h = try await StepHarness.start()
        let base = h.workDir.appendingPathComponent("list-base.yaml")
        try StepHarness.baseValues.write(to: base, atomically: true, encoding: .utf8)
        let users = h.workDir.appendingPathComponent("list-users.yaml")
        try "console:\n  additionalUsers:\n    - {username: alice, role: auditor}\n".write(to: users, atomically: true, encoding: .utf8)
        for (name, make) in [("console.license", CLI.makeFIFO), ("monitoring.password", CLI.makeSocketFile),
                             ("console.additionalUsers.alice.password", CLI.makeFIFO)] as [(String, (URL) throws -> Void)] {
            let dir = h.workDir.appendingPathComponent("secrets-\(UUID().uuidString.prefix(6))")
            try FileManager.default.copyItem(at: h.secretsDir, to: dir)
            let target = dir.appendingPathComponent(name)
            try? FileManager.default.removeItem(at: target)
            try make(target)
            for command in ["list", "run"] {
                var args = [command, "-f", base.path, "-f", users.path, "--secrets-dir", dir.path,
                            "--builtin-steps", StepHarness.projectSteps.path]
                if command == "run" { args += ["--console-url", h.consoleURL] }
                let r = try CLI.run(args, seconds: 20)
                XCTAssertEqual(r.status, 2, "\(command) \(name): \(r.output)")
                XCTAssertTrue(r.output.contains(name) && (r.output.contains("FIFO") || r.output.contains("socket")
                              || r.output.contains("cannot be read")), "\(command) \(name): \(r.output)")
            }
        }
        let sent = try await h.requests()
        XCTAssertTrue(sent.isEmpty, "\(sent.count) requests sent")
        await h.stop()
    }
}
