import ConsoleSimulator
import Foundation
import JSONModel
import KubeSimulator
import TwistlockInit
import XCTest

/// The whole job under faults (issue 8, docs/reliability.md "Faults"): for each fault the job
/// either completes with the console in the intended state, or stops with an error naming the
/// step and the object, and a re-run completes it. The object a failed write was aimed at is
/// byte for byte what it was, and the settings a person made by hand survive every run.
final class HardeningFaultTests: XCTestCase {
    /// The endpoints every step reads, in run order (the request log proves each fault fired,
    /// so this list cannot silently fall behind the steps).
    static let reads = [
        "settings/initialized", "settings/license", "settings/certs", "settings/saml", "users", "groups", "version",
        "policies/vulnerability/images", "policies/vulnerability/host", "policies/vulnerability/vms",
        "policies/vulnerability/serverless", "static/vulnerabilities", "policies/compliance/container",
        "policies/compliance/host", "policies/compliance/vms", "policies/compliance/serverless", "custom-rules",
        "policies/runtime/container", "policies/runtime/host", "policies/runtime/serverless", "trust/data",
        "policies/firewall/network", "settings/logging", "settings/telemetry", "settings/intelligence",
        "settings/scan", "settings/logon",
    ]
    /// The writes that may be repeated (PUT, POST settings/*, the Defender manifest, login).
    static let repeatableWrites = [
        ("POST", "authenticate"), ("POST", "settings/license"), ("POST", "settings/certs"), ("POST", "settings/saml"),
        ("POST", "defenders/daemonset.yaml"),
        ("PUT", "policies/vulnerability/images"), ("PUT", "policies/vulnerability/host"), ("PUT", "policies/vulnerability/vms"),
        ("PUT", "policies/vulnerability/serverless"), ("PUT", "policies/compliance/container"),
        ("PUT", "policies/compliance/host"), ("PUT", "policies/compliance/vms"), ("PUT", "policies/compliance/serverless"),
        ("PUT", "policies/runtime/container"), ("PUT", "policies/runtime/host"), ("PUT", "policies/runtime/serverless"),
        ("PUT", "trust/data"), ("PUT", "policies/firewall/network"), ("POST", "settings/logging"),
        ("POST", "settings/telemetry"), ("POST", "settings/intelligence"), ("POST", "settings/logon"),
    ]
    /// Creations: never repeated after an ambiguous failure; only "not processed" answers (429).
    /// (`signup` has its own test: the person's console here is signed up already.)
    static let creations = [("POST", "users"), ("POST", "groups")]

    func rule(_ kind: String, _ method: String, _ path: String, status: Int? = nil, count: Int = 1,
              afterProcessing: Bool = false) -> JSON {
        var o: [String: JSON] = ["kind": .string(kind), "method": .string(method), "path": .string(path),
                                 "count": .int(Int64(count)), "retryAfter": 0]
        if let status { o["status"] = .int(Int64(status)) }
        if afterProcessing { o["afterProcessing"] = true }
        return .object(o)
    }

    /// The state the job leaves on a console with the person's settings and no faults.
    func referenceState() async throws -> JSON {
        let h = try await Hardening.start(kube: true)
        try await Hardening.makePersonSettings(h)
        let run = try await h.run(values: Hardening.values(defenders: true))
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        let state = try await h.state()
        await h.stop()
        return Hardening.normalized(state)
    }

    // MARK: - 5xx, 429 and dropped connections on every read and write of every step

