import Foundation
import JSONModel
import Synchronization

/// Verify after write: after a step, the objects it wrote are read back — one GET per endpoint
/// the step's writes are read from, however many writes went there — and every field the write
/// forced (what it sent that differs from what it read before; everything it sent for a
/// creation) is compared with what the console now has. A field the console did not keep
/// (dropped as unknown, changed, refused silently) is reported under its write
/// ("not kept by the console: PATH (sent X, console has Y)"), recorded on the write
/// (`WriteRecord.notKept`, the report's `notKept`), counted in the summary, and with `--strict`
/// fails the step.
///
/// Not compared: fields the console stamps (`modified`, `lastModified`, `owner`), write-only
/// secrets (`password`, `key`, a secret's `plain` text, and the write's `sensitive` fields),
/// and zero values against nothing (a console that marshals every field, or leaves empty ones
/// out, keeps `""`, `0`, `false`, `[]`, `{}` and `null` alike). Plan mode verifies nothing.
///
/// Where an object is read back from: `users` (by `username`) for `POST|PUT users`; `groups`
/// (by `groupName`, or `_id` for `PUT groups/{id}`); the policy's `rules` (by `name`) for
/// `POST policies/runtime/*`; the written path itself otherwise. `settings/license` (a key the
/// console never returns) and DELETEs are not verified. A step chooses with the write's
/// `verify` option: `false` (not verified), or `{path = "...", absent_ok = true}` (read from
/// that path; an object the answer does not hold is not reported — an SSO group the console
/// hides from `GET groups`).
final class WriteVerifier: Sendable {
    enum Selector: Equatable, Sendable {
        case whole
        /// The element of the answer's array (or of its member `list`) whose `field` is `value`.
        case item(list: String?, field: String, value: String)
    }

    struct Pending: Sendable {
        let recordIndex: Int
        let readPath: String
        let selector: Selector
        let before: JSON?
        let sent: JSON
        let sensitive: Set<String>
        let absentOK: Bool
    }

    private let pending = Mutex<[Pending]>([])

    /// Fields the console sets itself.
    static let stamps: Set<String> = ["modified", "lastModified", "owner"]
    /// Write-only fields: sent, never read back as sent.
    static let writeOnly: Set<String> = ["plain", "encrypted"]

    /// Notes a write that was sent (run mode only), to be verified when the step ends.
    func note(method: String, path: String, body: JSON?, before: JSON?, sensitive: Set<String>,
              opts: [String: JSON], recordIndex: Int) {
        guard let body, let (readPath, selector, absentOK) = Self.target(method: method, path: path, body: body, opts: opts) else { return }
        pending.withLock { pending in
            pending.append(Pending(recordIndex: recordIndex, readPath: readPath, selector: selector, before: before,
                                   sent: body, sensitive: sensitive, absentOK: absentOK))
        }
    }

    /// Where a write is read back from, or nil when it is not verified.
    static func target(method: String, path: String, body: JSON, opts: [String: JSON]) -> (String, Selector, Bool)? {
        let m = method.uppercased()
        guard m == "PUT" || m == "POST" else { return nil }
        var absentOK = false
        var override: String?
        switch opts["verify"] {
        case .bool(false)?: return nil
        case .object(let o)?:
            absentOK = o["absent_ok"]?.boolValue ?? false
            override = o["path"]?.stringValue
        default: break
        }
        let sub = subpath(path)
        if sub == "settings/license" || sub == "authenticate" || sub == "signup" { return nil }
        let selector: Selector
        var read = sub
        switch sub {
        case "users":
            guard let name = body["username"]?.stringValue else { return nil }
            selector = .item(list: nil, field: "username", value: name)
        case "groups":
            guard let name = body["groupName"]?.stringValue else { return nil }
            selector = .item(list: nil, field: "groupName", value: name)
        case let s where s.hasPrefix("groups/") && m == "PUT":
            let id = String(s.dropFirst(7))
            read = "groups"
            selector = .item(list: nil, field: "_id", value: id.removingPercentEncoding ?? id)
        case let s where s.hasPrefix("policies/runtime/") && m == "POST":
            guard let name = body["name"]?.stringValue else { return nil }
            selector = .item(list: "rules", field: "name", value: name)
        default:
            selector = .whole
        }
        if let override { read = override }
        return (read, selector, absentOK)
    }

