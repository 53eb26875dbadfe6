import ConsoleSimulator
import Foundation
import JSONModel
import TestSupport
import TwistlockInit
import XCTest

/// Bad input (issue 8, docs/reliability.md "Bad input"): values the job must refuse before
/// sending anything, and console answers it must refuse with a clear error naming the step
/// and the endpoint — malformed JSON, HTML pages, the wrong JSON shape, a huge body, a
/// license date that is not a date, a Defender manifest that is not YAML — without a crash,
/// without writing anything derived from the bad answer, and without losing a setting a
/// person made.
final class HardeningInputTests: XCTestCase {
    // MARK: - Values: refused before any request

    func testInvalidValuesFailBeforeAnyRequestNamingEveryKey() async throws {
        let h = try await Hardening.start()
        let cases: [(values: String, sets: [String], names: [String])] = [
            ("""
            policies: {enabled: "yes please", vulnerabilities: {alertThreshold: severe}}
            console: {additionalUsers: [{username: dave, role: user, authType: kerberos, password: x-long}], groups: {g: 1}}
            defender: {rolloutTimeoutSeconds: 0, podLabels: [a]}
            init: {waitTimeoutSeconds: "ten"}
            sso: {enabled: true}
            """, [], ["policies.enabled", "policies.vulnerabilities.alertThreshold", "console.additionalUsers[0].authType",
                     "console.groups", "defender.rolloutTimeoutSeconds", "defender.podLabels", "init.waitTimeoutSeconds",
                     "sso.client_id", "sso.cert"]),
            ("- just\n- a list\n", [], ["the top level is not a mapping"]),
            ("a: &a [1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n",
             [], ["aliases expand to more than"]),
            ("console:\n  license: a\n  license: b\n", [], ["duplicate key \"license\""]),
            ("", ["console.groups[0]].role=admin", "policies..name=x"], ["--set console.groups[0]].role=…", "--set policies..name=…"]),
            ("console: {credentials: {username: \"\"}}\n", [], ["console.credentials.username: required"]),
        ]
        for (n, c) in cases.enumerated() {
            try await h.clearRequests()
            let run = try await h.run(values: c.values, sets: c.sets)
            XCTAssertEqual(run.report.exitCode, 2, "case \(n): \(run.output)")
            XCTAssertTrue(run.report.steps.isEmpty, "case \(n): steps ran")
            XCTAssertTrue(run.output.contains("nothing was sent to the console"), run.output)
            for name in c.names {
                XCTAssertTrue(run.report.problems.contains { $0.contains(name) }, "case \(n): \(name) not named in \(run.report.problems)")
                XCTAssertTrue(run.output.contains(name), "case \(n): \(name) not printed")
            }
            let requests = try await h.requests()
            XCTAssertEqual(requests.count, 0, "case \(n): requests were sent: \(requests)")
        }
        await h.stop()
    }

    // MARK: - Answers of the wrong shape, malformed, HTML — on every read of every step

    /// Each read of every step answers once with valid JSON of the wrong shape (an array where
    /// an object was expected, or the reverse) — then, in the tests below, with truncated JSON
    /// and with an HTML page under 200 OK. The job either shrugs it off or fails naming the
    /// step and the endpoint — and never writes anything made from the bad answer: every
    /// setting a person made survives, and a clean run afterwards writes only the license.
    func testWrongShapeAnswersOnEveryReadLoseNothing() async throws {
        let outcome = try await badAnswersOnEveryRead(kind: "wrongShape")
        // Every wrong shape stops its step at the read, naming the step and the endpoint
        // (`step "sso": GET /api/v1/settings/saml: expected a JSON object, got an array`),
        // before any write is built — `admin` too, which must not take an array for "not
        // initialized". Only the custom rules, read for information, fall back (to their ids).
        XCTAssertEqual(outcome.unnamed, [], "errors that do not name their endpoint")
        XCTAssertEqual(outcome.passed, ["wrongShape on GET custom-rules"], "wrong shapes the job went on with")
        for (what, error) in outcome.errors {
            let path = String(what.dropFirst("wrongShape on GET ".count))
            XCTAssertTrue(error.contains("GET /api/v1/\(path): expected a JSON "), "\(what): \(error)")
            XCTAssertFalse(error.contains("marked as a JSON array"), "\(what): caught by the bridge, not the step: \(error)")
        }
        // The exact messages, at the step's own line.
        for (path, step, message) in [
            ("settings/saml", "sso", "GET /api/v1/settings/saml: expected a JSON object, got an array"),
            ("settings/initialized", "admin", "GET /api/v1/settings/initialized: expected a JSON object, got an array"),
            ("users", "users", "GET /api/v1/users: expected a JSON array, got an object"),
        ] {
            let error = outcome.errors["wrongShape on GET \(path)"] ?? "\(step) did not fail"
            XCTAssertTrue(error.hasPrefix("step \"\(step)\": steps/\(step).lua:"), error)
            XCTAssertTrue(error.hasSuffix(message), error)
        }
    }

