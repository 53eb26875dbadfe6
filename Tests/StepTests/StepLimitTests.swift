import Foundation
import JSONModel
import TestSupport
import TwistlockInit
import XCTest

/// Issue 13 point 2: no step can hang the job. Each step has a wall-clock limit
/// (`--step-timeout`); a step inside a C function (a backtracking pattern, where Lua's hook never
/// runs) cannot be stopped in place, so the binary writes its report and exits (1 for a step
/// over its limit, 143 for SIGTERM/SIGINT) within about a second of the limit or the signal.
/// `--deadline` bounds the whole run, the wait step included, and the wait step never
/// overshoots its own timeout by more than a second.
final class StepLimitTests: XCTestCase {
    // MARK: - In process: the limit through Lua's hook and the clients

    func testAStepOverItsTimeLimitFailsAndTheRunStops() async throws {
        let h = try await Hardening.start()
        for (name, lua) in [("spinner", "while true do end"),
                            ("sleeper", "time.sleep(600)"),
                            ("pcall-spinner", "while true do pcall(function() while true do end end) end")] {
            let dir = try Hardening.customStep(h, name: name, after: "license", lua: lua)
            let job = JobThread(try h.options(values: Hardening.values(), extraStepsDirs: [dir]) {
                $0.stepTimeout = 1
                $0.instructionLimit = 1_000_000_000_000
                $0.only = ["wait", "admin", "license", name, "users"]
            })
            guard let report = await job.wait(seconds: 15) else { return XCTFail("\(name) was not stopped") }
            let run = StepHarness.Run(report: report, lines: job.lines)
            XCTAssertEqual(report.exitCode, 1, "\(name): \(run.output)")
            XCTAssertEqual(run.step(name)?.status, .failed, name)
            XCTAssertEqual(run.step(name)?.error, "step \"\(name)\": over its time limit of 1 s (--step-timeout)", name)
            XCTAssertEqual(run.step("users")?.status, .notRun, name)
            XCTAssertEqual(run.step("license")?.status, .done, name)
        }
        await h.stop()
    }

    /// A console that accepts connections and never answers: the wait step fails at its own
    /// timeout (2 s), not 30 s later at the request timeout.
    func testTheWaitStepDoesNotOvershootItsTimeoutAgainstASilentConsole() async throws {
        let h = try await Hardening.start()
        let silent = try Loopback.SilentListener()
        let run = try await h.run(values: "init: {waitTimeoutSeconds: 2}", only: ["wait", "admin"]) {
            $0.consoleURL = silent.url
            $0.requestTimeout = 30
        }
        XCTAssertEqual(run.step("wait")?.status, .failed, run.output)
        XCTAssertTrue(run.step("wait")?.error?.contains("did not answer within 2 s (init.waitTimeoutSeconds)") ?? false, run.output)
        XCTAssertLessThan(run.step("wait")?.seconds ?? 99, 3.0, "overshot its 2 s timeout: \(run.output)")
        await h.stop()
    }

    /// `--deadline` bounds the wait step too (its own timeout is 600 s here).
    func testTheDeadlineBoundsTheWaitStep() async throws {
        let h = try await Hardening.start()
        let silent = try Loopback.SilentListener()
        let run = try await h.run(values: "init: {waitTimeoutSeconds: 600}", only: ["wait", "admin"]) {
            $0.consoleURL = silent.url
            $0.requestTimeout = 30
            $0.deadlineSeconds = 1.5
        }
        XCTAssertEqual(run.report.exitCode, 1, run.output)
        XCTAssertEqual(run.step("wait")?.status, .failed, run.output)
        XCTAssertEqual(run.step("wait")?.error, "step \"wait\": the run's deadline of 1.5 s (--deadline) passed during this step", run.output)
        XCTAssertLessThan(run.report.seconds, 3.0, run.output)
        await h.stop()
    }

    // MARK: - The real binary: a step inside a C function

