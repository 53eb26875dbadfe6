import JSONModel

/// The kind of a known values key.
indirect enum SchemaType {
    case bool
    /// A string of at most `maxBytes` UTF-8 bytes.
    case string(maxBytes: Int)
    /// An integer in `min...max`.
    case int(min: Int64, max: Int64)
    /// A string from a fixed list. `closed == false`: another value is only a warning
    /// (roles: consoles can have custom roles).
    case oneOf([String], closed: Bool)
    case list(SchemaType)
    /// A map with known keys; other keys are ignored (a near-miss of a known key warns).
    case record([SchemaField])
    /// A map with free keys whose values have the given kind (`nil`: anything).
    case map(SchemaType?)

    static let string = SchemaType.string(maxBytes: ValuesSchema.maxStringBytes)
    static let longString = SchemaType.string(maxBytes: ValuesSchema.maxLongStringBytes)
    static let timeoutSeconds = SchemaType.int(min: 1, max: 86_400)
    static let stringList = SchemaType.list(.string)

    /// "a bool (true or false)", "a string", … for messages.
    var expectation: String {
        switch self {
        case .bool: return "a bool (true or false)"
        case .string: return "a string"
        case .int(let min, let max): return "an integer (\(min)…\(max))"
        case .oneOf(let values, _): return "one of \(values.joined(separator: ", "))"
        case .list(let item): return "a list (of \(item.plural))"
        case .record: return "a map"
        case .map(let value): return value.map { "a map (of \($0.plural))" } ?? "a map"
        }
    }

    var plural: String {
        switch self {
        case .bool: return "bools"
        case .string, .oneOf: return "strings"
        case .int: return "integers"
        case .list: return "lists"
        case .record, .map: return "maps"
        }
    }

    /// Short name used in docs: bool, string, int, list, map.
    var docName: String {
        switch self {
        case .bool: return "bool"
        case .string, .oneOf: return "string"
        case .int: return "int"
        case .list(let item): return "list of \(item.docName)"
        case .record, .map: return "map"
        }
    }
}

struct SchemaField {
    let name: String
    let type: SchemaType
    /// The built-in default; `nil` for a record (its default is built from its fields) or a
    /// list item field without one.
    let defaultValue: JSON?
    /// Masked and fillable from the secrets directory.
    let secret: Bool

    init(_ name: String, _ type: SchemaType, _ defaultValue: JSON? = nil, secret: Bool = false) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.secret = secret
    }

    /// The default of this field: its own, or for a record the map of its fields' defaults.
    var effectiveDefault: JSON? {
        if let defaultValue { return defaultValue }
        if case .record(let fields) = type {
            var object: [String: JSON] = [:]
            for field in fields {
                if let value = field.effectiveDefault { object[field.name] = value }
            }
            return .object(object)
        }
        return nil
    }
}

/// Every key the job reads: kind and default. `docs/values.md` documents each one.
enum ValuesSchema {
    static let maxStringBytes = 64 * 1024
    static let maxLongStringBytes = 1024 * 1024

    static let roles = ["admin", "operator", "auditor", "devSecOps", "vulnerabilityManager", "devOps",
                        "defenderManager", "user", "ci"]
    static let userAuthTypes = ["basic", "ldap", "oauth", "oidc", "saml"]
    static let groupAuthTypes = ["ldapGroup", "samlGroup", "oauthGroup", "oidcGroup"]
    static let ssoProviderTypes = ["okta", "gsuite", "ping", "shibboleth", "azure", "adfs"]
    static let thresholds = ["low", "medium", "high", "critical"]
    static let complianceTemplates = ["GDPR", "DISA STIG", "PCI", "NIST SP 800-190", "HIPAA"]
    static let trustEffects = ["alert", "block"]
    static let containerRuntimes = ["docker", "containerd", "crio"]
    static let pullPolicies = ["Always", "IfNotPresent", "Never"]

    /// Defaults filled into list items when the key is missing or empty.
    static let userAuthTypeDefault = "basic"
    static let groupAuthTypeDefault = "oidcGroup"

    static let userFields: [SchemaField] = [
        SchemaField("username", .string),
        SchemaField("password", .string, secret: true),
        SchemaField("role", .oneOf(roles, closed: false)),
        SchemaField("authType", .oneOf(userAuthTypes, closed: true)),
    ]

    static let groupFields: [SchemaField] = [
        SchemaField("group", .string),
        SchemaField("role", .oneOf(roles, closed: false)),
        SchemaField("authType", .oneOf(groupAuthTypes, closed: true)),
    ]

