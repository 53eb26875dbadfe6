import Foundation
import JSONModel
import KubeSimulator
import TwistlockInit
import XCTest

/// Issue 17: a scheduled run records its outcome where cluster tools see it — an Event on the
/// CronJob and the last result in the status ConfigMap — against the Kubernetes simulator.
final class DriftRecordTests: XCTestCase {
    static let namespace = "twistlock"
    static let cronJob = "tl-twistlock-init-drift"
    static let statusMap = "tl-twistlock-init-drift-status"
    static let values = "console: {options: {enabled: true}}\npolicies: {enabled: true, name: Drift}"

    /// The chart's objects: the CronJob and the (empty) status ConfigMap.
    func seedChartObjects(_ kube: KubeSimulator) throws {
        try kube.seed(["apiVersion": "batch/v1", "kind": "CronJob",
                       "metadata": ["name": .string(DriftRecordTests.cronJob), "namespace": .string(DriftRecordTests.namespace)],
                       "spec": ["schedule": "0 * * * *"]])
        try kube.seed(["apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": ["name": .string(DriftRecordTests.statusMap), "namespace": .string(DriftRecordTests.namespace),
                                    "labels": ["app.kubernetes.io/managed-by": "Helm"]]])
    }

    func client(_ kube: KubeSimulator) throws -> KubeClient {
        try KubeClient(config: KubeConfig(server: kube.baseURL, token: kube.options.token, namespace: DriftRecordTests.namespace))
    }

    func recording() -> RunRecording {
        var r = RunRecording()
        r.statusConfigMap = DriftRecordTests.statusMap
        r.eventCronJob = DriftRecordTests.cronJob
        return r
    }

    /// Records as the chart's CronJob does: a plan with --detailed-exitcode.
    func record(_ report: JobReport, _ kube: KubeSimulator, redactor: Redactor = Redactor()) async throws -> [String] {
        let c = try client(kube)
        let recording = self.recording()
        let exitCode = report.mode == .plan ? report.detailedExitCode : report.exitCode
        return await withCheckedContinuation { cont in
            Thread {
                let problems = RunRecorder.record(report, exitCode: exitCode, recording: recording, client: c, redactor: redactor)
                c.close()
                cont.resume(returning: problems)
            }.start()
        }
    }

    func events(_ kube: KubeSimulator) -> [JSON] {
        kube.objects(kind: "Event").sorted { ($0["metadata"]?["name"]?.stringValue ?? "") < ($1["metadata"]?["name"]?.stringValue ?? "") }
    }

    func status(_ kube: KubeSimulator) -> [String: JSON] {
        kube.object(apiVersion: "v1", kind: "ConfigMap", namespace: DriftRecordTests.namespace,
                    name: DriftRecordTests.statusMap)?["data"]?.objectValue ?? [:]
    }

