import Foundation
import JobConfig
import JSONModel
import TwistlockInit
import XCTest

/// The identity, dns-san, defenders and metrics-user steps no longer check the values: each check
/// they made is made once, in Swift, before the first request. Here every one of them (and
/// spellings beyond the obvious ones) is refused by a run against the simulated console, naming
/// its key, with not one request sent — so nothing the Lua checked is lost.
final class ValuesTrustTests: XCTestCase {
    static let ssoBase = """
    sso:
      enabled: true
      client_id: twistlock
      issuer_uri: https://login.example.com
      idp_url: https://login.example.com/saml
      cert: |
        -----BEGIN CERTIFICATE-----
        MIIBszCCAVmgAwIBAgIUWm9vbXpvb216b29tem9vbXpvb216b28wCgYIKoZIzj0EAwIw
        -----END CERTIFICATE-----

    """

    /// (values YAML, the key the refusal names, text the problem must hold, text it must not)
    static let cases: [(String, String, String, String?)] = [
        // sso (identity.saml_spec): URLs, provider type, certificate, required fields
        (ssoBase + "  console_url: javascript:alert(1)\n", "sso.console_url", "not an http(s) URL", nil),
        (ssoBase.replacingOccurrences(of: "https://login.example.com/saml", with: "https://login.example.com/sa ml"),
         "sso.idp_url", "white space", nil),
        (ssoBase.replacingOccurrences(of: "https://login.example.com/saml", with: "https://"), "sso.idp_url", "no host", nil),
        (ssoBase.replacingOccurrences(of: "https://login.example.com/saml", with: "https://bob:Hunter2-pw@login.example.com/saml"),
         "sso.idp_url", "user name or password", "Hunter2-pw"),
        (ssoBase.replacingOccurrences(of: "https://login.example.com/saml", with: "login.example.com/saml"),
         "sso.idp_url", "not an http(s) URL", nil),
        (ssoBase + "  provider_type: Okta\n", "sso.provider_type", "is not one of", nil),
        (ssoBase.replacingOccurrences(of: "client_id: twistlock", with: "client_id: \"  \""), "sso.client_id", "required", nil),
        (ssoBase.replacingOccurrences(of: "-----BEGIN CERTIFICATE-----", with: "-----BEGIN CERT-----"), "sso.cert", "PEM", nil),
        // dns-san: the host name, from each of its three keys
        ("console: {externalHost: \"twistlock.example.com.\"}\n", "console.externalHost", "ends with a dot", nil),
        ("console: {externalHost: \"twist_lock.example.com\"}\n", "console.externalHost", "\"_\"", nil),
        ("console: {externalHost: \"\(String(repeating: "a", count: 64)).example.com\"}\n", "console.externalHost", "at most 63", nil),
        ("console: {externalHost: \"Twistlock.Example.com\"}\n", "console.externalHost", "lower case", nil),
        ("console: {externalHost: \"*.example.com\"}\n", "console.externalHost", "wildcard", nil),
        ("console: {externalHost: \"https://twistlock.example.com:8443\"}\n", "console.externalHost", "no scheme", nil),
        ("routes: {inbound: {console: {hosts: [\"prisma_ui.{{ .Values.domain }}\"]}}}\ndomain: example.mil\n",
         "routes.inbound.console.hosts[0]", "\"_\"", nil),
        ("routes: {inbound: {console: {hosts: [\"prisma.{{ .Values.domain }}\"]}}}\n",
         "routes.inbound.console.hosts[0]", "which is empty", nil),
        ("domain: \"10.1.2.3\"\n", "domain", "IP address", nil),
        ("domain: \"bigbang.dev.\"\n", "domain", "ends with a dot", nil),
        // users and groups (identity.user_specs / group_specs)
        ("console: {additionalUsers: [{username: \"alice smith\", password: Alice-Passw0rd-1, role: user}]}\n",
         "console.additionalUsers[0].username", "white space", "Alice-Passw0rd-1"),
        ("console: {additionalUsers: [{username: \"ali\\u200Bce\", password: Alice-Passw0rd-1, role: user}]}\n",
         "console.additionalUsers[0].username", "U+200B", nil),
        ("console: {additionalUsers: [{username: alice, password: Alice-Passw0rd-1, role: Admin}]}\n",
         "console.additionalUsers[0].role", "only in case", nil),
        ("console: {additionalUsers: [{username: alice, password: Alice-Passw0rd-1, role: \"auditor \"}]}\n",
         "console.additionalUsers[0].role", "white space", nil),
        ("console: {additionalUsers: [{username: alice, password: Alice-Passw0rd-1, role: user}, {username: alice, password: Alice-Passw0rd-2, role: ci}]}\n",
         "console.additionalUsers[1].username", "listed twice", "Alice-Passw0rd-2"),
        ("console: {additionalUsers: [{username: alice, role: user}]}\n", "console.additionalUsers[0].password", "required", nil),
        ("console: {additionalUsers: [{username: alice, password: Alice-Passw0rd-1, role: user, authType: oidc}]}\n",
         "console.additionalUsers[0].password", "only meaningful for basic users", "Alice-Passw0rd-1"),
        ("console: {additionalUsers: [{username: alice, password: Alice-Passw0rd-1, role: user, authType: Basic}]}\n",
         "console.additionalUsers[0].authType", "is not one of", nil),
        ("console: {additionalUsers: [\"alice\"]}\n", "console.additionalUsers[0]", "expected a map", nil),
        ("console: {groups: [{group: \"Domain\\tAdmins\", role: admin}]}\n", "console.groups[0].group", "U+0009", nil),
        ("console: {groups: [{group: devs, role: DEVOPS}]}\n", "console.groups[0].role", "only in case", nil),
        ("console: {groups: [{group: devs, role: devOps}, {group: devs, role: ci}]}\n", "console.groups[1].group", "listed twice", nil),
        ("console: {groups: [{group: devs, role: devOps, authType: oidc}]}\n", "console.groups[0].authType", "is not one of", nil),
        // metrics-user
        ("monitoring: {enabled: true}\n", "monitoring.password", "required", nil),
        ("monitoring: {enabled: true, password: Metrics-Passw0rd-1, username: \"metrics user\"}\n",
         "monitoring.username", "white space", "Metrics-Passw0rd-1"),
        ("monitoring: {enabled: true, password: Metrics-Passw0rd-1, username: [a]}\n", "monitoring.username", "expected", nil),
        // defenders
        ("defender: {enabled: true, namespace: \"\"}\n", "defender.namespace", "required", nil),
        ("defender: {enabled: true, namespace: Twistlock}\n", "defender.namespace", "namespace name", nil),
        ("defender: {enabled: true, consoleAddress: \"twistlock-console:8084\"}\n", "defender.consoleAddress", "no port", nil),
        ("defender: {enabled: true, consoleAddress: \"https://twistlock-console\"}\n", "defender.consoleAddress", "no scheme, path or query", nil),
    ]

