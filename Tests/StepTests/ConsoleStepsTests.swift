import ConsoleSimulator
import Foundation
import JSONModel
import TwistlockInit
import XCTest

/// The first steps (wait, admin, license), plan mode, idempotency and the client's behaviour
/// under faults, end to end against the simulator over loopback HTTP.
final class ConsoleStepsTests: XCTestCase {
    func testFreshConsoleGetsAdminAndLicenseAndSecondRunWritesOnlyTheLicense() async throws {
        let h = try await StepHarness.start()
        let first = try await h.run()
        XCTAssertEqual(first.report.exitCode, 0, first.output)
        XCTAssertEqual(first.step("admin")?.status, .done)
        XCTAssertEqual(first.step("license")?.status, .done)
        XCTAssertTrue(first.output.contains("created the first admin admin"), first.output)
        let state = try await h.state()
        XCTAssertEqual(state["initialized"]?.boolValue, true)
        XCTAssertNotNil(state["license"]?["expiration_date"]?.stringValue)

        try await h.clearRequests()
        let second = try await h.run()
        XCTAssertEqual(second.report.exitCode, 0, second.output)
        XCTAssertTrue(second.output.contains("already initialized"), second.output)
        let writes = try await h.writes()
        XCTAssertEqual(writes.map { $0["endpoint"]?.stringValue ?? "" }, ["settings/license"],
                       "a second run writes only the license key")
        let findings = try await h.findings()
        XCTAssertEqual(findings, [])
        // No secret in any output line.
        for s in [StepHarness.adminPassword, h.licenseKey] {
            XCTAssertFalse(first.output.contains(s))
            XCTAssertFalse(second.output.contains(s))
        }
        await h.stop()
    }

    func testWrongPasswordStopsCleanlyAndFailsUnderStrict() async throws {
        let h = try await StepHarness.start()
        // Someone already created the admin with another password.
        let status = try await h.send("POST", "/api/v1/signup",
                                      ["username": .string(StepHarness.adminUser), "password": "Another-Passw0rd"])
        XCTAssertEqual(status, 200)
        let run = try await h.run()
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        XCTAssertEqual(run.step("admin")?.status, .stopped)
        XCTAssertEqual(run.step("license")?.status, .notRun)
        XCTAssertTrue(run.report.stopMessage?.contains("refused the credentials of admin") ?? false, run.output)
        let strict = try await h.run(strict: true)
        XCTAssertEqual(strict.report.exitCode, 3, strict.output)
        XCTAssertFalse(run.output.contains(StepHarness.adminPassword))
        await h.stop()
    }

    func testMissingLicenseStopsAndStrictFails() async throws {
        let h = try await StepHarness.start(license: false)
        let run = try await h.run()
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        XCTAssertEqual(run.step("license")?.status, .stopped)
        XCTAssertTrue(run.report.stopMessage?.contains("no license is installed") ?? false, run.output)
        let strict = try await h.run(strict: true)
        XCTAssertEqual(strict.report.exitCode, 3)
        await h.stop()
    }

    func testInvalidLicenseFailsWithoutShowingTheKey() async throws {
        let h = try await StepHarness.start(license: false)
        let badKey = "NOT-A-REAL-LICENSE-KEY-123456"
        try badKey.write(to: h.secretsDir.appendingPathComponent("console.license"), atomically: true, encoding: .utf8)
        let run = try await h.run()
        XCTAssertEqual(run.report.exitCode, 1, run.output)
        XCTAssertEqual(run.step("license")?.status, .failed)
        let err = run.step("license")?.error ?? ""
        XCTAssertTrue(err.contains("400"), err)
        XCTAssertTrue(err.contains("settings/license"), err)
        XCTAssertFalse(run.output.contains(badKey))
        XCTAssertFalse(err.contains(badKey))
        await h.stop()
    }

    func testExpiredLicenseFailsNamingTheDate() async throws {
        let h = try await StepHarness.start(license: false)
        let expired = SimulatorLicense.makeKey(customer: "old", expires: Date(timeIntervalSince1970: 1_700_000_000))
        try expired.write(to: h.secretsDir.appendingPathComponent("console.license"), atomically: true, encoding: .utf8)
        let run = try await h.run()
        XCTAssertEqual(run.report.exitCode, 1, run.output)
        let err = run.step("license")?.error ?? ""
        XCTAssertTrue(err.contains("expired on 2023-11-14"), err)
        await h.stop()
    }

    func testConsoleThatComesUpLate() async throws {
        var options = SimulatorOptions()
        options.faults = FaultPlan(notReadySeconds: 2.5, notReadyMode: .unavailable)
        let h = try await StepHarness.start(options: options)
        let run = try await h.run()
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        XCTAssertTrue(run.output.contains("waiting for the console"), run.output)
        XCTAssertTrue(run.output.contains("the console answers"), run.output)
        await h.stop()
    }

    func testConsoleRefusingConnectionsAtFirst() async throws {
        var options = SimulatorOptions()
        options.faults = FaultPlan(notReadySeconds: 2, notReadyMode: .refuse)
        let h = try await StepHarness.start(options: options)
        let run = try await h.run()
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        XCTAssertTrue(run.output.contains("the console answers"), run.output)
        await h.stop()
    }

