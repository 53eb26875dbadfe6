import Foundation
import JSONModel

/// Where a run records its outcome for cluster tools (the chart's drift CronJob): the last
/// result in a status ConfigMap (server-side apply of its `data`), a Kubernetes Event on the
/// CronJob, and the run's backup in one of a fixed set of Secrets (the oldest is replaced).
/// Everything goes through the job's Kubernetes client (Kube/KubeClient.swift); the RBAC it
/// needs is: get+patch on the ConfigMap and the backup Secrets by name, get on the CronJob by
/// name, create on events.
public struct RunRecording: Sendable {
    /// The status ConfigMap's name (`--record-status`).
    public var statusConfigMap: String?
    /// The CronJob the Event is about (`--record-event`).
    public var eventCronJob: String?
    /// The Secrets that take turns holding the backups (`--backup-secret`, repeatable).
    public var backupSecrets: [String] = []
    /// The namespace of all of them; nil: the kubeconfig's (in a pod: the service account's).
    public var namespace: String?

    public init() {}

    public var isEmpty: Bool { statusConfigMap == nil && eventCronJob == nil && backupSecrets.isEmpty }
}

public enum RunRecorder {
    /// The annotation on a backup Secret saying when the backup in it was taken.
    public static let backupTimeAnnotation = "twistlock-init.io/backup-created"
    /// The key of the backup in a backup Secret.
    public static let backupKey = "backup.json"
    /// A Secret holds at most 1 MiB; the rest of the object needs a little.
    public static let maxBackupBytes = 1_000_000
    /// Objects named in an Event's message before "and N more".
    static let eventObjects = 10

    /// Objects the console cannot show back, so every run writes them again (the license key):
    /// never drift, never undone.
    public static let writeOnlyPaths: Set<String> = ["/api/v1/settings/license"]

    /// What drifted: the objects the run wrote (run) or would write (plan), once each, in order
    /// — without the write-only ones, which a run sends every time whatever the console holds.
    public static func driftedObjects(_ report: JobReport) -> [String] {
        var seen = Set<String>()
        var out: [String] = []
        for w in report.writes where !writeOnlyPaths.contains(w.target) && seen.insert(w.object).inserted {
            out.append(w.object)
        }
        return out
    }

    /// The outcome in one word, for the ConfigMap and the Event's reason.
    public static func result(_ report: JobReport) -> (reason: String, warning: Bool, text: String) {
        let drifted = driftedObjects(report)
        if report.exitCode != 0 {
            return ("RunFailed", true, "failed (exit \(report.exitCode))")
        }
        if drifted.isEmpty { return ("NoDrift", false, "no drift") }
        return report.mode == .plan ? ("DriftFound", true, "drift found") : ("DriftRepaired", true, "drift repaired")
    }

    /// The Event's message: the mode, the outcome and the objects (at most `eventObjects`).
    public static func message(_ report: JobReport) -> String {
        let drifted = driftedObjects(report)
        let (_, _, text) = result(report)
        var m = "\(report.mode.rawValue): \(text)"
        if !drifted.isEmpty {
            let verb = report.mode == .plan ? "would change" : "changed"
            m += "; \(drifted.count) object\(drifted.count == 1 ? "" : "s") \(verb): "
            m += drifted.prefix(eventObjects).joined(separator: ", ")
            if drifted.count > eventObjects { m += ", and \(drifted.count - eventObjects) more" }
        }
        return m.count > 1000 ? String(m.prefix(999)) + "…" : m
    }

