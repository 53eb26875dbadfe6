import ConsoleSimulator
import Foundation
import JSONModel
import TwistlockInit
import XCTest

/// The policy steps (vulnerability, compliance, runtime) end to end against the simulator:
/// one test per promise of issue 5.
final class PolicyStepTests: XCTestCase {
    // MARK: Vulnerability

    func testVulnerabilityRuleGoesFirstOnEveryEndpointAndSecondRunWritesNothing() async throws {
        let h = try await StepHarness.start()
        let before = try await PolicyFixture.policies(h)
        let run = try await h.run(values: PolicyFixture.values(vulnerabilities: true, threshold: "high"))
        XCTAssertEqual(run.step("vulnerability-policies")?.status, .done, run.output)
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        let after = try await PolicyFixture.policies(h)
        for ep in PolicyFixture.vulnerabilityEndpoints {
            let key = "vulnerability/\(ep)"
            let rules = after[key]?["rules"]?.arrayValue ?? []
            let old = before[key]?["rules"]?.arrayValue ?? []
            XCTAssertEqual(rules.count, old.count + 1, key)
            let rule = try XCTUnwrap(rules.first, key)
            XCTAssertEqual(rule["name"]?.stringValue, "BigBang", key)
            XCTAssertEqual(rule["alertThreshold"]?["value"]?.doubleValue, 7, key)
            XCTAssertEqual(rule["onlyFixed"]?.boolValue, true, key)
            XCTAssertEqual(rule["collections"]?.arrayValue?.compactMap { $0["name"]?.stringValue }, ["All"], key)
            // the default rules are still there, unchanged and in their order, after the new one
            XCTAssertTrue(JSON.array(Array(rules.dropFirst())).isEquivalent(to: .array(old)), key)
        }
        let requests = try await h.requests()
        for ep in PolicyFixture.vulnerabilityEndpoints {
            let path = "policies/vulnerability/\(ep)"
            XCTAssertEqual(PolicyFixture.count(requests, "GET", path), 2, "one read, one read-back after the write: \(path)")
            XCTAssertEqual(PolicyFixture.count(requests, "PUT", path), 1, path)
        }
        XCTAssertTrue(run.output.contains("vulnerability policy vms"), run.output)
        let findings = try await h.findings()
        XCTAssertEqual(findings, [])

        try await h.clearRequests()
        let second = try await h.run(values: PolicyFixture.values(vulnerabilities: true, threshold: "high"))
        XCTAssertEqual(second.report.exitCode, 0, second.output)
        let writes = try await PolicyFixture.policyWrites(h)
        XCTAssertEqual(writes, [], "a second run writes no policy")
        XCTAssertTrue(second.output.contains("rule \"BigBang\" unchanged"), second.output)
        await h.stop()
    }

