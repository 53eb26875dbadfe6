import ConsoleSimulator
import Foundation
import JSONModel
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The console variants (issue 12): each switches one open question to its alternative answer,
/// set at start, over `/sim/variants` or through the in-process API; and what every variant
/// serves alike (`GET /`, the request log's masking).
final class VariantTests: XCTestCase {
    func testVariantsAreSetAtStartOverHTTPAndInProcessAndUnknownOnesAreRefused() async throws {
        var options = SimulatorOptions()
        options.variants = ["license-object", "strict-policy"]
        try await withSimulator(options) { sim, client in
            XCTAssertEqual(sim.variants, ["strict-policy"], "the default answer of a family is no variant")
            var r = try await client.raw("GET", "/sim/variants")
            XCTAssertEqual(r.json?["variants"], ["strict-policy"])
            XCTAssertEqual(r.json?["available"]?.arrayValue?.count, ConsoleVariants.all.count)
            r = try await client.raw("POST", "/sim/variants", #"{"variants": ["zero-filled", "duplicate-500"]}"#)
            XCTAssertEqual(r.status, 200, r.text)
            XCTAssertEqual(sim.variants, ["duplicate-500", "zero-filled"])
            for bad in [#"{"variants": ["nope"]}"#, #"{"variants": ["duplicate-400", "duplicate-500"]}"#, #"{"variants": "zero-filled"}"#] {
                r = try await client.raw("POST", "/sim/variants", bad)
                XCTAssertEqual(r.status, 400, bad)
                XCTAssertEqual(sim.variants, ["duplicate-500", "zero-filled"], "a refused list changes nothing")
            }
            try sim.setVariants([])
            XCTAssertEqual(sim.variants, [])
        }
        options.variants = ["no-such-variant"]
        do {
            _ = try await ConsoleSimulator(options: options).start()
            XCTFail("an unknown variant started")
        } catch {
            XCTAssertTrue("\(error)".contains("no-such-variant"), "\(error)")
        }
    }

    func testWebPageAndBooleanPasswordSettingsWhateverTheVariant() async throws {
        for variants in [[], ConsoleVariants.allCompatible] {
            var options = SimulatorOptions()
            options.variants = variants
            try await withSimulator(options, initialize: true) { sim, client in
                let page = try await client.raw("GET", "/")
                XCTAssertEqual(page.status, 200)
                XCTAssertTrue(page.headers["content-type"]?.hasPrefix("text/html") ?? false, "\(page.headers)")
                XCTAssertTrue(page.text.lowercased().hasPrefix("<!doctype html>"), page.text)
                let r = try await client.send("POST", "settings/logon", json: ["strongPassword": true, "sessionTimeoutSec": 1800])
                XCTAssertEqual(r.status, 200, r.text)
                let u = try await client.send("POST", "users", json: ["username": "eve", "password": "Eve-Pa55word-1234!", "role": "auditor"])
                XCTAssertEqual(u.status, 200, u.text)
                let log = sim.requests
                XCTAssertEqual(log.first { $0.endpoint == "settings/logon" }?.body?["strongPassword"], .bool(true))
                XCTAssertEqual(log.first { $0.endpoint == "users" && $0.method == "POST" }?.body?["password"], .string("••••••"))
                XCTAssertFalse(log.contains { ($0.body?.encoded() ?? "").contains("Eve-Pa55word") })
            }
        }
    }

    func testLicenseAnswersOfAnUnlicensedConsole() async throws {
        for (variant, expected) in [("license-null", "null"), ("license-empty", ""), ("license-object", #"{"customer_id":"","defenders":0,"type":""}"#)] {
            var options = SimulatorOptions()
            options.variants = [variant]
            try await withSimulator(options, initialize: true) { _, client in
                let r = try await client.get("settings/license")
                XCTAssertEqual(r.status, 200)
                XCTAssertEqual(r.text, expected, variant)
                // Once a key is installed, every variant answers the license.
                let key = SimulatorLicense.makeKey(expires: Date().addingTimeInterval(86400))
                _ = try await client.send("POST", "settings/license", json: ["key": .string(key)])
                let l = try await client.getJSON("settings/license")
                XCTAssertNotNil(l["expiration_date"]?.stringValue, variant)
            }
        }
    }

    func testZeroFilledAnswersCarryEverySchemaFieldWithZeroValues() async throws {
        var options = SimulatorOptions()
        options.variants = ["zero-filled"]
        try await withSimulator(options, initialize: true) { _, client in
            _ = try await client.send("POST", "groups", json: ["groupName": "g1", "role": "auditor", "samlGroup": true])
            let groups = try await client.getJSON("groups")
            let g = try XCTUnwrap(groups.arrayValue?.first)
            XCTAssertEqual(g["groupName"], "g1")
            XCTAssertEqual(g["samlGroup"], .bool(true), "what was stored is kept")
            XCTAssertEqual(g["ldapGroup"], .bool(false))
            XCTAssertEqual(g["groupId"], "")
            let license = try await client.getJSON("settings/license")
            XCTAssertEqual(license["expiration_date"], "0001-01-01T00:00:00Z", "Go's zero time")
            XCTAssertEqual(license["defender_details"], .null, "a nil slice")
            let users = try await client.getJSON("users")
            XCTAssertNotNil(users.arrayValue?.first?["lastModified"])
        }
    }

    func testSSOGroupsHiddenDuplicatesAndGroupPutNeedingLastModified() async throws {
        var options = SimulatorOptions()
        options.variants = ["sso-groups-hidden", "duplicate-500", "group-put-lastmodified"]
        try await withSimulator(options, initialize: true) { sim, client in
            for (name, flag) in [("local", ""), ("saml", "samlGroup"), ("oidc", "oidcGroup"), ("ldap", "ldapGroup")] {
                var body: JSON = ["groupName": .string(name), "role": "auditor"]
                if !flag.isEmpty { body[flag] = true }
                let r = try await client.send("POST", "groups", json: body)
                XCTAssertEqual(r.status, 200, r.text)
            }
            var listed = try await client.getJSON("groups").arrayValue?.compactMap { $0["groupName"]?.stringValue } ?? []
            XCTAssertEqual(listed, ["local"])
            _ = try await client.send("POST", "settings/saml", json: ["enabled": true, "type": "okta", "issuer": "i", "url": "https://idp",
                                                                   "audience": "a", "cert": "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n"])
            listed = try await client.getJSON("groups").arrayValue?.compactMap { $0["groupName"]?.stringValue } ?? []
            XCTAssertEqual(listed, ["local", "saml"], "SAML groups show once SAML is configured")
            let dup = try await client.send("POST", "groups", json: ["groupName": "oidc", "role": "auditor", "oidcGroup": true])
            XCTAssertEqual(dup.status, 500)
            XCTAssertEqual(dup.err, "group oidc already exists")
            let dupUser = try await client.send("POST", "users", json: ["username": "admin", "role": "admin", "password": "x"])
            XCTAssertEqual(dupUser.status, 500)
            XCTAssertEqual(dupUser.err, "user admin already exists")
            // PUT without (or with a stale) lastModified is refused; with the stored one it works;
            // a PUT of a missing group creates it.
            let stored = try XCTUnwrap(sim.state.groups.first { $0["groupName"]?.stringValue == "local" })
            var put = try await client.send("PUT", "groups/local", json: ["groupName": "local", "role": "admin"])
            XCTAssertEqual(put.status, 400)
            XCTAssertEqual(put.err, "group local already exists")
            var body = stored
            body["role"] = "admin"
            put = try await client.send("PUT", "groups/local", json: body)
            XCTAssertEqual(put.status, 200, put.text)
            put = try await client.send("PUT", "groups/fresh", json: ["role": "auditor"])
            XCTAssertEqual(put.status, 200, put.text)
            XCTAssertTrue(sim.state.groups.contains { $0["groupName"]?.stringValue == "fresh" })
        }
    }

    func testSessionTimeoutLenientRolesAndStrictPolicy() async throws {
        var options = SimulatorOptions()
        options.variants = ["session-timeout", "lenient-roles", "strict-policy"]
        try await withSimulator(options, initialize: true) { sim, client in
            _ = try await client.send("POST", "settings/logon", json: ["sessionTimeoutSec": 60])
            var anon = client
            anon.auth = [:]
            let login = try await anon.send("POST", "authenticate", json: ["username": .string(adminUser), "password": .string(adminPassword)])
            let token = try XCTUnwrap(login.json?["token"]?.stringValue)
            var bearer = anon
            bearer.auth = ["Authorization": "Bearer \(token)"]
            let fresh = try await bearer.get("settings/logon")
            XCTAssertEqual(fresh.status, 200)
            sim.advanceClock(by: 61)
            let expired = try await bearer.get("settings/logon")
            XCTAssertEqual(expired.status, 401, "the token lasted longer than sessionTimeoutSec")
            let custom = try await client.send("POST", "users", json: ["username": "c", "role": "cloudAccountManager", "authType": "ldap"])
            XCTAssertEqual(custom.status, 200, custom.text)
            let empty = try await client.send("POST", "users", json: ["username": "d", "role": "", "authType": "ldap"])
            XCTAssertEqual(empty.status, 400, "an empty role is still refused")
            var policy = try await client.getJSON("policies/runtime/container")
            var rules = policy["rules"]?.arrayValue ?? []
            var rule = try XCTUnwrap(rules.first)
            rule["collections"] = nil
            rules[0] = rule
            policy["rules"] = .array(rules)
            let refused = try await client.send("PUT", "policies/runtime/container", json: policy)
            XCTAssertEqual(refused.status, 400)
            XCTAssertTrue(refused.err?.contains("at least one collection") ?? false, refused.text)
        }
    }

    func testVariantsCommandListsEveryVariantWithEvidenceAndTheDefaults() throws {
        let exe = [Bundle.main.bundleURL, Bundle(for: Self.self).bundleURL.deletingLastPathComponent()]
            .map { $0.appendingPathComponent("twistlock-console-sim") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
        guard let exe else { throw XCTSkip("twistlock-console-sim is not built next to the tests") }
        let p = Process()
        p.executableURL = exe
        p.arguments = ["variants"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        for v in ConsoleVariants.all {
            XCTAssertTrue(text.contains("  \(v.name)\(v.isDefault ? " (default)" : ""): \(v.description)"), v.name)
            XCTAssertTrue(text.contains("evidence: \(v.evidence)"), v.name)
        }
        XCTAssertTrue(text.contains("license-object (default)"), text)
    }
}
