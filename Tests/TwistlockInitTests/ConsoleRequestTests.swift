import Foundation
import TwistlockInit
import XCTest

/// Issue 13 point 1, the parsed request: what a request is (read or write, idempotent, which
/// endpoint) comes from `ConsoleRequest`, the method and the endpoint after normalising the
/// path, never its text. StepTests.PlanSafetyTests runs the same through the job.
final class ConsoleRequestTests: XCTestCase {
    func testPathSpellingsNormaliseToOneEndpoint() throws {
        let spellings = [
            "users", "users/../users", "%75sers", "USERS", "users#x", "./users", "users/",
            "users?x=/authenticate", "/api/v1/users", "/api/v1//./users", "authenticate/../users",
            "users/alice/..", "%2e/users", "users/%2E%2E/users",
        ]
        for s in spellings {
            let r = try ConsoleRequest(method: "POST", path: s)
            XCTAssertEqual(r.endpoint, "users", s)
            XCTAssertEqual(r.kind, .write, s)
            XCTAssertFalse(r.idempotent, "a POST that creates is never repeated: \(s)")
            XCTAssertTrue(r.wirePath.lowercased().hasPrefix("/api/v1/users"), "\(s) → \(r.wirePath)")
            XCTAssertFalse(r.wirePath.contains("#"), s)
        }
        // A leading `//` is an absolute path (outside the API root): `/users`, never the API's users.
        let doubled = try ConsoleRequest(method: "POST", path: "//users")
        XCTAssertEqual(doubled.wirePath, "/users")
        XCTAssertEqual(doubled.kind, .write)
        XCTAssertEqual(try ConsoleRequest(method: "POST", path: "users//alice///x").wirePath, "/api/v1/users/alice/x")
        XCTAssertEqual(try ConsoleRequest(method: "GET", path: "users?x=/authenticate").wirePath, "/api/v1/users?x=/authenticate")
        XCTAssertEqual(try ConsoleRequest(method: "GET", path: "users/a%40b").wirePath, "/api/v1/users/a%40b")
        // A decoded slash stays inside its segment: one odd segment, never `authenticate`.
        let odd = try ConsoleRequest(method: "POST", path: "users%2F..%2Fauthenticate")
        XCTAssertEqual(odd.segments, ["users/../authenticate"])
        XCTAssertEqual(odd.wirePath, "/api/v1/users%2F..%2Fauthenticate")
        XCTAssertEqual(try ConsoleRequest(method: "GET", path: "/api/v34.04/users/../version").wirePath, "/api/v34.04/version")
    }

    func testMethodsAreCaseFoldedAndUnknownOnesRefused() throws {
        for (m, kind) in [("get", ConsoleRequest.Kind.read), ("Head", .read), ("delete", .write), ("pAtCh", .write),
                          ("put", .write), ("post", .write)] {
            let r = try ConsoleRequest(method: m, path: "users/alice")
            XCTAssertEqual(r.kind, kind, m)
            XCTAssertEqual(r.method, m.uppercased())
        }
        for m in ["PURGE", "GET ", "", "DELETE\r\nX: y", "OPTIONS"] {
            XCTAssertThrowsError(try ConsoleRequest(method: m, path: "users"), m)
        }
    }

    func testPathsThatClimbOutOrDoNotDecodeAreRefused() {
        for p in ["..", "../authenticate", "users/../../x", "/api/v1/../v34.04/users", "/api/v1/%2e%2e/%2E%2E/etc",
                  "users/%zz", "users/%4", "users/%00", "users/%C3", "", "/", "users?a b"] {
            XCTAssertThrowsError(try ConsoleRequest(method: "GET", path: p), p) { error in
                XCTAssertTrue(error is ConsoleRequestError, "\(p): \(error)")
            }
        }
    }

    /// `read = true` is accepted for the known read-only POSTs only, however spelled; anything
    /// else is refused — including the issue's `users?x=/authenticate`.
    func testReadOnlyPostIsExplicitAndOnlyForKnownReads() throws {
        for p in ["authenticate", "AUTHENTICATE", "/api/v1/authenticate", "users/../authenticate", "authenticate?x=1",
                  "defenders/daemonset.yaml", "Defenders//daemonset.yaml", "%64efenders/daemonset.yaml#frag"] {
            let r = try ConsoleRequest(method: "POST", path: p, read: true)
            XCTAssertEqual(r.kind, .readOnlyPost, p)
            XCTAssertTrue(r.idempotent, p)
        }
        for p in ["users?x=/authenticate", "users/alice?/authenticate", "users%2F..%2Fauthenticate", "authenticate/x",
                  "settings/license?foo", "defenders/daemonset.yaml/../../users", "x/authenticate", "/sim/authenticate",
                  "defenders/daemonset.yaml.bak"] {
            XCTAssertThrowsError(try ConsoleRequest(method: "POST", path: p, read: true), p)
        }
        // Without read = true a POST to a known read is a write (the step must say so).
        XCTAssertEqual(try ConsoleRequest(method: "POST", path: "authenticate").kind, .write)
        // read = true is for POSTs only.
        XCTAssertThrowsError(try ConsoleRequest(method: "DELETE", path: "authenticate", read: true))
        XCTAssertThrowsError(try ConsoleRequest(method: "put", path: "defenders/daemonset.yaml", read: true))
    }

    /// Whether a request may be repeated is stated by whoever makes it, never read from its
    /// path: a POST is repeatable when the step says `idempotent = true` (as the steps do for the
    /// `settings/*` POSTs that set a whole object), however the path is spelled; without that
    /// statement no POST is — `settings/license` included — and a creation never is; PUT and
    /// DELETE are by HTTP's rule unless the step says otherwise.
    func testIdempotencyIsStatedByTheRequestsMakerNotReadFromItsPath() throws {
        for p in ["settings/license", "SETTINGS/license", "settings//license?foo", "./settings/x/../license"] {
            XCTAssertTrue(try ConsoleRequest(method: "POST", path: p, idempotent: true).idempotent, p)
            XCTAssertEqual(try ConsoleRequest(method: "POST", path: p, idempotent: true).repeatability, .always, p)
            XCTAssertFalse(try ConsoleRequest(method: "POST", path: p).idempotent, p)
            XCTAssertEqual(try ConsoleRequest(method: "POST", path: p).repeatability, .unprocessedOnly, p)
        }
        for p in ["users?settings/x", "settings%2Flicense", "users#settings/license", "signup", "settings"] {
            XCTAssertFalse(try ConsoleRequest(method: "POST", path: p).idempotent, p)
        }
        XCTAssertTrue(try ConsoleRequest(method: "delete", path: "users/alice").idempotent)
        XCTAssertFalse(try ConsoleRequest(method: "PATCH", path: "users/alice").idempotent)
        XCTAssertFalse(try ConsoleRequest(method: "PUT", path: "users", idempotent: false).idempotent)
        XCTAssertTrue(try ConsoleRequest(method: "POST", path: "custom-rules", idempotent: true).idempotent)
    }
}
