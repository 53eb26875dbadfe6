import Foundation
import JSONModel

/// A resource type the simulator serves.
public struct SimResourceType: Sendable, Equatable {
    public let group: String
    public let version: String
    public let kind: String
    public let plural: String
    public let singular: String
    public let namespaced: Bool

    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }

    public init(group: String, version: String, kind: String, plural: String, namespaced: Bool) {
        self.group = group
        self.version = version
        self.kind = kind
        self.plural = plural
        self.singular = kind.lowercased()
        self.namespaced = namespaced
    }

    /// What the simulator serves: what the Defender manifest uses, plus Namespace, ConfigMap,
    /// Event and CronJob (what a scheduled run records its outcome with).
    public static let all: [SimResourceType] = [
        .init(group: "", version: "v1", kind: "Namespace", plural: "namespaces", namespaced: false),
        .init(group: "", version: "v1", kind: "Secret", plural: "secrets", namespaced: true),
        .init(group: "", version: "v1", kind: "ServiceAccount", plural: "serviceaccounts", namespaced: true),
        .init(group: "", version: "v1", kind: "Service", plural: "services", namespaced: true),
        .init(group: "", version: "v1", kind: "ConfigMap", plural: "configmaps", namespaced: true),
        .init(group: "", version: "v1", kind: "Event", plural: "events", namespaced: true),
        .init(group: "batch", version: "v1", kind: "CronJob", plural: "cronjobs", namespaced: true),
        .init(group: "rbac.authorization.k8s.io", version: "v1", kind: "ClusterRole", plural: "clusterroles", namespaced: false),
        .init(group: "rbac.authorization.k8s.io", version: "v1", kind: "ClusterRoleBinding", plural: "clusterrolebindings", namespaced: false),
        .init(group: "rbac.authorization.k8s.io", version: "v1", kind: "Role", plural: "roles", namespaced: true),
        .init(group: "rbac.authorization.k8s.io", version: "v1", kind: "RoleBinding", plural: "rolebindings", namespaced: true),
        .init(group: "apps", version: "v1", kind: "DaemonSet", plural: "daemonsets", namespaced: true),
    ]

    /// Verbs listed in discovery.
    static let verbs: [JSON] = ["create", "delete", "get", "list", "patch", "update", "watch"]
}

/// An answer the simulator gives instead of doing the request: a Kubernetes Status object
/// with the given code and reason, on requests that match.
public struct KubeFault: Sendable {
    /// HTTP status: 403, 409, 429, 500, 503, ...
    public var status: Int
    /// Resource plural (`daemonsets`), or nil for any.
    public var resource: String?
    public var namespace: String?
    public var name: String?
    /// `GET`, `PATCH`, ... or nil for any.
    public var method: String?
    /// The Status message; a realistic one is made up when nil.
    public var message: String?
    /// How many matching requests get the fault (nil: all of them).
    public var times: Int?
    /// `Retry-After` header (seconds) for 429/503.
    public var retryAfter: Int?

    public init(status: Int, resource: String? = nil, namespace: String? = nil, name: String? = nil,
                method: String? = nil, message: String? = nil, times: Int? = nil, retryAfter: Int? = nil) {
        self.status = status
        self.resource = resource
        self.namespace = namespace
        self.name = name
        self.method = method
        self.message = message
        self.times = times
        self.retryAfter = retryAfter
    }
}

/// One request as the simulator saw it (no headers: the token stays out of the log).
public struct KubeRequestRecord: Sendable, Equatable {
    public let method: String
    public let path: String
    public let query: [String: String]
    public let contentType: String?
    public let status: Int
    /// Whether a bearer token was presented (never the token itself).
    public let authenticated: Bool
    /// The decoded body of a PATCH or POST (the object as the client sent it), else nil.
    public let body: JSON?
    public var dryRun: Bool { query["dryRun"] == "All" }
}

/// The simulator's state: objects by resource/namespace/name, DaemonSet rollouts, faults, log.
/// Thread-safe; every request runs under one lock, so answers are consistent.
// @unchecked Sendable: every field is read and written with `lock` held (KubeSimulator.handle
// holds it for a whole request; the test controls take it too).
final class KubeStore: @unchecked Sendable {
    struct Key: Hashable {
        let plural: String
        let namespace: String
        let name: String
    }

    struct Rollout {
        /// Polls (GETs) since the last change of the DaemonSet's spec.
        var polls: Int = 0
        /// Whether the DaemonSet was created (not updated) by that change.
        var created: Bool
    }

    let lock = NSLock()
    var objects: [Key: JSON] = [:]
    var rollouts: [Key: Rollout] = [:]
    /// Top-level and metadata keys each object's last apply set (what our manager owns).
    var appliedFields: [Key: Set<String>] = [:]
    var appliedMetadata: [Key: Set<String>] = [:]
    var faults: [KubeFault] = []
    var log: [KubeRequestRecord] = []
    var resourceVersion: Int64 = 1000
    var uidCounter = 0
    var clusterIPCounter = 10

    var nodeCount: Int
    var rolloutPolls: Int
    /// Nodes that never become available (a stuck rollout, for timeout tests).
    var unavailableNodes: Int = 0

    init(nodeCount: Int, rolloutPolls: Int, namespaces: [String]) {
        self.nodeCount = nodeCount
        self.rolloutPolls = rolloutPolls
        for ns in namespaces {
            let key = Key(plural: "namespaces", namespace: "", name: ns)
            objects[key] = newNamespace(ns)
        }
    }

    func nextResourceVersion() -> String {
        resourceVersion += 1
        return String(resourceVersion)
    }

    func nextUID() -> String {
        uidCounter += 1
        let hex = String(format: "%012x", uidCounter)
        return "5ea1c0de-0000-4000-8000-\(hex)"
    }

    static func timestamp() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: Date())
    }

    private func newNamespace(_ name: String) -> JSON {
        .object([
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": .object([
                "name": .string(name), "uid": .string(nextUID()), "resourceVersion": .string(nextResourceVersion()),
                "creationTimestamp": .string(KubeStore.timestamp()),
                "labels": .object(["kubernetes.io/metadata.name": .string(name)]),
            ]),
            "spec": .object(["finalizers": ["kubernetes"]]),
            "status": .object(["phase": "Active"]),
        ])
    }

    func namespaceExists(_ ns: String) -> Bool {
        objects[Key(plural: "namespaces", namespace: "", name: ns)] != nil
    }

    /// The first fault matching the request; consumes one of its `times`.
    func takeFault(method: String, plural: String?, namespace: String?, name: String?) -> KubeFault? {
        for (i, fault) in faults.enumerated() {
            if let m = fault.method, m.uppercased() != method { continue }
            if let r = fault.resource, r != plural { continue }
            if let n = fault.namespace, n != namespace { continue }
            if let n = fault.name, n != name { continue }
            if let t = fault.times {
                if t <= 1 { faults.remove(at: i) } else { faults[i].times = t - 1 }
            }
            return fault
        }
        return nil
    }
}
