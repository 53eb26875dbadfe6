import ConsoleSimulator
import Foundation
import JSONModel
import TwistlockInit
import XCTest

/// The identity steps (users, groups, metrics-user, sso, dns-san) end to end against the
/// simulated console: what a first run creates, that a second run writes nothing, hand changes
/// kept or restored per `console.updateUsers`, validation before any request, conformance of
/// every body sent, and no password in any output.
final class IdentityStepTests: XCTestCase {
    static let alicePassword = "Al1ce-Pa55word-values"
    static let carolPassword = "Car0l-Pa55word-values"
    static let metricsPassword = "Metr1cs-Pa55word-values"
    /// A self-signed certificate (CN=idp.example.com) standing for the identity provider's.
    static let cert = """
    -----BEGIN CERTIFICATE-----
    MIIBiTCCAS+gAwIBAgIUUl4jAOFm5TZzs9yyhGPtppDvZpIwCgYIKoZIzj0EAwIw
    GjEYMBYGA1UEAwwPaWRwLmV4YW1wbGUuY29tMB4XDTI2MTEyNzEwMTcyMFoXDTM2
    MTEyNDEwMTcyMFowGjEYMBYGA1UEAwwPaWRwLmV4YW1wbGUuY29tMFkwEwYHKoZI
    zj0CAQYIKoZIzj0DAQcDQgAEx+z3nE+1L8IzXGXFhFtiDusbyv4aU8uCy7P7AN9B
    l+f6pPJV2q2KdH6AZg9rMTKAUiT28vFYpDWpFtCq/j0QeqNTMFEwHQYDVR0OBBYE
    FN9AvS9xbd2odFsOpNA0STT+3SiWMB8GA1UdIwQYMBaAFN9AvS9xbd2odFsOpNA0
    STT+3SiWMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIhAI1E6Wm6
    tHnlrLK4+LijXk5EFrdDbO5hAX1yljh19jCcAiB4+GdX7JXNW5t1lH66lX0bWEUQ
    j9TgGXNO1J3b80CJEQ==
    -----END CERTIFICATE-----

    """

    static let values = """
    domain: bigbang.dev
    console:
      externalHost: twistlock.example.com
      additionalUsers:
        - username: alice
          password: \(alicePassword)
          role: devOps
          authType: basic
        - username: bob
          role: auditor
          authType: ldap
        - username: carol
          password: \(carolPassword)
          role: vulnerabilityManager
      groups:
        - group: developers
          role: devOps
          authType: samlGroup
        - group: operators
          role: operator
    monitoring:
      enabled: true
      password: \(metricsPassword)
    sso:
      enabled: true
      client_id: twistlock
      provider_name: Keycloak
      provider_type: shibboleth
      issuer_uri: https://login.example.com/realms/bb
      idp_url: https://login.example.com/realms/bb/protocol/saml
      console_url: https://twistlock.example.com
      groups: groups
      cert: |
        -----BEGIN CERTIFICATE-----
        MIIBiTCCAS+gAwIBAgIUUl4jAOFm5TZzs9yyhGPtppDvZpIwCgYIKoZIzj0EAwIw
        GjEYMBYGA1UEAwwPaWRwLmV4YW1wbGUuY29tMB4XDTI2MTEyNzEwMTcyMFoXDTM2
        MTEyNDEwMTcyMFowGjEYMBYGA1UEAwwPaWRwLmV4YW1wbGUuY29tMFkwEwYHKoZI
        zj0CAQYIKoZIzj0DAQcDQgAEx+z3nE+1L8IzXGXFhFtiDusbyv4aU8uCy7P7AN9B
        l+f6pPJV2q2KdH6AZg9rMTKAUiT28vFYpDWpFtCq/j0QeqNTMFEwHQYDVR0OBBYE
        FN9AvS9xbd2odFsOpNA0STT+3SiWMB8GA1UdIwQYMBaAFN9AvS9xbd2odFsOpNA0
        STT+3SiWMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIhAI1E6Wm6
        tHnlrLK4+LijXk5EFrdDbO5hAX1yljh19jCcAiB4+GdX7JXNW5t1lH66lX0bWEUQ
        j9TgGXNO1J3b80CJEQ==
        -----END CERTIFICATE-----
    """

