import ConsoleSimulator
import Foundation
import JSONModel
import KubeSimulator
import TwistlockInit
import XCTest

/// The defenders step end to end: the simulated console answers the Defender manifest, the
/// step adjusts and server-side applies it to the simulated Kubernetes API and waits for the
/// rollout.
final class DefenderStepTests: XCTestCase {
    static let values = """
    defender:
      enabled: true
      clusterName: prod-east
      podLabels:
        team: security
        app.kubernetes.io/part-of: twistlock
      resources:
        limits: {memory: 1Gi, cpu: "1"}
        requests: {cpu: 250m}
      tolerations:
      - {operator: Exists, effect: NoSchedule}
      - {key: dedicated, operator: Equal, value: edge, effect: NoExecute, tolerationSeconds: 30}
      image:
        repository: registry1.dso.mil/ironbank/twistlock/defender/defender
    imagePullSecretName: private-registry
    """

    static let kubeOptions = KubeSimulator.Options(token: "step-test-token", nodeCount: 2, rolloutPolls: 2)

    func daemonSet(_ kube: KubeSimulator) -> JSON? {
        kube.object(apiVersion: "apps/v1", kind: "DaemonSet", namespace: "twistlock", name: "twistlock-defender-ds")
    }

    func defenderContainer(_ ds: JSON?) -> JSON? {
        ds?["spec"]?["template"]?["spec"]?["containers"]?.arrayValue?.first { $0["name"] == "twistlock-defender" }
    }

    /// Every object of the Kubernetes simulator except namespaces, with its resourceVersion.
    func versions(_ kube: KubeSimulator) -> [String: String] {
        var out: [String: String] = [:]
        for kind in ["Secret", "ServiceAccount", "Service", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "DaemonSet"] {
            for o in kube.objects(kind: kind) {
                out["\(kind) \(o["metadata"]?["namespace"]?.stringValue ?? "")/\(o["metadata"]?["name"]?.stringValue ?? "")"] =
                    o["metadata"]?["resourceVersion"]?.stringValue
            }
        }
        return out
    }

    /// Makes the simulated console a different installation (new install ID: new Defender
    /// certificates, DEFENDER_CLUSTER_ID, INSTALL_BUNDLE), so its next manifest differs.
    func reinstallConsole(_ h: StepHarness) async throws {
        guard case .object(var state) = try await h.state() else { return XCTFail("no simulator state") }
        state["installedAt"] = .string("2020-01-02T03:04:05Z")
        let status = try await h.send("PUT", "/sim/state", .object(state))
        XCTAssertEqual(status, 200)
    }

