import ConsoleSimulator
import Foundation
import JSONModel
import KubeSimulator
import TwistlockInit
import XCTest

/// `defender.namespace` and `defender.consoleAddress`: the Defenders go to their namespace and
/// reach the console at the console Service's cluster-wide name there (the chart gives the
/// release namespace and its console Service, Tests/chart/test_defender_labels_namespaces.py);
/// the address is added to the console certificate's SANs, since Defenders connect over TLS.
final class DefenderNamespaceTests: XCTestCase {
    static let kubeOptions = KubeSimulator.Options(token: "namespace-test-token", nodeCount: 1, rolloutPolls: 1)
    static let only = ["wait", "admin", "license", "defenders"]

    func posted(_ h: StepHarness) async throws -> [JSON] {
        try await h.requests().filter { ($0["path"]?.stringValue ?? "").hasSuffix("defenders/daemonset.yaml") }
            .compactMap { $0["body"] }
    }

    func sans(_ h: StepHarness) async throws -> [String] {
        try await h.state()["settings"]?["certs"]?["consoleSAN"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    func wsAddress(_ ds: JSON?) -> String? {
        let containers = ds?["spec"]?["template"]?["spec"]?["containers"]?.arrayValue ?? []
        let env = containers.first { $0["name"] == "twistlock-defender" }?["env"]?.arrayValue ?? []
        return env.first { $0["name"] == "WS_ADDRESS" }?["value"]?.stringValue
    }

    func testTheDefendersReachTheConsoleByItsClusterWideNameInTheirNamespace() async throws {
        var options = Self.kubeOptions
        options.namespaces = ["default", "kube-system", "prisma"]
        let h = try await StepHarness.start(kube: true, kubeOptions: options)
        let kube = try XCTUnwrap(h.kube)
        // What the chart gives the job for `helm install -n prisma`, and the namespace alone.
        let fqdn = "twistlock-console.prisma.svc.cluster.local"
        for values in ["defender: {enabled: true, namespace: prisma, consoleAddress: \(fqdn)}\n",
                       "defender: {enabled: true, namespace: prisma}\n"] {
            try await h.clearRequests()
            let run = try await h.run(values: values, only: Self.only)
            XCTAssertEqual(run.report.exitCode, 0, run.output)
            let ds = kube.object(apiVersion: "apps/v1", kind: "DaemonSet", namespace: "prisma", name: "twistlock-defender-ds")
            XCTAssertNotNil(ds, run.output)
            XCTAssertNil(kube.object(apiVersion: "apps/v1", kind: "DaemonSet", namespace: "twistlock", name: "twistlock-defender-ds"))
            let body = try await posted(h)
            XCTAssertEqual(body.count, 1)
            XCTAssertEqual(body.first?["consoleAddr"], .string(fqdn))
            XCTAssertEqual(body.first?["namespace"], "prisma")
            XCTAssertEqual(wsAddress(ds), "wss://\(fqdn):8084")
            // The console's certificate names the address the Defenders connect to, once.
            let names = try await sans(h)
            XCTAssertEqual(names.filter { $0 == fqdn }.count, 1, "\(names)")
            XCTAssertTrue(names.contains("twistlock-console"), "the other SANs stay: \(names)")
        }
        let findings = try await h.findings()
        XCTAssertEqual(findings, [])
        // Added on the first run only: the second found it and wrote nothing on the console.
        let again = try await h.run(values: "defender: {enabled: true, namespace: prisma}\n", only: Self.only)
        XCTAssertEqual(again.report.exitCode, 0, again.output)
        XCTAssertTrue(again.output.contains("certificate SAN \(fqdn) already present"), again.output)
        XCTAssertEqual(again.report.writes.filter { $0.step == "defenders" }.map(\.object), [])
        await h.stop()
    }

    /// An explicit address wins; one the certificate already names is not written again; plan
    /// mode shows the SAN it would add and writes nothing.
    func testAnExplicitAddressWinsAndReachesTheSANs() async throws {
        let h = try await StepHarness.start(kube: true, kubeOptions: Self.kubeOptions)
        _ = try await h.run()  // the console steps, so that plan mode can log in
        let plan = try await h.run(values: "defender: {enabled: true, consoleAddress: defenders.example.mil}\n",
                                   mode: .plan, only: Self.only)
        XCTAssertEqual(plan.report.exitCode, 0, plan.output)
        XCTAssertTrue(plan.output.contains("would add certificate SAN defenders.example.mil"), plan.output)
        var names = try await sans(h)
        XCTAssertFalse(names.contains("defenders.example.mil"), "plan mode wrote the SAN")

        let run = try await h.run(values: "defender: {enabled: true, consoleAddress: defenders.example.mil}\n", only: Self.only)
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        var body = try await posted(h)
        XCTAssertEqual(body.last?["consoleAddr"], "defenders.example.mil")
        names = try await sans(h)
        XCTAssertTrue(names.contains("defenders.example.mil"), "\(names)")
        XCTAssertTrue(run.report.writes.contains { $0.step == "defenders" && $0.object == "certificate settings" },
                      "\(run.report.writes.map(\.object))")

        // The old job's address, the Service's short name: already a SAN of the console.
        try await h.clearRequests()
        let short = try await h.run(values: "defender: {enabled: true, consoleAddress: twistlock-console}\n", only: Self.only)
        XCTAssertEqual(short.report.exitCode, 0, short.output)
        body = try await posted(h)
        XCTAssertEqual(body.last?["consoleAddr"], "twistlock-console")
        XCTAssertFalse(short.report.writes.contains { $0.object == "certificate settings" })
        await h.stop()
    }

    /// An address the Defenders could not use is refused with the values, before any request.
    func testABadAddressStopsTheRunBeforeAnyRequest() async throws {
        let h = try await StepHarness.start(kube: true, kubeOptions: Self.kubeOptions)
        let kube = try XCTUnwrap(h.kube)
        for (address, why) in [
            ("https://twistlock-console", "no scheme, path or query"),
            ("wss://twistlock-console.twistlock.svc:8084", "no scheme, path or query"),
            ("twistlock-console:8084", "no port"),
            ("10.0.0.5:8084", "no port"),
            ("twistlock-console/api", "no scheme, path or query"),
            ("twistlock console", "is not a host name"),
            ("-console.twistlock", "starts or ends with \"-\""),
            ("console..twistlock", "an empty label"),
        ] {
            try await h.clearRequests()
            let run = try await h.run(values: "defender: {enabled: true, consoleAddress: \"\(address)\"}\n")
            XCTAssertEqual(run.report.exitCode, JobExitCode.invalidInput, run.output)
            XCTAssertTrue(run.report.problems.contains { $0.hasPrefix("defender.consoleAddress: ") && $0.contains(why) },
                          "\(address): \(run.report.problems)")
            let sent = try await h.requests()
            XCTAssertEqual(sent.count, 0)
            XCTAssertTrue(kube.requests.isEmpty)
        }
        await h.stop()
    }
}
