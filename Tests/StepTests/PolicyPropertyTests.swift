import ConsoleSimulator
import Foundation
import JSONModel
import TestSupport
import TwistlockInit
import XCTest

/// Property: from random existing policies (rules in random order, random user settings,
/// block flags, extra regexes and files, extra denied tools, raised effects, the job's own rules
/// present or not), one run of the three policy steps leaves every forced setting in force,
/// every other field and the order of the existing rules unchanged, sends only schema-exact
/// bodies, and a second run writes nothing. Seeded, 30 cases in five bounded batches.
final class PolicyPropertyTests: XCTestCase {
    func testRandomExistingPoliciesCases0to5() async throws { try await runCases(0..<6) }
    func testRandomExistingPoliciesCases6to11() async throws { try await runCases(6..<12) }
    func testRandomExistingPoliciesCases12to17() async throws { try await runCases(12..<18) }
    func testRandomExistingPoliciesCases18to23() async throws { try await runCases(18..<24) }
    func testRandomExistingPoliciesCases24to29() async throws { try await runCases(24..<30) }

    private func runCases(_ seeds: Range<UInt64>) async throws {
        let h = try await StepHarness.start()
        let first = try await h.run()
        XCTAssertEqual(first.report.exitCode, 0, first.output)
        let fresh = try await h.state()
        let catalog = h.sim.complianceCatalog
        for seed in seeds {
            var gen = PolicyGenerator(seed: 0x5EED_0000 + seed, fresh: fresh, catalog: catalog)
            let policies = gen.policies()
            let values = gen.values
            var state = fresh
            var all = fresh["policies"]?.objectValue ?? [:]
            for (k, v) in policies { all[k] = v }
            state["policies"] = .object(all)
            try h.sim.loadState(state)
            let before = try await PolicyFixture.policies(h)
            try await h.clearRequests()

            let run = try await h.run(values: values.yaml)
            XCTAssertEqual(run.report.exitCode, 0, "seed \(seed): \(run.output)")
            let after = try await PolicyFixture.policies(h)
            let findings = try await h.findings()
            XCTAssertEqual(findings, [], "seed \(seed)")
            let requests = try await h.requests()
            for key in policies.keys.sorted() {
                let puts = PolicyFixture.count(requests, "PUT", "policies/\(key)")
                XCTAssertLessThanOrEqual(puts, 1, "seed \(seed) \(key)")
                // One read, and one more after a write (verify after write).
                XCTAssertEqual(PolicyFixture.count(requests, "GET", "policies/\(key)"), 1 + puts, "seed \(seed) \(key)")
                let check = PolicyInvariant(seed: seed, key: key, values: values, catalog: catalog,
                                            customIDs: Array(15...29))
                check.verify(before: before[key]!, after: after[key]!)
            }

            try await h.clearRequests()
            let second = try await h.run(values: values.yaml)
            XCTAssertEqual(second.report.exitCode, 0, "seed \(seed): \(second.output)")
            let writes = try await PolicyFixture.policyWrites(h)
            XCTAssertEqual(writes, [], "seed \(seed): a second run writes nothing")
        }
        await h.stop()
    }
}

struct PolicyValues {
    var name = "BigBang"
    var vulnThreshold = "medium"
    var templates: [String] = []
    var complianceThreshold = "medium"

    var yaml: String {
        PolicyFixture.values(name: name, vulnerabilities: true, threshold: vulnThreshold, compliance: true,
                             templates: templates, complianceThreshold: complianceThreshold, runtime: true)
    }
}

/// Random existing policies built from the simulator's fresh default rules (complete objects),
/// changed the way people change them.
struct PolicyGenerator {
    /// SplitMix64: small, seeded, the same sequence on every platform.
    var rng: SeededGenerator
    let fresh: JSON
    let catalog: [ComplianceCheck]
    var values = PolicyValues()
    static let effects = ["disable", "alert", "prevent", "block"]
    static let severities = ["low", "medium", "high", "critical"]

