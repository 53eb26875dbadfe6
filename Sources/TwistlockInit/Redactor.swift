import Foundation
import Synchronization
import JSONModel

/// Masks every secret the run knows — values' passwords and license key, secrets read from
/// the secrets directory, tokens the console issued — in every line, error and plan.
/// Thread-safe: the signal handler and the run thread may both log.
public final class Redactor: Sendable {
    public static let mask = "••••••"
    /// Field names whose values are always masked in diffs and request records.
    public static let sensitiveFields: Set<String> = ["password", "passwd", "key", "licensekey", "token", "secret", "privatekey", "apikey"]

    /// The shortest secret masked. A shorter one would turn every occurrence of two or three
    /// common letters in every line into the mask (and so show where the secret is); values
    /// refuse such secrets (exit 2) and `secret()` refuses them in steps, so none reaches here.
    public static let minimumLength = 4

    /// Longest first.
    private let secrets = Mutex<[String]>([])

    public init(secrets: [String] = []) {
        for s in secrets { add(s) }
    }

    /// Adds a secret to the masked set. Strings shorter than `minimumLength` are ignored; longer secrets are masked
    /// first so that a secret containing another is masked whole.
    /// The secret's JSON-escaped form is masked too (`json.encode` of a table holding it, a
    /// `%q`, a JSON log line built from it: `pa"ss` shows as `pa\"ss`).
    public func add(_ secret: String) {
        let trimmed = secret.trimmingCharacters(in: .whitespacesAndNewlines)
        let escaped = [secret, trimmed].map { String(JSON.quote($0).dropFirst().dropLast()) }
        secrets.withLock { secrets in
            for candidate in [secret, trimmed] + escaped
            where candidate.count >= Redactor.minimumLength && !secrets.contains(candidate) {
                secrets.append(candidate)
            }
            secrets.sort { $0.count > $1.count }
        }
    }

    public var count: Int { secrets.withLock { $0.count } }

    public func redact(_ text: String) -> String {
        let list = secrets.withLock { $0 }
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

    /// Adds every token in a console answer (issue 13, point 6): the string value of any
    /// field named like a token (`token`, `accessToken`, `refresh_token`, any case) at any
    /// depth. A step that logs in itself (`console.request{path="authenticate", …}`) gets the
    /// same masking as the host's own login.
    public func addTokens(in value: JSON) {
        switch value {
        case .object(let fields):
            for (k, v) in fields {
                if k.lowercased().contains("token"), case .string(let t) = v { add(t) }
                addTokens(in: v)
            }
        case .array(let items):
            for item in items { addTokens(in: item) }
        default: break
        }
    }

    /// Adds the credential of an `Authorization` header value (`Bearer abc…`: `abc…`, and the
    /// whole value).
    public func addAuthorization(_ header: String) {
        add(header)
        if let space = header.firstIndex(of: " ") {
            add(String(header[header.index(after: space)...]))
        }
    }

    static func isSensitive(_ field: String, extra: Set<String>) -> Bool {
        let lower = field.lowercased()
        return sensitiveFields.contains(lower) || extra.contains(field) || extra.contains(lower)
    }
}
