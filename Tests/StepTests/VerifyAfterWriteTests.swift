import ConsoleSimulator
import Foundation
import JSONModel
import TwistlockInit
import XCTest

/// Verify after write (issue 12, docs/step-api.md): what a step wrote is read back once per
/// endpoint after the step, and a field the console did not keep is reported on the write,
/// recorded in the report and counted; `--strict` fails the step; plan mode skips the check.
final class VerifyAfterWriteTests: XCTestCase {
    /// Writes the console drops part of: a misspelt field, a field in the wrong case (Go stores
    /// it under the schema's name), an unknown field inside a runtime rule added with POST, an
    /// unknown field of a user, an unknown object holding a key and the admin's password.
    static let lua = """
    local logon = console.get("settings/logon")
    local body = json.decode(json.encode(logon))
    body.sessionTimoutSec = 600
    body.StrongPassword = true
    body.extra = { apikey = "Very-Secret-Value-123", note = values.console.credentials.password }
    console.post("settings/logon", body, { before = logon, object = "logon settings" })
    console.post("policies/runtime/container", {
      name = "custom-rule", collections = { { name = "All" } }, frobnicate = true,
    }, { object = "runtime rule custom-rule" })
    console.post("users", { username = "erin", role = "auditor", authType = "ldap", shoeSize = 44 }, { object = "user erin" })
    console.post("users", { username = "frank", role = "auditor", authType = "ldap" }, { object = "user frank" })
    """

    func testFieldsTheConsoleDidNotKeepAreReportedRecordedCountedAndMaskedOnce() async throws {
        let h = try await StepHarness.start()
        let dir = try Hardening.customStep(h, name: "custom", after: "admin", lua: Self.lua)
        let report = h.workDir.appendingPathComponent("report.json")
        try await h.clearRequests()
        let run = try await h.run(extraStepsDirs: [dir], reportJSON: report)
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        let out = run.output
        for line in [
            "logon settings (POST /api/v1/settings/logon) not kept by the console: sessionTimoutSec (sent 600, console has nothing)",
            "logon settings (POST /api/v1/settings/logon) not kept by the console: StrongPassword (sent true, console has nothing)",
            "runtime rule custom-rule (POST /api/v1/policies/runtime/container) not kept by the console: frobnicate (sent true, console has nothing)",
            "user erin (POST /api/v1/users) not kept by the console: shoeSize (sent 44, console has nothing)",
        ] {
            XCTAssertTrue(out.contains(line), "missing: \(line)\n\(out)")
        }
        XCTAssertTrue(out.contains("not kept by the console: extra (sent {"), out)
        XCTAssertFalse(out.contains("user frank (POST /api/v1/users) not kept"), "frank was kept whole")
        XCTAssertFalse(out.contains("Very-Secret-Value-123"), "a key in the output")
        XCTAssertFalse(out.contains(StepHarness.adminPassword), "the admin password in the output")
        XCTAssertTrue(out.contains("5 fields not kept by the console"), out)
        XCTAssertEqual(run.step("custom")?.notKept, 5)

        // One GET per endpoint written (settings/logon, the runtime policy, users), after the step.
        let gets = h.sim.requests.filter { $0.method == "GET" }.map(\.endpoint)
        XCTAssertEqual(gets.filter { $0 == "users" }.count, 1, "\(gets)")
        XCTAssertEqual(gets.filter { $0 == "policies/runtime/container" }.count, 1, "\(gets)")
        XCTAssertEqual(gets.filter { $0 == "settings/logon" }.count, 2, "the step's own read and the check: \(gets)")

        let text = try String(contentsOf: report, encoding: .utf8)
        XCTAssertFalse(text.contains("Very-Secret-Value-123") || text.contains(StepHarness.adminPassword), "a secret in the report")
        let json = try JSON.parse(text)
        XCTAssertEqual(json["totals"]?["notKept"]?.intValue, 5)
        let writes = json["writes"]?.arrayValue ?? []
        let logon = writes.first { $0["object"]?.stringValue == "logon settings" }
        let paths = (logon?["notKept"]?.arrayValue ?? []).compactMap { $0["path"]?.stringValue }
        XCTAssertEqual(paths, ["StrongPassword", "extra", "sessionTimoutSec"])
        let typo = logon?["notKept"]?.arrayValue?.first { $0["path"]?.stringValue == "sessionTimoutSec" }
        XCTAssertEqual(typo?["sent"]?.intValue, 600)
        XCTAssertEqual(typo?["got"], .null)
        let extra = logon?["notKept"]?.arrayValue?.first { $0["path"]?.stringValue == "extra" }
        XCTAssertEqual(extra?["sent"]?["apikey"]?.stringValue, Redactor.mask)
        XCTAssertNil(writes.first { $0["object"]?.stringValue == "user frank" }?["notKept"])
        await h.stop()
    }

    func testStrictFailsTheStepAndPlanModeSkipsTheCheck() async throws {
        let h = try await StepHarness.start()
        let dir = try Hardening.customStep(h, name: "custom", after: "admin", lua: Self.lua)
        try await h.clearRequests()
        let plan = try await h.run(mode: .plan, extraStepsDirs: [dir])
        XCTAssertEqual(plan.report.exitCode, 0, plan.output)
        XCTAssertFalse(plan.output.contains("not kept"), plan.output)
        XCTAssertEqual(h.sim.requests.filter { $0.method == "GET" && $0.endpoint == "users" }.count, 0)

        let strict = try await h.run(extraStepsDirs: [dir], strict: true)
        XCTAssertEqual(strict.report.exitCode, 1, strict.output)
        XCTAssertEqual(strict.step("custom")?.status, .failed)
        XCTAssertEqual(strict.step("custom")?.error, "step \"custom\": the console did not keep 5 fields it was sent (--strict)")
        XCTAssertEqual(strict.step("license")?.status, .notRun, "the steps after it do not run")
        await h.stop()
    }

    func testACustomStepWritingAFieldTheConsoleIgnoresIsToldOnItsFirstRun() async throws {
        let h = try await StepHarness.start()
        let lua = """
        local current = console.get("settings/scan")
        local body = json.decode(json.encode(current))
        body.scanRunningImage = true  -- the console's field is scanRunningImages
        console.post("settings/scan", body, { before = current, object = "scan settings" })
        """
        let dir = try Hardening.customStep(h, name: "scan", after: "license", lua: lua)
        let run = try await h.run(extraStepsDirs: [dir])
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        XCTAssertTrue(run.output.contains("scan settings (POST /api/v1/settings/scan) not kept by the console: scanRunningImage (sent true, console has nothing)"), run.output)
        XCTAssertTrue(run.output.contains("a step that forces them writes them again on every run"), run.output)
        await h.stop()
    }
}
