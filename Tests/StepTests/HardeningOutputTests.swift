import Foundation
import JSONModel
import TwistlockInit
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Closed or failing outputs (issue 13, point 4; docs/reliability.md "Outputs"): the real
/// binary with its stdout or stderr closed, piped into `head`, or on a full device. Output
/// errors are not fatal: lines that cannot be written are dropped, the run completes, writes
/// its report (which lists what was dropped) and exits with the code it earned. The
/// `--report-json` target is a regular file or nothing: a FIFO, device, link or directory, or
/// a directory that is not there, is exit 2 before any request.
final class HardeningOutputTests: XCTestCase {
    /// Users on, so the run has writes to finish after its output went away.
    static let values = """
    console:
      additionalUsers:
        - {username: alice, role: devSecOps, authType: ldap}
        - {username: bob, role: auditor, authType: ldap}
      groups:
        - {group: platform-admins, role: admin}
    """

    /// The run completed: exit 0, every enabled step done in the report, the users created,
    /// and the report names the dropped output.
    func assertCompleted(_ h: StepHarness, _ r: CLI.Result, report: URL, dropped: String,
                         file: StaticString = #filePath, line: UInt = #line) async throws {
        XCTAssertEqual(r.status, 0, "exit status: \(r.output)", file: file, line: line)
        XCTAssertFalse(r.output.contains("Fatal error"), r.output, file: file, line: line)
        let json = try CLI.report(report)
        XCTAssertEqual(json["exitCode"]?.intValue, 0, file: file, line: line)
        let statuses = (json["steps"]?.arrayValue ?? []).map { "\($0["name"]?.stringValue ?? ""):\($0["status"]?.stringValue ?? "")" }
        for step in ["wait", "admin", "license", "users", "groups"] {
            XCTAssertTrue(statuses.contains("\(step):done"), "\(step): \(statuses)", file: file, line: line)
        }
        let lost = (json["outputDropped"]?.arrayValue ?? []).compactMap(\.stringValue)
        XCTAssertTrue(lost.contains { $0.contains(dropped) }, "outputDropped: \(lost)", file: file, line: line)
        let users = (try await h.state())["users"]?.arrayValue?.compactMap { $0["username"]?.stringValue } ?? []
        XCTAssertTrue(users.contains("alice") && users.contains("bob"), "\(users)", file: file, line: line)
    }

    /// The issue's example: `run … | head -40` (here `head -n 3`, so that the pipe closes
    /// while steps still run) used to die with `Fatal error: 'try!' … Broken pipe` (132).
    func testAPipeClosedByHeadAndTheRunCompletesWithItsReport() async throws {
        let h = try await StepHarness.start()
        let report = h.workDir.appendingPathComponent("report-head.json")
        let r = try CLI.run(try CLI.runArguments(h, values: Self.values, report: report), plumbing: "| head -n 3")
        XCTAssertEqual(r.stdout.split(separator: "\n").count, 3, r.stdout)
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertEqual(try CLI.report(report)["exitCode"]?.intValue, 0)
        await h.stop()
    }

    /// The same without the race: stdout is a pipe nobody reads from the start, so every line
    /// meets EPIPE; the report counts them.
    func testABrokenPipeFromTheFirstLineDropsEveryLineAndTheRunCompletes() async throws {
        let h = try await StepHarness.start()
        let report = h.workDir.appendingPathComponent("report-broken.json")
        let r = try CLI.run(try CLI.runArguments(h, values: Self.values, report: report), brokenStdout: true)
        try await assertCompleted(h, r, report: report, dropped: "stdout")
        let lost = (try CLI.report(report)["outputDropped"]?.arrayValue ?? []).compactMap(\.stringValue)
        XCTAssertTrue(lost.contains { $0.contains("Broken pipe") }, "\(lost)")
        await h.stop()
    }

    /// Another spelling: JSON log lines into `head -n 1`.
    func testJSONLogsPipedIntoHeadCompleteTheRun() async throws {
        let h = try await StepHarness.start()
        let report = h.workDir.appendingPathComponent("report-json-head.json")
        let r = try CLI.run(try CLI.runArguments(h, values: Self.values, report: report, extra: ["--log-format", "json"]),
                            plumbing: "| head -n 1")
        XCTAssertNoThrow(try JSON.parse(r.stdout.trimmingCharacters(in: .newlines)), r.stdout)
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertEqual(try CLI.report(report)["exitCode"]?.intValue, 0)
        let broken = h.workDir.appendingPathComponent("report-json-broken.json")
        let b = try CLI.run(try CLI.runArguments(h, values: Self.values, report: broken, extra: ["--log-format", "json"]),
                            brokenStdout: true)
        try await assertCompleted(h, b, report: broken, dropped: "stdout")
        await h.stop()
    }

