import Foundation
import JSONModel
import XCTest
@testable import JobConfig

final class ValuesMergeTests: XCTestCase {
    func testDefaultsHoldEveryDocumentedKey() throws {
        let values = try loadValues([])
        XCTAssertEqual(values.string("policies.name"), "Default")
        XCTAssertEqual(values.string("policies.vulnerabilities.alertThreshold"), "medium")
        XCTAssertEqual(values.lookup("policies.compliance.templates"), ["DISA STIG", "NIST SP 800-190"])
        XCTAssertEqual(values.bool("console.options.enabled"), true)
        XCTAssertEqual(values.bool("console.options.telemetry"), false)
        XCTAssertEqual(values.bool("console.options.logon.requireStrongPassword"), true)
        XCTAssertEqual(values.string("console.trustedImages.defaultEffect"), "alert")
        XCTAssertEqual(values.lookup("console.trustedImages.registryMatches"), ["registry1.dso.mil/ironbank/*"])
        XCTAssertEqual(values.string("defender.containerRuntime"), "containerd")
        XCTAssertEqual(values.lookup("defender.securityCapabilitiesAdd")?.arrayValue?.count, 8)
        XCTAssertEqual(values.string("defender.image.repository"), "registry1.dso.mil/ironbank/twistlock/defender/defender")
        XCTAssertEqual(values.string("defender.image.tag"), "")
        XCTAssertEqual(values.lookup("defender.proxy"), ["address": "", "ca": "", "username": "", "password": ""])
        XCTAssertEqual(values.string("defender.namespace"), "twistlock")
        XCTAssertEqual(values.string("defender.consoleAddress"), "", "empty: the job builds the console Service's cluster-wide name")
        XCTAssertEqual(values.lookup("defender.podLabels"), .object([:]))
        XCTAssertEqual(values.int("defender.rolloutTimeoutSeconds"), 600)
        XCTAssertEqual(values.int("init.waitTimeoutSeconds"), 600)
        XCTAssertEqual(values.string("monitoring.username"), "twistlock-metrics")
        XCTAssertEqual(values.string("console.externalHost"), "")
        XCTAssertEqual(values.string("sso.provider_type"), "shibboleth")
        XCTAssertEqual(values.lookup("console.additionalUsers"), [])
        XCTAssertEqual(values.bool("istio.enabled"), false)
        XCTAssertEqual(values.bool("openshift"), false)
        XCTAssertTrue(values.warnings.isEmpty, "\(values.warnings)")
        // Every schema key has a default, and the defaults hold nothing the schema lacks.
        for (path, field) in ValuesSchema.allKeys where !path.contains("[]") {
            XCTAssertNotNil(ValuePath.lookup(try ValuePath.parse(path), in: Values.defaults), "no default for \(path)")
            _ = field
        }
        var defaultPaths: [String] = []
        func walk(_ value: JSON, _ base: String) {
            guard case .object(let object) = value else { return }
            for (key, member) in object {
                let path = base.isEmpty ? key : "\(base).\(key)"
                defaultPaths.append(path)
                if case .object(let inner) = member, !inner.isEmpty { walk(member, path) }
            }
        }
        walk(Values.defaults, "")
        let schemaPaths = Set(ValuesSchema.allKeys.map(\.path))
        for path in defaultPaths { XCTAssertTrue(schemaPaths.contains(path), "default \(path) not in the schema") }
    }

    func testFilesMergeInOrderMapsDeepListsAndScalarsReplace() throws {
        let first = """
        policies:
          name: First
          vulnerabilities:
            alertThreshold: high
        console:
          trustedImages:
            registryMatches: [a.example/*, b.example/*]
        defender:
          resources:
            limits: {cpu: 1, memory: 1Gi}
        """
        let second = """
        policies:
          name: Second
        console:
          trustedImages:
            registryMatches: [c.example/*]
        defender:
          resources:
            requests: {cpu: "500m"}
        """
        let values = try loadValues([first, second])
        XCTAssertEqual(values.string("policies.name"), "Second")
        // A key only the first file set survives the second (deep merge) …
        XCTAssertEqual(values.string("policies.vulnerabilities.alertThreshold"), "high")
        // … and defaults under the same map stay.
        XCTAssertEqual(values.bool("policies.vulnerabilities.enabled"), true)
        // Lists replace, never concatenate.
        XCTAssertEqual(values.lookup("console.trustedImages.registryMatches"), ["c.example/*"])
        XCTAssertEqual(values.lookup("defender.resources"),
                       ["limits": ["cpu": 1, "memory": "1Gi"], "requests": ["cpu": "500m"]])
        // The reverse order gives the other answer.
        let reversed = try loadValues([second, first])
        XCTAssertEqual(reversed.string("policies.name"), "First")
        XCTAssertEqual(reversed.lookup("console.trustedImages.registryMatches"), ["a.example/*", "b.example/*"])
    }

