import JSONModel

/// The kind of a known values key.
indirect enum SchemaType: Sendable {
    case bool
    /// A string of at most `maxBytes` UTF-8 bytes; `format`: of that shape when not empty
    /// (URLs, host names, user and group names: `TextFormat`).
    case string(maxBytes: Int, format: TextFormat? = nil)
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
    /// Any value, unchecked (keys of the Big Bang console chart the job does not read).
    case any
    /// Any of these kinds (`defender.nodeSelector`: a string or a map).
    case union([SchemaType])
    /// Kubernetes labels: a map of label keys to label values (`LabelRules`).
    case labels

    static let string = SchemaType.string(maxBytes: ValuesSchema.maxStringBytes)
    static let longString = SchemaType.string(maxBytes: ValuesSchema.maxLongStringBytes)
    static let timeoutSeconds = SchemaType.int(min: 1, max: 86_400)
    static let stringList = SchemaType.list(.string)
    static let url = SchemaType.string(maxBytes: ValuesSchema.maxStringBytes, format: .httpURL)
    static let hostName = SchemaType.string(maxBytes: ValuesSchema.maxStringBytes, format: .hostName(ipv4: false))
    static let hostOrAddress = SchemaType.string(maxBytes: ValuesSchema.maxStringBytes, format: .hostName(ipv4: true))
    static let userName = SchemaType.string(maxBytes: ValuesSchema.maxStringBytes, format: .name(innerSpaces: false))
    static let groupName = SchemaType.string(maxBytes: ValuesSchema.maxStringBytes, format: .name(innerSpaces: true))

    /// "a bool (true or false)", "a string", … for messages.
    var expectation: String {
        switch self {
        case .bool: return "a bool (true or false)"
        case .string(_, let format?): return format.expectation
        case .string: return "a string"
        case .int(let min, let max): return "an integer (\(min)…\(max))"
        case .oneOf(let values, _): return "one of \(values.joined(separator: ", "))"
        case .list(let item): return "a list (of \(item.plural))"
        case .record: return "a map"
        case .map(let value): return value.map { "a map (of \($0.plural))" } ?? "a map"
        case .any: return "any value"
        case .union(let types): return types.map(\.expectation).joined(separator: " or ")
        case .labels: return "a map of Kubernetes labels (label key: string)"
        }
    }

    var plural: String {
        switch self {
        case .bool: return "bools"
        case .string, .oneOf: return "strings"
        case .int: return "integers"
        case .list: return "lists"
        case .record, .map, .labels: return "maps"
        case .any, .union: return "values"
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
        case .any: return "any"
        case .union(let types): return types.map(\.docName).joined(separator: " or ")
        case .labels: return "map of labels"
        }
    }
}

/// Who reads a key of the values file.
enum SchemaReader: Equatable, Sendable {
    /// The job (the binary): type-checked, defaulted, documented in docs/values.md.
    case job
    /// Only the chart (templates): checked by values.schema.json; known to the job, not read.
    case chart
    /// The Big Bang console chart that shares the values file: known, not read, not checked.
    case package
}

struct SchemaField: Sendable {
    let name: String
    let type: SchemaType
    /// The built-in default; `nil` for a record (its default is built from its fields) or a
    /// list item field without one.
    let defaultValue: JSON?
    /// Masked and fillable from the secrets directory.
    let secret: Bool
    let reader: SchemaReader
    /// A list item field that must be given (values.schema.json's `required`).
    let required: Bool
    /// More JSON Schema keywords for this key in values.schema.json (patterns, minimums the
    /// chart checks); `items` merges into the schema of a list's items.
    let jsonSchema: [String: JSON]

