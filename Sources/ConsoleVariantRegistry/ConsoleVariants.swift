import Foundation
import JSONModel

// The console variants: every open question about the real console (a family) and its possible
// answers (variants), with the public evidence for each. Pure data, in a module of its own so
// that both the simulator (which answers as a variant) and the production binary's `probe`
// (which asks a real console which variant it is, without linking the simulator) read one
// registry.

/// A list of variant names that cannot be in force together, or a name nobody knows.
public struct ConsoleVariantError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// One open question about the real console: what public sources say, and the answer the
/// simulator gives unless a variant of the family is chosen.
public struct ConsoleVariantFamily: Sendable, Hashable {
    public var name: String
    /// The question, in a few words.
    public var question: String
    /// What the simulator answers by default.
    public var defaultAnswer: String
    /// Whether the family's variants exclude each other (one answer at a time).
    public var exclusive: Bool
}

/// One alternative answer to an open question (`twistlock-console-sim --variant NAME`,
/// `POST /sim/variants`, `SimulatorOptions.variants`, `ConsoleSimulator.setVariants`).
/// `ConsoleVariants.all` is the one registry the CLI listing, the HTTP endpoint and the tests
/// read.
public struct ConsoleVariant: Sendable, Hashable {
    public var name: String
    public var family: String
    /// The public source this answer comes from, or "unknown: plausible".
    public var evidence: String
    /// What the console does with this variant on.
    public var description: String
    /// True for the variant that spells out the simulator's default answer (choosing it
    /// changes nothing; it is listed so that every answer has a name).
    public var isDefault: Bool = false

    public var json: JSON {
        ["name": .string(name), "family": .string(family), "evidence": .string(evidence),
         "description": .string(description), "default": .bool(isDefault)]
    }
}

/// The registry of console variants.
public enum ConsoleVariants {
    public static let families: [ConsoleVariantFamily] = [
        ConsoleVariantFamily(name: "license", question: "GET settings/license on a console without a license",
                             defaultAnswer: "an object without dates: {\"customer_id\":\"\",\"type\":\"\",\"defenders\":0} (license-object)",
                             exclusive: true),
        ConsoleVariantFamily(name: "read-back", question: "how stored objects are read back",
                             defaultAnswer: "exactly as they were sent (plus the fields the console stamps)", exclusive: true),
        ConsoleVariantFamily(name: "sso-groups", question: "whether GET groups lists SSO groups",
                             defaultAnswer: "every group is listed", exclusive: true),
        ConsoleVariantFamily(name: "duplicate", question: "the status of creating a user or group that exists",
                             defaultAnswer: "409 with {\"err\": \"... already exists\"}", exclusive: true),
        ConsoleVariantFamily(name: "group-put", question: "what PUT groups/{id} requires",
                             defaultAnswer: "any body is accepted for an existing group; a missing group is 404", exclusive: true),
        ConsoleVariantFamily(name: "session", question: "how long a token lasts",
                             defaultAnswer: "the simulator's token lifetime (--token-lifetime, 30 minutes)", exclusive: true),
        ConsoleVariantFamily(name: "roles", question: "which roles users and groups may have",
                             defaultAnswer: "only the built-in roles of values.md (400 invalid role otherwise)", exclusive: true),
        ConsoleVariantFamily(name: "policy-validation", question: "what a policy PUT is refused for",
                             defaultAnswer: "duplicate or missing rule names, unknown compliance checks and custom rules, vulnerability thresholds outside 0-10",
                             exclusive: true),
        // Two questions with no alternative answer known yet: `twistlock-init probe` reports a
        // console that answers otherwise as "no known variant", with its evidence.
        ConsoleVariantFamily(name: "root", question: "what GET / answers",
                             defaultAnswer: "200 with the console's web page (text/html), without authentication", exclusive: true),
        ConsoleVariantFamily(name: "api-prefix", question: "which versioned API prefixes are served",
                             defaultAnswer: "/api/v1/ and /api/v<major.minor>/ of the console's version (/api/v34.04/) alike", exclusive: true),
    ]