    static let fields: [SchemaField] = [
        SchemaField("domain", .string, ""),
        SchemaField("openshift", .bool, false),
        SchemaField("imagePullSecretName", .string, ""),
        SchemaField("istio", .record([
            SchemaField("enabled", .bool, false),
        ])),
        SchemaField("console", .record([
            SchemaField("credentials", .record([
                SchemaField("username", .string, "", secret: true),
                SchemaField("password", .string, "", secret: true),
            ])),
            SchemaField("license", .string, "", secret: true),
            SchemaField("externalHost", .string, ""),
            SchemaField("additionalUsers", .list(.record(userFields)), []),
            SchemaField("updateUsers", .bool, false),
            SchemaField("groups", .list(.record(groupFields)), []),
            SchemaField("options", .record([
                SchemaField("enabled", .bool, true),
                SchemaField("network", .record([
                    SchemaField("container", .bool, true),
                    SchemaField("host", .bool, true),
                ])),
                SchemaField("logging", .bool, true),
                SchemaField("telemetry", .bool, false),
                SchemaField("intelligence", .record([
                    SchemaField("uploadDisabled", .bool, true),
                ])),
                SchemaField("scan", .record([
                    SchemaField("scanRunningImages", .bool, false),
                ])),
                SchemaField("logon", .record([
                    SchemaField("useSupportCredentials", .bool, false),
                    SchemaField("requireStrongPassword", .bool, true),
                    SchemaField("basicAuthDisabled", .bool, false),
                ])),
            ])),
            SchemaField("trustedImages", .record([
                SchemaField("enabled", .bool, true),
                SchemaField("registryMatches", .stringList, ["registry1.dso.mil/ironbank/*"]),
                SchemaField("name", .string, "BigBang-Trusted"),
                SchemaField("defaultEffect", .oneOf(trustEffects, closed: true), "alert"),
            ])),
        ])),
        SchemaField("sso", .record([
            SchemaField("enabled", .bool, false),
            SchemaField("client_id", .string, ""),
            SchemaField("provider_name", .string, ""),
            SchemaField("provider_type", .oneOf(ssoProviderTypes, closed: true), "shibboleth"),
            SchemaField("issuer_uri", .string, ""),
            SchemaField("idp_url", .string, ""),
            SchemaField("console_url", .string, ""),
            SchemaField("groups", .string, ""),
            SchemaField("cert", .longString, ""),
        ])),
        SchemaField("defender", .record([
            SchemaField("enabled", .bool, true),
            SchemaField("image", .record([
                SchemaField("repository", .string, "registry1.dso.mil/ironbank/twistlock/defender/defender"),
                SchemaField("tag", .string, ""),
            ])),
            SchemaField("clusterName", .string, ""),
            SchemaField("collectLabels", .bool, true),
            SchemaField("containerRuntime", .oneOf(containerRuntimes, closed: true), "containerd"),
            SchemaField("dockerSocket", .string, ""),
            SchemaField("tolerations", .list(.map(nil)), []),
            SchemaField("securityCapabilitiesDrop", .stringList, ["ALL"]),
            SchemaField("securityCapabilitiesAdd", .stringList,
                        ["NET_ADMIN", "NET_RAW", "SYS_ADMIN", "SYS_PTRACE", "SYS_CHROOT", "MKNOD", "SETFCAP", "IPC_LOCK"]),
            SchemaField("monitorServiceAccounts", .bool, true),
            SchemaField("nodeSelector", .string, ""),
            SchemaField("privileged", .bool, false),
            SchemaField("selinux", .bool, true),
            SchemaField("proxy", .record([
                SchemaField("address", .string, ""),
                SchemaField("ca", .longString, ""),
                SchemaField("username", .string, ""),
                SchemaField("password", .string, "", secret: true),
            ])),
            SchemaField("uniqueHostName", .bool, false),
            SchemaField("resources", .map(nil), .object([:])),
            SchemaField("priorityClassName", .string, ""),
            SchemaField("waitForRollout", .bool, true),
            SchemaField("namespace", .string, "twistlock"),
            SchemaField("consoleAddress", .string, "twistlock-console"),
            SchemaField("podLabels", .map(.string), .object([:])),
            SchemaField("rolloutTimeoutSeconds", .timeoutSeconds, 600),
        ])),
        SchemaField("monitoring", .record([
            SchemaField("enabled", .bool, false),
            SchemaField("username", .string, "twistlock-metrics"),
            SchemaField("password", .string, "", secret: true),
        ])),
        SchemaField("policies", .record([
            SchemaField("enabled", .bool, true),
            SchemaField("name", .string, "Default"),
            SchemaField("vulnerabilities", .record([
                SchemaField("enabled", .bool, true),
                SchemaField("alertThreshold", .oneOf(thresholds, closed: true), "medium"),
            ])),
            SchemaField("compliance", .record([
                SchemaField("enabled", .bool, true),
                SchemaField("templates", .list(.oneOf(complianceTemplates, closed: true)), ["DISA STIG", "NIST SP 800-190"]),
                SchemaField("alertThreshold", .oneOf(thresholds, closed: true), "medium"),
            ])),
            SchemaField("runtime", .record([
                SchemaField("enabled", .bool, true),
            ])),
        ])),
        SchemaField("init", .record([
            SchemaField("enabled", .bool, true),
            SchemaField("image", .record([
                SchemaField("repository", .string, "twistlock-init"),
                SchemaField("tag", .string, ""),
                SchemaField("imagePullPolicy", .oneOf(pullPolicies, closed: true), "IfNotPresent"),
            ])),
            SchemaField("resources", .map(nil), .object([:])),
            SchemaField("waitTimeoutSeconds", .timeoutSeconds, 600),
        ])),
    ]

    static let root = SchemaType.record(fields)

    /// The built-in defaults as one map.
    static let defaults: JSON = SchemaField("", root).effectiveDefault ?? .object([:])

    /// Values keys that can come from a file of the same name in the secrets directory
    /// (besides `console.additionalUsers.<username>.password`).
    static let secretKeys = [
        "console.credentials.username",
        "console.credentials.password",
        "console.license",
        "defender.proxy.password",
        "monitoring.password",
    ]

    /// Every known key path with its field (records expanded; list items as `key[]`), in
    /// schema order.
    static var allKeys: [(path: String, field: SchemaField)] {
        var out: [(String, SchemaField)] = []
        func walk(_ fields: [SchemaField], _ base: String) {
            for field in fields {
                let path = ValuePath.join(base, field.name)
                out.append((path, field))
                switch field.type {
                case .record(let children): walk(children, path)
                case .list(.record(let children)): walk(children, path + "[]")
                default: break
                }
            }
        }
        walk(fields, "")
        return out
    }
}
