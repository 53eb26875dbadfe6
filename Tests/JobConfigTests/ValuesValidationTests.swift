import Foundation
import JSONModel
import XCTest
@testable import JobConfig

let pem = """
-----BEGIN CERTIFICATE-----
MIIBszCCAVmgAwIBAgIUWm9vbXpvb216b29tem9vbXpvb216b28wCgYIKoZIzj0EAwIw
-----END CERTIFICATE-----
"""

final class ValuesValidationTests: XCTestCase {
    func testManyProblemsAreReportedAtOnce() {
        let yaml = """
        console:
          credentials: {username: "", password: ""}
          updateUsers: "yes"
          additionalUsers:
            - {username: alice, role: admin}
            - {username: bob, password: pw-long, role: auditor, authType: ldap}
            - {username: alice, password: pw2-long, role: user, authType: kerberos}
            - {password: pw3-long}
            - just-a-string
          groups:
            - {group: devs, role: devOps, authType: ldapGroup}
            - {group: devs, role: devOps, authType: adGroup}
          trustedImages:
            defaultEffect: deny
        sso:
          enabled: true
          provider_type: keycloak
          cert: not a certificate
        defender:
          containerRuntime: rkt
          tolerations: [{key: a, operator: Exists}, "not-a-map"]
          rolloutTimeoutSeconds: 0
          podLabels: {tier: 1}
          privileged: 1
        policies:
          vulnerabilities: {alertThreshold: severe}
          compliance: {templates: [GDPR, SOX], alertThreshold: 3}
        init:
          waitTimeoutSeconds: -5
        """
        let found = problems([yaml], sets: [])
        let expected = [
            "console.credentials.username: required (a non-empty string) when init.enabled is true; set it in the values or in the file console.credentials.username of the secrets directory",
            "console.credentials.password: required (a non-empty string) when init.enabled is true; set it in the values or in the file console.credentials.password of the secrets directory",
            "console.updateUsers: expected a bool (true or false), got the string \"yes\"",
            "console.additionalUsers[0].password: required for a basic user; set it in the values or in the file console.additionalUsers.alice.password of the secrets directory",
            "console.additionalUsers[1].password: a password is only meaningful for basic users (this user's authType is ldap)",
            "console.additionalUsers[2].username: \"alice\" is listed twice (also console.additionalUsers[0])",
            "console.additionalUsers[2].authType: \"kerberos\" is not one of basic, ldap, oauth, oidc, saml",
            "console.additionalUsers[3].username: required (a non-empty string)",
            "console.additionalUsers[3].role: required (one of admin, operator, auditor, devSecOps, vulnerabilityManager, devOps, defenderManager, user, ci, or a custom role)",
            "console.additionalUsers[4]: expected a map, got the string \"just-a-string\"",
            "console.groups[1].group: \"devs\" is listed twice (also console.groups[0])",
            "console.groups[1].authType: \"adGroup\" is not one of ldapGroup, samlGroup, oauthGroup, oidcGroup",
            "console.trustedImages.defaultEffect: \"deny\" is not one of alert, block",
            "sso.provider_type: \"keycloak\" is not one of okta, gsuite, ping, shibboleth, azure, adfs",
            "sso.client_id: required (a non-empty string) when sso.enabled is true",
            "sso.issuer_uri: required (a non-empty string) when sso.enabled is true",
            "sso.idp_url: required (a non-empty string) when sso.enabled is true",
            "sso.cert: not a PEM certificate (expected -----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----)",
            "defender.containerRuntime: \"rkt\" is not one of docker, containerd, crio",
            "defender.tolerations[1]: expected a map, got the string \"not-a-map\"",
            "defender.rolloutTimeoutSeconds: 0 is out of range (expected an integer (1…86400))",
            "defender.podLabels.tier: expected a string, got the integer 1 (quote it in YAML to make it a string)",
            "defender.privileged: expected a bool (true or false), got the integer 1",
            "policies.vulnerabilities.alertThreshold: \"severe\" is not one of low, medium, high, critical",
            "policies.compliance.templates[1]: \"SOX\" is not one of GDPR, DISA STIG, PCI, NIST SP 800-190, HIPAA",
            "policies.compliance.alertThreshold: expected one of low, medium, high, critical, got the integer 3",
            "init.waitTimeoutSeconds: -5 is out of range (expected an integer (1…86400))",
        ]
        for message in expected {
            XCTAssertTrue(found.contains(message), "missing: \(message)\nfound:\n\(found.joined(separator: "\n"))")
        }
        XCTAssertEqual(found.count, expected.count, "found:\n\(found.joined(separator: "\n"))")
    }

