import Foundation
import JSONModel
import KubeSimulator
import TwistlockInit
import XCTest

/// `-v` shows the Kubernetes API requests of the defenders step as it shows the console's —
/// one line each, method, path, status, time — and `-vv` the HTTP client's log for them too,
/// with the bearer token masked everywhere.
final class KubeVerboseTests: XCTestCase {
    static let token = "kube-verbose-Secr3t-token"
    static let kubeOptions = KubeSimulator.Options(token: token, nodeCount: 2, rolloutPolls: 2)
    static let values = "defender:\n  enabled: true\n  clusterName: verbose-cluster\n"

    /// The `-v` lines of the Kubernetes requests the simulator received, matched in order
    /// (method, path, status); fails when one has no line. Every other `→` line is the console's.
    func kubeLines(_ run: StepHarness.Run, _ kube: KubeSimulator, file: StaticString = #filePath, line: UInt = #line) -> [String] {
        let arrows = run.lines.filter { $0.hasPrefix("    → ") }
        var matched: [String] = []
        var i = 0
        for record in kube.requests {
            let prefix = "    → \(record.method) \(record.path)"
            while i < arrows.count, !(arrows[i].hasPrefix(prefix) && arrows[i].contains(" \(record.status) (")) { i += 1 }
            guard i < arrows.count else {
                XCTFail("no -v line for \(record.method) \(record.path) \(record.status)", file: file, line: line)
                return matched
            }
            matched.append(arrows[i])
            i += 1
        }
        let console = run.report.steps.reduce(0) { $0 + $1.requests }
        XCTAssertEqual(arrows.count, console + kube.requests.count, "one line per request, console and Kubernetes", file: file, line: line)
        return matched
    }

    func testVerboseShowsEachKubernetesRequestWithTheTokenMasked() async throws {
        let h = try await StepHarness.start(kube: true, kubeOptions: Self.kubeOptions)
        let kube = try XCTUnwrap(h.kube)

        // run -v: one line per request the API server received.
        kube.clearRequests()
        let v = try await h.run(values: Self.values, configure: { $0.verbosity = 1 })
        XCTAssertEqual(v.report.exitCode, 0, v.output)
        let lines = kubeLines(v, kube)
        XCTAssertFalse(lines.isEmpty, v.output)
        XCTAssertTrue(lines.contains { $0.range(of: #"^    → PATCH /apis/apps/v1/namespaces/twistlock/daemonsets/twistlock-defender-ds 20\d \(\d+ ms\)$"#,
                                                  options: .regularExpression) != nil }, v.output)
        XCTAssertTrue(lines.contains { $0.hasPrefix("    → GET /apis/apps/v1/namespaces/twistlock/daemonsets/twistlock-defender-ds") }, v.output)
        XCTAssertFalse(v.output.contains(Self.token), "the bearer token is never shown")

        // plan -v: the dry runs show too.
        kube.clearRequests()
        let plan = try await h.run(values: Self.values, mode: .plan, configure: { $0.verbosity = 1 })
        XCTAssertEqual(plan.report.exitCode, 0, plan.output)
        XCTAssertTrue(kube.requests.contains { $0.dryRun })
        XCTAssertFalse(kubeLines(plan, kube).isEmpty, plan.output)

        // Without -v: none.
        kube.clearRequests()
        let quiet = try await h.run(values: Self.values)
        XCTAssertFalse(kube.requests.isEmpty)
        XCTAssertFalse(quiet.lines.contains { $0.hasPrefix("    → ") }, quiet.output)

        // -vv: the HTTP client's own log of the Kubernetes requests, the token masked.
        kube.clearRequests()
        let vv = try await h.run(values: Self.values, configure: { $0.verbosity = 2 })
        XCTAssertEqual(vv.report.exitCode, 0, vv.output)
        let vvKube = kubeLines(vv, kube)
        XCTAssertFalse(vvKube.isEmpty, vv.output)
        // Each Kubernetes request's line follows the HTTP client's log of it (without
        // that log, a request's line would follow the previous request's).
        let kubeIndices = vv.lines.indices.filter { $0 > 0 && vvKube.contains(vv.lines[$0]) }
        XCTAssertFalse(kubeIndices.isEmpty)
        XCTAssertEqual(kubeIndices.filter { vv.lines[$0 - 1].hasPrefix("    · [") }.count, kubeIndices.count, vv.output)
        XCTAssertFalse(vv.output.contains(Self.token), "the bearer token is never shown")
        await h.stop()
    }

    /// An API server that does not answer: each attempt is a line saying so, the token (from a
    /// kubeconfig of its own) masked.
    func testVerboseShowsKubernetesRequestsThatGetNoAnswer() async throws {
        let h = try await StepHarness.start()
        let kubeconfig = h.workDir.appendingPathComponent("closed-kubeconfig")
        try """
        apiVersion: v1
        kind: Config
        clusters: [{name: closed, cluster: {server: "http://127.0.0.1:1"}}]
        users: [{name: closed, user: {token: \(Self.token)}}]
        contexts: [{name: closed, context: {cluster: closed, user: closed}}]
        current-context: closed
        """.write(to: kubeconfig, atomically: true, encoding: .utf8)
        let run = try await h.run(values: Self.values, configure: {
            $0.verbosity = 1
            $0.kubeconfig = kubeconfig.path
            // The Kubernetes client retries on its own schedule: the step's limit ends it.
            $0.stepTimeout = 3
        })
        XCTAssertNotEqual(run.report.exitCode, 0, run.output)
        XCTAssertTrue(run.lines.contains { $0.hasPrefix("    → GET /api") && $0.contains("no answer (") }, run.output)
        XCTAssertFalse(run.output.contains(Self.token), run.output)
        await h.stop()
    }
}
