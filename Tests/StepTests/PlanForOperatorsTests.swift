import ConsoleSimulator
import Foundation
import JSONModel
import KubeSimulator
import TwistlockInit
import XCTest

/// Issue 15, "Plan in CI": `plan --detailed-exitcode` (0 nothing would change, 2 something
/// would, 1 an error), the license key as "cannot compare", a plan without cluster access,
/// `plan -o FILE` and Terraform's words.
final class PlanForOperatorsTests: XCTestCase {
    /// Lines of a plan that announce a change of an object.
    func changeLines(_ output: String) -> [String] {
        output.split(separator: "\n").map(String.init).filter {
            $0.hasPrefix("    + create ") || $0.hasPrefix("    ~ update ") || $0.hasPrefix("    - remove ")
        }
    }

    func testAConvergedConsolePlansToZeroWithTheLicenseKeyAsCannotCompare() async throws {
        let h = try await Hardening.start(kube: true)
        let values = Hardening.values(defenders: true)
        let run = try await h.run(values: values)
        XCTAssertEqual(run.report.exitCode, 0, run.output)

        let plan = try await h.run(values: values, mode: .plan)
        XCTAssertEqual(plan.report.exitCode, 0, plan.output)
        XCTAssertEqual(plan.report.detailedExitCode, 0, plan.output)
        XCTAssertEqual(changeLines(plan.output), [], plan.output)
        XCTAssertEqual(plan.report.plannedWrites, 0)
        XCTAssertEqual(plan.report.cannotCompare.map(\.object), ["license key"])
        XCTAssertTrue(plan.output.contains("    ? license key: cannot compare — the console does not show its key back"), plan.output)
        XCTAssertTrue(plan.output.contains("Plan: 0 to create, 0 to update, 0 to remove; 1 cannot compare."), plan.output)
        XCTAssertFalse(plan.output.contains(h.licenseKey))

        // A run still sends the key (the console cannot say whether it holds it).
        try await h.clearRequests()
        let again = try await h.run(values: values)
        XCTAssertEqual(again.report.exitCode, 0, again.output)
        let posts = try await h.requests().filter { $0["method"] == "POST" && $0["endpoint"]?.stringValue == "settings/license" }
        XCTAssertEqual(posts.count, 1, "the run sends the license key again")
        await h.stop()
    }

    func testAnUnconvergedConsolePlansToTwo() async throws {
        let h = try await StepHarness.start()
        // A brand-new console: the first admin would be created (and the plan stops there).
        let fresh = try await h.run(mode: .plan)
        XCTAssertEqual(fresh.report.detailedExitCode, 2, fresh.output)
        XCTAssertTrue(fresh.output.contains("    + create first admin admin (POST /api/v1/signup)"), fresh.output)
        XCTAssertEqual(fresh.report.plannedCounts.create, 1)

        // Configured, then changed by hand: the plan shows an update and exits 2.
        let values = "console: {options: {enabled: true}}"
        let run = try await h.run(values: values)
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        let (status, _) = try await h.api("POST", "settings/logging", .object(["stdout": .object(["enabled": .bool(false)])]))
        XCTAssertEqual(status, 200)
        try await h.clearRequests()
        let plan = try await h.run(values: values, mode: .plan)
        XCTAssertEqual(plan.report.exitCode, 0, plan.output)
        XCTAssertEqual(plan.report.detailedExitCode, 2, plan.output)
        XCTAssertFalse(changeLines(plan.output).isEmpty, plan.output)
        XCTAssertTrue(changeLines(plan.output).allSatisfy { $0.hasPrefix("    ~ update ") }, plan.output)
        XCTAssertFalse(plan.output.contains("would change"), plan.output)
        XCTAssertFalse(plan.output.contains("would:"), plan.output)
        let planWrites = try await h.writes()
        XCTAssertEqual(planWrites.count, 0, "a plan writes nothing: \(planWrites)")
        await h.stop()
    }

    func testTheLicenseKeyIsAChangeWhenTheConsoleHasNoValidLicense() async throws {
        let h = try await StepHarness.start(license: false)
        let first = try await h.run()
        XCTAssertNotNil(first.report.stopMessage, "no license: the run stops")
        try (h.licenseKey + "\n").write(to: h.secretsDir.appendingPathComponent("console.license"), atomically: true, encoding: .utf8)
        let plan = try await h.run(mode: .plan)
        XCTAssertEqual(plan.report.detailedExitCode, 2, plan.output)
        XCTAssertEqual(plan.report.cannotCompare.count, 0, plan.output)
        XCTAssertTrue(plan.output.contains("    + create license key (POST /api/v1/settings/license)"), plan.output)
        XCTAssertTrue(plan.output.contains("key = \"••••••\""), plan.output)
        XCTAssertFalse(plan.output.contains(h.licenseKey))
        await h.stop()
    }