    func testAScheduledPlanOnAConsoleChangedByHandRecordsTheDrift() async throws {
        let h = try await StepHarness.start(kube: true)
        defer { Task { await h.stop() } }
        let kube = try XCTUnwrap(h.kube)
        try seedChartObjects(kube)
        let cronUID = kube.object(apiVersion: "batch/v1", kind: "CronJob", namespace: DriftRecordTests.namespace,
                                  name: DriftRecordTests.cronJob)?["metadata"]?["uid"]?.stringValue
        // Installed: the job configured the console.
        let first = try await h.run(values: DriftRecordTests.values)
        XCTAssertEqual(first.report.exitCode, 0, first.output)

        // A scheduled plan with nothing changed: a Normal event, no drift in the ConfigMap.
        let clean = try await h.run(values: DriftRecordTests.values, mode: .plan)
        XCTAssertEqual(RunRecorder.driftedObjects(clean.report), [], clean.output)
        XCTAssertEqual(clean.report.detailedExitCode, 0)
        let cleanProblems = try await record(clean.report, kube)
        XCTAssertEqual(cleanProblems, [])
        XCTAssertEqual(events(kube).count, 1)
        XCTAssertEqual(events(kube).last?["type"]?.stringValue, "Normal")
        XCTAssertEqual(events(kube).last?["reason"]?.stringValue, "NoDrift")
        XCTAssertEqual(status(kube)["driftedCount"], "0")
        XCTAssertEqual(status(kube)["mode"], "plan")

        // By hand: telemetry on, basic auth off, a rule of the job's policy edited.
        let (_, telemetry) = try await h.api("GET", "settings/telemetry")
        guard case .object(var t)? = telemetry else { throw HardeningError("telemetry") }
        t["enabled"] = true
        try Hardening.expectOK(await h.api("POST", "settings/telemetry", .object(t)), "telemetry")
        let (_, logon) = try await h.api("GET", "settings/logon")
        guard case .object(var l)? = logon else { throw HardeningError("logon") }
        l["basicAuthDisabled"] = true
        try Hardening.expectOK(await h.api("POST", "settings/logon", .object(l)), "logon")
        let (_, images) = try await h.api("GET", "policies/vulnerability/images")
        guard case .object(var p)? = images, case .array(var rules)? = p["rules"],
              let i = rules.firstIndex(where: { $0["name"]?.stringValue?.hasPrefix("Drift") ?? false }),
              case .object(var rule) = rules[i] else { throw HardeningError("images policy") }
        rule["onlyFixed"] = .bool(!(rule["onlyFixed"]?.boolValue ?? false))
        rules[i] = .object(rule)
        p["rules"] = .array(rules)
        try Hardening.expectOK(await h.api("PUT", "policies/vulnerability/images", .object(p)), "images")

        let plan = try await h.run(values: DriftRecordTests.values, mode: .plan)
        XCTAssertEqual(plan.report.exitCode, 0, plan.output)
        let planProblems = try await record(plan.report, kube)
        XCTAssertEqual(planProblems, [])
        let drifted = RunRecorder.driftedObjects(plan.report)
        XCTAssertEqual(Set(drifted).count, 3, "\(drifted)")
        XCTAssertTrue(drifted.contains("telemetry settings") && drifted.contains("logon settings"), "\(drifted)")

        let warning = try XCTUnwrap(events(kube).first { $0["reason"]?.stringValue == "DriftFound" })
        XCTAssertEqual(warning["type"]?.stringValue, "Warning")
        XCTAssertEqual(warning["involvedObject"]?["kind"]?.stringValue, "CronJob")
        XCTAssertEqual(warning["involvedObject"]?["name"]?.stringValue, DriftRecordTests.cronJob)
        XCTAssertEqual(warning["involvedObject"]?["uid"]?.stringValue, cronUID, "kubectl describe cronjob finds it by uid")
        let message = warning["message"]?.stringValue ?? ""
        for object in drifted { XCTAssertTrue(message.contains(object), "\(object) in \(message)") }
        XCTAssertTrue(message.hasPrefix("plan: drift found; 3 objects would change"), message)

        let data = status(kube)
        XCTAssertEqual(data["mode"], "plan")
        XCTAssertEqual(data["result"], "drift found")
        XCTAssertEqual(data["exitCode"], "2", "plan --detailed-exitcode: something would change")
        XCTAssertEqual(data["driftedCount"], "3")
        XCTAssertEqual(Set((data["drifted"]?.stringValue ?? "").split(separator: "\n").map(String.init)), Set(drifted))
        XCTAssertNotNil(data["time"]?.stringValue.flatMap { ISO8601DateFormatter.withFraction.date(from: $0) })
        // The chart's own fields of the ConfigMap are kept (a server-side apply of data only).
        XCTAssertEqual(kube.object(apiVersion: "v1", kind: "ConfigMap", namespace: DriftRecordTests.namespace,
                                   name: DriftRecordTests.statusMap)?["metadata"]?["labels"]?["app.kubernetes.io/managed-by"], "Helm")

        // The plan wrote nothing; a scheduled run repairs it and says so.
        let run = try await h.run(values: DriftRecordTests.values)
        XCTAssertEqual(Set(RunRecorder.driftedObjects(run.report)), Set(drifted))
        let runProblems = try await record(run.report, kube)
        XCTAssertEqual(runProblems, [])
        XCTAssertEqual(events(kube).filter { $0["reason"]?.stringValue == "DriftRepaired" }.first?["type"]?.stringValue, "Warning")
        XCTAssertEqual(status(kube)["result"], "drift repaired")
        XCTAssertEqual(status(kube)["mode"], "run")
        XCTAssertEqual(events(kube).count, 3, "one Event per run")
        // Only what the RBAC allows was asked: get/patch of the ConfigMap, get of the CronJob,
        // create of events (and discovery).
        let calls = Set(kube.objectRequests.map { r -> String in
            let parts = r.path.split(separator: "/")
            return "\(r.method) \(r.method == "POST" ? parts[parts.count - 1] : parts[parts.count - 2])"
        })
        XCTAssertEqual(calls, ["GET configmaps", "PATCH configmaps", "GET cronjobs", "POST events"])
    }

