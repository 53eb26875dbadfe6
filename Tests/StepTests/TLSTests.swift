import ConsoleSimulator
import Foundation
import JSONModel
import TestSupport
import TwistlockInit
import XCTest

/// The console over HTTPS with a certificate from a private CA: verified with --ca-file,
/// refused without it (the job never turns verification off).
final class TLSTests: XCTestCase {
    func testHTTPSConsoleIsVerifiedWithTheGivenCAAndRefusedWithout() async throws {
        guard OpenSSL.isAvailable else {
            throw XCTSkip("openssl is needed to make test certificates")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let (ca, cert, key) = try TestCertificates.localhost(in: dir)
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
