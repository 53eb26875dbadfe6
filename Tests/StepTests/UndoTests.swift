import ConsoleSeeder
import ConsoleSimulator
import Foundation
import JSONModel
import TwistlockInit
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Issue 17: every run can keep what it replaced (`--backup`), and `undo` puts it back where
/// the console still holds what the run wrote.
final class UndoTests: XCTestCase {
    static let carolPassword = "Carol-Pa55word-undo-tests"
    static let davePassword = "Dave-Pa55word-undo-tests"

    /// The hardening values (every console step) plus a user and a group that exist before
    /// the run and that the run changes (updateUsers: carol, ops).
    static func runValues() -> String {
        Hardening.values().replacingOccurrences(of: """
          additionalUsers:
            - {username: alice, role: devSecOps}
            - {username: bob, role: auditor, authType: ldap}
          groups:
            - {group: platform-admins, role: admin}
        """, with: """
          updateUsers: true
          additionalUsers:
            - {username: alice, role: devSecOps}
            - {username: bob, role: auditor, authType: ldap}
            - {username: carol, role: devSecOps}
          groups:
            - {group: platform-admins, role: admin}
            - {group: ops, role: admin}
        """)
    }

    /// A console people have used: the benchmark's seeder (admin, license, 50 rules of their
    /// own in each of the eleven policies: 550), then users, a group and settings by hand.
    static func seedConsole(_ h: StepHarness, rulesPerPolicy: Int = 50) async throws {
        let client = try ConsoleClient(connection: ConsoleConnection(baseURL: h.consoleURL), redactor: Redactor())
        defer { client.shutdown() }
        let seeder = Seeder(client: client, rulesPerPolicy: rulesPerPolicy)
        try await Task.detached {
            try seeder.initialize(adminUser: StepHarness.adminUser, adminPassword: StepHarness.adminPassword, license: h.licenseKey)
            _ = try seeder.seedPolicies()
        }.value
        try Hardening.expectOK(await h.api("POST", "users", ["username": "carol", "password": .string(carolPassword),
                                                              "role": "auditor", "authType": "basic"]), "POST carol")
        try Hardening.expectOK(await h.api("POST", "users", ["username": "dave", "password": .string(davePassword),
                                                              "role": "operator", "authType": "basic"]), "POST dave")
        try Hardening.expectOK(await h.api("POST", "groups", ["groupName": "ops", "role": "auditor", "ldapGroup": true]), "POST ops")
        let (_, logon) = try await h.api("GET", "settings/logon")
        guard case .object(var l)? = logon else { throw HardeningError("GET logon") }
        l["sessionTimeoutSec"] = 7200
        l["useSupportCredentials"] = true
        try Hardening.expectOK(await h.api("POST", "settings/logon", .object(l)), "POST logon")
        let (_, telemetry) = try await h.api("GET", "settings/telemetry")
        guard case .object(var t)? = telemetry else { throw HardeningError("GET telemetry") }
        t["enabled"] = true
        try Hardening.expectOK(await h.api("POST", "settings/telemetry", .object(t)), "POST telemetry")
    }

    static func start() async throws -> StepHarness {
        let h = try await Hardening.start()
        try carolPassword.write(to: h.secretsDir.appendingPathComponent("console.additionalUsers.carol.password"),
                                atomically: true, encoding: .utf8)
        return h
    }

    /// Runs the job keeping what it replaced; writes the backup file; returns it and the run.
    func runWithBackup(_ h: StepHarness, values: String) async throws -> (URL, StepHarness.Run) {
        let run = try await h.run(values: values) { $0.keepReplaced = true }
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        let file = h.workDir.appendingPathComponent("backup.json")
        try Backup(console: h.consoleURL, objects: run.report.replaced).write(to: file)
        return (file, run)
    }

    func undo(_ h: StepHarness, backup: URL, force: Bool = false, dryRun: Bool = false,
              logFormat: LogFormat = .text) async -> (UndoReport, [String]) {
        var options = UndoOptions(backup: backup)
        options.valuesFiles = [h.workDir.appendingPathComponent("base-values.yaml")]
        options.secretsDir = h.secretsDir
        options.consoleURL = h.consoleURL
        options.force = force
        options.dryRun = dryRun
        options.logFormat = logFormat
        options.backoffBase = 0.01
        let undoOptions = options
        return await withCheckedContinuation { cont in
            Thread {
                let log = JobLog(format: logFormat, redactor: Redactor(), keepLines: true, sink: { _ in })
                let report = UndoRunner(options: undoOptions, log: log).run()
                cont.resume(returning: (report, log.lines))
            }.start()
        }
    }

