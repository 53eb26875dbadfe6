import Foundation
import JSONModel

/// Everything the simulated console remembers. `json` is what `GET /sim/state` returns and
/// what `--state FILE` / `PUT /sim/state` load back; passwords are kept only as salted
/// hashes (`passwordHash`), never in clear.
public struct ConsoleState: Sendable, Equatable {
    /// True once `POST signup` created the first admin.
    public var initialized = false
    /// `api.User` objects (no `password`), each with a `passwordHash` for basic users.
    public var users: [JSON] = []
    /// `types.Group` objects.
    public var groups: [JSON] = []
    /// The installed `shared.License`, if any.
    public var license: JSON?
    /// Settings by name: logging, telemetry, intelligence, scan, logon, saml, certs.
    public var settings: [String: JSON] = [:]
    /// Policies by endpoint path below `policies/`: `vulnerability/images`, `compliance/vms`,
    /// `runtime/container`, `firewall/network`, ...
    public var policies: [String: JSON] = [:]
    /// `customrules.Rule` objects.
    public var customRules: [JSON] = []
    /// `trust.Data`.
    public var trust: JSON = .null
    /// When the console was installed (the CA's expiry derives from it).
    public var installedAt: String = ""
    /// How many defender DaemonSet manifests were generated.
    public var daemonSetsGenerated = 0

    public init() {}

    static let policyKeys = [
        "vulnerability/images", "vulnerability/host", "vulnerability/serverless", "vulnerability/vms",
        "compliance/container", "compliance/host", "compliance/serverless", "compliance/vms",
        "runtime/container", "runtime/host", "runtime/serverless", "firewall/network",
    ]

    /// A console as installed: not initialized, every default in place.
    static func fresh(now: Date, catalog: [ComplianceCheck]) -> ConsoleState {
        var s = ConsoleState()
        let modified = RFC3339.format(now)
        s.installedAt = modified
        s.settings = ConsoleDefaults.settings()
        for key in policyKeys {
            if key.hasPrefix("vulnerability/") {
                s.policies[key] = ConsoleDefaults.vulnerabilityPolicy(key, modified)
            } else if key.hasPrefix("compliance/") {
                s.policies[key] = ConsoleDefaults.compliancePolicy(key, modified, catalog: catalog)
            }
        }
        s.policies["runtime/container"] = ConsoleDefaults.containerRuntimePolicy(modified)
        s.policies["runtime/host"] = ConsoleDefaults.hostRuntimePolicy(modified)
        s.policies["runtime/serverless"] = ConsoleDefaults.serverlessRuntimePolicy(modified)
        s.policies["firewall/network"] = ConsoleDefaults.firewallNetwork(modified)
        s.customRules = ConsoleDefaults.customRules(modifiedMillis: Int64(now.timeIntervalSince1970 * 1000))
        s.trust = ConsoleDefaults.trustData()
        return try! ConsoleState(json: GoJSON.normalize(s.json), base: ConsoleState())
    }

    public var json: JSON {
        [
            "initialized": .bool(initialized),
            "users": .array(users),
            "groups": .array(groups),
            "license": license ?? .null,
            "settings": .object(settings),
            "policies": .object(policies),
            "customRules": .array(customRules),
            "trust": trust,
            "installedAt": .string(installedAt),
            "daemonSetsGenerated": .int(Int64(daemonSetsGenerated)),
        ]
    }

    /// Reads a saved state. Missing parts are taken from `base` (a fresh console), so a file
    /// may hold only what it wants to set (`{"initialized": true, "users": [...]}`).
    init(json: JSON, base: ConsoleState) throws {
        guard case .object(let o) = GoJSON.normalize(json) else {
            throw SimulatorError.invalidState("the state must be a JSON object")
        }
        self = base
        if let v = o["initialized"] {
            guard let b = v.boolValue else { throw SimulatorError.invalidState("initialized must be a boolean") }
            initialized = b
        }
        if let v = o["users"] {
            guard let a = v.arrayValue, a.allSatisfy({ $0["username"]?.stringValue != nil }) else {
                throw SimulatorError.invalidState("users must be an array of objects with a username")
            }
            for u in a where u["password"] != nil {
                throw SimulatorError.invalidState("user \(u["username"]?.stringValue ?? "?") holds a clear password; store passwordHash (see ConsoleSimulator.passwordHash)")
            }
            users = a
        }
        if let v = o["groups"] {
            guard let a = v.arrayValue else { throw SimulatorError.invalidState("groups must be an array") }
            groups = a
        }
        if let v = o["license"] { license = v.isNull ? nil : v }
        if let v = o["settings"] {
            guard let m = v.objectValue else { throw SimulatorError.invalidState("settings must be an object") }
            for (k, x) in m { settings[k] = x }
        }
        if let v = o["policies"] {
            guard let m = v.objectValue else { throw SimulatorError.invalidState("policies must be an object") }
            for (k, x) in m {
                guard Self.policyKeys.contains(k) else { throw SimulatorError.invalidState("unknown policy \(k)") }
                policies[k] = x
            }
        }
        if let v = o["customRules"] {
            guard let a = v.arrayValue else { throw SimulatorError.invalidState("customRules must be an array") }
            customRules = a
        }
        if let v = o["trust"] { trust = v }
        if let v = o["installedAt"]?.stringValue { installedAt = v }
        if let v = o["daemonSetsGenerated"]?.intValue { daemonSetsGenerated = v }
        if initialized && !users.contains(where: { $0["role"]?.stringValue == "admin" }) {
            throw SimulatorError.invalidState("an initialized console needs an admin user")
        }
    }

    func userIndex(_ username: String) -> Int? {
        users.firstIndex { $0["username"]?.stringValue == username }
    }

    func groupIndex(id: String) -> Int? {
        groups.firstIndex { $0["_id"]?.stringValue == id }
    }
}
