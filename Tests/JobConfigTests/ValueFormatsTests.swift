import Foundation
import JSONModel
import XCTest
@testable import JobConfig

/// The shapes of URLs, host names, user and group names and roles (TextFormat), checked once in
/// Swift before anything is sent, each problem named by its key; the steps no longer check
/// them. Each rule is tried with spellings an attacker (or a tired operator) would use, and the
/// chart's values.schema.json is checked to refuse what its patterns can say.
final class ValueFormatsTests: XCTestCase {
    /// Values with `value` at `path` (a `[0]` path puts a valid item around it) plus `extra`.
    static func tree(_ path: String, _ value: JSON, extra: JSON = .object([:])) -> JSON {
        var root = extra
        let base: JSON
        if path.hasPrefix("console.additionalUsers[0].") {
            base = ["console": ["additionalUsers": [["username": "u1", "password": "U1-password", "role": "user"]]]]
        } else if path.hasPrefix("console.groups[0].") {
            base = ["console": ["groups": [["group": "g1", "role": "user"]]]]
        } else {
            base = .object([:])
        }
        root = merge(base, root)
        let components = try! ValuePath.parse(path)
        return SetArguments.set(root, components[...], value)
    }

    static func merge(_ a: JSON, _ b: JSON) -> JSON {
        guard case .object(var left) = a, case .object(let right) = b else { return b }
        for (k, v) in right { left[k] = left[k].map { merge($0, v) } ?? v }
        return .object(left)
    }

    static let ssoOn: JSON = ["sso": ["enabled": true, "client_id": "c", "issuer_uri": "https://idp.example.com",
                                      "idp_url": "https://idp.example.com/saml", "cert": .string(pem)]]

    /// The problems of values (credentials added); `[]` when they load.
    func load(_ root: JSON, sets: [String] = credentials) -> (problems: [ValuesProblem], values: Values?) {
        do {
            let values = try loadValues([root.encoded()], sets: sets)
            return ([], values)
        } catch let error as ValuesError {
            return (error.problems, nil)
        } catch {
            XCTFail("\(error)")
            return ([], nil)
        }
    }

    /// Each bad value is refused naming `key`; the message says why, never quotes `secret`.
    func assertRefused(_ path: String, _ bad: [String], key: String? = nil, extra: JSON = .object([:]), saying: String? = nil,
                       notQuoting secretPart: String? = nil, file: StaticString = #filePath, line: UInt = #line) {
        for value in bad {
            let (problems, _) = load(Self.tree(path, .string(value), extra: extra))
            let hit = problems.first { $0.key == (key ?? path) }
            XCTAssertNotNil(hit, "\(path) = \(JSON.quote(value)) is accepted or named otherwise: \(problems)", file: file, line: line)
            if let saying, let hit {
                XCTAssertTrue(hit.message.contains(saying), "\(path) = \(JSON.quote(value)): \(hit.message)", file: file, line: line)
            }
            if let secretPart {
                for p in problems {
                    XCTAssertFalse(p.description.contains(secretPart), "quotes the secret: \(p)", file: file, line: line)
                }
            }
        }
    }

    func assertAccepted(_ path: String, _ good: [String], extra: JSON = .object([:]), file: StaticString = #filePath, line: UInt = #line) {
        for value in good {
            let (problems, values) = load(Self.tree(path, .string(value), extra: extra))
            XCTAssertNotNil(values, "\(path) = \(JSON.quote(value)) is refused: \(problems)", file: file, line: line)
        }
    }

    // MARK: - URLs

    static let badURLs = [
        "https://idp.example.com/saml path",          // a space
        " https://idp.example.com/saml",              // leading space
        "javascript:alert(1)",                       // not http(s)
        "javascript://idp.example.com/%0aalert(1)",  // a scheme that looks like one
        "ftp://idp.example.com/saml",
        "idp.example.com/saml",                      // no scheme
        "https://",                                  // no host
        "https:///saml",
        "https://:8443/saml",
        "https://idp.example.com:0/saml",            // bad ports
        "https://idp.example.com:65536/saml",
        "https://idp.example.com:/saml",
        "https://idp_1.example.com/saml",            // not a host name
        "https://idp.example.com./saml",
        "https://*.example.com/saml",
        "https://idp..example.com/saml",
        "https://idp.example.com/saml#fragment",
        "https://idp.example.com/sa\u{0}ml",           // control characters
        "https://idp.example.com/saml\n",
        "https://idp.example.com/s\u{200B}aml",        // zero-width space
        "https://idp.example.com/<script>",
        "https://idp.example.com/a\\b",
        "https://idp.example.com/%zz",
        "https://idp.example.com/ä",
        "https://[zz::1]/saml",
        "https://[::1/saml",
    ]