    func testBurstsAndDropsOnEveryReadAndWriteOfEveryStepAreRetriedAndTheRunCompletes() async throws {
        let reference = try await referenceState()
        let h = try await Hardening.start(kube: true)
        try await Hardening.makePersonSettings(h)
        var rules: [JSON] = [rule("status", "GET", "_ping", status: 503, count: 2)]
        for path in Self.reads {
            rules += [rule("status", "GET", path, status: 503, count: 2), rule("status", "GET", path, status: 429),
                      rule("drop", "GET", path)]
        }
        for (method, path) in Self.repeatableWrites {
            rules += [rule("status", method, path, status: 502), rule("status", method, path, status: 429),
                      rule("drop", method, path)]
            if method == "PUT" || path.hasPrefix("settings/") {
                // The console applied it, the answer was lost: sending it again is harmless.
                rules.append(rule("drop", method, path, afterProcessing: true))
            }
        }
        for (method, path) in Self.creations { rules.append(rule("status", method, path, status: 429)) }
        try await h.setFaults(rules)
        h.kube?.inject(KubeFault(status: 503, resource: "daemonsets", method: "PATCH", times: 2, retryAfter: 0))
        h.kube?.inject(KubeFault(status: 429, resource: "namespaces", method: "GET", times: 1, retryAfter: 0))
        try await h.clearRequests()

        let run = try await h.run(values: Hardening.values(defenders: true))
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        XCTAssertEqual(run.report.steps.filter { $0.status != .done }.map(\.name), [], run.output)
        XCTAssertTrue(run.output.contains("retry"), run.output)

        // Every fault fired (so every step met one on each of its reads and writes).
        let fired = try await h.firedFaults()
        for path in Self.reads {
            for f in ["status 503", "status 429", "drop"] {
                XCTAssertTrue(fired.contains("GET \(path): \(f)"), "GET \(path): \(f) never fired")
            }
        }
        for (method, path) in Self.repeatableWrites {
            for f in ["status 502", "status 429", "drop"] {
                XCTAssertTrue(fired.contains("\(method) \(path): \(f)"), "\(method) \(path): \(f) never fired")
            }
        }
        for (method, path) in Self.creations {
            XCTAssertTrue(fired.contains("\(method) \(path): status 429"), "\(method) \(path) never got its 429")
        }

        let state = try await h.state()
        Hardening.assertConfigured(state)
        Hardening.assertPersonSettingsKept(state)
        let normalized = Hardening.normalized(state)
        XCTAssertEqual(normalized, reference, "differs from a run without faults in: \(Hardening.differences(normalized, reference))")
        let findings = try await h.findings()
        XCTAssertEqual(findings, [])

        // The intended state: one more run changes nothing but the license key.
        try await h.clearFaults()
        h.kube?.clearFaults()
        try await h.clearRequests()
        let again = try await h.run(values: Hardening.values(defenders: true))
        XCTAssertEqual(again.report.exitCode, 0, again.output)
        let writes = try await h.writeEndpoints()
        XCTAssertEqual(writes, ["POST settings/license"])
        await h.stop()
    }

    // MARK: - Creations after an ambiguous failure

    /// A creation whose outcome is unknown (connection dropped before or after the console
    /// processed it, an answer slower than the request timeout) is never sent again: the step
    /// fails naming itself, the object and the endpoint, and the next run completes the job
    /// without creating anything twice.
    func testCreationsAreNeverRepeatedAfterAnAmbiguousFailureAndARerunCompletes() async throws {
        let h = try await Hardening.start()
        let values = Hardening.values()

        // 1. The first admin: created, the answer lost.
        try await h.setFaults([rule("drop", "POST", "signup", afterProcessing: true)])
        let r1 = try await h.run(values: values)
        XCTAssertEqual(r1.report.exitCode, 1, r1.output)
        assertFailed(r1, step: "admin", mentions: ["POST /api/v1/signup", "first admin admin"], notRun: "license")
        var state = try await h.state()
        XCTAssertEqual(state["initialized"]?.boolValue, true, "the console processed the signup")

        // 2. A user: the connection dropped before the console saw it.
        try await h.setFaults([rule("drop", "POST", "users")])
        let r2 = try await h.run(values: values)
        XCTAssertEqual(r2.report.exitCode, 1, r2.output)
        assertFailed(r2, step: "users", mentions: ["POST /api/v1/users", "user alice"], notRun: "groups")
        state = try await h.state()
        let users2 = (state["users"]?.arrayValue ?? []).compactMap { $0["username"]?.stringValue }
        XCTAssertFalse(users2.contains("alice"))
        XCTAssertTrue(users2.contains("bob"), "the other user of the step was still created: \(users2)")

        // 3. A group: created, the answer lost.
        try await h.setFaults([rule("drop", "POST", "groups", afterProcessing: true)])
        let r3 = try await h.run(values: values)
        XCTAssertEqual(r3.report.exitCode, 1, r3.output)
        assertFailed(r3, step: "groups", mentions: ["POST /api/v1/groups", "group platform-admins"], notRun: "metrics-user")
        XCTAssertEqual(r3.step("users")?.status, .done)

        // 4. The metrics user: the answer slower than the request timeout.
        try await h.setFaults([["kind": "delay", "method": "POST", "path": "users", "count": 1, "delayMs": 1500]])
        let r4 = try await h.run(values: values) { $0.requestTimeout = 0.5 }
        XCTAssertEqual(r4.report.exitCode, 1, r4.output)
        assertFailed(r4, step: "metrics-user", mentions: ["POST /api/v1/users", "user twistlock-metrics", "timed out"],
                     notRun: "vulnerability-policies")
        // The console still processes it, late.
        try await waitUntil("the late POST users is processed") {
            (try? await h.state())?["users"]?.arrayValue?.contains { $0["username"]?.stringValue == "twistlock-metrics" } ?? false
        }

        // 5. No faults: the run completes, nothing exists twice.
        try await h.clearFaults()
        let r5 = try await h.run(values: values)
        XCTAssertEqual(r5.report.exitCode, 0, r5.output)
        state = try await h.state()
        Hardening.assertConfigured(state)
        let signups = try await h.requests().filter { $0["endpoint"]?.stringValue == "signup" }
        XCTAssertEqual(signups.count, 1, "signup is sent once, ever")
        try await h.clearRequests()
        let r6 = try await h.run(values: values)
        XCTAssertEqual(r6.report.exitCode, 0, r6.output)
        let writes = try await h.writeEndpoints()
        XCTAssertEqual(writes, ["POST settings/license"])
        await h.stop()
    }

