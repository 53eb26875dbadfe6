import Foundation
import JSONModel
import KubeSimulator
import TwistlockInit
import XCTest

/// KubeClient against KubeSimulator over real HTTP on 127.0.0.1.
final class KubeClientTests: XCTestCase {
    var sim: KubeSimulator!
    var client: KubeClient!

    override func setUpWithError() throws {
        sim = KubeSimulator(options: .init(token: "sim-token", nodeCount: 3, rolloutPolls: 3))
        try sim.start()
        client = try makeClient()
    }

    override func tearDown() {
        client?.close()
        sim?.stop()
    }

    func makeClient(token: String = "sim-token", maxRetries: Int = 3) throws -> KubeClient {
        var options = KubeClient.Options()
        options.maxRetries = maxRetries
        options.backoffBase = 0.01
        options.requestTimeout = 10
        let c = try KubeClient(config: KubeConfig(server: sim.baseURL, token: token, namespace: "twistlock"), options: options)
        return c
    }

    func manifest() throws -> [JSON] {
        try YAMLCodec.decodeDocuments(Fixtures.defenderManifest)
    }

    func daemonSet() throws -> JSON {
        try XCTUnwrap(manifest().first { $0["kind"] == "DaemonSet" })
    }

    // MARK: - discovery

    func testDiscoveryMapsKindsToResources() throws {
        let ds = try client.resource(apiVersion: "apps/v1", kind: "DaemonSet")
        XCTAssertEqual(ds.name, "daemonsets")
        XCTAssertTrue(ds.namespaced)
        XCTAssertEqual(ds.path(namespace: "twistlock", name: "x"), "/apis/apps/v1/namespaces/twistlock/daemonsets/x")
        let cr = try client.resource(apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole")
        XCTAssertEqual(cr.name, "clusterroles")
        XCTAssertFalse(cr.namespaced)
        XCTAssertEqual(cr.path(namespace: "ignored", name: "v"), "/apis/rbac.authorization.k8s.io/v1/clusterroles/v")
        let secret = try client.resource(apiVersion: "v1", kind: "Secret")
        XCTAssertEqual(secret.path(namespace: "ns", name: "s"), "/api/v1/namespaces/ns/secrets/s")
        // The subresource listed in discovery is not taken for the kind.
        XCTAssertEqual(try client.resources(apiVersion: "apps/v1").map(\.name), ["daemonsets"])

        // Cached: asking again sends nothing.
        let before = sim.requests.count
        _ = try client.resource(apiVersion: "apps/v1", kind: "DaemonSet")
        _ = try client.resource(apiVersion: "v1", kind: "ServiceAccount")
        XCTAssertEqual(sim.requests.count, before)
    }

    func testDiscoveryErrorsNameTheKind() {
        XCTAssertThrowsError(try client.resource(apiVersion: "apps/v1", kind: "Deployment")) { error in
            XCTAssertEqual("\(error)", "discover Deployment (apps/v1): the API server serves no kind Deployment in apps/v1")
        }
        XCTAssertThrowsError(try client.resource(apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler")) { error in
            XCTAssertEqual("\(error)", "discover HorizontalPodAutoscaler (autoscaling/v2): the API server does not serve apiVersion autoscaling/v2")
        }
        // batch/v1 is served (CronJob, for the drift Events) but not Job.
        XCTAssertThrowsError(try client.resource(apiVersion: "batch/v1", kind: "Job")) { error in
            XCTAssertEqual("\(error)", "discover Job (batch/v1): the API server serves no kind Job in batch/v1")
        }
    }

    // MARK: - apply

    func testApplyCreatesThenASecondApplyChangesNothing() throws {
        let docs = try manifest()
        for doc in docs {
            let result = try client.apply(doc)
            XCTAssertTrue(result.changed, "\(doc["kind"]!)")
            XCTAssertNil(result.before)
            XCTAssertEqual(result.object["metadata"]?["name"], doc["metadata"]?["name"])
        }
        let ds = try XCTUnwrap(sim.object(apiVersion: "apps/v1", kind: "DaemonSet", namespace: "twistlock", name: "twistlock-defender-ds"))
        XCTAssertEqual(ds["metadata"]?["generation"], .int(1))
        // Server defaults are in the live object, not in the manifest.
        XCTAssertEqual(ds["spec"]?["revisionHistoryLimit"], .int(10))
        let rv = ds["metadata"]?["resourceVersion"]
        XCTAssertNotNil(sim.object(apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", namespace: nil, name: "twistlock-view"))

        // The same manifest again: nothing changes, nothing is bumped.
        for doc in docs {
            let result = try client.apply(doc)
            XCTAssertFalse(result.changed, "\(doc["kind"]!) \(doc["metadata"]!["name"]!) reported a change on the second apply")
            XCTAssertNotNil(result.before)
        }
        let again = try XCTUnwrap(sim.object(apiVersion: "apps/v1", kind: "DaemonSet", namespace: "twistlock", name: "twistlock-defender-ds"))
        XCTAssertEqual(again["metadata"]?["resourceVersion"], rv)
        XCTAssertEqual(again["metadata"]?["generation"], .int(1))

        // Every apply was a server-side apply with our field manager, forced.
        let patches = sim.requests.filter { $0.method == "PATCH" }
        XCTAssertEqual(patches.count, docs.count * 2)
        for p in patches {
            XCTAssertEqual(p.query["fieldManager"], "twistlock-init")
            XCTAssertEqual(p.query["force"], "true")
            XCTAssertEqual(p.contentType, "application/apply-patch+yaml")
            XCTAssertTrue(p.authenticated)
            XCTAssertFalse(p.dryRun)
        }
    }

    func testApplyOfAChangedSpecReportsAChangeAndBumpsTheGeneration() throws {
        let ds = try daemonSet()
        _ = try client.apply(ds)
        var changed = ds
        changed = try setPath(changed, ["spec", "template", "metadata", "labels", "team"], "security")
        let result = try client.apply(changed)
        XCTAssertTrue(result.changed)
        XCTAssertEqual(result.before?["metadata"]?["generation"], .int(1))
        XCTAssertEqual(result.object["metadata"]?["generation"], .int(2))
        XCTAssertEqual(result.object["spec"]?["template"]?["metadata"]?["labels"]?["team"], "security")
        // Only metadata changed (a label): the generation stays.
        let labelled = try setPath(changed, ["metadata", "labels"], .object(["owner": "ops"]))
        let r2 = try client.apply(labelled)
        XCTAssertTrue(r2.changed)
        XCTAssertEqual(r2.object["metadata"]?["generation"], .int(2))
    }

    func testDryRunLeavesStateUntouched() throws {
        let ds = try daemonSet()
        let created = try client.apply(ds, dryRun: true)
        XCTAssertTrue(created.changed)
        XCTAssertTrue(created.dryRun)
        XCTAssertEqual(created.object["metadata"]?["name"], "twistlock-defender-ds")
        XCTAssertNil(sim.object(apiVersion: "apps/v1", kind: "DaemonSet", namespace: "twistlock", name: "twistlock-defender-ds"))

        _ = try client.apply(ds)
        func stored() -> JSON? {
            // Without status: every read of a DaemonSet (the apply's own included) is a rollout poll.
            sim.object(apiVersion: "apps/v1", kind: "DaemonSet", namespace: "twistlock", name: "twistlock-defender-ds")
                .map { var o = $0.objectValue!; o["status"] = nil; return JSON.object(o) }
        }
        let before = stored()
        let changed = try setPath(ds, ["spec", "template", "spec", "priorityClassName"], "system-node-critical")
        let planned = try client.apply(changed, dryRun: true)
        XCTAssertTrue(planned.changed)
        XCTAssertEqual(planned.object["spec"]?["template"]?["spec"]?["priorityClassName"], "system-node-critical")
        XCTAssertEqual(planned.object["metadata"]?["generation"], .int(2))
        XCTAssertEqual(stored(), before)
        XCTAssertEqual(stored()?["metadata"]?["generation"], .int(1))
        XCTAssertEqual(sim.requests.filter { $0.method == "PATCH" }.map(\.dryRun), [true, false, true])

        // A dry run of what is already there: no change.
        XCTAssertFalse(try client.apply(ds, dryRun: true).changed)
    }

    func testForbiddenNamesTheResourceAndTheReason() throws {
        sim.inject(KubeFault(status: 403, resource: "daemonsets", method: "PATCH"))
        XCTAssertThrowsError(try client.apply(daemonSet())) { error in
            let e = error as? KubeError
            XCTAssertEqual(e?.statusCode, 403)
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("apply DaemonSet twistlock/twistlock-defender-ds: 403 Forbidden: "), text)
            XCTAssertTrue(text.contains("cannot patch resource \"daemonsets\" in API group \"apps\""), text)
        }
        // Other kinds are not affected; the fault was not retried.
        XCTAssertTrue(try client.apply(manifest()[0]).changed)
        XCTAssertEqual(sim.requests.filter { $0.method == "PATCH" && $0.status == 403 }.count, 1)
    }

    func testConflictNamesTheResourceAndTheReason() throws {
        sim.inject(KubeFault(status: 409, resource: "clusterroles", name: "twistlock-view", method: "PATCH"))
        XCTAssertThrowsError(try client.apply(manifest()[0])) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("apply ClusterRole twistlock-view: 409 Conflict: Apply failed with 1 conflict"), text)
        }
    }

    func testForbiddenReadFailsTheApplyToo() throws {
        sim.inject(KubeFault(status: 403, resource: "secrets", method: "GET", message: "secrets \"twistlock-secrets\" is forbidden: no"))
        let secret = try XCTUnwrap(manifest().first { $0["kind"] == "Secret" })
        XCTAssertThrowsError(try client.apply(secret)) { error in
            XCTAssertEqual("\(error)", "apply Secret twistlock/twistlock-secrets: 403 Forbidden: secrets \"twistlock-secrets\" is forbidden: no")
        }
    }

    func testServerErrorsAreRetriedThenSucceed() throws {
        sim.inject(KubeFault(status: 503, resource: "daemonsets", method: "PATCH", times: 2))
        sim.inject(KubeFault(status: 429, resource: "daemonsets", method: "GET", times: 1, retryAfter: 0))
        var retries: [String] = []
        client.onRetry = { retries.append($0) }
        let result = try client.apply(daemonSet())
        XCTAssertTrue(result.changed)
        XCTAssertEqual(retries.count, 3, "\(retries)")
        XCTAssertTrue(retries[0].contains("429"), retries[0])
        XCTAssertTrue(retries[1].contains("503 Service Unavailable"), retries[1])
        XCTAssertEqual(sim.requests.filter { $0.method == "PATCH" }.map(\.status), [503, 503, 201])
    }

    func testRetriesAreBounded() throws {
        let c = try makeClient(maxRetries: 2)
        defer { c.close() }
        sim.inject(KubeFault(status: 500, resource: "daemonsets", method: "PATCH"))
        XCTAssertThrowsError(try c.apply(daemonSet())) { error in
            XCTAssertTrue("\(error)".hasPrefix("apply DaemonSet twistlock/twistlock-defender-ds: 500 Internal Error: "), "\(error)")
        }
        XCTAssertEqual(sim.requests.filter { $0.method == "PATCH" }.count, 3)
    }

    /// An answer over `maxResponseBytes` fails the request naming it and the limit, at once.
    func testAnAnswerOverTheCapIsRefusedAndNotRetried() throws {
        var options = KubeClient.Options()
        options.maxRetries = 3
        options.backoffBase = 0.01
        options.maxResponseBytes = 64
        let c = try KubeClient(config: KubeConfig(server: sim.baseURL, token: "sim-token", namespace: "twistlock"), options: options)
        defer { c.close() }
        let before = sim.requests.count
        XCTAssertThrowsError(try c.resource(apiVersion: "apps/v1", kind: "DaemonSet")) { error in
            XCTAssertEqual("\(error)", "discover DaemonSet (apps/v1): GET /apis/apps/v1: the API server's answer is larger than 64 bytes; refused")
        }
        XCTAssertEqual(sim.requests.count - before, 1, "not retried")
        // The default cap lets the real answers through.
        XCTAssertEqual(KubeClient.Options().maxResponseBytes, 32 << 20)
        XCTAssertEqual(try client.resource(apiVersion: "apps/v1", kind: "DaemonSet").name, "daemonsets")
    }

    func testConnectionRefusedIsATransportErrorAfterRetries() throws {
        let port = sim.port
        sim.stop()
        var options = KubeClient.Options()
        options.maxRetries = 1
        options.backoffBase = 0.01
        options.connectTimeout = 0.5
        let c = try KubeClient(config: KubeConfig(server: "http://127.0.0.1:\(port)", token: "t"), options: options)
        defer { c.close() }
        XCTAssertThrowsError(try c.get(apiVersion: "v1", kind: "Secret", namespace: "x", name: "y")) { error in
            guard let e = error as? KubeError, case .transport = e.reason else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("no answer from the Kubernetes API"), "\(error)")
        }
    }