    init(_ name: String, _ type: SchemaType, _ defaultValue: JSON? = nil, secret: Bool = false,
         reader: SchemaReader = .job, required: Bool = false, jsonSchema: [String: JSON] = [:]) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.secret = secret
        self.reader = reader
        self.required = required
        self.jsonSchema = jsonSchema
    }

    /// A key only the chart reads.
    static func chart(_ name: String, _ type: SchemaType, required: Bool = false,
                      jsonSchema: [String: JSON] = [:]) -> SchemaField {
        SchemaField(name, type, reader: .chart, required: required, jsonSchema: jsonSchema)
    }

    /// A key of the Big Bang console chart (known, not read by the job).
    static func package(_ name: String, _ type: SchemaType = .any) -> SchemaField {
        SchemaField(name, type, reader: .package)
    }

    /// The name `*`: the kind of every key of a record not named by another field.
    static let otherKeys = "*"

    /// The default of this field: its own, or for a record the map of its fields' defaults.
    var effectiveDefault: JSON? {
        if let defaultValue { return defaultValue }
        if case .record(let fields) = type {
            var object: [String: JSON] = [:]
            for field in fields where field.reader == .job && field.name != SchemaField.otherKeys {
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

    /// The console's built-in roles (values.md; whether a console also has cloudAccountManager is
    /// a console variant, so it counts as a custom role). The one list: steps get it from the
    /// host (`job.builtin_roles`).
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
        SchemaField("username", .userName, required: true),
        SchemaField("password", .string, secret: true),
        SchemaField("role", .oneOf(roles, closed: false), required: true),
        SchemaField("authType", .oneOf(userAuthTypes, closed: true)),
    ]

    static let groupFields: [SchemaField] = [
        SchemaField("group", .groupName, required: true),
        SchemaField("role", .oneOf(roles, closed: false), required: true),
        SchemaField("authType", .oneOf(groupAuthTypes, closed: true)),
    ]

    // JSON Schema patterns the chart checks (Kubernetes names).
    static let dnsLabelPattern = "^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)?$"
    static let objectNameSchema: [String: JSON] = [
        "pattern": "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", "maxLength": 253]
    /// An object name, or empty (none).
    static let objectNameOrEmptySchema: [String: JSON] = [
        "pattern": "^([a-z0-9]([-a-z0-9.]*[a-z0-9])?)?$", "maxLength": 253]
    /// A key of a Secret's data (Kubernetes: letters, digits, `-`, `_`, `.`; at most 253).
    /// (not `.`, `..` nor starting with `..`).
    static let secretKeyNameSchema: [String: JSON] = ["pattern": "^\\.?[-_a-zA-Z0-9][-._a-zA-Z0-9]*$", "maxLength": 253]
    /// A Prometheus duration as the ServiceMonitor's CRD takes it (units in order: `1h30m`,
    /// `30s`, `500ms`); empty: Prometheus' own default.
    static let durationSchema: [String: JSON] = [
        "pattern": "^((([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"]
    /// Empty, a DNS name or an IP address (no scheme, port or path): ValuesValidator.consoleAddressProblem for the job.
    static let hostPattern = "^([A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*"
        + "|[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*)?$"
    static let port = SchemaType.int(min: 1, max: 65535)
    static let unbounded = Int64.max
    static let stringMap = SchemaType.map(.string)
    static let freeList = SchemaType.list(.map(nil))

    /// Every key of the values file: the job's (type, default), the chart's own and the Big Bang
    /// console chart's (known, not read: bigbang-values-keys.txt). A key of none of them is
    /// reported (`UnknownKeys`); values.schema.json, docs/values.md's tables and
    /// steps/types/values.lua come from this list (`SchemaExport`, checked by SchemaSyncTests).
    static let fields: [SchemaField] = [
        .chart("nameOverride", .string),
        .chart("fullnameOverride", .string),
        .chart("global", .map(nil)),
        SchemaField("domain", .hostName, ""),
        SchemaField("openshift", .bool, false),
        SchemaField("imagePullSecretName", .string, ""),
        .chart("imagePullSecrets", .list(.record([.chart("name", .string, required: true)]))),
        SchemaField("istio", .record([
            SchemaField("enabled", .bool, false),
            .chart("istiodNamespace", .string, jsonSchema: ["minLength": 1]),
            .package("mtls", .record([.package("mode")])),
            .package("sidecar", .record([.package("enabled"), .package("outboundTrafficPolicyMode")])),
            .package("authorizationPolicies", .record([
                .package("enabled"), .package("generateFromNetpol"), .package("custom"),
                .package("additionalPolicies", .map(nil)),
            ])),
            .package("serviceEntries", .record([.package("custom")])),
            .package("tempo", .record([.package("enabled"), .package("namespaces"), .package("principals")])),
            // Written by the Big Bang umbrella chart ("enabled" or "disabled").
            .package("injection"),
            // Earlier versions of the Big Bang package.
            .package("hardened", .map(nil)),
            .package("console", .map(nil)),
        ])),
        // The console chart's Istio routes; the job reads the console's first host (dns-san).
        SchemaField("routes", .record([
            SchemaField("inbound", .record([
                SchemaField("console", .record([
                    .package("enabled"), .package("gateways"),
                    SchemaField("hosts", .stringList, []),
                    .package("service"), .package("port"), .package("selector", .map(nil)),
                ])),
                SchemaField(SchemaField.otherKeys, .any, reader: .package),
            ])),
            .package("outbound", .map(nil)),
        ])),
        .package("networkPolicies", .record([
            .chart("enabled", .bool),
            .chart("controlPlaneCidr", .string, jsonSchema: ["pattern": "^[0-9a-fA-F:.]+/[0-9]{1,3}$"]),
            .chart("controlPlanePorts", .list(port), jsonSchema: ["minItems": 1]),
            .chart("consolePodLabels", .labels, jsonSchema: ["minProperties": 1]),
            .chart("additionalEgress", freeList),
            .package("nodeCidr"),
            .package("ingress", .map(nil)),
            .package("egress", .map(nil)),
            .package("additionalPolicies"),
            .package("ingressLabels", .map(nil)),   // earlier versions of the package
        ])),
        .package("selinuxLabel"),
        .package("systemd", .record([.package("enabled")])),
        SchemaField("console", .record([
            SchemaField("credentials", .record([
                SchemaField("username", .userName, "", secret: true),
                SchemaField("password", .string, "", secret: true),
                .chart("existingSecret", .string),
                .chart("usernameKey", .string, jsonSchema: ["minLength": 1]),
                .chart("passwordKey", .string, jsonSchema: ["minLength": 1]),
            ])),
            SchemaField("license", .string, "", secret: true),
            SchemaField("externalHost", .hostOrAddress, ""),
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
            .chart("ports", .record([
                .chart("managementHttp", port),
                .chart("managementHttps", port),
                .chart("communication", port),
            ])),
            .chart("service", .record([
                .chart("name", .string, jsonSchema: objectNameSchema),
                .chart("namespace", .string, jsonSchema: ["pattern": .string(dnsLabelPattern)]),
                .chart("scheme", .oneOf(["http", "https"], closed: true)),
                .chart("ca", .longString),
                .chart("url", .url),
            ])),
            .package("dataRecovery"),
            .package("image", .record([.package("repository"), .package("tag"), .package("imagePullPolicy")])),
            .package("securityContext", .map(nil)),
            .package("persistence", .record([.package("size"), .package("accessMode")])),
            .package("syslogAuditIntegration", .record([.package("enabled")])),
            .package("disableCgroupLimits"),
            .package("runAsRoot"),
            .package("volumeUpgrade"),
        ])),
        SchemaField("sso", .record([
            SchemaField("enabled", .bool, false),
            SchemaField("client_id", .string, ""),
            SchemaField("provider_name", .string, ""),
            SchemaField("provider_type", .oneOf(ssoProviderTypes, closed: true), "shibboleth"),
            SchemaField("issuer_uri", .string, ""),
            SchemaField("idp_url", .url, ""),
            SchemaField("console_url", .url, ""),
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
            // The console's form ("key=value", sent to the console) or Kubernetes' (a map, the Big
            // Bang package's form, set on the DaemonSet's pods).
            SchemaField("nodeSelector", .union([.string, stringMap]), ""),
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
            SchemaField("namespace", .string, "twistlock", jsonSchema: ["pattern": .string(dnsLabelPattern)]),
            // Empty: the console's Service in `namespace`, by its cluster-wide name
            // (`twistlock-console.<namespace>.svc.cluster.local`); the chart gives the release's.
            SchemaField("consoleAddress", .string, "", jsonSchema: ["pattern": .string(hostPattern)]),
            SchemaField("podLabels", .labels, .object([:])),
            SchemaField("rolloutTimeoutSeconds", .timeoutSeconds, 600),
            .package("collect_pod_labels"),
            .package("collect_pod_resource_labels"),
            .package("certCn"),
            .package("dockerListenerType"),
        ])),
        SchemaField("monitoring", .record([
            SchemaField("enabled", .bool, false),
            // Empty: MetricsUser.defaultName (the old job's name for Big Bang values).
            SchemaField("username", .userName, "", secret: true),
            SchemaField("password", .string, "", secret: true),
            .chart("existingSecret", .string, jsonSchema: objectNameOrEmptySchema),
            .chart("usernameKey", .string, jsonSchema: secretKeyNameSchema),
            .chart("passwordKey", .string, jsonSchema: secretKeyNameSchema),
            // The ServiceMonitor the old chart created (chart/templates/servicemonitor.yaml).
            .chart("serviceMonitor", .record([
                .chart("enabled", .bool),
                .chart("interval", .string, jsonSchema: durationSchema),
                .chart("scrapeTimeout", .string, jsonSchema: durationSchema),
                .chart("scheme", .oneOf(["", "http", "https"], closed: true)),
                .chart("tlsConfig", .map(nil)),
                .chart("port", .string, jsonSchema: ["minLength": 1, "maxLength": 63]),
                .chart("labels", .labels),
                .chart("selector", .labels),
            ])),
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
                SchemaField("repository", .string, "twistlock-init", jsonSchema: ["minLength": 1]),
                SchemaField("tag", .string, ""),
                SchemaField("imagePullPolicy", .oneOf(pullPolicies, closed: true), "IfNotPresent"),
            ])),
            SchemaField("resources", .map(nil), .object([:])),
            SchemaField("waitTimeoutSeconds", .timeoutSeconds, 600),
            .chart("activeDeadlineSeconds", .int(min: 1, max: unbounded)),
            .chart("backoffLimit", .int(min: 0, max: 20)),
            .chart("ttlSecondsAfterFinished", .int(min: 0, max: unbounded)),
            .chart("logFormat", .oneOf(["text", "json"], closed: true)),
            .chart("strict", .bool),
            .chart("extraSteps", .list(.record([
                .chart("name", .string, required: true, jsonSchema: ["pattern": "^[a-z0-9][-a-z0-9]{0,62}$"]),
                .chart("script", .longString, required: true),
                .chart("description", .string),
                .chart("when", .union([.string, .map(nil)])),
                .chart("before", .string, jsonSchema: ["minLength": 1]),
                .chart("after", .string, jsonSchema: ["minLength": 1]),
            ])), jsonSchema: ["items": ["not": ["required": ["before", "after"]]]]),
            .chart("existingSecrets", .list(.record([
                .chart("name", .string, required: true, jsonSchema: objectNameSchema),
                .chart("items", .list(.record([
                    .chart("key", .string, required: true, jsonSchema: ["pattern": "^[-._a-zA-Z0-9]+$"]),
                    .chart("path", .string, required: true, jsonSchema: ["pattern": .string(secretFilePattern)]),
                ])), required: true, jsonSchema: ["minItems": 1]),
            ]))),
            .chart("podAnnotations", stringMap),
            .chart("podLabels", .labels),
            .chart("nodeSelector", stringMap),
            .chart("tolerations", freeList),
            .chart("affinity", .map(nil)),
            .chart("runAsUser", .int(min: 1, max: unbounded)),
            .chart("rbac", .record([
                .chart("defenderObjects", .record(["daemonSet", "secret", "serviceAccount", "service", "clusterRole",
                                                   "clusterRoleBinding"].map { .chart($0, .string, jsonSchema: objectNameSchema) })),
                .chart("clusterRules", freeList),
            ])),
        ])),
        .chart("nodeSelector", stringMap),
        .chart("tolerations", freeList),
        .chart("affinity", .map(nil)),
        // The drift CronJob and the backup Secrets (docs/chart.md).
        .chart("drift", .record([
            .chart("enabled", .bool),
            .chart("schedule", .string, jsonSchema: [
                "pattern": "^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|(\\S+\\s+){4}\\S+)$"]),
            .chart("mode", .oneOf(["plan", "run"], closed: true)),
            .chart("successfulJobsHistoryLimit", .int(min: 0, max: 10)),
            .chart("failedJobsHistoryLimit", .int(min: 0, max: 10)),
            .chart("startingDeadlineSeconds", .int(min: 10, max: unbounded)),
        ])),
        .chart("backup", .record([
            .chart("enabled", .bool),
            .chart("keep", .int(min: 1, max: 10)),
        ])),
        // The Big Bang package's labels for its pods: the Defender pods get them too (its network
        // policies select the Defenders by label).
        SchemaField("podLabels", .labels, .object([:])),
        .package("annotations", .map(nil)),
        .package("resources", .map(nil)),
        .package("bbtests", .record([.package("enabled"), .package("scripts", .map(nil)), .package("cypress", .map(nil))])),
        .package("waitJob", .record([.package("enabled"), .package("permissions", .map(nil))])),
    ]

    /// The secret files an existing Secret may provide (`init.existingSecrets[].items[].path`).
    static let secretFilePattern = "^(console\\.credentials\\.(username|password)|console\\.license|defender\\.proxy\\.password|console\\.additionalUsers\\.[-_.a-zA-Z0-9]+\\.password)$"

    static let root = SchemaType.record(fields)

    /// The built-in defaults as one map.
    static let defaults: JSON = SchemaField("", root).effectiveDefault ?? .object([:])

    /// The shortest secret value accepted (the redactor masks secrets of this length and more).
    public static let minimumSecretLength = 4

    /// Values keys that can come from a file of the same name in the secrets directory
    /// (besides `console.additionalUsers.<username>.password`).
    static let secretKeys = [
        "console.credentials.username",
        "console.credentials.password",
        "console.license",
        "defender.proxy.password",
        "monitoring.username",
        "monitoring.password",
    ]

    /// Every key path the job reads with its field (records expanded; list items as `key[]`),
    /// in schema order.
    static var allKeys: [(path: String, field: SchemaField)] {
        allKnownKeys.filter { $0.field.reader == .job }
    }

    /// Every known key path (the job's, the chart's, the Big Bang package's).
    static var allKnownKeys: [(path: String, field: SchemaField)] {
        var out: [(String, SchemaField)] = []
        func walk(_ fields: [SchemaField], _ base: String) {
            for field in fields where field.name != SchemaField.otherKeys {
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
