import ConsoleSimulator
import Foundation
import JSONModel
import XCTest
import Yams

final class DaemonSetTests: XCTestCase {
    func documents(_ text: String) throws -> [[String: Any]] {
        try Yams.load_all(yaml: text).compactMap { $0 as? [String: Any] }
    }

    func env(_ daemonSet: [String: Any]) -> [String: String] {
        let spec = (daemonSet["spec"] as? [String: Any])?["template"] as? [String: Any]
        let containers = ((spec?["spec"] as? [String: Any])?["containers"] as? [[String: Any]]) ?? []
        var out: [String: String] = [:]
        for e in (containers.first?["env"] as? [[String: Any]]) ?? [] {
            if let n = e["name"] as? String { out[n] = e["value"] as? String }
        }
        return out
    }

    func podSpec(_ daemonSet: [String: Any]) -> [String: Any] {
        (((daemonSet["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any]) ?? [:]
    }

    func testDaemonSetReflectsOptions() async throws {
        try await withSimulator(initialize: true) { sim, client in
            let options: JSON = [
                "namespace": "twistlock", "consoleAddr": "twistlock-console.twistlock.svc", "cluster": "bigbang-prod",
                "collectPodLabels": true, "containerRuntime": "containerd",
                "dockerSocketPath": "/run/k3s/containerd/containerd.sock", "image": "registry1.dso.mil/ironbank/twistlock/defender:34.04.145",
                "istio": true, "nodeSelector": "kubernetes.io/os=linux", "orchestration": "kubernetes", "privileged": false,
                "secretsname": "twistlock-defender-secrets", "selinux": true, "serviceaccounts": true, "uniqueHostname": true,
                "priorityClassName": "system-node-critical",
                "proxy": ["httpProxy": "http://proxy:3128", "user": "u", "password": "proxy-secret"],
            ]
            let r = try await client.send("POST", "defenders/daemonset.yaml", json: options)
            XCTAssertEqual(r.status, 200, r.text)
            XCTAssertTrue(r.headers["content-type"]?.hasPrefix("text/plain") ?? false)
            let docs = try documents(r.text)
            let kinds = docs.compactMap { $0["kind"] as? String }
            XCTAssertEqual(kinds, ["Secret", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "DaemonSet", "Service"])
            for d in docs where !["ClusterRole", "ClusterRoleBinding"].contains(d["kind"] as? String) {
                XCTAssertEqual((d["metadata"] as? [String: Any])?["namespace"] as? String, "twistlock")
            }
            let secret = try XCTUnwrap(docs.first { $0["kind"] as? String == "Secret" })
            // secretsname is "the name of the secret to pull" (the document): the image pull
            // secret; the defender's own Secret keeps its name.
            XCTAssertEqual((secret["metadata"] as? [String: Any])?["name"] as? String, "twistlock-secrets")
            XCTAssertNotNil((secret["data"] as? [String: Any])?["defender-client-key.pem"])

            let ds = try XCTUnwrap(docs.first { $0["kind"] as? String == "DaemonSet" })
            XCTAssertEqual((ds["metadata"] as? [String: Any])?["name"] as? String, "twistlock-defender-ds")
            let e = env(ds)
            XCTAssertEqual(e["WS_ADDRESS"], "wss://twistlock-console.twistlock.svc:8084")
            XCTAssertEqual(e["DEFENDER_CLUSTER"], "bigbang-prod")
            XCTAssertEqual(e["DOCKER_CLIENT_ADDRESS"], "/run/k3s/containerd/containerd.sock")
            XCTAssertEqual(e["MONITOR_ISTIO"], "true")
            XCTAssertEqual(e["COLLECT_POD_LABELS"], "true")
            XCTAssertEqual(e["MONITOR_SERVICE_ACCOUNTS"], "true")
            XCTAssertEqual(e["CLOUD_HOSTNAME_ENABLED"], "true")
            XCTAssertEqual(e["DEFENDER_TYPE"], "cri")
            let pod = podSpec(ds)
            XCTAssertEqual(pod["nodeSelector"] as? [String: String], ["kubernetes.io/os": "linux"])
            XCTAssertEqual(pod["priorityClassName"] as? String, "system-node-critical")
            XCTAssertEqual(pod["hostPID"] as? Bool, true)
            XCTAssertEqual((pod["imagePullSecrets"] as? [[String: Any]])?.first?["name"] as? String, "twistlock-defender-secrets")
            let container = try XCTUnwrap((pod["containers"] as? [[String: Any]])?.first)
            XCTAssertEqual(container["image"] as? String, "registry1.dso.mil/ironbank/twistlock/defender:34.04.145")
            let security = try XCTUnwrap(container["securityContext"] as? [String: Any])
            XCTAssertEqual(security["privileged"] as? Bool, false)
            XCTAssertEqual((security["seLinuxOptions"] as? [String: Any])?["type"] as? String, "spc_t")
            XCTAssertTrue(((security["capabilities"] as? [String: Any])?["add"] as? [String])?.contains("SYS_ADMIN") ?? false)
            let volumes = (pod["volumes"] as? [[String: Any]]) ?? []
            let socketVolume = volumes.first { $0["name"] as? String == "docker-sock-folder" }
            XCTAssertEqual((socketVolume?["hostPath"] as? [String: Any])?["path"] as? String, "/run/k3s/containerd")
            let certs = volumes.first { $0["name"] as? String == "certificates" }
            XCTAssertEqual((certs?["secret"] as? [String: Any])?["secretName"] as? String, "twistlock-secrets")

            // The proxy password is in no request record.
            XCTAssertFalse(sim.requests.map { $0.json.encoded() }.joined().contains("proxy-secret"))
            XCTAssertEqual(sim.requests.last?.findings, [])
        }
    }

    func testOpenShiftDockerPrivilegedAndMisspelledOptions() async throws {
        try await withSimulator(initialize: true) { sim, client in
            // The predecessor's spellings: secretsName is matched case-insensitively (and
            // reported), nothing is lost.
            let r = try await client.send("POST", "defenders/daemonset.yaml", json: [
                "consoleAddr": "console", "orchestration": "openshift", "containerRuntime": "docker",
                "privileged": true, "selinux": false, "secretsName": "custom-secrets", "namespace": "defenders",
            ])
            XCTAssertEqual(r.status, 200, r.text)
            let docs = try documents(r.text)
            let kinds = docs.compactMap { $0["kind"] as? String }
            XCTAssertTrue(kinds.contains("Role"))
            XCTAssertTrue(kinds.contains("RoleBinding"))
            let ds = try XCTUnwrap(docs.first { $0["kind"] as? String == "DaemonSet" })
            XCTAssertEqual(env(ds)["DEFENDER_TYPE"], "daemonset")
            XCTAssertEqual(env(ds)["DOCKER_CLIENT_ADDRESS"], "/var/run/docker.sock")
            let container = try XCTUnwrap((podSpec(ds)["containers"] as? [[String: Any]])?.first)
            XCTAssertEqual((container["securityContext"] as? [String: Any])?["privileged"] as? Bool, true)
            let secret = try XCTUnwrap(docs.first { $0["kind"] as? String == "Secret" })
            XCTAssertEqual((secret["metadata"] as? [String: Any])?["namespace"] as? String, "defenders")
            XCTAssertEqual((podSpec(ds)["imagePullSecrets"] as? [[String: Any]])?.first?["name"] as? String, "custom-secrets")
            XCTAssertEqual(sim.requests.last?.findings.map(\.kind), [.fieldCase])
            XCTAssertEqual(sim.requests.last?.findings.first?.path, "secretsName")
        }
    }

    func testInvalidOptionsAre400() async throws {
        try await withSimulator(initialize: true) { sim, client in
            var r = try await client.send("POST", "defenders/daemonset.yaml", json: ["consoleAddr": "c", "containerRuntime": "rkt"])
            XCTAssertEqual(r.status, 400)
            r = try await client.send("POST", "defenders/daemonset.yaml", json: ["consoleAddr": "c", "orchestration": "nomad"])
            XCTAssertEqual(r.status, 400)
            r = try await client.send("POST", "defenders/daemonset.yaml", json: ["consoleAddr": "c", "privileged": "yes"])
            XCTAssertEqual(r.status, 400)
            // No console address: served, but reported.
            r = try await client.send("POST", "defenders/daemonset.yaml", json: ["orchestration": "kubernetes"])
            XCTAssertEqual(r.status, 200)
            XCTAssertEqual(sim.requests.last?.findings.map(\.kind), [.missingField])
        }
    }

    func testVersion() async throws {
        try await withSimulator(initialize: true) { _, client in
            let r = try await client.get("version")
            XCTAssertEqual(r.text, "\"34.04.145\"")
        }
    }
}
