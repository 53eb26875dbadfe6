import ConsoleSimulator
import Foundation
import JSONModel
import TestSupport
import TwistlockInit
import XCTest

/// Secrets (issue 8, docs/reliability.md "Secrets"): the whole job — run, plan, the report
/// file, JSON logs, errors of failed steps (also a custom step that tries to print them),
/// validation errors, the real binary's stdout and stderr — with recognisable secret values,
/// none of which may appear anywhere in what it prints or writes: not as such, not
/// JSON-escaped, not cut in half.
final class HardeningSecretsTests: XCTestCase {
    /// Recognisable secrets, some with characters that escaping changes.
    static let alice = #"Alice"S3cret\Pa55-€-x"#
    static let aliceNew = "Alice-N3w-S3cret-after-rotation"
    static let metrics = "Metr1cs-S3cret-Value-42"
    static let proxy = #"Pr0xy-S3cret"Value\9"#

    var secrets: [String] = []

    /// Every form a secret could take in output: as is, JSON-escaped (inside a quoted
    /// string), and its first and last 16 characters (a secret cut by a truncation).
    func forms(_ secret: String) -> [String] {
        var out = [secret]
        let quoted = JSON.quote(secret)
        out.append(String(quoted.dropFirst().dropLast()))
        if secret.count > 20 {
            out.append(String(secret.prefix(16)))
            out.append(String(secret.suffix(16)))
        }
        return Array(Set(out))
    }

    func assertNoSecret(_ text: String, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        for s in secrets {
            for f in forms(s) where text.contains(f) {
                let at = text.range(of: f).map { text[text.index($0.lowerBound, offsetBy: -min(60, text.distance(from: text.startIndex, to: $0.lowerBound)))..<$0.upperBound] } ?? ""
                XCTFail("\(what) holds a secret (\(f.prefix(6))…): …\(at)", file: file, line: line)
            }
        }
    }

    func prepare(_ h: StepHarness) throws {
        try Self.alice.write(to: h.secretsDir.appendingPathComponent("console.additionalUsers.alice.password"), atomically: true, encoding: .utf8)
        try Self.metrics.write(to: h.secretsDir.appendingPathComponent("monitoring.password"), atomically: true, encoding: .utf8)
        try Self.proxy.write(to: h.secretsDir.appendingPathComponent("defender.proxy.password"), atomically: true, encoding: .utf8)
        secrets = [StepHarness.adminPassword, h.licenseKey, Self.alice, Self.aliceNew, Self.metrics, Self.proxy]
    }

    static let values = Hardening.values(defenders: true)
    /// The Defenders go through a proxy (whose password is a secret).
    static let proxySets = ["defender.proxy.address=http://proxy.example.mil:3128", "defender.proxy.username=proxy-user"]

