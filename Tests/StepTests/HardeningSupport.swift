import ConsoleSimulator
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import JSONModel
import KubeSimulator
import TwistlockInit
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// What the hardening tests (issue 8, docs/reliability.md) share: values that turn every
/// console step on, the settings "a person made" by hand before the job runs (which no run may
/// lose), the console state with its volatile fields removed (to compare runs), and a
/// loopback HTTP listener for fake endpoints (the Istio sidecar, a console that answers
/// garbage).
enum Hardening {
    static let alicePassword = "Alice-Pa55word-hardening"
    static let metricsPassword = "Metrics-Pa55word-hardening"
    static let carolPassword = "Carol-Pa55word-by-hand"
    static let pem = "-----BEGIN CERTIFICATE-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo\n-----END CERTIFICATE-----\n"

    /// Every step of the job on (the defenders step only with a Kubernetes simulator).
    static func values(defenders: Bool = false) -> String {
        """
        domain: hardening.example.mil
        console:
          additionalUsers:
            - {username: alice, role: devSecOps}
            - {username: bob, role: auditor, authType: ldap}
          groups:
            - {group: platform-admins, role: admin}
            - {group: auditors, role: auditor, authType: samlGroup}
          trustedImages:
            enabled: true
          options:
            enabled: true
        sso:
          enabled: true
          client_id: twistlock
          issuer_uri: https://idp.example.mil/realms/bb
          idp_url: https://idp.example.mil/realms/bb/protocol/saml
          cert: |
        \(pem.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
        monitoring:
          enabled: true
        policies:
          enabled: true
          name: Hardening
        defender:
          enabled: \(defenders)
          clusterName: hardening
          rolloutTimeoutSeconds: 20
        """
    }

    /// A harness whose secrets directory also holds the users' and the metrics user's passwords.
    static func start(kube: Bool = false, options: SimulatorOptions = SimulatorOptions()) async throws -> StepHarness {
        let h = try await StepHarness.start(options: options, kube: kube,
                                            kubeOptions: KubeSimulator.Options(token: "hardening-token", nodeCount: 1, rolloutPolls: 1))
        try alicePassword.write(to: h.secretsDir.appendingPathComponent("console.additionalUsers.alice.password"), atomically: true, encoding: .utf8)
        try metricsPassword.write(to: h.secretsDir.appendingPathComponent("monitoring.password"), atomically: true, encoding: .utf8)
        return h
    }

    // MARK: - What a person set by hand

    /// Signs the console up (as the job's admin would) and makes settings by hand that the job
    /// does not own: a vulnerability rule of their own, a longer session timeout, a user, a
    /// trusted registry group, a scan retention, a custom runtime rule at the top.
    static func makePersonSettings(_ h: StepHarness) async throws {
        let signup = try await h.send("POST", "/api/v1/signup", ["username": .string(StepHarness.adminUser),
                                                                 "password": .string(StepHarness.adminPassword)])
        precondition(signup == 200, "signup \(signup)")
        // A rule of the team's own in the images policy (a copy of the first default rule).
        let (s1, images) = try await h.api("GET", "policies/vulnerability/images")
        guard s1 == 200, case .object(var policy)? = images, case .array(var rules)? = policy["rules"],
              case .object(var rule)? = rules.first else { throw HardeningError("GET images policy: \(s1)") }
        rule["name"] = "Team exception"
        rule["notes"] = "made by hand"
        rule["modified"] = nil
        rules.insert(.object(rule), at: 0)
        policy["rules"] = .array(rules)
        try await expectOK(h.api("PUT", "policies/vulnerability/images", .object(policy)), "PUT images policy")
        // A session timeout (the options step owns only three logon fields).
        let (_, logon) = try await h.api("GET", "settings/logon")
        guard case .object(var l)? = logon else { throw HardeningError("GET logon") }
        l["sessionTimeoutSec"] = 7200
        try await expectOK(h.api("POST", "settings/logon", .object(l)), "POST logon")
        // A scan retention (the options step owns scanRunningImages only).
        let (_, scan) = try await h.api("GET", "settings/scan")
        guard case .object(var sc)? = scan else { throw HardeningError("GET scan") }
        sc["registryScanRetentionDays"] = 30
        try await expectOK(h.api("POST", "settings/scan", .object(sc)), "POST scan")
        // A user of their own.
        try await expectOK(h.api("POST", "users", ["username": "carol", "password": .string(carolPassword),
                                                   "role": "auditor", "authType": "basic"]), "POST users")
        // A trusted registry group of their own.
        let (_, trust) = try await h.api("GET", "trust/data")
        guard case .object(var t)? = trust, case .array(var groups)? = t["groups"] else { throw HardeningError("GET trust") }
        groups.append(["_id": "team-registry", "images": ["registry.team.example/*"]])
        t["groups"] = .array(groups)
        try await expectOK(h.api("PUT", "trust/data", .object(t)), "PUT trust")
    }

