import Foundation
import JobConfig
import JSONModel

/// `twistlock-init undo --backup FILE`: puts each object a run wrote back as the console held
/// it before, but only where the console still holds what the run wrote.
///
/// * Writes to the same object are taken together: the state before the first write is what
///   is put back, the body of the last one is what the console must still hold.
/// * "Still holds" means: every field the run sent has that value now (the console's own
///   stamps — `modified`, `lastModified`, `owner` — aside, and passwords, which it never
///   shows). An object changed since is reported and left alone, unless `force`.
/// * An object the run updated is put back with the same request (method and path) and the
///   earlier object as body; one it created is removed where the API has a delete for it
///   (users, groups), and reported otherwise (the first admin, the license key).
/// * `dryRun` reads and compares but writes nothing, and shows the changes as `plan` does.
/// * Objects are undone newest first. Secrets never reach the output: the values' secrets and
///   every sensitive field of the backup are masked.
public struct UndoOptions: Sendable {
    public var backup: URL
    public var valuesFiles: [URL] = []
    public var sets: [String] = []
    public var secretsDir: URL?
    public var consoleURL = "http://127.0.0.1:8081"
    public var caFile: String?
    public var force = false
    public var dryRun = false
    public var logFormat: LogFormat = .text
    public var requestTimeout: Double = 30
    public var maxRetries = 5
    public var backoffBase: Double = 0.5

    public init(backup: URL) { self.backup = backup }
}

public enum UndoAction: String, Sendable {
    /// Put back (or, in a dry run, would be).
    case restored
    /// Created by the run and deleted (or would be).
    case removed
    /// The console already holds the earlier state: nothing to do.
    case unchanged
    /// Changed since the run: left alone (without --force).
    case changedSince = "changed since the run"
    /// The API cannot undo it (no delete, or the console cannot show the value back).
    case notUndoable = "cannot be undone"
    case failed
}

public struct UndoOutcome: Sendable {
    public let object: String
    public let action: UndoAction
    public let detail: String
}

public struct UndoReport: Sendable {
    public var outcomes: [UndoOutcome] = []
    public var exitCode: Int32 = 0
    public var problems: [String] = []

    public var json: JSON {
        .object([
            "exitCode": .int(Int64(exitCode)),
            "objects": .array(outcomes.map {
                .object(["object": .string($0.object), "action": .string($0.action.rawValue), "detail": .string($0.detail)])
            }),
            "problems": .array(problems.map { .string($0) }),
        ])
    }
}

/// Exit codes of `undo`.
public enum UndoExitCode {
    public static let done: Int32 = 0
    public static let failed: Int32 = 1
    public static let invalidInput: Int32 = 2
    /// Some objects changed since the run were left alone (`--force` puts them back anyway).
    public static let leftAlone: Int32 = 4
}

public final class UndoRunner {
    public let options: UndoOptions
    public let log: JobLog

    public init(options: UndoOptions, log: JobLog) {
        self.options = options
        self.log = log
    }

    /// Fields the console sets itself on every write; not compared.
    static let consoleStamps: Set<String> = ["modified", "lastModified", "owner"]

    /// Whether the console's object holds every field `sent` has, with the same value
    /// (stamps aside; a sensitive field the console does not show back is not compared).
    public static func holds(_ current: JSON?, _ sent: JSON) -> Bool {
        guard let current else { return false }
        switch (sent, current) {
        case (.object(let s), .object(let c)):
            for (k, v) in s where !consoleStamps.contains(k) {
                guard let cv = c[k] else {
                    if v.isNull || Redactor.isSensitive(k, extra: []) { continue }
                    return false
                }
                if !holds(cv, v) { return false }
            }
            return true
        case (.array(let s), .array(let c)):
            guard s.count == c.count else { return false }
            return zip(s, c).allSatisfy { holds($1, $0) }
        default:
            return current.isEquivalent(to: sent)
        }
    }

    /// What one object of the backup is, for reading it back and undoing it.
    enum Target {
        case user(String)
        case group(String)
        case path(String)
    }