    func testDeploysTheAdjustedManifestWaitsForTheRolloutAndASecondRunChangesNothing() async throws {
        let h = try await StepHarness.start(kube: true, kubeOptions: Self.kubeOptions)
        let kube = try XCTUnwrap(h.kube)
        let first = try await h.run(values: Self.values)
        XCTAssertEqual(first.report.exitCode, 0, first.output)
        XCTAssertEqual(first.step("defenders")?.status, .done, first.output)

        // The options reached the console with its own field names: no conformance finding.
        let findings = try await h.findings()
        XCTAssertEqual(findings, [])
        let posted = try await h.requests().filter { ($0["path"]?.stringValue ?? "").hasSuffix("defenders/daemonset.yaml") }
        XCTAssertEqual(posted.count, 1)

        let ds = try XCTUnwrap(daemonSet(kube), first.output)
        let version = try XCTUnwrap(first.output.range(of: "console version ").map { first.output[$0.upperBound...].prefix { !$0.isNewline } })
        let container = try XCTUnwrap(defenderContainer(ds))
        XCTAssertEqual(container["image"]?.stringValue,
                       "registry1.dso.mil/ironbank/twistlock/defender/defender:" + version.replacingOccurrences(of: ".", with: "_"))
        let template = ds["spec"]?["template"]
        XCTAssertEqual(template?["metadata"]?["labels"]?["team"], "security")
        XCTAssertEqual(template?["metadata"]?["labels"]?["app.kubernetes.io/part-of"], "twistlock")
        XCTAssertNil(ds["spec"]?["selector"]?["matchLabels"]?["team"], "pod labels never go into the selector")
        XCTAssertEqual(container["resources"], .object(["limits": .object(["memory": "1Gi", "cpu": "1"]),
                                                        "requests": .object(["cpu": "250m"])]))
        let tolerations = template?["spec"]?["tolerations"]?.arrayValue ?? []
        XCTAssertTrue(tolerations.contains(.object(["operator": "Exists", "effect": "NoSchedule"])), "\(tolerations)")
        XCTAssertTrue(tolerations.contains(.object(["key": "dedicated", "operator": "Equal", "value": "edge",
                                                    "effect": "NoExecute", "tolerationSeconds": 30])), "\(tolerations)")
        XCTAssertEqual(Set(tolerations.map { $0.encoded() }).count, tolerations.count, "no duplicate tolerations")
        let caps = container["securityContext"]?["capabilities"]
        XCTAssertEqual(caps?["drop"], ["ALL"])
        let added = caps?["add"]?.arrayValue?.compactMap(\.stringValue) ?? []
        for cap in ["NET_ADMIN", "NET_RAW", "SYS_ADMIN", "SYS_PTRACE", "SYS_CHROOT", "MKNOD", "SETFCAP", "IPC_LOCK"] {
            XCTAssertEqual(added.filter { $0 == cap }.count, 1, "\(cap) once in \(added)")
        }
        XCTAssertEqual(template?["spec"]?["imagePullSecrets"]?.arrayValue?.filter { $0["name"] == "private-registry" }.count, 1)
        // Everything else the console wrote is still there.
        let env = container["env"]?.arrayValue ?? []
        XCTAssertTrue(env.contains { $0["name"] == "WS_ADDRESS" }, "\(env)")
        XCTAssertFalse(kube.objects(kind: "ServiceAccount").isEmpty)
        XCTAssertFalse(kube.objects(kind: "ClusterRole").isEmpty)
        XCTAssertFalse(kube.objects(kind: "ClusterRoleBinding").isEmpty)
        XCTAssertFalse(kube.objects(kind: "Secret").isEmpty)
        XCTAssertFalse(kube.objects(kind: "Service").isEmpty)
        // The rollout was waited for, with progress lines.
        XCTAssertTrue(first.output.contains("waiting for DaemonSet twistlock/twistlock-defender-ds"), first.output)
        XCTAssertTrue(first.output.contains("DaemonSet twistlock/twistlock-defender-ds rolled out: 2 of 2 updated, 2 available"), first.output)
        XCTAssertTrue(first.output.contains("created DaemonSet twistlock/twistlock-defender-ds"), first.output)
        // Secret data never reaches the output (the diff masks it).
        for secret in kube.objects(kind: "Secret") {
            for (_, v) in secret["data"]?.objectValue ?? [:] {
                XCTAssertFalse(first.output.contains(v.stringValue ?? "-"), "Secret data in the output")
            }
        }
        XCTAssertTrue(kube.requests.allSatisfy { $0.authenticated })

        // A second run: the console answers the same manifest, every object stays unchanged.
        let before = versions(kube)
        XCTAssertGreaterThanOrEqual(before.count, 6)
        let second = try await h.run(values: Self.values)
        XCTAssertEqual(second.report.exitCode, 0, second.output)
        XCTAssertEqual(versions(kube), before)
        XCTAssertTrue(second.output.contains("Defender manifest: 0 created, 0 updated, \(before.count) unchanged"), second.output)
        XCTAssertTrue(second.report.writes.filter { $0.step == "defenders" }.isEmpty, "\(second.report.writes.map(\.object))")

        // What the job sent is valid Kubernetes (strict schemas).
        let sent = kube.requests.filter { $0.method == "PATCH" }.compactMap(\.body)
        try validateWithKubernetesSchemas(sent)
        await h.stop()
    }