    func testMalformedJSONOnEveryReadFailsNamingTheStepAndEndpointAndLosesNothing() async throws {
        let outcome = try await badAnswersOnEveryRead(kind: "malformedJSON")
        XCTAssertEqual(outcome.unnamed, [], "errors that do not name their endpoint")
    }

    func testHTMLPagesOnEveryReadFailNamingTheStepAndEndpointAndLoseNothing() async throws {
        let outcome = try await badAnswersOnEveryRead(kind: "htmlError")
        XCTAssertEqual(outcome.unnamed, [], "errors that do not name their endpoint")
    }

    /// What `badAnswersOnEveryRead` saw: each failed case's error, the cases whose error does
    /// not name the endpoint, and the cases the job completed despite the bad answer.
    struct BadAnswerOutcome {
        var errors: [String: String] = [:]
        var unnamed = Set<String>()
        var passed = Set<String>()
    }

    /// Runs the job once per read (but `version`) with one bad answer of `kind` on it. In every
    /// case nothing is written but the license key (which every run sends before its reads).
    func badAnswersOnEveryRead(kind: String, file: StaticString = #filePath, line: UInt = #line) async throws -> BadAnswerOutcome {
        let h = try await Hardening.start()
        try await Hardening.makePersonSettings(h)
        let first = try await h.run(values: Hardening.values())
        XCTAssertEqual(first.report.exitCode, 0, first.output)
        let configured = Hardening.normalized(try await h.state())
        var failures = 0
        var outcome = BadAnswerOutcome()
        for path in HardeningFaultTests.reads where path != "version" {
            var fault: [String: JSON] = ["kind": .string(kind), "method": "GET", "path": .string(path), "count": 1]
            if kind == "htmlError" { fault["status"] = 200 }
            try await h.setFaults([.object(fault)])
            try await h.clearRequests()
            let run = try await h.run(values: Hardening.values())
            let what = "\(kind) on GET \(path)"
            let fired = try await h.firedFaults()
            XCTAssertEqual(fired.count, 1, "\(what): \(fired)", file: file, line: line)
            if run.report.exitCode != 0 {
                failures += 1
                XCTAssertEqual(run.report.exitCode, 1, "\(what): \(run.output)", file: file, line: line)
                let failed = run.report.steps.filter { $0.status == .failed }
                XCTAssertEqual(failed.count, 1, "\(what): \(run.output)", file: file, line: line)
                let error = failed.first?.error ?? ""
                XCTAssertTrue(error.hasPrefix("step \"\(failed.first?.name ?? "")\""), error, file: file, line: line)
                outcome.errors[what] = error
                if !error.contains(path) { outcome.unnamed.insert(what) }
            } else {
                outcome.passed.insert(what)
            }
            // Nothing was sent to be written (not even refused), but the license key.
            let writes = try await h.writes().map { "\($0["method"]?.stringValue ?? "") \($0["endpoint"]?.stringValue ?? "")" }
            XCTAssertEqual(writes.filter { $0 != "POST settings/license" }, [], "\(what): writes were sent", file: file, line: line)
            // Whatever happened, nothing the job or a person set was lost or replaced by
            // something made from the bad answer.
            let state = try await h.state()
            Hardening.assertPersonSettingsKept(state, file: file, line: line)
            let now = Hardening.normalized(state)
            XCTAssertEqual(now, configured, "\(what) changed: \(Hardening.differences(now, configured))", file: file, line: line)
        }
        // Most bad answers are caught (a few reads are only informational, e.g. custom rules).
        XCTAssertGreaterThan(failures, 15, "\(kind): only \(failures) runs failed", file: file, line: line)
        try await h.clearFaults()
        try await h.clearRequests()
        let clean = try await h.run(values: Hardening.values())
        XCTAssertEqual(clean.report.exitCode, 0, clean.output, file: file, line: line)
        let writes = try await h.writeEndpoints()
        XCTAssertEqual(writes, ["POST settings/license"], file: file, line: line)
        await h.stop()
        return outcome
    }