    struct Launched {
        let process: Process
        let output: URL
        var text: String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }
    }

    func launch(_ h: StepHarness, step lua: String, sidecar: LoopbackHTTPServer, report: URL, extra: [String]) throws -> Launched {
        let dir = try Hardening.customStep(h, name: "hog", after: "wait", lua: lua)
        let base = h.workDir.appendingPathComponent("cli-base.yaml")
        try StepHarness.baseValues.write(to: base, atomically: true, encoding: .utf8)
        let values = h.workDir.appendingPathComponent("cli-values-\(UUID().uuidString).yaml")
        try (Hardening.values() + "\nistio:\n  enabled: true\n").write(to: values, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = try HardeningSignalTests.binary()
        process.arguments = [
            "run", "-f", base.path, "-f", values.path, "--secrets-dir", h.secretsDir.path,
            "--console-url", h.consoleURL, "--builtin-steps", StepHarness.projectSteps.path, "--steps-dir", dir.path,
            "--report-json", report.path,
            "--istio-ready-url", sidecar.url + "/healthz/ready", "--istio-quit-url", sidecar.url + "/quitquitquit",
        ] + extra
        let out = h.workDir.appendingPathComponent("out-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        let handle = try FileHandle(forWritingTo: out)
        process.standardOutput = handle
        process.standardError = handle
        var env = ProcessInfo.processInfo.environment
        env["KUBECONFIG"] = nil
        process.environment = env
        try process.run()
        return Launched(process: process, output: out)
    }

    func waitForExit(_ p: Launched, seconds: Double) async throws -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while p.process.isRunning && Date() < deadline { try await Task.sleep(nanoseconds: 20_000_000) }
        if p.process.isRunning {
            kill(p.process.processIdentifier, SIGKILL)
            p.process.waitUntilExit()
            XCTFail("twistlock-init did not end within \(Int(seconds)) s:\n\(p.text)")
            return nil
        }
        return p.process.terminationStatus
    }

    /// The sidecar's two endpoints, recorded.
    func sidecar() throws -> LoopbackHTTPServer {
        try LoopbackHTTPServer { request in
            switch (request.method, request.path) {
            case ("GET", "/healthz/ready"): return .init(200, "")
            case ("POST", "/quitquitquit"): return .init(200, "")
            default: return .init(404, "")
            }
        }
    }

    func stepsOf(_ report: URL) throws -> [String: JSON] {
        let json = try JSON.parse(String(contentsOf: report, encoding: .utf8))
        var out: [String: JSON] = [:]
        for s in json["steps"]?.arrayValue ?? [] { out[s["name"]?.stringValue ?? ""] = s }
        return out
    }

    /// Patterns that backtrack for hours inside one C call (find, match, gmatch, gsub) and a
    /// quadratic gsub over a long string: with `--step-timeout 1` the job ends with exit 1,
    /// the report names the step and why, the steps after it did not run, the sidecar quits.
    func testAStepStuckInsideACFunctionEndsTheJobWithItsReport() async throws {
        let h = try await Hardening.start()
        let istio = try sidecar()
        defer { istio.stop() }
        let patterns = [
            #"string.find(("a"):rep(5000), (".-"):rep(10) .. "b")"#,
            #"for m in string.gmatch(("a"):rep(3000), ("(.-)"):rep(12) .. "b") do end"#,
            #"local s = ("a"):rep(300000); s:gsub(".-b", "")"#,
        ]
        for lua in patterns {
            let report = h.workDir.appendingPathComponent("report-\(UUID().uuidString).json")
            let p = try launch(h, step: "log.info('backtracking now')\n" + lua, sidecar: istio, report: report,
                               extra: ["--step-timeout", "1"])
            let status = try await waitForExit(p, seconds: 20)
            XCTAssertEqual(status, 1, "\(lua): \(p.text)")
            XCTAssertEqual(p.process.terminationReason, Process.TerminationReason.exit, lua)
            let steps = try stepsOf(report)
            XCTAssertEqual(steps["hog"]?["status"]?.stringValue, "failed", "\(lua): \(steps)")
            XCTAssertEqual(steps["hog"]?["error"]?.stringValue, "step \"hog\": over its time limit of 1 s (--step-timeout)", lua)
            XCTAssertTrue(steps["hog"]?["reason"]?.stringValue?.contains("did not stop within 1 s") ?? false, "\(lua): \(steps)")
            XCTAssertEqual(steps["wait"]?["status"]?.stringValue, "done", lua)
            XCTAssertEqual(steps["admin"]?["status"]?.stringValue, "not run", lua)
            XCTAssertEqual(try JSON.parse(String(contentsOf: report, encoding: .utf8))["exitCode"]?.intValue, 1)
            XCTAssertTrue(p.text.contains("over its time limit of 1 s"), p.text)
        }
        XCTAssertEqual(istio.received.filter { $0.method == "POST" && $0.path == "/quitquitquit" }.count, patterns.count)
        await h.stop()
    }

    /// SIGTERM (and SIGINT) while a step is inside a backtracking match: exit 143 within about
    /// a second, the report marks the step interrupted.
    func testASignalDuringACFunctionIsHonouredWithinTwoSeconds() async throws {
        let h = try await Hardening.start()
        let istio = try sidecar()
        defer { istio.stop() }
        for (sig, name) in [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")] {
            let report = h.workDir.appendingPathComponent("report-\(name).json")
            let p = try launch(h, step: #"""
            log.info("backtracking now")
            string.match(("a"):rep(5000), (".-"):rep(10) .. "b")
            """#, sidecar: istio, report: report, extra: [])
            let deadline = Date().addingTimeInterval(20)
            while !p.text.contains("backtracking now") && Date() < deadline { try await Task.sleep(nanoseconds: 20_000_000) }
            try await Task.sleep(nanoseconds: 200_000_000)
            XCTAssertTrue(p.process.isRunning, p.text)
            kill(p.process.processIdentifier, sig)
            let status = try await waitForExit(p, seconds: 2.5)
            XCTAssertEqual(status, 143, "\(name): \(p.text)")
            let steps = try stepsOf(report)
            XCTAssertEqual(steps["hog"]?["status"]?.stringValue, "interrupted", "\(name): \(steps)")
            XCTAssertEqual(steps["hog"]?["error"]?.stringValue, "interrupted by \(name)")
            XCTAssertEqual(steps["admin"]?["status"]?.stringValue, "not run")
        }
        XCTAssertEqual(istio.received.filter { $0.method == "POST" && $0.path == "/quitquitquit" }.count, 2)
        await h.stop()
    }
}