    init(seed: UInt64, fresh: JSON, catalog: [ComplianceCheck]) {
        rng = SeededGenerator(state: seed)
        self.fresh = fresh
        self.catalog = catalog
        values.vulnThreshold = Self.severities.randomElement(using: &rng)!
        values.complianceThreshold = Self.severities.randomElement(using: &rng)!
        values.templates = ComplianceCatalog.templates.filter { _ in Bool.random(using: &rng) }.shuffled(using: &rng)
    }

    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &rng) < p }
    mutating func effect() -> JSON { .string(Self.effects.randomElement(using: &rng)!) }
    mutating func pick<T>(_ xs: [T]) -> T { xs.randomElement(using: &rng)! }

    mutating func policies() -> [String: JSON] {
        var out: [String: JSON] = [:]
        for ep in PolicyFixture.vulnerabilityEndpoints { out["vulnerability/\(ep)"] = policy("vulnerability/\(ep)") }
        for ep in PolicyFixture.complianceEndpoints { out["compliance/\(ep)"] = policy("compliance/\(ep)") }
        for ep in PolicyFixture.runtimeEndpoints { out["runtime/\(ep)"] = policy("runtime/\(ep)") }
        return out
    }

    mutating func policy(_ key: String) -> JSON {
        var p = fresh["policies"]![key]!
        let defaults = p["rules"]?.arrayValue ?? []
        var rules = defaults.filter { _ in chance(0.8) }
        let template = defaults.last!
        for i in 0..<Int.random(in: 0...5, using: &rng) {
            rules.append(mutate(template, key: key, name: "Team rule \(i)"))
        }
        var jobNames = [values.name]
        if key.hasPrefix("compliance/") {
            jobNames = ComplianceCatalog.templates.map { "\(values.name) - \($0)" } + [values.name]
        }
        for name in jobNames where chance(0.5) {
            rules.append(mutate(template, key: key, name: name))
        }
        rules.shuffle(using: &rng)
        p["rules"] = .array(rules)
        if key.hasPrefix("runtime/") && key != "runtime/host" && chance(0.5) {
            p["learningDisabled"] = .bool(Bool.random(using: &rng))
        }
        return p
    }

    mutating func mutate(_ template: JSON, key: String, name: String) -> JSON {
        var r = template
        r["name"] = .string(name)
        r["owner"] = "someone"
        if chance(0.5) { r["notes"] = .string("note \(Int.random(in: 0...999, using: &rng))") }
        if chance(0.2) { r["disabled"] = true }
        switch key.split(separator: "/").first! {
        case "vulnerability":
            r["alertThreshold"] = ["disabled": .bool(chance(0.2)), "value": .double(pick([0, 1, 4, 7, 9]))]
            r["blockThreshold"] = ["enabled": .bool(chance(0.5)), "value": .double(pick([0, 4, 7, 9]))]
            r["onlyFixed"] = .bool(chance(0.5))
            r["graceDays"] = .int(Int64.random(in: 0...30, using: &rng))
            r["verbose"] = .bool(chance(0.5))
        case "compliance":
            let ep = String(key.split(separator: "/")[1])
            let types = Set(PolicyFixture.endpointTypes[ep]!)
            let pool = catalog.filter { types.contains($0.type) }
            var seen = Set<Int>()
            var conds: [JSON] = []
            for _ in 0..<Int.random(in: 0...40, using: &rng) {
                let c = pick(pool)
                if seen.insert(c.id).inserted { conds.append(["id": .int(Int64(c.id)), "block": .bool(chance(0.3))]) }
            }
            r["condition"] = ["device": "", "readonly": false, "vulnerabilities": .array(conds)]
            r["verbose"] = .bool(chance(0.5))
        case "runtime":
            mutateRuntime(&r, kind: String(key.split(separator: "/")[1]))
        default:
            break
        }
        return r
    }

    mutating func mutateRuntime(_ r: inout JSON, kind: String) {
        func customRefs(_ g: inout PolicyGenerator) -> JSON {
            var ids = Array(12...31).filter { _ in g.chance(0.3) }
            ids.shuffle(using: &g.rng)
            return .array(ids.map { id in
                ["_id": .int(Int64(id)), "action": .string(g.pick(["audit", "incident"])),
                 "effect": .string(g.pick(["block", "prevent", "alert", "allow", "ban", "disable"]))]
            })
        }
        switch kind {
        case "container":
            for k in ["advancedProtectionEffect", "kubernetesEnforcementEffect", "cloudMetadataEnforcementEffect",
                      "wildFireAnalysis"] { r[k] = effect() }
            for k in ["defaultEffect", "modifiedProcessEffect", "cryptoMinersEffect", "reverseShellEffect",
                      "lateralMovementEffect", "suidBinariesEffect"] { r["processes"]?[k] = effect() }
            r["processes"]?["checkParentChild"] = .bool(chance(0.5))
            r["processes"]?["disabled"] = .bool(chance(0.3))
            r["processes"]?["allowedList"] = chance(0.5) ? ["/usr/bin/mine"] : []
            for k in ["defaultEffect", "deniedIPsEffect", "modifiedProcEffect", "portScanEffect", "rawSocketsEffect"] {
                r["network"]?[k] = effect()
            }
            r["network"]?["disabled"] = .bool(chance(0.3))
            for k in ["defaultEffect", "newFilesEffect", "backdoorFilesEffect", "encryptedBinariesEffect",
                      "suspiciousELFHeadersEffect"] { r["filesystem"]?[k] = effect() }
            r["filesystem"]?["disabled"] = .bool(chance(0.3))
            r["customRules"] = customRefs(&self)
        case "host":
            var paths: [JSON] = []
            for _ in 0..<Int.random(in: 0...6, using: &rng) {
                paths.append(.string(chance(0.5) ? pick(PolicyFixture.deniedTools) : "my-tool-\(Int.random(in: 0...99, using: &rng))"))
            }
            r["antiMalware"]?["deniedProcesses"] = ["effect": effect(), "paths": .array(paths)]
            r["antiMalware"]?["skipSSHTracking"] = .bool(chance(0.5))
            r["antiMalware"]?["cryptoMiner"] = effect()
            for k in ["activitiesDisabled", "dockerEnabled", "readonlyDockerEnabled", "sshdEnabled", "sudoEnabled",
                      "serviceActivitiesEnabled"] { r["forensic"]?[k] = .bool(chance(0.5)) }
            var lir: [JSON] = []
            for (path, regexes) in PolicyFixture.logInspection where chance(0.4) {
                var rx = regexes.filter { _ in chance(0.5) }.map { JSON.string($0) }
                if chance(0.5) { rx.insert(.string("extra \(Int.random(in: 0...99, using: &rng))"), at: 0) }
                lir.append(["path": .string(path), "regex": .array(rx)])
            }
            if chance(0.5) {
                let file = "/var/log/app-\(Int.random(in: 0...9, using: &rng)).log"
                lir.append(["path": .string(file), "regex": ["denied"]])
            }
            lir.shuffle(using: &rng)
            r["logInspectionRules"] = .array(lir)
            r["customRules"] = customRefs(&self)
        default:  // serverless
            r["advancedProtection"] = .bool(chance(0.5))
            r["processes"]?["checkCryptoMiners"] = .bool(chance(0.5))
            r["processes"]?["blockAllBinaries"] = .bool(chance(0.5))
            r["processes"]?["effect"] = effect()
            r["network"]?["effect"] = effect()
            r["cloudMetadataEnforcement"] = .bool(chance(0.5))
        }
    }
}