    func testURLsAreAbsoluteHTTPWithAHostAndNothingHidden() {
        for key in ["sso.idp_url", "sso.console_url"] {
            assertRefused(key, Self.badURLs, extra: Self.ssoOn)
            assertRefused(key, Self.badURLs)   // checked when given, SSO on or off
            assertAccepted(key, [
                "https://idp.example.com/saml",
                "http://10.0.0.5:8080/realms/x/protocol/saml?a=1&b=%20c",
                "HTTPS://IdP.Example.COM/saml",
                "https://[fd00::1]:8443/saml",
                "https://keycloak.bigbang.dev/auth/realms/baby-yoda/protocol/saml",
                "https://idp.example.com",
            ], extra: Self.ssoOn)
        }
    }

    func testAURLWithAPasswordIsRefusedWithoutQuotingIt() {
        for url in ["https://admin:hunter2-Secret@idp.example.com/saml", "https://hunter2-Secret@idp.example.com",
                    "https://a:hunter2-Secret@[fd00::1]/"] {
            assertRefused("sso.idp_url", [url], extra: Self.ssoOn, saying: "user name or password", notQuoting: "hunter2")
        }
    }

    // MARK: - host names

    static let label63 = String(repeating: "a", count: 63)
    static let badHosts = [
        "twistlock.example.com.",                    // trailing dot
        "twist_lock.example.com",                    // underscore
        String(repeating: "a", count: 64) + ".example.com",   // a 64-character label
        "Twistlock.Example.com",                     // upper case
        "*.example.com",                             // wildcard
        "twistlock.*.example.com",
        "https://twistlock.example.com",             // scheme
        "twistlock.example.com:8443",                // port
        "twistlock.example.com/console",             // path
        "tw..example.com",
        ".example.com",
        "-tw.example.com",
        "tw-.example.com",
        "twïstlock.example.com",                     // not ASCII
        "twistlock example.com",
        "twistlock.example.com\n",
        "tw\u{200B}istlock.example.com",
        "10.0.0.256",                                // not an address, not a name
        "1.2.3",
        "010.0.0.1",
        "::1",
        "[fd00::1]",
        "user@twistlock.example.com",
        String(repeating: label63 + ".", count: 4) + "com",   // 259 characters
    ]

    func testHostNamesAreRFC1123InLowerCase() {
        // (defender.consoleAddress takes the same rule with upper case and IPv6: ConsoleAddressValuesTests.)
        for key in ["console.externalHost"] {
            assertRefused(key, Self.badHosts)
            assertAccepted(key, ["twistlock.example.com", "twistlock-console", "10.0.0.5", "localhost",
                                 "xn--twstlock-e2a.example.com", Self.label63 + ".example.com",
                                 "twistlock-console.twistlock.svc.cluster.local"])
        }
        assertRefused("domain", Self.badHosts)
        // domain is a name (twistlock.<domain> is one too), never an address.
        assertRefused("domain", ["10.0.0.5"], saying: "IP address")
        assertAccepted("domain", ["bigbang.dev", "example.mil", "local"])
        let long = String(repeating: Self.label63 + ".", count: 3) + String(repeating: "b", count: 60)   // 252, and 262 with "twistlock."
        assertRefused("domain", [long], saying: "twistlock.<domain> is too long")
    }

