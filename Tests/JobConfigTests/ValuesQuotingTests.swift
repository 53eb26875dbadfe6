import Foundation
import JSONModel
import XCTest
@testable import JobConfig

/// Issue 8, finding 4: blank (whitespace-only) strings in list items are "required" like empty
/// ones, named with their index; a refused value is quoted by its first 80 characters at most;
/// a secret is never quoted.
final class ValuesQuotingTests: XCTestCase {
    static let roles = "one of admin, operator, auditor, devSecOps, vulnerabilityManager, devOps, defenderManager, user, ci"

    func testBlankListItemFieldsAreRequiredNamingTheirIndex() throws {
        let yaml = """
        console:
          additionalUsers:
            - {username: alice, password: pw-long, role: admin}
            - {username: "   ", password: pw-long, role: user}
            - {username: bob, password: pw-long, role: "\\t"}
            - {username: carol, password: "  \\n ", role: user}
            - {username: dave, password: " ", role: user, authType: saml}
            - {username: "\\n", role: user}
          groups:
            - {group: devs, role: devOps}
            - {group: "  ", role: devOps}
            - {group: ops, role: "   "}
        """
        let found = problems([yaml])
        XCTAssertEqual(found, [
            "console.additionalUsers[1].username: required (a non-empty string)",
            "console.additionalUsers[2].role: required (\(Self.roles), or a custom role)",
            "console.additionalUsers[3].password: required for a basic user; set it in the values or in the file "
                + "console.additionalUsers.carol.password of the secrets directory",
            "console.additionalUsers[5].username: required (a non-empty string)",
            "console.additionalUsers[5].password: required for a basic user; set it in the values or in the file "
                + "console.additionalUsers.<username>.password of the secrets directory",
            "console.groups[1].group: required (the group's name, a non-empty string)",
            "console.groups[2].role: required (\(Self.roles), or a custom role)",
        ])
        let ok = try loadValues(["console: {additionalUsers: [{username: u, password: pw-long, role: user}], groups: [{group: g, role: admin}]}\n"])
        XCTAssertTrue(ok.warnings.isEmpty, "\(ok.warnings)")
    }

    func testBlankRoleGivesNoUnknownRoleWarning() throws {
        // A blank role is "required", not also "not a built-in role".
        var validator = ValuesValidator()
        validator.validate(.object(["console": .object(["additionalUsers": .array([
            .object(["username": "u", "password": "pw-long", "role": "  "]),
        ])])]))
        XCTAssertEqual(validator.warnings, [])
        XCTAssertEqual(validator.problems.map(\.key), ["console.additionalUsers[0].role"])
    }

    func testRefusedValuesAreQuotedByTheirFirst80Characters() throws {
        // The finding: defender.namespace quoted all 64 KiB of the value it refused.
        let namespace = String(repeating: "A", count: 65_536)
        let found = problems(["defender: {namespace: \"\(namespace)\"}\n"])
        XCTAssertEqual(found, ["defender.namespace: \"\(String(repeating: "A", count: 80))…\" (65536 characters) is not a "
            + "Kubernetes namespace name (lower-case letters, digits and \"-\", at most 63, starting and ending with a letter or digit)"])

        // Exactly 80 characters: quoted whole; 81: cut.
        let eighty = String(repeating: "b", count: 80)
        XCTAssertEqual(ValuesValidator.quoteRefused(eighty), "\"\(eighty)\"")
        XCTAssertEqual(ValuesValidator.quoteRefused(eighty + "c"), "\"\(eighty)…\" (81 characters)")
        XCTAssertEqual(ValuesValidator.quoteRefused("é€\n"), "\"é€\\n\"")
        // A "character" with thousands of combining marks is cut too.
        let zalgo = "a" + String(repeating: "\u{0301}", count: 5000)
        XCTAssertLessThan(ValuesValidator.quoteRefused(zalgo).unicodeScalars.count, 120)

        // Closed enums, the open role's warning and duplicates use the same rule.
        let long = String(repeating: "x", count: 5000)
        let yaml = """
        policies: {vulnerabilities: {alertThreshold: "\(long)"}}
        console:
          additionalUsers:
            - {username: "\(long)", password: pw-long, role: "\(long)"}
            - {username: "\(long)", password: pw-long, role: user}
        """
        do {
            _ = try loadValues([yaml])
            XCTFail("expected invalid values")
        } catch let error as ValuesError {
            let problems = error.problems
            XCTAssertEqual(problems.map(\.key), ["policies.vulnerabilities.alertThreshold", "console.additionalUsers[1].username"])
            let quoted = "\"\(String(repeating: "x", count: 80))…\" (5000 characters)"
            XCTAssertEqual(problems.map(\.message), [
                "\(quoted) is not one of low, medium, high, critical",
                "\(quoted) is listed twice (also console.additionalUsers[0])",
            ])
            XCTAssertLessThan(error.description.count, 600, error.description)
        }
        var validator = ValuesValidator()
        validator.validate(.object(["console": .object(["additionalUsers": .array([
            .object(["username": "u", "password": "pw-long", "role": .string(long)]),
        ])])]))
        XCTAssertEqual(validator.warnings.map(\.key), ["console.additionalUsers[0].role"])
        XCTAssertTrue(validator.warnings[0].message.hasPrefix("\"\(String(repeating: "x", count: 80))…\" (5000 characters) is not a built-in role"),
                      validator.warnings[0].message)
    }

    func testSecretsAreNeverQuotedWhateverTheirLengthOrKind() throws {
        let mark = "SECRET-MARK-1b2c"
        let cases: [(String, String)] = [
            ("console.credentials.password", "console: {credentials: {username: admin, password: [\"\(mark)\"]}}"),
            ("console.license", "console: {license: {k: \"\(mark)\"}}"),
            ("console.license", "console: {license: \"\(mark)\(String(repeating: "z", count: 70_000))\"}"),
            ("defender.proxy.password", "defender: {proxy: {password: [\"\(mark)\", 2]}}"),
            ("monitoring.password", "monitoring: {enabled: true, password: {p: \"\(mark)\"}}"),
            ("console.additionalUsers[0].password", "console: {additionalUsers: [{username: u, role: user, password: [\"\(mark)\"]}]}"),
            ("console.additionalUsers[0].password",
             "console: {additionalUsers: [{username: u, role: user, authType: saml, password: \"\(mark)\"}]}"),
        ]
        for (key, yaml) in cases {
            // (--set would replace a password given in the file: the credentials' case has none.)
            let found = problems([yaml + "\n"], sets: key == "console.credentials.password" ? [] : credentials)
            XCTAssertTrue(found.contains { $0.hasPrefix(key + ": ") }, "\(key): \(found)")
            XCTAssertFalse(found.joined().contains(mark), "a secret is quoted: \(found)")
            XCTAssertTrue(found.allSatisfy { $0.count < 400 }, "\(found)")
        }
    }
}
