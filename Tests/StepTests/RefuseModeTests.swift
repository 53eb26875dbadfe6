import ConsoleSimulator
import Foundation
import JSONModel
import TestSupport
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
    /// Whether the console accepts a connection; an HTTP request follows, so the accepted
    /// connection is fully taken in before anything stops the server (a connection accepted
    /// while the server shuts down trips an assertion in NIO).
    func listens(_ h: StepHarness, port: Int) async throws -> Bool {
        let accepted = Loopback.connectErrno(port: port) == 0
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
        XCTAssertEqual(Loopback.connectErrno(port: port), ECONNREFUSED, "a connection while not ready is refused")
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
        try await waitUntil("the port refuses connections", seconds: 5) { Loopback.connectErrno(port: port) == ECONNREFUSED }
        let run = try await h.run()
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        XCTAssertEqual(run.step("wait")?.status, .done, run.output)
        XCTAssertEqual(run.step("license")?.status, .done, run.output)
        let again = try await listens(h, port: port)
        XCTAssertTrue(again, "the console listens again")
        await h.stop()
    }

    /// A console that refuses connections for longer than `init.waitTimeoutSeconds`: the wait
    /// step sees each refusal itself (the HTTP library does not retry it inside an attempt until
    /// its 10 s connect timeout) and fails at its own timeout naming the refusal.
    func testAConsoleRefusingPastTheWaitTimeoutFailsTheWaitStepNamingTheRefusal() async throws {
        var options = SimulatorOptions()
        options.faults = FaultPlan(notReadySeconds: 60, notReadyMode: .refuse)
        let h = try await StepHarness.start(options: options)
        let run = try await h.run(sets: ["init.waitTimeoutSeconds=2"])
        XCTAssertEqual(run.report.exitCode, 1, run.output)
        let error = run.step("wait")?.error ?? ""
        XCTAssertTrue(error.contains("did not answer within 2 s"), error)
        XCTAssertTrue(error.contains("last answer: GET /api/v1/_ping: no answer from the console (connection refused: nothing listens at \(h.consoleURL) "), error)
        let progress = run.output.split(separator: "\n").filter { $0.contains("waiting for the console (") }
        XCTAssertFalse(progress.isEmpty, run.output)
        XCTAssertTrue(progress.allSatisfy { $0.contains("(connection refused: nothing listens at ") }, "\(progress)")
        XCTAssertEqual(run.step("admin")?.status, .notRun)
        await h.stop()
    }

    /// A refused connection is retried by the console client with its backoff for
    /// `refusalTolerance` from the first refusal, each retry announced, then fails naming it.
    func testTheClientRetriesRefusedConnectionsForItsToleranceThenFails() async throws {
        // A port nothing listens on: bind one, note it, close it.
        let h = try await StepHarness.start()
        let port = try port(h)
        await h.stop()
        XCTAssertEqual(Loopback.connectErrno(port: port), ECONNREFUSED)
        var connection = ConsoleConnection(baseURL: "http://127.0.0.1:\(port)")
        connection.backoffBase = 0.05
        connection.maxBackoff = 0.1
        connection.maxRetries = 1
        connection.refusalTolerance = 0.6
        let client = try ConsoleClient(connection: connection, redactor: Redactor())
        defer { client.shutdown() }
        final class Notes: @unchecked Sendable { var lines: [String] = [] }
        let notes = Notes()
        client.onRetry = { notes.lines.append($0) }
        do {
            _ = try await Task.detached { try client.request(method: "GET", path: "settings/certs", body: nil, auth: false) }.value
            XCTFail("a request to a closed port succeeded")
        } catch let error as ConsoleError {
            XCTAssertTrue(error.description.contains("connection refused"), error.description)
            XCTAssertTrue(error.description.contains("settings/certs"), error.description)
        }
        // More retries than maxRetries (1): refusals have their own, time-based budget.
        XCTAssertGreaterThan(notes.lines.count, 1, "\(notes.lines)")
        XCTAssertTrue(notes.lines.allSatisfy { $0.contains("connection refused: nothing listens at") && $0.contains(" for ") && $0.contains("of 1 s") }, "\(notes.lines)")
        XCTAssertEqual(client.requestCount, notes.lines.count + 1)
    }
}