    static let identitySteps = ["wait", "admin", "license", "dns-san", "sso", "users", "groups", "metrics-user"]

    func user(_ state: JSON, _ name: String) -> JSON? {
        state["users"]?.arrayValue?.first { $0["username"]?.stringValue == name }
    }

    func group(_ state: JSON, _ name: String) -> JSON? {
        state["groups"]?.arrayValue?.first { $0["groupName"]?.stringValue == name }
    }

    func endpoints(_ writes: [JSON]) -> [String] {
        writes.map { "\($0["method"]?.stringValue ?? "") \($0["endpoint"]?.stringValue ?? "")" }
    }

    /// Logs in as `user` with `password` (true: the console accepts it).
    func canLogIn(_ h: StepHarness, _ user: String, _ password: String) async throws -> Bool {
        let status = try await h.send("POST", "/api/v1/authenticate",
                                      ["username": .string(user), "password": .string(password)])
        return status == 200
    }

    func assertNoSecrets(_ run: StepHarness.Run, file: StaticString = #filePath, line: UInt = #line) {
        for secret in [Self.alicePassword, Self.carolPassword, Self.metricsPassword, StepHarness.adminPassword] {
            XCTAssertFalse(run.output.contains(secret), "a password appears in the output", file: file, line: line)
            for s in run.report.steps {
                XCTAssertFalse((s.error ?? "").contains(secret), "a password appears in an error", file: file, line: line)
            }
            XCTAssertFalse(run.report.json.encoded().contains(secret), "a password appears in the report", file: file, line: line)
        }
    }

