import ConsoleSimulator
import Foundation

/// What the simulated console found in the requests of the demo's runs (GET /sim/requests):
/// for a step author, each field the console would drop, each wrong type or value — per
/// request, in words, at the end of the run.
enum DemoFindings {
    static func lines(_ requests: [RecordedRequest]) -> [String] {
        let flagged = requests.filter { !$0.findings.isEmpty }
        guard !flagged.isEmpty else {
            return ["The simulated console found nothing to object to in the \(requests.count) requests: no field it would drop, no wrong type."]
        }
        let count = flagged.reduce(0) { $0 + $1.findings.count }
        var out = ["The simulated console found \(count) problem\(count == 1 ? "" : "s") in \(flagged.count) request\(flagged.count == 1 ? "" : "s") (a real console behaves the same):"]
        for r in flagged {
            out.append("  \(r.method) \(r.path) → \(r.status)")
            for f in r.findings { out.append("    ✘ \(f.path.isEmpty ? "(body)" : f.path): \(meaning(f))") }
        }
        out.append("Fix the step's body: a dropped field is never stored, so the step writes it again on every run.")
        return out
    }

    static func meaning(_ f: ConformanceFinding) -> String {
        let schema = f.schema.isEmpty ? "" : " (\(f.schema))"
        switch f.kind {
        case .unknownField: return "not a field of the console's object\(schema): the console drops it — \(f.detail)"
        case .fieldCase: return "matched only case-insensitively\(schema): \(f.detail)"
        case .typeMismatch: return "wrong type\(schema): the console refuses the request — \(f.detail)"
        case .enumViolation: return "not an allowed value\(schema): \(f.detail)"
        case .invalidValue: return "a value the console cannot store\(schema): \(f.detail)"
        case .missingField: return "left out, but the console needs it\(schema): \(f.detail)"
        }
    }
}