    func testEveryCheckTheStepsMadeIsMadeBeforeAnyRequest() async throws {
        let h = try await StepHarness.start()
        try await h.clearRequests()
        for (values, key, saying, secret) in Self.cases {
            let run = try await h.run(values: values, mode: .run)
            XCTAssertEqual(run.report.exitCode, JobExitCode.invalidInput, "\(values)\n\(run.output)")
            let named = run.report.problems.filter { $0.hasPrefix(key + ": ") }
            XCTAssertFalse(named.isEmpty, "\(key) not named for:\n\(values)\n\(run.report.problems)")
            XCTAssertTrue(named.contains { $0.contains(saying) }, "\(key): expected \"\(saying)\" in \(named)")
            if let secret {
                XCTAssertFalse(run.output.contains(secret), "the secret is shown:\n\(run.output)")
                XCTAssertFalse(run.report.problems.joined().contains(secret))
            }
            XCTAssertTrue(run.report.steps.allSatisfy { $0.status != .done && $0.status != .failed },
                          "no step ran: \(run.report.steps.map { "\($0.name) \($0.status)" })")
        }
        let requests = try await h.requests()
        XCTAssertEqual(requests.count, 0, "no request before the values are valid: \(requests.prefix(5))")
        await h.stop()
    }

    /// What the steps now take from the host instead of working it out again.
    func testStepsGetTheConsoleHostAndTheBuiltInRolesFromTheHost() async throws {
        let h = try await StepHarness.start()
        let run = try await h.run(values: """
        domain: example.mil
        routes: {inbound: {console: {hosts: ["prisma.{{ .Values.domain }}", "*.example.mil"]}}}
        console:
          groups:
            - {group: devs, role: securityLead}
            - {group: ops, role: defenderManager}
        """, only: ["wait", "admin", "license", "dns-san", "groups"])
        XCTAssertEqual(run.report.exitCode, JobExitCode.stepFailed, run.output)
        let sans = try await h.state()["settings"]?["certs"]?["consoleSAN"]?.arrayValue?.compactMap(\.stringValue) ?? []
        XCTAssertEqual(sans.last, "prisma.example.mil", "the first route host, its domain filled in")
        // A custom role the console lacks: the failure says it is not built in (job.builtin_roles);
        // the group with a built-in role is made.
        let err = run.step("groups")?.error ?? ""
        XCTAssertTrue(err.contains("role \"securityLead\" is not built in"), err)
        XCTAssertTrue(err.contains("1 of 2 groups failed"), err)
        let groups = try await h.state()["groups"]?.arrayValue ?? []
        XCTAssertTrue(groups.contains { $0["groupName"]?.stringValue == "ops" && $0["role"]?.stringValue == "defenderManager" }, "\(groups)")
        await h.stop()
    }
}