    func testFirstRunConfiguresEverythingAndASecondRunWritesNothing() async throws {
        let h = try await StepHarness.start()
        let first = try await h.run(values: Self.values)
        XCTAssertEqual(first.report.exitCode, 0, first.output)
        for step in ["dns-san", "sso", "users", "groups", "metrics-user"] {
            XCTAssertEqual(first.step(step)?.status, .done, "\(step): \(first.output)")
        }
        assertNoSecrets(first)
        XCTAssertTrue(first.output.contains("created user alice (devOps, basic)"), first.output)
        XCTAssertTrue(first.output.contains("created user bob (auditor, ldap)"), first.output)
        XCTAssertTrue(first.output.contains("created group developers (devOps, samlGroup)"), first.output)
        XCTAssertTrue(first.output.contains("created metrics user twistlock-metrics (auditor, basic)"), first.output)

        let state = try await h.state()
        XCTAssertEqual(user(state, "alice")?["role"]?.stringValue, "devOps")
        XCTAssertEqual(user(state, "alice")?["authType"]?.stringValue, "basic")
        XCTAssertEqual(user(state, "bob")?["authType"]?.stringValue, "ldap")
        XCTAssertEqual(user(state, "carol")?["authType"]?.stringValue, "basic", "authType defaults to basic")
        XCTAssertEqual(user(state, "twistlock-metrics")?["role"]?.stringValue, "auditor")
        let aliceLogsIn = try await canLogIn(h, "alice", Self.alicePassword)
        let metricsLogsIn = try await canLogIn(h, "twistlock-metrics", Self.metricsPassword)
        XCTAssertTrue(aliceLogsIn)
        XCTAssertTrue(metricsLogsIn)

        let developers = try XCTUnwrap(group(state, "developers"))
        XCTAssertEqual(developers["role"]?.stringValue, "devOps")
        XCTAssertEqual(developers["samlGroup"]?.boolValue, true)
        for flag in ["ldapGroup", "oauthGroup", "oidcGroup"] { XCTAssertNotEqual(developers[flag]?.boolValue, true, flag) }
        XCTAssertEqual(group(state, "operators")?["oidcGroup"]?.boolValue, true, "group authType defaults to oidcGroup")

        let saml = try XCTUnwrap(state["settings"]?["saml"])
        XCTAssertEqual(saml["enabled"]?.boolValue, true)
        XCTAssertEqual(saml["audience"]?.stringValue, "twistlock")
        XCTAssertEqual(saml["providerAlias"]?.stringValue, "Keycloak")
        XCTAssertEqual(saml["type"]?.stringValue, "shibboleth")
        XCTAssertEqual(saml["issuer"]?.stringValue, "https://login.example.com/realms/bb")
        XCTAssertEqual(saml["url"]?.stringValue, "https://login.example.com/realms/bb/protocol/saml")
        XCTAssertEqual(saml["consoleURL"]?.stringValue, "https://twistlock.example.com")
        XCTAssertEqual(saml["groupAttribute"]?.stringValue, "groups")
        XCTAssertEqual(saml["cert"]?.stringValue?.trimmingCharacters(in: .whitespacesAndNewlines),
                       Self.cert.trimmingCharacters(in: .whitespacesAndNewlines))
        XCTAssertEqual(saml["skipAuthnContext"]?.boolValue, false, "a field the values do not name is kept")

        let sans = state["settings"]?["certs"]?["consoleSAN"]?.arrayValue?.compactMap(\.stringValue)
        XCTAssertEqual(sans, ["127.0.0.1", "localhost", "twistlock-console", "twistlock.example.com"],
                       "the external host is added after the SANs the console had")

        let findings = try await h.findings()
        XCTAssertEqual(findings, [], "every body conforms to the OpenAPI document")

        try await h.clearRequests()
        let second = try await h.run(values: Self.values)
        XCTAssertEqual(second.report.exitCode, 0, second.output)
        let writes = try await h.writes()
        XCTAssertEqual(endpoints(writes).filter { $0 != "POST settings/license" }, [], "a second run writes nothing")
        XCTAssertTrue(second.output.contains("user alice (devOps, basic) unchanged"), second.output)
        XCTAssertTrue(second.output.contains("group developers unchanged"), second.output)
        XCTAssertTrue(second.output.contains("metrics user twistlock-metrics unchanged"), second.output)
        XCTAssertTrue(second.output.contains("SAML settings unchanged"), second.output)
        XCTAssertTrue(second.output.contains("certificate SAN twistlock.example.com already present"), second.output)
        for step in ["dns-san", "sso", "users", "groups", "metrics-user"] {
            XCTAssertEqual(second.step(step)?.writes, 0, step)
        }
        let reads = try await h.requests().filter { $0["method"]?.stringValue == "GET" }
        let usersReads = reads.filter { $0["endpoint"]?.stringValue == "users" }.count
        XCTAssertEqual(usersReads, 2, "users and metrics-user each read the users once")
        assertNoSecrets(second)
        let findings2 = try await h.findings()
        XCTAssertEqual(findings2, [])
        await h.stop()
    }

