import ConsoleSimulator
import Foundation
import JSONModel
import TwistlockInit
import XCTest

/// The trusted-images and options steps end to end against the simulated console: what a
/// first run sets, that a second run writes nothing, that every other field, rule and group
/// is kept, validation before any request, and conformance of every body sent.
final class SettingsStepTests: XCTestCase {
    static let steps = ["wait", "admin", "license", "trusted-images", "options"]

    static let values = """
    console:
      trustedImages:
        enabled: true
        name: BigBang-Trusted
        registryMatches:
          - registry1.dso.mil/ironbank/*
          - registry.example.com/approved/*
        defaultEffect: alert
      options:
        enabled: true
    monitoring:
      enabled: true
      password: Metr1cs-Pa55word-values
    """

    func endpoints(_ writes: [JSON]) -> [String] {
        writes.map { "\($0["method"]?.stringValue ?? "") \($0["endpoint"]?.stringValue ?? "")" }
    }

    func trustGroup(_ state: JSON, _ id: String) -> JSON? {
        state["trust"]?["groups"]?.arrayValue?.first { $0["_id"]?.stringValue == id }
    }

    func testTrustedImagesAndOptionsAreSetOnceAndKeepEverythingElse() async throws {
        let h = try await StepHarness.start()
        _ = try await h.run(only: ["wait", "admin", "license"])

        // What a person configured by hand before the job runs: a trust group and rule of their
        // own, and options fields the values do not name.
        let (s1, _) = try await h.api("PUT", "trust/data", [
            "policy": ["_id": "trust", "enabled": false, "rules": [
                ["name": "Team rule", "effect": "block", "allowedGroups": ["team"],
                 "collections": [["name": "All"]]],
            ]],
            "groups": [["_id": "team", "images": ["registry.example.com/team/*"]]],
        ])
        XCTAssertEqual(s1, 200)
        let (s2, _) = try await h.api("POST", "settings/logon", [
            "basicAuthDisabled": false, "includeTLS": false, "sessionTimeoutSec": 900,
            "strongPassword": false, "useSupportCredentials": false,
        ])
        XCTAssertEqual(s2, 200)
        let (s3, _) = try await h.api("POST", "settings/logging", [
            "stdout": ["enabled": false, "verboseScan": true, "allProcEvents": false],
            "syslog": ["enabled": true, "addr": "udp://syslog:514", "verboseScan": false, "allProcEvents": false, "cert": "", "id": "bb"],
            "enableMetricsCollection": false, "includeRuntimeLink": true, "consoleAddress": "",
        ])
        XCTAssertEqual(s3, 200)
        let before = try await h.state()

        try await h.clearRequests()
        let first = try await h.run(values: Self.values, only: Self.steps)
        XCTAssertEqual(first.report.exitCode, 0, first.output)
        XCTAssertEqual(first.step("trusted-images")?.status, .done, first.output)
        XCTAssertEqual(first.step("options")?.status, .done, first.output)
        XCTAssertTrue(first.output.contains("created trust group BigBang-Trusted (2 image patterns)"), first.output)
        XCTAssertTrue(first.output.contains("created trust rule BigBang-Trusted"), first.output)
        XCTAssertTrue(first.output.contains("enabled the trust policy"), first.output)
        XCTAssertTrue(first.output.contains("updated logon settings: strongPassword → true"), first.output)
        XCTAssertTrue(first.output.contains("scan settings unchanged"), first.output)

        let state = try await h.state()
        // Trust: our group and rule, the person's kept, the new rule first.
        let ours = try XCTUnwrap(trustGroup(state, "BigBang-Trusted"))
        XCTAssertEqual(ours["images"]?.arrayValue?.compactMap(\.stringValue),
                       ["registry1.dso.mil/ironbank/*", "registry.example.com/approved/*"])
        XCTAssertEqual(trustGroup(state, "team")?["images"]?.arrayValue?.compactMap(\.stringValue),
                       ["registry.example.com/team/*"])
        let policy = try XCTUnwrap(state["trust"]?["policy"])
        XCTAssertEqual(policy["enabled"]?.boolValue, true)
        let rules = policy["rules"]?.arrayValue ?? []
        XCTAssertEqual(rules.compactMap { $0["name"]?.stringValue }, ["BigBang-Trusted", "Team rule"])
        XCTAssertEqual(rules.first?["effect"]?.stringValue, "alert")
        XCTAssertEqual(rules.first?["allowedGroups"]?.arrayValue?.compactMap(\.stringValue), ["BigBang-Trusted"])
        XCTAssertEqual(rules.first?["collections"]?.arrayValue?.compactMap { $0["name"]?.stringValue }, ["All"])
        XCTAssertEqual(rules.last?["effect"]?.stringValue, "block", "the person's rule is kept")

        // Options: the named fields set, the others as they were.
        let network = try XCTUnwrap(state["policies"]?["firewall/network"])
        XCTAssertEqual(network["containerEnabled"]?.boolValue, true)
        XCTAssertEqual(network["hostEnabled"]?.boolValue, true)
        let settings = try XCTUnwrap(state["settings"])
        XCTAssertEqual(settings["logging"]?["stdout"]?["enabled"]?.boolValue, true)
        XCTAssertEqual(settings["logging"]?["stdout"]?["verboseScan"]?.boolValue, true, "kept")
        XCTAssertEqual(settings["logging"]?["enableMetricsCollection"]?.boolValue, true, "from monitoring.enabled")
        XCTAssertEqual(settings["logging"]?["syslog"], before["settings"]?["logging"]?["syslog"], "syslog kept")
        XCTAssertEqual(settings["logging"]?["includeRuntimeLink"]?.boolValue, true, "kept")
        XCTAssertEqual(settings["telemetry"]?["enabled"]?.boolValue, false)
        XCTAssertEqual(settings["intelligence"]?["uploadDisabled"]?.boolValue, true)
        XCTAssertEqual(settings["intelligence"]?["address"], before["settings"]?["intelligence"]?["address"], "kept")
        XCTAssertEqual(settings["scan"], before["settings"]?["scan"], "scan already as the values say")
        XCTAssertEqual(settings["logon"]?["strongPassword"]?.boolValue, true)
        XCTAssertEqual(settings["logon"]?["useSupportCredentials"]?.boolValue, false)
        XCTAssertEqual(settings["logon"]?["basicAuthDisabled"]?.boolValue, false)
        XCTAssertEqual(settings["logon"]?["sessionTimeoutSec"]?.intValue, 900, "kept")

        var writes = try await h.writes()
        XCTAssertEqual(endpoints(writes).filter { $0 != "POST settings/license" }, [
            "PUT trust/data", "PUT policies/firewall/network", "POST settings/logging",
            "POST settings/telemetry", "POST settings/intelligence", "POST settings/logon",
        ], "one write per object that differs, none for scan")
        var findings = try await h.findings()
        XCTAssertEqual(findings, [])

        try await h.clearRequests()
        let second = try await h.run(values: Self.values, only: Self.steps)
        XCTAssertEqual(second.report.exitCode, 0, second.output)
        writes = try await h.writes()
        XCTAssertEqual(endpoints(writes).filter { $0 != "POST settings/license" }, [], "a second run writes nothing")
        XCTAssertTrue(second.output.contains("trusted images BigBang-Trusted unchanged"), second.output)
        for object in ["network monitoring", "logging settings", "telemetry settings", "intelligence settings",
                       "scan settings", "logon settings"] {
            XCTAssertTrue(second.output.contains("\(object) unchanged"), "\(object): \(second.output)")
        }
        let gets = try await h.requests().filter { $0["method"]?.stringValue == "GET" }.compactMap { $0["endpoint"]?.stringValue }
        for endpoint in ["trust/data", "policies/firewall/network", "settings/logging", "settings/telemetry",
                         "settings/intelligence", "settings/scan", "settings/logon"] {
            XCTAssertEqual(gets.filter { $0 == endpoint }.count, 1, "\(endpoint) read once")
        }
        findings = try await h.findings()
        XCTAssertEqual(findings, [])
        await h.stop()
    }

