import ConsoleSimulator
import Foundation
import JSONModel
import XCTest

/// Request bodies are decoded like the console's Go handlers do, and every departure from
/// the OpenAPI document is recorded.
final class DecodingTests: XCTestCase {
    let samlCert = "-----BEGIN CERTIFICATE-----\nMIIBsimulated\n-----END CERTIFICATE-----\n"

    func testCaseInsensitiveFieldsUnknownFieldsDroppedAndRecorded() async throws {
        try await withSimulator(initialize: true) { sim, client in
            sim.clearRequests()
            // The predecessor's mistake: groupAttributes (unknown: silently dropped) and a
            // case-mismatched ProviderAlias (matched).
            let body: JSON = [
                "enabled": true, "type": "shibboleth", "issuer": "https://idp.example/issuer",
                "url": "https://idp.example/sso", "audience": "twistlock", "cert": .string(samlCert),
                "ProviderAlias": "Keycloak", "groupAttributes": "groups", "consoleURL": "https://twistlock.example",
            ]
            let r = try await client.send("POST", "settings/saml", json: body)
            XCTAssertEqual(r.status, 200, r.text)

            let saml: JSON? = try await client.getJSON("settings/saml")
            XCTAssertEqual(saml?["providerAlias"], "Keycloak")
            XCTAssertNil(saml?["ProviderAlias"])
            XCTAssertNil(saml?["groupAttributes"])
            XCTAssertNil(saml?["groupAttribute"])
            XCTAssertEqual(saml?["issuer"], "https://idp.example/issuer")

            let record = try XCTUnwrap(sim.requests.last { $0.endpoint == "settings/saml" && $0.method == "POST" })
            XCTAssertEqual(record.status, 200)
            let kinds = Dictionary(grouping: record.findings, by: \.path)
            XCTAssertEqual(kinds["groupAttributes"]?.map(\.kind), [.unknownField])
            XCTAssertEqual(kinds["ProviderAlias"]?.map(\.kind), [.fieldCase])
            XCTAssertEqual(kinds["groupAttributes"]?.first?.schema, "identity.SamlSettings")
            XCTAssertEqual(record.findings.count, 2, "\(record.findings)")

            // The same findings over HTTP.
            let log = try await client.raw("GET", "/sim/requests")
            let entries = log.json?["requests"]?.arrayValue ?? []
            let served = try XCTUnwrap(entries.last { $0["endpoint"] == "settings/saml" && $0["method"] == "POST" })
            let paths = (served["findings"]?.arrayValue ?? []).compactMap { $0["path"]?.stringValue }.sorted()
            XCTAssertEqual(paths, ["ProviderAlias", "groupAttributes"])
        }
    }

    /// `date-time` fields take what Go's `time.Time` takes (RFC 3339) and refuse the rest.
    func testDateTimeFieldsAreParsedLikeGo() async throws {
        try await withSimulator(initialize: true) { sim, client in
            let policy = try await client.getJSON("policies/vulnerability/images")
            func put(modified: String) async throws -> Int {
                var p = policy
                var rules = try XCTUnwrap(p["rules"]?.arrayValue)
                rules[0]["modified"] = .string(modified)
                p["rules"] = .array(rules)
                return try await client.send("PUT", "policies/vulnerability/images", json: p).status
            }
            for good in ["2024-02-29T12:00:00Z", "2024-02-29T12:00:00.123456789+02:00", "1999-12-31T23:59:59-05:30",
                         "2000-01-01T00:00:00.5Z"] {
                let status = try await put(modified: good)
                XCTAssertEqual(status, 200, good)
            }
            for bad in ["2023-02-29T12:00:00Z", "2024-13-01T00:00:00Z", "2024-01-01 00:00:00Z", "2024-01-01T00:00:00",
                        "2024-01-01T00:00:00.Z", "2024-01-01T24:00:00Z", "2024-01-01t00:00:00z", "2024-04-31T00:00:00Z",
                        "2024-01-01T00:00:00+2:00", "yesterday", ""] {
                let status = try await put(modified: bad)
                XCTAssertEqual(status, 400, bad)
                let record = try XCTUnwrap(sim.requests.last)
                XCTAssertEqual(record.findings.map(\.kind), [.invalidValue], bad)
                XCTAssertEqual(record.findings.first?.path, "rules[0].modified", bad)
            }
        }
    }