    func testAUserChangedByHandIsKeptWithoutUpdateUsersAndRestoredWithIt() async throws {
        let h = try await StepHarness.start()
        let first = try await h.run(values: Self.values, only: Self.identitySteps)
        XCTAssertEqual(first.report.exitCode, 0, first.output)

        // By hand: alice gets another role, a description and another password; carol only
        // another password.
        let (s1, _) = try await h.api("PUT", "users", [
            "username": "alice", "role": "auditor", "authType": "basic",
            "password": "Changed-By-Hand-1", "description": "set by hand",
        ])
        XCTAssertEqual(s1, 200)
        let (s2, _) = try await h.api("PUT", "users", [
            "username": "carol", "role": "vulnerabilityManager", "authType": "basic", "password": "Changed-By-Hand-2",
        ])
        XCTAssertEqual(s2, 200)

        try await h.clearRequests()
        let kept = try await h.run(values: Self.values, sets: ["console.updateUsers=false"], only: Self.identitySteps)
        XCTAssertEqual(kept.report.exitCode, 0, kept.output)
        XCTAssertEqual(kept.step("users")?.writes, 0)
        XCTAssertTrue(kept.output.contains("user alice exists and differs (role: auditor → devOps); left as is because console.updateUsers is false"),
                      kept.output)
        var state = try await h.state()
        XCTAssertEqual(user(state, "alice")?["role"]?.stringValue, "auditor", "kept with updateUsers: false")
        let handPasswordStill = try await canLogIn(h, "carol", "Changed-By-Hand-2")
        XCTAssertTrue(handPasswordStill)

        try await h.clearRequests()
        let restored = try await h.run(values: Self.values, sets: ["console.updateUsers=true"], only: Self.identitySteps)
        XCTAssertEqual(restored.report.exitCode, 0, restored.output)
        assertNoSecrets(restored)
        XCTAssertTrue(restored.output.contains("restored user alice (devOps, basic) (role: auditor → devOps)"), restored.output)
        XCTAssertTrue(restored.output.contains("restored user carol (vulnerabilityManager, basic) (password differs)"), restored.output)
        state = try await h.state()
        let alice = try XCTUnwrap(user(state, "alice"))
        XCTAssertEqual(alice["role"]?.stringValue, "devOps")
        XCTAssertEqual(alice["description"]?.stringValue, "set by hand", "fields the values do not name are kept")
        let aliceBack = try await canLogIn(h, "alice", Self.alicePassword)
        let carolBack = try await canLogIn(h, "carol", Self.carolPassword)
        XCTAssertTrue(aliceBack, "alice's password is the values' again")
        XCTAssertTrue(carolBack, "carol's password is the values' again")
        let writes = try await h.writes()
        XCTAssertEqual(endpoints(writes).filter { $0 != "POST settings/license" }, ["PUT users", "PUT users"],
                       "only alice and carol are written")
        let findings = try await h.findings()
        XCTAssertEqual(findings, [])

        try await h.clearRequests()
        let again = try await h.run(values: Self.values, sets: ["console.updateUsers=true"], only: Self.identitySteps)
        XCTAssertEqual(again.report.exitCode, 0, again.output)
        let writesAgain = try await h.writes()
        XCTAssertEqual(endpoints(writesAgain).filter { $0 != "POST settings/license" }, [],
                       "with updateUsers a second run writes nothing when nothing changed")
        await h.stop()
    }

    func testTheMetricsUsersRoleAndPasswordAreRestored() async throws {
        let h = try await StepHarness.start()
        _ = try await h.run(values: Self.values, only: Self.identitySteps)
        let (s, _) = try await h.api("PUT", "users", [
            "username": "twistlock-metrics", "role": "admin", "authType": "basic", "password": "Hand-Set-Passw0rd",
        ])
        XCTAssertEqual(s, 200)
        let run = try await h.run(values: Self.values, only: Self.identitySteps)
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        XCTAssertTrue(run.output.contains("restored metrics user twistlock-metrics (role: admin → auditor)"), run.output)
        let state = try await h.state()
        XCTAssertEqual(user(state, "twistlock-metrics")?["role"]?.stringValue, "auditor")
        let metricsBack = try await canLogIn(h, "twistlock-metrics", Self.metricsPassword)
        XCTAssertTrue(metricsBack)
        assertNoSecrets(run)

        await h.stop()
    }

    func testAGroupWithAnotherRoleIsUpdatedNotDuplicated() async throws {
        let h = try await StepHarness.start()
        _ = try await h.run(values: Self.values, only: Self.identitySteps)
        var state = try await h.state()
        let before = try XCTUnwrap(group(state, "developers"))
        var changed = before
        changed["role"] = "auditor"
        changed["samlGroup"] = false
        changed["ldapGroup"] = true
        let (s, _) = try await h.api("PUT", "groups/developers", changed)
        XCTAssertEqual(s, 200)
        let count = state["groups"]?.arrayValue?.count

        try await h.clearRequests()
        let run = try await h.run(values: Self.values, only: Self.identitySteps)
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        XCTAssertTrue(run.output.contains("updated group developers (role → devOps, ldapGroup → false, samlGroup → true)"),
                      run.output)
        let writes = try await h.writes()
        XCTAssertEqual(endpoints(writes).filter { $0 != "POST settings/license" }, ["PUT groups/developers"])
        state = try await h.state()
        XCTAssertEqual(state["groups"]?.arrayValue?.count, count, "no second group")
        let after = try XCTUnwrap(group(state, "developers"))
        XCTAssertEqual(after["role"]?.stringValue, "devOps")
        XCTAssertEqual(after["samlGroup"]?.boolValue, true)
        XCTAssertEqual(after["ldapGroup"]?.boolValue, false)
        let findings = try await h.findings()
        XCTAssertEqual(findings, [])
        await h.stop()
    }

