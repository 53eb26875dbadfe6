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
        let b = before.map { redactor.redact($0, extraFields: sensitive) }
        let changes: [JSONChange]
        if let after {
            let a = redactor.redact(after, extraFields: sensitive)
            changes = JSON.diff(before: b, after: a)
        } else {
            changes = [JSONChange(path: "", kind: .removed, old: b, new: nil)]
        }
        let r = WriteRecord(step: step, object: object, method: method, target: target,
                            changes: changes, planned: planned, status: status)
        lock.withLock { records.append(r) }
        return r
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
