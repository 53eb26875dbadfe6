import Foundation
import JSONModel
import TestSupport
import TwistlockInit
import XCTest

/// The README's custom step and docs/step-api.md's worked examples, taken from the documents
/// as written and run against the simulated console twice: each does what its text says, the
/// console keeps every field it sends (no conformance finding), and the second run writes
/// nothing (issue 15).
final class DocExamplesTests: XCTestCase {
    static let root = Project.root

    /// The fenced blocks of `document` whose first line names a file in a steps directory
    /// (`# dir/manifest.yaml`, `-- dir/step.lua`), written out under `into`; the directories.
    static func examples(_ document: String, into: URL) throws -> [String: URL] {
        let text = try String(contentsOf: root.appendingPathComponent(document), encoding: .utf8)
        var dirs: [String: URL] = [:]
        let lines = text.components(separatedBy: "\n")
        var i = 0
        while i < lines.count {
            guard lines[i].hasPrefix("```yaml") || lines[i].hasPrefix("```lua") else { i += 1; continue }
            var body: [String] = []
            i += 1
            while i < lines.count, !lines[i].hasPrefix("```") { body.append(lines[i]); i += 1 }
            i += 1
            guard let first = body.first else { continue }
            let name = first.hasPrefix("# ") ? String(first.dropFirst(2)) : first.hasPrefix("-- ") ? String(first.dropFirst(3)) : ""
            let parts = name.split(separator: "/")
            guard parts.count == 2, name.hasSuffix(".lua") || name.hasSuffix("manifest.yaml") else { continue }
            let dir = into.appendingPathComponent(String(parts[0]))
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try body.joined(separator: "\n").write(to: dir.appendingPathComponent(String(parts[1])), atomically: true, encoding: .utf8)
            dirs[String(parts[0])] = dir
        }
        return dirs
    }

    func writes(_ run: StepHarness.Run, _ step: String) -> [WriteRecord] { run.report.writes.filter { $0.step == step } }

    func testTheREADMEsCustomStepIsIdempotent() async throws {
        let h = try await StepHarness.start()
        let dirs = try Self.examples("README.md", into: h.workDir.appendingPathComponent("readme"))
        let dir = try XCTUnwrap(dirs["my-steps"], "README.md has no my-steps example")
        let values = "console: {options: {enabled: true}}"
        let first = try await h.run(values: values, extraStepsDirs: [dir])
        XCTAssertEqual(first.report.exitCode, 0, first.output)
        XCTAssertEqual(first.step("session-timeout")?.status, .done, first.output)
        XCTAssertEqual(writes(first, "session-timeout").flatMap { $0.changes.map(\.path) }, ["sessionTimeoutSec"], first.output)
        let state = try await h.state()
        XCTAssertEqual(state["settings"]?["logon"]?["sessionTimeoutSec"]?.intValue, 3600)
        let second = try await h.run(values: values, extraStepsDirs: [dir])
        XCTAssertEqual(second.step("session-timeout")?.writes, 0, second.output)
        let findings = try await h.findings()
        XCTAssertEqual(findings, [], "the console dropped or refused a field")
        await h.stop()
    }

    func testTheWorkedExamplesOfTheStepAPIDoWhatTheySay() async throws {
        let h = try await StepHarness.start()
        let dirs = try Self.examples("docs/step-api.md", into: h.workDir.appendingPathComponent("docs"))
        XCTAssertEqual(Set(dirs.keys), ["example-setting", "example-groups", "example-check"])
        let all = ["example-setting", "example-groups", "example-check"].compactMap { dirs[$0] }
        let values = "console: {groups: [{group: platform-admins, role: admin}]}"
        _ = try await h.run(values: values)
        // Someone made a second admin with a local password: the check warns about it.
        let (status, _) = try await h.api("POST", "users", .object([
            "username": .string("carol"), "password": .string("Car0l-Pa55word-local"),
            "role": .string("admin"), "authType": .string("basic")]))
        XCTAssertEqual(status, 200)

        let first = try await h.run(values: values, extraStepsDirs: all)
        XCTAssertEqual(first.report.exitCode, 0, first.output)
        XCTAssertEqual(writes(first, "scan-retention").count, 1, first.output)
        let scanPaths = Set(writes(first, "scan-retention").flatMap { $0.changes.map(\.path) })
        XCTAssertFalse(scanPaths.isEmpty)
        XCTAssertTrue(scanPaths.isSubset(of: ["registryScanRetentionDays", "showNegligibleVulnerabilities"]), "\(scanPaths)")
        XCTAssertEqual(writes(first, "auditor-groups").map(\.object), ["group auditors-emea", "group auditors-apac"], first.output)
        XCTAssertEqual(writes(first, "local-admins").count, 0)
        XCTAssertTrue(first.output.contains("⚠ [local-admins] 1 admin log in with a local password (carol)"), first.output)

        let state = try await h.state()
        XCTAssertEqual(state["settings"]?["scan"]?["registryScanRetentionDays"]?.intValue, 30)
        XCTAssertEqual(state["settings"]?["scan"]?["showNegligibleVulnerabilities"]?.boolValue, false)
        let groups = (state["groups"]?.arrayValue ?? []).compactMap { $0["groupName"]?.stringValue }
        XCTAssertTrue(groups.contains("auditors-emea") && groups.contains("auditors-apac"), "\(groups)")

        let second = try await h.run(values: values, extraStepsDirs: all)
        XCTAssertEqual(second.report.exitCode, 0, second.output)
        for step in ["scan-retention", "auditor-groups", "local-admins"] {
            XCTAssertEqual(writes(second, step).count, 0, "\(step): \(second.output)")
        }
        XCTAssertTrue(second.output.contains("group auditors-emea exists; left as it is"), second.output)
        let findings = try await h.findings()
        XCTAssertEqual(findings, [], "the console dropped or refused a field")
        await h.stop()
    }
}