    func testInvalidAuthTypesAndSSOSettingsFailBeforeAnyRequest() async throws {
        let h = try await StepHarness.start()
        try await h.clearRequests()
        let run = try await h.run(values: """
        console:
          additionalUsers:
            - {username: dave, password: Dave-Passw0rd-1, role: devOps, authType: kerberos}
            - {username: erin, password: Erin-Passw0rd-1, role: devOps, authType: ldap}
          groups:
            - {group: admins, role: admin, authType: oidc}
        sso:
          enabled: true
          client_id: twistlock
          provider_type: keycloak
          issuer_uri: https://login.example.com
          idp_url: https://login.example.com/saml
          cert: not a certificate
        """)
        XCTAssertEqual(run.report.exitCode, JobExitCode.invalidInput, run.output)
        let problems = run.report.problems.joined(separator: "\n")
        for key in ["console.additionalUsers[0].authType", "console.additionalUsers[1].password",
                    "console.groups[0].authType", "sso.provider_type", "sso.cert"] {
            XCTAssertTrue(problems.contains(key), "\(key) not named in:\n\(problems)")
        }
        XCTAssertFalse(run.output.contains("Erin-Passw0rd-1"), "the refused password is not shown")
        let requests = try await h.requests()
        XCTAssertEqual(requests.count, 0, "no request before validation passes: \(requests)")
        await h.stop()
    }

    func testACustomRoleIsPassedOnWithAWarningAndTheConsolesRefusalNamesTheUser() async throws {
        let h = try await StepHarness.start()
        let run = try await h.run(values: """
        console:
          additionalUsers:
            - {username: frank, password: Frank-Passw0rd-1, role: securityLead}
            - {username: grace, password: Grace-Passw0rd-1, role: user}
        """, only: Self.identitySteps)
        XCTAssertEqual(run.report.exitCode, JobExitCode.stepFailed, run.output)
        XCTAssertTrue(run.output.contains("\"securityLead\" is not a built-in role"), run.output)
        let err = run.step("users")?.error ?? ""
        XCTAssertTrue(err.contains("user frank"), err)
        XCTAssertTrue(err.contains("400"), err)
        XCTAssertFalse(err.contains("Frank-Passw0rd-1"))
        let state = try await h.state()
        XCTAssertNotNil(user(state, "grace"), "the other user is still created")
        XCTAssertNil(user(state, "frank"))
        await h.stop()
    }

    func testPlanShowsWhatWouldChangeAndWritesNothing() async throws {
        let h = try await StepHarness.start()
        _ = try await h.run(only: ["wait", "admin", "license"])
        try await h.clearRequests()
        let plan = try await h.run(values: Self.values, mode: .plan, only: Self.identitySteps)
        XCTAssertEqual(plan.report.exitCode, 0, plan.output)
        let writes = try await h.writes()
        XCTAssertEqual(endpoints(writes), [], "plan sends no write")
        XCTAssertTrue(plan.output.contains("would create user alice (devOps, basic)"), plan.output)
        XCTAssertTrue(plan.output.contains("would create group developers"), plan.output)
        XCTAssertTrue(plan.output.contains("would add certificate SAN twistlock.example.com"), plan.output)
        XCTAssertTrue(plan.report.writes.allSatisfy { $0.planned })
        assertNoSecrets(plan)
        await h.stop()
    }

    func testTheSANComesFromTheDomainWhenNoExternalHostIsSet() async throws {
        let h = try await StepHarness.start()
        let run = try await h.run(values: "domain: bigbang.dev\n", only: ["wait", "admin", "license", "dns-san"])
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        let state = try await h.state()
        let sans = state["settings"]?["certs"]?["consoleSAN"]?.arrayValue?.compactMap(\.stringValue) ?? []
        XCTAssertEqual(sans.last, "twistlock.bigbang.dev")
        XCTAssertEqual(sans.count, 4)
        let findings = try await h.findings()
        XCTAssertEqual(findings, [])
        await h.stop()
    }
}