    func testTheExampleMessage() {
        let found = problems(["policies: {vulnerabilities: {alertThreshold: severe}}\n"])
        XCTAssertEqual(found, ["policies.vulnerabilities.alertThreshold: \"severe\" is not one of low, medium, high, critical"])
    }

    func testValidValuesPass() throws {
        let yaml = """
        domain: bigbang.dev
        console:
          license: LICENSE-KEY-123
          additionalUsers:
            - {username: alice, password: pw-a, role: admin}
            - {username: carol, role: devSecOps, authType: saml}
          groups:
            - {group: admins, role: admin}
            - {group: ops, role: operator, authType: ldapGroup}
        sso:
          enabled: true
          client_id: twistlock
          issuer_uri: https://kc.example/realms/r
          idp_url: https://kc.example/realms/r/protocol/saml
          cert: |
        \(pem.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
        defender:
          tolerations: [{key: node-role.kubernetes.io/master, effect: NoSchedule}]
          podLabels: {team: sec}
          proxy: {address: "http://proxy:3128", username: u, password: proxy-pw}
        monitoring: {enabled: true, password: metrics-pw}
        """
        let values = try loadValues([yaml])
        XCTAssertEqual(values.string("console.additionalUsers[0].authType"), "basic", "authType defaults to basic")
        XCTAssertEqual(values.string("console.groups[0].authType"), "oidcGroup", "group authType defaults to oidcGroup")
        XCTAssertEqual(values.string("console.groups[1].authType"), "ldapGroup")
        XCTAssertEqual(Set(values.secrets), ["s3cret-pw", "LICENSE-KEY-123", "pw-a", "proxy-pw", "metrics-pw"])
        XCTAssertTrue(values.warnings.isEmpty, "\(values.warnings)")
    }

    func testUnknownRoleIsAWarningNotAnError() throws {
        let values = try loadValues(["console: {additionalUsers: [{username: dan, password: pw-long, role: platformOwner}],"
                                     + " groups: [{group: g, role: securityLead}]}\n"])
        XCTAssertEqual(values.warnings.map(\.key), ["console.additionalUsers[0].role", "console.groups[0].role"])
        XCTAssertTrue(values.warnings[0].message.contains("\"platformOwner\" is not a built-in role"), values.warnings[0].message)
    }

    func testUnknownKeysWarnWithTheKeyMeant() throws {
        let values = try loadValues(["policies: {Name: Mine, extra: 1}\nconsole: {additionalUsers: [{userName: x, username: y, password: p-long, role: user}]}\n"])
        XCTAssertEqual(values.warnings.map(\.key), ["console.additionalUsers[0].userName", "policies.Name", "policies.extra"])
        XCTAssertTrue(values.warnings[0].message.hasSuffix("did you mean `console.additionalUsers[0].username`?"))
        XCTAssertTrue(values.warnings[1].message.hasSuffix("did you mean `policies.name`?"))
        XCTAssertFalse(values.warnings[2].message.contains("did you mean"))
        XCTAssertEqual(values.string("policies.name"), "Default")
    }

    func testInitDisabledNeedsNoCredentials() throws {
        let values = try loadValues(["init: {enabled: false}\n"], sets: [])
        XCTAssertEqual(values.bool("init.enabled"), false)
        XCTAssertTrue(values.secrets.isEmpty)
    }

