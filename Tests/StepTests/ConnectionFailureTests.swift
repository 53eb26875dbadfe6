import ConsoleSimulator
import Foundation
import JSONModel
import TestSupport
import TwistlockInit
import XCTest

/// Each way of not reaching the console gets its own sentence, with the URL, in the operator's
/// words — never a dependency's source path or raw TLS library text (issue 15).
final class ConnectionFailureTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        guard OpenSSL.isAvailable else {
            throw XCTSkip("openssl is needed to make test certificates")
        }
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("conn-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let dir { try? FileManager.default.removeItem(at: dir) }
    }

    /// A CA and a server certificate for `san`, valid from `start` to `end` (openssl ca dates).
    func certificates(san: String, start: String, end: String) throws -> (ca: String, cert: String, key: String) {
        let d = dir.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: d.appendingPathComponent("db/new"), withIntermediateDirectories: true)
        try "".write(to: d.appendingPathComponent("db/index"), atomically: true, encoding: .utf8)
        try "01\n".write(to: d.appendingPathComponent("db/serial"), atomically: true, encoding: .utf8)
        try """
        [ca]
        default_ca = d
        [d]
        database = db/index
        new_certs_dir = db/new
        serial = db/serial
        default_md = sha256
        policy = p
        [p]
        commonName = supplied
        [e]
        subjectAltName = \(san)
        basicConstraints = CA:FALSE
        extendedKeyUsage = serverAuth
        """.write(to: d.appendingPathComponent("ca.cnf"), atomically: true, encoding: .utf8)
        try OpenSSL.run(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
                         "-subj", "/CN=connection test CA", "-addext", "basicConstraints=critical,CA:TRUE",
                         "-addext", "keyUsage=critical,keyCertSign,cRLSign"], in: d)
        try OpenSSL.run(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=server"], in: d)
        try OpenSSL.run(["ca", "-batch", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key", "-in", "server.csr",
                         "-out", "server.pem", "-startdate", start, "-enddate", end, "-extensions", "e"], in: d)
        return (d.appendingPathComponent("ca.pem").path, d.appendingPathComponent("server.pem").path, d.appendingPathComponent("server.key").path)
    }

    func tlsHarness(_ certs: (ca: String, cert: String, key: String)) async throws -> StepHarness {
        var options = SimulatorOptions()
        options.tlsCertificatePath = certs.cert
        options.tlsKeyPath = certs.key
        return try await StepHarness.start(options: options)
    }

    /// The wait step's error for a run against `url` (a short wait).
    func waitError(_ h: StepHarness, url: String? = nil, caFile: String? = nil,
                   file: StaticString = #filePath, line: UInt = #line) async throws -> String {
        let run = try await h.run(sets: ["init.waitTimeoutSeconds=1"], configure: {
            if let url { $0.consoleURL = url }
            $0.caFile = caFile
        })
        XCTAssertEqual(run.report.exitCode, 1, run.output, file: file, line: line)
        XCTAssertEqual(run.step("wait")?.status, .failed, run.output, file: file, line: line)
        for leak in [".build", "checkouts", "OPENSSL_internal", "BoringSSL", "NIOSSLError", "handshakeFailed", "Error: "] {
            XCTAssertFalse(run.output.contains(leak), "\(leak) in: \(run.output)", file: file, line: line)
        }
        return run.step("wait")?.error ?? ""
    }

    func testHTTPSAgainstAPlainHTTPPortSaysTheConsoleSpeaksPlainHTTP() async throws {
        let h = try await StepHarness.start()
        let https = h.consoleURL.replacingOccurrences(of: "http://", with: "https://")
        let error = try await waitError(h, url: https)
        XCTAssertTrue(error.contains("the console at \(https) speaks plain HTTP, not HTTPS: use \(h.consoleURL)"), error)
        XCTAssertFalse(error.contains("--ca-file"), "no wrong hint: \(error)")
        // The same with a CA given: still the port, not the certificate.
        let withCA = try await waitError(h, url: https, caFile: TestCertificates.localhost(in: dir).ca)
        XCTAssertTrue(withCA.contains("speaks plain HTTP"), withCA)
        await h.stop()
    }

    func testHTTPAgainstATLSPortSaysToUseHTTPS() async throws {
        let certs = try certificates(san: "IP:127.0.0.1", start: "20200101000000Z", end: "20991231000000Z")
        let h = try await tlsHarness(certs)
        let http = h.consoleURL.replacingOccurrences(of: "https://", with: "http://")
        let error = try await waitError(h, url: http, caFile: certs.ca)
        XCTAssertTrue(error.contains("the console at \(http) did not answer in HTTP — if this port serves HTTPS, use \(h.consoleURL)")
                      || error.contains("the console closed the connection"), error)
        await h.stop()
    }

    func testAnUnresolvableHostIsNamed() async throws {
        let h = try await StepHarness.start()
        let url = "http://no-such-console.invalid:8081"
        let error = try await waitError(h, url: url)
        XCTAssertTrue(error.contains("the host name no-such-console.invalid of the console at \(url) does not resolve (DNS)"), error)
        await h.stop()
    }

    func testARefusedPortIsNamed() async throws {
        let h = try await StepHarness.start()
        let url = "http://127.0.0.1:\(try Loopback.closedPort())"
        let error = try await waitError(h, url: url)
        XCTAssertTrue(error.contains("connection refused: nothing listens at \(url)"), error)
        await h.stop()
    }

    func testACertificateForAnotherNameIsNamed() async throws {
        let certs = try certificates(san: "DNS:console.other.example", start: "20200101000000Z", end: "20991231000000Z")
        let h = try await tlsHarness(certs)
        let error = try await waitError(h, caFile: certs.ca)
        XCTAssertTrue(error.contains("the console at \(h.consoleURL) presents a certificate for another name (not 127.0.0.1)"), error)
        XCTAssertFalse(error.contains("--ca-file"), error)
        await h.stop()
    }

    func testAnExpiredCertificateIsNamed() async throws {
        let certs = try certificates(san: "IP:127.0.0.1", start: "20200101000000Z", end: "20200102000000Z")
        let h = try await tlsHarness(certs)
        let error = try await waitError(h, caFile: certs.ca)
        XCTAssertTrue(error.contains("the console at \(h.consoleURL) presents an expired certificate (it expired 2020-01-02T00:00:00Z)"), error)
        await h.stop()
    }

    func testAnUntrustedCertificateSaysToGiveItsCA() async throws {
        let certs = try certificates(san: "IP:127.0.0.1", start: "20200101000000Z", end: "20991231000000Z")
        let h = try await tlsHarness(certs)
        let error = try await waitError(h)
        XCTAssertTrue(error.contains("the console at \(h.consoleURL) presents a certificate the job does not trust (not issued by a CA it knows): give its CA with --ca-file"), error)
        // Another CA given: said too.
        let other = try certificates(san: "IP:127.0.0.1", start: "20200101000000Z", end: "20991231000000Z")
        let wrongCA = try await waitError(h, caFile: other.ca)
        XCTAssertTrue(wrongCA.contains("(the one given does not issue it)"), wrongCA)
        await h.stop()
    }

    func testAProxyInTheWayIsNamed() async throws {
        let h = try await StepHarness.start()
        let proxy = try LoopbackHTTPServer { _ in .init(407, "<html><body>Proxy Authentication Required</body></html>", contentType: "text/html") }
        let error = try await waitError(h, url: proxy.url)
        XCTAssertTrue(error.contains("a proxy is in the way: \(proxy.url) answered 407 Proxy Authentication Required"), error)
        await h.stop()
    }
}
