import Foundation
import JSONModel
import XCTest
@testable import JobConfig

/// `podLabels` and `defender.podLabels`: Kubernetes labels, refused before anything is sent when
/// the API server would refuse them, each problem naming the key.
final class LabelValuesTests: XCTestCase {
    func testValidLabelsAreTaken() throws {
        let values = try loadValues(["""
        podLabels: {app.kubernetes.io/part-of: bigbang, team: sec, empty: "", A_b.c-9: Z_9.y-x}
        defender:
          podLabels:
            example.com/tier: "1"
            a.b-c.d/x: v
            k: \(String(repeating: "v", count: 63))
            \(String(repeating: "n", count: 63)): x
        """])
        XCTAssertEqual(values.lookup("podLabels.team"), "sec")
        XCTAssertEqual(values.lookup("podLabels.empty"), "")
        XCTAssertEqual(values.warnings.map(\.description), [])
    }

    /// Every rule of a label key, each broken at least two ways, in both maps.
    func testBadLabelKeysAreRefusedNamingTheMap() {
        let bad: [(key: String, why: String)] = [
            // the prefix: a lower-case DNS subdomain
            ("Example.com/tier", "the prefix \"Example.com\" is not a DNS subdomain"),
            ("example_corp.com/tier", "the prefix \"example_corp.com\" is not a DNS subdomain"),
            ("-example.com/tier", "the prefix \"-example.com\" is not a DNS subdomain"),
            ("example..com/tier", "the prefix \"example..com\" is not a DNS subdomain"),
            ("example.com./tier", "the prefix \"example.com.\" is not a DNS subdomain"),
            ("\(String(repeating: "a", count: 254))/tier", "the prefix is longer than 253 characters"),
            // the slash
            ("/tier", "the prefix before \"/\" is empty"),
            ("a/b/c", "has more than one \"/\""),
            ("example.com/", "the name is empty"),
            // the name
            ("-tier", "the name must be letters, digits"),
            ("tier_", "the name must be letters, digits"),
            ("two words", "the name must be letters, digits"),
            ("tièr", "the name must be letters, digits"),
            ("example.com/ti:er", "the name must be letters, digits"),
            (String(repeating: "n", count: 64), "the name is longer than 63 characters"),
            ("example.com/" + String(repeating: "n", count: 64), "the name is longer than 63 characters"),
        ]
        for map in ["podLabels", "defender.podLabels"] {
            for (key, why) in bad {
                let yaml = nested(map, [key: "x"])
                let found = problems([yaml])
                XCTAssertEqual(found.count, 1, "\(map) \(key): \(found)")
                let message = found.first ?? ""
                XCTAssertTrue(message.hasPrefix("\(map): "), message)
                XCTAssertTrue(message.contains("is not a Kubernetes label key"), message)
                XCTAssertTrue(message.contains(why), "\(key): \(message)")
            }
        }
    }

    /// Every rule of a label value, each broken at least two ways.
    func testBadLabelValuesAreRefusedNamingTheKey() {
        let bad: [(value: JSON, why: String)] = [
            ("two words", "not a Kubernetes label value"),
            ("-leading", "not a Kubernetes label value"),
            ("trailing.", "not a Kubernetes label value"),
            ("a/b", "not a Kubernetes label value"),
            ("{{ .Values.domain }}", "not a Kubernetes label value"),
            ("naïve", "not a Kubernetes label value"),
            (.string(String(repeating: "v", count: 64)), "too long for a label value (64 characters; at most 63)"),
            (.int(1), "expected a string, got the integer 1 (quote it in YAML to make it a string)"),
            (.bool(true), "expected a string, got the bool true"),
            (["nested": "map"], "expected a string, got a map"),
        ]
        for map in ["podLabels", "defender.podLabels"] {
            for (value, why) in bad {
                let found = problems([nested(map, ["team": value])])
                XCTAssertEqual(found, ["\(map).team: " + (found.first.map { String($0.dropFirst("\(map).team: ".count)) } ?? "")],
                               "\(map) \(value.encoded()): \(found)")
                XCTAssertTrue(found.first?.contains(why) ?? false, "\(value.encoded()): \(found)")
            }
        }
        // The map itself must be a map.
        XCTAssertEqual(problems(["podLabels: [a, b]\n"]), ["podLabels: expected a map of Kubernetes labels (label key: string), got a list"])
        XCTAssertEqual(problems(["defender: {podLabels: team}\n"]),
                       ["defender.podLabels: expected a map of Kubernetes labels (label key: string), got the string \"team\""])
    }

    /// `--set` reaches the same checks (its values are typed as Helm types them).
    func testSetArgumentsAreCheckedToo() {
        XCTAssertEqual(problems([], sets: credentials + ["podLabels.tier=1"]),
                       ["podLabels.tier: expected a string, got the integer 1 (quote it in YAML to make it a string)"])
        XCTAssertEqual(problems([], sets: credentials + ["defender.podLabels.Team\\.example/x=y"]).count, 1)
        XCTAssertEqual(problems([], sets: credentials + ["defender.podLabels.team=a b"]).first,
                       "defender.podLabels.team: \"a b\": not a Kubernetes label value (letters, digits, \"-\", \"_\" and \".\", starting and ending with a letter or digit, at most 63)")
    }

    /// The same rules in values.schema.json, for `helm install` (Tests/chart checks helm refuses).
    func testTheChartSchemaCarriesTheSameRules() throws {
        for (key, valid) in [("app.kubernetes.io/name", true), ("team", true), ("Example.com/x", false), ("a/b/c", false),
                             ("-x", false), ("x_", false)] {
            XCTAssertEqual(key.range(of: LabelRules.keyPattern, options: .regularExpression) != nil, valid, key)
            XCTAssertEqual(LabelRules.keyProblem(key) == nil, valid, key)
        }
        for (value, valid) in [("", true), ("v1.2_3-x", true), ("a b", false), ("-x", false), ("x.", false),
                               (String(repeating: "v", count: 63), true), (String(repeating: "v", count: 64), false)] {
            XCTAssertEqual(value.range(of: LabelRules.valuePattern, options: .regularExpression) != nil, valid, value)
            XCTAssertEqual(LabelRules.valueProblem(value) == nil, valid, value)
        }
    }

    /// YAML for `labels` under a dotted path (`defender.podLabels`), with the credentials.
    func nested(_ path: String, _ labels: JSON) -> String {
        var value = labels
        for part in path.split(separator: ".").reversed() { value = .object([String(part): value]) }
        return value.encoded()
    }
}
