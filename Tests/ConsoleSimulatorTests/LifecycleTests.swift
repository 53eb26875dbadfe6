import ConsoleSimulator
import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Stopping the simulator while connections are still arriving must not take the hosting
/// process down: a cancelled NIO server can leave an accepted connection unserved, and NIO
/// traps on it ("Deinited NIOAsyncWriter without calling finish()"). The simulator stops its
/// server gracefully instead (SimulatorServing.ServerRun).
final class LifecycleTests: XCTestCase {
    /// Opens a TCP connection to 127.0.0.1:`port` (and sends half a request when `partial`).
    static func connect(port: Int, partial: Bool) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return -1 }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc == 0 && partial {
            let text = "GET /api/v1/_ping HTTP/1.1\r\nHost: x\r\n"
            _ = text.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
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
            let late = Task.detached { (0..<16).map { _ in Self.connect(port: port, partial: false) } }
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
