import Foundation
import JSONModel
import TestSupport
import XCTest
@testable import JobConfig

/// Keys nobody reads are reported with their source and the key probably meant; the Big Bang
/// package's own values produce no warning.
final class UnknownKeysTests: XCTestCase {
    static let root = Project.root
    static let bigBangValues = root.appendingPathComponent("Tests/chart/values/bigbang.yaml")
    static let bigBangKeys = root.appendingPathComponent("Tests/Fixtures/bigbang-values-keys.txt")

    /// (values file text, the key reported, the suggestion) — the issue's examples and other
    /// spellings of the same classes: a typo at the top, in a section, deep, under a list item,
    /// wrong case, snake/camel case, a missing or extra letter.
    static let typos: [(String, String, String?)] = [
        ("polices:\n  enabled: false\n", "polices", "policies"),
        ("console:\n  additionalUser: []\n", "console.additionalUser", "console.additionalUsers"),
        ("console:\n  optons:\n    enabled: false\n", "console.optons", "console.options"),
        ("policies:\n  vulnerabilities:\n    alertTreshold: high\n", "policies.vulnerabilities.alertTreshold",
         "policies.vulnerabilities.alertThreshold"),
        ("defender:\n  enable: false\n", "defender.enable", "defender.enabled"),
        ("sso:\n  clientId: x\n", "sso.clientId", "sso.client_id"),
        // wrong case
        ("Policies:\n  enabled: false\n", "Policies", "policies"),
        ("console:\n  trustedImages:\n    DefaultEffect: block\n", "console.trustedImages.DefaultEffect",
         "console.trustedImages.defaultEffect"),
        // under list items
        ("console:\n  groups:\n    - {group: g, role: admin, gruop: h}\n", "console.groups[0].gruop", "console.groups[0].group"),
        ("console:\n  additionalUsers:\n    - {username: a, password: p-long, role: user}\n    - {username: b, password: p-long, role: user, auth_type: basic}\n",
         "console.additionalUsers[1].auth_type", "console.additionalUsers[1].authType"),
        // deep, and a console-chart key misspelt
        ("console:\n  options:\n    logon:\n      requireStrongPasswords: false\n",
         "console.options.logon.requireStrongPasswords", "console.options.logon.requireStrongPassword"),
        ("console:\n  persistance:\n    size: 1Gi\n", "console.persistance", "console.persistence"),
        ("monitoring:\n  serviceMonitr: {}\n", "monitoring.serviceMonitr", "monitoring.serviceMonitor"),
        // nothing close
        ("defender:\n  wholeNewThing: 1\n", "defender.wholeNewThing", nil),
    ]

    func testEachTypoIsAWarningNamingTheKeyTheFileAndTheKeyMeant() throws {
        for (yaml, key, suggestion) in Self.typos {
            let values = try loadValues([yaml])
            let warning = try XCTUnwrap(values.warnings.first { $0.key == key }, "\(key): \(values.warnings)")
            XCTAssertEqual(values.warnings.filter { $0.message.contains("unknown key") }.count, 1, "\(values.warnings)")
            XCTAssertTrue(warning.message.contains("values-0.yaml"), warning.message)
            if let suggestion {
                XCTAssertTrue(warning.message.hasSuffix("did you mean `\(suggestion)`?"), "\(key): \(warning.message)")
            } else {
                XCTAssertFalse(warning.message.contains("did you mean"), warning.message)
            }
        }
    }

    func testStrictMakesThemErrors() throws {
        for (yaml, key, _) in Self.typos {
            let dir = try TempDir()
            let file = try dir.write("values-0.yaml", yaml)
            var found: [String] = []
            do {
                _ = try ValuesLoader.load(files: [file], sets: credentials, secretsDir: nil, strict: true)
                XCTFail("\(key): accepted under strict")
            } catch let error as ValuesError {
                found = error.problems.map(\.description).filter { $0.hasPrefix(key + ":") }
            }
            XCTAssertEqual(found.count, 1, "\(key): \(found)")
            XCTAssertTrue(found.first?.contains("--strict") ?? false)
        }
    }