    /// One object: its writes in order.
    struct Entry {
        let key: String
        let target: Target?
        /// Why it cannot be undone (nil: it can).
        let notUndoable: String?
        var writes: [ReplacedObject]
        var first: ReplacedObject { writes[0] }
        var last: ReplacedObject { writes[writes.count - 1] }
    }

    static func relative(_ path: String) -> String {
        for prefix in ["/api/v1/", "/api/v34.04/"] where path.hasPrefix(prefix) { return String(path.dropFirst(prefix.count)) }
        return path
    }

    static func entries(_ objects: [ReplacedObject]) -> [Entry] {
        var order: [String] = []
        var byKey: [String: Entry] = [:]
        for o in objects {
            let rel = relative(o.path)
            var target: Target? = nil
            var why: String? = nil
            var key = "\(o.method) \(rel)"
            if o.method == "DELETE" {
                why = "the run deleted it; undo does not recreate deleted objects"
            } else if rel == "signup" {
                why = "the console's first admin account (signup) is not removed by undo"
            } else if RunRecorder.writeOnlyPaths.contains("/api/v1/" + rel) {
                why = "the console cannot show a license key back; the license the run installed stays"
            } else if rel == "users", let name = o.sent?["username"]?.stringValue {
                target = .user(name)
                key = "user \(name)"
            } else if rel == "groups", let name = o.sent?["groupName"]?.stringValue {
                target = .group(name)
                key = "group \(name)"
            } else if rel.hasPrefix("groups/") {
                let id = String(rel.dropFirst("groups/".count)).removingPercentEncoding ?? String(rel.dropFirst(7))
                target = .group(id)
                key = "group \(id)"
            } else if o.before == nil {
                why = "created by the run; the API has no delete for it that undo knows"
            } else {
                target = .path(rel)
                key = "\(o.method) \(rel)"
            }
            if var e = byKey[key] {
                e.writes.append(o)
                byKey[key] = e
            } else {
                order.append(key)
                byKey[key] = Entry(key: key, target: target, notUndoable: why, writes: [o])
            }
        }
        return order.map { byKey[$0]! }
    }

    public func run() -> UndoReport {
        var report = UndoReport()
        guard let (backup, values) = loadInput(&report) else { return report }
        guard let client = makeClient(values: values, report: &report) else { return report }
        defer { client.shutdown() }
        let ledger = Ledger(redactor: log.redactor)
        let verb = options.dryRun ? "undo --dry-run" : "undo"
        log.print("twistlock-init \(verb) of the run of \(backup.created.isEmpty ? "(unknown time)" : backup.created) against \(options.consoleURL)")
        if !backup.console.isEmpty, backup.console != options.consoleURL {
            log.log(.warn, "the backup was taken from \(backup.console), not \(options.consoleURL)")
        }
        for entry in UndoRunner.entries(backup.objects).reversed() {
            let outcome = undo(entry, client: client, ledger: ledger)
            report.outcomes.append(outcome)
            logOutcome(outcome, of: entry)
        }
        conclude(&report, verb: verb)
        return report
    }

    /// The backup and the values (for the credentials), their secrets masked from here on.
    /// nil (the report says why): the input is invalid.
    private func loadInput(_ report: inout UndoReport) -> (Backup, Values)? {
        let redactor = log.redactor
        do {
            let backup = try Backup.read(options.backup)
            for s in backup.secrets { redactor.add(s) }
            let values = try ValuesLoader.load(files: options.valuesFiles, sets: options.sets, secretsDir: options.secretsDir)
            for s in values.secrets { redactor.add(s) }
            return (backup, values)
        } catch {
            report.problems = JobRunner.problemLines(error).map { redactor.redact($0) }
            report.exitCode = UndoExitCode.invalidInput
            log.log(.error, "nothing was sent to the console: the input is invalid")
            for p in report.problems { log.log(.error, p) }
            return nil
        }
    }

