import ConsoleSimulator
import Foundation
import JSONModel
import KubeSimulator
import TwistlockInit
import XCTest

/// The labels of the Defender pods: the Big Bang package's name label (its network policies
/// select the Defenders by it), the top-level `podLabels` and `defender.podLabels` reach the
/// DaemonSet's pod template and its own labels; its selector (immutable) never changes.
final class DefenderLabelsTests: XCTestCase {
    static let kubeOptions = KubeSimulator.Options(token: "labels-test-token", nodeCount: 1, rolloutPolls: 1)

    func daemonSet(_ kube: KubeSimulator, namespace: String = "twistlock") -> JSON? {
        kube.object(apiVersion: "apps/v1", kind: "DaemonSet", namespace: namespace, name: "twistlock-defender-ds")
    }

    func labels(_ json: JSON?) -> [String: String] {
        json?.objectValue?.compactMapValues(\.stringValue) ?? [:]
    }

    func testTheBigBangLabelsAndBothPodLabelsReachTheDefenderPods() async throws {
        let h = try await StepHarness.start(kube: true, kubeOptions: Self.kubeOptions)
        let kube = try XCTUnwrap(h.kube)
        // Kiali-style top-level labels (Big Bang's podLabels), one of them the selector's key.
        let values = """
        podLabels: {app: twistlock, version: "34.01", team: platform}
        defender:
          enabled: true
          podLabels: {team: security, example.com/tier: edge}
        """
        let run = try await h.run(values: values, only: ["wait", "admin", "license", "defenders"])
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        let ds = try XCTUnwrap(daemonSet(kube), run.output)
        let pod = labels(ds["spec"]?["template"]?["metadata"]?["labels"])
        XCTAssertEqual(pod["app.kubernetes.io/name"], "twistlock-defender", "the label Big Bang's network policies select")
        XCTAssertEqual(pod["version"], "34.01")
        XCTAssertEqual(pod["team"], "security", "defender.podLabels wins over podLabels")
        XCTAssertEqual(pod["example.com/tier"], "edge")
        XCTAssertEqual(pod["app"], "twistlock-defender", "the selector's label keeps its value")
        let own = labels(ds["metadata"]?["labels"])
        XCTAssertEqual(own["app.kubernetes.io/name"], "twistlock-defender")
        XCTAssertEqual(own["team"], "security")
        XCTAssertNil(own["app"])
        XCTAssertEqual(ds["spec"]?["selector"], .object(["matchLabels": .object(["app": "twistlock-defender"])]))
        XCTAssertTrue(run.output.contains("kept the selector's app=twistlock-defender"), run.output)
        // The Service the console's manifest adds still selects the pods.
        let service = kube.object(apiVersion: "v1", kind: "Service", namespace: "twistlock", name: "defender")
        let selector = labels(service?["spec"]?["selector"])
        XCTAssertFalse(selector.isEmpty)
        XCTAssertTrue(selector.allSatisfy { pod[$0.key] == $0.value }, "\(selector) vs \(pod)")
        await h.stop()
    }

    /// A second run on the existing DaemonSet with other labels updates the pod template; the
    /// selector is left as it is (Kubernetes refuses a changed selector: the run would fail).
    func testARerunWithNewPodLabelsUpdatesTheExistingDaemonSet() async throws {
        let h = try await StepHarness.start(kube: true, kubeOptions: Self.kubeOptions)
        let kube = try XCTUnwrap(h.kube)
        let only = ["wait", "admin", "license", "defenders"]
        let first = try await h.run(values: "defender: {enabled: true, podLabels: {team: security}}\n", only: only)
        XCTAssertEqual(first.report.exitCode, 0, first.output)
        let before = try XCTUnwrap(daemonSet(kube))
        for values in ["podLabels: {tier: one}\ndefender: {enabled: true, podLabels: {team: platform, zone: b}}\n",
                       "podLabels: {app.kubernetes.io/name: defender, tier: two}\ndefender: {enabled: true}\n"] {
            let again = try await h.run(values: values, only: only)
            XCTAssertEqual(again.report.exitCode, 0, again.output)
            XCTAssertTrue(again.output.contains("updated DaemonSet twistlock/twistlock-defender-ds"), again.output)
            let ds = try XCTUnwrap(daemonSet(kube))
            XCTAssertEqual(ds["spec"]?["selector"], before["spec"]?["selector"])
            let pod = labels(ds["spec"]?["template"]?["metadata"]?["labels"])
            XCTAssertEqual(pod["app"], "twistlock-defender")
            if values.contains("team: platform") {
                XCTAssertEqual(pod["team"], "platform")
                XCTAssertEqual(pod["zone"], "b")
                XCTAssertEqual(pod["tier"], "one")
            } else {
                // The name label can be given another value (top-level podLabels win over it).
                XCTAssertEqual(pod["app.kubernetes.io/name"], "defender")
                XCTAssertEqual(pod["tier"], "two")
            }
        }
        await h.stop()
    }

    /// defender.podLabels naming a selector key with another value: the step fails naming the
    /// key, before anything is applied.
    func testADefenderLabelThatWouldChangeTheSelectorIsRefusedNamingTheKey() async throws {
        let h = try await StepHarness.start(kube: true, kubeOptions: Self.kubeOptions)
        let kube = try XCTUnwrap(h.kube)
        for values in ["defender: {enabled: true, podLabels: {app: my-defender}}\n",
                       "podLabels: {app: x}\ndefender: {enabled: true, podLabels: {app: other}}\n"] {
            let run = try await h.run(values: values, only: ["wait", "admin", "license", "defenders"])
            XCTAssertEqual(run.step("defenders")?.status, .failed, run.output)
            let error = run.step("defenders")?.error ?? ""
            XCTAssertTrue(error.contains("defender.podLabels.app: the DaemonSet selects its pods by app=twistlock-defender"), error)
            XCTAssertNil(daemonSet(kube), "nothing applied")
            XCTAssertFalse(kube.requests.contains { $0.method == "PATCH" }, "nothing applied")
        }
        await h.stop()
    }

    /// A label Kubernetes would refuse is refused with the values, before any request.
    func testBadLabelsStopTheRunBeforeAnyRequest() async throws {
        let h = try await StepHarness.start(kube: true, kubeOptions: Self.kubeOptions)
        let kube = try XCTUnwrap(h.kube)
        for (values, key) in [
            ("podLabels: {Example.com/team: x}\n", "podLabels: \"Example.com/team\" is not a Kubernetes label key"),
            ("podLabels: {team: \"two words\"}\n", "podLabels.team: \"two words\": not a Kubernetes label value"),
            ("defender: {podLabels: {a/b/c: x}}\n", "defender.podLabels: \"a/b/c\" is not a Kubernetes label key"),
            ("defender: {podLabels: {team: -x}}\n", "defender.podLabels.team: \"-x\": not a Kubernetes label value"),
        ] {
            try await h.clearRequests()
            let run = try await h.run(values: values)
            XCTAssertEqual(run.report.exitCode, JobExitCode.invalidInput, run.output)
            XCTAssertTrue(run.report.problems.contains { $0.hasPrefix(key) }, "\(key): \(run.report.problems)")
            let sent = try await h.requests()
            XCTAssertEqual(sent.count, 0)
            XCTAssertTrue(kube.requests.isEmpty)
        }
        await h.stop()
    }
}
