import ConsoleSimulator
import Foundation
import JSONModel
import XCTest

final class LicenseCatalogTests: XCTestCase {
    func testLicenseKeys() async throws {
        try await withSimulator(initialize: true) { sim, client in
            var license = try await client.getJSON("settings/license")
            XCTAssertNil(license["expiration_date"], "no license installed")
            XCTAssertNotNil(license.objectValue)

            for bad in ["", "not-a-key", "SIM1-abc-0000000000000000", "SIM2-e30-deadbeefdeadbeef"] {
                let r = try await client.send("POST", "settings/license", json: ["key": .string(bad)])
                XCTAssertEqual(r.status, 400, bad)
            }
            // A valid key with one character changed fails its checksum.
            let expiry = Date(timeIntervalSince1970: 1_900_000_000)
            let key = SimulatorLicense.makeKey(customer: "bigbang", expires: expiry, tier: "enterprise", defenders: 250)
            var tampered = Array(key)
            let i = tampered.index(tampered.startIndex, offsetBy: 8)
            tampered[i] = tampered[i] == "A" ? "B" : "A"
            var r = try await client.send("POST", "settings/license", json: ["key": .string(String(tampered))])
            XCTAssertEqual(r.status, 400)
            XCTAssertNil(sim.state.license)

            r = try await client.send("POST", "settings/license", json: ["key": .string(key)])
            XCTAssertEqual(r.status, 200, r.text)
            license = try await client.getJSON("settings/license")
            XCTAssertEqual(license["expiration_date"]?.stringValue, "2030-03-17T17:46:40Z")
            XCTAssertEqual(license["customer_id"], "bigbang")
            XCTAssertEqual(license["type"], "enterprise")
            XCTAssertEqual(license["defenders"], 250)
            XCTAssertNotNil(license["issue_date"])

            // An expired key installs and reads back with its past date.
            let expired = SimulatorLicense.makeKey(customer: "old", expires: Date(timeIntervalSince1970: 1_600_000_000))
            r = try await client.send("POST", "settings/license", json: ["key": .string(expired)])
            XCTAssertEqual(r.status, 200)
            license = try await client.getJSON("settings/license")
            let date = try XCTUnwrap(license["expiration_date"]?.stringValue)
            let parsed = try XCTUnwrap(ISO8601DateFormatter().date(from: date))
            XCTAssertLessThan(parsed, Date())

            // The key never shows in the request log.
            let log = try await client.raw("GET", "/sim/requests")
            XCTAssertFalse(log.text.contains(key))
            XCTAssertFalse(log.text.contains(expired))
        }
    }

    func testLicenseKeyFormatRoundTrip() throws {
        let date = Date(timeIntervalSince1970: 2_000_000_000)
        let key = SimulatorLicense.makeKey(customer: "c-1", expires: date, tier: "evaluation", defenders: 7)
        XCTAssertTrue(key.hasPrefix("SIM1-"))
        let parsed = try SimulatorLicense.parse(key)
        XCTAssertEqual(parsed.customerID, "c-1")
        XCTAssertEqual(parsed.expirationDate, date)
        XCTAssertEqual(parsed.tier, "evaluation")
        XCTAssertEqual(parsed.defenders, 7)
        XCTAssertThrowsError(try SimulatorLicense.parse(key + "0"))
        XCTAssertThrowsError(try SimulatorLicense.parse(String(key.dropFirst())))
    }

    static let documentedTypes = [
        "container", "image", "istio", "daemon_config", "daemon_config_files", "docker_stig", "host_config",
        "k8s_federation", "k8s_master", "k8s_worker", "linux", "openshift_master", "openshift_worker",
        "security_operations", "windows", "serverless",
    ]

    func checkInvariants(_ catalog: [ComplianceCheck], size: Int) {
        XCTAssertEqual(catalog.count, size)
        XCTAssertEqual(Set(catalog.map(\.id)).count, catalog.count, "ids are unique")
        XCTAssertEqual(Set(catalog.map(\.type)), Set(Self.documentedTypes))
        XCTAssertTrue(catalog.allSatisfy { ["low", "medium", "high", "critical"].contains($0.severity) })
        XCTAssertTrue(catalog.allSatisfy { !$0.title.isEmpty })
        XCTAssertEqual(Set(catalog.map(\.title)).count, catalog.count, "titles are distinct")
        for endpoint in ["container", "host", "vms"] {
            for type in ComplianceCatalog.endpointTypes[endpoint]! {
                let templates = Set(catalog.filter { $0.type == type }.flatMap(\.templates))
                XCTAssertEqual(templates, Set(ComplianceCatalog.templates), "\(endpoint)/\(type)")
            }
        }
        XCTAssertTrue(catalog.filter { $0.type == "serverless" }.allSatisfy { $0.templates.isEmpty })
        XCTAssertFalse(catalog.filter { $0.type == "serverless" }.isEmpty)
        let severities = Set(catalog.map(\.severity))
        XCTAssertEqual(severities, ["low", "medium", "high", "critical"])
    }

    func testCatalogInvariantsAndDeterminism() throws {
        let standard = ComplianceCatalog.generate()
        XCTAssertGreaterThanOrEqual(standard.count, 500)
        checkInvariants(standard, size: ComplianceCatalog.defaultSize)
        XCTAssertEqual(standard, ComplianceCatalog.generate())
        let big = ComplianceCatalog.generate(size: 1500)
        checkInvariants(big, size: 1500)
        XCTAssertEqual(big, ComplianceCatalog.generate(size: 1500))
        // The endpoint type lists are console-api.md's.
        XCTAssertEqual(ComplianceCatalog.endpointTypes["vms"], ["daemon_config", "daemon_config_files", "host_config", "linux", "security_operations", "windows"])
        XCTAssertEqual(ComplianceCatalog.endpointTypes["container"], ["container", "image", "istio"])
    }

    func testCatalogServed() async throws {
        var options = SimulatorOptions()
        options.catalogSize = 1200
        try await withSimulator(options, initialize: true) { sim, client in
            let doc = try await client.getJSON("static/vulnerabilities")
            let checks = try XCTUnwrap(doc["complianceVulnerabilities"]?.arrayValue)
            XCTAssertEqual(checks.count, 1200)
            XCTAssertEqual(checks.map { $0["id"]?.intValue }, sim.complianceCatalog.map { Optional($0.id) })
            let first = try XCTUnwrap(checks.first)
            XCTAssertNotNil(first["id"]?.int64Value)
            XCTAssertNotNil(first["type"]?.stringValue)
            XCTAssertNotNil(first["severity"]?.stringValue)
            XCTAssertNotNil(first["title"]?.stringValue)
            XCTAssertNotNil(first["templates"]?.arrayValue)
            XCTAssertFalse(doc["cveVulnerabilities"]?.arrayValue?.isEmpty ?? true)
        }
    }
}
