import Foundation
import NIOPosix
import TwistlockInit
import XCTest

/// The console client may be released, or shut down, on one of NIO's event loop threads (a
/// callback's capture can hold the last reference). AsyncHTTPClient's blocking `syncShutdown`
/// is a precondition failure there — the process would crash at the end of a run — so the
/// client must shut down without blocking in that case.
final class ClientLifecycleTests: XCTestCase {
    final class Box: @unchecked Sendable { var client: ConsoleClient? }

    func testAConsoleClientReleasedOnAnEventLoopShutsDownWithoutCrashing() throws {
        let box = Box()
        box.client = try ConsoleClient(connection: ConsoleConnection(baseURL: "http://127.0.0.1:9"), redactor: Redactor())
        try MultiThreadedEventLoopGroup.singleton.next().submit { box.client = nil }.wait()
        XCTAssertNil(box.client)
    }

    func testShutdownOnAnEventLoopDoesNotBlockOrCrashAndIsIdempotent() throws {
        let client = try ConsoleClient(connection: ConsoleConnection(baseURL: "http://127.0.0.1:9"), redactor: Redactor())
        try MultiThreadedEventLoopGroup.singleton.next().submit { client.shutdown() }.wait()
        client.shutdown()
        // After shutdown a request fails cleanly (no crash, no hang).
        XCTAssertThrowsError(try client.request(method: "GET", path: "_ping", body: nil, auth: false, retry: false))
    }
}