    /// Fails the test when a setting made by `makePersonSettings` is gone.
    static func assertPersonSettingsKept(_ state: JSON, file: StaticString = #filePath, line: UInt = #line) {
        let images = state["policies"]?["vulnerability/images"]?["rules"]?.arrayValue ?? []
        let team = images.first { $0["name"]?.stringValue == "Team exception" }
        XCTAssertEqual(team?["notes"]?.stringValue, "made by hand", "the team's own vulnerability rule is gone", file: file, line: line)
        XCTAssertEqual(state["settings"]?["logon"]?["sessionTimeoutSec"]?.intValue, 7200, "the session timeout was reset", file: file, line: line)
        XCTAssertEqual(state["settings"]?["scan"]?["registryScanRetentionDays"]?.intValue, 30, "the scan retention was reset", file: file, line: line)
        let users = state["users"]?.arrayValue ?? []
        XCTAssertEqual(users.first { $0["username"]?.stringValue == "carol" }?["role"]?.stringValue, "auditor",
                       "the hand-made user is gone", file: file, line: line)
        let groups = state["trust"]?["groups"]?.arrayValue ?? []
        XCTAssertTrue(groups.contains { $0["_id"]?.stringValue == "team-registry" }, "the hand-made trust group is gone",
                      file: file, line: line)
    }