    func testSSOCertificateChecks() {
        let base = "sso: {enabled: true, client_id: c, issuer_uri: i, idp_url: \"https://idp.example.com/saml\", cert: %@}\n"
        XCTAssertEqual(problems([base.replacingOccurrences(of: "%@", with: "\"\"")]),
                       ["sso.cert: required when sso.enabled is true (the identity provider's X.509 certificate in PEM form)"])
        let badBody = "\"-----BEGIN CERTIFICATE-----\\n%%%not base64%%%\\n-----END CERTIFICATE-----\""
        XCTAssertEqual(problems([base.replacingOccurrences(of: "%@", with: badBody)]),
                       ["sso.cert: not a PEM certificate (the text between the BEGIN and END lines is not base64)"])
        XCTAssertNoThrow(try loadValues(["sso: {enabled: false, cert: garbage}\n"]), "not checked when SSO is off")
    }

    func testPasswordRulesForUsers() {
        XCTAssertEqual(problems(["console: {additionalUsers: [{username: o, password: x-long, role: user, authType: oidc}]}\n"]),
                       ["console.additionalUsers[0].password: a password is only meaningful for basic users (this user's authType is oidc)"])
        XCTAssertEqual(problems(["console: {additionalUsers: [{username: b, role: user, authType: \"\"}]}\n"]),
                       ["console.additionalUsers[0].password: required for a basic user; set it in the values or in the file console.additionalUsers.b.password of the secrets directory"])
        // The admin and the metrics user are managed by their own steps: listed again, they are
        // skipped with a warning, not refused.
        let values = try? loadValues(["console: {additionalUsers: [{username: admin, password: x-long, role: user}, {username: twistlock-metrics, password: y-long, role: auditor}]}\nmonitoring: {enabled: true, password: m-long}\n"])
        XCTAssertEqual(values?.warnings.map(\.description), [
            "console.additionalUsers[0].username: is the admin account of console.credentials.username; the users step skips it (the admin step manages it)",
            "console.additionalUsers[1].username: is the metrics user of monitoring.username; the users step skips it (the metrics-user step manages it)",
        ])
    }

    func testLongStrings() {
        let long = String(repeating: "a", count: 64 * 1024 + 1)
        XCTAssertEqual(problems(["policies: {name: \(long)}\n"]),
                       ["policies.name: the string is too long (65537 bytes; at most 64 KiB)"])
        // The CA and the SSO certificate may be longer (up to 1 MiB).
        XCTAssertNoThrow(try loadValues(["defender: {proxy: {ca: \(long)}}\n"]))
        let tooLong = String(repeating: "a", count: 1024 * 1024 + 1)
        XCTAssertEqual(problems(["defender: {proxy: {ca: \(tooLong)}}\n"]),
                       ["defender.proxy.ca: the string is too long (1048577 bytes; at most 1024 KiB)"])
        // Free-form maps are checked too.
        XCTAssertEqual(problems(["defender: {resources: {limits: {cpu: \(long)}}}\n"]),
                       ["defender.resources.limits.cpu: the string is too long (65537 bytes; at most 64 KiB)"])
    }

    func testTypeErrorsDoNotQuoteSecrets() {
        let found = problems(["console: {license: [SuperSecretLicense]}\n"])
        XCTAssertEqual(found, ["console.license: expected a string, got a list"])
        let found2 = problems([], sets: ["console.credentials.username=admin", "console.credentials.password=12345678"])
        XCTAssertEqual(found2, ["console.credentials.password: expected a string, got an integer (quote it in YAML to make it a string)"])
    }

    func testMonitoringNeedsAPassword() {
        XCTAssertEqual(problems(["monitoring: {enabled: true}\n"]),
                       ["monitoring.password: required (a non-empty string) when monitoring.enabled is true; set it in the values or in the file monitoring.password of the secrets directory"])
    }

    func testDefenderNamespaceMustBeAName() {
        XCTAssertEqual(problems(["defender: {namespace: Twist_Lock}\n"]).count, 1)
        XCTAssertTrue(problems(["defender: {namespace: Twist_Lock}\n"])[0].hasPrefix("defender.namespace: \"Twist_Lock\" is not a Kubernetes namespace name"))
        XCTAssertNoThrow(try loadValues(["defender: {enabled: false, namespace: Twist_Lock}\n"]))
    }
}
