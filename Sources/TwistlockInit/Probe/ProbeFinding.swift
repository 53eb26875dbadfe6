import ConsoleVariantRegistry
import Foundation
import JSONModel

/// One request the probe sent and what came back, as far as it may be shown: the status, the
/// headers that tell what the answer is, and the answer's shape (field names and value types,
/// never values: no secret, token or policy leaves the console this way).
public struct ProbeEvidence: Sendable {
    public var request: String
    public var status: Int?
    public var headers: [String: String] = [:]
    public var shape: JSON = .null
    /// The console's own short message (`err`), redacted, for refusals.
    public var message: String?

    /// Headers worth showing (lower-case names); every other header is left out.
    static let shownHeaders = ["content-type", "content-length", "retry-after", "www-authenticate", "location"]

    init(request: String, response: ConsoleResponse?, shape: JSON? = nil, showMessage: Bool = false) {
        self.request = request
        guard let r = response else { return }
        status = r.status
        for h in Self.shownHeaders { if let v = r.headers[h] { headers[h] = v } }
        self.shape = shape ?? ProbeShape.of(r)
        if showMessage, !r.ok { message = r.message }
    }

    public var json: JSON {
        var o: [String: JSON] = ["request": .string(request), "shape": shape]
        if let status { o["status"] = .int(Int64(status)) }
        if !headers.isEmpty { o["headers"] = .object(headers.mapValues { .string($0) }) }
        if let message { o["message"] = .string(message) }
        return .object(o)
    }

    /// `GET /api/v1/settings/license → 200 application/json; {customer_id: string, ...}`
    public var line: String {
        var s = request + " → " + (status.map(String.init) ?? "no answer")
        if let ct = headers["content-type"] { s += " " + ct }
        if !shape.isNull { s += "; " + ProbeShape.text(shape) }
        if let message, !message.isEmpty { s += "; \"" + message + "\"" }
        return s
    }
}

/// What a family's question got.
public enum ProbeOutcome: String, Sendable {
    /// The console answered as the simulator does by default.
    case defaultAnswer = "default"
    /// The console answered as one of the family's variants.
    case variant
    /// The console answered in a way no variant describes (the evidence says how).
    case noKnownVariant = "no-known-variant"
    /// The answers did not tell (e.g. two settings that coincide); the note says why.
    case undetermined
    /// The question cannot be asked of this console (e.g. the unlicensed answer of a licensed one).
    case notTestable = "not-testable"
    /// The question needs a write: `--scratch`.
    case notProbed = "not-probed"
    /// A request failed (no answer, the run was interrupted).
    case failed
}

public struct ProbeFinding: Sendable {
    public var family: String
    public var outcome: ProbeOutcome
    public var variant: String?
    public var evidence: [ProbeEvidence] = []
    public var note: String = ""

    /// The registry's answer this finding matched: the variant's name, "default" or the outcome.
    public var summary: String {
        switch outcome {
        case .variant: return variant ?? "?"
        case .defaultAnswer: return variant.map { "\($0) (default)" } ?? "default"
        case .notProbed: return "not probed (needs --scratch)"
        case .noKnownVariant: return "no known variant"
        case .undetermined: return "undetermined"
        case .notTestable: return "not testable here"
        case .failed: return "failed"
        }
    }

    public var json: JSON {
        var o: [String: JSON] = [
            "family": .string(family), "outcome": .string(outcome.rawValue),
            "evidence": .array(evidence.map(\.json)),
        ]
        if let f = ConsoleVariants.families.first(where: { $0.name == family }) {
            o["question"] = .string(f.question)
            o["defaultAnswer"] = .string(f.defaultAnswer)
        }
        o["variant"] = variant.map { .string($0) } ?? .null
        if !note.isEmpty { o["note"] = .string(note) }
        return .object(o)
    }
}

/// The probe's findings, one per family, in the registry's order.
public struct ProbeReport: Sendable {
    public var consoleURL: String
    public var version: String?
    public var scratch: Bool
    public var findings: [ProbeFinding] = []
    /// Objects the probe made that it could not remove, each with the command that removes it.
    public var leftovers: [String] = []
    /// Differences between the console before and after a --scratch probe.
    public var differences: [String] = []
    public var problems: [String] = []
    public var interrupted: String?

    /// The non-default variants the console matched (what `--variants-from` switches on).
    public var matchedVariants: [String] {
        findings.filter { $0.outcome == .variant }.compactMap(\.variant)
    }

    public var exitCode: Int32 {
        if interrupted != nil { return ProbeExitCode.interrupted }
        if !leftovers.isEmpty || !differences.isEmpty { return ProbeExitCode.notRestored }
        if !problems.isEmpty { return ProbeExitCode.failed }
        return 0
    }

    public var json: JSON {
        var o: [String: JSON] = [
            "format": .string(ConsoleVariants.probeReportFormat),
            "console": ["url": .string(consoleURL), "version": version.map { .string($0) } ?? .null],
            "scratch": .bool(scratch),
            "variants": .array(matchedVariants.map { .string($0) }),
            "families": .array(findings.map(\.json)),
            "exitCode": .int(Int64(exitCode)),
        ]
        if !leftovers.isEmpty { o["leftovers"] = .array(leftovers.map { .string($0) }) }
        if !differences.isEmpty { o["differences"] = .array(differences.map { .string($0) }) }
        if !problems.isEmpty { o["problems"] = .array(problems.map { .string($0) }) }
        if let interrupted { o["interrupted"] = .string(interrupted) }
        return .object(o)
    }
}

public enum ProbeExitCode {
    public static let failed: Int32 = 1
    public static let invalidInput: Int32 = 2
    /// A --scratch object could not be removed or the console differs from before.
    public static let notRestored: Int32 = 4
    public static let interrupted: Int32 = 143
}

/// The shape of an answer: field names and value types, never values.
enum ProbeShape {
    static let maxDepth = 3
    static let maxFields = 24

    static func of(_ r: ConsoleResponse) -> JSON {
        if r.bodyText.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return "empty body" }
        guard let j = r.json else { return .string("not JSON (\(r.bodyText.utf8.count) bytes)") }
        return of(j)
    }

    static func of(_ v: JSON, depth: Int = 0) -> JSON {
        switch v {
        case .null: return "null"
        case .bool: return "boolean"
        case .int, .double: return "number"
        case .string(let s): return s.isEmpty ? "string (empty)" : (s == goZeroTime ? "string (zero time)" : "string")
        case .array(let a):
            if a.isEmpty { return "empty list" }
            if depth >= maxDepth { return .string("list of \(a.count)") }
            return ["list of \(a.count)": of(a[0], depth: depth + 1)]
        case .object(let o):
            if o.isEmpty { return "empty object" }
            if depth >= maxDepth { return .string("object of \(o.count) fields") }
            var out: [String: JSON] = [:]
            for k in o.keys.sorted().prefix(maxFields) { out[k] = of(o[k]!, depth: depth + 1) }
            if o.count > maxFields { out["…"] = .string("\(o.count - maxFields) more fields") }
            return .object(out)
        }
    }

    /// A one-line rendering of a shape.
    static func text(_ shape: JSON) -> String {
        switch shape {
        case .string(let s): return s
        case .object(let o): return "{" + o.keys.sorted().map { "\($0): \(text(o[$0]!))" }.joined(separator: ", ") + "}"
        default: return shape.encoded()
        }
    }

    static let goZeroTime = "0001-01-01T00:00:00Z"
}
