import Foundation
import JSONModel
import Synchronization

/// One write a step made (or, in plan mode, would make).
public struct WriteRecord: Sendable {
    public let step: String
    public let object: String
    public let method: String
    public let target: String
    public let changes: [JSONChange]
    public let planned: Bool
    public let status: Int?
    /// Terraform's words: the object is created (nothing before), updated, or removed.
    public var action: WriteAction = .update
    /// The body sent (or to be sent), as the step gave it; only `maskedBody` leaves the job.
    var body: JSON?
    /// Field names the step asked to mask (`opts.sensitive`).
    var sensitive: Set<String> = []

    /// The full body, every known secret and sensitive field masked (for `plan -o`).
    func maskedBody(_ redactor: Redactor) -> JSON? {
        body.map { redactor.redact($0, extraFields: sensitive) }
    }

    public init(step: String, object: String, method: String, target: String, changes: [JSONChange],
                planned: Bool, status: Int?) {
        self.step = step
        self.object = object
        self.method = method
        self.target = target
        self.changes = changes
        self.planned = planned
        self.status = status
    }

    /// The fields the console did not keep, found by reading the object back after the step
    /// (`WriteVerifier`); secrets masked.
    public internal(set) var notKept: [NotKept] = []

    public var json: JSON {
        var o: [String: JSON] = [
            "step": .string(step), "object": .string(object), "method": .string(method),
            "target": .string(target), "planned": .bool(planned), "action": .string(action.rawValue),
            "changes": .array(changes.map { c in
                var e: [String: JSON] = ["path": .string(c.path), "kind": .string("\(c.kind)")]
                if let o = c.old { e["old"] = o }
                if let n = c.new { e["new"] = n }
                return .object(e)
            }),
        ]
        if let status { o["status"] = .int(Int64(status)) }
        if !notKept.isEmpty { o["notKept"] = .array(notKept.map(\.json)) }
        return .object(o)
    }
}

/// What a write does to its object, in Terraform's words.
public enum WriteAction: String, Sendable {
    case create, update, remove

    /// `+`, `~`, `-`.
    public var symbol: String {
        switch self {
        case .create: return "+"
        case .update: return "~"
        case .remove: return "-"
        }
    }

    /// "create" in a plan, "created" after a run.
    public func verb(planned: Bool) -> String {
        switch (self, planned) {
        case (.create, true): return "create"
        case (.create, false): return "created"
        case (.update, true): return "update"
        case (.update, false): return "updated"
        case (.remove, true): return "remove"
        case (.remove, false): return "removed"
        }
    }
}

/// An object a plan cannot compare (the console does not show it back, the cluster cannot be
/// read): a line of the plan, not a change.
public struct CannotCompare: Sendable {
    public let step: String
    public let object: String
    public let reason: String

    public var json: JSON {
        .object(["step": .string(step), "object": .string(object), "reason": .string(reason)])
    }
}

/// One write of a run as it was sent, for `--backup` and `undo` (Backup.swift): the console's
/// object as the step read it before the write (`before`, nil when the step passed none: a
/// creation) and the body sent. Unredacted: it stays in memory and in the 0600 backup file.
public struct ReplacedObject: Sendable, Equatable {
    public let step: String
    public let object: String
    public let method: String
    /// The API path written (`/api/v1/settings/logon`).
    public let path: String
    public let before: JSON?
    public let sent: JSON?

    public init(step: String, object: String, method: String, path: String, before: JSON?, sent: JSON?) {
        self.step = step
        self.object = object
        self.method = method
        self.path = path
        self.before = before
        self.sent = sent
    }
}

/// A field a write sent that the console's next answer did not hold.
public struct NotKept: Sendable, Equatable {
    /// Where, in the written object.
    public let components: [JSONPathComponent]
    /// Where, as text: `role`, `rules[name="X"].effect`.
    public var path: String { JSON.pathText(components) }
    /// What was sent (nil: the step removed the field).
    public let sent: JSON?
    /// What the console has (nil: nothing there).
    public let got: JSON?

    public var json: JSON {
        ["path": .string(path), "sent": sent ?? .null, "got": got ?? .null]
    }
}