    /// The console client with its retry log and the values' credentials. nil (the report
    /// says why): the CA file cannot be used.
    private func makeClient(values: Values, report: inout UndoReport) -> ConsoleClient? {
        var connection = ConsoleConnection(baseURL: options.consoleURL, caFile: options.caFile)
        connection.requestTimeout = options.requestTimeout
        connection.maxRetries = options.maxRetries
        connection.backoffBase = options.backoffBase
        let client: ConsoleClient
        do {
            client = try ConsoleClient(connection: connection, redactor: log.redactor)
        } catch {
            report.problems = ["--ca-file: \(error)"]
            report.exitCode = UndoExitCode.invalidInput
            log.log(.error, report.problems[0])
            return nil
        }
        client.onRetry = { [log] line in log.log(.warn, line) }
        if let user = values.root["console"]?["credentials"]?["username"]?.stringValue,
           let pass = values.root["console"]?["credentials"]?["password"]?.stringValue, !user.isEmpty {
            client.setCredentials(username: user, password: pass)
        }
        return client
    }

    private func logOutcome(_ outcome: UndoOutcome, of entry: Entry) {
        // Put back / removed: the detail says it ("would be put back" in a dry run).
        let said = outcome.action == .restored || outcome.action == .removed
        let line = said ? "\(entry.first.object): \(outcome.detail)"
            : "\(entry.first.object): \(outcome.action.rawValue)\(outcome.detail.isEmpty ? "" : " — \(outcome.detail)")"
        let fields: [String: JSON] = ["object": .string(entry.first.object), "action": .string(outcome.action.rawValue),
                                      "detail": .string(outcome.detail)]
        switch outcome.action {
        case .failed: log.log(.error, line, fields: fields)
        case .changedSince, .notUndoable: log.log(.warn, line, fields: fields)
        default: log.log(.info, line, fields: fields)
        }
    }

    /// The exit code and the summary line.
    private func conclude(_ report: inout UndoReport, verb: String) {
        let outcomes = report.outcomes
        let count = { (a: UndoAction) in outcomes.filter { $0.action == a }.count }
        if count(.failed) > 0 {
            report.exitCode = UndoExitCode.failed
        } else if count(.changedSince) > 0 {
            report.exitCode = UndoExitCode.leftAlone
        }
        let would = options.dryRun ? "would be " : ""
        log.print("\(verb): \(count(.restored)) \(would)put back, \(count(.removed)) \(would)removed, \(count(.unchanged)) already as before, \(count(.changedSince)) changed since the run and left alone, \(count(.notUndoable)) cannot be undone, \(count(.failed)) failed",
                  event: "summary", fields: report.json.objectValue?.filter { $0.key != "objects" } ?? [:])
    }

    /// One object: compared with what the run wrote, then removed (created by the run) or put
    /// back (updated by it).
    private func undo(_ entry: Entry, client: ConsoleClient, ledger: Ledger) -> UndoOutcome {
        let name = entry.first.object
        if let why = entry.notUndoable { return UndoOutcome(object: name, action: .notUndoable, detail: why) }
        guard let target = entry.target, let expected = entry.last.sent else {
            return UndoOutcome(object: name, action: .notUndoable, detail: "the backup holds no body for it")
        }
        let original = entry.first.before
        do {
            let current = try read(target, client: client)
            if let original, let current, UndoRunner.holds(current, original), !UndoRunner.holds(current, expected) {
                return UndoOutcome(object: name, action: .unchanged, detail: "the console already holds the earlier state")
            }
            if original == nil, current == nil {
                return UndoOutcome(object: name, action: .unchanged, detail: "already gone")
            }
            var forced = ""
            if !UndoRunner.holds(current, expected) {
                guard options.force else {
                    let what = current == nil ? "it is gone" : "it no longer holds what the run wrote"
                    return UndoOutcome(object: name, action: .changedSince,
                                       detail: "\(what); left alone (--force puts it back anyway)")
                }
                forced = " (changed since the run; --force)"
            }
            guard let original else {
                return try remove(entry, target: target, current: current, forced: forced, client: client, ledger: ledger)
            }
            return try putBack(entry, original: original, current: current, forced: forced, client: client, ledger: ledger)
        } catch {
            return UndoOutcome(object: name, action: .failed, detail: log.redactor.redact("\(error)"))
        }
    }

