import ConsoleSimulator
import Foundation
import JobConfig
import JSONModel
import KubeSimulator
import TestSupport
import TwistlockInit
import XCTest

/// A Big Bang operator's values, end to end: typos stop a strict run before anything is sent,
/// step names given to --only/--skip are checked, and the package's own values file runs
/// without a warning.
final class BigBangValuesTests: XCTestCase {
    static let bigBangValues = Project.root.appendingPathComponent("Tests/chart/values/bigbang.yaml")

    func testATypoWarnsAndUnderStrictStopsBeforeAnyRequest() async throws {
        let h = try await StepHarness.start()
        let typo = "polices:\n  enabled: false\nconsole:\n  additionalUser:\n    - {username: a, role: user}\n"
        let warned = try await h.run(values: typo, only: ["wait"])
        XCTAssertEqual(warned.report.exitCode, 0)
        XCTAssertTrue(warned.report.warnings.contains { $0.hasPrefix("polices: unknown key") && $0.hasSuffix("did you mean `policies`?") },
                      "\(warned.report.warnings)")
        XCTAssertTrue(warned.output.contains("console.additionalUser: unknown key"), warned.output)
        try await h.clearRequests()
        let strict = try await h.run(values: typo, strict: true)
        XCTAssertEqual(strict.report.exitCode, JobExitCode.invalidInput)
        XCTAssertTrue(strict.report.problems.contains { $0.hasPrefix("polices: unknown key") }, "\(strict.report.problems)")
        XCTAssertTrue(strict.report.steps.isEmpty)
        let sent = try await h.requests()
        XCTAssertEqual(sent.count, 0, "requests under a refused strict run: \(sent)")
        await h.stop()
    }

    func testOnlyAndSkipNameSteps() async throws {
        let h = try await StepHarness.start()
        for configure in [{ (o: inout JobOptions) in o.only = ["defender"] }, { (o: inout JobOptions) in o.skip = ["licence"] }] {
            try await h.clearRequests()
            let run = try await h.run(configure: configure)
            XCTAssertEqual(run.report.exitCode, JobExitCode.invalidInput)
            let problem = try XCTUnwrap(run.report.problems.first, "\(run.report.problems)")
            XCTAssertTrue(problem.contains("is not a step"), problem)
            XCTAssertTrue(problem.contains("the steps are: wait, admin, license, dns-san"), problem)
            XCTAssertTrue(problem.contains("did you mean defenders?") || problem.contains("did you mean license?"), problem)
            let sent = try await h.requests()
            XCTAssertEqual(sent.count, 0)
        }
        let skipped = try await h.run(configure: { $0.skip = ["license"] })
        XCTAssertEqual(skipped.report.exitCode, 0, skipped.output)
        XCTAssertEqual(skipped.step("license")?.status, .skipped)
        XCTAssertEqual(skipped.step("license")?.reason, "skipped with --skip")
        XCTAssertEqual(skipped.step("admin")?.status, .done)
        await h.stop()
    }

    /// The Big Bang package's values as they are (Tests/chart/values/bigbang.yaml): no warning,
    /// and the steps docs/migrating.md lists run.
    func testTheBigBangValuesRunWithoutAWarning() async throws {
        let h = try await StepHarness.start(kube: true, kubeOptions: KubeSimulator.Options(token: "t", nodeCount: 1, rolloutPolls: 1))
        let run = try await h.run(strict: true) { options in
            options.valuesFiles = [Self.bigBangValues]
        }
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        XCTAssertEqual(run.report.warnings, [])
        let ran = run.report.steps.filter { $0.status == .done }.map(\.name)
        XCTAssertEqual(ran, ["wait", "admin", "license", "dns-san", "defenders", "vulnerability-policies",
                             "compliance-policies", "runtime-policies", "trusted-images", "options"], run.output)
        await h.stop()
    }