    func testPlanModeIsADryRunAndShowsWhatWouldChange() async throws {
        let h = try await StepHarness.start(kube: true, kubeOptions: Self.kubeOptions)
        let kube = try XCTUnwrap(h.kube)
        // The console steps first, for real, so that plan mode can read a configured console.
        _ = try await h.run()
        let objects = kube.objectCount
        let plan = try await h.run(values: Self.values, mode: .plan)
        XCTAssertEqual(plan.report.exitCode, 0, plan.output)
        XCTAssertEqual(kube.objectCount, objects, "plan mode created objects")
        XCTAssertTrue(plan.output.contains("would create DaemonSet twistlock/twistlock-defender-ds"), plan.output)
        XCTAssertFalse(plan.output.contains("waiting for"), plan.output)
        let patches = kube.requests.filter { $0.method == "PATCH" }
        XCTAssertFalse(patches.isEmpty)
        XCTAssertTrue(patches.allSatisfy { $0.dryRun }, "every apply in plan mode is a dry run")
        let planned = plan.report.writes.filter { $0.step == "defenders" }
        XCTAssertTrue(planned.contains { $0.object == "DaemonSet twistlock/twistlock-defender-ds" && $0.planned })

        // Deploy, then plan a change: only the DaemonSet would change, nothing is written.
        let run = try await h.run(values: Self.values, sets: ["defender.waitForRollout=false"])
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        let deployed = versions(kube)
        let changePlan = try await h.run(values: Self.values, sets: ["defender.podLabels.team=platform"], mode: .plan)
        XCTAssertEqual(changePlan.report.exitCode, 0, changePlan.output)
        XCTAssertTrue(changePlan.output.contains("would update DaemonSet twistlock/twistlock-defender-ds"), changePlan.output)
        XCTAssertEqual(versions(kube), deployed)
        let diff = changePlan.report.writes.filter { $0.step == "defenders" }
        XCTAssertEqual(diff.map(\.object), ["DaemonSet twistlock/twistlock-defender-ds"])
        XCTAssertTrue(diff.first?.changes.contains { $0.path.contains("team") && $0.new == "platform" } ?? false,
                      "\(diff.first?.changes ?? [])")
        await h.stop()
    }

    func testANewManifestFromTheConsoleUpdatesOnlyWhatChanged() async throws {
        let h = try await StepHarness.start(kube: true, kubeOptions: Self.kubeOptions)
        let kube = try XCTUnwrap(h.kube)
        let first = try await h.run(values: Self.values, sets: ["defender.waitForRollout=false"])
        XCTAssertEqual(first.report.exitCode, 0, first.output)
        let before = versions(kube)
        // The console's manifest changes (new certificates and install ID): the Secret and the
        // DaemonSet follow it, the rest stays as it is.
        try await reinstallConsole(h)
        let second = try await h.run(values: Self.values)
        XCTAssertEqual(second.report.exitCode, 0, second.output)
        let after = versions(kube)
        let changed = Set(after.keys.filter { after[$0] != before[$0] })
        XCTAssertEqual(changed.filter { $0.hasPrefix("DaemonSet") }.count, 1, "\(changed)")
        XCTAssertTrue(changed.allSatisfy { $0.hasPrefix("DaemonSet") || $0.hasPrefix("Secret") }, "\(changed)")
        XCTAssertTrue(second.output.contains("updated DaemonSet twistlock/twistlock-defender-ds"), second.output)
        let ds = try XCTUnwrap(daemonSet(kube))
        XCTAssertEqual(ds["metadata"]?["generation"], .int(2))
        XCTAssertTrue(second.output.contains("rolled out"), second.output)
        // The diff of the Secret says which keys changed, never their values.
        let secretWrite = second.report.writes.first { $0.object.hasPrefix("Secret ") }
        XCTAssertTrue(secretWrite?.changes.allSatisfy { ($0.new?.stringValue ?? "").hasPrefix("••••••") } ?? true)
        await h.stop()
    }

