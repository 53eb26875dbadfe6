import Foundation
import JSONModel
import TwistlockInit
import XCTest

/// Issue 16: diff paths are components, not text parsed back. Which changes are masked is
/// decided from the path's field names (object keys, identity fields), so a field name holding
/// a quote or a backslash is still found, and the value naming an element is not a field name.
final class DiffPathTests: XCTestCase {
    private func plan(_ h: StepHarness, _ lua: String) async throws -> StepHarness.Run {
        // A console the job has set up (plan mode reads it; a fresh console stops the plan).
        _ = try await h.run(only: ["wait", "admin", "license"])
        let dir = try Hardening.customStep(h, name: "paths", after: "license", lua: lua)
        return try await h.run(mode: .plan, only: ["wait", "admin", "license", "paths"], extraStepsDirs: [dir])
    }

    func testSensitiveFieldNamesWithQuotesAndBackslashesAreMasked() async throws {
        let h = try await StepHarness.start()
        for (name, key) in [("quote", #"api"key"#), ("backslash", #"a\b"#), ("brackets", #"x"].y["#), ("dotted", "client.secret")] {
            let luaKey = "\"" + key.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
            let run = try await plan(h, """
            local body = {settings = {[\(luaKey)] = "value-\(name)-4f9a"}, other = "plain"}
            console.put("settings/custom-\(name)", body, {before = {settings = {[\(luaKey)] = "old-\(name)-77c1"}, other = "plain"},
                                                         sensitive = {\(luaKey)}, object = "custom \(name)"})
            """)
            XCTAssertEqual(run.step("paths")?.status, .done, "\(name): \(run.output)")
            XCTAssertTrue(run.output.contains("custom \(name)"), "\(name): \(run.output)")
            XCTAssertFalse(run.output.contains("value-\(name)-4f9a"), "\(name): the new value is shown: \(run.output)")
            XCTAssertFalse(run.output.contains("old-\(name)-77c1"), "\(name): the old value is shown: \(run.output)")
            XCTAssertTrue(run.output.contains(Redactor.mask), "\(name): \(run.output)")
        }
        await h.stop()
    }

    func testAnElementNamedLikeASensitiveFieldIsNotMaskedButItsSensitiveFieldsAre() async throws {
        let h = try await StepHarness.start()
        let run = try await plan(h, """
        local before = {rules = {{name = "password", effect = "alert"}, {name = "token", effect = "alert", key = "k-old-5521"}}}
        local after = {rules = {{name = "password", effect = "block"}, {name = "token", effect = "alert", key = "k-new-9933"}}}
        console.put("policies/custom-paths", after, {before = before, object = "rules"})
        """)
        XCTAssertEqual(run.step("paths")?.status, .done, run.output)
        // The effect of the rule named "password" is not a password.
        XCTAssertTrue(run.output.contains(#"rules[name="password"].effect: "alert" → "block""#), run.output)
        // The key field of the rule named "token" is.
        XCTAssertTrue(run.output.contains(#"rules[name="token"].key"#), run.output)
        XCTAssertFalse(run.output.contains("k-old-5521"), run.output)
        XCTAssertFalse(run.output.contains("k-new-9933"), run.output)
        await h.stop()
    }
}