    /// The simulator writes its own dates as RFC 3339 UTC seconds, which read back as the same instant.
    func testLicenseDatesAreRFC3339() async throws {
        try await withSimulator(initialize: true) { _, client in
            // Before and after 1970 and across a leap day (the hand-written calendar arithmetic).
            for past: Double in [-86400 * 365 * 40, 951_782_400 - 1, 951_782_400, 4_107_542_400] {
                let d = Date(timeIntervalSince1970: past)
                let parsed = try SimulatorLicense.parse(SimulatorLicense.makeKey(expires: d))
                XCTAssertEqual(parsed.expirationDate.timeIntervalSince1970, past.rounded(.down), "\(past)")
            }
            let now = Date()
            let key = SimulatorLicense.makeKey(customer: "dates", expires: now.addingTimeInterval(86400 * 400))
            let r = try await client.send("POST", "settings/license", json: ["key": .string(key)])
            XCTAssertEqual(r.status, 200, r.text)
            let license = try await client.getJSON("settings/license")
            let text = try XCTUnwrap(license["expiration_date"]?.stringValue)
            XCTAssertNotNil(text.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"#, options: .regularExpression), text)
            let f = ISO8601DateFormatter()
            let parsed = try XCTUnwrap(f.date(from: text), text)
            XCTAssertEqual(parsed.timeIntervalSince1970, now.addingTimeInterval(86400 * 400).timeIntervalSince1970, accuracy: 1.0)
        }
    }

    func testTypeMismatchIsA400WithGoMessageAndChangesNothing() async throws {
        try await withSimulator(initialize: true) { sim, client in
            var r = try await client.send("POST", "settings/saml", json: ["enabled": "true"])
            XCTAssertEqual(r.status, 400)
            XCTAssertEqual(r.err, "json: cannot unmarshal string into Go struct field SamlSettings.enabled of type bool")

            // Nested: the field path from the root, the innermost struct's name, Go's type.
            let before = sim.state.policies["vulnerability/images"]
            var policy = try await client.getJSON("policies/vulnerability/images")
            var rules = try XCTUnwrap(policy["rules"]?.arrayValue)
            rules[0]["alertThreshold"]?["value"] = "high"
            policy["rules"] = .array(rules)
            r = try await client.send("PUT", "policies/vulnerability/images", json: policy)
            XCTAssertEqual(r.status, 400)
            XCTAssertEqual(r.err, "json: cannot unmarshal string into Go struct field AlertThreshold.rules.alertThreshold.value of type float32")
            XCTAssertEqual(sim.state.policies["vulnerability/images"], before)
            let finding = try XCTUnwrap(sim.requests.last?.findings.first { $0.kind == .typeMismatch })
            XCTAssertEqual(finding.path, "rules[0].alertThreshold.value")

            // A fraction for an integer, an object for a string, an array for a struct.
            r = try await client.send("POST", "settings/logon", json: ["sessionTimeoutSec": 1.5])
            XCTAssertEqual(r.err, "json: cannot unmarshal number 1.5 into Go struct field LogonSettings.sessionTimeoutSec of type int64")
            r = try await client.send("POST", "settings/telemetry", json: [["enabled": true]])
            XCTAssertEqual(r.err, "json: cannot unmarshal array into Go value of type types.TelemetrySettings")
            r = try await client.send("POST", "users", json: ["username": ["x": 1], "role": "user"])
            XCTAssertEqual(r.err, "json: cannot unmarshal object into Go struct field User.username of type string")

            // Invalid JSON and empty bodies.
            r = try await client.call("POST", "settings/telemetry", "{\"enabled\": tru")
            XCTAssertEqual(r.status, 400)
            r = try await client.call("POST", "settings/telemetry", "")
            XCTAssertEqual(r.status, 400)

            // null leaves a field unset, as in Go.
            r = try await client.send("POST", "settings/telemetry", json: ["enabled": .null])
            XCTAssertEqual(r.status, 200)
            XCTAssertEqual(sim.state.settings["telemetry"], .object([:]))
        }
    }

    func testEnumsTheConsoleValidates() async throws {
        try await withSimulator(initialize: true) { sim, client in
            var r = try await client.send("POST", "settings/saml", json: ["enabled": false, "type": "keycloak"])
            XCTAssertEqual(r.status, 400)
            XCTAssertTrue(r.err?.contains("keycloak") ?? false)
            for t in ["okta", "gsuite", "ping", "shibboleth", "azure", "adfs"] {
                r = try await client.send("POST", "settings/saml", json: ["enabled": false, "type": .string(t)])
                XCTAssertEqual(r.status, 200, t)
            }

            // An unknown runtime effect.
            var policy = try await client.getJSON("policies/runtime/container")
            var rules = try XCTUnwrap(policy["rules"]?.arrayValue)
            rules[0]["processes"]?["cryptoMinersEffect"] = "on"
            policy["rules"] = .array(rules)
            r = try await client.send("PUT", "policies/runtime/container", json: policy)
            XCTAssertEqual(r.status, 400)
            XCTAssertEqual(sim.requests.last?.findings.first?.kind, .enumViolation)
            XCTAssertEqual(sim.requests.last?.findings.first?.path, "rules[0].processes.cryptoMinersEffect")

            // Every effect of the document is accepted.
            for effect in ["disable", "alert", "prevent", "block"] {
                rules[0]["processes"]?["cryptoMinersEffect"] = .string(effect)
                policy["rules"] = .array(rules)
                r = try await client.send("PUT", "policies/runtime/container", json: policy)
                XCTAssertEqual(r.status, 200, effect)
            }
        }
    }

    func testDecoderDirectlyOnTheDocument() throws {
        // The recommended shape: one schema-driven walk, also usable without HTTP.
        let subset = try OpenAPISubset.bundled()
        XCTAssertEqual(subset.version, "34.04.145")
        for name in ["shared.Policy", "runtime.ContainerPolicy", "runtime.HostPolicy", "runtime.ServerlessPolicy",
                     "identity.SamlSettings", "common.DaemonSetOptions", "types.CertSettings", "trust.Data",
                     "cnnf.Policy", "shared.LoggingSettings", "api.User", "types.Group", "shared.License"] {
            XCTAssertNotNil(subset.schemas[name], name)
        }
        XCTAssertEqual(subset.operations["groups/{id}"]?["put"]?.request, "types.Group")
        XCTAssertEqual(subset.operations["policies/compliance/vms"]?["put"]?.request, "shared.Policy")
        XCTAssertEqual(subset.operations["static/vulnerabilities"]?["get"]?.undocumented, true)
        XCTAssertEqual(subset.operations["defenders/daemonset.yaml"]?["post"]?.request, "common.DaemonSetOptions")
    }
}
