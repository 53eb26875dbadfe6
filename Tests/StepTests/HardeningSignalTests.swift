import ConsoleSimulator
import Foundation
import JSONModel
import KubeSimulator
import TestSupport
import TwistlockInit
import XCTest

/// SIGTERM mid-run (issue 8, docs/reliability.md "Interruption"): the Job's deadline. The
/// request in flight is abandoned (or finishes), the report says where the run stopped, the
/// Istio sidecar is asked to quit, the exit code is 143 — within moments, also while a step
/// sleeps or the client waits out a `Retry-After`. The first tests run the real binary
/// (`twistlock-init run`, built by `swift build`/`swift test`) and send it a real SIGTERM.
final class HardeningSignalTests: XCTestCase {
    /// `twistlock-init` beside the test bundle (SwiftPM builds every product for the tests).
    static func binary() throws -> URL { try BuiltProduct.url("twistlock-init") }

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

    struct Process_ {
        let process: Process
        let stdout: URL
        let stderr: URL
        var output: String {
            ((try? String(contentsOf: stdout, encoding: .utf8)) ?? "") + ((try? String(contentsOf: stderr, encoding: .utf8)) ?? "")
        }
    }

    /// Starts `twistlock-init run` against the harness's console with every step on, Istio on.
    func launch(_ h: StepHarness, sidecar: LoopbackHTTPServer, report: URL, extra: [String] = []) throws -> Process_ {
        let base = h.workDir.appendingPathComponent("cli-base.yaml")
        try StepHarness.baseValues.write(to: base, atomically: true, encoding: .utf8)
        let values = h.workDir.appendingPathComponent("cli-values.yaml")
        try (Hardening.values() + "\nistio:\n  enabled: true\n").write(to: values, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = try Self.binary()
        process.arguments = [
            "run", "-f", base.path, "-f", values.path, "--secrets-dir", h.secretsDir.path,
            "--console-url", h.consoleURL, "--builtin-steps", StepHarness.projectSteps.path,
            "--report-json", report.path, "--request-timeout", "30",
            "--istio-ready-url", sidecar.url + "/healthz/ready", "--istio-quit-url", sidecar.url + "/quitquitquit",
        ] + extra
        let out = h.workDir.appendingPathComponent("stdout-\(UUID().uuidString)")
        let err = h.workDir.appendingPathComponent("stderr-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        var env = ProcessInfo.processInfo.environment
        env["KUBECONFIG"] = nil
        process.environment = env
        try process.run()
        return Process_(process: process, stdout: out, stderr: err)
    }

    /// Waits (at most `seconds`) for the process to exit; kills it and fails otherwise.
    func waitForExit(_ p: Process_, seconds: Double = 20, file: StaticString = #filePath, line: UInt = #line) async throws -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while p.process.isRunning && Date() < deadline { try await Task.sleep(nanoseconds: 20_000_000) }
        if p.process.isRunning {
            kill(p.process.processIdentifier, SIGKILL)
            p.process.waitUntilExit()
            XCTFail("twistlock-init did not end within \(Int(seconds)) s of SIGTERM:\n\(p.output)", file: file, line: line)
            return nil
        }
        return p.process.terminationStatus
    }

    func statuses(_ report: URL) throws -> [String: String] {
        let json = try JSON.parse(String(contentsOf: report, encoding: .utf8))
        var out: [String: String] = [:]
        for s in json["steps"]?.arrayValue ?? [] {
            out[s["name"]?.stringValue ?? ""] = s["status"]?.stringValue
        }
        return out
    }

    // MARK: - The real binary, a real SIGTERM

    /// SIGTERM while the PUT of a vulnerability policy is in flight (the console holds it for
    /// 3 s): the process abandons it and exits 143 at once; the report marks the step
    /// interrupted, the ones before done and the ones after not run; the sidecar is asked to
    /// quit. The console still applies the abandoned PUT — whole: a re-run finds that policy
    /// as the job wants it and completes the rest.
    func testSIGTERMDuringAWriteAbandonsItReportsWhereAndAsksTheSidecarToQuit() async throws {
        let h = try await Hardening.start()
        try await Hardening.makePersonSettings(h)
        let istio = try sidecar()
        defer { istio.stop() }
        try await h.setFaults([["kind": "delay", "method": "PUT", "path": "policies/vulnerability/host", "count": 1, "delayMs": 3000]])
        let report = h.workDir.appendingPathComponent("report.json")
        let p = try launch(h, sidecar: istio, report: report)
        try await waitUntil("GET policies/vulnerability/host") {
            h.sim.requests.contains { $0.method == "GET" && $0.endpoint == "policies/vulnerability/host" }
        }
        try await Task.sleep(nanoseconds: 300_000_000)   // the PUT is in the console's hands
        XCTAssertTrue(p.process.isRunning)
        kill(p.process.processIdentifier, SIGTERM)
        let status = try await waitForExit(p)
        XCTAssertEqual(status, 143, p.output)
        XCTAssertEqual(p.process.terminationReason, .exit, "exited on its own, not killed by the signal")

        let steps = try statuses(report)
        XCTAssertEqual(steps["vulnerability-policies"], "interrupted", "\(steps)")
        for before in ["wait", "admin", "license", "dns-san", "sso", "users", "groups", "metrics-user"] {
            XCTAssertEqual(steps[before], "done", "\(before): \(steps)")
        }
        for after in ["compliance-policies", "runtime-policies", "trusted-images", "options"] {
            XCTAssertEqual(steps[after], "not run", "\(after): \(steps)")
        }
        let reportJSON = try JSON.parse(String(contentsOf: report, encoding: .utf8))
        XCTAssertEqual(reportJSON["exitCode"]?.intValue, 143)
        let error = reportJSON["steps"]?.arrayValue?.first { $0["name"]?.stringValue == "vulnerability-policies" }?["error"]?.stringValue
        XCTAssertEqual(error, "interrupted by SIGTERM")
        XCTAssertTrue(p.output.contains("interrupted by SIGTERM; the step's current request was abandoned"), p.output)
        XCTAssertTrue(p.output.contains("interrupted"), p.output)
        let sidecarCalls = istio.received.map { "\($0.method) \($0.path)" }
        XCTAssertTrue(sidecarCalls.contains("GET /healthz/ready"), "\(sidecarCalls)")
        XCTAssertEqual(sidecarCalls.filter { $0 == "POST /quitquitquit" }.count, 1, "\(sidecarCalls)")

        // The abandoned PUT lands whole; nothing the person made is lost; a re-run completes.
        try await waitUntil("the abandoned PUT lands") {
            h.sim.requests.contains { $0.method == "PUT" && $0.endpoint == "policies/vulnerability/host" }
        }
        Hardening.assertPersonSettingsKept(try await h.state())
        try await h.clearFaults()
        try await h.clearRequests()
        let rerun = try await h.run(values: Hardening.values())
        XCTAssertEqual(rerun.report.exitCode, 0, rerun.output)
        let writes = try await h.writeEndpoints()
        XCTAssertFalse(writes.contains("PUT policies/vulnerability/host"), "the abandoned PUT was not whole: \(writes)")
        XCTAssertTrue(writes.contains("PUT policies/compliance/host"), "\(writes)")
        Hardening.assertConfigured(try await h.state())
        await h.stop()
    }

    /// SIGTERM while the client waits out a 30 s `Retry-After`: the wait is cut short.
    func testSIGTERMDuringARetryAfterWaitEndsTheRunAtOnce() async throws {
        let h = try await Hardening.start()
        let istio = try sidecar()
        defer { istio.stop() }
        try await h.setFaults([["kind": "status", "status": 429, "retryAfter": 30, "method": "GET",
                                "path": "settings/license", "count": 5]])
        let report = h.workDir.appendingPathComponent("report.json")
        let p = try launch(h, sidecar: istio, report: report, extra: ["--log-format", "json"])
        try await waitUntil("the first 429") {
            h.sim.requests.contains { $0.endpoint == "settings/license" && $0.status == 429 }
        }
        try await Task.sleep(nanoseconds: 300_000_000)
        kill(p.process.processIdentifier, SIGTERM)
        let status = try await waitForExit(p, seconds: 15)
        XCTAssertEqual(status, 143, p.output)
        let steps = try statuses(report)
        XCTAssertEqual(steps["license"], "interrupted", "\(steps)")
        XCTAssertEqual(steps["admin"], "done")
        XCTAssertEqual(steps["users"], "not run")
        // JSON log lines throughout, the interruption among them.
        let lines = (try String(contentsOf: p.stdout, encoding: .utf8)).split(separator: "\n")
        XCTAssertFalse(lines.isEmpty)
        for line in lines { XCTAssertNoThrow(try JSON.parse(String(line)), String(line)) }
        XCTAssertTrue(lines.contains { $0.contains("interrupted by SIGTERM") }, p.output)
        XCTAssertTrue(istio.received.contains { $0.method == "POST" && $0.path == "/quitquitquit" })
        let retries = h.sim.requests.filter { $0.endpoint == "settings/license" && $0.method == "GET" }
        XCTAssertEqual(retries.count, 1, "no retry after the SIGTERM")
        await h.stop()
    }

    // MARK: - In process: the runner's interrupt

    /// A custom step sleeping for ten minutes: the interrupt cuts the sleep short.
    func testAnInterruptEndsAStepThatSleeps() async throws {
        let h = try await Hardening.start()
        let dir = try Hardening.customStep(h, name: "sleeper", after: "license", lua: """
        log.info("sleeping for ten minutes")
        time.sleep(600)
        log.info("woke up")
        """)
        let job = JobThread(try h.options(values: Hardening.values(), extraStepsDirs: [dir]))
        try await job.waitForLine(containing: "sleeping for ten minutes")
        job.runner.interrupt(reason: "SIGTERM")
        guard let report = await job.wait(seconds: 15) else { return XCTFail("the sleeping step was not stopped") }
        XCTAssertEqual(report.exitCode, 143)
        XCTAssertEqual(report.steps.first { $0.name == "sleeper" }?.status, .interrupted)
        XCTAssertEqual(report.steps.first { $0.name == "dns-san" }?.status, .notRun)
        XCTAssertFalse(job.output.contains("woke up"))
        await h.stop()
    }

    /// The Kubernetes API server asks for a 30 s pause (429, Retry-After) while the Defender
    /// DaemonSet is applied: the interrupt cuts the wait short.
    func testAnInterruptCutsAKubernetesRetryWaitShort() async throws {
        let h = try await Hardening.start(kube: true)
        h.kube?.inject(KubeFault(status: 429, resource: "daemonsets", method: "PATCH", times: 10, retryAfter: 30))
        let job = JobThread(try h.options(values: Hardening.values(defenders: true)))
        try await waitUntil("the 429 of the DaemonSet's apply") {
            h.kube?.requests.contains { $0.method == "PATCH" && $0.status == 429 } ?? false
        }
        try await Task.sleep(nanoseconds: 200_000_000)
        job.runner.interrupt(reason: "SIGTERM")
        guard let report = await job.wait(seconds: 15) else { return XCTFail("the retry wait was not cut short") }
        XCTAssertEqual(report.exitCode, 143, job.output)
        XCTAssertEqual(report.steps.first { $0.name == "defenders" }?.status, .interrupted, job.output)
        XCTAssertEqual(report.steps.first { $0.name == "vulnerability-policies" }?.status, .notRun)
        await h.stop()
    }

    /// An interrupt that comes before the first step (while values load or the sidecar is
    /// awaited): no step starts, no request is sent, exit 143.
    func testAnInterruptBeforeTheFirstStepStartsNoStep() async throws {
        let h = try await Hardening.start()
        let istio = try sidecar()
        defer { istio.stop() }
        let job = JobThread(try h.options(values: Hardening.values() + "\nistio: {enabled: true}\n") {
            $0.istio.ready = istio.url + "/healthz/ready"
            $0.istio.quit = istio.url + "/quitquitquit"
        })
        job.runner.interrupt(reason: "SIGTERM")
        guard let report = await job.wait(seconds: 15) else { return XCTFail("the run did not end") }
        XCTAssertEqual(report.exitCode, 143, job.output)
        XCTAssertTrue(report.steps.allSatisfy { $0.status == .notRun || $0.status == .skipped || $0.status == .interrupted },
                      "\(report.steps.map { "\($0.name) \($0.status)" })")
        XCTAssertFalse(report.steps.contains { $0.status == .done })
        let requests = try await h.requests()
        XCTAssertEqual(requests.filter { ($0["endpoint"]?.stringValue ?? "") != "_ping" }.count, 0, "\(requests)")
        XCTAssertTrue(istio.received.contains { $0.path == "/quitquitquit" })
        await h.stop()
    }

    /// A sidecar that never gets ready (503 on its readiness endpoint) and the default 120 s
    /// wait for it: an interrupt ends the wait at once — no step starts, no console request,
    /// exit 143, and the sidecar is still asked to quit.
    func testAnInterruptEndsTheWaitForTheIstioSidecar() async throws {
        let h = try await Hardening.start()
        let istio = try LoopbackHTTPServer { request in
            switch (request.method, request.path) {
            case ("GET", "/healthz/ready"): return .init(503, "not ready")
            case ("POST", "/quitquitquit"): return .init(200, "")
            default: return .init(404, "")
            }
        }
        defer { istio.stop() }
        let job = JobThread(try h.options(values: Hardening.values() + "\nistio: {enabled: true}\n") {
            $0.istio.ready = istio.url + "/healthz/ready"
            $0.istio.quit = istio.url + "/quitquitquit"
            $0.istio.readyTimeout = 120
        })
        try await job.waitForLine(containing: "waiting for the Istio sidecar")
        try await waitUntil("two readiness probes") { istio.received.filter { $0.path == "/healthz/ready" }.count >= 2 }
        job.runner.interrupt(reason: "SIGTERM")
        // Well before the 120 s the wait would otherwise take.
        guard let report = await job.wait(seconds: 15) else { return XCTFail("the wait for the sidecar was not cut short") }
        XCTAssertEqual(report.exitCode, 143, job.output)
        XCTAssertTrue(job.output.contains("stopped waiting for the Istio sidecar: the run was interrupted"), job.output)
        XCTAssertFalse(job.output.contains("was not ready after"), job.output)
        XCTAssertFalse(report.steps.contains { $0.status == .done || $0.status == .failed },
                       "\(report.steps.map { "\($0.name) \($0.status)" })")
        let requests = try await h.requests()
        XCTAssertEqual(requests.count, 0, "a console request was sent: \(requests)")
        XCTAssertEqual(istio.received.filter { $0.path == "/quitquitquit" }.count, 1)
        await h.stop()
    }

    /// Invalid values with Istio on: exit 2 — and the sidecar is still asked to quit, so the
    /// Job's pod can complete.
    func testInvalidValuesStillAskTheSidecarToQuit() async throws {
        let h = try await Hardening.start()
        let istio = try sidecar()
        defer { istio.stop() }
        let run = try await h.run(values: "istio: {enabled: true}\npolicies: {enabled: maybe}\n") {
            $0.istio.ready = istio.url + "/healthz/ready"
            $0.istio.quit = istio.url + "/quitquitquit"
        }
        XCTAssertEqual(run.report.exitCode, 2, run.output)
        XCTAssertTrue(run.report.problems.contains { $0.hasPrefix("policies.enabled") }, "\(run.report.problems)")
        XCTAssertEqual(istio.received.map(\.path), ["/quitquitquit"])
        let requests = try await h.requests()
        XCTAssertEqual(requests.count, 0)
        await h.stop()
    }
}
