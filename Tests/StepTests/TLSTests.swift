import ConsoleSimulator
import Foundation
import JSONModel
import TwistlockInit
import XCTest

/// The console over HTTPS with a certificate from a private CA: verified with --ca-file,
/// refused without it (the job never turns verification off).
final class TLSTests: XCTestCase {
    /// Makes a CA and a server certificate for 127.0.0.1 with openssl; returns (ca, cert, key).
    static func makeCertificates(in dir: URL) throws -> (String, String, String) {
        let ca = dir.appendingPathComponent("ca.pem").path
        let caKey = dir.appendingPathComponent("ca.key").path
        let key = dir.appendingPathComponent("server.key").path
        let csr = dir.appendingPathComponent("server.csr").path
        let cert = dir.appendingPathComponent("server.pem").path
        let ext = dir.appendingPathComponent("ext.cnf").path
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
            .write(toFile: ext, atomically: true, encoding: .utf8)
        let commands: [[String]] = [
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", caKey, "-out", ca, "-days", "2",
             "-subj", "/CN=twistlock-init test CA", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"],
            ["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", caKey, "-CAcreateserial", "-out", cert,
             "-days", "2", "-extfile", ext],
        ]
        for args in commands {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            p.arguments = args
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else { throw NSError(domain: "openssl", code: Int(p.terminationStatus)) }
        }
        return (ca, cert, key)
    }

    func testHTTPSConsoleIsVerifiedWithTheGivenCAAndRefusedWithout() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") else {
            throw XCTSkip("openssl is needed to make test certificates")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let (ca, cert, key) = try TLSTests.makeCertificates(in: dir)
        var options = SimulatorOptions()
        options.tlsCertificatePath = cert
        options.tlsKeyPath = key
        let h = try await StepHarness.start(options: options)
        XCTAssertTrue(h.consoleURL.hasPrefix("https://"))

        let refused = try await h.run(values: "init: {waitTimeoutSeconds: 5}")
        XCTAssertEqual(refused.report.exitCode, 1, refused.output)
        XCTAssertEqual(refused.step("wait")?.status, .failed)
        XCTAssertTrue(refused.step("wait")?.error?.contains("TLS") ?? false, refused.step("wait")?.error ?? "")
        XCTAssertTrue(refused.step("wait")?.error?.contains("--ca-file") ?? false)

        let verified = try await h.run(configure: { $0.caFile = ca })
        XCTAssertEqual(verified.report.exitCode, 0, verified.output)
        XCTAssertEqual(verified.step("license")?.status, .done)
        await h.stop()
    }

    func testUnreadableCAFileIsInvalidInput() async throws {
        let h = try await StepHarness.start()
        let run = try await h.run(configure: { $0.caFile = "/nonexistent/ca.pem" })
        XCTAssertEqual(run.report.exitCode, 2, run.output)
        XCTAssertTrue(run.output.contains("/nonexistent/ca.pem"), run.output)
        await h.stop()
    }
}
