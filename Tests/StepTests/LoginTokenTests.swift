import Foundation
import JSONModel
import TestSupport
import TwistlockInit
import XCTest

/// Issue 13 point 7: a login the console answers 2xx without a usable token fails the admin
/// step naming the endpoint (it used to go on and send every request without a token).
final class LoginTokenTests: XCTestCase {
    func testALoginAnsweredWithoutAUsableTokenFailsTheAdminStepNamingTheEndpoint() async throws {
        let h = try await StepHarness.start()
        let answers: [(String, String)] = [
            ("{}", "without a token"),
            (#"{"token":""}"#, "with an empty token"),
            (#"{"token":12345}"#, "with a token that is integer, not a string"),
            (#"{"token":null}"#, "with a token that is null, not a string"),
            (#"{"token":"abc\r\nX-Evil: 1"}"#, "with a token that is not printable ASCII"),
            (#"["token"]"#, "without a token"),
            ("", "without a token"),
        ]
        for (body, expected) in answers {
            let fake = try LoopbackHTTPServer { request in
                switch (request.method, request.path) {
                case ("GET", "/api/v1/settings/initialized"): return .init(200, #"{"initialized":true}"#)
                case ("POST", "/api/v1/authenticate"): return .init(200, body)
                default: return .init(404, #"{"err":"not here"}"#)
                }
            }
            let run = try await h.run(only: ["admin"]) { $0.consoleURL = fake.url }
            fake.stop()
            XCTAssertEqual(run.report.exitCode, 1, "\(body): \(run.output)")
            let error = run.step("admin")?.error ?? ""
            XCTAssertTrue(error.contains("POST /api/v1/authenticate: the console answered 200 \(expected); cannot log in"),
                          "\(body): \(error)")
            XCTAssertEqual(run.step("admin")?.status, .failed)
        }
        await h.stop()
    }
}