    /// A custom step that does its best to show every secret it can reach, then fails.
    static let leaky = #"""
    local pw = secret("console.additionalUsers.alice.password")
    log.info("alice's password is %s", pw)
    log.warn("license %s and %q", values.console.license, values.monitoring.password)
    log.info("%s", json.encode(values))
    log.info("%s", json.encode({nested = {deep = {pw}}}, {pretty = true}))
    print("proxy", values.defender.proxy.password, string.format("%q", pw))
    local r = console.request{method = "POST", path = "authenticate", auth = false,
      body = {username = "alice", password = pw}}
    log.info("login as alice: %s", json.encode(r))
    error("failing with " .. values.console.credentials.password .. " / " .. pw .. " / " .. json.encode(values.defender.proxy))
    """#

    func testNoSecretInAnyOutputOrFileOfTheWholeJob() async throws {
        let h = try await StepHarness.start(kube: true, kubeOptions: .init(token: "hardening-token", nodeCount: 1, rolloutPolls: 1))
        try prepare(h)
        var texts: [(String, String)] = []

        // 1. A first run of every step (text), with its report.
        let report1 = h.workDir.appendingPathComponent("report-1.json")
        let run1 = try await h.run(values: Self.values, sets: Self.proxySets, reportJSON: report1)
        XCTAssertEqual(run1.report.exitCode, 0, run1.output)
        texts.append(("run output", run1.output))
        texts.append(("run report", try String(contentsOf: report1, encoding: .utf8)))

        // 2. A plan after the passwords were rotated (users restored with console.updateUsers).
        try Self.aliceNew.write(to: h.secretsDir.appendingPathComponent("console.additionalUsers.alice.password"), atomically: true, encoding: .utf8)
        let report2 = h.workDir.appendingPathComponent("report-2.json")
        let plan = try await h.run(values: Self.values, sets: Self.proxySets + ["console.updateUsers=true"], mode: .plan,
                                   reportJSON: report2)
        XCTAssertEqual(plan.report.exitCode, 0, plan.output)
        XCTAssertTrue(plan.output.contains("    ~ update "), plan.output)
        XCTAssertTrue(plan.output.contains("password"), "the plan shows that the password changes: \(plan.output)")
        texts.append(("plan output", plan.output))
        texts.append(("plan report", try String(contentsOf: report2, encoding: .utf8)))

        // 3. The rotation run with JSON logs and a custom step that tries to leak everything.
        let leaky = try Hardening.customStep(h, name: "leaky", after: "metrics-user", lua: Self.leaky)
        let report3 = h.workDir.appendingPathComponent("report-3.json")
        let run3 = try await h.run(values: Self.values, sets: Self.proxySets + ["console.updateUsers=true"], extraStepsDirs: [leaky],
                                   logFormat: .json, reportJSON: report3)
        XCTAssertEqual(run3.report.exitCode, 1, run3.output)
        XCTAssertEqual(run3.step("leaky")?.status, .failed)
        XCTAssertTrue(run3.step("leaky")?.error?.contains("failing with") ?? false)
        for line in run3.lines { XCTAssertNoThrow(try JSON.parse(line), line) }
        XCTAssertTrue(run3.output.contains("alice's password is"), "the leaky step's lines are there, masked")
        XCTAssertTrue(run3.output.contains("proxy"), "print() goes to the log, masked")
        texts.append(("JSON log", run3.output))
        texts.append(("JSON log report", try String(contentsOf: report3, encoding: .utf8)))
        texts.append(("step error", run3.report.steps.compactMap(\.error).joined(separator: "\n")))

        // 4. Validation errors with secrets in the values and on the command line.
        let badSets = try await h.run(sets: ["console.credentials.password=\(StepHarness.adminPassword)",
                                             "console.credentials.password[x]=\(Self.metrics)"])
        XCTAssertEqual(badSets.report.exitCode, 2, badSets.output)
        texts.append(("--set errors", badSets.output + "\n" + badSets.report.problems.joined(separator: "\n")))
        let invalid = try await h.run(values: """
        console:
          license: \(JSON.quote(h.licenseKey))
          additionalUsers:
            - {username: erin, password: \(JSON.quote(Self.alice)), role: user, authType: ldap}
        monitoring: {enabled: sure, password: \(JSON.quote(Self.metrics))}
        defender: {proxy: {password: [\(JSON.quote(Self.proxy))]}}
        """)
        XCTAssertEqual(invalid.report.exitCode, 2, invalid.output)
        XCTAssertGreaterThanOrEqual(invalid.report.problems.count, 2, "\(invalid.report.problems)")
        texts.append(("validation errors", invalid.output + "\n" + invalid.report.problems.joined(separator: "\n")))

        for (what, text) in texts { assertNoSecret(text, what) }
        await h.stop()
    }

    /// A console whose error message echoes the license key just where the job shortens long
    /// messages: the key is masked whole, not cut into a visible half.
    func testASecretEchoedInALongConsoleErrorIsMaskedBeforeItIsShortened() async throws {
        let h = try await StepHarness.start()
        try prepare(h)
        let key = h.licenseKey
        for (offset, json) in [(250, true), (280, true), (250, false), (270, false), (280, false), (290, false), (299, false)] {
            let fake = try LoopbackHTTPServer { request in
                switch (request.method, request.path) {
                case ("GET", "/api/v1/settings/initialized"): return .init(200, #"{"initialized":true}"#)
                case ("POST", "/api/v1/authenticate"): return .init(200, #"{"token":"fake-token"}"#)
                case ("POST", "/api/v1/settings/license"):
                    let padding = String(repeating: "p", count: offset)
                    let text = "invalid license \(padding) \(key) refused"
                    // A JSON error, or a proxy's plain text (which the job shortens to 300 characters).
                    return json ? .init(400, JSON.object(["err": .string(text)]).encoded()) : .init(400, text, contentType: "text/plain")
                default: return .init(404, #"{"err":"not here"}"#)
                }
            }
            let run = try await h.run(only: ["admin", "license"]) { $0.consoleURL = fake.url }
            fake.stop()
            XCTAssertEqual(run.report.exitCode, 1, run.output)
            let error = run.step("license")?.error ?? ""
            XCTAssertTrue(error.contains("400"), error)
            assertNoSecret(run.output + "\n" + error, "license error at offset \(offset) (\(json ? "JSON" : "text"))")
        }
        await h.stop()
    }

    /// Issue 8, finding 5: the secrets directory as the kubelet mounts it (every key a link into
    /// `..data/`) works end to end; a secret file that is a link leading out of the directory
    /// is refused — through the values (exit 2, nothing sent) and through a step's `secret()`
    /// — naming the file, never showing what it points at.
    func testSecretLinksWorkInsideTheDirectoryAndAreRefusedOutsideIt() async throws {
        let h = try await StepHarness.start()
        let fm = FileManager.default
        // Move the harness's secrets into the kubelet's layout.
        let stamped = h.secretsDir.appendingPathComponent("..2024_05_01_12_00_00.123456789", isDirectory: true)
        try fm.createDirectory(at: stamped, withIntermediateDirectories: true)
        for name in ["console.credentials.password", "console.license"] {
            try fm.moveItem(at: h.secretsDir.appendingPathComponent(name), to: stamped.appendingPathComponent(name))
        }
        try fm.createSymbolicLink(atPath: h.secretsDir.appendingPathComponent("..data").path, withDestinationPath: stamped.lastPathComponent)
        for name in ["console.credentials.password", "console.license"] {
            try fm.createSymbolicLink(atPath: h.secretsDir.appendingPathComponent(name).path, withDestinationPath: "..data/\(name)")
        }
        // A file outside the directory that a link will point at.
        let outsideText = "root:x:0:0:OUTSIDE-5e1f:/root:/bin/bash"
        let outside = h.workDir.appendingPathComponent("passwd")
        try outsideText.write(to: outside, atomically: true, encoding: .utf8)
        let reader = try Hardening.customStep(h, name: "reader", after: "license", lua: """
        log.info("token has %d characters", #secret("token"))
        """)
        try "tok-123".write(to: stamped.appendingPathComponent("token"), atomically: true, encoding: .utf8)
        try fm.createSymbolicLink(atPath: h.secretsDir.appendingPathComponent("token").path, withDestinationPath: "..data/token")
        let ok = try await h.run(extraStepsDirs: [reader])
        XCTAssertEqual(ok.report.exitCode, 0, ok.output)
        XCTAssertTrue(ok.output.contains("token has 7 characters"), ok.output)

        // secret() of a link leading out: the step fails naming the secret.
        try fm.removeItem(at: h.secretsDir.appendingPathComponent("token"))
        try fm.createSymbolicLink(atPath: h.secretsDir.appendingPathComponent("token").path, withDestinationPath: outside.path)
        let refused = try await h.run(extraStepsDirs: [reader])
        XCTAssertEqual(refused.report.exitCode, 1, refused.output)
        let error = refused.step("reader")?.error ?? ""
        XCTAssertTrue(error.contains("secret \"token\""), error)
        XCTAssertTrue(error.contains("is a link that points outside the secrets directory"), error)
        XCTAssertFalse(refused.output.contains("OUTSIDE-5e1f") || error.contains("OUTSIDE-5e1f"), refused.output)

        // A values secret (the license) linked out through ..data: invalid input, nothing sent.
        try fm.removeItem(at: stamped.appendingPathComponent("console.license"))
        try fm.createSymbolicLink(atPath: stamped.appendingPathComponent("console.license").path, withDestinationPath: outside.path)
        try await h.clearRequests()
        let invalid = try await h.run()
        XCTAssertEqual(invalid.report.exitCode, 2, invalid.output)
        XCTAssertTrue(invalid.report.problems.contains { $0.contains("secret \"console.license\"") && $0.contains("points outside the secrets directory") },
                      "\(invalid.report.problems)")
        XCTAssertFalse(invalid.output.contains("OUTSIDE-5e1f"), invalid.output)
        let sent = try await h.requests()
        XCTAssertTrue(sent.isEmpty, "nothing sent: \(sent.count) requests")
        await h.stop()
    }

    /// The real binary: stdout, stderr and the report file of a run whose custom step tries
    /// to leak, in text and in JSON.
    func testTheBinarysOutputAndReportHoldNoSecret() async throws {
        let binary = try HardeningSignalTests.binary()
        let h = try await StepHarness.start()
        try prepare(h)
        let leaky = try Hardening.customStep(h, name: "leaky", after: "metrics-user", lua: Self.leaky)
        let base = h.workDir.appendingPathComponent("cli-base.yaml")
        try StepHarness.baseValues.write(to: base, atomically: true, encoding: .utf8)
        let values = h.workDir.appendingPathComponent("cli-values.yaml")
        try Hardening.values().write(to: values, atomically: true, encoding: .utf8)
        for format in ["text", "json"] {
            let report = h.workDir.appendingPathComponent("cli-report-\(format).json")
            let process = Process()
            process.executableURL = binary
            process.arguments = ["run", "-f", base.path, "-f", values.path, "--secrets-dir", h.secretsDir.path,
                                 "--console-url", h.consoleURL, "--builtin-steps", StepHarness.projectSteps.path,
                                 "--steps-dir", leaky.path, "--report-json", report.path, "--log-format", format]
                + Self.proxySets.flatMap { ["--set", $0] }
            let out = Pipe(), err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            // Read both pipes to the end (a full pipe would block the process).
            async let stdout = Task.detached { out.fileHandleForReading.readDataToEndOfFile() }.value
            async let stderr = Task.detached { err.fileHandleForReading.readDataToEndOfFile() }.value
            let (o, e) = await (stdout, stderr)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 1, String(decoding: o + e, as: UTF8.self))
            let stdoutText = String(decoding: o, as: UTF8.self)
            XCTAssertTrue(stdoutText.contains("failing with"), stdoutText)
            assertNoSecret(stdoutText, "\(format) stdout")
            assertNoSecret(String(decoding: e, as: UTF8.self), "\(format) stderr")
            assertNoSecret(try String(contentsOf: report, encoding: .utf8), "\(format) report")
        }
        await h.stop()
    }
}
