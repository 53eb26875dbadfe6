import Foundation
import JobConfig
import JSONModel
import XCTest

/// The README's CI snippet (the `.gitlab-ci.yml` block: `plan --detailed-exitcode -o plan.json`)
/// taken from README.md as written and its `script:` lines run the way GitLab runs them (one
/// bash session, stopping at the first failing line) against the simulated console, so the
/// README stays true: a converged console passes with plan.json written, a drifted one prints
/// the message and still passes, an unreachable one fails the job.
final class READMECISnippetTests: XCTestCase {
    /// The `script:` lines of the README's `.gitlab-ci.yml` block, as YAML reads them.
    static func ciScript() throws -> [String] {
        let text = try String(contentsOf: DocExamplesTests.root.appendingPathComponent("README.md"), encoding: .utf8)
        let lines = text.components(separatedBy: "\n")
        guard let start = lines.firstIndex(where: { $0 == "# .gitlab-ci.yml" }), start > 0, lines[start - 1].hasPrefix("```yaml") else {
            XCTFail("README.md has no ```yaml block starting with # .gitlab-ci.yml")
            return []
        }
        var body: [String] = []
        var i = start
        while i < lines.count, !lines[i].hasPrefix("```") { body.append(lines[i]); i += 1 }
        let document = try XCTUnwrap(try ValuesYAML.parse(text: body.joined(separator: "\n"), source: "README.md .gitlab-ci.yml"))
        guard case .object(let jobs) = document, jobs.count == 1, case .object(let job)? = jobs.values.first,
              case .array(let script)? = job["script"] else {
            XCTFail("the README's .gitlab-ci.yml block has no job with a script: list")
            return []
        }
        return script.compactMap(\.stringValue)
    }

    struct Outcome {
        let status: Int32
        let output: String
        let planJSON: JSON?
    }

    /// Runs `script` in a fresh directory holding `values.yaml`, with `twistlock-init` on the PATH.
    func runScript(_ script: [String], values: String, secretsDir: URL, consoleURL: String) throws -> Outcome {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ci-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try values.write(to: dir.appendingPathComponent("values.yaml"), atomically: true, encoding: .utf8)
        let binary = try HardeningSignalTests.binary()
        // GitLab's runner: the lines in one shell, the job failing at the first line that fails.
        let shell = "set -e\n" + script.joined(separator: "\n") + "\n"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", shell]
        process.currentDirectoryURL = dir
        var env = ProcessInfo.processInfo.environment
        env["PATH"] = binary.deletingLastPathComponent().path + ":" + (env["PATH"] ?? "/usr/bin:/bin")
        env["SECRETS_DIR"] = secretsDir.path
        env["CONSOLE_URL"] = consoleURL
        env["TWISTLOCK_INIT_STEPS"] = StepHarness.projectSteps.path
        env["KUBECONFIG"] = nil
        env["TWISTLOCK_CONSOLE_URL"] = nil
        process.environment = env
        let out = dir.appendingPathComponent("ci.log")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        let handle = try FileHandle(forWritingTo: out)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            process.terminate()
            XCTFail("the CI script did not end within 60 s")
        }
        process.waitUntilExit()
        try handle.close()
        let plan = dir.appendingPathComponent("plan.json")
        let planJSON = (try? Data(contentsOf: plan)).flatMap { try? JSON.parse(bytes: [UInt8]($0)) }
        return Outcome(status: process.terminationStatus,
                       output: (try? String(contentsOf: out, encoding: .utf8)) ?? "", planJSON: planJSON)
    }

    func testTheREADMEsCISnippetPassesFlagsDriftAndFailsOnErrors() async throws {
        let script = try Self.ciScript()
        XCTAssertTrue(script.contains { $0.contains("twistlock-init plan") && $0.contains("--detailed-exitcode") && $0.contains("-o plan.json") },
                      "\(script)")
        let h = try await StepHarness.start()
        let mine = "console:\n  groups:\n    - {group: ci-admins, role: admin}\n"
        let values = StepHarness.baseValues.replacingOccurrences(of: "console:\n", with: "console:\n  groups:\n    - {group: ci-admins, role: admin}\n")
        XCTAssertNotEqual(values, StepHarness.baseValues)
        let converge = try await h.run(values: mine)
        XCTAssertEqual(converge.report.exitCode, 0, converge.output)
        let drift = "the console differs from values.yaml (see plan.json)"

        // Converged: the job passes, plan.json is written and shows nothing to change.
        let clean = try runScript(script, values: values, secretsDir: h.secretsDir, consoleURL: h.consoleURL)
        XCTAssertEqual(clean.status, 0, clean.output)
        XCTAssertFalse(clean.output.contains(drift), clean.output)
        let cleanPlan = try XCTUnwrap(clean.planJSON, "plan.json written: \(clean.output)")
        XCTAssertEqual(cleanPlan["writes"]?.arrayValue?.count, 0, cleanPlan.encoded())
        XCTAssertEqual(cleanPlan["summary"]?["update"]?.intValue, 0, cleanPlan.encoded())

        // Drifted (someone demoted the group): the message, and the job still passes.
        let (status, _) = try await h.api("PUT", "groups/ci-admins", ["groupName": "ci-admins", "role": "auditor", "oidcGroup": true])
        XCTAssertEqual(status, 200)
        let drifted = try runScript(script, values: values, secretsDir: h.secretsDir, consoleURL: h.consoleURL)
        XCTAssertEqual(drifted.status, 0, drifted.output)
        XCTAssertTrue(drifted.output.contains(drift), drifted.output)
        let driftPlan = try XCTUnwrap(drifted.planJSON, "plan.json written: \(drifted.output)")
        XCTAssertEqual(driftPlan["summary"]?["update"]?.intValue, 1, driftPlan.encoded())
        XCTAssertEqual(driftPlan["writes"]?.arrayValue?.count, 1, driftPlan.encoded())
        XCTAssertTrue(driftPlan["writes"]?.encoded().contains("ci-admins") ?? false, driftPlan.encoded())
        // Invalid values (a negative timeout): the job fails too.
        let invalid = try runScript(script, values: values.replacingOccurrences(of: "waitTimeoutSeconds: 20", with: "waitTimeoutSeconds: -5"),
                                    secretsDir: h.secretsDir, consoleURL: h.consoleURL)
        XCTAssertEqual(invalid.status, 1, invalid.output)
        XCTAssertTrue(invalid.output.contains("init.waitTimeoutSeconds"), invalid.output)
        XCTAssertFalse(invalid.output.contains(drift), invalid.output)
        let secrets = FileManager.default.temporaryDirectory.appendingPathComponent("ci-secrets-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: h.secretsDir, to: secrets)
        defer { try? FileManager.default.removeItem(at: secrets) }
        await h.stop()

        // The console unreachable: the job fails (exit 1), without the drift message.
        let gone = try runScript(script, values: values.replacingOccurrences(of: "waitTimeoutSeconds: 20", with: "waitTimeoutSeconds: 1"),
                                 secretsDir: secrets, consoleURL: h.consoleURL)
        XCTAssertEqual(gone.status, 1, gone.output)
        XCTAssertFalse(gone.output.contains(drift), gone.output)
        XCTAssertTrue(gone.output.contains(h.consoleURL), "names the console: \(gone.output)")
    }
}
