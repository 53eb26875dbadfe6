import Foundation
import JSONModel

/// What a freshly installed 34.04 console holds before anyone configures it: default policy
/// rules (full objects per the document's schemas), settings, the shipped custom rules.
enum ConsoleDefaults {
    static func collectionAll(_ modified: String) -> JSON {
        [
            "name": "All", "owner": "system", "system": true, "prisma": false, "color": "#3FA2F7",
            "description": "System - all resources collection", "modified": .string(modified),
            "accountIDs": ["*"], "appIDs": ["*"], "clusters": ["*"], "containers": ["*"], "functions": ["*"],
            "hosts": ["*"], "images": ["*"], "labels": ["*"], "namespaces": ["*"],
        ]
    }

    static func collectionPrismaResources(_ modified: String) -> JSON {
        [
            "name": "Prisma Cloud resources", "owner": "system", "system": true, "prisma": false, "color": "#FF9F42",
            "description": "System - Prisma Cloud infrastructure resources", "modified": .string(modified),
            "accountIDs": ["*"], "appIDs": ["*"], "clusters": ["*"], "containers": ["*"], "functions": ["*"],
            "hosts": ["*"], "images": ["*twistlock/defender*", "*twistlock/console*", "*prismacloud*"],
            "labels": ["*"], "namespaces": ["*"],
        ]
    }

    // MARK: Vulnerability and compliance (shared.Policy)

    static func policyRule(name: String, collections: [JSON], modified: String, alert: Double, alertDisabled: Bool,
                           vulnerabilities: [JSON] = []) -> JSON {
        [
            "name": .string(name), "owner": "system", "modified": .string(modified), "previousName": "",
            "collections": .array(collections), "effect": "alert", "action": ["*"], "group": ["*"], "principal": ["*"],
            "disabled": false, "notes": "", "blockMsg": "", "verbose": false, "allCompliance": false, "onlyFixed": false,
            "auditAllowed": false, "createPR": false, "excludeBaseImageVulns": false, "graceDays": 0,
            "alertThreshold": ["disabled": .bool(alertDisabled), "value": .double(alert)],
            "blockThreshold": ["enabled": false, "value": 0.0],
            "graceDaysPolicy": ["enabled": false, "low": 0, "medium": 0, "high": 0, "critical": 0],
            "condition": ["device": "", "readonly": false, "vulnerabilities": .array(vulnerabilities)],
            "cveRules": [], "tags": [], "riskFactorsEffects": [], "pkgTypesThresholds": [],
            "license": [
                "alertThreshold": ["enabled": true, "value": 0.0], "blockThreshold": ["enabled": false, "value": 0.0],
                "critical": [], "high": [], "medium": [], "low": [],
            ],
        ]
    }

    /// Policy ids and types per endpoint (`common.PolicyType`).
    static let policyTypes: [String: String] = [
        "vulnerability/images": "containerVulnerability", "vulnerability/host": "hostVulnerability",
        "vulnerability/serverless": "serverlessVulnerability", "vulnerability/vms": "vmVulnerability",
        "compliance/container": "containerCompliance", "compliance/host": "hostCompliance",
        "compliance/serverless": "serverlessCompliance", "compliance/vms": "vmCompliance",
    ]

    static func vulnerabilityPolicy(_ key: String, _ modified: String) -> JSON {
        let type = policyTypes[key]!
        var rules: [JSON] = []
        if key == "vulnerability/images" {
            rules.append(policyRule(name: "Default - ignore Twistlock components",
                                    collections: [collectionPrismaResources(modified)], modified: modified,
                                    alert: 0, alertDisabled: true))
        }
        rules.append(policyRule(name: "Default - alert all components", collections: [collectionAll(modified)],
                                modified: modified, alert: 1, alertDisabled: false))
        return ["_id": .string(type), "policyType": .string(type), "rules": .array(rules)]
    }