    func testForbiddenApplyFailsTheStepNamingTheObjectAndTheReason() async throws {
        let h = try await StepHarness.start(kube: true, kubeOptions: Self.kubeOptions)
        let kube = try XCTUnwrap(h.kube)
        kube.inject(KubeFault(status: 403, resource: "daemonsets", method: "PATCH"))
        let run = try await h.run(values: Self.values)
        XCTAssertEqual(run.step("defenders")?.status, .failed, run.output)
        XCTAssertNotEqual(run.report.exitCode, 0)
        let error = run.step("defenders")?.error ?? ""
        XCTAssertTrue(error.contains("apply DaemonSet twistlock/twistlock-defender-ds: 403 Forbidden: "), error)
        XCTAssertTrue(error.contains("cannot patch resource \"daemonsets\""), error)
        await h.stop()
    }

    func testARolloutThatDoesNotFinishFailsAfterTheTimeout() async throws {
        var options = Self.kubeOptions
        options.rolloutPolls = 1
        let h = try await StepHarness.start(kube: true, kubeOptions: options)
        let kube = try XCTUnwrap(h.kube)
        kube.setRollout(unavailableNodes: 1)
        let run = try await h.run(values: Self.values, sets: ["defender.rolloutTimeoutSeconds=2"])
        XCTAssertEqual(run.step("defenders")?.status, .failed, run.output)
        let error = run.step("defenders")?.error ?? ""
        XCTAssertTrue(error.contains("the rollout did not finish within 2 s (defender.rolloutTimeoutSeconds): 2 of 2 updated, 1 available"), error)
        await h.stop()
    }

    func testNoWaitWhenWaitForRolloutIsFalse() async throws {
        let h = try await StepHarness.start(kube: true, kubeOptions: Self.kubeOptions)
        let kube = try XCTUnwrap(h.kube)
        let run = try await h.run(values: Self.values, sets: ["defender.waitForRollout=false"])
        XCTAssertEqual(run.step("defenders")?.status, .done, run.output)
        XCTAssertTrue(run.output.contains("not waiting for the Defender rollout"), run.output)
        // One read of the DaemonSet: the apply's own look at the live object.
        let reads = kube.requests.filter { $0.method == "GET" && $0.path.hasSuffix("/daemonsets/twistlock-defender-ds") }
        XCTAssertEqual(reads.count, 1)
        await h.stop()
    }

    func testCreatesTheNamespaceWhenTheClusterHasNone() async throws {
        var options = Self.kubeOptions
        options.namespaces = ["default", "kube-system"]
        let h = try await StepHarness.start(kube: true, kubeOptions: options)
        let kube = try XCTUnwrap(h.kube)
        _ = try await h.run()  // the console steps, so that plan mode can read the console
        let plan = try await h.run(values: Self.values, mode: .plan)
        XCTAssertEqual(plan.report.exitCode, 0, plan.output)
        XCTAssertTrue(plan.output.contains("would create Namespace twistlock"), plan.output)
        XCTAssertTrue(plan.output.contains("would create DaemonSet twistlock/twistlock-defender-ds"), plan.output)
        XCTAssertNil(kube.object(apiVersion: "v1", kind: "Namespace", namespace: nil, name: "twistlock"))
        let run = try await h.run(values: Self.values)
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        XCTAssertTrue(run.output.contains("created Namespace twistlock"), run.output)
        XCTAssertNotNil(kube.object(apiVersion: "v1", kind: "Namespace", namespace: nil, name: "twistlock"))
        XCTAssertNotNil(daemonSet(kube))
        await h.stop()
    }

    func testWithoutPermissionToReadNamespacesTheStepGoesOn() async throws {
        let h = try await StepHarness.start(kube: true, kubeOptions: Self.kubeOptions)
        let kube = try XCTUnwrap(h.kube)
        kube.inject(KubeFault(status: 403, resource: "namespaces", method: "GET"))
        let run = try await h.run(values: Self.values, sets: ["defender.waitForRollout=false"])
        XCTAssertEqual(run.step("defenders")?.status, .done, run.output)
        XCTAssertTrue(run.output.contains("no permission to read Namespace twistlock: applying into it as it is"), run.output)
        XCTAssertNotNil(daemonSet(kube))
        await h.stop()
    }