    public static let all: [ConsoleVariant] = [
        ConsoleVariant(name: "license-object", family: "license",
                       evidence: "unknown: plausible (the simulator's default)",
                       description: "an unlicensed console answers GET settings/license with an object without dates", isDefault: true),
        ConsoleVariant(name: "license-null", family: "license",
                       evidence: "Big Bang package: chart/scripts/twistlock-license.sh treats a null expiration_date as no license; its UI test checks for null values",
                       description: "an unlicensed console answers GET settings/license with null"),
        ConsoleVariant(name: "license-empty", family: "license",
                       evidence: "Big Bang package: chart/tests/cypress/e2e/twistlock-health.cy.js treats an empty body as no license",
                       description: "an unlicensed console answers GET settings/license with an empty body"),
        ConsoleVariant(name: "zero-filled", family: "read-back",
                       evidence: "Go encoding/json marshals every struct field that is not omitempty (zero values, null for nil slices)",
                       description: "every GET answer carries every field of its OpenAPI schema, zero values (null for lists and maps) where nothing was stored"),
        ConsoleVariant(name: "sso-groups-hidden", family: "sso-groups",
                       evidence: "Big Bang package: chart/scripts/twistlock-groups.sh, \"SSO groups are hidden until the associated authType is configured\"",
                       description: "GET groups leaves out samlGroup groups until SAML is enabled, and oidcGroup, oauthGroup and ldapGroup groups (no such settings are served)"),
        ConsoleVariant(name: "duplicate-400", family: "duplicate",
                       evidence: "PaloAltoNetworks twistlock docs PR 405: the text \"group X already exists\" is real, its status is not documented",
                       description: "creating an existing user or group answers 400 {\"err\": \"... already exists\"}"),
        ConsoleVariant(name: "duplicate-500", family: "duplicate",
                       evidence: "PaloAltoNetworks twistlock docs PR 405: the text \"group X already exists\" is real, its status is not documented",
                       description: "creating an existing user or group answers 500 {\"err\": \"... already exists\"}"),
        ConsoleVariant(name: "group-put-lastmodified", family: "group-put",
                       evidence: "PaloAltoNetworks twistlock docs PR 405 (groups/id_put.md): PUT creates or modifies and needs the stored lastModified",
                       description: "PUT groups/{id} without the stored lastModified answers 400 {\"err\":\"group NAME already exists\"}; a PUT of a missing group creates it"),
        ConsoleVariant(name: "session-timeout", family: "session",
                       evidence: "pan.dev \"Access the API (self-hosted)\": tokens last the logon settings' session timeout (30 minutes by default)",
                       description: "tokens expire after settings/logon sessionTimeoutSec"),
        ConsoleVariant(name: "lenient-roles", family: "roles",
                       evidence: "Big Bang values documentation (cloudAccountManager is built in); OpenAPI rbac.Role (custom roles exist)",
                       description: "any non-empty role is accepted for users and groups (custom roles, cloudAccountManager)"),
        ConsoleVariant(name: "strict-policy", family: "policy-validation",
                       evidence: "Big Bang package: chart/scripts/twistlock-policies.sh ignores 400 on every policy PUT since console 33.03.138 (reasons unknown: plausible)",
                       description: "policy PUTs are also refused (400) for a rule without collections, an unknown effect, a threshold outside 0-10"),
    ]

    /// The variants by name.
    public static let byName: [String: ConsoleVariant] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// Checks a list of names (from `--variant`, `POST /sim/variants`, a file): every name
    /// known, at most one variant of an exclusive family. Returns the set in force (default
    /// variants, which change nothing, are dropped).
    public static func resolve(_ names: [String]) throws -> Set<String> {
        var chosen: [String: String] = [:]
        var out = Set<String>()
        for raw in names {
            let name = raw.trimmingCharacters(in: .whitespaces)
            if name.isEmpty { continue }
            guard let v = byName[name] else {
                throw ConsoleVariantError("unknown console variant \(JSON.quote(name)); known: \(all.map(\.name).joined(separator: ", "))")
            }
            if let family = families.first(where: { $0.name == v.family }), family.exclusive,
               let other = chosen[v.family], other != name {
                throw ConsoleVariantError("console variants \(other) and \(name) answer the same question (\(family.question)); choose one")
            }
            chosen[v.family] = name
            if !v.isDefault { out.insert(name) }
        }
        return out
    }

    /// The `format` of a `twistlock-init probe --report-json` file.
    public static let probeReportFormat = "twistlock-init-probe/1"

    /// The variant names in a `--variants-from` file: a probe report (a JSON object with
    /// `"format": "twistlock-init-probe/1"`: its `variants`, the non-default variants the
    /// console matched), else names as `names(fromText:)` reads them.
    public static func names(fromFile text: String) throws -> [String] {
        guard text.drop(while: { $0.isWhitespace }).first == "{" else { return names(fromText: text) }
        let report: JSON
        do {
            report = try JSON.parse(text)
        } catch {
            throw ConsoleVariantError("not a probe report (invalid JSON: \(error))")
        }
        guard report["format"]?.stringValue == probeReportFormat else {
            throw ConsoleVariantError("not a probe report: \"format\" must be \(JSON.quote(probeReportFormat))")
        }
        guard let list = report["variants"]?.arrayValue, list.allSatisfy({ $0.stringValue != nil }) else {
            throw ConsoleVariantError("probe report: \"variants\" must be a list of variant names")
        }
        return list.compactMap(\.stringValue)
    }

    /// Names from a text: one per line or separated by commas; `#` starts a comment
    /// (for `--variants-from FILE`).
    public static func names(fromText text: String) -> [String] {
        text.split(whereSeparator: { $0 == "\n" || $0 == "," }).compactMap { line -> String? in
            let s = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let t = s.trimmingCharacters(in: .whitespaces)
            return t.isEmpty ? nil : t
        }
    }

    /// One variant of each family at once: the first non-default variant of every family
    /// (`license-null`, `duplicate-400`, ...), the largest set that can be on together.
    public static var allCompatible: [String] {
        families.compactMap { f in all.first { $0.family == f.name && !$0.isDefault }?.name }
    }

    /// The listing `twistlock-console-sim variants` prints.
    public static func listing() -> String {
        var lines: [String] = []
        for f in families {
            lines.append("\(f.name): \(f.question)")
            lines.append("  default: \(f.defaultAnswer)")
            for v in all where v.family == f.name {
                lines.append("  \(v.name)\(v.isDefault ? " (default)" : ""): \(v.description)")
                lines.append("      evidence: \(v.evidence)")
            }
        }
        return lines.joined(separator: "\n")
    }
}