    static func compliancePolicy(_ key: String, _ modified: String, catalog: [ComplianceCheck]) -> JSON {
        let type = policyTypes[key]!
        let endpoint = String(key.split(separator: "/")[1])
        let types = Set(ComplianceCatalog.endpointTypes[endpoint] ?? [])
        let checks = catalog.filter { types.contains($0.type) && ($0.severity == "critical" || $0.severity == "high") }
            .map { JSON.object(["id": .int(Int64($0.id)), "block": false]) }
        var rules: [JSON] = []
        if endpoint == "container" {
            rules.append(policyRule(name: "Default - ignore Twistlock components",
                                    collections: [collectionPrismaResources(modified)], modified: modified,
                                    alert: 0, alertDisabled: false))
        }
        rules.append(policyRule(name: "Default - alert on critical and high", collections: [collectionAll(modified)],
                                modified: modified, alert: 0, alertDisabled: false, vulnerabilities: checks))
        return ["_id": .string(type), "policyType": .string(type), "rules": .array(rules)]
    }

    // MARK: Runtime

    static func containerRuntimePolicy(_ modified: String) -> JSON {
        let rule: JSON = [
            "name": "Default - alert on suspicious runtime behavior", "owner": "system", "modified": .string(modified),
            "previousName": "", "notes": "", "disabled": false, "collections": [collectionAll(modified)],
            "advancedProtectionEffect": "alert", "cloudMetadataEnforcementEffect": "alert",
            "kubernetesEnforcementEffect": "alert", "wildFireAnalysis": "disable", "skipExecSessions": false,
            "customRules": [],
            "processes": [
                "defaultEffect": "alert", "disabled": false, "allowedList": [],
                "deniedList": ["effect": "alert", "paths": []], "checkParentChild": false,
                "modifiedProcessEffect": "alert", "cryptoMinersEffect": "alert", "reverseShellEffect": "alert",
                "lateralMovementEffect": "disable", "suidBinariesEffect": "disable",
            ],
            "network": [
                "defaultEffect": "alert", "disabled": false, "allowedIPs": [], "deniedIPs": [],
                "deniedIPsEffect": "alert", "listeningPorts": ["allowed": [], "denied": [], "effect": "alert"],
                "outboundPorts": ["allowed": [], "denied": [], "effect": "alert"],
                "modifiedProcEffect": "alert", "portScanEffect": "alert", "rawSocketsEffect": "disable",
            ],
            "dns": ["defaultEffect": "disable", "disabled": false, "domainList": ["allowed": [], "denied": [], "effect": "disable"]],
            "filesystem": [
                "defaultEffect": "alert", "disabled": false, "allowedList": [],
                "deniedList": ["effect": "alert", "paths": []], "newFilesEffect": "alert",
                "backdoorFilesEffect": "alert", "encryptedBinariesEffect": "disable",
                "suspiciousELFHeadersEffect": "disable",
            ],
        ]
        return ["_id": "containerRuntime", "learningDisabled": false, "rules": [rule]]
    }

    static func hostRuntimePolicy(_ modified: String) -> JSON {
        let rule: JSON = [
            "name": "Default - detect suspicious runtime behavior", "owner": "system", "modified": .string(modified),
            "previousName": "", "notes": "", "disabled": false, "collections": [collectionAll(modified)],
            "customRules": [], "fileIntegrityRules": [], "logInspectionRules": [],
            "antiMalware": [
                "allowedProcesses": [], "cryptoMiner": "alert", "customFeed": "alert",
                "deniedProcesses": ["effect": "alert", "paths": []], "detectCompilerGeneratedBinary": false,
                "encryptedBinaries": "alert", "executionFlowHijack": "alert", "intelligenceFeed": "alert",
                "reverseShell": "alert", "serviceUnknownOriginBinary": "alert", "skipSSHTracking": true,
                "suspiciousELFHeaders": "alert", "tempFSProc": "alert", "userUnknownOriginBinary": "alert",
                "webShell": "alert", "wildFireAnalysis": "disable",
            ],
            "dns": ["allow": [], "deny": [], "denyListEffect": "disable", "intelligenceFeed": "disable"],
            "forensic": [
                "activitiesDisabled": false, "dockerEnabled": false, "readonlyDockerEnabled": false,
                "serviceActivitiesEnabled": false, "sshdEnabled": false, "sudoEnabled": false,
            ],
            "network": [
                "allowedOutboundIPs": [], "customFeed": "alert", "deniedListeningPorts": [], "deniedOutboundIPs": [],
                "deniedOutboundPorts": [], "denyListEffect": "alert", "intelligenceFeed": "alert",
            ],
        ]
        return ["_id": "hostRuntime", "owner": "system", "rules": [rule]]
    }

