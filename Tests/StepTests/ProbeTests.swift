import ConsoleSimulator
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import JSONModel
import TwistlockInit
import XCTest

/// `twistlock-init probe` (issue 18, docs/console-variants.md): against the simulator run with
/// each console variant, with several at once and with none, the probe reports exactly the
/// variants in force; without --scratch it writes nothing; with --scratch the console's state
/// is as before, also after an error and after SIGTERM to the real binary mid-probe.
final class ProbeTests: XCTestCase {
    /// A console with `variants`, signed up (the admin of the harness), licensed when `license`.
    func console(_ variants: [String], license: Bool = false) async throws -> StepHarness {
        var options = SimulatorOptions()
        options.catalogSize = ComplianceCatalog.minimumSize
        options.variants = variants
        let h = try await StepHarness.start(options: options)
        let status = try await h.send("POST", "/api/v1/signup",
                                      ["username": .string(StepHarness.adminUser), "password": .string(StepHarness.adminPassword)])
        XCTAssertEqual(status, 200)
        if license {
            let (s, _) = try await h.api("POST", "settings/license", ["key": .string(h.licenseKey)])
            XCTAssertEqual(s, 200)
        }
        try await h.clearRequests()
        return h
    }

    struct Probed {
        let report: ProbeReport
        let lines: [String]
        var output: String { lines.joined(separator: "\n") }
        func finding(_ family: String) -> ProbeFinding? { report.findings.first { $0.family == family } }
    }

    /// Runs the probe in-process (on its own thread: it blocks) against the harness's console.
    func probe(_ h: StepHarness, scratch: Bool, retries: Int = 2,
               during: ((ConsoleProbe) -> Void)? = nil) async throws -> Probed {
        try await ProbeTests.runProbe(h, scratch: scratch, retries: retries, during: during)
    }

    /// `probe` without the test case (for `async let`: the test case itself is not Sendable).
    static func runProbe(_ h: StepHarness, scratch: Bool, retries: Int = 2,
                         during: ((ConsoleProbe) -> Void)? = nil) async throws -> Probed {
        var connection = ConsoleConnection(baseURL: h.consoleURL)
        connection.maxRetries = retries
        connection.backoffBase = 0.01
        connection.requestTimeout = 10
        let probe = try ConsoleProbe(options: ProbeOptions(connection: connection, username: StepHarness.adminUser,
                                                           password: StepHarness.adminPassword, scratch: scratch),
                                     redactor: Redactor())
        let lines = LineSink()
        probe.onLine = { lines.append($0) }
        let report = await withCheckedContinuation { (c: CheckedContinuation<ProbeReport, Never>) in
            DispatchQueue.global().async { c.resume(returning: probe.run()) }
        }
        return Probed(report: report, lines: lines.all)
    }