/// What must hold for one policy after a run, given what it was before.
struct PolicyInvariant {
    let seed: UInt64
    let key: String
    let values: PolicyValues
    let catalog: [ComplianceCheck]
    let customIDs: [Int]

    var kind: String { String(key.split(separator: "/")[0]) }
    var endpoint: String { String(key.split(separator: "/")[1]) }
    var label: String { "seed \(seed) \(key)" }

    /// The job's rules on this policy, with the compliance checks each must list.
    func jobRules() -> [(String, Set<Int>)] {
        guard kind == "compliance" else { return [(values.name, [])] }
        let types = Set(PolicyFixture.endpointTypes[endpoint]!)
        var out: [(String, Set<Int>)] = []
        for t in values.templates {
            let ids = Set(catalog.filter { types.contains($0.type) && $0.templates.contains(t) }.map(\.id))
            if !ids.isEmpty { out.append(("\(values.name) - \(t)", ids)) }
        }
        if out.isEmpty {
            let min = PolicyGenerator.severities.firstIndex(of: values.complianceThreshold)!
            let ids = Set(catalog.filter { types.contains($0.type)
                && (PolicyGenerator.severities.firstIndex(of: $0.severity) ?? -1) >= min }.map(\.id))
            if !ids.isEmpty { out.append((values.name, ids)) }
        }
        return out
    }