    /// routes.inbound.console.hosts (the console chart's route): its first host, with
    /// {{ .Values.domain }} substituted, is the SAN — below console.externalHost, above domain.
    func testTheSANComesFromTheConsoleRouteHost() async throws {
        let routed = "domain: example.mil\nroutes:\n  inbound:\n    console:\n      hosts:\n        - prisma.{{ .Values.domain }}\n        - other.example.mil\n"
        for (values, want) in [
            (routed, "prisma.example.mil"),
            ("domain: example.mil\nroutes: {inbound: {console: {hosts: [prisma.example.mil]}}}\n", "prisma.example.mil"),
            (routed + "console: {externalHost: console.example.mil}\n", "console.example.mil"),
            ("domain: example.mil\nroutes: {inbound: {console: {hosts: []}}}\n", "twistlock.example.mil"),
            ("routes: {inbound: {console: {hosts: [\"{{.Values.domain}}-console.example.mil\"]}}}\n", nil),
        ] as [(String, String?)] {
            let h = try await StepHarness.start()
            let run = try await h.run(values: values, only: ["wait", "admin", "license", "dns-san"])
            let state = try await h.state()
            let sans = state["settings"]?["certs"]?["consoleSAN"]?.arrayValue?.compactMap(\.stringValue) ?? []
            if let want {
                XCTAssertEqual(run.report.exitCode, 0, run.output)
                XCTAssertEqual(sans.last, want, values)
                XCTAssertFalse(sans.contains { $0.contains("{{") })
            } else {
                // No domain to fill in: "-console.example.mil" is refused, naming the key,
                // before anything is sent (the values are checked first).
                XCTAssertEqual(run.report.exitCode, JobExitCode.invalidInput, run.output)
                XCTAssertTrue(run.report.problems.contains { $0.hasPrefix("routes.inbound.console.hosts[0]: ") }, run.output)
                let requests = try await h.requests()
                XCTAssertEqual(requests.count, 0, "nothing sent: \(requests.prefix(3))")
            }
            await h.stop()
        }
    }

    /// defender.nodeSelector as a map (the Big Bang form) is set on the Defender pods and not sent
    /// to the console; the string form still goes to the console.
    func testDefenderNodeSelectorAsAMapOrAString() async throws {
        let options = KubeSimulator.Options(token: "t", nodeCount: 1, rolloutPolls: 1)
        for (selector, want, sentToConsole) in [
            ("{kubernetes.io/os: linux, node-role.example/security: \"true\"}",
             ["kubernetes.io/os": "linux", "node-role.example/security": "true"], false),
            ("\"kubernetes.io/os=linux\"", ["kubernetes.io/os": "linux"], true),
        ] as [(String, [String: String], Bool)] {
            let h = try await StepHarness.start(kube: true, kubeOptions: options)
            let kube = try XCTUnwrap(h.kube)
            let run = try await h.run(values: "defender: {enabled: true, nodeSelector: \(selector)}\n")
            XCTAssertEqual(run.report.exitCode, 0, run.output)
            let ds = try XCTUnwrap(kube.object(apiVersion: "apps/v1", kind: "DaemonSet", namespace: "twistlock",
                                               name: "twistlock-defender-ds"), run.output)
            let got = ds["spec"]?["template"]?["spec"]?["nodeSelector"]?.objectValue?.compactMapValues(\.stringValue)
            XCTAssertEqual(got, want, selector)
            let posted = try await h.requests().filter { ($0["path"]?.stringValue ?? "").hasSuffix("defenders/daemonset.yaml") }
            XCTAssertEqual(posted.count, 1)
            XCTAssertEqual("\(posted[0])".contains("nodeSelector"), sentToConsole, "\(posted[0])")
            await h.stop()
        }
        // Neither form: refused naming the key, before anything is sent.
        let h = try await StepHarness.start()
        let bad = try await h.run(values: "defender: {nodeSelector: [a, b]}\n")
        XCTAssertEqual(bad.report.exitCode, JobExitCode.invalidInput)
        XCTAssertTrue(bad.report.problems.contains { $0.hasPrefix("defender.nodeSelector: expected a string or a map") },
                      "\(bad.report.problems)")
        await h.stop()
    }
}