    func testWrongTokenIsUnauthorizedAndTheTokenIsNotRepeated() throws {
        let c = try makeClient(token: "wrong-token-value")
        defer { c.close() }
        XCTAssertThrowsError(try c.resource(apiVersion: "v1", kind: "Secret")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("401 Unauthorized"), text)
            XCTAssertFalse(text.contains("wrong-token-value"), text)
        }
    }

    func testGetAnswersNilForAMissingObject() throws {
        XCTAssertNil(try client.get(apiVersion: "v1", kind: "ConfigMap", namespace: "twistlock", name: "absent"))
        _ = try client.apply(manifest()[3])
        let sa = try XCTUnwrap(client.get(apiVersion: "v1", kind: "ServiceAccount", namespace: "twistlock", name: "twistlock-service"))
        XCTAssertEqual(sa["secrets"]?[0]?["name"], "twistlock-secrets")
        // A namespaced kind without a namespace uses the configuration's namespace.
        XCTAssertNotNil(try client.get(apiVersion: "v1", kind: "ServiceAccount", namespace: nil, name: "twistlock-service"))
    }

    func testApplyIntoAMissingNamespaceFails() throws {
        var sa = try manifest()[3]
        sa = try setPath(sa, ["metadata", "namespace"], "nowhere")
        XCTAssertThrowsError(try client.apply(sa)) { error in
            XCTAssertEqual("\(error)", "apply ServiceAccount nowhere/twistlock-service: 404 Not Found: namespaces \"nowhere\" not found")
        }
    }

    func testInvalidManifestsAreRefusedBeforeSending() throws {
        XCTAssertThrowsError(try client.apply(.object(["apiVersion": "v1", "metadata": .object(["name": "x"])]))) { error in
            XCTAssertEqual("\(error)", "apply document: the manifest has no kind")
        }
        XCTAssertThrowsError(try client.apply(.object(["apiVersion": "v1", "kind": "Secret"]))) { error in
            XCTAssertEqual("\(error)", "apply Secret: the manifest has no metadata.name")
        }
        XCTAssertEqual(sim.objectRequests.count, 0)
    }

    func testTheSimulatorRejectsASelectorThatDoesNotMatchTheTemplate() throws {
        let ds = try setPath(daemonSet(), ["spec", "selector", "matchLabels", "extra"], "x")
        XCTAssertThrowsError(try client.apply(ds)) { error in
            XCTAssertTrue("\(error)".contains("422 Invalid"), "\(error)")
            XCTAssertTrue("\(error)".contains("`selector` does not match template `labels`"), "\(error)")
        }
    }

    // MARK: - rollout

    func testDaemonSetRolloutProgressesOverPolls() throws {
        let ds = try daemonSet()
        _ = try client.apply(ds)
        var seen: [(Int64?, Int64?, Int64?, Int64?)] = []
        for _ in 0..<4 {
            let live = try XCTUnwrap(client.get(apiVersion: "apps/v1", kind: "DaemonSet", namespace: "twistlock", name: "twistlock-defender-ds"))
            let s = live["status"]
            seen.append((s?["observedGeneration"]?.int64Value, s?["desiredNumberScheduled"]?.int64Value,
                         s?["updatedNumberScheduled"]?.int64Value, s?["numberAvailable"]?.int64Value))
        }
        XCTAssertEqual(seen.map { $0.0 }, [1, 1, 1, 1])
        XCTAssertEqual(seen.map { $0.1 }, [3, 3, 3, 3])
        XCTAssertEqual(seen.map { $0.2 }, [1, 2, 3, 3])
        XCTAssertEqual(seen.map { $0.3 }, [1, 2, 3, 3])

        // An update: the generation moves first, the controller catches up on the next poll.
        let changed = try setPath(ds, ["spec", "template", "spec", "priorityClassName"], "high")
        let applied = try client.apply(changed)
        XCTAssertEqual(applied.object["metadata"]?["generation"], .int(2))
        XCTAssertEqual(applied.object["status"]?["observedGeneration"], .int(1))
        let first = try XCTUnwrap(client.get(apiVersion: "apps/v1", kind: "DaemonSet", namespace: "twistlock", name: "twistlock-defender-ds"))
        XCTAssertEqual(first["status"]?["observedGeneration"], .int(2))
        XCTAssertEqual(first["status"]?["updatedNumberScheduled"], .int(1))
        XCTAssertEqual(first["status"]?["numberAvailable"], .int(2))
    }

    func testAStuckRolloutNeverBecomesAvailable() throws {
        sim.setRollout(polls: 1, unavailableNodes: 1)
        _ = try client.apply(daemonSet())
        for _ in 0..<3 {
            let live = try XCTUnwrap(client.get(apiVersion: "apps/v1", kind: "DaemonSet", namespace: "twistlock", name: "twistlock-defender-ds"))
            XCTAssertEqual(live["status"]?["updatedNumberScheduled"], .int(3))
            XCTAssertEqual(live["status"]?["numberAvailable"], .int(2))
            XCTAssertEqual(live["status"]?["numberUnavailable"], .int(1))
        }
    }
}

/// Sets a value at a path of object keys, creating objects on the way.
func setPath(_ value: JSON, _ path: [String], _ newValue: JSON) throws -> JSON {
    guard let key = path.first else { return newValue }
    var fields: [String: JSON]
    switch value {
    case .object(let f): fields = f
    case .null: fields = [:]
    default: throw NSError(domain: "setPath", code: 1, userInfo: [NSLocalizedDescriptionKey: "\(key) is not an object"])
    }
    fields[key] = try setPath(fields[key] ?? .null, Array(path.dropFirst()), newValue)
    return .object(fields)
}