    func testTheHostMessageSaysWhatIsWrong() {
        assertRefused("console.externalHost", ["twistlock.example.com."], saying: "\"twistlock.example.com\"")
        assertRefused("console.externalHost", ["Twistlock.Example.com"], saying: "\"twistlock.example.com\"")
        assertRefused("console.externalHost", ["tw_1.example.com"], saying: "\"_\" is not allowed")
        assertRefused("console.externalHost", ["*.example.com"], saying: "wildcard")
        assertRefused("console.externalHost", ["twistlock.example.com:8443"], saying: "no port")
    }

    /// The route host is checked as dns-san uses it: the first, after `{{ .Values.domain }}`.
    func testTheFirstRouteHostIsCheckedAfterTheDomainIsFilledIn() {
        let key = "routes.inbound.console.hosts[0]"
        func hosts(_ list: [String], domain: String? = nil, external: String? = nil) -> JSON {
            var root: JSON = ["routes": ["inbound": ["console": ["hosts": .array(list.map { .string($0) })]]]]
            if let domain { root["domain"] = .string(domain) }
            if let external { root = Self.merge(root, ["console": ["externalHost": .string(external)]]) }
            return root
        }
        for bad in ["prisma_ui.example.mil", "*.example.mil", "Prisma.example.mil", "prisma.example.mil.",
                    "prisma.{{ .Values.other }}", "https://prisma.example.mil", "prisma.{{ .Values.domain }}:443"] {
            let (problems, _) = load(hosts([bad, "ok.example.mil"], domain: "example.mil"))
            XCTAssertTrue(problems.contains { $0.key == key }, "\(bad): \(problems)")
        }
        // The domain fills the template; an empty domain leaves no name, and says so.
        let (_, good) = load(hosts(["prisma.{{ .Values.domain }}", "*.{{ .Values.domain }}"], domain: "example.mil"))
        XCTAssertEqual(good?.consoleHost, ConsoleHost(name: "prisma.example.mil", key: key, substituted: true))
        let (empty, _) = load(hosts(["prisma.{{ .Values.domain }}"]))
        XCTAssertEqual(empty.map(\.key), [key])
        XCTAssertTrue(empty.first?.message.contains("which is empty") ?? false, "\(empty)")
        let (upper, _) = load(hosts(["prisma.{{- .Values.domain -}}"], domain: "Example.mil"))
        XCTAssertEqual(Set(upper.map(\.key)), ["domain", key], "\(upper)")
        // Only the first host is the job's: the console chart's others may be wildcards.
        let (_, second) = load(hosts(["prisma.example.mil", "*.example.mil"]))
        XCTAssertEqual(second?.consoleHost?.name, "prisma.example.mil")
        // With console.externalHost set, the route hosts are the console chart's alone.
        let (_, external) = load(hosts(["*.example.mil"], external: "twistlock.example.mil"))
        XCTAssertEqual(external?.consoleHost, ConsoleHost(name: "twistlock.example.mil", key: "console.externalHost", substituted: false))
        // A list whose first host is empty, with neither other key: no name for the step that runs.
        let (none, _) = load(hosts(["", "prisma.example.mil"]))
        XCTAssertEqual(none.map(\.key), [key])
        let (_, fromDomain) = load(hosts([""], domain: "bigbang.dev"))
        XCTAssertEqual(fromDomain?.consoleHost?.name, "twistlock.bigbang.dev")
    }

    // MARK: - user and group names

    static let badUserNames = [
        "alice smith", " alice", "alice ", "alice\t", "ali\u{200B}ce", "alice\u{202E}", "bob\u{7}", "alice\u{A0}",
        "alice\nbob", "al\u{85}ice", "alice\u{2028}", "al\u{FEFF}ice",
    ]