    /// A full device: every write fails with ENOSPC (`>/dev/full`, and stderr there too).
    func testStdoutAndStderrOnAFullDeviceCompleteTheRun() async throws {
        let h = try await StepHarness.start()
        let report = h.workDir.appendingPathComponent("report-full.json")
        let r = try CLI.run(try CLI.runArguments(h, values: Self.values, report: report), plumbing: ">/dev/full 2>/dev/full")
        try await assertCompleted(h, r, report: report, dropped: "No space left")
        await h.stop()
    }

    /// Closed descriptors (`>&- 2>&-`): the lines go nowhere — not into the report file or a
    /// socket that would otherwise take descriptor 1 — and the run completes.
    func testClosedStdoutAndStderrCompleteTheRunAndTheReportStaysJSON() async throws {
        let h = try await StepHarness.start()
        let report = h.workDir.appendingPathComponent("report-closed.json")
        let r = try CLI.run(try CLI.runArguments(h, values: Self.values, report: report), plumbing: ">&- 2>&-")
        XCTAssertEqual(r.status, 0, r.output)
        let json = try CLI.report(report)
        XCTAssertEqual(json["exitCode"]?.intValue, 0)
        XCTAssertEqual((json["steps"]?.arrayValue ?? []).first { $0["name"]?.stringValue == "users" }?["status"]?.stringValue, "done")
        await h.stop()
    }

    /// An error path with stderr full: a flag error still exits 2 (not 132), and a failing
    /// step with stdout closed still exits 1 with its report.
    func testErrorsWithFailingOutputsKeepTheirExitCodes() async throws {
        let flag = try CLI.run(["run", "--retries", "-1"], plumbing: "2>/dev/full")
        XCTAssertEqual(flag.status, 2, flag.output)
        let h = try await StepHarness.start()
        let failing = try Hardening.customStep(h, name: "failing", after: "license", lua: """
        for i = 1, 200 do log.info("line %d of a step that then fails", i) end
        error("this step fails")
        """)
        let report = h.workDir.appendingPathComponent("report-failing.json")
        let r = try CLI.run(try CLI.runArguments(h, report: report, extra: ["--steps-dir", failing.path]), brokenStdout: true)
        XCTAssertEqual(r.status, 1, r.output)
        let json = try CLI.report(report)
        XCTAssertEqual(json["exitCode"]?.intValue, 1)
        XCTAssertEqual((json["steps"]?.arrayValue ?? []).first { $0["name"]?.stringValue == "failing" }?["status"]?.stringValue, "failed")
        await h.stop()
    }

    // MARK: - The report's target

