import Foundation
import JSONModel

/// The probe's clean-up (`ConsoleProbe` with `--scratch`): puts back what the probe changed,
/// removes what it created, then reads the console again. Every request that fails is a
/// problem of the report, never an error: the clean-up goes on with the next object.
struct ProbeCleanUp {
    let client: ConsoleClient
    let redactor: Redactor
    let record: ConsoleProbe.ScratchRecord
    let scratchPrefix: String
    /// The console as the remove commands name it.
    let base: String
    var report: ProbeReport

    /// Policies first (their rule), then users, groups and settings as read before; then the
    /// verification.
    mutating func run() {
        restorePolicies()
        deleteScratch("users", names: record.users)
        deleteScratch("groups", names: record.groups)
        restoreSettings()
        verify()
    }

    /// Verify: the users and groups other than this run's are as listed before the first
    /// write, no object of this run is listed any more, the settings are as read before.
    mutating func verify() {
        compareLists()
        findLeftovers()
        compareSettings()
    }

    private mutating func send(_ method: String, _ path: String, _ body: JSON? = nil, idempotent: Bool? = nil) -> ConsoleResponse? {
        do {
            return try client.request(method: method, path: path, body: body, idempotent: idempotent)
        } catch {
            report.problems.append(redactor.redact("clean-up: \(error)"))
            return nil
        }
    }

    private func encoded(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? s
    }

    /// Each changed policy put back as read before, if the probe's rule is still in it.
    private mutating func restorePolicies() {
        for (path, (original, rule)) in record.policies.sorted(by: { $0.key < $1.key }) {
            guard let now = send("GET", path), now.ok, let j = now.json else {
                report.leftovers.append("\(path): could not be read back; if it has a rule \(rule), remove that rule (e.g. in the console's UI)")
                continue
            }
            let has = (j["rules"]?.arrayValue ?? []).contains { $0["name"]?.stringValue == rule }
            if has {
                let r = send("PUT", path, original)
                if r?.ok != true {
                    report.leftovers.append("\(path): the rule \(rule) is still there; remove it in the console's UI (the probe's PUT of the policy as read before was answered \(r.map { String($0.status) } ?? "nothing"))")
                    continue
                }
            }
            if let after = send("GET", path)?.json, !after.isEquivalent(to: original) {
                report.differences.append("\(path) differs from before: \(ConsoleProbe.differingPaths(original, after).joined(separator: ", "))")
            }
        }
    }

    /// The scratch users or groups deleted (gone already counts as deleted).
    private mutating func deleteScratch(_ list: String, names: [String]) {
        for name in names {
            let r = send("DELETE", "\(list)/" + encoded(name))
            if let r, r.ok || r.status == 404 { continue }
            report.leftovers.append(ConsoleProbe.removeCommand("\(list)/\(encoded(name))", base: base))
        }
    }

    /// Each changed settings object posted back as read before, unless it reads so already.
    private mutating func restoreSettings() {
        for (name, original) in record.settings.sorted(by: { $0.key < $1.key }) {
            let path = "settings/" + name
            let now = send("GET", path)?.json
            if let now, now.isEquivalent(to: original) { continue }
            // The whole settings object as read before: repeatable.
            let r = send("POST", path, original, idempotent: true)
            if r?.ok != true {
                report.leftovers.append("\(path): could not be put back as it was; set it again in the console's UI (Manage > Authentication)")
            }
        }
    }

    /// The users and groups other than this run's, against their lists before the first write.
    private mutating func compareLists() {
        for (list, before) in record.listsBefore.sorted(by: { $0.key < $1.key }) {
            guard let now = send("GET", list)?.json?.arrayValue else { continue }
            let nameKey = list == "users" ? "username" : "groupName"
            let others = { [scratchPrefix] (items: [JSON]) -> [String: JSON] in
                var out: [String: JSON] = [:]
                for i in items {
                    let n = i[nameKey]?.stringValue ?? ""
                    if !n.hasPrefix(scratchPrefix) { out[n] = i }
                }
                return out
            }
            let (b, a) = (others(before), others(now))
            let changed = Set(b.keys).union(a.keys).filter { n in
                guard let x = b[n], let y = a[n] else { return true }
                return !x.isEquivalent(to: y)
            }
            if !changed.isEmpty {
                report.differences.append("\(list) differ from before: \(changed.sorted().joined(separator: ", "))")
            }
        }
    }

    /// Any user or group of this run still listed, with the command that removes it.
    private mutating func findLeftovers() {
        if let users = send("GET", "users")?.json?.arrayValue {
            for u in users where (u["username"]?.stringValue ?? "").hasPrefix(scratchPrefix) {
                let n = u["username"]!.stringValue!
                addLeftover("users/\(encoded(n))")
            }
        }
        if let groups = send("GET", "groups")?.json?.arrayValue {
            for g in groups where (g["groupName"]?.stringValue ?? "").hasPrefix(scratchPrefix) {
                let n = g["_id"]?.stringValue ?? g["groupName"]!.stringValue!
                addLeftover("groups/\(encoded(n))")
            }
        }
    }

    private mutating func addLeftover(_ path: String) {
        if !report.leftovers.contains(where: { $0.contains(path) }) {
            report.leftovers.append(ConsoleProbe.removeCommand(path, base: base))
        }
    }

    private mutating func compareSettings() {
        for (name, original) in record.settings {
            if let now = send("GET", "settings/" + name)?.json, !now.isEquivalent(to: original) {
                report.differences.append("settings/\(name) differs from before: \(ConsoleProbe.differingPaths(original, now).joined(separator: ", "))")
            }
        }
    }
}
