import ConsoleSimulator
import Foundation
import JSONModel
import TwistlockInit

/// (A library of its own so that the benchmark and the tests — undo's — seed the same console.)
/// Brings the simulated console to the state of one that people have used for a while, over
/// its API (so the simulator validates every rule as the console would): the first admin, a
/// license, and `rulesPerPolicy` rules of their own in each of the eleven policies the job
/// touches, above the console's default rules.
public struct Seeder {
    public let client: ConsoleClient
    public let rulesPerPolicy: Int

    public init(client: ConsoleClient, rulesPerPolicy: Int) {
        self.client = client
        self.rulesPerPolicy = rulesPerPolicy
    }

    static let vulnerabilityEndpoints = ["images", "host", "vms", "serverless"]
    static let complianceEndpoints = ["container", "host", "vms", "serverless"]
    static let runtimeEndpoints = ["container", "host", "serverless"]

    /// Every policy path the seeder fills (and the benchmark checks afterwards).
    public static var policyPaths: [String] {
        vulnerabilityEndpoints.map { "policies/vulnerability/\($0)" }
            + complianceEndpoints.map { "policies/compliance/\($0)" }
            + runtimeEndpoints.map { "policies/runtime/\($0)" }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Waits (bounded) until the console answers, then signs up, logs in and installs the license.
    public func initialize(adminUser: String, adminPassword: String, license: String) throws {
        let deadline = Date().addingTimeInterval(30)
        while true {
            if let r = try? client.request(method: "GET", path: "settings/initialized", body: nil, auth: false, retry: false),
               r.ok { break }
            if Date() > deadline { throw Failure(description: "the console simulator did not answer within 30 s") }
            Thread.sleep(forTimeInterval: 0.05)
        }
        try expectOK(client.request(method: "POST", path: "signup",
                                    body: ["username": .string(adminUser), "password": .string(adminPassword)], auth: false),
                     "POST signup")
        client.setCredentials(username: adminUser, password: adminPassword)
        try expectOK(client.request(method: "POST", path: "settings/license", body: ["key": .string(license)], idempotent: true),
                     "POST settings/license")
    }

    /// Puts `rulesPerPolicy` rules in every policy; returns the seeded rule names per policy path.
    public func seedPolicies() throws -> [String: [String]] {
        let catalog = try get("static/vulnerabilities")["complianceVulnerabilities"]?.arrayValue ?? []
        let customRules = try get("custom-rules").arrayValue ?? []
        let customIDs = customRules.compactMap { $0["_id"]?.int64Value }.sorted()
        var seeded: [String: [String]] = [:]
        for path in Seeder.policyPaths {
            var policy = try get(path)
            let existing = policy["rules"]?.arrayValue ?? []
            guard let template = existing.last else { throw Failure(description: "GET \(path): no default rule to start from") }
            let parts = path.split(separator: "/").map(String.init)
            let (kind, endpoint) = (parts[1], parts[2])
            var rules: [JSON] = []
            for i in 1...rulesPerPolicy {
                var rule = template
                rule["owner"] = nil
                rule["modified"] = nil
                let team = String(format: "team-%02d", i)
                rule["name"] = .string("\(team.capitalized) - \(kind) \(endpoint)")
                rule["notes"] = .string("Owned by \(team); reviewed quarterly.")
                rule["collections"] = [Seeder.collection(team: team, kind: kind, endpoint: endpoint, index: i)]
                switch kind {
                case "vulnerability":
                    let thresholds: [Double] = [1, 4, 7, 9]
                    rule["alertThreshold"] = ["disabled": false, "value": .double(thresholds[i % 4])]
                    rule["blockThreshold"] = ["enabled": .bool(i % 5 == 0), "value": .double(i % 5 == 0 ? 9 : 0)]
                    rule["onlyFixed"] = .bool(i % 2 == 0)
                    rule["graceDays"] = .int(Int64(i % 3 == 0 ? 30 : 0))
                case "compliance":
                    rule["condition"]?["vulnerabilities"] = .array(
                        Seeder.complianceSelection(catalog: catalog, endpoint: endpoint, index: i))
                default:
                    rule = Seeder.runtimeRule(rule, endpoint: endpoint, index: i, customIDs: customIDs)
                }
                rules.append(rule)
            }
            // People's rules above the console's defaults (which match everything).
            policy["rules"] = .array(rules + existing)
            try expectOK(client.request(method: "PUT", path: path, body: policy), "PUT \(path)")
            seeded[path] = rules.compactMap { $0["name"]?.stringValue }
        }
        return seeded
    }

    /// After the runs: every seeded rule is still there, in its order. Returns the problems.
    public func verify(_ seeded: [String: [String]]) throws -> [String] {
        var problems: [String] = []
        for path in Seeder.policyPaths {
            let names = try get(path)["rules"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
            let want = seeded[path] ?? []
            let kept = names.filter { Set(want).contains($0) }
            if kept != want {
                problems.append("\(path): \(want.count - kept.count) of the \(want.count) existing rules lost or reordered")
            }
        }
        return problems
    }

    // MARK: - rule content

    static func collection(team: String, kind: String, endpoint: String, index: Int) -> JSON {
        var c: JSON = [
            "name": .string(team), "owner": "admin", "system": false, "prisma": false,
            "color": .string(String(format: "#%06X", (index * 2_654_435) & 0xFFFFFF)),
            "description": .string("Workloads of \(team)"),
            "accountIDs": ["*"], "appIDs": ["*"], "clusters": ["*"], "containers": ["*"], "functions": ["*"],
            "hosts": ["*"], "images": ["*"], "labels": ["*"], "namespaces": ["*"],
        ]
        switch (kind, endpoint) {
        case (_, "host"), (_, "vms"):
            c["hosts"] = [.string("\(team)-*")]
        case (_, "serverless"):
            c["functions"] = [.string("\(team)-*")]
        default:
            c["images"] = [.string("registry.bench.example.mil/\(team)/*")]
            c["namespaces"] = [.string(team), .string("\(team)-staging")]
            c["labels"] = [.string("team:\(team)")]
        }
        return c
    }

    /// 10–40 checks of the endpoint's types, spread over the catalog; every seventh blocks.
    static func complianceSelection(catalog: [JSON], endpoint: String, index: Int) -> [JSON] {
        let types = Set(ComplianceCatalog.endpointTypes[endpoint] ?? [])
        let ids = catalog.filter { types.contains($0["type"]?.stringValue ?? "") }.compactMap { $0["id"]?.int64Value }
        guard !ids.isEmpty else { return [] }
        let count = min(ids.count, 10 + (index * 7) % 31)
        var out: [JSON] = []
        var seen = Set<Int64>()
        var k = index
        while out.count < count {
            let id = ids[(k * 37) % ids.count]
            k += 1
            if !seen.insert(id).inserted { continue }
            out.append(["id": .int(id), "block": .bool(out.count % 7 == 0)])
        }
        return out
    }

    static func runtimeRule(_ template: JSON, endpoint: String, index: Int, customIDs: [Int64]) -> JSON {
        var rule = template
        let effects = ["alert", "prevent", "disable"]
        let effect = JSON.string(effects[index % effects.count])
        var picked: [JSON] = []
        if !customIDs.isEmpty {
            for j in 0..<(1 + index % 3) {
                picked.append(["_id": .int(customIDs[(index + j * 5) % customIDs.count]),
                               "action": .string(j == 0 ? "incident" : "audit"), "effect": "alert"])
            }
        }
        switch endpoint {
        case "container":
            rule["advancedProtectionEffect"] = effect
            rule["processes"]?["cryptoMinersEffect"] = effect
            rule["processes"]?["allowedList"] = [.string("/usr/local/bin/\(String(format: "team%02d", index))-entrypoint")]
            rule["network"]?["outboundPorts"]?["allowed"] = [["start": .int(Int64(8000 + index)), "end": .int(Int64(8000 + index)), "deny": false]]
            rule["customRules"] = .array(picked)
        case "host":
            rule["antiMalware"]?["cryptoMiner"] = effect
            rule["logInspectionRules"] = [["path": .string("/var/log/team\(index).log"), "regex": ["ERROR", "denied"]]]
            rule["customRules"] = .array(picked)
        default:
            rule["processes"]?["checkCryptoMiners"] = .bool(index % 2 == 0)
            rule["filesystem"]?["checkNewFiles"] = .bool(index % 3 != 0)
        }
        return rule
    }

    // MARK: - helpers

    public func get(_ path: String) throws -> JSON {
        let r = try client.request(method: "GET", path: path, body: nil)
        try expectOK(r, "GET \(path)")
        guard let json = r.json else { throw Failure(description: "GET \(path): not JSON") }
        return json
    }

    func expectOK(_ r: ConsoleResponse, _ what: String) throws {
        guard r.ok else { throw Failure(description: "\(what): \(r.status) \(r.message)") }
    }
}
