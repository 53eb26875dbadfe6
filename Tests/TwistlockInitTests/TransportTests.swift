import Foundation
import JSONModel
import KubeSimulator
import TestSupport
import TwistlockInit
import XCTest

/// The one transport under the console client and the Kubernetes client (Transport/): a retry
/// policy per peer, `Retry-After`, the run's one interrupt token, and failures named by their
/// types. Against real servers on 127.0.0.1: a raw-socket server that answers what the test
/// says (or closes, or hangs), and the Kubernetes simulator in HTTP and HTTPS.
final class TransportTests: XCTestCase {
    final class Lines: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: [String] = []
        func append(_ line: String) { lock.withLock { stored.append(line) } }
        var all: [String] { lock.withLock { stored } }
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var n = 0
        func next() -> Int { lock.withLock { n += 1; return n } }
    }

    func consoleClient(_ url: String, interrupt: InterruptToken = InterruptToken(),
                       _ configure: (inout ConsoleConnection) -> Void = { _ in }) throws -> ConsoleClient {
        var c = ConsoleConnection(baseURL: url)
        c.maxRetries = 2
        c.backoffBase = 0.01
        c.maxBackoff = 0.02
        c.requestTimeout = 5
        c.refusalTolerance = 0.3
        configure(&c)
        return try ConsoleClient(connection: c, redactor: Redactor(), interrupt: interrupt)
    }

    func kubeClient(_ url: String, interrupt: InterruptToken = InterruptToken(),
                    _ configure: (inout KubeClient.Options) -> Void = { _ in }) throws -> KubeClient {
        var o = KubeClient.Options()
        o.maxRetries = 2
        o.backoffBase = 0.01
        o.maxBackoff = 0.02
        o.requestTimeout = 5
        o.connectTimeout = 2
        configure(&o)
        return try KubeClient(config: KubeConfig(server: url, token: "transport-test-token", namespace: "ns"),
                              options: o, interrupt: interrupt)
    }

    /// Waits (at most 10 s) until `condition` holds.
    func eventually(_ what: String, _ condition: () -> Bool, file: StaticString = #filePath, line: UInt = #line) {
        let until = Date().addingTimeInterval(10)
        while !condition() {
            if Date() > until { return XCTFail("never happened: \(what)", file: file, line: line) }
            Thread.sleep(forTimeInterval: 0.01)
        }
    }

    // MARK: - The retry policy of each peer

    /// The console retries every 5xx for a request that may be repeated, and only 429 (the
    /// console says it did not process it) for a creation; other statuses are answers.
    func testTheConsolePolicyRetries5xxOnlyForRepeatableRequestsAnd429ForAll() throws {
        for status in [500, 501, 503, 507, 429, 400, 404, 409] {
            let server = try LoopbackHTTPServer { _ in .init(status, #"{"err":"x"}"#) }
            defer { server.stop() }
            let client = try consoleClient(server.url)
            defer { client.shutdown() }
            let get = try client.request(method: "GET", path: "settings/certs", body: nil, auth: false)
            XCTAssertEqual(get.status, status)
            let expectedGets = status >= 500 || status == 429 ? 3 : 1
            XCTAssertEqual(server.received.count, expectedGets, "GET answered \(status)")
            // A creation (POST users) is sent once, unless the console said it did not process it.
            let post = try client.request(method: "POST", path: "users", body: ["username": "u"], auth: false)
            XCTAssertEqual(post.status, status)
            XCTAssertEqual(server.received.count - expectedGets, status == 429 ? 3 : 1, "POST users answered \(status)")
            // What the step states wins: a PUT it says is not idempotent is a creation too.
            let before = server.received.count
            let put = try ConsoleRequest(method: "PUT", path: "users", idempotent: false)
            _ = try client.request(put, body: ["username": "u"], auth: false)
            XCTAssertEqual(server.received.count - before, status == 429 ? 3 : 1, "PUT idempotent=false answered \(status)")
            // retry = false (the wait step polls itself): never sent again, whatever the answer.
            let once = server.received.count
            _ = try client.request(method: "GET", path: "_ping", body: nil, auth: false, retry: false)
            XCTAssertEqual(server.received.count - once, 1, "retry = false, answered \(status)")
        }
    }

    /// The API server's policy is its own: 429 and 500/502/503/504 are retried, 501 and 505
    /// (which stay) are not — where the console retries every 5xx.
    func testTheKubernetesPolicyRetriesOnlyPassingServerTroubles() throws {
        for status in [500, 502, 503, 504, 429, 501, 505, 403, 404] {
            let server = try LoopbackHTTPServer { _ in .init(status, #"{"kind":"Status","message":"m"}"#) }
            defer { server.stop() }
            let client = try kubeClient(server.url)
            defer { client.close() }
            XCTAssertThrowsError(try client.resources(apiVersion: "v1"), "\(status)")
            let retried = [500, 502, 503, 504, 429].contains(status)
            XCTAssertEqual(server.received.count, retried ? 3 : 1, "GET /api/v1 answered \(status)")
            XCTAssertEqual(client.requestCount, server.received.count)
        }
        // The same 501 is retried by the console's policy: one transport, a policy per peer.
        let server = try LoopbackHTTPServer { _ in .init(501) }
        defer { server.stop() }
        let console = try consoleClient(server.url)
        defer { console.shutdown() }
        _ = try console.request(method: "GET", path: "version", body: nil, auth: false)
        XCTAssertEqual(server.received.count, 3)
    }

    func testThePoliciesAsStated() {
        var connection = ConsoleConnection(baseURL: "http://x")
        connection.maxRetries = 4
        connection.refusalTolerance = 12
        let console = RetryPolicy.console(connection)
        XCTAssertEqual(console.maxRetries, 4)
        XCTAssertEqual(console.refusalTolerance, 12)
        XCTAssertTrue(console.retries(status: 429, .unprocessedOnly))
        XCTAssertFalse(console.retries(status: 503, .unprocessedOnly))
        XCTAssertTrue(console.retries(status: 503, .always))
        XCTAssertTrue(console.retries(status: 501, .always))
        XCTAssertFalse(console.retries(status: 429, .never))
        XCTAssertFalse(console.retries(status: 409, .always))
        let kube = RetryPolicy.kubernetes(KubeClient.Options())
        XCTAssertNil(kube.refusalTolerance, "refusals count against maxRetries")
        XCTAssertFalse(kube.retries(status: 501, .always))
        XCTAssertTrue(kube.retries(status: 504, .always))
    }

    // MARK: - Retry-After

    /// A `Retry-After` in seconds is what the retry waits (capped at `maxRetryAfter`); one that
    /// is not a number of seconds (an HTTP date, a negative number) leaves the backoff — on
    /// both peers, announced in the retry line.
    func testRetryAfterIsHonouredAndCappedOnBothPeers() throws {
        let cases: [(header: String, shown: String)] = [
            ("0.2", "in 0.2 s"), ("100", "in 0.3 s"), ("  0.1 ", "in 0.1 s"), ("-5", "in 0.0 s"),
            ("Wed, 21 Oct 2015 07:28:00 GMT", "in 0.0 s"),
        ]
        for (header, shown) in cases {
            // Each server answers its first request 429 with the header, then 200.
            func server() throws -> LoopbackHTTPServer {
                let calls = Counter()
                return try LoopbackHTTPServer { _ in
                    calls.next() == 1 ? .init(429, "{}", headers: [("Retry-After", header)])
                        : .init(200, #"{"kind":"APIResourceList","resources":[]}"#)
                }
            }
            let consoleServer = try server()
            defer { consoleServer.stop() }
            let lines = Lines()
            let console = try consoleClient(consoleServer.url) { $0.maxRetryAfter = 0.3 }
            defer { console.shutdown() }
            console.onRetry = { lines.append($0) }
            XCTAssertEqual(try console.request(method: "GET", path: "version", body: nil, auth: false).status, 200)
            XCTAssertEqual(lines.all, ["GET /api/v1/version: 429 Too Many Requests; retry 1/2 \(shown)"], header)

            let kubeLines = Lines()
            let kubeServer = try server()
            defer { kubeServer.stop() }
            let kube = try kubeClient(kubeServer.url) { $0.maxRetryAfter = 0.3 }
            defer { kube.close() }
            kube.onRetry = { kubeLines.append($0) }
            XCTAssertEqual(try kube.resources(apiVersion: "v1"), [])
            XCTAssertEqual(kubeLines.all, ["discover v1: GET /api/v1: 429 Too Many Requests; retry 1/2 \(shown)"], header)
        }
    }

    // MARK: - One interrupt

    /// A `Retry-After` of 30 s, on either peer, ends at the interrupt: the request fails as
    /// interrupted instead of waiting it out — also when the token is fired through the other
    /// client (one token for the run) or is the one `time.sleep` pauses on.
    func testAnInterruptEndsARetryWaitOnEitherPeer() throws {
        let server = try LoopbackHTTPServer { _ in .init(503, "{}", headers: [("Retry-After", "30")]) }
        defer { server.stop() }
        for firedThrough in ["console", "kube", "token"] {
            let token = InterruptToken()
            let console = try consoleClient(server.url, interrupt: token) { $0.maxRetryAfter = 30 }
            let kube = try kubeClient(server.url, interrupt: token) { $0.maxRetryAfter = 30 }
            defer {
                console.shutdown()
                kube.close()
            }
            let consoleWaits = Lines()
            let kubeWaits = Lines()
            console.onRetry = { consoleWaits.append($0) }
            kube.onRetry = { kubeWaits.append($0) }
            let c = console, k = kube
            let consoleDone = DispatchSemaphore(value: 0)
            let kubeDone = DispatchSemaphore(value: 0)
            let sleepDone = DispatchSemaphore(value: 0)
            let errors = Lines()
            Thread {
                do { _ = try c.request(method: "GET", path: "version", body: nil, auth: false) } catch { errors.append("console: \(error)") }
                consoleDone.signal()
            }.start()
            Thread {
                do { _ = try k.resources(apiVersion: "v1") } catch { errors.append("kube: \(error)") }
                kubeDone.signal()
            }.start()
            Thread {
                if !token.pause(30) { errors.append("sleep: interrupted") }
                sleepDone.signal()
            }.start()
            eventually("both clients wait 30 s to retry") { !consoleWaits.all.isEmpty && !kubeWaits.all.isEmpty }
            XCTAssertTrue(consoleWaits.all[0].hasSuffix("retry 1/2 in 30.0 s"), consoleWaits.all[0])
            switch firedThrough {
            case "console": console.interrupt()
            case "kube": kube.interrupt()
            default: token.fire()
            }
            XCTAssertEqual(consoleDone.wait(timeout: .now() + 10), .success, "the console's wait did not end (\(firedThrough))")
            XCTAssertEqual(kubeDone.wait(timeout: .now() + 10), .success, "the Kubernetes wait did not end (\(firedThrough))")
            XCTAssertEqual(sleepDone.wait(timeout: .now() + 10), .success, "the sleep did not end (\(firedThrough))")
            XCTAssertEqual(errors.all.sorted(), [
                "console: GET /api/v1/version: interrupted", "kube: discover v1: interrupted", "sleep: interrupted",
            ], firedThrough)
            XCTAssertTrue(console.isInterrupted && kube.interruptToken.isFired)
            XCTAssertEqual(console.requestCount, 1)
            XCTAssertEqual(kube.requestCount, 1)
        }
    }

    /// The interrupt also abandons a request in flight (the server never answers), on either
    /// peer, and once fired, no request is sent at all.
    func testAnInterruptAbandonsARequestInFlightAndRefusesNewOnes() throws {
        let server = try LoopbackHTTPServer { _ in .hang }
        defer { server.stop() }
        let token = InterruptToken()
        let console = try consoleClient(server.url, interrupt: token) { $0.requestTimeout = 30 }
        let kube = try kubeClient(server.url, interrupt: token) { $0.requestTimeout = 30 }
        defer {
            console.shutdown()
            kube.close()
        }
        console.setCredentials(username: "u", password: "transport-test-password")
        let c = console, k = kube
        let errors = Lines()
        let done = DispatchSemaphore(value: 0)
        Thread {
            do { _ = try c.request(method: "PUT", path: "policies/runtime/host", body: ["rules": []]) } catch { errors.append("\(error)") }
            done.signal()
        }.start()
        Thread {
            do { _ = try k.get(apiVersion: "v1", kind: "ConfigMap", namespace: "ns", name: "x") } catch { errors.append("\(error)") }
            done.signal()
        }.start()
        // The console's first request is its login (POST authenticate), the API server's its discovery.
        eventually("both requests reach the server") { server.received.count == 2 }
        token.fire()
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(errors.all.sorted(), ["POST /api/v1/authenticate: interrupted", "discover ConfigMap (v1): interrupted"])
        // Fired: nothing more is sent, by either client.
        XCTAssertThrowsError(try console.request(method: "GET", path: "version", body: nil, auth: false)) { error in
            XCTAssertEqual("\(error)", "GET /api/v1/version: interrupted")
        }
        XCTAssertThrowsError(try kube.resources(apiVersion: "apps/v1")) { error in
            guard let e = error as? KubeError, case .interrupted = e.reason else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(server.received.count, 2)
        XCTAssertEqual(console.requestCount + kube.requestCount, 2)
        XCTAssertFalse(token.pause(5), "a sleep after the interrupt ends at once")
    }

    // MARK: - Failures by type

    /// A port nothing listens on: "connection refused" on both peers, retried (the console
    /// for its refusal tolerance, the API server within maxRetries), never "timed out".
    func testARefusedConnectionIsNamedAndRetriedOnBothPeers() throws {
        let port = try Loopback.closedPort()
        let url = "http://127.0.0.1:\(port)"
        let console = try consoleClient(url)
        defer { console.shutdown() }
        // A creation too: a refused connection sent nothing, so the console cannot have processed it.
        XCTAssertThrowsError(try console.request(method: "POST", path: "users", body: ["username": "u"], auth: false)) { error in
            XCTAssertEqual("\(error)", "POST /api/v1/users: no answer from the console (connection refused: nothing listens at \(url) (the port is closed, or the console is not running yet))")
        }
        XCTAssertGreaterThan(console.requestCount, 1)
        let kube = try kubeClient(url)
        defer { kube.close() }
        XCTAssertThrowsError(try kube.resources(apiVersion: "v1")) { error in
            guard let e = error as? KubeError, case .transport(let text) = e.reason else { return XCTFail("\(error)") }
            XCTAssertEqual(text, "connection refused: nothing listens at \(url) (the port is closed, or the API server is not running yet)")
        }
        XCTAssertEqual(kube.requestCount, 3)
    }

    /// No answer within the request timeout, and a connection closed without an answer: each
    /// named for what it is; a read is sent again, a creation never (it may have landed).
    func testATimeoutAndAClosedConnectionAreNamedAndRetriedOnlyWhenSafe() throws {
        let cases: [(LoopbackHTTPServer.Response, console: String, kube: String)] = [
            (.hang, "the request timed out", "the request timed out"),
            (.closeWithoutAnswer, "the console closed the connection", "the API server closed the connection"),
        ]
        for (reply, consoleText, kubeText) in cases {
            let server = try LoopbackHTTPServer { _ in reply }
            defer { server.stop() }
            let console = try consoleClient(server.url) { $0.requestTimeout = 0.3 }
            defer { console.shutdown() }
            XCTAssertThrowsError(try console.request(method: "GET", path: "settings/certs", body: nil, auth: false)) { error in
                XCTAssertEqual("\(error)", "GET /api/v1/settings/certs: no answer from the console (\(consoleText))")
            }
            XCTAssertEqual(console.requestCount, 3, consoleText)
            XCTAssertThrowsError(try console.request(method: "POST", path: "users", body: ["username": "u"], auth: false)) { error in
                XCTAssertEqual("\(error)", "POST /api/v1/users: no answer from the console (\(consoleText))")
            }
            XCTAssertEqual(console.requestCount, 4, "a creation whose outcome is unknown is not sent again (\(consoleText))")
            let kube = try kubeClient(server.url) { $0.requestTimeout = 0.3 }
            defer { kube.close() }
            XCTAssertThrowsError(try kube.resources(apiVersion: "v1")) { error in
                XCTAssertEqual("\(error)", "discover v1: no answer from the Kubernetes API (\(kubeText))")
            }
            XCTAssertEqual(kube.requestCount, 3, kubeText)
        }
    }

    /// TLS failures — an https URL on a plain-HTTP port, a certificate from a CA the client does
    /// not trust — are named for what they are and never retried, even for a read, on both
    /// peers; no dependency text (BoringSSL's source paths, type names) reaches the sentence.
    func testTLSFailuresAreNamedAndNeverRetriedOnBothPeers() throws {
        guard OpenSSL.isAvailable else {
            throw XCTSkip("openssl is needed to make test certificates")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("transport-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let (_, certPath, keyPath) = try TestCertificates.localhost(in: dir)
        let plain = KubeSimulator(options: .init(token: nil))
        try plain.start()
        defer { plain.stop() }
        let tls = KubeSimulator(options: .init(token: nil, tlsCertificatePEM: try String(contentsOfFile: certPath, encoding: .utf8),
                                               tlsKeyPEM: try String(contentsOfFile: keyPath, encoding: .utf8)))
        try tls.start()
        defer { tls.stop() }
        let plainURL = "https://127.0.0.1:\(plain.port)"
        let cases: [(url: String, console: String, kube: String)] = [
            (plainURL,
             "TLS: the console at \(plainURL) speaks plain HTTP, not HTTPS: use http://127.0.0.1:\(plain.port) (or the console's HTTPS port)",
             "TLS: the API server at \(plainURL) speaks plain HTTP, not HTTPS: use http://127.0.0.1:\(plain.port) (or the API server's HTTPS port)"),
            (tls.baseURL,
             "TLS: the console at \(tls.baseURL) presents a certificate the job does not trust (not issued by a CA it knows): give its CA with --ca-file",
             "TLS: the API server at \(tls.baseURL) presents a certificate the job does not accept (not issued by a CA it trusts, expired, or for another name)"),
        ]
        for (url, consoleText, kubeText) in cases {
            let console = try consoleClient(url)
            defer { console.shutdown() }
            XCTAssertThrowsError(try console.request(method: "GET", path: "version", body: nil, auth: false)) { error in
                XCTAssertEqual("\(error)", "GET /api/v1/version: no answer from the console (\(consoleText))")
            }
            XCTAssertEqual(console.requestCount, 1, "never retried: \(url)")
            let kube = try kubeClient(url)
            defer { kube.close() }
            XCTAssertThrowsError(try kube.resources(apiVersion: "v1")) { error in
                XCTAssertEqual("\(error)", "discover v1: no answer from the Kubernetes API (\(kubeText))")
                for leak in [".build", "checkouts", "OPENSSL_internal", "NIOSSLError", "handshakeFailed"] {
                    XCTAssertFalse("\(error)".contains(leak), "\(leak): \(error)")
                }
            }
            XCTAssertEqual(kube.requestCount, 1, "never retried: \(url)")
        }
        XCTAssertEqual(tls.requests.count, 0, "no request got through the refused handshakes")
    }
}