    /// `settings/logon` for `settings/logon`, `/api/v1/settings/logon` and `/api/v34.04/...`.
    static func subpath(_ path: String) -> String {
        guard path.hasPrefix("/") else { return path }
        let parts = path.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: true)
        if parts.count == 3, parts[0] == "api", parts[1].hasPrefix("v") { return String(parts[2]) }
        return path
    }

    /// Reads back what the step wrote and records what the console did not keep. Returns the
    /// number of fields not kept.
    @discardableResult
    func flush(_ ctx: JobContext) -> Int {
        let items = pending.withLock { pending -> [Pending] in
            defer { pending.removeAll() }
            return pending
        }
        guard !items.isEmpty else { return 0 }
        var order: [String] = []
        var byPath: [String: [Pending]] = [:]
        for p in items {
            if byPath[p.readPath] == nil { order.append(p.readPath) }
            byPath[p.readPath, default: []].append(p)
        }
        var total = 0
        for readPath in order {
            let answer: JSON
            do {
                let resp = try ctx.console.request(method: "GET", path: readPath, body: nil)
                guard resp.ok else {
                    ctx.log.log(.warn, "could not read \(ctx.console.apiPath(readPath)) back to check what was written: \(resp.status) \(resp.message)", step: ctx.step)
                    continue
                }
                answer = resp.bodyText.isEmpty ? .null : ((try? JSON.parse(resp.bodyText)) ?? .string(resp.bodyText))
            } catch {
                ctx.log.log(.warn, "could not read \(ctx.console.apiPath(readPath)) back to check what was written: \(error)", step: ctx.step)
                continue
            }
            for p in byPath[readPath] ?? [] {
                let found = Self.select(p.selector, in: answer)
                var out: [NotKept] = []
                if found == nil {
                    if p.absentOK { continue }
                    out.append(NotKept(components: [], sent: p.sent, got: nil))
                } else {
                    Self.compare(before: p.before, sent: p.sent, got: found, path: [], sensitive: p.sensitive, into: &out)
                }
                guard !out.isEmpty else { continue }
                let masked = out.map { mask($0, sensitive: p.sensitive, redactor: ctx.redactor) }
                if let record = ctx.ledger.setNotKept(masked, at: p.recordIndex) { render(ctx, record) }
                total += masked.count
            }
        }
        return total
    }

    private func mask(_ n: NotKept, sensitive: Set<String>, redactor: Redactor) -> NotKept {
        let whole = Ledger.isSensitivePath(n.components, extra: sensitive)
        func clean(_ v: JSON?) -> JSON? {
            guard let v else { return nil }
            if whole && !v.isNull { return .string(Redactor.mask) }
            return redactor.redact(v, extraFields: sensitive)
        }
        return NotKept(components: n.components, sent: clean(n.sent), got: clean(n.got))
    }

    private func render(_ ctx: JobContext, _ r: WriteRecord) {
        if ctx.log.format == .json {
            ctx.log.print("", event: "notKept", fields: ["step": .string(r.step), "object": .string(r.object),
                                                         "method": .string(r.method), "target": .string(r.target),
                                                         "notKept": .array(r.notKept.map(\.json))])
            return
        }
        for line in Self.lines(r) { ctx.log.print(line) }
    }

    /// `    ⚠ user alice (POST /api/v1/users) not kept by the console: role (sent "x", console has "y")`
    static func lines(_ r: WriteRecord, limit: Int = 20) -> [String] {
        var out = r.notKept.prefix(limit).map { n in
            "    ⚠ \(r.object) (\(r.method) \(r.target)) not kept by the console: \(n.path.isEmpty ? "(whole object)" : n.path) "
                + "(sent \(n.sent.map { Ledger.short($0) } ?? "nothing"), console has \(n.got.map { Ledger.short($0) } ?? "nothing"))"
        }
        if r.notKept.count > limit { out.append("    … and \(r.notKept.count - limit) more fields not kept (see --report-json)") }
        return out
    }

    // MARK: Comparison

    static func select(_ s: Selector, in answer: JSON) -> JSON? {
        switch s {
        case .whole:
            return answer
        case .item(let list, let field, let value):
            let container = list.map { answer[$0] ?? .null } ?? answer
            return container.arrayValue?.first { $0[field]?.stringValue == value }
        }
    }

    /// A zero value: what Go marshals for a field nothing was stored in, or what an omitempty
    /// field leaves out.
    static func isZero(_ v: JSON?) -> Bool {
        guard let v else { return true }
        switch v {
        case .null: return true
        case .bool(let b): return !b
        case .string(let s): return s.isEmpty || s.hasPrefix("0001-01-01T00:00:00")
        case .array(let a): return a.isEmpty
        case .object(let o): return o.isEmpty
        default: return v.doubleValue == 0
        }
    }

    static func skipped(_ key: String, sensitive: Set<String>) -> Bool {
        stamps.contains(key) || writeOnly.contains(key) || Redactor.isSensitive(key, extra: sensitive)
    }

    /// The unique string identity field shared by every element, as `JSON.diff` matches them.
    static func identityField(_ elements: [JSON]) -> String? {
        guard !elements.isEmpty else { return nil }
        for field in JSON.diffIdentityKeys {
            var seen = Set<String>()
            if elements.allSatisfy({ e in e[field]?.stringValue.map { seen.insert($0).inserted } ?? false }) { return field }
        }
        return nil
    }

    static func compare(before: JSON?, sent: JSON, got: JSON?, path: [JSONPathComponent], sensitive: Set<String>, into out: inout [NotKept]) {
        if let before, before.isEquivalent(to: sent) { return } // not forced by this write
        switch sent {
        case .object(let o):
            guard case .object(let g)? = got else {
                if isZero(sent) && isZero(got) { return }
                out.append(NotKept(components: path, sent: sent, got: got))
                return
            }
            for key in o.keys.sorted() where !skipped(key, sensitive: sensitive) {
                compare(before: before?[key], sent: o[key]!, got: g[key], path: path + [.key(key)],
                        sensitive: sensitive, into: &out)
            }
            // A field the write removed that the console still holds.
            if case .object(let b)? = before {
                for key in b.keys.sorted() where o[key] == nil && !skipped(key, sensitive: sensitive) {
                    if let kept = g[key], !isZero(kept), !isZero(b[key]) {
                        out.append(NotKept(components: path + [.key(key)], sent: nil, got: kept))
                    }
                }
            }
        case .array(let a):
            guard case .array(let ga)? = got else {
                if isZero(sent) && isZero(got) { return }
                out.append(NotKept(components: path, sent: sent, got: got))
                return
            }
            if let field = identityField(a) {
                let beforeItems = before?.arrayValue ?? []
                for element in a {
                    let id = element[field]!.stringValue!
                    let sub = path + [.element(field: field, value: id)]
                    let was = beforeItems.first { $0[field]?.stringValue == id }
                    guard let kept = ga.first(where: { $0[field]?.stringValue == id }) else {
                        out.append(NotKept(components: sub, sent: element, got: nil))
                        continue
                    }
                    compare(before: was, sent: element, got: kept, path: sub, sensitive: sensitive, into: &out)
                }
            } else if a.count != ga.count {
                out.append(NotKept(components: path, sent: sent, got: got))
            } else {
                let b = before?.arrayValue
                for i in a.indices {
                    compare(before: b.flatMap { i < $0.count ? $0[i] : nil }, sent: a[i], got: ga[i],
                            path: path + [.index(i)], sensitive: sensitive, into: &out)
                }
            }
        default:
            if let got, sent.isEquivalent(to: got) { return }
            if isZero(sent) && isZero(got) { return }
            out.append(NotKept(components: path, sent: sent, got: got))
        }
    }
}