    func testAnErrorIsOneUnderDetailedExitCode() async throws {
        let h = try await StepHarness.start()
        // Invalid values (nothing sent): 2 without the flag, 1 with it.
        let invalid = try await h.run(values: "init: {waitTimeoutSeconds: soon}", mode: .plan)
        XCTAssertEqual(invalid.report.exitCode, 2, invalid.output)
        XCTAssertEqual(invalid.report.detailedExitCode, 1)
        // A failing step.
        let failing = try await h.run(sets: ["init.waitTimeoutSeconds=1"], mode: .plan, configure: { $0.consoleURL = "http://127.0.0.1:1" ; $0.maxRetries = 0 })
        XCTAssertEqual(failing.report.exitCode, 1, failing.output)
        XCTAssertEqual(failing.report.detailedExitCode, 1)
        await h.stop()
    }

    /// No kubeconfig and no in-cluster account: the defenders step lists what it cannot see, the
    /// later steps still plan.
    func testAPlanWithoutClusterAccessPlansEveryLaterStep() async throws {
        let env = ProcessInfo.processInfo.environment
        if env["KUBECONFIG"] != nil || env["KUBERNETES_SERVICE_HOST"] != nil
            || FileManager.default.fileExists(atPath: NSHomeDirectory() + "/.kube/config") {
            throw XCTSkip("this machine has a Kubernetes configuration")
        }
        let h = try await Hardening.start()
        let values = Hardening.values(defenders: true)
        _ = try await h.run(values: values, only: ["wait", "admin", "license"])
        for kubeconfig in [nil, h.workDir.appendingPathComponent("no-such-kubeconfig").path] {
            let plan = try await h.run(values: values, mode: .plan, configure: { $0.kubeconfig = kubeconfig })
            XCTAssertEqual(plan.report.exitCode, 0, plan.output)
            XCTAssertEqual(plan.step("defenders")?.status, .done, plan.output)
            for later in ["vulnerability-policies", "compliance-policies", "runtime-policies", "trusted-images", "options"] {
                XCTAssertEqual(plan.step(later)?.status, .done, "\(later): \(plan.output)")
                if later.hasSuffix("-policies") || later == "trusted-images" {
                    XCTAssertGreaterThan(plan.report.writes.filter { $0.step == later }.count, 0, later)
                }
            }
            let unseen = plan.report.cannotCompare.filter { $0.step == "defenders" }.map(\.object)
            XCTAssertTrue(unseen.contains("DaemonSet twistlock/twistlock-defender-ds"), "\(unseen)")
            XCTAssertTrue(plan.output.contains("cannot read the cluster"), plan.output)
            XCTAssertEqual(plan.report.detailedExitCode, 2)
        }
        // A run still needs the cluster: it fails at the defenders step.
        let run = try await h.run(values: values, configure: { $0.kubeconfig = nil })
        XCTAssertEqual(run.step("defenders")?.status, .failed, run.output)
        await h.stop()
    }

    func testThePlanFileHasEveryWriteWithItsFullMaskedBodyAndTheTextAbbreviates() async throws {
        let h = try await Hardening.start()
        _ = try await h.run(only: ["wait", "admin", "license"])
        let file = h.workDir.appendingPathComponent("plan.json")
        let values = Hardening.values()
        let plan = try await h.run(values: values, mode: .plan, configure: { $0.planFile = file })
        XCTAssertEqual(plan.report.exitCode, 0, plan.output)
        let text = try String(contentsOf: file, encoding: .utf8)
        XCTAssertFalse(text.contains(Hardening.alicePassword))
        XCTAssertFalse(text.contains(h.licenseKey))
        let json = try JSON.parse(text)
        let writes = json["writes"]?.arrayValue ?? []
        XCTAssertEqual(writes.count, plan.report.plannedWrites)
        XCTAssertEqual(json["summary"]?["create"]?.intValue, plan.report.plannedCounts.create)
        let alice = writes.first { $0["object"]?.stringValue == "user alice" }
        XCTAssertEqual(alice?["action"]?.stringValue, "create")
        XCTAssertEqual(alice?["body"]?["username"]?.stringValue, "alice")
        XCTAssertEqual(alice?["body"]?["password"]?.stringValue, "••••••")
        // Every planned write carries the whole body it would send.
        XCTAssertTrue(writes.allSatisfy { $0["body"] != nil && $0["body"] != .null }, text)

        // The text abbreviates long values with "…"; --full prints them whole.
        let long = plan.lines.filter { $0.hasSuffix("…") }
        XCTAssertFalse(long.isEmpty, plan.output)
        let full = try await h.run(values: values, mode: .plan, configure: { $0.fullDiffs = true })
        XCTAssertFalse(full.lines.contains { $0.hasSuffix("…") }, full.output)
        XCTAssertGreaterThan(full.output.count, plan.output.count)
        await h.stop()
    }
}