    /// The step decides "no permission" from the error's status, not its text: a refusal whose
    /// message reads like a 403 but is another status is reported as a failure to read, and a
    /// 403 with any message is still "no permission".
    func testNoPermissionIsTheStatusNotTheMessage() async throws {
        for (status, message, expected) in [
            (500, "upstream said: 403 forbidden", "cannot read Namespace twistlock ("),
            (403, "namespaces \"twistlock\" is forbidden: User cannot get resource", "no permission to read Namespace twistlock"),
            (403, "", "no permission to read Namespace twistlock"),
        ] {
            let h = try await StepHarness.start(kube: true, kubeOptions: Self.kubeOptions)
            let kube = try XCTUnwrap(h.kube)
            kube.inject(KubeFault(status: status, resource: "namespaces", method: "GET", message: message))
            let run = try await h.run(values: Self.values, sets: ["defender.waitForRollout=false"])
            XCTAssertEqual(run.step("defenders")?.status, .done, run.output)
            XCTAssertTrue(run.output.contains(expected), "\(status) \(message): \(run.output)")
            await h.stop()
        }
    }

    func testProxySettingsReachTheDefendersAndThePasswordStaysSecret() async throws {
        let h = try await StepHarness.start(kube: true, kubeOptions: Self.kubeOptions)
        let kube = try XCTUnwrap(h.kube)
        let password = "Pr0xy-Secret-Value"
        try password.write(to: h.secretsDir.appendingPathComponent("defender.proxy.password"), atomically: true, encoding: .utf8)
        let run = try await h.run(values: """
        defender:
          enabled: true
          waitForRollout: false
          proxy: {address: "http://proxy.internal:3128", username: defender}
        """)
        XCTAssertEqual(run.step("defenders")?.status, .done, run.output)
        let findings = try await h.findings()
        XCTAssertEqual(findings, [])
        XCTAssertFalse(run.output.contains(password))
        // The console put the proxy (common.DefenderProxyOpt) into the Defender's parameters.
        let secret = try XCTUnwrap(kube.objects(kind: "Secret").first { $0["data"]?["service-parameter"] != nil })
        let encoded = try XCTUnwrap(secret["data"]?["service-parameter"]?.stringValue)
        let parameters = try JSON.parse(bytes: [UInt8](try XCTUnwrap(Data(base64Encoded: encoded))))
        XCTAssertEqual(parameters["proxy"]?["httpProxy"], "http://proxy.internal:3128")
        XCTAssertEqual(parameters["proxy"]?["user"], "defender")
        XCTAssertEqual(parameters["proxy"]?["password"], .string(password))
        await h.stop()
    }

    // MARK: - Kubernetes schemas

    /// Writes the documents to a temporary file and runs tools/validate-k8s.py on it.
    func validateWithKubernetesSchemas(_ docs: [JSON]) throws {
        XCTAssertFalse(docs.isEmpty)
        let tool = StepHarness.projectSteps.deletingLastPathComponent().appendingPathComponent("tools/validate-k8s.py")
        guard let python = Self.findExecutable("python3") else { throw XCTSkip("python3 is not installed") }
        if try Self.exec(python, ["-c", "import kubernetes_validate"]).status != 0 {
            throw XCTSkip("kubernetes-validate is not installed (python3 -m pip install kubernetes-validate)")
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("defender-manifest-\(UUID().uuidString).yaml")
        defer { try? FileManager.default.removeItem(at: file) }
        try YAMLCodec.encodeDocuments(docs).write(to: file, atomically: true, encoding: .utf8)
        let result = try Self.exec(python, [tool.path, file.path])
        XCTAssertEqual(result.status, 0, "validate-k8s.py: \(result.output)")
        XCTAssertTrue(result.output.contains("\(docs.count) document(s) valid"), result.output)
    }

    static func findExecutable(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    static func exec(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