    // MARK: - A restart in the middle of the policies

    /// The console restarts (every token gone, 503 for half a second) while the job's PUT of a
    /// vulnerability policy is on its way: that PUT gets a 401, the job logs in again (waiting
    /// out the 503s) and sends it again; the run completes.
    func testRestartInTheMiddleOfThePoliciesLogsInAgainAndCompletes() async throws {
        let h = try await Hardening.start()
        try await Hardening.makePersonSettings(h)
        try await h.setFaults([["kind": "delay", "method": "PUT", "path": "policies/vulnerability/vms", "count": 1, "delayMs": 800]])
        try await h.clearRequests()
        async let running = h.run(values: Hardening.values()) {
            $0.backoffBase = 0.1
            $0.maxRetries = 8
        }
        // The PUT is in the simulator's delay once the GET before it is logged.
        try await waitUntil("GET policies/vulnerability/vms") {
            h.sim.requests.contains { $0.method == "GET" && $0.endpoint == "policies/vulnerability/vms" }
        }
        try await Task.sleep(nanoseconds: 200_000_000)
        await h.sim.restart(downSeconds: 0.5)
        let run = try await running
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        let requests = h.sim.requests
        XCTAssertTrue(requests.contains { $0.method == "PUT" && $0.endpoint == "policies/vulnerability/vms" && $0.status == 401 },
                      "the PUT in flight met the restart")
        XCTAssertTrue(requests.contains { $0.method == "PUT" && $0.endpoint == "policies/vulnerability/vms" && $0.status == 200 })
        XCTAssertEqual(requests.filter { $0.endpoint == "authenticate" && $0.status == 200 }.count, 2,
                       "one login, one more after the restart")
        let state = try await h.state()
        Hardening.assertConfigured(state)
        Hardening.assertPersonSettingsKept(state)
        try await assertNothingLeftToDo(h)
        await h.stop()
    }

    // MARK: - Slower than the request timeout

    /// A read and a PUT slower than the request timeout: both are abandoned and sent again
    /// (the PUT is idempotent: the late first copy and the second carry the same object).
    func testAnswersSlowerThanTheRequestTimeoutAreRetriedWhenSafe() async throws {
        let h = try await Hardening.start()
        try await Hardening.makePersonSettings(h)
        try await h.setFaults([
            ["kind": "delay", "method": "GET", "path": "policies/runtime/host", "count": 1, "delayMs": 1500],
            ["kind": "delay", "method": "PUT", "path": "policies/compliance/vms", "count": 1, "delayMs": 1500],
        ])
        let run = try await h.run(values: Hardening.values()) { $0.requestTimeout = 0.5 }
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        XCTAssertTrue(run.output.contains("GET /api/v1/policies/runtime/host: the request timed out; retry 1/"), run.output)
        XCTAssertTrue(run.output.contains("PUT /api/v1/policies/compliance/vms: the request timed out; retry 1/"), run.output)
        try await Task.sleep(nanoseconds: 1_200_000_000)   // the late copy lands
        let state = try await h.state()
        Hardening.assertConfigured(state)
        Hardening.assertPersonSettingsKept(state)
        try await assertNothingLeftToDo(h)
        await h.stop()
    }

    // MARK: - The console rejects one policy