    /// Created by the run: removed where the API has a delete for it.
    private func remove(_ entry: Entry, target: Target, current: JSON?, forced: String,
                        client: ConsoleClient, ledger: Ledger) throws -> UndoOutcome {
        let name = entry.first.object
        let path: String
        switch target {
        case .user(let user): path = "users/\(UndoRunner.segment(user))"
        case .group:
            let id = current?["_id"]?.stringValue ?? current?["groupName"]?.stringValue ?? ""
            path = "groups/\(UndoRunner.segment(id))"
        case .path(let p):
            return UndoOutcome(object: name, action: .notUndoable, detail: "created by the run at \(p); no delete known")
        }
        let r = ledger.record(step: "undo", object: name, method: "DELETE", target: client.apiPath(path),
                              before: current, after: nil, sensitive: [], planned: options.dryRun, status: nil)
        if !options.dryRun {
            let resp = try client.request(method: "DELETE", path: path, body: nil)
            guard resp.ok else {
                return UndoOutcome(object: name, action: .failed, detail: "DELETE \(client.apiPath(path)): \(resp.status) \(resp.message)")
            }
        }
        render(r)
        return UndoOutcome(object: name, action: .removed, detail: (options.dryRun ? "would be deleted" : "deleted") + forced)
    }

    /// Updated by the run: the earlier object sent with the run's own request (method and path).
    private func putBack(_ entry: Entry, original: JSON, current: JSON?, forced: String,
                         client: ConsoleClient, ledger: Ledger) throws -> UndoOutcome {
        let name = entry.first.object
        let method = entry.first.method
        let path = UndoRunner.relative(entry.first.path)
        let r = ledger.record(step: "undo", object: name, method: method, target: client.apiPath(path),
                              before: current, after: original, sensitive: [], planned: options.dryRun, status: nil)
        var detail = (options.dryRun ? "would be put back" : "put back") + forced
        if entry.writes.contains(where: { $0.sent?["password"] != nil }) {
            detail += "; its password as the run set it stays (the console never shows a password, so the earlier one is not known)"
        }
        if !options.dryRun {
            // The whole earlier object, to where the run updated it: repeatable.
            let resp = try client.request(method: method, path: path, body: original, idempotent: true)
            guard resp.ok else {
                return UndoOutcome(object: name, action: .failed, detail: "\(method) \(client.apiPath(path)): \(resp.status) \(resp.message)")
            }
        }
        render(r)
        return UndoOutcome(object: name, action: .restored, detail: detail)
    }

    /// The object as the console holds it now (nil: not there).
    private func read(_ target: Target, client: ConsoleClient) throws -> JSON? {
        func get(_ path: String) throws -> JSON {
            let resp = try client.request(method: "GET", path: path, body: nil)
            guard resp.ok else { throw BackupError("GET \(client.apiPath(path)): \(resp.status) \(resp.message)") }
            guard let json = resp.json else { throw BackupError("GET \(client.apiPath(path)): the answer is not JSON") }
            return json
        }
        switch target {
        case .user(let name):
            return (try get("users").arrayValue ?? []).first { $0["username"]?.stringValue == name }
        case .group(let name):
            let groups = try get("groups").arrayValue ?? []
            return groups.first { $0["groupName"]?.stringValue == name } ?? groups.first { $0["_id"]?.stringValue == name }
        case .path(let p):
            let resp = try client.request(method: "GET", path: p, body: nil)
            if resp.status == 404 { return nil }
            guard resp.ok, let json = resp.json else {
                throw BackupError("GET \(client.apiPath(p)): \(resp.status) \(resp.message); cannot check what the console holds")
            }
            return json
        }
    }

    private func render(_ r: WriteRecord) {
        if log.format == .json {
            log.print("", event: "write", fields: r.json.objectValue ?? [:])
        } else {
            for line in Ledger.render(r) { log.print(line) }
        }
    }

    static func segment(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~@")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }
}
