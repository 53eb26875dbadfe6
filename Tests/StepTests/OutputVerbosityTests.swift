import Foundation
import JSONModel
import TwistlockInit
import XCTest

/// `-q`, `-v`, `-vv` and colour (issue 15, "At a terminal").
final class OutputVerbosityTests: XCTestCase {
    func testQuietPrintsWarningsErrorsAndTheSummaryOnly() async throws {
        let h = try await StepHarness.start()
        // A warning to keep: an unknown values key.
        let run = try await h.run(values: "console: {options: {enabled: true}}\nnoSuchKey: 1", configure: { $0.quiet = true })
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        XCTAssertFalse(run.lines.contains { $0.contains("✔") || $0.contains("▶") || $0.hasPrefix("    + ") || $0.hasPrefix("    ~ ") }, run.output)
        XCTAssertTrue(run.lines.contains { $0.contains("⚠") && $0.contains("noSuchKey") }, run.output)
        XCTAssertTrue(run.lines.contains { $0.hasPrefix("step ") && $0.contains("result") }, "the summary table: \(run.output)")
        XCTAssertTrue(run.lines.last?.hasPrefix("run done — ") ?? false, run.output)
        // A quiet plan: the diffs are left out, the Plan line stays.
        let plan = try await h.run(values: "console: {options: {enabled: true, logging: false}}", mode: .plan, configure: { $0.quiet = true })
        XCTAssertFalse(plan.lines.contains { $0.hasPrefix("    ~ ") }, plan.output)
        XCTAssertTrue(plan.lines.contains { $0.hasPrefix("Plan: ") }, plan.output)
        // An error is kept too.
        let failed = try await h.run(sets: ["init.waitTimeoutSeconds=1"], configure: { $0.quiet = true; $0.consoleURL = "http://127.0.0.1:1"; $0.maxRetries = 0 })
        XCTAssertTrue(failed.lines.contains { $0.contains("✘") && $0.contains("connection refused") }, failed.output)
        await h.stop()
    }

    func testVerboseShowsEachRequestAndVeryVerboseTheHTTPClientsLogMasked() async throws {
        let h = try await StepHarness.start()
        let v = try await h.run(configure: { $0.verbosity = 1 })
        XCTAssertEqual(v.report.exitCode, 0, v.output)
        let requests = v.lines.filter { $0.hasPrefix("    → ") }
        XCTAssertTrue(requests.contains { $0.range(of: #"^    → GET /api/v1/_ping 200 \(\d+ ms\)$"#, options: .regularExpression) != nil }, v.output)
        XCTAssertTrue(requests.contains { $0.hasPrefix("    → POST /api/v1/authenticate 200 (") }, v.output)
        let total = v.report.steps.reduce(0) { $0 + $1.requests }
        XCTAssertEqual(requests.count, total, "one line per request sent")
        XCTAssertFalse(v.lines.contains { $0.hasPrefix("    · [") }, "-v alone does not show the HTTP client's log")

        let vv = try await h.run(configure: { $0.verbosity = 2 })
        let client = vv.lines.filter { $0.hasPrefix("    · [") }
        XCTAssertFalse(client.isEmpty, vv.output)
        XCTAssertTrue(client.contains { $0.contains("ahc-request-id") || $0.contains("request") }, "\(client.prefix(5))")
        for secret in [StepHarness.adminPassword, h.licenseKey] {
            XCTAssertFalse(vv.output.contains(secret))
        }
        XCTAssertFalse(vv.output.contains(".build/checkouts"), vv.output)
        // Failures show as a line too.
        let refused = try await h.run(sets: ["init.waitTimeoutSeconds=1"], configure: { $0.verbosity = 1; $0.consoleURL = "http://127.0.0.1:1" })
        XCTAssertTrue(refused.lines.contains { $0.hasPrefix("    → GET /api/v1/_ping no answer (connection refused") }, refused.output)
        await h.stop()
    }

    /// The real binary, piped: no escape codes; under a pseudo-terminal (`script`): colour, unless
    /// --no-color or NO_COLOR.
    func testTheBinaryColoursATerminalOnly() async throws {
        let h = try await StepHarness.start()
        let base = h.workDir.appendingPathComponent("base.yaml")
        try StepHarness.baseValues.write(to: base, atomically: true, encoding: .utf8)
        let args = ["run", "-f", base.path, "--secrets-dir", h.secretsDir.path, "--console-url", h.consoleURL,
                    "--builtin-steps", StepHarness.projectSteps.path]
        let piped = try CLIRun.run(args)
        XCTAssertEqual(piped.status, 0, piped.output)
        XCTAssertFalse(piped.output.contains("\u{1B}["), "escape codes in piped output")
        XCTAssertTrue(piped.stdout.contains("✔"), piped.output)

        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else {
            await h.stop()
            throw XCTSkip("script(1) is needed for a pseudo-terminal")
        }
        let binary = try HardeningSignalTests.binary().path
        func underTerminal(_ extra: [String], env: [String: String] = [:]) throws -> CLIRun {
            let command = ([binary] + args + extra).map { "'\($0)'" }.joined(separator: " ")
            return try CLIRun.run(["-qec", command, "/dev/null"], environment: env, executable: "/usr/bin/script")
        }
        let tty = try underTerminal([])
        XCTAssertEqual(tty.status, 0, tty.output)
        XCTAssertTrue(tty.stdout.contains("\u{1B}[32m  ✔"), tty.stdout)
        XCTAssertFalse(try underTerminal(["--no-color"]).stdout.contains("\u{1B}["))
        XCTAssertFalse(try underTerminal([], env: ["NO_COLOR": "1"]).stdout.contains("\u{1B}["))
        await h.stop()
    }
}
