import ConsoleSimulator
import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Stopping the simulator while connections are still arriving must not take the hosting
/// process down: a cancelled NIO server can leave an accepted connection unserved, and NIO
/// traps on it ("Deinited NIOAsyncWriter without calling finish()"). The simulator stops its
/// server gracefully instead (SimulatorServing.ServerRun).
final class LifecycleTests: XCTestCase {
    /// Opens a TCP connection to 127.0.0.1:`port` (and sends half a request when `partial`);
    /// -1 when the connection is not made.
    static func connect(port: Int, partial: Bool) -> Int32 {
        guard let fd = try? Loopback.connect(port: port) else { return -1 }
        if partial {
            Loopback.sendAll(fd, Array("GET /api/v1/_ping HTTP/1.1\r\nHost: x\r\n".utf8))
        }
        return fd
    }

    func testStoppingWhileConnectionsArriveDoesNotCrashAndTheSimulatorStartsAgain() async throws {
        for round in 0..<8 {
            let sim = ConsoleSimulator()
            let url = try await sim.start()
            let port = try XCTUnwrap(url.port)
            // Connections the server has not taken in yet when it is told to stop: idle ones,
            // half-sent requests, and more arriving while it stops.
            var fds = (0..<16).map { Self.connect(port: port, partial: $0 % 2 == 0) }
            let late = Task.detached { (0..<16).map { _ in LifecycleTests.connect(port: port, partial: false) } }
            await sim.stop()
            fds += await late.value
            for fd in fds where fd >= 0 { close(fd) }
            XCTAssertNil(sim.baseURL, "round \(round)")
            // The same simulator serves again after a stop (its state kept).
            let again = try await sim.start()
            let ping = try await SimClient(base: again).raw("GET", "/api/v1/_ping")
            XCTAssertEqual(ping.status, 200, "round \(round)")
            await sim.stop()
        }
    }
}
