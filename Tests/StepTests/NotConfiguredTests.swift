import Foundation
import JSONModel
import TwistlockInit
import XCTest

/// A refused login exits 0 by default (like the old job, for first installs), but the last line
/// cannot be missed and the report says `"configured": false` at its top level (issue 15).
final class NotConfiguredTests: XCTestCase {
    func report(_ file: URL) throws -> JSON { try JSON.parse(String(contentsOf: file, encoding: .utf8)) }

    func testAWrongPasswordExitsZeroWithALoudLastLineAndConfiguredFalse() async throws {
        let h = try await StepHarness.start()
        let ok = h.workDir.appendingPathComponent("ok.json")
        let first = try await h.run(reportJSON: ok)
        XCTAssertEqual(first.report.exitCode, 0, first.output)
        XCTAssertEqual(try report(ok)["configured"], .bool(true))
        XCTAssertFalse(first.output.contains("NOT CONFIGURED"), first.output)

        try "Wr0ng-Pa55word".write(to: h.secretsDir.appendingPathComponent("console.credentials.password"), atomically: true, encoding: .utf8)
        let file = h.workDir.appendingPathComponent("refused.json")
        let refused = try await h.run(values: "console: {options: {enabled: true}}", reportJSON: file)
        XCTAssertEqual(refused.report.exitCode, 0, refused.output)
        XCTAssertEqual(try report(file)["configured"], .bool(false))
        let last = refused.lines.last ?? ""
        XCTAssertTrue(last.hasPrefix("✘✘ NOT CONFIGURED: the console refused the credentials of admin"), last)
        XCTAssertTrue(last.contains("init.strict"), last)
        XCTAssertFalse(refused.output.contains("Wr0ng-Pa55word"))

        // JSON logs: the last line is a typed event.
        let json = try await h.run(logFormat: .json)
        let event = try JSON.parse(json.lines.last ?? "")
        XCTAssertEqual(event["event"]?.stringValue, "not-configured", json.lines.last ?? "")

        // --strict: exit 3, the report says the same.
        let strictFile = h.workDir.appendingPathComponent("strict.json")
        let strict = try await h.run(strict: true, reportJSON: strictFile)
        XCTAssertEqual(strict.report.exitCode, 3, strict.output)
        XCTAssertEqual(try report(strictFile)["configured"], .bool(false))
        await h.stop()
    }

    /// The same class, another way: no license installed and none given stops the run (exit 0)
    /// — also not configured, also said last.
    func testNoLicenseIsNotConfiguredEither() async throws {
        let h = try await StepHarness.start(license: false)
        let file = h.workDir.appendingPathComponent("report.json")
        let run = try await h.run(reportJSON: file)
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        XCTAssertEqual(try report(file)["configured"], .bool(false))
        XCTAssertTrue((run.lines.last ?? "").hasPrefix("✘✘ NOT CONFIGURED: no license is installed"), run.lines.last ?? "")
        // A plan's report has no "configured" (it configures nothing by design).
        let planFile = h.workDir.appendingPathComponent("plan.json")
        _ = try await h.run(mode: .plan, reportJSON: planFile)
        XCTAssertNil(try report(planFile)["configured"])
        await h.stop()
    }
}
