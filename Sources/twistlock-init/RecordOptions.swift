import ArgumentParser
import Foundation
import TwistlockInit

/// What `run` keeps and what `run`/`plan` record for cluster tools: the backup (a file, or one
/// of the chart's backup Secrets), the status ConfigMap and the Event (Sources/TwistlockInit/
/// Backup.swift, RunRecorder.swift).
struct RecordOptions: ParsableArguments {
    @Option(name: .customLong("backup"), help: ArgumentHelp("run: write, for each object written, the console's object as read before and what was sent, to this file (mode 0600; a symbolic link is refused). Holds secrets. `undo --backup FILE` reads it.", valueName: "file"))
    var backup: String?

    @Option(name: .customLong("backup-secret"), help: ArgumentHelp("run: keep the backup in this Secret (repeatable: the Secrets take turns, the oldest backup is replaced; get and patch on each).", valueName: "name"))
    var backupSecrets: [String] = []

    @Option(name: .customLong("record-status"), help: ArgumentHelp("Record the outcome (time, mode, result, drifted objects, exit code) in this ConfigMap's data (server-side apply; get and patch on it).", valueName: "configmap"))
    var recordStatus: String?

    @Option(name: .customLong("record-event"), help: ArgumentHelp("Record the outcome as a Kubernetes Event on this CronJob: Warning when drift was found or repaired, with the objects (create events; get on the CronJob).", valueName: "cronjob"))
    var recordEvent: String?

    @Option(name: .customLong("record-namespace"), help: ArgumentHelp("Namespace of the status ConfigMap, the CronJob and the backup Secrets (default: the kubeconfig's; in a pod, its own).", valueName: "namespace"))
    var recordNamespace: String?

    var recording: RunRecording {
        var r = RunRecording()
        r.statusConfigMap = recordStatus
        r.eventCronJob = recordEvent
        r.backupSecrets = backupSecrets
        r.namespace = recordNamespace
        return r
    }

    /// Checked before anything is sent: a problem is printed and ends the command with exit 2
    /// (invalid input, nothing sent), as bad values do.
    func check(mode: JobMode) throws {
        do {
            try validateFlags(mode: mode)
        } catch {
            FileHandle.standardError.write(Data("✘ \(error)\n".utf8))
            throw ExitCode(JobExitCode.invalidInput)
        }
    }

    private func validateFlags(mode: JobMode) throws {
        if mode == .plan, backup != nil || !backupSecrets.isEmpty {
            throw ValidationError("--backup and --backup-secret are for run: plan writes nothing")
        }
        for (flag, value) in [("--record-status", recordStatus), ("--record-event", recordEvent), ("--record-namespace", recordNamespace)] {
            if let v = value, !RecordOptions.isName(v) {
                throw ValidationError("\(flag) \(v): not a Kubernetes object name (lower case letters, digits, '-' and '.')")
            }
        }
        for v in backupSecrets where !RecordOptions.isName(v) {
            throw ValidationError("--backup-secret \(v): not a Kubernetes object name (lower case letters, digits, '-' and '.')")
        }
        if let backup {
            do {
                try Backup.checkDestination(URL(fileURLWithPath: backup))
            } catch {
                throw ValidationError("\(error)")
            }
        }
    }

    static func isName(_ s: String) -> Bool {
        s.count <= 253 && s.range(of: "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", options: .regularExpression) != nil
    }

    var keepsBackup: Bool { backup != nil || !backupSecrets.isEmpty }

    /// After the run: the backup, then the status and the Event. `exitCode` is the command's
    /// (plan --detailed-exitcode: 2 when something would change); it is recorded, and returned
    /// unless a backup or record could not be written: then exit 1, unless it failed already.
    func finish(_ report: JobReport, exitCode: Int32, options: JobOptions, log: JobLog) -> Int32 {
        var code = exitCode
        let failedAlready = report.exitCode != JobExitCode.done
        func fail(_ message: String) {
            log.log(.error, message)
            if !failedAlready { code = JobExitCode.stepFailed }
        }
        let backupData = Backup(console: options.consoleURL, objects: report.replaced)
        if let backup {
            do {
                try backupData.write(to: URL(fileURLWithPath: backup))
                log.log(.info, "backup of \(report.replaced.count) write\(report.replaced.count == 1 ? "" : "s") in \(backup) (undo --backup \(backup))")
            } catch {
                fail("\(error)")
            }
        }
        let recording = self.recording
        guard !backupSecrets.isEmpty || recordStatus != nil || recordEvent != nil else { return code }
        let client: KubeClient
        do {
            client = try RunRecorder.client(kubeconfig: options.kubeconfig)
        } catch {
            fail("recording the outcome: Kubernetes: \(error)")
            return code
        }
        defer { client.close() }
        if !backupSecrets.isEmpty {
            do {
                let name = try RunRecorder.storeBackup(backupData, secrets: backupSecrets, namespace: recordNamespace, client: client)
                log.log(.info, "backup of \(report.replaced.count) write\(report.replaced.count == 1 ? "" : "s") in Secret \(name)")
            } catch {
                fail("\(error)")
            }
        }
        for problem in RunRecorder.record(report, exitCode: exitCode, recording: recording, client: client, redactor: log.redactor) {
            fail(problem)
        }
        return code
    }
}
