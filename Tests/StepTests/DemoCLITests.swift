import Foundation
import XCTest

/// `twistlock-demo` starts like `twistlock-init` (`CommandMain`): an invalid flag is exit 2
/// with one line naming it (not ArgumentParser's 64 and a usage block), and SIGPIPE is
/// ignored, so `twistlock-demo | head -1` ends with the run's own exit code, not a signal.
final class DemoCLITests: XCTestCase {
    func demo(_ arguments: [String], plumbing: String = "", brokenStdout: Bool = false) throws -> CLI.Result {
        try CLI.run(arguments, plumbing: plumbing, environment: ["TWISTLOCK_INIT_BIN": try DemoFindingsTests.demoBinary()],
                    brokenStdout: brokenStdout, seconds: 120)
    }

    func testEveryInvalidFlagIsExitTwoWithOneLineNamingIt() throws {
        let cases: [([String], String)] = [
            (["--bogus"], "--bogus"),
            (["--log-format", "xml"], "--log-format"),
            (["--report-json"], "--report-json"),
            (["--serve=yes"], "--serve"),
            (["-x"], "-x"),
            (["extra-argument"], "extra-argument"),
        ]
        for (arguments, flag) in cases {
            let r = try demo(arguments)
            XCTAssertEqual(r.status, 2, "\(arguments): \(r.output)")
            XCTAssertEqual(r.stderrLines.count, 1, "\(arguments): one line: \(r.output)")
            XCTAssertTrue(r.stderr.hasPrefix("twistlock-demo: error: "), "\(arguments): \(r.output)")
            XCTAssertTrue(r.stderr.contains(flag), "\(arguments) names \(flag): \(r.output)")
            XCTAssertEqual(r.stdout, "", "\(arguments): nothing run: \(r.output)")
        }
        let help = try demo(["--help"])
        XCTAssertEqual(help.status, 0, help.output)
        XCTAssertTrue(help.stdout.contains("USAGE: twistlock-demo"), help.output)
        let version = try demo(["--version"])
        XCTAssertEqual(version.status, 0, version.output)
    }

    /// A reader that goes away: `| head -1` (a race with head), and a stdout whose reading end
    /// is closed before the demo starts (the first write fails, deterministically). The demo
    /// ends with its run's exit code (0), not killed by SIGPIPE (141 in bash).
    func testAClosedStdoutDoesNotKillTheDemo() throws {
        let head = try demo(["--once"], plumbing: "| head -1")
        XCTAssertEqual(head.status, 0, head.output)
        XCTAssertEqual(head.stdout.split(separator: "\n").count, 1, head.stdout)
        let broken = try demo(["--once"], brokenStdout: true)
        XCTAssertEqual(broken.status, 0, broken.output)
        // A failing step still gives its own exit code with stdout closed.
        let failing = try demo(["--once", "--set", "console.credentials.username="], brokenStdout: true)
        XCTAssertEqual(failing.status, 2, failing.output)
    }
}
