import ConsoleSimulator
import Foundation
import JSONModel
import TwistlockInit
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The simulator's `refuse` not-ready mode (docs/reliability.md, finding 8): nothing listens on
/// the port while the console is "not ready", so a connection attempt is refused (ECONNREFUSED)
/// — at start, and when a running console is put in that mode with `POST /sim/faults` — and the
/// `wait` step still ends in success once the console is up.
final class RefuseModeTests: XCTestCase {
    /// Connects to 127.0.0.1:`port` and closes again: 0 when accepted, else the errno.
    static func connectErrno(port: Int) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return rc == 0 ? 0 : errno
    }

    /// Whether the console accepts a connection; an HTTP request follows, so the accepted
    /// connection is fully taken in before anything stops the server (a connection accepted
    /// while the server shuts down trips an assertion in NIO).
    func listens(_ h: StepHarness, port: Int) async throws -> Bool {
        let accepted = Self.connectErrno(port: port) == 0
        _ = try await h.send("GET", "/sim/faults")
        return accepted
    }

    func port(_ h: StepHarness) throws -> Int {
        guard let port = URL(string: h.consoleURL)?.port else { throw HardeningError("no port in \(h.consoleURL)") }
        return port
    }

    func testAConsoleNotReadyAtStartRefusesConnectionsAndTheWaitStepSucceedsOnceItIsUp() async throws {
        var options = SimulatorOptions()
        options.faults = FaultPlan(notReadySeconds: 2, notReadyMode: .refuse)
        let h = try await StepHarness.start(options: options)
        let port = try port(h)
        XCTAssertEqual(Self.connectErrno(port: port), ECONNREFUSED, "a connection while not ready is refused")
        let run = try await h.run()
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        XCTAssertEqual(run.step("wait")?.status, .done, run.output)
        XCTAssertTrue(run.output.contains("the console answers"), run.output)
        XCTAssertEqual(run.step("admin")?.status, .done, run.output)
        let up = try await listens(h, port: port)
        XCTAssertTrue(up, "the console listens once it is up")
        await h.stop()
    }

    func testARunningConsolePutInRefuseModeClosesItsPortThenServesAgain() async throws {
        let h = try await StepHarness.start()
        let port = try port(h)
        let listening = try await listens(h, port: port)
        XCTAssertTrue(listening)
        let status = try await h.send("POST", "/sim/faults", ["notReadySeconds": 2, "notReadyMode": "refuse"])
        XCTAssertEqual(status, 200)
        // The port closes once the answer to that request is out (within moments).
        try await waitUntil("the port refuses connections", seconds: 5) { Self.connectErrno(port: port) == ECONNREFUSED }
        let run = try await h.run()
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        XCTAssertEqual(run.step("wait")?.status, .done, run.output)
        XCTAssertEqual(run.step("license")?.status, .done, run.output)
        let again = try await listens(h, port: port)
        XCTAssertTrue(again, "the console listens again")
        await h.stop()
    }
}