/// Every write of the run, for the diff output, the plan and the report. Diffs are computed
/// from redacted copies, so no secret ever reaches a record.
public final class Ledger: Sendable {
    private struct State {
        var records: [WriteRecord] = []
        var cannotCompare: [CannotCompare] = []
        var replaced: [ReplacedObject] = []
        var keepReplaced = false
    }
    /// The run thread writes; the watchdog (a report for a stuck step) reads.
    private let state = Mutex(State())
    public var records: [WriteRecord] { state.withLock { $0.records } }
    /// Objects the plan could not compare (`job.cannot_compare`).
    public var cannotCompare: [CannotCompare] { state.withLock { $0.cannotCompare } }
    /// Each write as sent, unredacted, with the object the step read before it — kept only
    /// when a backup was asked for (`--backup`), since both may hold secrets. Never logged.
    public var replaced: [ReplacedObject] { state.withLock { $0.replaced } }
    /// Set by the runner when the run keeps what it replaces (JobOptions.keepReplaced).
    public var keepReplaced: Bool {
        get { state.withLock { $0.keepReplaced } }
        set { state.withLock { $0.keepReplaced = newValue } }
    }
    let redactor: Redactor

    func noteCannotCompare(step: String, object: String, reason: String) -> CannotCompare {
        let c = CannotCompare(step: step, object: redactor.redact(object), reason: redactor.redact(reason))
        state.withLock { $0.cannotCompare.append(c) }
        return c
    }

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
            raw = [JSONChange(at: [], kind: .removed, old: before, new: nil)]
        }
        let changes = raw.map { change -> JSONChange in
            let masked = Ledger.isSensitivePath(change.components, extra: sensitive)
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
        var r = WriteRecord(step: step, object: object, method: method, target: target,
                            changes: changes, planned: planned, status: status)
        r.action = after == nil || method == "DELETE" ? .remove : (before == nil ? .create : .update)
        r.body = after
        r.sensitive = sensitive
        state.withLock { s in
            s.records.append(r)
            if s.keepReplaced && !planned {
                s.replaced.append(ReplacedObject(step: step, object: object, method: method, path: target,
                                               before: before, sent: after))
            }
        }
        return r
    }

    /// Whether any field name along a path (`users[0].password`, `data["key"]`) is sensitive.
    /// The names are the path's object keys and the identity fields of its elements, taken from
    /// its components: the value naming an element (`rules[name="password"]`) is not a field name.
    static func isSensitivePath(_ path: [JSONPathComponent], extra: Set<String>) -> Bool {
        path.contains { component in
            switch component {
            case .key(let name), .element(field: let name, value: _): return Redactor.isSensitive(name, extra: extra)
            case .index: return false
            }
        }
    }

    /// The records so far, read under the lock (from another thread).
    var snapshot: [WriteRecord] { records }

    /// The number of records so far (the index the next one gets).
    var count: Int { state.withLock { $0.records.count } }

    /// Records what the console did not keep of the write at `index`; returns the record.
    func setNotKept(_ items: [NotKept], at index: Int) -> WriteRecord? {
        state.withLock { s in
            guard s.records.indices.contains(index) else { return nil }
            s.records[index].notKept += items
            return s.records[index]
        }
    }

    func records(for step: String) -> [WriteRecord] {
        state.withLock { s in s.records.filter { $0.step == step } }
    }

    /// Text lines for one write, in Terraform's words: `+ create`, `~ update` or `- remove` and
    /// the object, then one line per JSON path (`+` added, `~` changed, `-` removed). Long values
    /// and long lists of changes are abbreviated with "…" unless `full` (`--full`).
    static func render(_ r: WriteRecord, limit: Int = 60, full: Bool = false) -> [String] {
        var lines = ["    \(r.action.symbol) \(r.action.verb(planned: r.planned)) \(r.object) (\(r.method) \(r.target))"]
        let shown = full ? r.changes[...] : r.changes.prefix(limit)
        for c in shown {
            let path = c.path.isEmpty ? "(whole object)" : c.path
            switch c.kind {
            case .added: lines.append("        + \(path) = \(short(c.new, full: full))")
            case .removed: lines.append("        - \(path) (was \(short(c.old, full: full)))")
            case .changed: lines.append("        ~ \(path): \(short(c.old, full: full)) → \(short(c.new, full: full))")
            }
        }
        if r.changes.count > shown.count {
            lines.append("        … and \(r.changes.count - shown.count) more changes (--full shows them, -o FILE writes the plan)")
        }
        return lines
    }

    /// A cannot-compare line of a plan.
    static func render(_ c: CannotCompare) -> String {
        "    ? \(c.object): cannot compare — \(c.reason)"
    }

    static func short(_ v: JSON?, full: Bool = false) -> String {
        guard let v else { return "nothing" }
        let text = v.encoded()
        return !full && text.count > 120 ? String(text.prefix(117)) + "…" : text
    }
}
