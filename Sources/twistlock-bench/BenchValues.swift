import Foundation
import Synchronization

/// The values and secrets of the benchmark's job: every step enabled, as a Big Bang
/// deployment with SSO, monitoring, users and groups would set them.
enum BenchValues {
    static let adminUser = "admin"

    /// Users in `console.additionalUsers` (name, role, authType); basic ones get a password file.
    static let users: [(String, String, String)] = [
        ("alice", "devSecOps", "basic"), ("bob", "auditor", "ldap"), ("carol", "vulnerabilityManager", "basic"),
        ("dave", "operator", "oidc"), ("erin", "defenderManager", "basic"), ("frank", "ci", "basic"),
    ]

    static let groups: [(String, String, String)] = [
        ("platform-admins", "admin", "oidcGroup"), ("security-auditors", "auditor", "oidcGroup"),
        ("app-developers", "devSecOps", "samlGroup"),
    ]

    /// A self-signed certificate standing for the identity provider's (sso.cert); only its
    /// PEM form is checked.
    static let idpCertificate = """
    -----BEGIN CERTIFICATE-----
    MIIB2zCCAYGgAwIBAgIULoeX1R1BLnJiZl6kYYqjY11puzwwCgYIKoZIzj0EAwIw
    QzEeMBwGA1UEAwwVaWRwLmJlbmNoLmV4YW1wbGUubWlsMSEwHwYDVQQKDBh0d2lz
    dGxvY2staW5pdCBiZW5jaG1hcmswHhcNMjYxMTI3MTAxMzQ2WhcNMzYxMTI0MTAx
    MzQ2WjBDMR4wHAYDVQQDDBVpZHAuYmVuY2guZXhhbXBsZS5taWwxITAfBgNVBAoM
    GHR3aXN0bG9jay1pbml0IGJlbmNobWFyazBZMBMGByqGSM49AgEGCCqGSM49AwEH
    A0IABHJA1QAh/c93wrtv0wvIGPg/b/bjnQgBUCb1LEfEL++wHexi964q5tNsqpIn
    VZniUA/Ix7JcluZSO92iAQn3L16jUzBRMB0GA1UdDgQWBBQOXyp0jQm+hgLuQE+i
    z++1UYXiqDAfBgNVHSMEGDAWgBQOXyp0jQm+hgLuQE+iz++1UYXiqDAPBgNVHRMB
    Af8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIQCypYzHKy9l+J81d8dsEa7B3SnT
    n4B2DxJ9LNcg+Zlm8AIgH3OZf3tU5pGeMkaAm3tlgEIY2nn6lIsMh9S1Pfa6RzQ=
    -----END CERTIFICATE-----
    """

    /// The values file (YAML). Every step's gate is on.
    static func yaml() -> String {
        var lines = [
            "# twistlock-bench: every step enabled.",
            "domain: bench.example.mil",
            "console:",
            "  credentials:",
            "    username: \(adminUser)",
            "  updateUsers: true",
            "  additionalUsers:",
        ]
        for (name, role, auth) in users {
            lines += ["    - username: \(name)", "      role: \(role)", "      authType: \(auth)"]
        }
        lines.append("  groups:")
        for (name, role, auth) in groups {
            lines += ["    - group: \(name)", "      role: \(role)", "      authType: \(auth)"]
        }
        lines += [
            "  trustedImages:",
            "    enabled: true",
            "    registryMatches: [\"registry1.dso.mil/ironbank/*\", \"registry.bench.example.mil/approved/*\"]",
            "  options:",
            "    enabled: true",
            "sso:",
            "  enabled: true",
            "  client_id: twistlock-bench",
            "  provider_name: Bench IdP",
            "  provider_type: shibboleth",
            "  issuer_uri: https://idp.bench.example.mil/idp/shibboleth",
            "  idp_url: https://idp.bench.example.mil/idp/profile/SAML2/Redirect/SSO",
            "  console_url: https://twistlock.bench.example.mil",
            "  groups: memberOf",
            "  cert: |",
        ]
        lines += idpCertificate.split(separator: "\n").map { "    " + $0 }
        lines += [
            "monitoring:",
            "  enabled: true",
            "defender:",
            "  enabled: true",
            "  clusterName: bench-cluster",
            "  podLabels:",
            "    app.kubernetes.io/part-of: twistlock",
            "  tolerations:",
            "    - key: node-role.kubernetes.io/control-plane",
            "      operator: Exists",
            "      effect: NoSchedule",
            "  rolloutTimeoutSeconds: 60",
            "policies:",
            "  enabled: true",
            "  name: BigBang",
            "  vulnerabilities:",
            "    enabled: true",
            "  compliance:",
            "    enabled: true",
            "  runtime:",
            "    enabled: true",
            "init:",
            "  enabled: true",
            "  waitTimeoutSeconds: 30",
            "",
        ]
        return lines.joined(separator: "\n")
    }

    /// Writes the secret files (one per values key, as Kubernetes mounts a Secret).
    static func writeSecrets(to dir: URL, adminPassword: String, license: String?) throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        func put(_ name: String, _ value: String) throws {
            try value.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        try put("console.credentials.password", adminPassword)
        try put("monitoring.password", password(seed: "monitoring"))
        for (name, _, auth) in users where auth == "basic" {
            try put("console.additionalUsers.\(name).password", password(seed: name))
        }
        if let license { try put("console.license", license) }
    }

    /// A password for the run (random per benchmark invocation, same for both secrets dirs).
    static func password(seed: String) -> String {
        passwords.withLock { passwords in
            if let p = passwords[seed] { return p }
            let chars = Array("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
            let p = "Bench-" + String((0..<20).map { _ in chars.randomElement()! })
            passwords[seed] = p
            return p
        }
    }

    static let passwords = Mutex<[String: String]>([:])
}