    /// The job's intended end state is in place: spot checks of every step's objects.
    static func assertConfigured(_ state: JSON, file: StaticString = #filePath, line: UInt = #line) {
        let users = (state["users"]?.arrayValue ?? []).compactMap { $0["username"]?.stringValue }
        for u in ["admin", "alice", "bob", "twistlock-metrics"] {
            XCTAssertEqual(users.filter { $0 == u }.count, 1, "user \(u) (once): \(users)", file: file, line: line)
        }
        let groups = (state["groups"]?.arrayValue ?? []).compactMap { $0["groupName"]?.stringValue }
        XCTAssertEqual(groups.sorted(), ["auditors", "platform-admins"], file: file, line: line)
        XCTAssertTrue(state["settings"]?["certs"]?["consoleSAN"]?.arrayValue?.contains("twistlock.hardening.example.mil") ?? false,
                      file: file, line: line)
        XCTAssertEqual(state["settings"]?["saml"]?["enabled"]?.boolValue, true, file: file, line: line)
        for key in ["vulnerability/images", "vulnerability/host", "vulnerability/vms", "vulnerability/serverless",
                    "compliance/container", "compliance/host", "compliance/vms", "compliance/serverless",
                    "runtime/container", "runtime/host", "runtime/serverless"] {
            let names = (state["policies"]?[key]?["rules"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
            XCTAssertTrue(names.contains { $0.hasPrefix("Hardening") }, "policy \(key): \(names)", file: file, line: line)
            XCTAssertEqual(Set(names).count, names.count, "policy \(key) has a duplicate rule: \(names)", file: file, line: line)
        }
        XCTAssertTrue((state["trust"]?["groups"]?.arrayValue ?? []).contains { $0["_id"]?.stringValue == "BigBang-Trusted" },
                      file: file, line: line)
        XCTAssertEqual(state["settings"]?["logging"]?["stdout"]?["enabled"]?.boolValue, true, file: file, line: line)
    }

    // MARK: - Comparing console states

    /// The state without what differs between two consoles given the same requests (times,
    /// salted password hashes, the license, generated counters), users and groups sorted.
    static func normalized(_ state: JSON) -> JSON {
        func strip(_ v: JSON) -> JSON {
            switch v {
            case .object(let o):
                var out: [String: JSON] = [:]
                for (k, x) in o where !["modified", "lastModified", "passwordHash", "installedAt", "daemonSetsGenerated",
                                        "license", "caExpiration", "defenderOldCAExpiration"].contains(k) {
                    out[k] = strip(x)
                }
                return .object(out)
            case .array(let a): return .array(a.map(strip))
            default: return v
            }
        }
        guard case .object(var o) = strip(state) else { return state }
        for key in ["users", "groups"] {
            if case .array(let items)? = o[key] {
                o[key] = .array(items.sorted { $0.encoded() < $1.encoded() })
            }
        }
        return .object(o)
    }

    /// The differing top-level parts of two normalized states (for failure messages).
    static func differences(_ a: JSON, _ b: JSON) -> [String] {
        var out: [String] = []
        let keys = Set((a.objectValue ?? [:]).keys).union((b.objectValue ?? [:]).keys)
        for k in keys.sorted() {
            if case .object(let x)? = a[k], case .object(let y)? = b[k] {
                for sub in Set(x.keys).union(y.keys).sorted() where x[sub] != y[sub] { out.append("\(k).\(sub)") }
            } else if a[k] != b[k] {
                out.append(k)
            }
        }
        return out
    }

    static func expectOK(_ result: (Int, JSON?), _ what: String) throws {
        guard (200..<300).contains(result.0) else { throw HardeningError("\(what): HTTP \(result.0) \(result.1?.encoded() ?? "")") }
    }

    /// A custom steps directory with one step placed `after` another, and its Lua source.
    static func customStep(_ h: StepHarness, name: String, after: String, lua: String, when: String = "init.enabled") throws -> URL {
        let dir = h.workDir.appendingPathComponent("steps-\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try """
        steps:
          - name: \(name)
            file: \(name).lua
            description: A custom step of the hardening tests
            when: \(when)
            after: \(after)
        """.write(to: dir.appendingPathComponent("manifest.yaml"), atomically: true, encoding: .utf8)
        try lua.write(to: dir.appendingPathComponent("\(name).lua"), atomically: true, encoding: .utf8)
        return dir
    }
}

struct HardeningError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension StepHarness {
    /// Replaces the simulator's faults with these rules (`FaultRule` JSON).
    func setFaults(_ rules: [JSON], seed: Int = 1) async throws {
        let status = try await send("POST", "/sim/faults", ["rules": .array(rules), "seed": .int(Int64(seed))])
        precondition(status == 200, "POST /sim/faults: \(status)")
    }

    func clearFaults() async throws { _ = try await send("DELETE", "/sim/faults") }

    /// The requests a fault fired on: "METHOD endpoint: fault".
    func firedFaults() async throws -> [String] {
        try await requests().compactMap { r in
            guard let f = r["fault"]?.stringValue else { return nil }
            return "\(r["method"]?.stringValue ?? "") \(r["endpoint"]?.stringValue ?? ""): \(f)"
        }
    }

    /// The console's writes (method and endpoint) since the requests were last cleared.
    func writeEndpoints() async throws -> [String] {
        try await writes().filter { ($0["status"]?.intValue ?? 0) / 100 == 2 }
            .map { "\($0["method"]?.stringValue ?? "") \($0["endpoint"]?.stringValue ?? "")" }
    }
}

/// A job running on its own thread, which the test can interrupt and wait for with a bound
/// (a run that never ends fails the test instead of hanging it).
final class JobThread: @unchecked Sendable {
    let runner: JobRunner
    private let lock = NSLock()
    private var captured: [String] = []
    private var report: JobReport?
    private let done = DispatchSemaphore(value: 0)

    init(_ options: JobOptions) {
        let box = LineBox()
        let log = JobLog(format: options.logFormat, redactor: Redactor(), sink: { box.append($0) })
        runner = JobRunner(options: options, log: log)
        lineBox = box
        let thread = Thread { [self] in
            let r = runner.run()
            lock.withLock { report = r }
            done.signal()
        }
        thread.stackSize = 16 << 20
        thread.start()
    }

    private let lineBox: LineBox

    /// Every line printed so far.
    var lines: [String] { lineBox.lines }
    var output: String { lines.joined(separator: "\n") }

    /// The report, once the run ended within `seconds`; nil when it is still running.
    func wait(seconds: Double) async -> JobReport? {
        await withCheckedContinuation { (cont: CheckedContinuation<JobReport?, Never>) in
            DispatchQueue.global().async { [self] in
                let ended = done.wait(timeout: .now() + seconds) == .success
                if ended { done.signal() }
                cont.resume(returning: ended ? lock.withLock { report } : nil)
            }
        }
    }

    /// Waits (at most 20 s) until a printed line contains `text`.
    func waitForLine(containing text: String) async throws {
        try await waitUntil("a line with \(text)") { lines.contains { $0.contains(text) } }
    }

    final class LineBox: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: [String] = []
        func append(_ line: String) { lock.withLock { stored.append(line) } }
        var lines: [String] { lock.withLock { stored } }
    }
}