    func testUserNamesHaveNoWhiteSpaceOrHiddenCharacters() {
        assertRefused("console.additionalUsers[0].username", Self.badUserNames)
        // A BOM first in a YAML string is dropped by the YAML reader; given as it is (--set), refused.
        XCTAssertThrowsError(try ValuesLoader.complete(user: Self.merge(Self.tree("console.additionalUsers[0].username", "\u{FEFF}alice"),
                                                                        ["console": ["credentials": ["username": "admin", "password": "Admin-pw-1"]]]),
                                                       secretsDir: nil)) { error in
            XCTAssertEqual((error as? ValuesError)?.problems.map(\.key), ["console.additionalUsers[0].username"])
        }
        assertAccepted("console.additionalUsers[0].username", ["alice", "alice@example.com", "jürgen", "CN=alice,OU=ops", "a.b-c_d"])
        assertRefused("monitoring.username", Self.badUserNames, extra: ["monitoring": ["enabled": true, "password": "Metrics-pw-1"]])
        // Checked even when monitoring is off: a value given is a value meant.
        assertRefused("monitoring.username", ["metrics user"])
        // The admin's name is a secret key (from a file, never quoted), checked all the same.
        for bad in ["ad min", "admin\u{200D}", "admin\r"] {
            let (problems, _) = load(Self.tree("console.credentials.username", .string(bad)), sets: ["console.credentials.password=s3cret-pw"])
            let hit = problems.first { $0.key == "console.credentials.username" }
            XCTAssertNotNil(hit, "\(JSON.quote(bad)): \(problems)")
            XCTAssertFalse(hit?.message.contains("ad min") ?? false || hit?.message.contains("\"admin") ?? false, "quoted: \(hit!)")
        }
    }

    func testGroupNamesMayHoldSpacesButNothingHidden() {
        assertAccepted("console.groups[0].group", ["Domain Admins", "cn=devs,ou=groups", "devs"])
        assertRefused("console.groups[0].group", [" admins", "admins ", "Domain\tAdmins", "Domain\u{A0}Admins", "admins\u{200D}",
                                                  "ad\u{202E}mins", "admins\n"])
    }

    // MARK: - roles

    func testRolesDifferingFromABuiltInOnlyInCaseAreRefused() {
        for path in ["console.additionalUsers[0].role", "console.groups[0].role"] {
            assertRefused(path, ["Admin", "ADMIN", "devsecops", "DevOps", "defendermanager", "CI"], saying: "only in case")
            assertRefused(path, ["auditor ", " admin", "admin\u{200B}", "role\nx", "de\u{202E}vOps"])
            assertAccepted(path, ["admin", "ci", "defenderManager", "vulnerabilityManager"])
            // Another name is a custom role: allowed, with a warning.
            for custom in ["securityLead", "Security Lead", "admins", "cloudAccountManager"] {
                let (problems, values) = load(Self.tree(path, .string(custom)))
                XCTAssertEqual(problems, [], custom)
                XCTAssertEqual(values?.warnings.map(\.key), [path], custom)
            }
        }
    }

    // MARK: - the chart's values.schema.json says the same where a pattern can

    /// The JSON Schema of a values key in the generated values.schema.json.
    static func schemaNode(_ path: String) throws -> JSON {
        var node = try JSON.parse(SchemaExport.jsonSchema())
        for part in path.components(separatedBy: ".") {
            if part.hasSuffix("[]") {
                node = node["properties"]?[String(part.dropLast(2))]?["items"] ?? .null
            } else {
                node = node["properties"]?[part] ?? .null
            }
        }
        return node
    }

    static func matches(_ pattern: String, _ s: String) throws -> Bool {
        // The whole string (ICU's `$` also matches before a final newline; JSON Schema's does not).
        let re = try NSRegularExpression(pattern: pattern)
        let whole = NSRange(s.startIndex..., in: s)
        return re.firstMatch(in: s, range: whole)?.range == whole
    }