    // MARK: - One of each, with the exact message

    func testMalformedJSONNamesTheStepAndEndpoint() async throws {
        let h = try await Hardening.start()
        try await h.setFaults([["kind": "malformedJSON", "method": "GET", "path": "policies/runtime/container", "count": 1]])
        let run = try await h.run(values: Hardening.values())
        XCTAssertEqual(run.report.exitCode, 1, run.output)
        let error = run.step("runtime-policies")?.error ?? ""
        XCTAssertTrue(error.contains("runtime policy container"), error)
        XCTAssertTrue(error.contains("GET /api/v1/policies/runtime/container: the console answered with malformed JSON"), error)
        await h.stop()
    }

    func testAnHTMLErrorPageOnAWriteNamesTheObjectAfterTheRetries() async throws {
        let h = try await Hardening.start()
        try await h.setFaults([["kind": "htmlError", "method": "PUT", "path": "trust/data"]])
        let run = try await h.run(values: Hardening.values()) { $0.maxRetries = 2 }
        XCTAssertEqual(run.report.exitCode, 1, run.output)
        let error = run.step("trusted-images")?.error ?? ""
        XCTAssertTrue(error.contains("PUT /api/v1/trust/data"), error)
        XCTAssertTrue(error.contains("502 Bad Gateway: an HTML page instead of an API answer"), error)
        XCTAssertFalse(error.contains("<html"), "the page itself is not quoted: \(error)")
        let puts = try await h.requests().filter { $0["method"]?.stringValue == "PUT" && $0["endpoint"]?.stringValue == "trust/data" }
        XCTAssertEqual(puts.count, 3, "first attempt and two retries")
        await h.stop()
    }

    func testAHugeBodyIsRefusedNamingTheStepAndEndpoint() async throws {
        let h = try await Hardening.start()
        try await h.setFaults([["kind": "hugeBody", "method": "GET", "path": "static/vulnerabilities", "count": 1,
                                "bodyBytes": .int(48 << 20)]])
        let run = try await h.run(values: Hardening.values())
        XCTAssertEqual(run.report.exitCode, 1, run.output)
        let error = run.step("compliance-policies")?.error ?? ""
        XCTAssertTrue(error.contains("static/vulnerabilities"), error)
        XCTAssertLessThan(error.count, 2000, "the body is not quoted")
        XCTAssertLessThan(run.output.count, 200_000, "the body is not printed")
        await h.stop()
    }

    /// Issue 8, finding 6: an answer over the cap (32 MiB) fails at once, naming the method, the
    /// endpoint and the limit, and is not asked for again (the same answer would come back).
    func testAnAnswerOverTheCapIsRefusedNamingTheEndpointAndIsNotRetried() async throws {
        let h = try await Hardening.start()
        try await h.setFaults([["kind": "hugeBody", "method": "GET", "path": "static/vulnerabilities", "count": 3,
                                "bodyBytes": .int(Int64(ConsoleConnection.defaultMaxResponseBytes + 1))]])
        let run = try await h.run(values: Hardening.values())
        XCTAssertEqual(run.report.exitCode, 1, run.output)
        let error = run.step("compliance-policies")?.error ?? ""
        XCTAssertTrue(error.contains("GET /api/v1/static/vulnerabilities: the console's answer is larger than 32 MiB; refused"), error)
        XCTAssertLessThan(run.output.count, 200_000, "the body is not printed")
        XCTAssertFalse(run.output.contains("retry 1/"), "not retried: \(run.output)")
        let reads = try await h.requests().filter {
            $0["method"]?.stringValue == "GET" && $0["endpoint"]?.stringValue == "static/vulnerabilities"
        }
        XCTAssertEqual(reads.count, 1, "asked for once")
        await h.stop()
    }