    func testATrustRuleChangedByHandIsBroughtBackAndOtherFieldsKept() async throws {
        let h = try await StepHarness.start()
        let first = try await h.run(values: Self.values, only: Self.steps)
        XCTAssertEqual(first.report.exitCode, 0, first.output)
        let afterFirst = try await h.state()
        var data = try XCTUnwrap(afterFirst["trust"])
        // By hand: the effect weakened, the group's images narrowed, a note added.
        var rules = data["policy"]?["rules"]?.arrayValue ?? []
        rules[0]["effect"] = "ignore"
        rules[0]["notes"] = "by hand"
        data["policy"]?["rules"] = .array(rules)
        var groups = data["groups"]?.arrayValue ?? []
        groups[0]["images"] = ["registry1.dso.mil/ironbank/*"]
        data["groups"] = .array(groups)
        let (status, _) = try await h.api("PUT", "trust/data", data)
        XCTAssertEqual(status, 200)

        try await h.clearRequests()
        let run = try await h.run(values: Self.values, sets: ["console.trustedImages.defaultEffect=block"], only: Self.steps)
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        XCTAssertTrue(run.output.contains("set the effect of trust rule BigBang-Trusted: ignore → block"), run.output)
        XCTAssertTrue(run.output.contains("set the images of trust group BigBang-Trusted (2 patterns)"), run.output)
        let state = try await h.state()
        let rule = try XCTUnwrap(state["trust"]?["policy"]?["rules"]?.arrayValue?.first)
        XCTAssertEqual(rule["effect"]?.stringValue, "block")
        XCTAssertEqual(rule["notes"]?.stringValue, "by hand", "a field the values do not name is kept")
        XCTAssertEqual(trustGroup(state, "BigBang-Trusted")?["images"]?.arrayValue?.count, 2)
        let writes = try await h.writes()
        XCTAssertEqual(endpoints(writes).filter { $0 != "POST settings/license" }, ["PUT trust/data"])
        let findings = try await h.findings()
        XCTAssertEqual(findings, [])
        await h.stop()
    }