    final class LineSink: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: [String] = []
        func append(_ s: String) { lock.withLock { stored.append(s) } }
        var all: [String] { lock.withLock { stored } }
    }

    /// The state without times and password hashes (as the Hardening tests compare it).
    func comparable(_ h: StepHarness) async throws -> JSON { Hardening.normalized(try await h.state()) }

    /// The variant sets the probe is run against: none, each non-default variant alone, one of
    /// each family at once, and the other answers of the two three-way families together.
    static var variantSets: [[String]] {
        [[]] + ConsoleVariants.all.filter { !$0.isDefault }.map { [$0.name] }
            + [ConsoleVariants.allCompatible, ["license-empty", "duplicate-500", "zero-filled", "strict-policy"]]
    }

    // MARK: - Which variant

    func testScratchProbeReportsExactlyTheVariantsInForceAndLeavesTheConsoleAsBefore() async throws {
        for variants in Self.variantSets {
            let h = try await console(variants)
            let before = try await comparable(h)
            let p = try await probe(h, scratch: true)
            let label = variants.isEmpty ? "no variant" : variants.joined(separator: ", ")
            XCTAssertEqual(p.report.matchedVariants.sorted(), variants.sorted(), "\(label):\n\(p.output)")
            for f in p.report.findings {
                XCTAssertTrue([.defaultAnswer, .variant].contains(f.outcome), "\(label): \(f.family) \(f.outcome) \(f.note)")
                XCTAssertFalse(f.evidence.isEmpty, "\(label): \(f.family) without evidence")
            }
            XCTAssertEqual(p.report.findings.map(\.family), ConsoleVariants.families.map(\.name))
            XCTAssertEqual(p.report.exitCode, 0, "\(label):\n\(p.output)")
            XCTAssertEqual(p.report.leftovers, [], label)
            XCTAssertEqual(p.report.differences, [], label)
            let after = try await comparable(h)
            XCTAssertEqual(after, before, "\(label): \(Hardening.differences(before, after))")
            // The probe's requests are ones the console takes as meant.
            let findings = try await h.findings()
            XCTAssertEqual(findings, [], label)

            // The report is a simulator profile: read back, it switches on the same variants.
            let text = p.report.json.encoded(pretty: true)
            let names = try ConsoleVariants.names(fromFile: text)
            XCTAssertEqual(try ConsoleVariants.resolve(names), Set(variants), label)
            await h.stop()
        }
    }

    func testReadOnlyProbeWritesNothingAndListsTheWriteFamiliesAsNotProbed() async throws {
        for variants in [[], ConsoleVariants.allCompatible] {
            let h = try await console(variants)
            let before = try await comparable(h)
            let p = try await probe(h, scratch: false)
            let label = variants.isEmpty ? "no variant" : "all compatible"
            let writes = try await h.writes()
            XCTAssertEqual(writes.map { "\($0["method"]?.stringValue ?? "") \($0["endpoint"]?.stringValue ?? "")" }, [], label)
            let methods = Set(try await h.requests().map { "\($0["method"]?.stringValue ?? "") \($0["endpoint"]?.stringValue ?? "")" }
                .filter { !$0.hasPrefix("GET ") })
            XCTAssertEqual(methods, ["POST authenticate"], label)
            let after = try await comparable(h)
            XCTAssertEqual(after, before, label)
            for family in ["duplicate", "group-put", "roles", "policy-validation"] {
                XCTAssertEqual(p.finding(family)?.outcome, .notProbed, "\(label): \(family)")
                XCTAssertEqual(p.finding(family)?.summary, "not probed (needs --scratch)")
            }
            // What reading tells is told; the rest says why not.
            let readable = Set(variants).intersection(["license-null", "zero-filled"])
            XCTAssertEqual(Set(p.report.matchedVariants), readable, "\(label):\n\(p.output)")
            XCTAssertEqual(p.finding("sso-groups")?.outcome, .notProbed, p.output)
            XCTAssertEqual(p.finding("session")?.outcome, .undetermined, "sessionTimeoutSec 1800 is the default lifetime too")
            XCTAssertTrue(p.finding("session")?.note.contains("--scratch") == true)
            XCTAssertEqual(p.report.exitCode, 0)
            await h.stop()
        }
    }

    /// What reading alone can tell: an SSO group of an authentication that is not set up,
    /// listed, answers sso-groups; a sessionTimeoutSec other than the token's lifetime answers
    /// session; a licensed console cannot show its unlicensed answer.
    func testReadOnlyAnswersFromWhatTheConsoleHoldsAndALicensedConsole() async throws {
        let h = try await console(["session-timeout"], license: true)
        defer { Task { await h.stop() } }
        try Hardening.expectOK(try await h.api("POST", "groups", ["groupName": "ldap-admins", "role": "admin", "ldapGroup": true]), "ldap group")
        var logon = try await h.api("GET", "settings/logon").1 ?? [:]
        logon["sessionTimeoutSec"] = 600
        try Hardening.expectOK(try await h.api("POST", "settings/logon", logon), "logon")
        try await h.clearRequests()
        let p = try await probe(h, scratch: false)
        XCTAssertEqual(p.finding("license")?.outcome, .notTestable, p.output)
        XCTAssertTrue(p.finding("license")?.note.contains("licensed") == true)
        XCTAssertEqual(p.finding("sso-groups")?.outcome, .defaultAnswer, p.output)
        XCTAssertEqual(p.finding("session")?.variant, "session-timeout", p.output)
        XCTAssertEqual(p.report.matchedVariants, ["session-timeout"])
        let writes = try await h.writes()
        XCTAssertEqual(writes.count, 0)

        // The same console with the fixed lifetime: sessionTimeoutSec 600 ≠ 1800 s tokens.
        try h.sim.setVariants([])
        let q = try await probe(h, scratch: false)
        XCTAssertEqual(q.finding("session")?.outcome, .defaultAnswer, q.output)
    }

    /// The evidence is shapes, never values: no password, token, license key or rule content
    /// in the lines or the report, with or without --scratch.
    func testEvidenceNeverCarriesSecretsTokensOrPolicyContent() async throws {
        let h = try await console(["zero-filled", "duplicate-400"], license: true)
        defer { Task { await h.stop() } }
        let p = try await probe(h, scratch: true)
        let text = p.output + "\n" + p.report.json.encoded(pretty: true) + "\n" + p.report.summaryLines.joined(separator: "\n")
        XCTAssertFalse(text.contains(StepHarness.adminPassword))
        XCTAssertFalse(text.contains(h.licenseKey))
        XCTAssertFalse(text.contains("eyJ"), "a JWT (token) in the output")
        XCTAssertFalse(text.contains("Tp-"), "the scratch user's password")
        // The seeded container runtime rule's content is not shown, only the policy's size.
        let policy = try await h.api("GET", "policies/runtime/container").1
        let ruleName = policy?["rules"]?[0]?["name"]?.stringValue ?? "?"
        XCTAssertFalse(text.contains(ruleName), "a rule of the policy in the evidence")
        XCTAssertTrue(text.contains("a policy of 1 rules"), p.output)
    }

    // MARK: - Clean-up on error

    /// A request that fails mid-probe (the policy PUT's connection dropped, no retry) ends
    /// the probe with exit 1; the clean-up still removes the groups and the user.
    func testAFailedRequestMidProbeStillCleansUp() async throws {
        for variants in [[], ["sso-groups-hidden", "group-put-lastmodified"]] {
            let h = try await console(variants)
            let before = try await comparable(h)
            try await h.setFaults([["kind": "drop", "method": "PUT", "path": "policies/runtime/container", "count": 1]])
            let p = try await probe(h, scratch: true, retries: 0)
            XCTAssertEqual(p.report.exitCode, ProbeExitCode.failed, p.output)
            XCTAssertTrue(p.report.problems.joined().contains("PUT /api/v1/policies/runtime/container"), "\(p.report.problems)")
            XCTAssertEqual(p.finding("policy-validation")?.outcome, .failed)
            XCTAssertEqual(p.report.leftovers, [], p.output)
            let after = try await comparable(h)
            XCTAssertEqual(after, before, "\(variants): \(Hardening.differences(before, after))")
            await h.stop()
        }
    }

    /// A scratch object the console refuses to delete is printed with the command that
    /// removes it, and the exit code says so.
    func testWhatCannotBeRemovedIsPrintedWithTheCommand() async throws {
        let h = try await console([])
        defer { Task { await h.stop() } }
        try await h.setFaults([["kind": "status", "status": 403, "method": "DELETE", "path": "users/*"]])
        let p = try await probe(h, scratch: true, retries: 0)
        XCTAssertEqual(p.report.exitCode, ProbeExitCode.notRestored, p.output)
        let user = p.report.leftovers.first { $0.contains("/api/v1/users/twistlock-init-probe-") }
        XCTAssertNotNil(user, "\(p.report.leftovers)")
        XCTAssertTrue(user?.hasPrefix("curl -X DELETE") == true, user ?? "")
        XCTAssertTrue(p.output.contains("✘ not removed: curl -X DELETE"), p.output)
        // Only the user is left; the groups went.
        let state = try await h.state()
        XCTAssertEqual((state["groups"]?.arrayValue ?? []).count, 0)
        XCTAssertEqual((state["users"]?.arrayValue ?? []).filter { ($0["username"]?.stringValue ?? "").hasPrefix("twistlock-init-probe-") }.count, 1)
    }

    /// The verification compares every user and group other than the probe's with what was
    /// listed before the first write: a group someone adds while the probe runs (held by a slow
    /// PUT) makes the console differ from before, and the probe says so (exit 4).
    func testAConsoleThatDiffersFromBeforeIsReported() async throws {
        let h = try await console([])
        defer { Task { await h.stop() } }
        try await h.setFaults([["kind": "delay", "method": "PUT", "path": "groups/*", "count": 1, "delayMs": 800]])
        async let probed = ProbeTests.runProbe(h, scratch: true)
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, !h.sim.requests.contains(where: { $0.method == "POST" && $0.endpoint == "users" }) {
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        try Hardening.expectOK(try await h.api("POST", "groups", ["groupName": "someone-else", "role": "auditor"]), "a group by hand")
        let p = try await probed
        XCTAssertEqual(p.report.differences, ["groups differ from before: someone-else"], p.output)
        XCTAssertEqual(p.report.exitCode, ProbeExitCode.notRestored)
        XCTAssertTrue(p.output.contains("✘ not restored: groups differ from before: someone-else"), p.output)
    }

    // MARK: - SIGTERM to the real binary

    func launchProbe(_ h: StepHarness, extra: [String]) throws -> HardeningSignalTests.Process_ {
        let values = h.workDir.appendingPathComponent("probe-values.yaml")
        try StepHarness.baseValues.write(to: values, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = try HardeningSignalTests.binary()
        process.arguments = ["probe", "-f", values.path, "--secrets-dir", h.secretsDir.path, "--console-url", h.consoleURL,
                             "--request-timeout", "20"] + extra
        let out = h.workDir.appendingPathComponent("stdout-\(UUID().uuidString)")
        let err = h.workDir.appendingPathComponent("stderr-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        return HardeningSignalTests.Process_(process: process, stdout: out, stderr: err)
    }

    /// SIGTERM while a scratch write is in the console's hands (held 1.5 s): the creation of the
    /// SSO group, the PUT of the group, the PUT of the policy with the probe's rule. The write
    /// finishes, no further question is asked, the clean-up removes and restores everything:
    /// the state equals the state before, and the process exits 143.
    func testSIGTERMMidProbeLeavesTheConsoleAsBefore() async throws {
        let cases: [(variants: [String], method: String, path: String, after: String)] = [
            ([], "POST", "groups", "GET settings/saml"),
            (["group-put-lastmodified"], "PUT", "groups/*", "POST users"),
            (["zero-filled"], "PUT", "policies/runtime/container", "GET policies/runtime/container"),
        ]
        for c in cases {
            let h = try await console(c.variants)
            let before = try await comparable(h)
            try await h.setFaults([["kind": "delay", "method": .string(c.method), "path": .string(c.path), "count": 1, "delayMs": 1500]])
            let report = h.workDir.appendingPathComponent("probe.json")
            let p = try launchProbe(h, extra: ["--scratch", "--report-json", report.path])
            let (m, e) = (String(c.after.split(separator: " ")[0]), String(c.after.split(separator: " ")[1]))
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline, !h.sim.requests.contains(where: { $0.method == m && $0.endpoint == e }) {
                try await Task.sleep(nanoseconds: 20_000_000)
            }
            try await Task.sleep(nanoseconds: 300_000_000)   // the delayed write is in the console's hands
            XCTAssertTrue(p.process.isRunning, "\(c.path): the probe ended before the SIGTERM:\n\(p.output)")
            kill(p.process.processIdentifier, SIGTERM)
            let exitDeadline = Date().addingTimeInterval(20)
            while p.process.isRunning && Date() < exitDeadline { try await Task.sleep(nanoseconds: 20_000_000) }
            if p.process.isRunning {
                kill(p.process.processIdentifier, SIGKILL)
                p.process.waitUntilExit()
                XCTFail("probe did not end within 20 s of SIGTERM:\n\(p.output)")
            }
            let status = p.process.terminationStatus
            XCTAssertEqual(status, 143, "\(c.path):\n\(p.output)")
            XCTAssertEqual(p.process.terminationReason, .exit, "exited on its own, not killed by the signal")
            XCTAssertTrue(p.output.contains("interrupted by SIGTERM"), p.output)
            XCTAssertTrue(p.output.contains("clean-up: every scratch object removed; the console reads as before"), p.output)
            let after = try await comparable(h)
            XCTAssertEqual(after, before, "\(c.path): \(Hardening.differences(before, after))\n\(p.output)")
            let json = try JSON.parse(String(contentsOf: report, encoding: .utf8))
            XCTAssertEqual(json["interrupted"]?.stringValue, "SIGTERM")
            XCTAssertEqual(json["exitCode"]?.intValue, 143)
            await h.stop()
        }
    }

    /// docs/console-variants.md names every family and every variant of the registry, and the
    /// families only a write answers.
    func testTheDocumentNamesEveryFamilyAndVariant() throws {
        let doc = try String(contentsOf: StepHarness.projectSteps.deletingLastPathComponent()
            .appendingPathComponent("docs/console-variants.md"), encoding: .utf8)
        for f in ConsoleVariants.families { XCTAssertTrue(doc.contains("| `\(f.name)` |"), f.name) }
        for v in ConsoleVariants.all { XCTAssertTrue(doc.contains("`\(v.name)`"), v.name) }
        for f in ConsoleProbe.writeFamilies {
            let row = doc.split(separator: "\n").first { $0.hasPrefix("| `\(f)` |") } ?? ""
            XCTAssertTrue(row.hasSuffix("| yes |"), "\(f): \(row)")
        }
    }

    // MARK: - The report as a simulator profile

    /// The real binaries: `twistlock-init probe --scratch --report-json FILE` against a console
    /// with variants, then `twistlock-console-sim --variants-from FILE` serves those variants.
    /// A file that is JSON but no probe report is refused naming it.
    func testProbeReportFileStartsTheSimulatorWithTheSameVariants() async throws {
        let variants = ["license-empty", "sso-groups-hidden", "duplicate-500", "lenient-roles"]
        let h = try await console(variants)
        defer { Task { await h.stop() } }
        let report = h.workDir.appendingPathComponent("profile.json")
        let p = try launchProbe(h, extra: ["--scratch", "--report-json", report.path])
        p.process.waitUntilExit()
        XCTAssertEqual(p.process.terminationStatus, 0, p.output)
        XCTAssertTrue(p.output.contains("matched variants: license-empty, sso-groups-hidden, duplicate-500, lenient-roles"), p.output)

        let sim = try HardeningSignalTests.binary().deletingLastPathComponent().appendingPathComponent("twistlock-console-sim")
        let served = Process()
        served.executableURL = sim
        served.arguments = ["serve", "--port", "0", "--variants-from", report.path]
        let out = Pipe()
        served.standardOutput = out
        served.standardError = FileHandle.nullDevice
        try served.run()
        defer { if served.isRunning { kill(served.processIdentifier, SIGTERM); served.waitUntilExit() } }
        let first = try await readFirstLine(out.fileHandleForReading)
        let (data, _) = try await URLSession.shared.data(from: try XCTUnwrap(URL(string: first + "/sim/variants")))
        let inForce = try JSON.parse(bytes: [UInt8](data))["variants"]?.arrayValue?.compactMap(\.stringValue)
        XCTAssertEqual(inForce, variants.sorted())

        let bad = h.workDir.appendingPathComponent("not-a-report.json")
        try #"{"variants": ["zero-filled"]}"#.write(to: bad, atomically: true, encoding: .utf8)
        let refused = Process()
        refused.executableURL = sim
        refused.arguments = ["serve", "--port", "0", "--variants-from", bad.path]
        let err = Pipe()
        refused.standardOutput = FileHandle.nullDevice
        refused.standardError = err
        try refused.run()
        refused.waitUntilExit()
        XCTAssertNotEqual(refused.terminationStatus, 0)
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(message.contains("--variants-from \(bad.path): not a probe report"), message)
    }

    func readFirstLine(_ handle: FileHandle) async throws -> String {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<String, Error>) in
            DispatchQueue.global().async {
                var bytes: [UInt8] = []
                while true {
                    let d = handle.readData(ofLength: 1)
                    if d.isEmpty || d.first == 0x0A { break }
                    bytes.append(d.first!)
                }
                c.resume(returning: String(decoding: bytes, as: UTF8.self))
            }
        }
    }
}