    func verify(before: JSON, after: JSON, file: StaticString = #filePath, line: UInt = #line) {
        var pb = before, pa = after
        pb["rules"] = nil
        pa["rules"] = nil
        XCTAssertTrue(pa.isEquivalent(to: pb), "\(label): policy fields", file: file, line: line)
        let b = before["rules"]?.arrayValue ?? []
        let a = after["rules"]?.arrayValue ?? []
        let job = jobRules()
        let jobNames = Set(job.map(\.0))
        let oldNames = b.compactMap { $0["name"]?.stringValue }
        let newCount = a.count - b.count
        XCTAssertGreaterThanOrEqual(newCount, 0, label, file: file, line: line)
        guard newCount >= 0 else { return }
        // new rules first (only the job's), then the existing ones in their order
        let added = a.prefix(newCount).compactMap { $0["name"]?.stringValue }
        XCTAssertTrue(Set(added).isSubset(of: jobNames), "\(label): added \(added)", file: file, line: line)
        XCTAssertTrue(Set(added).isDisjoint(with: Set(oldNames)), label, file: file, line: line)
        XCTAssertEqual(Array(a.dropFirst(newCount)).compactMap { $0["name"]?.stringValue }, oldNames,
                       "\(label): order of the existing rules", file: file, line: line)
        XCTAssertEqual(Set(jobNames).subtracting(Set(a.compactMap { $0["name"]?.stringValue })), [],
                       "\(label): every job rule exists", file: file, line: line)
        let beforeByName = Dictionary(b.map { ($0["name"]!.stringValue!, $0) }, uniquingKeysWith: { x, _ in x })
        for rule in a {
            let name = rule["name"]!.stringValue!
            let old = beforeByName[name]
            guard let (_, ids) = job.first(where: { $0.0 == name }) else {
                XCTAssertTrue(old.map { rule.isEquivalent(to: $0) } ?? false, "\(label): rule \(name) untouched",
                              file: file, line: line)
                continue
            }
            verifyJobRule(rule, old: old, ids: ids, file: file, line: line)
        }
    }

    func verifyJobRule(_ rule: JSON, old: JSON?, ids: Set<Int>, file: StaticString, line: UInt) {
        let where_ = "\(label): rule \(rule["name"]?.stringValue ?? "")"
        var forced: [String]
        switch kind {
        case "vulnerability":
            let want = ["low": 1.0, "medium": 4.0, "high": 7.0, "critical": 9.0][values.vulnThreshold]!
            XCTAssertEqual(rule["alertThreshold"]?["value"]?.doubleValue, want, where_, file: file, line: line)
            XCTAssertEqual(rule["onlyFixed"]?.boolValue, true, where_, file: file, line: line)
            forced = ["alertThreshold.value", "onlyFixed"]
        case "compliance":
            let conds = rule["condition"]?["vulnerabilities"]?.arrayValue ?? []
            let have = Set(conds.compactMap { $0["id"]?.intValue })
            XCTAssertTrue(ids.isSubset(of: have), "\(where_): lists every check of its set", file: file, line: line)
            let oldConds = old?["condition"]?["vulnerabilities"]?.arrayValue ?? []
            XCTAssertTrue(JSON.array(Array(conds.prefix(oldConds.count))).isEquivalent(to: .array(oldConds)),
                          "\(where_): existing checks (and their block flags) kept", file: file, line: line)
            let appended = conds.dropFirst(oldConds.count)
            XCTAssertEqual(Set(appended.compactMap { $0["id"]?.intValue }),
                           ids.subtracting(Set(oldConds.compactMap { $0["id"]?.intValue })), where_, file: file, line: line)
            XCTAssertEqual(appended.count, Set(appended.compactMap { $0["id"]?.intValue }).count, where_, file: file, line: line)
            XCTAssertTrue(appended.allSatisfy { $0["block"]?.boolValue == false }, where_, file: file, line: line)
            forced = ["condition.vulnerabilities"]
        default:
            PolicyFixture.assertForced(rule, kind: endpoint, customIDs: customIDs, file: file, line: line)
            forced = PolicyFixture.forcedPaths[endpoint]!
            if let old { verifyRuntimeChanges(rule, old: old, where_: where_, file: file, line: line) }
        }
        if let old {
            let strip = forced + ["owner", "modified"]
            XCTAssertTrue(PolicyFixture.without(rule, strip).isEquivalent(to: PolicyFixture.without(old, strip)),
                          "\(where_): every other field kept", file: file, line: line)
        } else {
            XCTAssertEqual(rule["collections"]?[0]?["name"]?.stringValue, "All", where_, file: file, line: line)
            XCTAssertEqual(rule["disabled"]?.boolValue, false, where_, file: file, line: line)
        }
    }