    func testATypoInSetNamesTheArgumentWithoutItsValue() throws {
        let values = try loadValues([], sets: credentials + ["polices.enabled=false",
                                                             "console.credentials.pasword=Leaky-Secret-1"])
        XCTAssertEqual(values.warnings.map(\.key), ["polices", "console.credentials.pasword"])
        XCTAssertTrue(values.warnings[0].message.contains("(--set polices.enabled=…)"), values.warnings[0].message)
        XCTAssertTrue(values.warnings[0].message.hasSuffix("did you mean `policies`?"))
        XCTAssertTrue(values.warnings[1].message.hasSuffix("did you mean `console.credentials.password`?"))
        XCTAssertFalse("\(values.warnings)".contains("Leaky-Secret-1"))
        // The same typo in a second file is named with that file.
        let two = try loadValues(["policies: {name: A}\n", "defender: {enable: true}\n"])
        XCTAssertEqual(two.warnings.map(\.key), ["defender.enable"])
        XCTAssertTrue(two.warnings[0].message.contains("values-1.yaml"), two.warnings[0].message)
    }

    func testFreeFormMapsAreNotLookedInto() throws {
        let values = try loadValues(["""
        defender:
          resources: {limits: {cpuu: 1}}
          podLabels: {anything: goes}
          tolerations: [{keyy: x}]
        init:
          resources: {requestz: {}}
        networkPolicies:
          ingress: {whatever: {}}
        """])
        XCTAssertEqual(values.warnings, [])
    }

    // MARK: the Big Bang package's values

    /// The key paths of bigbang-values-keys.txt.
    static func bigBangKeyPaths() throws -> [String] {
        try String(contentsOf: bigBangKeys, encoding: .utf8).split(separator: "\n")
            .filter { !$0.hasPrefix("#") && !$0.isEmpty }
            .map { String($0.split(separator: "\t")[0]) }
    }

    /// Whether a dotted key path (whose keys may themselves hold dots) exists in a tree.
    static func exists(_ path: Substring, in value: JSON) -> Bool {
        if path.isEmpty { return true }
        guard case .object(let object) = value else { return false }
        for (key, member) in object {
            if path == Substring(key) { return true }
            if path.hasPrefix(key + "."), exists(path.dropFirst(key.count + 1), in: member) { return true }
        }
        return false
    }

    func testTheBigBangValuesFileHasEveryKeyOfThePackage() throws {
        let document = try XCTUnwrap(ValuesYAML.read(file: Self.bigBangValues))
        let paths = try Self.bigBangKeyPaths()
        XCTAssertGreaterThan(paths.count, 150)
        for path in paths {
            XCTAssertTrue(Self.exists(Substring(path), in: document), "\(path) is not in bigbang.yaml")
        }
    }

    func testTheBigBangValuesGiveNoWarningEvenUnderStrict() throws {
        let values = try ValuesLoader.load(files: [Self.bigBangValues], sets: [], secretsDir: nil, strict: true)
        XCTAssertEqual(values.warnings, [])
        // The job's keys as the package sets them.
        XCTAssertEqual(values.string("console.credentials.username"), "admin")
        XCTAssertEqual(values.string("defender.image.tag"), "34.01.132")
        XCTAssertEqual(values.string("policies.name"), "Default")
        XCTAssertEqual(values.lookup("defender.resources.limits.cpu"), 2)
    }

    func testEveryKeyOfThePackageIsKnown() throws {
        // A key the schema names, or one inside a free-form map (or unchecked value) it names.
        var free: [String] = []
        var known = Set<String>()
        for (path, field) in ValuesSchema.allKnownKeys {
            known.insert(path)
            switch field.type {
            case .map, .any, .labels: free.append(path)
            default: break
            }
        }
        for path in try Self.bigBangKeyPaths() {
            let covered = known.contains(path) || free.contains { path.hasPrefix($0 + ".") }
            XCTAssertTrue(covered, "\(path) is not a known key")
        }
    }
}
