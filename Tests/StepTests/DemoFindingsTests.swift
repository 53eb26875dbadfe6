import Foundation
import XCTest

/// `twistlock-demo` tells a step author what the simulated console found in their requests —
/// fields it would drop, wrong types — per request, at the end of the run (issue 15).
final class DemoFindingsTests: XCTestCase {
    static func demoBinary() throws -> String {
        let init_ = try HardeningSignalTests.binary()
        let demo = init_.deletingLastPathComponent().appendingPathComponent("twistlock-demo")
        guard FileManager.default.isExecutableFile(atPath: demo.path) else { throw XCTSkip("twistlock-demo is not built") }
        return demo.path
    }

    func steps(_ lua: [(String, String)]) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("demo-steps-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var manifest = "steps:\n"
        for (name, source) in lua {
            manifest += "  - name: \(name)\n    file: \(name).lua\n    description: a demo test step\n    when: init.enabled\n    after: license\n"
            try source.write(to: dir.appendingPathComponent("\(name).lua"), atomically: true, encoding: .utf8)
        }
        try manifest.write(to: dir.appendingPathComponent("manifest.yaml"), atomically: true, encoding: .utf8)
        return dir
    }

    func testTheDemoListsDroppedFieldsAndWrongTypesPerRequest() throws {
        let demo = try Self.demoBinary()
        let dir = try steps([
            ("banner", """
            local current = console.get("settings/logon")
            local desired = json.copy(current)
            desired.banner = "Authorized use only"
            console.post("settings/logon", desired, {before = current, object = "logon settings"})
            """),
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLIRun.run(["--once", "--steps-dir", dir.path, "--builtin-steps", StepHarness.projectSteps.path],
                               seconds: 120, executable: demo)
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.stdout.contains("The simulated console found 1 problem in 1 request"), r.stdout)
        XCTAssertTrue(r.stdout.contains("  POST /api/v1/settings/logon → 200"), r.stdout)
        XCTAssertTrue(r.stdout.contains("    ✘ banner: not a field of the console's object (types.LogonSettings): the console drops it"), r.stdout)

        // A wrong type: the console refuses the request, the step fails — still listed.
        let typed = try steps([("timeout", """
            console.post("settings/logon", {sessionTimeoutSec = "an hour"}, {object = "logon settings"})
            """)])
        defer { try? FileManager.default.removeItem(at: typed) }
        let t = try CLIRun.run(["--once", "--steps-dir", typed.path, "--builtin-steps", StepHarness.projectSteps.path],
                               seconds: 120, executable: demo)
        XCTAssertEqual(t.status, 1, t.output)
        XCTAssertTrue(t.stdout.contains("    ✘ sessionTimeoutSec: wrong type (types.LogonSettings): the console refuses the request"), t.stdout)

        // The job's own steps: nothing to object to.
        let clean = try CLIRun.run(["--once", "--builtin-steps", StepHarness.projectSteps.path], seconds: 120, executable: demo)
        XCTAssertEqual(clean.status, 0, clean.output)
        XCTAssertTrue(clean.stdout.contains("The simulated console found nothing to object to"), clean.stdout)
    }
}