    /// On an existing runtime rule: effects only raised to alert (a stronger one stays), lists only
    /// extended at their end, custom rule references kept and new ones added as incident/alert.
    func verifyRuntimeChanges(_ rule: JSON, old: JSON, where_: String, file: StaticString, line: UInt) {
        for path in PolicyFixture.forcedEffects[endpoint]! {
            let was = PolicyFixture.value(old, path)?.stringValue ?? ""
            let now = PolicyFixture.value(rule, path)?.stringValue ?? ""
            let expected = (PolicyFixture.effectRank[was] ?? -1) >= 1 ? was : "alert"
            XCTAssertEqual(now, expected, "\(where_) \(path)", file: file, line: line)
        }
        guard endpoint != "serverless" else { return }
        let oldRefs = old["customRules"]?.arrayValue ?? []
        let refs = rule["customRules"]?.arrayValue ?? []
        XCTAssertTrue(JSON.array(Array(refs.prefix(oldRefs.count))).isEquivalent(to: .array(oldRefs)),
                      "\(where_): custom rule references kept", file: file, line: line)
        let oldIDs = Set(oldRefs.compactMap { $0["_id"]?.intValue })
        let addedRefs = Array(refs.dropFirst(oldRefs.count))
        XCTAssertEqual(addedRefs.compactMap { $0["_id"]?.intValue }, customIDs.filter { !oldIDs.contains($0) },
                       where_, file: file, line: line)
        XCTAssertTrue(addedRefs.allSatisfy { $0["action"]?.stringValue == "incident" && $0["effect"]?.stringValue == "alert" },
                      where_, file: file, line: line)
        guard endpoint == "host" else { return }
        let oldPaths = PolicyFixture.value(old, "antiMalware.deniedProcesses.paths")?.arrayValue ?? []
        let paths = PolicyFixture.value(rule, "antiMalware.deniedProcesses.paths")?.arrayValue ?? []
        XCTAssertTrue(JSON.array(Array(paths.prefix(oldPaths.count))).isEquivalent(to: .array(oldPaths)),
                      "\(where_): denied tools a person added are kept", file: file, line: line)
        let oldLir = old["logInspectionRules"]?.arrayValue ?? []
        let lir = rule["logInspectionRules"]?.arrayValue ?? []
        for (i, entry) in oldLir.enumerated() {
            guard i < lir.count else { XCTFail("\(where_): log inspection entry \(i) lost", file: file, line: line); break }
            XCTAssertEqual(lir[i]["path"], entry["path"], where_, file: file, line: line)
            let oldRx = entry["regex"]?.arrayValue ?? []
            let rx = lir[i]["regex"]?.arrayValue ?? []
            XCTAssertTrue(JSON.array(Array(rx.prefix(oldRx.count))).isEquivalent(to: .array(oldRx)),
                          "\(where_): regexes kept", file: file, line: line)
            XCTAssertTrue(PolicyFixture.without(lir[i], ["regex"]).isEquivalent(to: PolicyFixture.without(entry, ["regex"])),
                          where_, file: file, line: line)
        }
        let oldFiles = Set(oldLir.compactMap { $0["path"]?.stringValue })
        XCTAssertEqual(lir.dropFirst(oldLir.count).compactMap { $0["path"]?.stringValue },
                       PolicyFixture.logInspection.map(\.0).filter { !oldFiles.contains($0) }, where_, file: file, line: line)
    }
}