    /// Records the run's outcome as asked; `exitCode` is the command's (default the run's; a
    /// plan with --detailed-exitcode exits 2 when something would change, which is no failure).
    /// Returns the problems (each names what failed).
    public static func record(_ report: JobReport, exitCode: Int32? = nil, recording: RunRecording, client: KubeClient,
                              redactor: Redactor, now: Date = Date()) -> [String] {
        var problems: [String] = []
        let ns = recording.namespace ?? client.config.namespace
        let time = timestamp(now)
        let drifted = driftedObjects(report).map { redactor.redact($0) }
        let (reason, warning, text) = result(report)
        if let name = recording.statusConfigMap {
            let data: [String: JSON] = [
                "time": .string(time), "mode": .string(report.mode.rawValue), "result": .string(text),
                "exitCode": .string(String(exitCode ?? report.exitCode)), "driftedCount": .string(String(drifted.count)),
                "drifted": .string(drifted.joined(separator: "\n")),
            ]
            let doc: JSON = .object([
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": .object(["name": .string(name), "namespace": .string(ns)]),
                "data": .object(data),
            ])
            do {
                _ = try client.apply(doc)
            } catch {
                problems.append("--record-status \(name): \(error)")
            }
        }
        if let cronJob = recording.eventCronJob {
            var involved: [String: JSON] = [
                "apiVersion": "batch/v1", "kind": "CronJob", "name": .string(cronJob), "namespace": .string(ns),
            ]
            do {
                if let live = try client.get(apiVersion: "batch/v1", kind: "CronJob", namespace: ns, name: cronJob),
                   let uid = live["metadata"]?["uid"]?.stringValue {
                    involved["uid"] = .string(uid)
                }
            } catch {
                // The Event still goes out, found by name (kubectl get events --field-selector).
                problems.append("--record-event \(cronJob): reading the CronJob: \(error)")
            }
            let suffix = String(UInt64(now.timeIntervalSince1970 * 1_000_000), radix: 16)
            let event: JSON = .object([
                "apiVersion": "v1", "kind": "Event",
                "metadata": .object(["name": .string("\(cronJob).\(suffix)"), "namespace": .string(ns)]),
                "involvedObject": .object(involved),
                "reason": .string(reason), "type": .string(warning ? "Warning" : "Normal"),
                "message": .string(redactor.redact(message(report))),
                "source": .object(["component": "twistlock-init"]),
                "reportingComponent": "twistlock-init",
                "reportingInstance": .string(ProcessInfo.processInfo.hostName),
                "firstTimestamp": .string(timestamp(now, fraction: false)),
                "lastTimestamp": .string(timestamp(now, fraction: false)), "count": 1,
            ])
            do {
                try client.create(event)
            } catch {
                problems.append("--record-event \(cronJob): \(error)")
            }
        }
        return problems
    }

    /// Stores the backup in the backup Secret holding the oldest backup (or none). Returns the
    /// Secret's name.
    public static func storeBackup(_ backup: Backup, secrets: [String], namespace: String?,
                                   client: KubeClient, now: Date = Date()) throws -> String {
        guard !secrets.isEmpty else { throw BackupError("--backup-secret: no Secret named") }
        let ns = namespace ?? client.config.namespace
        let text = backup.json.encoded() + "\n"
        guard text.utf8.count <= maxBackupBytes else {
            throw BackupError("--backup-secret: the backup is \(text.utf8.count) bytes, more than a Secret holds (\(maxBackupBytes)); keep it in a file with --backup instead")
        }
        var chosen: (name: String, time: String)? = nil
        for name in secrets {
            let live: JSON?
            do {
                live = try client.get(apiVersion: "v1", kind: "Secret", namespace: ns, name: name)
            } catch {
                throw BackupError("--backup-secret \(name): \(error)")
            }
            let taken = live?["metadata"]?["annotations"]?[backupTimeAnnotation]?.stringValue ?? ""
            if chosen == nil || taken < chosen!.time { chosen = (name, taken) }
            if taken.isEmpty { break }
        }
        let name = chosen!.name
        let doc: JSON = .object([
            "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": .object([
                "name": .string(name), "namespace": .string(ns),
                "annotations": .object([backupTimeAnnotation: .string(timestamp(now))]),
            ]),
            "data": .object([backupKey: .string(Data(text.utf8).base64EncodedString())]),
        ])
        do {
            _ = try client.apply(doc)
        } catch {
            throw BackupError("--backup-secret \(name): \(error)")
        }
        return name
    }

    /// A client from `--kubeconfig`, `$KUBECONFIG`, the pod's service account or ~/.kube/config.
    public static func client(kubeconfig: String?) throws -> KubeClient {
        var environment = ProcessInfo.processInfo.environment
        var explicit = kubeconfig
        if let list = explicit, list.contains(":") {
            environment["KUBECONFIG"] = list
            explicit = nil
        }
        let config = try KubeConfig.resolve(explicitPath: explicit, environment: environment)
        return try KubeClient(config: config)
    }

    static func timestamp(_ date: Date, fraction: Bool = true) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = fraction ? [.withInternetDateTime, .withFractionalSeconds] : [.withInternetDateTime]
        return f.string(from: date)
    }
}
