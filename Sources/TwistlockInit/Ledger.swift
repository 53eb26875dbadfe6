import Foundation
import JSONModel

/// One write a step made (or, in plan mode, would make).
public struct WriteRecord: Sendable {
    public let step: String
    public let object: String
    public let method: String
    public let target: String
    public let changes: [JSONChange]
    public let planned: Bool
    public let status: Int?

    public var json: JSON {
        var o: [String: JSON] = [
            "step": .string(step), "object": .string(object), "method": .string(method),
            "target": .string(target), "planned": .bool(planned),
            "changes": .array(changes.map { c in
                var e: [String: JSON] = ["path": .string(c.path), "kind": .string("\(c.kind)")]
                if let o = c.old { e["old"] = o }
                if let n = c.new { e["new"] = n }
                return .object(e)
            }),
        ]
        if let status { o["status"] = .int(Int64(status)) }
        return .object(o)
    }
}

/// Every write of the run, for the diff output, the plan and the report. Diffs are computed
/// from redacted copies, so no secret ever reaches a record.
public final class Ledger: @unchecked Sendable {
    private let lock = NSLock()
    public private(set) var records: [WriteRecord] = []
    let redactor: Redactor

    init(redactor: Redactor) { self.redactor = redactor }

    @discardableResult
    func record(step: String, object: String, method: String, target: String,
                before: JSON?, after: JSON?, sensitive: Set<String>, planned: Bool, status: Int?) -> WriteRecord {
        // Diff the objects as they are, then mask what the changes hold: a policy of thousands of
        // strings usually changes in a few places, so only those few values are searched for
        // secrets. A change under a sensitive field name (`password`, `key`, …) is masked whole.
        let raw: [JSONChange]
        if let after {
            raw = JSON.diff(before: before, after: after)
        } else {
            raw = [JSONChange(path: "", kind: .removed, old: before, new: nil)]
        }
        let changes = raw.map { change -> JSONChange in
            let masked = Ledger.isSensitivePath(change.path, extra: sensitive)
            func clean(_ v: JSON?) -> JSON? {
                guard let v else { return nil }
                if masked && !v.isNull { return .string(Redactor.mask) }
                return redactor.redact(v, extraFields: sensitive)
            }
            var c = change
            c.old = clean(change.old)
            c.new = clean(change.new)
            if c.kind == .changed, masked, c.old == c.new {
                c.new = .string(Redactor.mask + " (changed)")
            }
            return c
        }
        let r = WriteRecord(step: step, object: object, method: method, target: target,
                            changes: changes, planned: planned, status: status)
        lock.withLock { records.append(r) }
        return r
    }

    /// Whether any field name along a diff path (`users[0].password`, `data["key"]`) is sensitive.
    static func isSensitivePath(_ path: String, extra: Set<String>) -> Bool {
        var names: [String] = []
        var current = ""
        var quoted = false
        for ch in path {
            if quoted {
                if ch == "\"" { quoted = false; names.append(current); current = "" } else { current.append(ch) }
                continue
            }
            switch ch {
            case ".", "[", "]":
                if !current.isEmpty { names.append(current) }
                current = ""
            case "\"":
                quoted = true
            default:
                current.append(ch)
            }
        }
        if !current.isEmpty { names.append(current) }
        return names.contains { Redactor.isSensitive($0, extra: extra) }
    }

    func records(for step: String) -> [WriteRecord] {
        lock.withLock { records.filter { $0.step == step } }
    }

    /// Text lines for one write: a heading and one line per changed JSON path.
    static func render(_ r: WriteRecord, limit: Int = 60) -> [String] {
        let verb = r.planned ? "would change" : "changed"
        var lines = ["    ~ \(r.object) (\(r.method) \(r.target)) \(verb):"]
        for c in r.changes.prefix(limit) {
            let path = c.path.isEmpty ? "(whole object)" : c.path
            switch c.kind {
            case .added: lines.append("        + \(path) = \(short(c.new))")
            case .removed: lines.append("        - \(path) (was \(short(c.old)))")
            case .changed: lines.append("        ~ \(path): \(short(c.old)) → \(short(c.new))")
            }
        }
        if r.changes.count > limit {
            lines.append("        … and \(r.changes.count - limit) more changes (see --report-json)")
        }
        return lines
    }

    static func short(_ v: JSON?) -> String {
        guard let v else { return "nothing" }
        let text = v.encoded()
        return text.count > 120 ? String(text.prefix(117)) + "…" : text
    }
}