    static func serverlessRuntimePolicy(_ modified: String) -> JSON {
        let rule: JSON = [
            "name": "Default - alert on suspicious runtime behavior", "owner": "system", "modified": .string(modified),
            "previousName": "", "notes": "", "disabled": false, "collections": [collectionAll(modified)],
            "advancedProtection": false, "cloudMetadataEnforcement": false, "kubernetesEnforcement": false,
            "skipExecSessions": false, "wildFireAnalysis": "disable", "customRules": [],
            "processes": [
                "blacklist": [], "whitelist": [], "blockAllBinaries": false, "checkCryptoMiners": false,
                "checkLateralMovement": true, "checkNewBinaries": true, "effect": "alert", "skipModified": false,
            ],
            "network": [
                "blacklistIPs": [], "whitelistIPs": [], "blacklistListeningPorts": [], "whitelistListeningPorts": [],
                "blacklistOutboundPorts": [], "whitelistOutboundPorts": [], "effect": "alert",
            ],
            "filesystem": [
                "backdoorFiles": true, "blacklist": [], "whitelist": [], "checkNewFiles": true, "effect": "alert",
                "skipEncryptedBinaries": false, "suspiciousELFHeaders": true,
            ],
            "dns": ["blacklist": [], "whitelist": [], "effect": "disable"],
        ]
        return ["_id": "serverlessRuntime", "learningDisabled": false, "rules": [rule]]
    }

    // MARK: Custom rules