    func testSetWinsOverFiles() throws {
        let values = try loadValues(["policies: {name: FromFile}\n"],
                                    sets: credentials + ["policies.name=FromSet", "defender.rolloutTimeoutSeconds=30"])
        XCTAssertEqual(values.string("policies.name"), "FromSet")
        XCTAssertEqual(values.lookup("defender.rolloutTimeoutSeconds"), .int(30))
    }

    func testExplicitNullRemovesADefaultAndAnEarlierFilesValue() throws {
        let values = try loadValues(["domain: example.com\nsso: {console_url: https://x}\n",
                                     "domain: null\nconsole:\n  externalHost: ~\n"])
        XCTAssertNil(values.lookup("domain"))
        XCTAssertNil(values.lookup("console.externalHost"))
        XCTAssertNotNil(values.lookup("console.license"), "siblings of a removed key stay")
        XCTAssertEqual(values.string("sso.console_url"), "https://x")
        let bySet = try loadValues([], sets: credentials + ["policies.runtime=null"])
        XCTAssertNil(bySet.lookup("policies.runtime"))
        XCTAssertNil(bySet.lookup("policies.runtime.enabled"))
    }

    func testEmptyFileAndCommentOnlyFileAreEmptyValues() throws {
        let values = try loadValues(["", "# nothing here\n"])
        XCTAssertEqual(values.string("policies.name"), "Default")
    }

    func testUnknownKeysAreKeptAndNotErrors() throws {
        let values = try loadValues(["""
        console:
          image: {repository: x, tag: "34.01"}
          persistence: {size: 100Gi}
        bbtests: {enabled: false}
        networkPolicies: {enabled: true}
        """])
        XCTAssertEqual(values.string("console.persistence.size"), "100Gi")
        XCTAssertEqual(values.bool("bbtests.enabled"), false)
        XCTAssertTrue(values.warnings.isEmpty)
    }

    func testSetPathsIntoFileListsAndNewLists() throws {
        let file = """
        console:
          additionalUsers:
            - {username: alice, password: pw-a, role: admin}
            - {username: bob, password: pw-b, role: user}
        """
        let values = try loadValues([file], sets: credentials + ["console.additionalUsers[1].role=auditor"])
        XCTAssertEqual(values.string("console.additionalUsers[1].role"), "auditor")
        XCTAssertEqual(values.string("console.additionalUsers[1].username"), "bob", "the rest of the item stays")
        XCTAssertEqual(values.string("console.additionalUsers[0].role"), "admin")
        let created = try loadValues([], sets: credentials + [
            "console.groups[0].group=devs,console.groups[0].role=devOps",
            "console.trustedImages.registryMatches={a.example/*,b.example/*}",
        ])
        XCTAssertEqual(created.lookup("console.groups"), [["group": "devs", "role": "devOps", "authType": "oidcGroup"]])
        XCTAssertEqual(created.lookup("console.trustedImages.registryMatches"), ["a.example/*", "b.example/*"])
    }

    func testYAMLScalarTypes() throws {
        let doc = try XCTUnwrap(ValuesYAML.parse(text: """
        int: 42
        negative: -7
        hex: 0x1F
        float: 4.5
        exp: 1e3
        yes11: yes
        off11: off
        bool: true
        quoted: "true"
        quotedInt: '42'
        version: 34.04
        tag: "34.04.145"
        nothing: ~
        empty:
        date: 2024-01-02
        big: 99999999999999999999
        str: !!str 12
        """, source: "t.yaml"))
        XCTAssertEqual(doc["int"], .int(42))
        XCTAssertEqual(doc["negative"], .int(-7))
        XCTAssertEqual(doc["hex"], .int(31))
        XCTAssertEqual(doc["float"], .double(4.5))
        XCTAssertEqual(doc["exp"], .double(1000))
        XCTAssertEqual(doc["yes11"], .bool(true))
        XCTAssertEqual(doc["off11"], .bool(false))
        XCTAssertEqual(doc["bool"], .bool(true))
        XCTAssertEqual(doc["quoted"], .string("true"))
        XCTAssertEqual(doc["quotedInt"], .string("42"))
        XCTAssertEqual(doc["version"], .double(34.04))
        XCTAssertEqual(doc["tag"], .string("34.04.145"))
        XCTAssertEqual(doc["nothing"], .null)
        XCTAssertEqual(doc["empty"], .null)
        XCTAssertEqual(doc["date"], .string("2024-01-02"))
        XCTAssertEqual(doc["big"], .double(1e20))
        XCTAssertEqual(doc["str"], .string("12"))
    }

    func testYAMLMergeKeysAndSmallAliases() throws {
        let doc = try XCTUnwrap(ValuesYAML.parse(text: """
        base: &base {role: user, authType: basic}
        alice:
          <<: *base
          role: admin
        list: [*base, *base]
        """, source: "t.yaml"))
        XCTAssertEqual(doc["alice"], ["role": "admin", "authType": "basic"])
        XCTAssertEqual(doc["list"], [["role": "user", "authType": "basic"], ["role": "user", "authType": "basic"]])
    }
}