    /// A 400 for the PUT of one compliance policy: the step configures the other policies,
    /// then fails naming the policy, the endpoint and the answer; the rejected policy is byte
    /// for byte what it was; the steps after it do not run; a re-run completes the job.
    func testAPolicyTheConsoleRejectsFailsNamingItAndIsLeftAsItWas() async throws {
        let h = try await Hardening.start()
        try await Hardening.makePersonSettings(h)
        let before = try await h.state()
        try await h.setFaults([rule("status", "PUT", "policies/compliance/host", status: 400)])
        let run = try await h.run(values: Hardening.values())
        XCTAssertEqual(run.report.exitCode, 1, run.output)
        assertFailed(run, step: "compliance-policies",
                     mentions: ["compliance policy host", "PUT /api/v1/policies/compliance/host", "400"], notRun: "runtime-policies")
        XCTAssertEqual(run.step("vulnerability-policies")?.status, .done)
        for later in ["runtime-policies", "trusted-images", "options"] {
            XCTAssertEqual(run.step(later)?.status, .notRun, later)
        }
        let after = try await h.state()
        XCTAssertEqual(after["policies"]?["compliance/host"], before["policies"]?["compliance/host"],
                       "the rejected policy changed")
        for other in ["compliance/container", "compliance/vms", "compliance/serverless"] {
            let names = (after["policies"]?[other]?["rules"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
            XCTAssertTrue(names.contains { $0.hasPrefix("Hardening") }, "\(other) was configured all the same: \(names)")
        }
        XCTAssertEqual(after["trust"], before["trust"], "a step after the failure wrote")
        Hardening.assertPersonSettingsKept(after)

        try await h.clearFaults()
        let rerun = try await h.run(values: Hardening.values())
        XCTAssertEqual(rerun.report.exitCode, 0, rerun.output)
        let state = try await h.state()
        Hardening.assertConfigured(state)
        Hardening.assertPersonSettingsKept(state)
        try await assertNothingLeftToDo(h)
        await h.stop()
    }

    // MARK: - Not answering at start

    func testAConsoleThatRefusesConnectionsAtFirstIsWaitedForAndFullyConfigured() async throws {
        var options = SimulatorOptions()
        options.faults = FaultPlan(notReadySeconds: 2, notReadyMode: .refuse)
        let h = try await Hardening.start(options: options)
        let run = try await h.run(values: Hardening.values())
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        XCTAssertEqual(run.report.steps.filter { $0.status != .done && $0.status != .skipped }.map(\.name), [], run.output)
        Hardening.assertConfigured(try await h.state())
        await h.stop()
    }

    func testAConsoleThatNeverAnswersFailsTheWaitStepAfterItsTimeout() async throws {
        var options = SimulatorOptions()
        options.faults = FaultPlan(notReadySeconds: 60, notReadyMode: .unavailable)
        let h = try await Hardening.start(options: options)
        let run = try await h.run(values: Hardening.values(), sets: ["init.waitTimeoutSeconds=2"])
        XCTAssertEqual(run.report.exitCode, 1, run.output)
        let error = run.step("wait")?.error ?? ""
        XCTAssertTrue(error.contains("did not answer within 2 s"), error)
        XCTAssertTrue(error.contains("HTTP 503"), error)
        XCTAssertEqual(run.step("admin")?.status, .notRun)
        let writes = try await h.writes()
        XCTAssertEqual(writes.count, 0)
        await h.stop()
    }

    // MARK: - helpers

    func assertFailed(_ run: StepHarness.Run, step: String, mentions: [String], notRun: String,
                      file: StaticString = #filePath, line: UInt = #line) {
        let outcome = run.step(step)
        XCTAssertEqual(outcome?.status, .failed, "\(step): \(run.output)", file: file, line: line)
        let error = outcome?.error ?? ""
        XCTAssertTrue(error.hasPrefix("step \"\(step)\""), error, file: file, line: line)
        for m in mentions {
            XCTAssertTrue(error.contains(m), "the error does not name \(m): \(error)", file: file, line: line)
        }
        XCTAssertEqual(run.step(notRun)?.status, .notRun, file: file, line: line)
        let firstLine = error.components(separatedBy: "\n").first ?? error
        XCTAssertTrue(run.output.contains(firstLine), "the error is printed", file: file, line: line)
    }

    /// One more run without faults writes nothing but the license key.
    func assertNothingLeftToDo(_ h: StepHarness, file: StaticString = #filePath, line: UInt = #line) async throws {
        try await h.clearFaults()
        try await h.clearRequests()
        let again = try await h.run(values: Hardening.values())
        XCTAssertEqual(again.report.exitCode, 0, again.output, file: file, line: line)
        let writes = try await h.writeEndpoints()
        XCTAssertEqual(writes, ["POST settings/license"], file: file, line: line)
    }
}

/// Polls `condition` every 20 ms for at most `seconds`.
func waitUntil(_ what: String, seconds: Double = 20, _ condition: () async throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return }
        try await Task.sleep(nanoseconds: 20_000_000)
    }
    throw HardeningError("timed out waiting for: \(what)")
}
