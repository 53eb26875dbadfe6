import Foundation
import JSONModel
import TestSupport
import XCTest
@testable import JobConfig

/// The metrics user's default name (MetricsUser): bigbang-metrics-sa for values that set a key
/// only the Big Bang package reads, else twistlock-metrics; an explicit name or the secret file
/// monitoring.username wins.
final class MetricsUserTests: XCTestCase {
    static let bigBangValues = Project.root.appendingPathComponent("Tests/chart/values/bigbang.yaml")

    func name(_ yamls: [String], secretsDir: URL? = nil) throws -> String? {
        try loadValues(yamls, secretsDir: secretsDir).string("monitoring.username")
    }

    func testTheMarkersAreTheBigBangPackagesOwnKeys() {
        let markers = MetricsUser.bigBangMarkers.map { $0.joined(separator: ".") }
        for key in ["bbtests", "waitJob", "networkPolicies.ingress", "networkPolicies.egress", "istio.mtls",
                    "istio.sidecar", "istio.injection", "routes.inbound.console.gateways", "console.image",
                    "console.persistence", "defender.certCn"] {
            XCTAssertTrue(markers.contains(key), key)
        }
        // Sections holding a key of the job or the chart are not markers themselves (the chart's
        // own values.yaml sets networkPolicies.enabled); nor is any key the job or chart reads.
        let own = Set(ValuesSchema.allKnownKeys.filter { $0.field.reader != .package }.map(\.path))
        for key in ["networkPolicies", "routes", "istio", "monitoring.serviceMonitor", "domain"] {
            XCTAssertFalse(markers.contains(key), key)
        }
        XCTAssertTrue(own.isDisjoint(with: markers), "\(own.intersection(markers))")
    }

    func testTheDefaultNameFollowsWhereTheValuesComeFrom() throws {
        let bigBang = try String(contentsOf: Self.bigBangValues, encoding: .utf8)
        XCTAssertEqual(try name([bigBang]), "bigbang-metrics-sa")
        XCTAssertEqual(try name([bigBang, "monitoring: {username: prom}"]), "prom")
        XCTAssertEqual(try name([bigBang, "monitoring: {username: twistlock-metrics}"]), "twistlock-metrics")
        XCTAssertEqual(try name([""]), "twistlock-metrics")
        XCTAssertEqual(try name(["monitoring: {enabled: true, password: pw-pw-pw, username: \"\"}"]), "twistlock-metrics")
        XCTAssertEqual(try name(["monitoring: {username: null}\nwaitJob: {enabled: true}"]), "bigbang-metrics-sa")
        // Keys the job shares with the package do not make values Big Bang's; a null marker is unset.
        XCTAssertEqual(try name(["domain: x.mil\nistio: {enabled: true}\nnetworkPolicies: {enabled: true}\n"
                                 + "routes: {inbound: {console: {hosts: [a.x.mil]}}}\nmonitoring: {serviceMonitor: {enabled: true}}"]),
                       "twistlock-metrics")
        XCTAssertEqual(try name(["bbtests: null\nconsole: {image: null}"]), "twistlock-metrics")
        // Each marker alone (a few spellings the package and the umbrella chart write).
        for yaml in ["istio: {sidecar: {enabled: false}}", "networkPolicies: {ingress: {}}", "console: {persistence: {size: 1Gi}}",
                     "defender: {certCn: x}", "istio: {injection: disabled}", "routes: {outbound: {}}"] {
            XCTAssertEqual(try name([yaml]), "bigbang-metrics-sa", yaml)
        }
    }

    func testTheSecretFileWinsOverTheDefault() throws {
        let dir = try TempDir()
        let secrets = try dir.subdir("secrets")
        try "scraper\n".write(to: secrets.appendingPathComponent("monitoring.username"), atomically: true, encoding: .utf8)
        let bigBang = try String(contentsOf: Self.bigBangValues, encoding: .utf8)
        XCTAssertEqual(try name([bigBang, "monitoring: {username: given}"], secretsDir: secrets), "scraper")
        // An empty file is no name: the default applies.
        try "".write(to: secrets.appendingPathComponent("monitoring.username"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try name([bigBang], secretsDir: secrets), "bigbang-metrics-sa")
        // The user name is not masked (an identifier, like the admin's), the password is.
        try "Scr4per-Pa55\n".write(to: secrets.appendingPathComponent("monitoring.password"), atomically: true, encoding: .utf8)
        let values = try loadValues(["monitoring: {enabled: true}"], secretsDir: secrets)
        XCTAssertEqual(values.secrets.filter { $0 == "Scr4per-Pa55" || $0 == "twistlock-metrics" }, ["Scr4per-Pa55"])
    }

    func testABlankOrWrongKindOfNameIsRefusedNamingTheKey() {
        for (yaml, want) in [
            ("monitoring: {enabled: true, password: pw-pw-pw, username: \" \"}", "monitoring.username: required"),
            ("monitoring: {enabled: true, password: pw-pw-pw, username: \"\\t\"}", "monitoring.username: required"),
            ("monitoring: {enabled: true, password: pw-pw-pw, username: [a]}", "monitoring.username: expected a string"),
            ("monitoring: {enabled: true, password: pw-pw-pw, username: true}", "monitoring.username: expected a string"),
        ] {
            let found = problems([yaml])
            XCTAssertTrue(found.contains { $0.hasPrefix(want) }, "\(yaml): \(found)")
        }
    }
}