    func testAnOptionChangedByHandIsRestored() async throws {
        let h = try await StepHarness.start()
        _ = try await h.run(values: Self.values, only: Self.steps)
        let (status, _) = try await h.api("POST", "settings/telemetry", ["enabled": true])
        XCTAssertEqual(status, 200)
        try await h.clearRequests()
        let run = try await h.run(values: Self.values, only: Self.steps)
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        XCTAssertTrue(run.output.contains("updated telemetry settings: enabled → false"), run.output)
        let writes = try await h.writes()
        XCTAssertEqual(endpoints(writes).filter { $0 != "POST settings/license" }, ["POST settings/telemetry"])
        let state = try await h.state()
        XCTAssertEqual(state["settings"]?["telemetry"]?["enabled"]?.boolValue, false)
        await h.stop()
    }

    func testAnEffectOtherThanAlertOrBlockFailsValidationBeforeAnyRequest() async throws {
        let h = try await StepHarness.start()
        try await h.clearRequests()
        let run = try await h.run(values: Self.values, sets: ["console.trustedImages.defaultEffect=prevent"])
        XCTAssertEqual(run.report.exitCode, JobExitCode.invalidInput, run.output)
        let problems = run.report.problems.joined(separator: "\n")
        XCTAssertTrue(problems.contains("console.trustedImages.defaultEffect"), problems)
        let requests = try await h.requests()
        XCTAssertEqual(requests.count, 0)
        await h.stop()
    }
}
