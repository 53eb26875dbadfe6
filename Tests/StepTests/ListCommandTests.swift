import Foundation
import JSONModel
import TestSupport
import XCTest

/// `twistlock-init list` (issue 15, "Writing a step"): it compiles every step file — a syntax
/// error shows with its file and line, exit 2 — and needs no credentials: it sends nothing.
final class ListCommandTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("list-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    /// A steps directory with one step (and optionally a lib file).
    func stepsDir(_ name: String, lua: String, when: String = "init.enabled", lib: String? = nil) throws -> URL {
        let d = dir.appendingPathComponent("steps-\(name)")
        try FileManager.default.createDirectory(at: d.appendingPathComponent("lib"), withIntermediateDirectories: true)
        try """
        steps:
          - name: \(name)
            file: \(name).lua
            description: a step of the list tests
            when: \(when)
            after: license
        """.write(to: d.appendingPathComponent("manifest.yaml"), atomically: true, encoding: .utf8)
        try lua.write(to: d.appendingPathComponent("\(name).lua"), atomically: true, encoding: .utf8)
        if let lib { try lib.write(to: d.appendingPathComponent("lib/helper_\(name).lua"), atomically: true, encoding: .utf8) }
        return d
    }

    func list(_ extra: [String], env: [String: String] = [:]) throws -> CLIRun {
        try CLIRun.run(["list", "--builtin-steps", StepHarness.projectSteps.path] + extra, environment: env)
    }

    func testListNeedsNoCredentialsAndSendsNothing() throws {
        // A console that records every request: list must send none (even with the URL set).
        var seen: [String] = []
        let lock = NSLock()
        let server = try LoopbackHTTPServer { request in
            lock.withLock { seen.append("\(request.method) \(request.path)") }
            return .init(200, "{}")
        }
        let values = dir.appendingPathComponent("values.yaml")
        try "console:\n  credentials:\n    username: admin\nmonitoring:\n  enabled: true\n".write(to: values, atomically: true, encoding: .utf8)
        let empty = dir.appendingPathComponent("no-secrets")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        for extra in [[], ["-f", values.path], ["-f", values.path, "--secrets-dir", empty.path]] {
            let r = try list(extra, env: ["TWISTLOCK_CONSOLE_URL": server.url])
            XCTAssertEqual(r.status, 0, "\(extra): \(r.output)")
            XCTAssertTrue(r.stdout.contains("run   admin"), r.output)
            XCTAssertTrue(r.stdout.contains("run   metrics-user") || extra.isEmpty, r.output)
            XCTAssertFalse(r.output.contains("password"), "no credentials asked for: \(r.output)")
        }
        XCTAssertEqual(lock.withLock { seen }, [], "list sent requests")
        // run and plan still need the password (before anything is sent).
        let run = try CLIRun.run(["plan", "--builtin-steps", StepHarness.projectSteps.path, "-f", values.path,
                                  "--console-url", server.url])
        XCTAssertEqual(run.status, 2, run.output)
        XCTAssertTrue(run.output.contains("console.credentials.password: required"), run.output)
        XCTAssertEqual(lock.withLock { seen }, [])
    }

    func testASyntaxErrorIsShownWithFileAndLineExitTwo() throws {
        let bad = try stepsDir("banner", lua: """
        local current = console.get("settings/logon")
        if current.x then
          log.info("x"
        end
        """)
        let r = try list(["--steps-dir", bad.path])
        XCTAssertEqual(r.status, 2, r.output)
        let file = bad.appendingPathComponent("banner.lua").path
        XCTAssertTrue(r.stderr.contains("\(file):4: syntax error:"), r.output)
        XCTAssertTrue(r.stderr.contains("')' expected"), r.output)
        XCTAssertFalse(r.output.contains(".build/checkouts"), r.output)
    }

    /// The same class, other ways: a step that is skipped by its gate today, a lib helper, an
    /// unfinished string on line 1 — each still found, each with its own file and line.
    func testEveryStepFileAndLibFileIsCompiledEvenWhenSkipped() throws {
        let skipped = try stepsDir("later", lua: "local s = \"unfinished\n", when: "sso.enabled")
        let lib = try stepsDir("uses-lib", lua: "local h = require('helper_uses-lib')\n",
                               lib: "local M = {}\nfunction M.x()\n  return 1 +\nend\nreturn M\n")
        let r = try list(["--steps-dir", skipped.path, "--steps-dir", lib.path])
        XCTAssertEqual(r.status, 2, r.output)
        XCTAssertTrue(r.stderr.contains("\(skipped.appendingPathComponent("later.lua").path):1: syntax error: unfinished string"), r.output)
        XCTAssertTrue(r.stderr.contains("\(lib.appendingPathComponent("lib/helper_uses-lib.lua").path):4: syntax error:"), r.output)
        XCTAssertFalse(r.stderr.contains("steps-uses-lib/uses-lib.lua:"), "the step itself compiles: \(r.output)")
        // The project's own steps all compile.
        XCTAssertEqual(try list([]).status, 0)
    }

    /// A run with a step that does not compile stops before the first request (exit 2).
    func testRunRefusesAStepThatDoesNotCompileBeforeSendingAnything() async throws {
        let h = try await StepHarness.start()
        let bad = try stepsDir("broken", lua: "for i = 1, 3 do\n  log.info('%d', i)\n")
        let run = try await h.run(extraStepsDirs: [bad])
        XCTAssertEqual(run.report.exitCode, 2, run.output)
        XCTAssertTrue(run.report.problems.contains { $0.contains("broken.lua:2: syntax error") || $0.contains("broken.lua:3: syntax error") }, "\(run.report.problems)")
        let requests = try await h.requests()
        XCTAssertEqual(requests.count, 0, "\(requests)")
        await h.stop()
    }

    /// Under `plan --detailed-exitcode`, 2 means "something would change": an invalid flag or
    /// invalid values are errors, exit 1.
    func testInvalidInputIsOneUnderDetailedExitCode() throws {
        let values = dir.appendingPathComponent("values.yaml")
        try "init: {waitTimeoutSeconds: soon}\n".write(to: values, atomically: true, encoding: .utf8)
        let steps = ["--builtin-steps", StepHarness.projectSteps.path]
        let badFlag = try CLIRun.run(["plan", "--detailed-exitcode", "--retries", "-1"] + steps)
        XCTAssertEqual(badFlag.status, 1, badFlag.output)
        XCTAssertTrue(badFlag.stderr.contains("--retries"), badFlag.output)
        XCTAssertEqual(try CLIRun.run(["plan", "--retries", "-1"] + steps).status, 2)
        let badValues = try CLIRun.run(["plan", "--detailed-exitcode", "-f", values.path, "--console-url", "http://127.0.0.1:1"] + steps)
        XCTAssertEqual(badValues.status, 1, badValues.output)
        XCTAssertTrue(badValues.output.contains("init.waitTimeoutSeconds"), badValues.output)
    }
}