    func testBurstsOf429And5xxAreRetried() async throws {
        let h = try await StepHarness.start()
        let faults: JSON = ["rules": [
            ["kind": "status", "status": 429, "method": "GET", "path": "settings/license", "count": 2, "retryAfter": 0],
            ["kind": "status", "status": 503, "method": "POST", "path": "settings/license", "count": 2],
            ["kind": "status", "status": 502, "method": "GET", "path": "settings/initialized", "count": 1],
        ]]
        let status = try await h.send("POST", "/sim/faults", faults)
        XCTAssertEqual(status, 200)
        let run = try await h.run()
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        XCTAssertTrue(run.output.contains("429 Too Many Requests; retry 1/"), run.output)
        XCTAssertTrue(run.output.contains("503 Service Unavailable; retry"), run.output)
        await h.stop()
    }

    func testSignupIsNeverRetriedAfterAnAmbiguousFailure() async throws {
        let h = try await StepHarness.start()
        _ = try await h.send("POST", "/sim/faults", ["rules": [
            ["kind": "status", "status": 500, "method": "POST", "path": "signup", "count": 1],
        ]])
        let run = try await h.run()
        XCTAssertEqual(run.report.exitCode, 1, run.output)
        XCTAssertTrue(run.step("admin")?.error?.contains("POST /api/v1/signup") ?? false, run.output)
        let signups = try await h.requests().filter { $0["endpoint"]?.stringValue == "signup" }
        XCTAssertEqual(signups.count, 1)
        await h.stop()
    }

    func testTokenLostMidRunLogsInAgainOnce() async throws {
        let h = try await StepHarness.start()
        // A custom step after the license restarts the console (tokens gone, state kept).
        let dir = h.workDir.appendingPathComponent("restart-steps")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try """
        steps:
          - name: restart-console
            file: restart.lua
            description: Restart the simulated console
            when: init.enabled
            after: license
          - name: read-after-restart
            file: read.lua
            description: Read something that needs a login
            when: init.enabled
            after: restart-console
        """.write(to: dir.appendingPathComponent("manifest.yaml"), atomically: true, encoding: .utf8)
        try """
        local r = console.request{method = "POST", path = "/sim/restart", body = {downSeconds = 0}, auth = false}
        assert(r.status == 200, "restart: " .. r.status)
        """.write(to: dir.appendingPathComponent("restart.lua"), atomically: true, encoding: .utf8)
        try """
        local lic = console.get("settings/license")
        log.info("license still there: %s", tostring(lic.expiration_date ~= nil))
        """.write(to: dir.appendingPathComponent("read.lua"), atomically: true, encoding: .utf8)
        try await h.clearRequests()
        let run = try await h.run(extraStepsDirs: [dir])
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        XCTAssertEqual(run.step("read-after-restart")?.status, .done, run.output)
        let reqs = try await h.requests()
        let logins = reqs.filter { $0["endpoint"]?.stringValue == "authenticate" }
        XCTAssertEqual(logins.count, 2, "one login, then one more after the 401")
        XCTAssertTrue(reqs.contains { $0["status"]?.intValue == 401 })
        await h.stop()
    }

    func testPlanWritesNothing() async throws {
        let h = try await StepHarness.start()
        _ = try await h.run(only: ["wait", "admin"])
        try await h.clearRequests()
        let plan = try await h.run(values: """
        console:
          options:
            enabled: true
          trustedImages:
            enabled: true
        """, mode: .plan)
        XCTAssertEqual(plan.report.exitCode, 0, plan.output)
        let writes = try await h.writes()
        XCTAssertEqual(writes.count, 0, "plan sent writes: \(writes)")
        XCTAssertTrue(plan.output.contains("    ~ update "), plan.output)
        XCTAssertFalse(plan.report.writes.isEmpty)
        XCTAssertTrue(plan.report.writes.allSatisfy { $0.planned })
        XCTAssertFalse(plan.output.contains(h.licenseKey))
        await h.stop()
    }

    func testPlanOnANewConsoleStopsAfterTheAdmin() async throws {
        let h = try await StepHarness.start()
        let plan = try await h.run(mode: .plan)
        XCTAssertEqual(plan.report.exitCode, 0, plan.output)
        XCTAssertTrue(plan.output.contains("    + create first admin admin (POST /api/v1/signup)"), plan.output)
        let state = try await h.state()
        XCTAssertEqual(state["initialized"]?.boolValue, false)
        await h.stop()
    }

    func testReportJSONHasStepsAndTotals() async throws {
        let h = try await StepHarness.start()
        let file = h.workDir.appendingPathComponent("report.json")
        let run = try await h.run(reportJSON: file)
        XCTAssertEqual(run.report.exitCode, 0)
        let text = try String(contentsOf: file, encoding: .utf8)
        let report = try JSON.parse(text)
        XCTAssertEqual(report["mode"]?.stringValue, "run")
        XCTAssertEqual(report["steps"]?.arrayValue?.first?["name"]?.stringValue, "wait")
        XCTAssertGreaterThan(report["totals"]?["requests"]?.intValue ?? 0, 3)
        XCTAssertFalse(text.contains(StepHarness.adminPassword))
        XCTAssertFalse(text.contains(h.licenseKey))
        await h.stop()
    }
}
