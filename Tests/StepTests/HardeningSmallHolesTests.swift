import Foundation
import JobConfig
import JSONModel
import TwistlockInit
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Issue 13, point 7 (the last two items): SIGHUP and SIGQUIT end a run the way SIGTERM does
/// (the real binary, a real signal), and a numeric password has a way in (`--set-string`).
final class HardeningSmallHolesTests: XCTestCase {
    /// A run whose custom step sleeps: each of SIGHUP and SIGQUIT (and SIGINT, another
    /// spelling) ends it at once with exit 143, a report naming the signal, no core dump.
    func testSIGHUPAndSIGQUITInterruptARunLikeSIGTERM() async throws {
        let h = try await StepHarness.start()
        let sleeper = try Hardening.customStep(h, name: "sleeper", after: "license", lua: """
        log.info("sleeping for ten minutes")
        time.sleep(600)
        """)
        let signals: [(Int32, String)] = [(SIGHUP, "SIGHUP"), (SIGQUIT, "SIGQUIT"), (SIGINT, "SIGINT")]
        for (sig, name) in signals {
            let report = h.workDir.appendingPathComponent("report-\(name).json")
            let out = h.workDir.appendingPathComponent("out-\(name).txt")
            FileManager.default.createFile(atPath: out.path, contents: nil)
            let process = Process()
            process.executableURL = try HardeningSignalTests.binary()
            process.arguments = try CLI.runArguments(h, report: report, extra: ["--steps-dir", sleeper.path])
            process.standardOutput = try FileHandle(forWritingTo: out)
            process.standardError = process.standardOutput
            var env = ProcessInfo.processInfo.environment
            env["KUBECONFIG"] = nil
            process.environment = env
            try process.run()
            defer { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }
            try await waitUntil("the step sleeps") {
                ((try? String(contentsOf: out, encoding: .utf8)) ?? "").contains("sleeping for ten minutes")
            }
            kill(process.processIdentifier, sig)
            do {
                try await waitUntil("\(name) ends the run", seconds: 15) { !process.isRunning }
            } catch {
                XCTFail("\(name) did not end the run within 15 s")   // killed by the defer above
                continue
            }
            process.waitUntilExit()
            let output = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
            XCTAssertEqual(process.terminationReason, .exit, "\(name): killed by the signal instead of exiting: \(output)")
            XCTAssertEqual(process.terminationStatus, 143, "\(name): \(output)")
            let json = try CLI.report(report)
            let step = json["steps"]?.arrayValue?.first { $0["name"]?.stringValue == "sleeper" }
            XCTAssertEqual(step?["status"]?.stringValue, "interrupted", "\(name): \(json.encoded())")
            XCTAssertEqual(step?["error"]?.stringValue, "interrupted by \(name)")
        }
        await h.stop()
    }

    /// `--set-string` keeps every value a string: a numeric password (which `--set` types as
    /// an integer, refused) works; list items too; Helm's order (after every `--set`).
    func testSetStringGivesANumericPasswordAWayIn() throws {
        XCTAssertEqual(try SetArguments.parse("a.b=12345", forceString: true).first?.value, .string("12345"))
        XCTAssertEqual(try SetArguments.parse("a=true", forceString: true).first?.value, .string("true"))
        XCTAssertEqual(try SetArguments.parse("a=null", forceString: true).first?.value, .string("null"))
        XCTAssertEqual(try SetArguments.parse("a={1,2}", forceString: true).first?.value, .array([.string("1"), .string("2")]))
        XCTAssertEqual(try SetArguments.parse("a.b=12345").first?.value, .int(12345))
        // --set: a numeric password is an int, refused naming the key.
        XCTAssertThrowsError(try ValuesLoader.load(files: [], sets: ["console.credentials.username=admin",
                                                                     "console.credentials.password=12345678"], secretsDir: nil)) { error in
            XCTAssertTrue("\(error)".contains("console.credentials.password"), "\(error)")
            XCTAssertFalse("\(error)".contains("12345678"), "\(error)")
        }
        // --set-string: accepted as the string it is, and it wins over --set (applied after).
        let values = try ValuesLoader.load(files: [], sets: ["console.credentials.username=admin", "console.credentials.password=987654321"],
                                           setStrings: ["console.credentials.password=12345678"], secretsDir: nil)
        XCTAssertEqual(values.root["console"]?["credentials"]?["password"], .string("12345678"))
        XCTAssertTrue(values.secrets.contains("12345678"))
        // An error in a --set-string argument names that flag.
        XCTAssertThrowsError(try ValuesLoader.load(files: [], sets: [], setStrings: ["a..b=1"], secretsDir: nil)) { error in
            XCTAssertTrue("\(error)".contains("--set-string a..b=…"), "\(error)")
        }
    }

    /// The binary: `list --set-string` takes a numeric password, `--set` refuses it (exit 2);
    /// `--help` states the typing and quoting rules and names --set-string.
    func testTheBinaryTakesSetStringAndItsHelpStatesTheQuotingRule() throws {
        let base = ["list", "--builtin-steps", StepHarness.projectSteps.path, "--set", "console.credentials.username=admin"]
        let typed = try CLI.run(base + ["--set", "console.credentials.password=12345678"], seconds: 20)
        XCTAssertEqual(typed.status, 2, typed.output)
        XCTAssertTrue(typed.output.contains("console.credentials.password"), typed.output)
        XCTAssertFalse(typed.output.contains("12345678"), typed.output)
        let string = try CLI.run(base + ["--set-string", "console.credentials.password=12345678"], seconds: 20)
        XCTAssertEqual(string.status, 0, string.output)
        let help = try CLI.run(["run", "--help"], seconds: 20)
        XCTAssertEqual(help.status, 0)
        let flat = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        XCTAssertTrue(flat.contains("--set-string"), flat)
        XCTAssertTrue(flat.contains("numeric password needs --set-string"), flat)
        XCTAssertTrue(flat.contains("\\,"), flat)
    }
}
