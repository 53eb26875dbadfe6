import Foundation
import JSONModel

/// Masks every secret the run knows — values' passwords and license key, secrets read from
/// the secrets directory, tokens the console issued — in every line, error and plan.
/// Thread-safe: the signal handler and the run thread may both log.
public final class Redactor: @unchecked Sendable {
    public static let mask = "••••••"
    /// Field names whose values are always masked in diffs and request records.
    public static let sensitiveFields: Set<String> = ["password", "passwd", "key", "licensekey", "token", "secret", "privatekey", "apikey"]

    private var secrets: [String] = []
    private let lock = NSLock()

    public init(secrets: [String] = []) {
        for s in secrets { add(s) }
    }

    /// Adds a secret to the masked set. Empty strings are ignored; longer secrets are masked
    /// first so that a secret containing another is masked whole.
    /// The secret's JSON-escaped form is masked too (`json.encode` of a table holding it, a
    /// `%q`, a JSON log line built from it: `pa"ss` shows as `pa\"ss`).
    public func add(_ secret: String) {
        let trimmed = secret.trimmingCharacters(in: .whitespacesAndNewlines)
        let escaped = [secret, trimmed].map { String(JSON.quote($0).dropFirst().dropLast()) }
        lock.lock(); defer { lock.unlock() }
        for candidate in [secret, trimmed] + escaped where !candidate.isEmpty && !secrets.contains(candidate) {
            secrets.append(candidate)
        }
        secrets.sort { $0.count > $1.count }
    }

    public var count: Int { lock.lock(); defer { lock.unlock() }; return secrets.count }

    public func redact(_ text: String) -> String {
        lock.lock(); let list = secrets; lock.unlock()
        var out = text
        for s in list where out.contains(s) {
            out = out.replacingOccurrences(of: s, with: Redactor.mask)
        }
        return out
    }

    /// A copy of `value` with sensitive fields and every known secret masked.
    public func redact(_ value: JSON, extraFields: Set<String> = []) -> JSON {
        switch value {
        case .string(let s): return .string(redact(s))
        case .array(let items): return .array(items.map { redact($0, extraFields: extraFields) })
        case .object(let fields):
            var out: [String: JSON] = [:]
            for (k, v) in fields {
                if Redactor.isSensitive(k, extra: extraFields), !v.isNull {
                    out[k] = .string(Redactor.mask)
                } else {
                    out[k] = redact(v, extraFields: extraFields)
                }
            }
            return .object(out)
        default: return value
        }
    }

    static func isSensitive(_ field: String, extra: Set<String>) -> Bool {
        let lower = field.lowercased()
        return sensitiveFields.contains(lower) || extra.contains(field) || extra.contains(lower)
    }
}