    func testAFailedRunIsAWarningAndTheRecordNeverHoldsASecret() async throws {
        let h = try await StepHarness.start(kube: true)
        defer { Task { await h.stop() } }
        let kube = try XCTUnwrap(h.kube)
        try seedChartObjects(kube)
        var report = JobReport(mode: .run)
        report.exitCode = JobExitCode.stepFailed
        let redactor = Redactor(secrets: ["Sup3r-secret-object-name"])
        // A custom step naming an object after a secret (it should not, but the record masks it).
        report.writes = [WriteRecord(step: "custom", object: "user Sup3r-secret-object-name", method: "PUT",
                                     target: "/api/v1/users", changes: [], planned: false, status: 200)]
        let failedProblems = try await record(report, kube, redactor: redactor)
        XCTAssertEqual(failedProblems, [])
        let event = try XCTUnwrap(events(kube).first)
        XCTAssertEqual(event["type"]?.stringValue, "Warning")
        XCTAssertEqual(event["reason"]?.stringValue, "RunFailed")
        XCTAssertFalse(event.encoded().contains("Sup3r-secret"), event.encoded())
        XCTAssertFalse(status(kube).description.contains("Sup3r-secret"))
        XCTAssertEqual(status(kube)["exitCode"], "1")
    }

    func testRecordingProblemsAreReportedNamingTheFlag() async throws {
        let h = try await StepHarness.start(kube: true)
        defer { Task { await h.stop() } }
        let kube = try XCTUnwrap(h.kube)
        // No CronJob: the Event still goes out (found by name), the missing uid is not an error;
        // a ConfigMap the job may not patch (403) is reported naming --record-status.
        kube.inject(KubeFault(status: 403, resource: "configmaps", method: "PATCH"))
        kube.inject(KubeFault(status: 403, resource: "events", method: "POST"))
        let problems = try await record(JobReport(mode: .plan), kube)
        XCTAssertEqual(problems.count, 2, "\(problems)")
        XCTAssertTrue(problems[0].hasPrefix("--record-status \(DriftRecordTests.statusMap): "), problems[0])
        XCTAssertTrue(problems[0].contains("403"), problems[0])
        XCTAssertTrue(problems[1].hasPrefix("--record-event \(DriftRecordTests.cronJob): "), problems[1])
    }

    func testBackupSecretsTakeTurnsOldestReplaced() async throws {
        let h = try await StepHarness.start(kube: true)
        defer { Task { await h.stop() } }
        let kube = try XCTUnwrap(h.kube)
        let slots = ["tl-backup-0", "tl-backup-1"]
        for s in slots {
            try kube.seed(["apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                           "metadata": ["name": .string(s), "namespace": .string(DriftRecordTests.namespace)]])
        }
        let c = try client(kube)
        defer { c.close() }
        func store(_ n: Int, at offset: Double) async throws -> String {
            let backup = Backup(created: "run \(n)", console: "http://c", objects: [
                ReplacedObject(step: "s", object: "o\(n)", method: "PUT", path: "/api/v1/settings/x", before: ["a": 1], sent: ["a": .int(Int64(n))]),
            ])
            return try await Task.detached {
                try RunRecorder.storeBackup(backup, secrets: slots, namespace: nil, client: c, now: Date(timeIntervalSince1970: 1_800_000_000 + offset))
            }.value
        }
        let slot1 = try await store(1, at: 0)
        XCTAssertEqual(slot1, "tl-backup-0")
        let slot2 = try await store(2, at: 10)
        XCTAssertEqual(slot2, "tl-backup-1")
        let slot3 = try await store(3, at: 20)
        XCTAssertEqual(slot3, "tl-backup-0", "the oldest is replaced")
        let slot4 = try await store(4, at: 30)
        XCTAssertEqual(slot4, "tl-backup-1")
        let secret = try XCTUnwrap(kube.object(apiVersion: "v1", kind: "Secret", namespace: DriftRecordTests.namespace, name: "tl-backup-0"))
        let encoded = try XCTUnwrap(secret["data"]?[RunRecorder.backupKey]?.stringValue)
        let text = String(decoding: try XCTUnwrap(Data(base64Encoded: encoded)), as: UTF8.self)
        XCTAssertEqual(try Backup.parse(text, source: "secret").created, "run 3")
        // Too big for a Secret: refused naming the flag, nothing written.
        let huge = Backup(console: "c", objects: [ReplacedObject(step: "s", object: "o", method: "PUT", path: "/api/v1/x", before: nil,
                                                                 sent: .string(String(repeating: "x", count: 1_100_000)))])
        let error: Error? = await Task.detached { () -> Error? in
            do { _ = try RunRecorder.storeBackup(huge, secrets: slots, namespace: nil, client: c); return nil } catch { return error }
        }.value
        XCTAssertTrue("\(error.map { "\($0)" } ?? "")".contains("--backup-secret"), "\(String(describing: error))")
    }
}

extension ISO8601DateFormatter {
    static var withFraction: ISO8601DateFormatter {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f
    }
}