    /// A FIFO, a device, a symbolic link, a directory, a missing directory and a path under a
    /// regular file: exit 2, one line naming --report-json, nothing sent, and the target left
    /// as it was (the device is still a device, the link's target untouched).
    func testAReportTargetThatIsNotARegularFileIsRefusedBeforeAnyRequest() async throws {
        let h = try await StepHarness.start()
        let fifo = h.workDir.appendingPathComponent("report.fifo")
        try CLI.makeFIFO(fifo)
        let victim = h.workDir.appendingPathComponent("victim.txt")
        try "keep me".write(to: victim, atomically: true, encoding: .utf8)
        let link = h.workDir.appendingPathComponent("report-link.json")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: victim)
        let dirTarget = h.workDir.appendingPathComponent("a-directory")
        try FileManager.default.createDirectory(at: dirTarget, withIntermediateDirectories: true)
        // A device node of the test's own (never /dev/full or /dev/null themselves: a binary
        // with this defect, run as root, replaces them for the whole machine).
        let device = h.workDir.appendingPathComponent("full-device")
        let haveDevice = mknod(device.path, S_IFCHR | 0o666, dev_t((1 << 8) | 7)) == 0   // makedev(1, 7)
        var cases: [(URL, String)] = [
            (fifo, "FIFO"),
            (link, "symbolic link"),
            (dirTarget, "directory"),
            (h.workDir.appendingPathComponent("no-such-dir/report.json"), "does not exist"),
            (victim.appendingPathComponent("report.json"), "ot a directory"),
        ]
        if haveDevice { cases.append((device, "device")) }
        for (target, why) in cases {
            try await h.clearRequests()
            let r = try CLI.run(try CLI.runArguments(h, values: Self.values, report: target))
            XCTAssertEqual(r.status, 2, "\(target.path): \(r.output)")
            XCTAssertEqual(r.stderrLines.count, 1, r.output)
            XCTAssertTrue(r.stderr.contains("--report-json") && r.stderr.contains(why), "\(target.path): \(r.stderr)")
            let sent = try await h.requests()
            XCTAssertTrue(sent.isEmpty, "\(target.path): \(sent.count) requests sent")
        }
        XCTAssertEqual(CLI.fileType(fifo.path), S_IFIFO)
        if haveDevice { XCTAssertEqual(CLI.fileType(device.path), S_IFCHR) }
        XCTAssertEqual(CLI.fileType(link.path), S_IFLNK)
        XCTAssertEqual(try String(contentsOf: victim, encoding: .utf8), "keep me")
        await h.stop()
    }

    /// `plan --out` is the same kind of file: a FIFO, a link or a missing directory is exit 2
    /// naming `--out` before any request; a regular file gets the plan.
    func testAPlanFileTargetThatIsNotARegularFileIsRefusedBeforeAnyRequest() async throws {
        let h = try await StepHarness.start()
        let fifo = h.workDir.appendingPathComponent("plan.fifo")
        try CLI.makeFIFO(fifo)
        let victim = h.workDir.appendingPathComponent("plan-victim.txt")
        try "keep me".write(to: victim, atomically: true, encoding: .utf8)
        let link = h.workDir.appendingPathComponent("plan-link.json")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: victim)
        for target in [fifo, link, h.workDir.appendingPathComponent("missing/plan.json")] {
            var args = try CLI.runArguments(h, values: Self.values, extra: ["-o", target.path])
            args[0] = "plan"
            let r = try CLI.run(args, seconds: 20)
            XCTAssertEqual(r.status, 2, "\(target.path): \(r.output)")
            XCTAssertTrue(r.stderr.contains("--out"), r.stderr)
        }
        XCTAssertEqual(CLI.fileType(fifo.path), S_IFIFO)
        XCTAssertEqual(try String(contentsOf: victim, encoding: .utf8), "keep me")
        let sent = try await h.requests()
        XCTAssertTrue(sent.isEmpty, "\(sent.count) requests sent")
        let good = h.workDir.appendingPathComponent("plan.json")
        var args = try CLI.runArguments(h, values: Self.values, extra: ["-o", good.path])
        args[0] = "plan"
        let r = try CLI.run(args, seconds: 60)
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertNotNil(try CLI.report(good)["writes"]?.arrayValue)
        await h.stop()
    }

    /// In process too (any caller of `JobRunner`): a FIFO target is invalid input, exit 2,
    /// before any request — and the FIFO is not opened (that would block without a reader).
    func testTheRunnerRefusesAFIFOReportTargetBeforeAnyRequest() async throws {
        let h = try await StepHarness.start()
        let fifo = h.workDir.appendingPathComponent("runner-report.fifo")
        try CLI.makeFIFO(fifo)
        let run = try await h.run(values: Self.values, reportJSON: fifo)
        XCTAssertEqual(run.report.exitCode, 2, run.output)
        XCTAssertTrue(run.report.problems.contains { $0.contains("--report-json") && $0.contains("FIFO") }, "\(run.report.problems)")
        let sent = try await h.requests()
        XCTAssertTrue(sent.isEmpty)
        XCTAssertEqual(CLI.fileType(fifo.path), S_IFIFO)
        await h.stop()
    }

    /// A regular file is replaced whole (a new file renamed over it): the old content is
    /// gone, no temporary file is left beside it.
    func testARegularReportFileIsReplacedWholeAndNothingIsLeftBeside() async throws {
        let h = try await StepHarness.start()
        let dir = h.workDir.appendingPathComponent("reports")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let report = dir.appendingPathComponent("report.json")
        try String(repeating: "old report ", count: 1000).write(to: report, atomically: true, encoding: .utf8)
        let run = try await h.run(reportJSON: report)
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        XCTAssertEqual(try CLI.report(report)["exitCode"]?.intValue, 0)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["report.json"])
        await h.stop()
    }
}
