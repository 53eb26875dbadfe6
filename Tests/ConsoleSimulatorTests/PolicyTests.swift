import ConsoleSimulator
import Foundation
import JSONModel
import XCTest

final class PolicyTests: XCTestCase {
    func testFreshConsoleDefaults() async throws {
        try await withSimulator(initialize: true) { _, client in
            let images = try await client.getJSON("policies/vulnerability/images")
            let names = images["rules"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
            XCTAssertEqual(names, ["Default - ignore Twistlock components", "Default - alert all components"])
            let all = try XCTUnwrap(images["rules"]?[1])
            XCTAssertEqual(all["collections"]?[0]?["name"], "All")
            XCTAssertEqual(all["alertThreshold"]?["value"]?.doubleValue, 1)
            // Numbers as Go encodes them: a float32 holding 1 is written 1.
            XCTAssertEqual(all["alertThreshold"]?["value"], .int(1))
            XCTAssertNotNil(all["blockThreshold"]?["enabled"])
            XCTAssertEqual(all["effect"], "alert")

            for (endpoint, type) in [("vulnerability/host", "hostVulnerability"), ("vulnerability/serverless", "serverlessVulnerability"),
                                     ("vulnerability/vms", "vmVulnerability"), ("compliance/container", "containerCompliance"),
                                     ("compliance/host", "hostCompliance"), ("compliance/serverless", "serverlessCompliance"),
                                     ("compliance/vms", "vmCompliance")] {
                let p = try await client.getJSON("policies/" + endpoint)
                XCTAssertEqual(p["policyType"]?.stringValue, type, endpoint)
                XCTAssertFalse(p["rules"]?.arrayValue?.isEmpty ?? true, endpoint)
            }
            let compliance = try await client.getJSON("policies/compliance/host")
            let checks = compliance["rules"]?[0]?["condition"]?["vulnerabilities"]?.arrayValue ?? []
            XCTAssertFalse(checks.isEmpty)
            XCTAssertTrue(checks.allSatisfy { $0["block"] == false })

            let container = try await client.getJSON("policies/runtime/container")
            XCTAssertEqual(container["_id"], "containerRuntime")
            XCTAssertNotNil(container["rules"]?[0]?["processes"]?["cryptoMinersEffect"])
            let host = try await client.getJSON("policies/runtime/host")
            XCTAssertNotNil(host["rules"]?[0]?["antiMalware"]?["deniedProcesses"])
            let serverless = try await client.getJSON("policies/runtime/serverless")
            XCTAssertNotNil(serverless["rules"]?[0]?["processes"]?["checkCryptoMiners"])

            let custom = try await client.getJSON("custom-rules")
            let byName = Dictionary(uniqueKeysWithValues: (custom.arrayValue ?? []).map { ($0["name"]!.stringValue!, $0["_id"]!.intValue!) })
            let selected = [
                "Detect privileged management tools starting in a container", "Detect usage of common data exfiltration ports",
                "Detect access to common crypto miner pool ports", "Detect access to cloud platform metadata APIs (AWS/GCP/Azure)",
                "Detect attempts to tamper with bash shell configuration", "Detect writes to linux password and shadow files",
                "Detect file writes under /etc folder (Host)", "Detect file writes under /etc folder (Container)",
                "Detect an execution of cron app", "A database server app spawned a new process other than itself",
                "Detect launching of suspicious networking scanning tool", "Detect launching of suspicious networking tool",
                "Detect user deletion", "Detect user modification", "Detect user creation",
            ]
            XCTAssertEqual(selected.map { byName[$0] }, (15...29).map { Optional($0) })
            XCTAssertGreaterThan(byName.count, 15)

            let trust = try await client.getJSON("trust/data")
            XCTAssertEqual(trust["policy"]?["_id"], "trust")
            let firewall = try await client.getJSON("policies/firewall/network")
            XCTAssertEqual(firewall["containerEnabled"], false)
            let certs = try await client.getJSON("settings/certs")
            XCTAssertNotNil(certs["consoleSAN"]?.arrayValue)
            XCTAssertNotNil(certs["caExpiration"]?.stringValue)
            XCTAssertNotNil(certs["defenderOldCAExpiration"]?.stringValue)
            for s in ["logging", "telemetry", "intelligence", "scan", "logon", "saml"] {
                let v = try await client.getJSON("settings/" + s)
                XCTAssertNotNil(v.objectValue, s)
            }
            let logging = try await client.getJSON("settings/logging")
            XCTAssertEqual(logging["stdout"]?["enabled"], false)
        }
    }

    func testForeignComplianceCheckIsRejected() async throws {
        try await withSimulator(initialize: true) { sim, client in
            let catalog = sim.complianceCatalog
            func check(_ type: String) -> Int { catalog.first { $0.type == type }!.id }
            let cases: [(String, Int, Int)] = [
                ("container", check("image"), check("k8s_master")),
                ("host", check("k8s_worker"), check("container")),
                ("serverless", check("serverless"), check("linux")),
                ("vms", check("linux"), check("k8s_master")),
                ("vms", check("windows"), check("docker_stig")),
            ]
            for (n, (endpoint, own, foreign)) in cases.enumerated() {
                var policy = try await client.getJSON("policies/compliance/" + endpoint)
                var rules = policy["rules"]?.arrayValue ?? []
                rules.insert(["name": .string("Default - DISA STIG \(n)"), "collections": [["name": "All"]],
                              "condition": ["vulnerabilities": [["id": .int(Int64(own)), "block": false]]]], at: 0)
                policy["rules"] = .array(rules)
                var r = try await client.send("PUT", "policies/compliance/" + endpoint, json: policy)
                XCTAssertEqual(r.status, 200, "\(endpoint) own \(own): \(r.text)")

                rules[0]["condition"]?["vulnerabilities"] = [["id": .int(Int64(own)), "block": false], ["id": .int(Int64(foreign)), "block": true]]
                policy["rules"] = .array(rules)
                let before = sim.state.policies["compliance/" + endpoint]
                r = try await client.send("PUT", "policies/compliance/" + endpoint, json: policy)
                XCTAssertEqual(r.status, 400, "\(endpoint) foreign \(foreign)")
                XCTAssertTrue(r.err?.contains(String(foreign)) ?? false, r.text)
                XCTAssertEqual(sim.state.policies["compliance/" + endpoint], before)
            }
            // An id the catalog does not have.
            var policy = try await client.getJSON("policies/compliance/container")
            var rules = policy["rules"]?.arrayValue ?? []
            rules[0]["condition"]?["vulnerabilities"] = [["id": 99_999_999, "block": false]]
            policy["rules"] = .array(rules)
            let r = try await client.send("PUT", "policies/compliance/container", json: policy)
            XCTAssertEqual(r.status, 400)
        }
    }

    func testRuleNamesMustBeUniqueAndOrderIsKept() async throws {
        try await withSimulator(initialize: true) { sim, client in
            for endpoint in ["vulnerability/images", "compliance/host", "runtime/container", "runtime/host", "runtime/serverless"] {
                var policy = try await client.getJSON("policies/" + endpoint)
                var rules = policy["rules"]?.arrayValue ?? []
                let first = rules[0]
                var copy = first
                copy["name"] = "Default"
                rules.insert(copy, at: 0)
                rules.append(copy)
                policy["rules"] = .array(rules)
                var r = try await client.send("PUT", "policies/" + endpoint, json: policy)
                XCTAssertEqual(r.status, 400, endpoint)
                XCTAssertTrue(r.err?.contains("Default") ?? false)

                rules.removeLast()
                policy["rules"] = .array(rules)
                r = try await client.send("PUT", "policies/" + endpoint, json: policy)
                XCTAssertEqual(r.status, 200, "\(endpoint): \(r.text)")
                let back = try await client.getJSON("policies/" + endpoint)
                XCTAssertEqual(back["rules"]?.arrayValue?.compactMap { $0["name"]?.stringValue }, rules.compactMap { $0["name"]?.stringValue })
                // The changed rule is stamped, the untouched one keeps its stamp.
                XCTAssertEqual(back["rules"]?[0]?["owner"]?.stringValue, adminUser)
                XCTAssertEqual(back["rules"]?[1]?["owner"], first["owner"])
                XCTAssertEqual(back["rules"]?[1]?["modified"], first["modified"])

                // A rule without a name.
                rules[0]["name"] = ""
                policy["rules"] = .array(rules)
                r = try await client.send("PUT", "policies/" + endpoint, json: policy)
                XCTAssertEqual(r.status, 400)
            }
            XCTAssertEqual(sim.state.policies["runtime/container"]?["rules"]?[0]?["name"], "Default")
        }
    }

    func testRuntimeCustomRulesMustExistAndPostAddsOnTop() async throws {
        try await withSimulator(initialize: true) { _, client in
            var policy = try await client.getJSON("policies/runtime/host")
            var rules = policy["rules"]?.arrayValue ?? []
            rules[0]["customRules"] = [["_id": 15, "action": "incident", "effect": "alert"], ["_id": 4242, "action": "audit", "effect": "alert"]]
            policy["rules"] = .array(rules)
            var r = try await client.send("PUT", "policies/runtime/host", json: policy)
            XCTAssertEqual(r.status, 400)
            XCTAssertTrue(r.err?.contains("4242") ?? false)

            rules[0]["customRules"] = [["_id": 15, "action": "bogus", "effect": "alert"]]
            policy["rules"] = .array(rules)
            r = try await client.send("PUT", "policies/runtime/host", json: policy)
            XCTAssertEqual(r.status, 400)

            var rule = rules[0]
            rule["name"] = "Default"
            rule["customRules"] = [["_id": 20, "action": "audit", "effect": "alert"]]
            r = try await client.send("POST", "policies/runtime/host", json: rule)
            XCTAssertEqual(r.status, 200, r.text)
            let back = try await client.getJSON("policies/runtime/host")
            XCTAssertEqual(back["rules"]?.arrayValue?.compactMap { $0["name"]?.stringValue },
                           ["Default", "Default - detect suspicious runtime behavior"])
        }
    }

    func testTrustDataAndFirewall() async throws {
        try await withSimulator(initialize: true) { sim, client in
            var trust = try await client.getJSON("trust/data")
            trust["groups"] = [["_id": "BigBang-Trusted", "images": ["registry1.dso.mil/ironbank/*"]]]
            trust["policy"]?["enabled"] = true
            trust["policy"]?["rules"] = [["name": "BigBang-Trusted", "effect": "alert", "allowedGroups": ["BigBang-Trusted"],
                                          "collections": [["name": "All"]]]]
            var r = try await client.send("PUT", "trust/data", json: trust)
            XCTAssertEqual(r.status, 200, r.text)
            XCTAssertEqual(sim.state.trust["policy"]?["rules"]?[0]?["name"], "BigBang-Trusted")

            trust["policy"]?["rules"] = [["name": "x", "effect": "alert", "allowedGroups": ["nope"]]]
            r = try await client.send("PUT", "trust/data", json: trust)
            XCTAssertEqual(r.status, 400)
            trust["policy"]?["rules"] = [["name": "x", "effect": "maybe"]]
            r = try await client.send("PUT", "trust/data", json: trust)
            XCTAssertEqual(r.status, 400)

            var firewall = try await client.getJSON("policies/firewall/network")
            firewall["containerEnabled"] = true
            firewall["hostEnabled"] = true
            r = try await client.send("PUT", "policies/firewall/network", json: firewall)
            XCTAssertEqual(r.status, 200)
            let back = try await client.getJSON("policies/firewall/network")
            XCTAssertEqual(back["containerEnabled"], true)
            XCTAssertEqual(back["hostEnabled"], true)
        }
    }

    func testSettingsAndCerts() async throws {
        try await withSimulator(initialize: true) { _, client in
            var certs = try await client.getJSON("settings/certs")
            var san = certs["consoleSAN"]?.arrayValue ?? []
            san.append("twistlock.example.mil")
            certs["consoleSAN"] = .array(san)
            // The read-only expiries must be dropped before POST (console-api.md).
            var r = try await client.send("POST", "settings/certs", json: certs)
            XCTAssertEqual(r.status, 400)
            certs["caExpiration"] = nil
            certs["defenderOldCAExpiration"] = nil
            r = try await client.send("POST", "settings/certs", json: certs)
            XCTAssertEqual(r.status, 200, r.text)
            let back = try await client.getJSON("settings/certs")
            XCTAssertEqual(back["consoleSAN"]?.arrayValue, san)
            XCTAssertNotNil(back["caExpiration"])

            r = try await client.send("POST", "settings/logging", json: ["stdout": ["enabled": true], "enableMetricsCollection": true])
            XCTAssertEqual(r.status, 200)
            let logging = try await client.getJSON("settings/logging")
            XCTAssertEqual(logging["stdout"]?["enabled"], true)
            XCTAssertEqual(logging["enableMetricsCollection"], true)

            r = try await client.send("POST", "settings/telemetry", json: ["enabled": false])
            XCTAssertEqual(r.status, 200)
            let telemetry = try await client.getJSON("settings/telemetry")
            XCTAssertEqual(telemetry, ["enabled": false])
        }
    }
}