    func testTheChartSchemaRefusesTheSameShapes() throws {
        // (key, values the pattern must refuse, values it must accept)
        let cases: [(String, [String], [String])] = [
            ("sso.idp_url",
             ["javascript:alert(1)", "https://a b.example.com", "https://", "https://u:p@idp.example.com/", "https://idp.example.com/#x",
              "https://idp.example.com/a b", "https://idp_1.example.com/", "ftp://idp.example.com/"],
             ["", "https://idp.example.com/saml", "http://10.0.0.5:8080/x?a=%20", "https://[fd00::1]:8443/"]),
            ("console.service.url", ["javascript:x", "https://"], ["", "http://twistlock-console.twistlock.svc:8081"]),
            ("console.externalHost",
             ["twistlock.example.com.", "twist_lock.example.com", String(repeating: "a", count: 64) + ".example.com",
              "Twistlock.example.com", "*.example.com", "twistlock.example.com:8443", "tw..example.com", "-tw.example.com"],
             ["", "twistlock.example.com", "10.0.0.5"]),
            ("domain", ["example.com.", "Example.com", "*.example.com"], ["", "bigbang.dev"]),
            ("console.additionalUsers[].username", ["alice smith", " alice", "alice\t", "bob\u{7}"], ["alice", "alice@example.com"]),
            ("monitoring.username", ["metrics user", "metrics\n"], ["twistlock-metrics"]),
            ("console.groups[].group", [" admins", "Domain\tAdmins", "admins\n"], ["Domain Admins"]),
        ]
        for (key, bad, good) in cases {
            let node = try Self.schemaNode(key)
            let pattern = try XCTUnwrap(node["pattern"]?.stringValue, "\(key) has no pattern in values.schema.json")
            for value in bad {
                XCTAssertFalse(try Self.matches(pattern, value) && value.utf8.count <= (node["maxLength"]?.intValue ?? Int.max),
                               "\(key): the chart schema accepts \(JSON.quote(value))")
            }
            for value in good {
                XCTAssertTrue(try Self.matches(pattern, value), "\(key): the chart schema refuses \(JSON.quote(value))")
            }
        }
        // Roles: a case variant of a built-in role is refused by `not`, a custom role passes.
        for key in ["console.additionalUsers[].role", "console.groups[].role"] {
            let node = try Self.schemaNode(key)
            let variants = try XCTUnwrap(node["not"]?["anyOf"]?.arrayValue)
            func refused(_ role: String) throws -> Bool {
                try variants.contains { v in
                    try Self.matches(v["pattern"]!.stringValue!, role) && v["not"]?["const"]?.stringValue != role
                }
            }
            for role in ["Admin", "ADMIN", "devsecops", "VulnerabilityManager"] { XCTAssertTrue(try refused(role), role) }
            for role in ValuesSchema.roles + ["securityLead", "Security Lead"] { XCTAssertFalse(try refused(role), role) }
            XCTAssertFalse(try Self.matches(node["pattern"]!.stringValue!, "auditor "))
        }
    }
}

/// docs/values.md's "Formats" table names, for each format, the keys the schema gives it.
final class ValueFormatsDocTests: XCTestCase {
    func testTheFormatsTableAgreesWithTheSchema() throws {
        let doc = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/values.md")
        let text = try String(contentsOf: doc, encoding: .utf8)
        let section = try XCTUnwrap(text.components(separatedBy: "\n## Formats\n").dropFirst().first?
            .components(separatedBy: "\n## ").first)
        // format name → the keys its row names (backticked, in the keys cell)
        var documented: [String: Set<String>] = [:]
        for line in section.split(separator: "\n") where line.hasPrefix("| ") && !line.hasPrefix("| format") && !line.hasPrefix("|---") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            let keys = cells[2].components(separatedBy: "`").enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
            documented[cells[1]] = Set(keys)
        }
        func name(_ type: SchemaType) -> String? {
            switch type {
            case .string(_, .httpURL?): return "URL"
            case .string(_, .hostName(ipv4: false)?): return "host name"
            case .string(_, .hostName(ipv4: true)?): return "host name or IPv4"
            case .string(_, .name(innerSpaces: false)?): return "user name"
            case .string(_, .name(innerSpaces: true)?): return "group name"
            case .oneOf(let values, closed: false) where values == ValuesSchema.roles: return "role"
            default: return nil
            }
        }
        var fromSchema: [String: Set<String>] = [:]
        for (path, field) in ValuesSchema.allKnownKeys {
            if let format = name(field.type) { fromSchema[format, default: []].insert(path) }
        }
        // The route host is checked where dns-san uses it (ValuesValidator.checkConsoleHost).
        fromSchema["host name or IPv4", default: []].insert("routes.inbound.console.hosts[0]")
        XCTAssertEqual(documented, fromSchema)
        // The roles the table lists are the schema's, in its order.
        XCTAssertTrue(section.contains(ValuesSchema.roles.joined(separator: ", ")), "the built-in roles")
    }
}