    /// The custom rules a 34.x console ships. The 15 the job selects carry ids 15–29
    /// (console-api.md); a few others surround them.
    static func customRules(modifiedMillis: Int64) -> [JSON] {
        let shipped: [(Int, String, String, String)] = [
            (12, "Twistlock Labs - Detect kubectl execution in a container", "processes",
             #"proc.name = "kubectl" and not proc.interactive"#),
            (13, "Twistlock Labs - Detect a shell spawned by a web server", "processes",
             #"proc.pname in ("nginx", "httpd", "apache2", "php-fpm") and proc.name in ("sh", "bash", "dash", "zsh")"#),
            (14, "Twistlock Labs - Detect downloads into /tmp with curl or wget", "processes",
             #"proc.name in ("curl", "wget") and proc.cmdline contains "/tmp/""#),
            (15, "Detect privileged management tools starting in a container", "processes",
             #"proc.name in ("iptables", "ip6tables", "modprobe", "insmod", "rmmod", "sysctl", "mount", "umount")"#),
            (16, "Detect usage of common data exfiltration ports", "network-outgoing",
             #"net.outgoing_port in (21, 22, 23, 69, 6667, 6697, 4444, 1337)"#),
            (17, "Detect access to common crypto miner pool ports", "network-outgoing",
             #"net.outgoing_port in (3333, 4444, 5555, 7777, 8888, 9999, 14444, 45560)"#),
            (18, "Detect access to cloud platform metadata APIs (AWS/GCP/Azure)", "network-outgoing",
             #"net.outgoing_ip = "169.254.169.254" or net.outgoing_ip = "169.254.170.2""#),
            (19, "Detect attempts to tamper with bash shell configuration", "filesystem",
             #"file.path in ("/etc/bash.bashrc", "/etc/profile", "/root/.bashrc", "/root/.bash_profile")"#),
            (20, "Detect writes to linux password and shadow files", "filesystem",
             #"file.path in ("/etc/passwd", "/etc/shadow", "/etc/gshadow", "/etc/group")"#),
            (21, "Detect file writes under /etc folder (Host)", "filesystem", #"file.dir startswith "/etc/""#),
            (22, "Detect file writes under /etc folder (Container)", "filesystem", #"file.dir startswith "/etc/""#),
            (23, "Detect an execution of cron app", "processes", #"proc.name in ("cron", "crond", "crontab", "anacron")"#),
            (24, "A database server app spawned a new process other than itself", "processes",
             #"proc.pname in ("mysqld", "postgres", "mongod", "redis-server") and proc.name != proc.pname"#),
            (25, "Detect launching of suspicious networking scanning tool", "processes",
             #"proc.name in ("nmap", "masscan", "zmap", "nping", "amap")"#),
            (26, "Detect launching of suspicious networking tool", "processes",
             #"proc.name in ("nc", "ncat", "netcat", "socat", "tcpdump", "tshark")"#),
            (27, "Detect user deletion", "processes", #"proc.name in ("userdel", "deluser")"#),
            (28, "Detect user modification", "processes", #"proc.name in ("usermod", "chage", "passwd", "chsh")"#),
            (29, "Detect user creation", "processes", #"proc.name in ("useradd", "adduser", "newusers")"#),
            (30, "Twistlock Labs - Detect writes to authorized_keys", "filesystem",
             #"file.path endswith "/.ssh/authorized_keys""#),
            (31, "Twistlock Labs - Detect access to the Kubernetes service account token", "filesystem",
             #"file.path startswith "/var/run/secrets/kubernetes.io/serviceaccount""#),
        ]
        return shipped.map { id, name, type, script in
            [
                "_id": .int(Int64(id)), "name": .string(name), "type": .string(type), "script": .string(script),
                "description": .string(name), "message": .string("\(name) (%proc.name)"), "owner": "system",
                "minVersion": "", "modified": .int(modifiedMillis), "attackTechniques": [], "vulnIDs": [],
            ]
        }
    }

    // MARK: Settings

    static func settings() -> [String: JSON] {
        [
            "logging": [
                "consoleAddress": "", "enableMetricsCollection": false, "includeRuntimeLink": false,
                "stdout": ["enabled": false, "verboseScan": false, "allProcEvents": false],
                "syslog": ["enabled": false, "verboseScan": false, "allProcEvents": false, "addr": "", "cert": "", "id": ""],
            ],
            "telemetry": ["enabled": true],
            "intelligence": [
                "enabled": true, "uploadDisabled": false, "address": "https://intelligence.twistlock.com",
                "windowsFeedEnabled": false, "customEndpointEnabled": false, "customEndpoint": "",
                "customEndpointCACert": "", "customEndpointCredentialID": "",
            ],
            "scan": [
                "scanRunningImages": false, "extractArchive": false, "includeJsDependencies": false,
                "showInfraContainers": true, "showNegligibleVulnerabilities": false, "registryScanRetentionDays": 90,
                "imagesScanPeriodMs": 86_400_000, "containersScanPeriodMs": 86_400_000, "systemScanPeriodMs": 86_400_000,
                "registryScanPeriodMs": 86_400_000, "serverlessScanPeriodMs": 86_400_000, "vmScanPeriodMs": 86_400_000,
                "cloudPlatformsScanPeriodMs": 86_400_000, "tasDropletsScanPeriodMs": 86_400_000,
                "agentlessScanPeriodMs": 86_400_000,
            ],
            "logon": [
                "basicAuthDisabled": false, "includeTLS": false, "sessionTimeoutSec": 1800,
                "strongPassword": false, "useSupportCredentials": false,
            ],
            "saml": ["enabled": false, "type": "okta", "skipAuthnContext": false],
            "certs": ["consoleSAN": ["127.0.0.1", "localhost", "twistlock-console"]],
        ]
    }

    static func firewallNetwork(_ modified: String) -> JSON {
        [
            "_id": "cnnf", "owner": "system", "modified": .string(modified), "containerEnabled": false,
            "hostEnabled": false, "containerRules": [], "hostRules": [], "networkEntities": [],
        ]
    }

    static func trustData() -> JSON {
        ["policy": ["_id": "trust", "enabled": false, "rules": []], "groups": []]
    }
}