    /// The cap is `ConsoleConnection.maxResponseBytes`: an answer of exactly that size passes,
    /// one byte more fails with `ConsoleError.responseTooLarge`, even on a request that is
    /// otherwise retried.
    func testTheAnswerCapIsExactAndItsErrorNamesTheRequest() async throws {
        let h = try await StepHarness.start()
        var connection = ConsoleConnection(baseURL: h.consoleURL)
        connection.maxResponseBytes = 4096
        connection.backoffBase = 0.01
        let client = try ConsoleClient(connection: connection, redactor: Redactor())
        defer { client.shutdown() }
        try await h.setFaults([["kind": "hugeBody", "method": "GET", "path": "_ping", "count": 1, "bodyBytes": 4096]])
        let atCap = try await Task.detached { try client.request(method: "GET", path: "_ping", body: nil, auth: false) }.value
        XCTAssertEqual(atCap.status, 200)
        XCTAssertEqual(atCap.bodyText.utf8.count, 4096)
        try await h.setFaults([["kind": "hugeBody", "method": "GET", "path": "_ping", "count": 5, "bodyBytes": 4097]])
        try await h.clearRequests()
        let before = client.requestCount
        do {
            _ = try await Task.detached { try client.request(method: "GET", path: "_ping", body: nil, auth: false) }.value
            XCTFail("expected the answer to be refused")
        } catch let error as ConsoleError {
            guard case .responseTooLarge(let method, let path, let limit) = error else { return XCTFail("\(error)") }
            XCTAssertEqual([method, path], ["GET", "/api/v1/_ping"])
            XCTAssertEqual(limit, 4096)
            XCTAssertEqual(error.description, "GET /api/v1/_ping: the console's answer is larger than 4 KiB; refused")
        }
        XCTAssertEqual(client.requestCount - before, 1, "not retried")
        await h.stop()
    }

    func testALicenseDateThatIsNotADateFailsNamingIt() async throws {
        let h = try await StepHarness.start(license: false)
        for bad in ["next Tuesday", "2027-13-45T00:00:00Z", "", "1735689600"] {
            let status = try await h.send("PUT", "/sim/state", ["license": [
                "customer_id": "acme", "type": "enterprise", "expiration_date": .string(bad), "issue_date": "2024-01-01T00:00:00Z",
            ]])
            XCTAssertEqual(status, 200)
            let run = try await h.run()
            let outcome = run.step("license")
            if bad.isEmpty {
                // An empty date is "no license": the run stops on purpose.
                XCTAssertEqual(outcome?.status, .stopped, run.output)
                continue
            }
            XCTAssertEqual(run.report.exitCode, 1, run.output)
            XCTAssertEqual(outcome?.status, .failed)
            let error = outcome?.error ?? ""
            XCTAssertTrue(error.contains("GET settings/license: expiration_date \"\(bad)\" is not an RFC 3339 date"), error)
        }
        // A date of the wrong JSON type.
        _ = try await h.send("PUT", "/sim/state", ["license": ["customer_id": "acme", "expiration_date": 1735689600]])
        let run = try await h.run()
        XCTAssertEqual(run.report.exitCode, 1, run.output)
        XCTAssertTrue(run.step("license")?.error?.contains("is not an RFC 3339 date") ?? false, run.output)
        await h.stop()
    }

    /// A console (a stand-in on loopback) whose Defender manifest is not YAML, or YAML that
    /// is not Kubernetes objects: the defenders step fails naming the endpoint; nothing is
    /// applied.
    func testADefenderManifestThatIsNotYAMLFailsNamingTheEndpoint() async throws {
        let h = try await StepHarness.start(kube: true)
        let manifests = [
            "apiVersion: v1\nkind: [unclosed\n  - : {\n\t\u{1}",
            "<html><body>Sign in</body></html>",
            "just a sentence, not a manifest",
            "- 1\n- 2\n",
            "",
        ]
        for (n, manifest) in manifests.enumerated() {
            let fake = try LoopbackHTTPServer { request in
                switch (request.method, request.path) {
                case ("POST", "/api/v1/authenticate"): return .init(200, #"{"token":"fake-token"}"#)
                case ("GET", "/api/v1/version"): return .init(200, #""34.04.145""#)
                case ("POST", "/api/v1/defenders/daemonset.yaml"): return .init(200, manifest, contentType: "text/plain")
                default: return .init(404, #"{"err":"not here"}"#)
                }
            }
            let run = try await h.run(values: "defender: {enabled: true}", only: ["defenders"]) { $0.consoleURL = fake.url }
            fake.stop()
            XCTAssertEqual(run.report.exitCode, 1, run.output)
            let error = run.step("defenders")?.error ?? ""
            XCTAssertTrue(error.hasPrefix("step \"defenders\""), error)
            XCTAssertTrue(error.contains("defenders/daemonset.yaml") || error.contains("the console's Defender manifest"),
                          "neither the endpoint nor the manifest is named: \(error)")
            if n == 0 {
                XCTAssertTrue(error.contains("POST defenders/daemonset.yaml: the console's manifest is not YAML (yaml.decode: "), error)
            }
            XCTAssertEqual(h.kube?.objectRequests.filter { $0.method != "GET" }.count ?? 0, 0, "something was applied")
        }
        await h.stop()
    }
}