    func testVulnerabilityThresholdsMapToTheirNumbersAndOtherSettingsStay() async throws {
        let h = try await StepHarness.start()
        _ = try await h.run()
        // A person's rule of that name sits below a rule of their own, with settings of theirs.
        var policy = try await PolicyFixture.policies(h)["vulnerability/host"] ?? .null
        var rules = policy["rules"]?.arrayValue ?? []
        var mine = rules[0]
        mine["name"] = "Team rule"
        mine["notes"] = "keep me"
        var job = rules[0]
        job["name"] = "BigBang"
        job["notes"] = "set by a person"
        job["blockThreshold"] = ["enabled": true, "value": 9.0]
        job["alertThreshold"] = ["disabled": false, "value": 1.0]
        job["graceDays"] = 12
        job["onlyFixed"] = false
        rules = [mine, job] + rules
        policy["rules"] = .array(rules)
        let (status, _) = try await h.api("PUT", "policies/vulnerability/host", policy)
        XCTAssertEqual(status, 200)
        let seeded = try await PolicyFixture.policies(h)["vulnerability/host"] ?? .null

        for (level, value) in [("low", 1.0), ("medium", 4.0), ("high", 7.0), ("critical", 9.0)] {
            let run = try await h.run(values: PolicyFixture.values(vulnerabilities: true, threshold: level))
            XCTAssertEqual(run.report.exitCode, 0, run.output)
            let after = try await PolicyFixture.policies(h)["vulnerability/host"] ?? .null
            let names = after["rules"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
            XCTAssertEqual(names, seeded["rules"]?.arrayValue?.compactMap { $0["name"]?.stringValue }, "order kept")
            let rule = try XCTUnwrap(after["rules"]?[1])
            XCTAssertEqual(rule["alertThreshold"]?["value"]?.doubleValue, value, level)
            XCTAssertEqual(rule["onlyFixed"]?.boolValue, true)
            // everything but the forced settings (and the console's own stamps) as the person left it
            XCTAssertTrue(PolicyFixture.without(rule, ["alertThreshold.value", "onlyFixed", "owner", "modified"])
                .isEquivalent(to: PolicyFixture.without(job, ["alertThreshold.value", "onlyFixed", "owner", "modified"])),
                          rule.encoded())
            XCTAssertTrue(after["rules"]![0]!.isEquivalent(to: seeded["rules"]![0]!), "the rule above is untouched")
        }
        let findings = try await h.findings()
        XCTAssertEqual(findings, [])
        await h.stop()
    }

    func testVulnerabilityInvalidThresholdFailsNamingTheKey() async throws {
        let h = try await StepHarness.start()
        let run = try await h.run(values: PolicyFixture.values(vulnerabilities: true, threshold: "severe"))
        // either the values validation or the step refuses it, naming the key
        XCTAssertNotEqual(run.report.exitCode, 0, run.output)
        XCTAssertTrue(run.output.contains("policies.vulnerabilities.alertThreshold"), run.output)
        let writes = try await PolicyFixture.policyWrites(h)
        XCTAssertEqual(writes, [])
        await h.stop()
    }

    // MARK: Compliance

    func testComplianceRulePerTemplateListsEveryCheckOfItsTypesAndServerlessFallsBackToSeverity() async throws {
        let h = try await StepHarness.start()
        let before = try await PolicyFixture.policies(h)
        let templates = ["DISA STIG", "NIST SP 800-190"]
        let run = try await h.run(values: PolicyFixture.values(compliance: true, templates: templates,
                                                               complianceThreshold: "high"))
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        let after = try await PolicyFixture.policies(h)
        let catalog = h.sim.complianceCatalog
        for ep in PolicyFixture.complianceEndpoints {
            let key = "compliance/\(ep)"
            let types = Set(PolicyFixture.endpointTypes[ep]!)
            let rules = after[key]?["rules"]?.arrayValue ?? []
            let old = before[key]?["rules"]?.arrayValue ?? []
            var expected: [(String, Set<Int>)] = []
            for t in templates {
                let ids = Set(catalog.filter { types.contains($0.type) && $0.templates.contains(t) }.map(\.id))
                if !ids.isEmpty { expected.append(("BigBang - \(t)", ids)) }
            }
            if expected.isEmpty {
                let ids = Set(catalog.filter { types.contains($0.type) && ["high", "critical"].contains($0.severity) }.map(\.id))
                expected = [("BigBang", ids)]
            }
            XCTAssertEqual(rules.prefix(expected.count).compactMap { $0["name"]?.stringValue }, expected.map(\.0), key)
            for (i, (name, ids)) in expected.enumerated() {
                let conds = rules[i]["condition"]?["vulnerabilities"]?.arrayValue ?? []
                XCTAssertEqual(Set(conds.compactMap { $0["id"]?.intValue }), ids, "\(key) \(name)")
                XCTAssertEqual(conds.count, ids.count, "\(key) \(name): no duplicates")
                XCTAssertTrue(conds.allSatisfy { $0["block"]?.boolValue == false }, "\(key) \(name) alerts")
                XCTAssertEqual(rules[i]["collections"]?[0]?["name"]?.stringValue, "All")
                XCTAssertFalse(ids.isEmpty, "\(key) \(name)")
            }
            XCTAssertTrue(JSON.array(Array(rules.dropFirst(expected.count))).isEquivalent(to: .array(old)), key)
        }
        // the simulator's catalog gives every template checks on container, host and vms types
        XCTAssertEqual(after["compliance/host"]?["rules"]?[0]?["name"]?.stringValue, "BigBang - DISA STIG")
        XCTAssertEqual(after["compliance/serverless"]?["rules"]?[0]?["name"]?.stringValue, "BigBang")
        let requests = try await h.requests()
        XCTAssertEqual(PolicyFixture.count(requests, "GET", "static/vulnerabilities"), 1, "the catalog is read once")
        for ep in PolicyFixture.complianceEndpoints {
            XCTAssertEqual(PolicyFixture.count(requests, "GET", "policies/compliance/\(ep)"), 2, "one read, one read-back after the write")
            XCTAssertEqual(PolicyFixture.count(requests, "PUT", "policies/compliance/\(ep)"), 1)
        }
        let findings = try await h.findings()
        XCTAssertEqual(findings, [])

        try await h.clearRequests()
        let second = try await h.run(values: PolicyFixture.values(compliance: true, templates: templates,
                                                                  complianceThreshold: "high"))
        XCTAssertEqual(second.report.exitCode, 0, second.output)
        let writes = try await PolicyFixture.policyWrites(h)
        XCTAssertEqual(writes, [])
        await h.stop()
    }

    func testComplianceKeepsBlockedChecksAndDoesNotTouchChecksOutsideTheSet() async throws {
        let h = try await StepHarness.start()
        _ = try await h.run()
        let catalog = h.sim.complianceCatalog
        let hostTypes = Set(PolicyFixture.endpointTypes["host"]!)
        let inSet = catalog.filter { hostTypes.contains($0.type) && $0.templates.contains("DISA STIG") }.map(\.id)
        let outside = catalog.filter { hostTypes.contains($0.type) && !$0.templates.contains("DISA STIG") }.map(\.id)
        XCTAssertGreaterThan(inSet.count, 3)
        XCTAssertGreaterThan(outside.count, 2)
        var policy = try await PolicyFixture.policies(h)["compliance/host"] ?? .null
        var job = policy["rules"]![0]!
        job["name"] = "BigBang - DISA STIG"
        job["notes"] = "tuned by hand"
        let seededConds: [JSON] = [
            ["id": .int(Int64(outside[0])), "block": true],
            ["id": .int(Int64(inSet[0])), "block": true],
            ["id": .int(Int64(outside[1])), "block": false],
            ["id": .int(Int64(inSet[1])), "block": false],
        ]
        job["condition"] = ["device": "", "readonly": false, "vulnerabilities": .array(seededConds)]
        policy["rules"] = .array([policy["rules"]![0]!, job])
        let (status, _) = try await h.api("PUT", "policies/compliance/host", policy)
        XCTAssertEqual(status, 200)

        let run = try await h.run(values: PolicyFixture.values(compliance: true, templates: ["DISA STIG"]))
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        let after = try await PolicyFixture.policies(h)["compliance/host"] ?? .null
        let names = after["rules"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
        XCTAssertEqual(names, ["Default - alert on critical and high", "BigBang - DISA STIG"], "existing rule stays in place")
        let rule = after["rules"]![1]!
        XCTAssertEqual(rule["notes"]?.stringValue, "tuned by hand")
        let conds = rule["condition"]?["vulnerabilities"]?.arrayValue ?? []
        // the existing entries come first, exactly as they were (block stays, outside ones untouched)
        XCTAssertTrue(JSON.array(Array(conds.prefix(4))).isEquivalent(to: .array(seededConds)), "\(conds.prefix(4))")
        let added = conds.dropFirst(4)
        XCTAssertEqual(Set(added.compactMap { $0["id"]?.intValue }), Set(inSet.dropFirst(2)))
        XCTAssertTrue(added.allSatisfy { $0["block"]?.boolValue == false })
        XCTAssertEqual(Set(conds.compactMap { $0["id"]?.intValue }), Set(inSet).union(outside.prefix(2)))
        let findings = try await h.findings()
        XCTAssertEqual(findings, [])
        await h.stop()
    }

    func testComplianceWithoutTemplatesListsChecksAtOrAboveTheThreshold() async throws {
        let h = try await StepHarness.start()
        let run = try await h.run(values: PolicyFixture.values(compliance: true, templates: [], complianceThreshold: "critical"))
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        let after = try await PolicyFixture.policies(h)
        for ep in PolicyFixture.complianceEndpoints {
            let types = Set(PolicyFixture.endpointTypes[ep]!)
            let ids = Set(h.sim.complianceCatalog.filter { types.contains($0.type) && $0.severity == "critical" }.map(\.id))
            let rule = after["compliance/\(ep)"]?["rules"]?[0] ?? .null
            XCTAssertEqual(rule["name"]?.stringValue, "BigBang", ep)
            XCTAssertEqual(Set(rule["condition"]?["vulnerabilities"]?.arrayValue?.compactMap { $0["id"]?.intValue } ?? []), ids, ep)
        }
        // a template with no check of an endpoint's types (none has serverless checks): that
        // endpoint falls back to severity, the others get the template's rule
        let h2 = try await StepHarness.start()
        let run2 = try await h2.run(values: PolicyFixture.values(compliance: true, templates: ["GDPR"]))
        XCTAssertEqual(run2.report.exitCode, 0, run2.output)
        let after2 = try await PolicyFixture.policies(h2)
        for ep in ["container", "host", "vms"] {
            XCTAssertEqual(after2["compliance/\(ep)"]?["rules"]?[0]?["name"]?.stringValue, "BigBang - GDPR", ep)
            XCTAssertNotEqual(after2["compliance/\(ep)"]?["rules"]?[1]?["name"]?.stringValue, "BigBang", ep)
        }
        XCTAssertEqual(after2["compliance/serverless"]?["rules"]?[0]?["name"]?.stringValue, "BigBang")
        XCTAssertFalse(after2["compliance/serverless"]?["rules"]?.arrayValue?.contains { $0["name"]?.stringValue == "BigBang - GDPR" } ?? true)
        let findings = try await h.findings() + h2.findings()
        XCTAssertEqual(findings, [])
        await h.stop()
        await h2.stop()
    }

    // MARK: Runtime

    func testRuntimeRulesOnAFreshConsoleForceTheDocumentedSettings() async throws {
        let h = try await StepHarness.start()
        let before = try await PolicyFixture.policies(h)
        let run = try await h.run(values: PolicyFixture.values(runtime: true))
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        let after = try await PolicyFixture.policies(h)
        let state = try await h.state()
        let customIDs = PolicyFixture.customRuleNames.map { name in
            state["customRules"]?.arrayValue?.first { $0["name"]?.stringValue == name }?["_id"]?.intValue ?? -1
        }
        XCTAssertEqual(customIDs, Array(15...29))
        for ep in PolicyFixture.runtimeEndpoints {
            let key = "runtime/\(ep)"
            let rules = after[key]?["rules"]?.arrayValue ?? []
            let old = before[key]?["rules"]?.arrayValue ?? []
            XCTAssertEqual(rules.first?["name"]?.stringValue, "BigBang", key)
            XCTAssertTrue(JSON.array(Array(rules.dropFirst())).isEquivalent(to: .array(old)), key)
            let rule = rules[0]
            XCTAssertEqual(rule["disabled"]?.boolValue, false)
            XCTAssertEqual(rule["collections"]?[0]?["name"]?.stringValue, "All")
            PolicyFixture.assertForced(rule, kind: ep, customIDs: customIDs)
            // a new rule is complete: every field the console's own default rule carries
            let defaults = Set(old[0].objectValue?.keys.map { $0 } ?? [])
            let fields = Set(rule.objectValue?.keys.map { $0 } ?? [])
            XCTAssertEqual(defaults.subtracting(fields), [], key)
            for section in ["processes", "network", "filesystem", "dns", "antiMalware", "forensic"] {
                guard let d = old[0][section]?.objectValue else { continue }
                XCTAssertEqual(Set(d.keys).subtracting(Set(rule[section]?.objectValue?.keys.map { $0 } ?? [])), [], "\(key).\(section)")
            }
        }
        let host = after["runtime/host"]!["rules"]![0]!
        XCTAssertEqual(host["antiMalware"]?["deniedProcesses"]?["paths"]?.arrayValue?.compactMap(\.stringValue),
                       PolicyFixture.deniedTools)
        XCTAssertEqual(host["logInspectionRules"]?.arrayValue?.compactMap { $0["path"]?.stringValue },
                       PolicyFixture.logInspection.map(\.0))
        XCTAssertEqual(host["forensic"]?["activitiesDisabled"]?.boolValue, false, "a new rule starts enabled")
        // serverless raw sockets: no field in 34.04, said once, nothing unknown sent
        XCTAssertEqual(run.lines.filter { $0.contains("raw-socket") }.count, 1, run.output)
        let findings = try await h.findings()
        XCTAssertEqual(findings, [])
        let requests = try await h.requests()
        XCTAssertEqual(PolicyFixture.count(requests, "GET", "custom-rules"), 1)
        for ep in PolicyFixture.runtimeEndpoints {
            XCTAssertEqual(PolicyFixture.count(requests, "GET", "policies/runtime/\(ep)"), 2, "one read, one read-back after the write")
            XCTAssertEqual(PolicyFixture.count(requests, "PUT", "policies/runtime/\(ep)"), 1)
        }

        try await h.clearRequests()
        let second = try await h.run(values: PolicyFixture.values(runtime: true))
        XCTAssertEqual(second.report.exitCode, 0, second.output)
        let writes = try await PolicyFixture.policyWrites(h)
        XCTAssertEqual(writes, [])
        await h.stop()
    }

    func testRuntimeKeepsStrongerEffectsUserAdditionsAndSectionFlags() async throws {
        let h = try await StepHarness.start()
        _ = try await h.run(values: PolicyFixture.values(runtime: true))
        var policies = try await PolicyFixture.policies(h)

        // container: a person raised effects, disabled a section, chose their own custom rule setting
        var c = policies["runtime/container"]!
        var cr = c["rules"]![0]!
        cr["advancedProtectionEffect"] = "block"
        cr["processes"]?["cryptoMinersEffect"] = "prevent"
        cr["processes"]?["disabled"] = true
        cr["processes"]?["lateralMovementEffect"] = "disable"
        cr["network"]?["portScanEffect"] = "disable"
        cr["filesystem"]?["backdoorFilesEffect"] = "block"
        cr["wildFireAnalysis"] = "alert"
        var refs = cr["customRules"]?.arrayValue ?? []
        refs[3] = ["_id": refs[3]["_id"]!, "action": "audit", "effect": "block"]
        refs.remove(at: 7)
        refs.append(["_id": 30, "action": "incident", "effect": "prevent"])
        cr["customRules"] = .array(refs)
        c["rules"] = .array([c["rules"]![1]!, cr])   // the job's rule moved below the default one
        // host: extra tools and regexes and files, a raised effect, SSH tracking off, activities off
        var hp = policies["runtime/host"]!
        var hr = hp["rules"]![0]!
        var paths = hr["antiMalware"]?["deniedProcesses"]?["paths"]?.arrayValue ?? []
        paths.removeAll { $0.stringValue == "nmap" }
        paths.insert("my-own-tool", at: 0)
        hr["antiMalware"]?["deniedProcesses"] = ["effect": "block", "paths": .array(paths)]
        hr["antiMalware"]?["skipSSHTracking"] = true
        hr["forensic"]?["activitiesDisabled"] = true
        hr["forensic"]?["sudoEnabled"] = false
        var lir = hr["logInspectionRules"]?.arrayValue ?? []
        lir[0]["regex"] = ["my extra regex", "POSSIBLE BREAK-IN ATTEMPT"]
        lir.remove(at: 2)
        lir.append(["path": "/var/log/myapp.log", "regex": ["denied"]])
        hr["logInspectionRules"] = .array(lir)
        hp["rules"] = .array([hr] + (hp["rules"]!.arrayValue!.dropFirst()))
        // serverless: blocking turned off by a person, a section effect of theirs
        var sp = policies["runtime/serverless"]!
        var sr = sp["rules"]![0]!
        sr["processes"]?["blockAllBinaries"] = false
        sr["processes"]?["effect"] = "block"
        sr["advancedProtection"] = false
        sp["rules"] = .array([sr] + (sp["rules"]!.arrayValue!.dropFirst()))
        for (key, body) in [("container", c), ("host", hp), ("serverless", sp)] {
            let (status, msg) = try await h.api("PUT", "policies/runtime/\(key)", body)
            XCTAssertEqual(status, 200, "\(key): \(msg?.encoded() ?? "")")
        }
        policies = try await PolicyFixture.policies(h)
        let seeded = policies

        let run = try await h.run(values: PolicyFixture.values(runtime: true))
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        let after = try await PolicyFixture.policies(h)
        for ep in PolicyFixture.runtimeEndpoints {
            let names = after["runtime/\(ep)"]?["rules"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
            XCTAssertEqual(names, seeded["runtime/\(ep)"]?["rules"]?.arrayValue?.compactMap { $0["name"]?.stringValue }, ep)
        }
        let ids = Array(15...29)
        let ac = after["runtime/container"]!["rules"]![1]!
        PolicyFixture.assertForced(ac, kind: "container", customIDs: ids)
        XCTAssertEqual(ac["advancedProtectionEffect"]?.stringValue, "block")
        XCTAssertEqual(ac["processes"]?["cryptoMinersEffect"]?.stringValue, "prevent")
        XCTAssertEqual(ac["processes"]?["disabled"]?.boolValue, true, "a section's flag is not forced")
        XCTAssertEqual(ac["processes"]?["lateralMovementEffect"]?.stringValue, "alert")
        XCTAssertEqual(ac["network"]?["portScanEffect"]?.stringValue, "alert")
        XCTAssertEqual(ac["filesystem"]?["backdoorFilesEffect"]?.stringValue, "block")
        XCTAssertEqual(ac["wildFireAnalysis"]?.stringValue, "alert", "not named: kept")
        let acRefs = ac["customRules"]?.arrayValue ?? []
        XCTAssertTrue(JSON.array(Array(acRefs.prefix(refs.count))).isEquivalent(to: .array(refs)), "existing references kept as they are")
        XCTAssertEqual(acRefs.count, refs.count + 1)
        XCTAssertEqual(acRefs.last?["_id"]?.intValue, 22, "the one a person removed is selected again")
        XCTAssertEqual(acRefs.last?["action"]?.stringValue, "incident")
        XCTAssertEqual(acRefs.last?["effect"]?.stringValue, "alert")

        let ah = after["runtime/host"]!["rules"]![0]!
        PolicyFixture.assertForced(ah, kind: "host", customIDs: ids)
        let ahPaths = ah["antiMalware"]?["deniedProcesses"]?["paths"]?.arrayValue?.compactMap(\.stringValue) ?? []
        XCTAssertEqual(Array(ahPaths.prefix(paths.count)), paths.compactMap(\.stringValue))
        XCTAssertEqual(ahPaths.last, "nmap")
        XCTAssertEqual(ah["antiMalware"]?["deniedProcesses"]?["effect"]?.stringValue, "block")
        XCTAssertEqual(ah["forensic"]?["activitiesDisabled"]?.boolValue, true, "the section's flag is not forced")
        let ahLir = ah["logInspectionRules"]?.arrayValue ?? []
        XCTAssertEqual(ahLir.compactMap { $0["path"]?.stringValue },
                       lir.compactMap { $0["path"]?.stringValue } + ["/var/log/mongodb/mongod.log"])
        XCTAssertEqual(Array(ahLir[0]["regex"]?.arrayValue?.compactMap(\.stringValue).prefix(2) ?? []),
                       ["my extra regex", "POSSIBLE BREAK-IN ATTEMPT"])
        XCTAssertEqual(ahLir[0]["regex"]?.arrayValue?.count, 10)
        XCTAssertEqual(ahLir.first { $0["path"]?.stringValue == "/var/log/myapp.log" }?["regex"], ["denied"])

        let asr = after["runtime/serverless"]!["rules"]![0]!
        PolicyFixture.assertForced(asr, kind: "serverless", customIDs: ids)
        XCTAssertEqual(asr["processes"]?["effect"]?.stringValue, "block")

        // apart from the forced settings, every rule is exactly as the person left it
        for (ep, idx) in [("container", 1), ("host", 0), ("serverless", 0)] {
            let b = seeded["runtime/\(ep)"]!["rules"]![idx]!
            let a = after["runtime/\(ep)"]!["rules"]![idx]!
            let forced = PolicyFixture.forcedPaths[ep]! + ["owner", "modified"]
            XCTAssertTrue(PolicyFixture.without(a, forced).isEquivalent(to: PolicyFixture.without(b, forced)), ep)
            let others = after["runtime/\(ep)"]!["rules"]!.arrayValue!.enumerated().filter { $0.offset != idx }.map(\.element)
            let seededOthers = seeded["runtime/\(ep)"]!["rules"]!.arrayValue!.enumerated().filter { $0.offset != idx }.map(\.element)
            XCTAssertTrue(JSON.array(others).isEquivalent(to: .array(seededOthers)), ep)
        }
        let findings = try await h.findings()
        XCTAssertEqual(findings, [])
        await h.stop()
    }

    func testRuntimeFindsCustomRulesByNameWithIdsAsFallback() async throws {
        let h = try await StepHarness.start()
        _ = try await h.run()
        var state = try await h.state()
        // This console numbers the custom rules differently; one of them was renamed, one removed.
        var custom = state["customRules"]?.arrayValue ?? []
        for i in custom.indices {
            let id = custom[i]["_id"]!.intValue!
            custom[i]["_id"] = .int(Int64(id + 100))
            if custom[i]["name"]?.stringValue == "Detect user modification" { custom[i]["name"] = "Detect user modification (v2)" }
        }
        custom.removeAll { $0["name"]?.stringValue == "Detect user deletion" }
        // the renamed rule keeps the 34.x id, as renamed shipped rules do
        if let i = custom.firstIndex(where: { $0["name"]?.stringValue == "Detect user modification (v2)" }) {
            custom[i]["_id"] = 28
        }
        state["customRules"] = .array(custom)
        try h.sim.loadState(state)

        let run = try await h.run(values: PolicyFixture.values(runtime: true))
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        XCTAssertTrue(run.output.contains("Detect user deletion"), "the missing rule is reported: \(run.output)")
        let after = try await PolicyFixture.policies(h)
        var expected = Array(115...126) + [28] + [129]
        expected.sort()
        for ep in ["container", "host"] {
            let ids = after["runtime/\(ep)"]?["rules"]?[0]?["customRules"]?.arrayValue?.compactMap { $0["_id"]?.intValue } ?? []
            XCTAssertEqual(ids.sorted(), expected, ep)
        }
        let findings = try await h.findings()
        XCTAssertEqual(findings, [])
        await h.stop()
    }

    func testRuntimeUsesThe34IdsWhenTheCustomRulesCannotBeRead() async throws {
        let h = try await StepHarness.start()
        _ = try await h.run()
        h.sim.addFault(FaultRule(kind: .status, method: "GET", path: "custom-rules", status: 403))
        let run = try await h.run(values: PolicyFixture.values(runtime: true))
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        XCTAssertTrue(run.output.contains("custom rules (GET custom-rules) could not be read"), run.output)
        let after = try await PolicyFixture.policies(h)
        for ep in ["container", "host"] {
            let refs = after["runtime/\(ep)"]?["rules"]?[0]?["customRules"]?.arrayValue ?? []
            XCTAssertEqual(refs.compactMap { $0["_id"]?.intValue }, Array(15...29), ep)
        }
        let findings = try await h.findings()
        XCTAssertEqual(findings, [])
        await h.stop()
    }

    // MARK: Failures, plan mode, scale

    func testAFailingEndpointIsLeftAsItWasAndNamedWhileTheOthersRun() async throws {
        let h = try await StepHarness.start()
        _ = try await h.run()
        let before = try await PolicyFixture.policies(h)
        // The runner stops at a failed step, so each policy step gets its own run.
        for (step, fault, failed, others, values) in [
            ("vulnerability-policies", FaultRule(kind: .status, method: "PUT", path: "policies/vulnerability/host", status: 400),
             "vulnerability policy host", ["images", "vms", "serverless"].map { "vulnerability/\($0)" },
             PolicyFixture.values(vulnerabilities: true)),
            ("compliance-policies", FaultRule(kind: .status, method: "PUT", path: "policies/compliance/vms", status: 400),
             "compliance policy vms", ["container", "host", "serverless"].map { "compliance/\($0)" },
             PolicyFixture.values(compliance: true)),
            ("runtime-policies", FaultRule(kind: .status, method: "GET", path: "policies/runtime/container", status: 404),
             "runtime policy container", ["host", "serverless"].map { "runtime/\($0)" },
             PolicyFixture.values(runtime: true)),
        ] {
            h.sim.clearFaults()
            h.sim.addFault(fault)
            let run = try await h.run(values: values)
            XCTAssertEqual(run.report.exitCode, 1, run.output)
            let outcome = try XCTUnwrap(run.step(step))
            XCTAssertEqual(outcome.status, .failed, step)
            let err = outcome.error ?? ""
            XCTAssertTrue(err.contains(failed), err)
            XCTAssertTrue(err.contains("1 policy not configured"), err)
            XCTAssertTrue(run.output.contains(failed), run.output)
            let after = try await PolicyFixture.policies(h)
            for key in others {
                XCTAssertEqual(after[key]?["rules"]?[0]?["name"]?.stringValue?.hasPrefix("BigBang"), true, "\(step) still configured \(key)")
            }
        }
        let after = try await PolicyFixture.policies(h)
        for key in ["vulnerability/host", "compliance/vms", "runtime/container"] {
            XCTAssertTrue(after[key]!.isEquivalent(to: before[key]!), "\(key) left as it was")
        }
        h.sim.clearFaults()
        let retry = try await h.run(values: PolicyFixture.values(vulnerabilities: true, compliance: true, runtime: true))
        XCTAssertEqual(retry.report.exitCode, 0, retry.output)
        let fixed = try await PolicyFixture.policies(h)
        for key in ["vulnerability/host", "compliance/vms", "runtime/container"] {
            XCTAssertEqual(fixed[key]?["rules"]?[0]?["name"]?.stringValue?.hasPrefix("BigBang"), true, key)
        }
        await h.stop()
    }

    func testPlanModeRecordsTheChangesAndWritesNothing() async throws {
        let h = try await StepHarness.start()
        _ = try await h.run()
        let before = try await PolicyFixture.policies(h)
        try await h.clearRequests()
        let plan = try await h.run(values: PolicyFixture.values(vulnerabilities: true, compliance: true, runtime: true),
                                   mode: .plan)
        XCTAssertEqual(plan.report.exitCode, 0, plan.output)
        let writes = try await PolicyFixture.policyWrites(h)
        XCTAssertEqual(writes, [])
        let after = try await PolicyFixture.policies(h)
        XCTAssertTrue(JSON.object(after).isEquivalent(to: .object(before)))
        let planned = plan.report.writes.filter { $0.target.hasPrefix("policies/") || $0.target.contains("/policies/") }
        XCTAssertEqual(planned.count, 11, plan.report.writes.map(\.target).joined(separator: ", "))
        XCTAssertTrue(planned.allSatisfy(\.planned))
        await h.stop()
    }

    func testLargeCatalogAndFiftyRulesPerPolicy() async throws {
        var options = SimulatorOptions()
        options.catalogSize = 1000
        let h = try await StepHarness.start(options: options)
        _ = try await h.run()
        XCTAssertGreaterThanOrEqual(h.sim.complianceCatalog.count, 1000)
        var state = try await h.state()
        var policies = state["policies"]?.objectValue ?? [:]
        for (key, policy) in policies where key != "firewall/network" {
            var p = policy
            var rules = p["rules"]?.arrayValue ?? []
            let template = rules.last!
            for i in 0..<50 {
                var r = template
                r["name"] = .string("Team rule \(i)")
                r["notes"] = .string("rule \(i) of a busy console")
                if let conds = r["condition"]?["vulnerabilities"]?.arrayValue, !conds.isEmpty {
                    // a team's rule lists some of the checks (a different slice each)
                    let n = conds.count
                    r["condition"]?["vulnerabilities"] = .array((0..<min(60, n)).map { conds[($0 + i * 5) % n] })
                }
                rules.insert(r, at: i % (rules.count + 1))
            }
            p["rules"] = .array(rules)
            policies[key] = p
        }
        state["policies"] = .object(policies)
        try h.sim.loadState(state)
        let seeded = try await PolicyFixture.policies(h)
        let values = PolicyFixture.values(vulnerabilities: true, compliance: true,
                                          templates: ["GDPR", "DISA STIG", "PCI", "NIST SP 800-190", "HIPAA"],
                                          runtime: true)
        let run = try await h.run(values: values)
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        let after = try await PolicyFixture.policies(h)
        for (key, policy) in seeded where key != "firewall/network" {
            let old = policy["rules"]!.arrayValue!
            let new = after[key]!["rules"]!.arrayValue!
            let added = new.count - old.count
            XCTAssertGreaterThan(added, 0, key)
            XCTAssertTrue(new[..<added].allSatisfy { $0["name"]?.stringValue?.hasPrefix("BigBang") ?? false }, key)
            XCTAssertTrue(JSON.array(Array(new[added...])).isEquivalent(to: .array(old)), key)
        }
        let findings = try await h.findings()
        XCTAssertEqual(findings, [])
        try await h.clearRequests()
        let second = try await h.run(values: values)
        XCTAssertEqual(second.report.exitCode, 0, second.output)
        let writes = try await PolicyFixture.policyWrites(h)
        XCTAssertEqual(writes, [])
        await h.stop()
    }
}

/// Helpers shared by the policy tests.
enum PolicyFixture {
    static let vulnerabilityEndpoints = ["images", "host", "vms", "serverless"]
    static let complianceEndpoints = ["container", "host", "vms", "serverless"]
    static let runtimeEndpoints = ["container", "host", "serverless"]

    /// The check types each compliance endpoint accepts (console-api.md).
    static let endpointTypes: [String: [String]] = [
        "container": ["container", "image", "istio"],
        "host": ["daemon_config", "daemon_config_files", "docker_stig", "host_config", "k8s_federation", "k8s_master",
                 "k8s_worker", "linux", "openshift_master", "openshift_worker", "security_operations", "windows"],
        "serverless": ["serverless"],
        "vms": ["daemon_config", "daemon_config_files", "host_config", "linux", "security_operations", "windows"],
    ]

    static let customRuleNames = [
        "Detect privileged management tools starting in a container",
        "Detect usage of common data exfiltration ports",
        "Detect access to common crypto miner pool ports",
        "Detect access to cloud platform metadata APIs (AWS/GCP/Azure)",
        "Detect attempts to tamper with bash shell configuration",
        "Detect writes to linux password and shadow files",
        "Detect file writes under /etc folder (Host)",
        "Detect file writes under /etc folder (Container)",
        "Detect an execution of cron app",
        "A database server app spawned a new process other than itself",
        "Detect launching of suspicious networking scanning tool",
        "Detect launching of suspicious networking tool",
        "Detect user deletion",
        "Detect user modification",
        "Detect user creation",
    ]

    static let deniedTools = """
        cisco-ocs crackle yersinia cryptcat cymothoa dbd dns2tcpc dns2tcpd htc hts pwnat sbd chntpw cmospwd crunch \
        hashcat hydra pw-inspector john mp32 mp64 ncrack ophcrack pd sp32 sp64 thc-pptp-bruter truecrack bettercap \
        fiked hamster hexinject prettypacket hex2raw iaxflood inviteflood mitmproxy ohrwurm dns-rebind rtpbreak \
        sctpscan sipp sniffjoke sniffjokectl sslsplit wireshark tshark amap amapcrap nmap ncat nping
        """.split(separator: " ").map(String.init)

    static let logInspection: [(String, [String])] = [
        ("/var/log/auth.log", ["Bad protocol version identification", "POSSIBLE BREAK-IN ATTEMPT",
                               "Did not receive identification string from", "(llegal|Invalid) user",
                               "authentication error", "PAM: Authentication failure", "Corrupted check bytes on input",
                               "not allowed because account is locked", "maximum authentication attempts exceeded"]),
        ("/var/log/nginx/error.log", ["password mismatch", "user .* was not found"]),
        ("/var/log/mongodb/mongod.log", [" E ACCESS ", "authentication failed", "not authorized on"]),
        ("/var/log/postgresql/postgresql-*.log", ["Peer authentication failed", "terminating connection"]),
        ("/var/log/mysql.err", ["Access denied", "Fatal error:", "Authorization ID .* does not exist",
                                "Maximum number of authentication attempts reached"]),
        ("/var/log/apache2/error.log", ["directory index forbidden", "user .* not found", "Invalid URI in request",
                                        "URI too long", "client.*denied by server configuration:",
                                        #"Authorization of user \S* to access \S* failed"#, "authentication fail"]),
    ]

    /// Effects the documentation turns "on" (at least alert), per runtime rule kind.
    static let forcedEffects: [String: [String]] = [
        "container": ["advancedProtectionEffect", "kubernetesEnforcementEffect", "cloudMetadataEnforcementEffect",
                      "processes.modifiedProcessEffect", "processes.cryptoMinersEffect", "processes.reverseShellEffect",
                      "processes.lateralMovementEffect", "processes.suidBinariesEffect", "network.modifiedProcEffect",
                      "network.portScanEffect", "network.rawSocketsEffect", "filesystem.newFilesEffect",
                      "filesystem.encryptedBinariesEffect", "filesystem.backdoorFilesEffect",
                      "filesystem.suspiciousELFHeadersEffect"],
        "host": ["antiMalware.deniedProcesses.effect"],
        "serverless": [],
    ]

    /// Booleans the documentation forces, per runtime rule kind.
    static let forcedFlags: [String: [(String, Bool)]] = [
        "container": [("processes.checkParentChild", true)],
        "host": [("antiMalware.skipSSHTracking", false), ("forensic.dockerEnabled", true),
                 ("forensic.readonlyDockerEnabled", true), ("forensic.sshdEnabled", true), ("forensic.sudoEnabled", true)],
        "serverless": [("advancedProtection", true), ("processes.checkCryptoMiners", true),
                       ("processes.blockAllBinaries", true)],
    ]

    /// Every path the runtime step may change on its rule (lists it only extends included).
    static let forcedPaths: [String: [String]] = [
        "container": forcedEffects["container"]! + forcedFlags["container"]!.map(\.0) + ["customRules"],
        "host": forcedEffects["host"]! + forcedFlags["host"]!.map(\.0)
            + ["antiMalware.deniedProcesses.paths", "logInspectionRules", "customRules"],
        "serverless": forcedFlags["serverless"]!.map(\.0),
    ]

    static let effectRank = ["disable": 0, "alert": 1, "prevent": 2, "block": 3]

    static func value(_ v: JSON, _ path: String) -> JSON? {
        var cur: JSON? = v
        for part in path.split(separator: ".") { cur = cur?[String(part)] }
        return cur
    }

    /// `v` without the members at the dotted `paths`.
    static func without(_ v: JSON, _ paths: [String]) -> JSON {
        var out = v
        for path in paths { remove(&out, path.split(separator: ".").map(String.init)[...]) }
        return out
    }

    private static func remove(_ v: inout JSON, _ parts: ArraySlice<String>) {
        guard let first = parts.first, case .object(var o) = v else { return }
        if parts.count == 1 {
            o[first] = nil
        } else if var child = o[first] {
            remove(&child, parts.dropFirst())
            o[first] = child
        }
        v = .object(o)
    }

    /// Asserts every setting the documentation forces on a runtime rule of `kind`.
    static func assertForced(_ rule: JSON, kind: String, customIDs: [Int],
                             file: StaticString = #filePath, line: UInt = #line) {
        for path in forcedEffects[kind]! {
            let e = value(rule, path)?.stringValue ?? ""
            XCTAssertGreaterThanOrEqual(effectRank[e] ?? -1, 1, "\(kind) \(path) = \(e)", file: file, line: line)
        }
        for (path, want) in forcedFlags[kind]! {
            XCTAssertEqual(value(rule, path)?.boolValue, want, "\(kind) \(path)", file: file, line: line)
        }
        guard kind != "serverless" else { return }
        let refs = Set(rule["customRules"]?.arrayValue?.compactMap { $0["_id"]?.intValue } ?? [])
        XCTAssertTrue(Set(customIDs).isSubset(of: refs), "\(kind) custom rules \(refs.sorted())", file: file, line: line)
        guard kind == "host" else { return }
        let tools = Set(value(rule, "antiMalware.deniedProcesses.paths")?.arrayValue?.compactMap(\.stringValue) ?? [])
        XCTAssertTrue(Set(deniedTools).isSubset(of: tools), "denied tools", file: file, line: line)
        let lir = rule["logInspectionRules"]?.arrayValue ?? []
        for (path, regexes) in logInspection {
            let have = Set(lir.first { $0["path"]?.stringValue == path }?["regex"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            XCTAssertTrue(Set(regexes).isSubset(of: have), "log inspection \(path)", file: file, line: line)
        }
    }

    /// Values turning on the chosen policy steps (rule name "BigBang").
    static func values(name: String = "BigBang", vulnerabilities: Bool = false, threshold: String = "medium",
                       compliance: Bool = false, templates: [String] = ["DISA STIG", "NIST SP 800-190"],
                       complianceThreshold: String = "medium", runtime: Bool = false) -> String {
        let tpl = templates.map { "\"\($0)\"" }.joined(separator: ", ")
        return """
        policies:
          enabled: true
          name: "\(name)"
          vulnerabilities:
            enabled: \(vulnerabilities)
            alertThreshold: \(threshold)
          compliance:
            enabled: \(compliance)
            templates: [\(tpl)]
            alertThreshold: \(complianceThreshold)
          runtime:
            enabled: \(runtime)
        """
    }

    /// The simulator's policies by key (`vulnerability/images`, `runtime/host`, ...).
    static func policies(_ h: StepHarness) async throws -> [String: JSON] {
        try await h.state()["policies"]?.objectValue ?? [:]
    }

    static func count(_ requests: [JSON], _ method: String, _ endpoint: String) -> Int {
        requests.filter { $0["method"]?.stringValue == method && $0["endpoint"]?.stringValue == endpoint }.count
    }

    /// The writes to policy endpoints (method and endpoint).
    static func policyWrites(_ h: StepHarness) async throws -> [String] {
        try await h.writes().compactMap { r in
            let ep = r["endpoint"]?.stringValue ?? ""
            return ep.hasPrefix("policies/") ? "\(r["method"]?.stringValue ?? "") \(ep)" : nil
        }
    }
}
