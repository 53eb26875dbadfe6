import JSONModel
import TwistlockInit
import XCTest

/// The redactor on its own (docs/reliability.md, "Secrets"); StepTests.HardeningLeakTests runs
/// the same through the job.
final class RedactorTests: XCTestCase {
    /// Tokens anywhere in an answer, however the field is spelled, are added to the redactor.
    func testTokensAnywhereInAnAnswerAreMasked() throws {
        let r = Redactor()
        r.addTokens(in: try JSON.parse(#"{"data":{"accessToken":"abcd-ACCESS-1234"},"items":[{"refresh_token":"zzzz-REFRESH-9"}],"TOKEN":"UPPER-TOKEN-x"}"#))
        let line = "a abcd-ACCESS-1234 b zzzz-REFRESH-9 c UPPER-TOKEN-x"
        XCTAssertEqual(r.redact(line), "a \(Redactor.mask) b \(Redactor.mask) c \(Redactor.mask)")
        r.addAuthorization("Bearer eyJhbGciOi-header-token")
        XCTAssertFalse(r.redact("sent eyJhbGciOi-header-token").contains("eyJhbGciOi"))
    }
}