    /// The state to compare: Hardening.normalized, and without `owner` where it stands beside
    /// `modified`/`lastModified` — the console's stamp of who last wrote the object (undo is a
    /// write by the job's admin, so a default object the run changed, owned by "system", is
    /// owned by the admin once put back; its content is what is compared).
    static func comparable(_ state: JSON) -> JSON {
        func strip(_ v: JSON) -> JSON {
            switch v {
            case .object(var o):
                if o["modified"] != nil || o["lastModified"] != nil { o["owner"] = nil }
                return .object(o.mapValues(strip))
            case .array(let a): return .array(a.map(strip))
            default: return v
            }
        }
        return Hardening.normalized(strip(state))
    }

    func outcome(_ report: UndoReport, _ object: String) -> UndoOutcome? {
        report.outcomes.first { $0.object == object }
    }

    // MARK: - run, then undo: the console as it was

    func testRunThenUndoReturnsASeededConsoleToItsState() async throws {
        let h = try await UndoTests.start()
        defer { Task { await h.stop() } }
        try await UndoTests.seedConsole(h)
        let seeded = try await h.state()
        let before = UndoTests.comparable(seeded)
        let rules = Seeder.policyPaths.reduce(0) { n, p in
            n + (seeded["policies"]?[String(p.dropFirst("policies/".count))]?["rules"]?.arrayValue?
                .filter { $0["name"]?.stringValue?.hasPrefix("Team-") ?? false }.count ?? 0)
        }
        XCTAssertEqual(rules, 550, "the seeder's rules")

        let (file, run) = try await runWithBackup(h, values: UndoTests.runValues())
        let configured = UndoTests.comparable(try await h.state())
        XCTAssertNotEqual(configured, before, "the run changed nothing: the test would prove nothing")
        XCTAssertGreaterThan(run.report.replaced.count, 15, "\(run.report.replaced.map(\.object))")
        // The file: 0600, and it holds what the run sent (carol's password included).
        var st = stat()
        XCTAssertEqual(lstat(file.path, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)
        let text = try String(contentsOf: file, encoding: .utf8)
        XCTAssertTrue(text.contains(UndoTests.carolPassword), "the backup keeps what was sent")

        // A dry run first: it reads, shows, and writes nothing.
        try await h.clearRequests()
        let (dry, dryLines) = await undo(h, backup: file, dryRun: true)
        XCTAssertEqual(dry.exitCode, 0, dryLines.joined(separator: "\n"))
        let dryWrites = try await h.writes().map { "\($0["method"]?.stringValue ?? "") \($0["path"]?.stringValue ?? "")" }
        XCTAssertEqual(dryWrites, [])
        let afterDry = try await h.state()
        XCTAssertEqual(UndoTests.comparable(afterDry), configured)
        XCTAssertTrue(dryLines.contains { $0.contains("~ update logon settings") }, dryLines.joined(separator: "\n"))
        XCTAssertTrue(dryLines.contains { $0.contains("- remove user alice") }, dryLines.joined(separator: "\n"))

        let (report, lines) = await undo(h, backup: file)
        let output = lines.joined(separator: "\n")
        XCTAssertEqual(report.exitCode, 0, output)
        let after = UndoTests.comparable(try await h.state())
        XCTAssertEqual(Hardening.differences(before, after), [], output)
        XCTAssertEqual(after, before)

        // Created users and groups were deleted; updated ones put back; the license reported.
        for object in ["user alice", "user bob", "user twistlock-metrics", "group platform-admins", "group auditors"] {
            XCTAssertEqual(outcome(report, object)?.action, .removed, "\(object): \(report.outcomes.map { "\($0.object): \($0.action)" })")
        }
        XCTAssertEqual(outcome(report, "group ops")?.action, .restored, output)
        XCTAssertEqual(outcome(report, "user carol")?.action, .restored, output)
        XCTAssertTrue(outcome(report, "user carol")?.detail.contains("password") ?? false, "carol's password cannot be put back: said")
        XCTAssertEqual(report.outcomes.first { $0.object.contains("license") }?.action, .notUndoable, output)
        // No secret in any line.
        for secret in [UndoTests.carolPassword, Hardening.alicePassword, Hardening.metricsPassword, StepHarness.adminPassword, h.licenseKey] {
            XCTAssertFalse(output.contains(secret), "a secret reached undo's output")
            XCTAssertFalse(dryLines.joined().contains(secret), "a secret reached the dry run's output")
        }
        // Undo twice: everything is already as before (created objects already gone).
        let (again, againLines) = await undo(h, backup: file)
        XCTAssertEqual(again.exitCode, 0, againLines.joined(separator: "\n"))
        XCTAssertTrue(again.outcomes.allSatisfy { $0.action == .unchanged || $0.action == .notUndoable },
                      "\(again.outcomes.map { "\($0.object): \($0.action)" })")
        let afterSecondUndo = try await h.state()
        XCTAssertEqual(UndoTests.comparable(afterSecondUndo), before)
    }

    // MARK: - hand changes after the run are left alone

    func testUndoLeavesObjectsChangedSinceTheRunAloneAndSaysSo() async throws {
        let h = try await UndoTests.start()
        defer { Task { await h.stop() } }
        try await UndoTests.seedConsole(h, rulesPerPolicy: 2)
        let before = UndoTests.comparable(try await h.state())
        let (file, _) = try await runWithBackup(h, values: UndoTests.runValues())

        // By hand, after the run: a setting the run wrote, a user it created, a user it
        // updated, a rule inside a policy it rewrote.
        let (_, logon) = try await h.api("GET", "settings/logon")
        guard case .object(var l)? = logon else { throw HardeningError("GET logon") }
        l["sessionTimeoutSec"] = 60
        try Hardening.expectOK(await h.api("POST", "settings/logon", .object(l)), "POST logon")
        let (_, users) = try await h.api("GET", "users")
        guard var alice = users?.arrayValue?.first(where: { $0["username"]?.stringValue == "alice" }),
              var carol = users?.arrayValue?.first(where: { $0["username"]?.stringValue == "carol" }) else {
            throw HardeningError("users")
        }
        alice["role"] = "operator"
        try Hardening.expectOK(await h.api("PUT", "users", alice), "PUT alice")
        carol["role"] = "vulnerabilityManager"
        try Hardening.expectOK(await h.api("PUT", "users", carol), "PUT carol")
        let (_, policy) = try await h.api("GET", "policies/runtime/container")
        guard case .object(var p)? = policy, case .array(var rules)? = p["rules"], case .object(var first)? = rules.first else {
            throw HardeningError("runtime policy")
        }
        first["notes"] = "changed by hand after the run"
        rules[0] = .object(first)
        p["rules"] = .array(rules)
        try Hardening.expectOK(await h.api("PUT", "policies/runtime/container", .object(p)), "PUT runtime policy")
        let changed = try await h.state()

        let (report, lines) = await undo(h, backup: file)
        let output = lines.joined(separator: "\n")
        XCTAssertEqual(report.exitCode, UndoExitCode.leftAlone, output)
        for object in ["logon settings", "user alice", "user carol"] {
            XCTAssertEqual(outcome(report, object)?.action, .changedSince, "\(object): \(output)")
        }
        let runtime = report.outcomes.first { $0.object.contains("runtime") && $0.object.contains("container") }
        XCTAssertEqual(runtime?.action, .changedSince, output)
        XCTAssertTrue(output.contains("logon settings: changed since the run"), output)
        XCTAssertTrue(output.contains("--force"), "the output says how to put it back anyway")
        let after = try await h.state()
        XCTAssertEqual(after["settings"]?["logon"]?["sessionTimeoutSec"]?.intValue, 60, "the hand change was kept")
        let afterUsers = after["users"]?.arrayValue ?? []
        XCTAssertEqual(afterUsers.first { $0["username"]?.stringValue == "alice" }?["role"]?.stringValue, "operator",
                       "alice, changed by hand, is neither deleted nor reset")
        XCTAssertEqual(afterUsers.first { $0["username"]?.stringValue == "carol" }?["role"]?.stringValue, "vulnerabilityManager")
        XCTAssertEqual(after["policies"]?["runtime/container"], changed["policies"]?["runtime/container"])
        // What was not touched by hand was undone: bob is gone, telemetry is back on.
        XCTAssertFalse(afterUsers.contains { $0["username"]?.stringValue == "bob" })
        XCTAssertEqual(UndoTests.comparable(after)["settings"]?["telemetry"], before["settings"]?["telemetry"])

        // --force --dry-run shows it would put them back, and writes nothing.
        try await h.clearRequests()
        let (forcedDry, jsonLines) = await undo(h, backup: file, force: true, dryRun: true, logFormat: .json)
        XCTAssertEqual(forcedDry.exitCode, 0)
        // JSON lines too: one object per line, no secret in any (the diff of carol's password).
        XCTAssertTrue(jsonLines.allSatisfy { (try? JSON.parse($0))?.objectValue != nil }, jsonLines.joined(separator: "\n"))
        XCTAssertTrue(jsonLines.contains { $0.contains("\"event\":\"write\"") }, jsonLines.joined(separator: "\n"))
        for secret in [UndoTests.carolPassword, Hardening.alicePassword, Hardening.metricsPassword, StepHarness.adminPassword] {
            XCTAssertFalse(jsonLines.joined().contains(secret), "a secret reached undo's JSON output")
        }
        XCTAssertEqual(outcome(forcedDry, "logon settings")?.action, .restored)
        let forcedDryWrites = try await h.writes().count
        XCTAssertEqual(forcedDryWrites, 0)
        // --force puts them back.
        let (forced, forcedLines) = await undo(h, backup: file, force: true)
        XCTAssertEqual(forced.exitCode, 0, forcedLines.joined(separator: "\n"))
        let final = try await h.state()
        XCTAssertEqual(UndoTests.comparable(final)["settings"]?["logon"], before["settings"]?["logon"])
        XCTAssertFalse((final["users"]?.arrayValue ?? []).contains { $0["username"]?.stringValue == "alice" })
        XCTAssertEqual(UndoTests.comparable(final)["policies"]?["runtime/container"], before["policies"]?["runtime/container"])
    }

    // MARK: - the backup file

    func testBackupFileIsPrivateAndNeverWrittenThroughALink() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("undo-backup-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let backup = Backup(console: "http://console", objects: [
            ReplacedObject(step: "users", object: "user x", method: "POST", path: "/api/v1/users", before: nil,
                           sent: ["username": "x", "password": "S3cret-value-xyz"]),
        ])
        // An existing world-readable file is replaced by a 0600 one.
        let file = dir.appendingPathComponent("b.json")
        try "old".write(to: file, atomically: false, encoding: .utf8)
        chmod(file.path, 0o644)
        try backup.write(to: file)
        var st = stat()
        XCTAssertEqual(lstat(file.path, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)
        XCTAssertEqual(try Backup.read(file), backup)
        // A link (to a file, or dangling) is refused and what it points to is untouched.
        let target = dir.appendingPathComponent("target")
        try "keep".write(to: target, atomically: false, encoding: .utf8)
        let link = dir.appendingPathComponent("link.json")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: target)
        XCTAssertThrowsError(try backup.write(to: link)) { XCTAssertTrue("\($0)".contains("symbolic link"), "\($0)") }
        XCTAssertEqual(try String(contentsOf: target, encoding: .utf8), "keep")
        let dangling = dir.appendingPathComponent("dangling.json")
        try FileManager.default.createSymbolicLink(atPath: dangling.path, withDestinationPath: dir.appendingPathComponent("nowhere").path)
        XCTAssertThrowsError(try Backup.checkDestination(dangling))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("nowhere").path))
        // A directory, or a missing directory, is refused before anything happens.
        XCTAssertThrowsError(try Backup.checkDestination(dir))
        XCTAssertThrowsError(try Backup.checkDestination(dir.appendingPathComponent("missing/b.json")))
        // No temporary file is left behind.
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".tmp") }
        XCTAssertEqual(left, [])
    }

    func testABadBackupIsRefusedNamingTheEntryAndNothingIsSent() async throws {
        let h = try await StepHarness.start()
        defer { Task { await h.stop() } }
        let cases: [(String, String)] = [
            ("not json", "not JSON"),
            (#"{"kind": "other", "version": 1, "objects": []}"#, "kind"),
            (#"{"kind": "twistlock-init-backup", "version": 9, "objects": []}"#, "version 9"),
            (#"{"kind": "twistlock-init-backup", "version": 1, "objects": [{"step": "s", "object": "o", "method": "GET", "path": "/api/v1/users"}]}"#, "objects[0].method"),
            (#"{"kind": "twistlock-init-backup", "version": 1, "objects": [{"step": "s", "object": "o", "method": "PUT", "path": "/sim/state"}]}"#, "objects[0].path"),
            (#"{"kind": "twistlock-init-backup", "version": 1, "objects": [{"step": "s", "object": "o", "method": "PUT", "path": "/api/v1/../sim/state"}]}"#, "objects[0].path"),
            (#"{"kind": "twistlock-init-backup", "version": 1, "objects": [{"step": "s", "method": "PUT", "path": "/api/v1/users"}]}"#, "objects[0].object"),
        ]
        try await h.clearRequests()
        for (i, (text, expected)) in cases.enumerated() {
            let file = h.workDir.appendingPathComponent("bad-\(i).json")
            try text.write(to: file, atomically: true, encoding: .utf8)
            let (report, lines) = await undo(h, backup: file)
            XCTAssertEqual(report.exitCode, UndoExitCode.invalidInput, "case \(i)")
            XCTAssertTrue(report.problems.joined().contains(expected), "case \(i): \(report.problems)")
            XCTAssertTrue(lines.joined().contains(file.path), "the error names the file")
        }
        let sent = try await h.requests().count
        XCTAssertEqual(sent, 0, "nothing was sent for a bad backup")
    }

    /// The backup is an operator's file like the step files: a FIFO (whose read waits for a
    /// writer forever), a device or a directory given as `--backup` is refused without being
    /// read, naming the file, and nothing is sent; a file over the cap is refused.
    func testABackupThatIsNotARegularFileIsRefusedWithoutReadingIt() async throws {
        let h = try await StepHarness.start()
        defer { Task { await h.stop() } }
        try await h.clearRequests()
        let fifo = h.workDir.appendingPathComponent("backup.fifo")
        XCTAssertEqual(mkfifo(fifo.path, 0o600), 0)
        let linkToDevice = h.workDir.appendingPathComponent("backup-zero.json")
        try FileManager.default.createSymbolicLink(atPath: linkToDevice.path, withDestinationPath: "/dev/zero")
        let directory = h.workDir.appendingPathComponent("backup-dir.json")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (file, expected) in [(fifo, "is a FIFO"), (linkToDevice, "is a device"), (directory, "is a directory")] {
            let (report, lines) = await undo(h, backup: file)
            XCTAssertEqual(report.exitCode, UndoExitCode.invalidInput, file.path)
            XCTAssertTrue(report.problems.joined().contains(expected), "\(file.path): \(report.problems)")
            XCTAssertTrue(lines.joined().contains(file.path), "the error names the file")
        }
        let sent = try await h.requests().count
        XCTAssertEqual(sent, 0, "nothing was sent")
        let big = h.workDir.appendingPathComponent("big.json")
        try String(repeating: " ", count: 2048).write(to: big, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Backup.read(big, maxBytes: 1024)) { error in
            XCTAssertTrue("\(error)".contains("larger than"), "\(error)")
        }
    }

    /// A plan keeps nothing (it writes nothing), and a run without keepReplaced keeps nothing.
    func testOnlyRunsAskedForABackupKeepWhatTheyReplaced() async throws {
        let h = try await UndoTests.start()
        defer { Task { await h.stop() } }
        let setup = try await h.run()
        XCTAssertEqual(setup.report.exitCode, 0, setup.output)
        let plan = try await h.run(values: "console: {options: {enabled: true}}", mode: .plan) { $0.keepReplaced = true }
        XCTAssertGreaterThan(plan.report.writes.count, 0)
        XCTAssertEqual(plan.report.replaced.count, 0)
        let run = try await h.run(values: "console: {options: {enabled: true}}")
        XCTAssertGreaterThan(run.report.writes.count, 0)
        XCTAssertEqual(run.report.replaced.count, 0)
    }
}
