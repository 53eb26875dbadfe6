import Foundation
import JSONModel

/// A request as the API logic sees it (transport-independent, so tests can call it directly).
public struct KubeSimRequest: Sendable {
    public var method: String
    public var path: String
    public var query: [String: String]
    public var headers: [String: String]
    public var body: [UInt8]

    public init(method: String, path: String, query: [String: String] = [:], headers: [String: String] = [:], body: [UInt8] = []) {
        self.method = method.uppercased()
        self.path = path
        self.query = query
        var lowered: [String: String] = [:]
        for (k, v) in headers { lowered[k.lowercased()] = v }
        self.headers = lowered
        self.body = body
    }
}

public struct KubeSimResponse: Sendable {
    public var status: Int
    public var body: JSON
    public var headers: [String: String] = [:]
}

/// The Kubernetes API logic of the simulator: discovery, get/list, server-side apply
/// (create-or-update, dry run), delete, DaemonSet rollout status, faults and auth.
extension KubeSimulator {
    static let reasons: [Int: String] = [
        400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
        409: "Conflict", 415: "UnsupportedMediaType", 422: "Invalid", 429: "TooManyRequests",
        500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout",
    ]

    static func status(_ code: Int, _ message: String, reason: String? = nil, details: JSON? = nil) -> KubeSimResponse {
        var fields: [String: JSON] = [
            "kind": "Status", "apiVersion": "v1", "metadata": .object([:]), "status": "Failure",
            "message": .string(message), "reason": .string(reason ?? reasons[code] ?? ""), "code": .int(Int64(code)),
        ]
        if let details { fields["details"] = details }
        return KubeSimResponse(status: code, body: .object(fields))
    }

    /// Parsed resource path: `/api/v1[/namespaces/{ns}]/{plural}[/{name}[/{sub}]]` or the
    /// same under `/apis/{group}/{version}`.
    struct Target {
        let type: SimResourceType
        let namespace: String?
        let name: String?
        let subresource: String?
    }

    func route(_ request: KubeSimRequest) -> KubeSimResponse {
        let segments = request.path.split(separator: "/").map { String($0).removingPercentEncoding ?? String($0) }
        // Discovery and version need no resource.
        if request.method == "GET" {
            switch segments.count {
            case 1 where segments[0] == "api":
                return KubeSimResponse(status: 200, body: .object([
                    "kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [.object(["clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"])],
                ]))
            case 1 where segments[0] == "apis":
                return KubeSimResponse(status: 200, body: groupList())
            case 1 where segments[0] == "version":
                return KubeSimResponse(status: 200, body: .object([
                    "major": "1", "minor": "31", "gitVersion": "v1.31.0-kubesim", "platform": "linux/amd64",
                ]))
            case 2 where segments[0] == "api":
                return resourceList(group: "", version: segments[1])
            case 2 where segments[0] == "apis":
                let versions = SimResourceType.all.filter { $0.group == segments[1] }.map(\.version)
                guard let v = versions.first else { return KubeSimulator.status(404, "the server could not find the requested resource", reason: "NotFound") }
                return KubeSimResponse(status: 200, body: .object([
                    "kind": "APIGroup", "apiVersion": "v1", "name": .string(segments[1]),
                    "versions": [.object(["groupVersion": .string("\(segments[1])/\(v)"), "version": .string(v)])],
                    "preferredVersion": .object(["groupVersion": .string("\(segments[1])/\(v)"), "version": .string(v)]),
                ]))
            case 3 where segments[0] == "apis":
                return resourceList(group: segments[1], version: segments[2])
            default:
                break
            }
        }
        guard let target = parseTarget(segments) else {
            return KubeSimulator.status(404, "the server could not find the requested resource", reason: "NotFound")
        }
        if let fault = store.takeFault(method: request.method, plural: target.type.plural,
                                        namespace: target.namespace, name: target.name) {
            return faultResponse(fault, request: request, target: target)
        }
        switch (request.method, target.name, target.subresource) {
        case ("GET", nil, nil):
            return list(target)
        case ("POST", nil, nil):
            return create(request, target: target)
        case ("GET", .some(let name), nil), ("GET", .some(let name), "status"):
            return get(target, name: name)
        case ("PATCH", .some(let name), nil):
            return apply(request, target: target, name: name)
        case ("DELETE", .some(let name), nil):
            return delete(request, target: target, name: name)
        default:
            return KubeSimulator.status(405, "the server does not allow this method on the requested resource", reason: "MethodNotAllowed")
        }
    }

    private func groupList() -> JSON {
        var groups: [String: String] = [:]
        for t in SimResourceType.all where !t.group.isEmpty { groups[t.group] = t.version }
        return .object([
            "kind": "APIGroupList", "apiVersion": "v1",
            "groups": .array(groups.keys.sorted().map { g in
                let gv = JSON.object(["groupVersion": .string("\(g)/\(groups[g]!)"), "version": .string(groups[g]!)])
                return .object(["name": .string(g), "versions": [gv], "preferredVersion": gv])
            }),
        ])
    }

    private func resourceList(group: String, version: String) -> KubeSimResponse {
        let types = SimResourceType.all.filter { $0.group == group && $0.version == version }
        guard !types.isEmpty else {
            return KubeSimulator.status(404, "the server could not find the requested resource", reason: "NotFound")
        }
        var resources: [JSON] = []
        for t in types {
            resources.append(.object([
                "name": .string(t.plural), "singularName": .string(t.singular), "namespaced": .bool(t.namespaced),
                "kind": .string(t.kind), "verbs": .array(SimResourceType.verbs),
            ]))
            if t.kind == "DaemonSet" || t.kind == "Service" || t.kind == "Namespace" {
                resources.append(.object([
                    "name": .string("\(t.plural)/status"), "singularName": "", "namespaced": .bool(t.namespaced),
                    "kind": .string(t.kind), "verbs": ["get", "patch", "update"],
                ]))
            }
        }
        return KubeSimResponse(status: 200, body: .object([
            "kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": .string(group.isEmpty ? version : "\(group)/\(version)"),
            "resources": .array(resources),
        ]))
    }

    private func parseTarget(_ s: [String]) -> Target? {
        var rest: ArraySlice<String>
        var group = ""
        let version: String
        if s.first == "api", s.count >= 3 {
            version = s[1]
            rest = s[2...]
        } else if s.first == "apis", s.count >= 4 {
            group = s[1]
            version = s[2]
            rest = s[3...]
        } else {
            return nil
        }
        var namespace: String? = nil
        if rest.first == "namespaces", rest.count >= 3 {
            namespace = rest[rest.startIndex + 1]
            rest = rest.dropFirst(2)
        }
        guard let plural = rest.first,
              let type = SimResourceType.all.first(where: { $0.group == group && $0.version == version && $0.plural == plural }) else {
            // `/api/v1/namespaces/{name}` addresses a Namespace object itself.
            if group.isEmpty, version == "v1", namespace != nil, rest.isEmpty,
               let nsType = SimResourceType.all.first(where: { $0.kind == "Namespace" }) {
                return Target(type: nsType, namespace: nil, name: namespace, subresource: nil)
            }
            if group.isEmpty, version == "v1", namespace != nil, rest.first == "status", rest.count == 1,
               let nsType = SimResourceType.all.first(where: { $0.kind == "Namespace" }) {
                return Target(type: nsType, namespace: nil, name: namespace, subresource: "status")
            }
            return nil
        }
        rest = rest.dropFirst()
        let name = rest.first
        let sub = rest.count >= 2 ? rest[rest.startIndex + 1] : nil
        if rest.count > 2 { return nil }
        if type.namespaced, namespace == nil, name != nil { return nil }
        if !type.namespaced, namespace != nil { return nil }
        return Target(type: type, namespace: namespace, name: name, subresource: sub)
    }

    private func qualified(_ t: SimResourceType) -> String {
        t.group.isEmpty ? t.plural : "\(t.plural).\(t.group)"
    }

    private func details(_ t: SimResourceType, _ name: String?) -> JSON {
        var d: [String: JSON] = ["kind": .string(t.plural)]
        if let name { d["name"] = .string(name) }
        if !t.group.isEmpty { d["group"] = .string(t.group) }
        return .object(d)
    }

    private func faultResponse(_ fault: KubeFault, request: KubeSimRequest, target: Target) -> KubeSimResponse {
        let t = target.type
        let objectName = target.name.map { " \"\($0)\"" } ?? ""
        let verb: String
        switch request.method {
        case "GET": verb = target.name == nil ? "list" : "get"
        case "PATCH": verb = "patch"
        case "DELETE": verb = "delete"
        default: verb = request.method.lowercased()
        }
        let message: String
        if let m = fault.message {
            message = m
        } else {
            switch fault.status {
            case 403:
                let scope = target.namespace.map { "in the namespace \"\($0)\"" } ?? "at the cluster scope"
                message = "\(qualified(t))\(objectName) is forbidden: User \"system:serviceaccount:twistlock:twistlock-init\" cannot \(verb) resource \"\(t.plural)\" in API group \"\(t.group)\" \(scope)"
            case 409 where request.method == "PATCH":
                message = "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using \(t.apiVersion): .metadata.labels.app"
            case 409:
                message = "Operation cannot be fulfilled on \(qualified(t))\(objectName): the object has been modified; please apply your changes to the latest version and try again"
            case 429:
                message = "Too many requests, please try again later."
            case 503:
                message = "the server is currently unable to handle the request"
            default:
                message = "Internal error occurred: simulated fault"
            }
        }
        var response = KubeSimulator.status(fault.status, message, details: details(t, target.name))
        if let retry = fault.retryAfter { response.headers["Retry-After"] = String(retry) }
        return response
    }

    // MARK: - reads

    private func list(_ target: Target) -> KubeSimResponse {
        let t = target.type
        let items = store.objects
            .filter { $0.key.plural == t.plural && (target.namespace == nil || $0.key.namespace == target.namespace) }
            .sorted { ($0.key.namespace, $0.key.name) < ($1.key.namespace, $1.key.name) }
            .map { $0.value }
        return KubeSimResponse(status: 200, body: .object([
            "kind": .string("\(t.kind)List"), "apiVersion": .string(t.apiVersion),
            "metadata": .object(["resourceVersion": .string(String(store.resourceVersion))]),
            "items": .array(items),
        ]))
    }

    private func notFound(_ t: SimResourceType, _ name: String) -> KubeSimResponse {
        KubeSimulator.status(404, "\(qualified(t)) \"\(name)\" not found", details: details(t, name))
    }

    private func get(_ target: Target, name: String) -> KubeSimResponse {
        let key = KubeStore.Key(plural: target.type.plural, namespace: target.namespace ?? "", name: name)
        guard var object = store.objects[key] else { return notFound(target.type, name) }
        if target.type.kind == "DaemonSet" {
            // Each read of a DaemonSet is one poll: its rollout moves on.
            advanceRollout(key, &object)
            store.objects[key] = object
        }
        return KubeSimResponse(status: 200, body: object)
    }

    private func delete(_ request: KubeSimRequest, target: Target, name: String) -> KubeSimResponse {
        let key = KubeStore.Key(plural: target.type.plural, namespace: target.namespace ?? "", name: name)
        guard let object = store.objects[key] else { return notFound(target.type, name) }
        if request.query["dryRun"] != "All" {
            store.objects[key] = nil
            store.rollouts[key] = nil
        }
        _ = object
        return KubeSimResponse(status: 200, body: .object([
            "kind": "Status", "apiVersion": "v1", "metadata": .object([:]), "status": "Success",
            "details": details(target.type, name),
        ]))
    }

    // MARK: - create

    /// `POST` to a collection: the object as sent (JSON), stored with the server's metadata;
    /// 409 when it exists. What clients create rather than apply: Events.
    private func create(_ request: KubeSimRequest, target: Target) -> KubeSimResponse {
        let t = target.type
        guard let doc = try? JSON.parse(bytes: request.body), case .object(var fields) = doc else {
            return KubeSimulator.status(400, "the body of a create must be a JSON object")
        }
        guard fields["apiVersion"]?.stringValue == t.apiVersion, fields["kind"]?.stringValue == t.kind else {
            return KubeSimulator.status(400, "the kind and API version in the data do not match \(t.kind) (\(t.apiVersion))")
        }
        guard case .object(var meta)? = fields["metadata"], let name = meta["name"]?.stringValue, !name.isEmpty else {
            return KubeSimulator.status(422, "\(t.kind) \"\" is invalid: metadata.name: Required value: name or generateName is required")
        }
        if t.namespaced, let given = meta["namespace"]?.stringValue, !given.isEmpty, given != target.namespace {
            return KubeSimulator.status(400, "the namespace of the provided object does not match the namespace sent on the request")
        }
        if t.namespaced, let ns = target.namespace, !store.namespaceExists(ns) {
            return KubeSimulator.status(404, "namespaces \"\(ns)\" not found", details: .object(["name": .string(ns), "kind": "namespaces"]))
        }
        if t.kind == "Event" {
            guard case .object(let involved)? = fields["involvedObject"], involved["name"]?.stringValue != nil,
                  involved["kind"]?.stringValue != nil else {
                return KubeSimulator.status(422, "Event \"\(name)\" is invalid: involvedObject: Required value")
            }
            if let ns = involved["namespace"]?.stringValue, ns != target.namespace {
                return KubeSimulator.status(422, "Event \"\(name)\" is invalid: involvedObject.namespace: Invalid value: \"\(ns)\": does not match event.namespace")
            }
            if let type = fields["type"]?.stringValue, type != "Normal", type != "Warning" {
                return KubeSimulator.status(422, "Event \"\(name)\" is invalid: type: Unsupported value: \"\(type)\": supported values: \"Normal\", \"Warning\"")
            }
        }
        let key = KubeStore.Key(plural: t.plural, namespace: target.namespace ?? "", name: name)
        if store.objects[key] != nil {
            return KubeSimulator.status(409, "\(qualified(t)) \"\(name)\" already exists", reason: "AlreadyExists", details: details(t, name))
        }
        if t.namespaced { meta["namespace"] = .string(target.namespace ?? "") }
        meta["uid"] = .string(store.nextUID())
        meta["resourceVersion"] = .string(store.nextResourceVersion())
        meta["creationTimestamp"] = .string(KubeStore.timestamp())
        fields["metadata"] = .object(meta)
        let object = JSON.object(fields)
        if request.query["dryRun"] != "All" { store.objects[key] = object }
        return KubeSimResponse(status: 201, body: object)
    }

    // MARK: - server-side apply

    private func apply(_ request: KubeSimRequest, target: Target, name: String) -> KubeSimResponse {
        let t = target.type
        let contentType = (request.headers["content-type"] ?? "").split(separator: ";").first.map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        } ?? ""
        guard contentType == "application/apply-patch+yaml" else {
            return KubeSimulator.status(415, "the simulator implements only server-side apply (Content-Type application/apply-patch+yaml), got \"\(contentType)\"")
        }
        guard let manager = request.query["fieldManager"], !manager.isEmpty else {
            return KubeSimulator.status(400, "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch", reason: "BadRequest")
        }
        if let dry = request.query["dryRun"], dry != "All" {
            return KubeSimulator.status(400, "dryRun: Unsupported value: \"\(dry)\": supported values: \"All\"")
        }
        let dryRun = request.query["dryRun"] == "All"
        let applied: JSON
        do {
            applied = try JSON.parse(bytes: request.body)
        } catch {
            return KubeSimulator.status(400, "error decoding YAML: the simulator reads apply bodies as JSON: \(error)")
        }
        guard case .object(let fields) = applied else {
            return KubeSimulator.status(400, "the body of an apply must be an object")
        }
        guard fields["apiVersion"]?.stringValue == t.apiVersion else {
            return KubeSimulator.status(400, "the API version in the data (\(fields["apiVersion"]?.stringValue ?? "")) does not match the expected API version (\(t.apiVersion))")
        }
        guard fields["kind"]?.stringValue == t.kind else {
            return KubeSimulator.status(400, "the kind in the data (\(fields["kind"]?.stringValue ?? "")) does not match the expected kind (\(t.kind))")
        }
        guard case .object(let meta)? = fields["metadata"], meta["name"]?.stringValue == name else {
            return KubeSimulator.status(400, "metadata.name: Invalid value: the name of the object (\(fields["metadata"]?["name"]?.stringValue ?? "")) does not match the name on the URL (\(name))")
        }
        if t.namespaced, let given = meta["namespace"]?.stringValue, !given.isEmpty, given != target.namespace {
            return KubeSimulator.status(400, "the namespace of the provided object does not match the namespace sent on the request")
        }
        if t.namespaced, let ns = target.namespace, !store.namespaceExists(ns) {
            return KubeSimulator.status(404, "namespaces \"\(ns)\" not found",
                                        details: .object(["name": .string(ns), "kind": "namespaces"]))
        }
        if let problem = validate(t, fields, name: name) {
            return KubeSimulator.status(422, "\(t.kind).\(t.group.isEmpty ? "" : t.group) \"\(name)\" is invalid: \(problem)"
                .replacingOccurrences(of: ". \"", with: " \""),
                details: details(t, name))
        }

        let key = KubeStore.Key(plural: t.plural, namespace: target.namespace ?? "", name: name)
        let existing = store.objects[key]
        if t.kind == "DaemonSet", let existing,
           let oldSelector = existing["spec"]?["selector"], let newSelector = fields["spec"]?["selector"],
           !oldSelector.isEquivalent(to: newSelector) {
            return KubeSimulator.status(422, "DaemonSet.apps \"\(name)\" is invalid: spec.selector: Invalid value: \(newSelector.encoded()): field is immutable",
                                        details: details(t, name))
        }

        var object = existing?.objectValue ?? [:]
        for (k, v) in fields where k != "metadata" && k != "status" {
            object[k] = v
        }
        // Fields the manager set before and leaves out now go away (the manager owns them).
        if let previous = store.appliedFields[key] {
            for k in previous where fields[k] == nil && k != "metadata" && k != "status" {
                object[k] = nil
            }
        }
        var newMeta = existing?["metadata"]?.objectValue ?? [:]
        for (k, v) in meta where !["uid", "resourceVersion", "creationTimestamp", "generation", "managedFields"].contains(k) {
            newMeta[k] = v
        }
        if let previousMeta = store.appliedMetadata[key] {
            for k in previousMeta where meta[k] == nil && (k == "labels" || k == "annotations") { newMeta[k] = nil }
        }
        newMeta["name"] = .string(name)
        if t.namespaced { newMeta["namespace"] = .string(target.namespace ?? "") } else { newMeta["namespace"] = nil }
        if newMeta["uid"] == nil { newMeta["uid"] = .string(dryRun ? "" : store.nextUID()) }
        if newMeta["creationTimestamp"] == nil { newMeta["creationTimestamp"] = .string(KubeStore.timestamp()) }
        object["metadata"] = .object(newMeta)
        applyDefaults(t, &object, existing: existing)

        let specChanged = existing == nil || !(existing?["spec"] ?? .null).isEquivalent(to: object["spec"] ?? .null)
        if object["spec"] != nil {
            var generation = existing?["metadata"]?["generation"]?.int64Value ?? 0
            if specChanged { generation += 1 }
            newMeta["generation"] = .int(max(generation, 1))
            if t.kind == "DaemonSet" {
                var annotations = newMeta["annotations"]?.objectValue ?? [:]
                annotations["deprecated.daemonset.template.generation"] = .string(String(max(generation, 1)))
                newMeta["annotations"] = .object(annotations)
            }
        }
        object["metadata"] = .object(newMeta)

        let changed = existing == nil || !KubeSimulator.comparable(existing!).isEquivalent(to: KubeSimulator.comparable(.object(object)))
        if changed {
            newMeta["managedFields"] = .array([.object([
                "manager": .string(manager), "operation": "Apply", "apiVersion": .string(t.apiVersion),
                "time": .string(KubeStore.timestamp()), "fieldsType": "FieldsV1",
                "fieldsV1": .object(Dictionary(uniqueKeysWithValues: fields.keys.sorted().map { ("f:\($0)", JSON.object([:])) })),
            ])])
            newMeta["resourceVersion"] = .string(dryRun ? String(store.resourceVersion) : store.nextResourceVersion())
            object["metadata"] = .object(newMeta)
        }
        if t.kind == "DaemonSet" {
            if existing == nil {
                object["status"] = .object([
                    "currentNumberScheduled": 0, "desiredNumberScheduled": 0, "numberMisscheduled": 0, "numberReady": 0,
                ])
            }
        }
        let result = JSON.object(object)
        if !dryRun {
            store.objects[key] = result
            store.appliedFields[key] = Set(fields.keys)
            store.appliedMetadata[key] = Set(meta.keys)
            if t.kind == "DaemonSet", specChanged {
                store.rollouts[key] = KubeStore.Rollout(polls: 0, created: existing == nil)
            }
        }
        return KubeSimResponse(status: existing == nil ? 201 : 200, body: result)
    }

    /// Without what the server rewrites on every write.
    static func comparable(_ object: JSON) -> JSON {
        guard case .object(var fields) = object else { return object }
        fields["status"] = nil
        if case .object(var meta)? = fields["metadata"] {
            for k in ["resourceVersion", "managedFields", "uid", "creationTimestamp"] { meta[k] = nil }
            fields["metadata"] = .object(meta)
        }
        return .object(fields)
    }

    /// The checks the real API server makes that a manifest edit could break.
    private func validate(_ t: SimResourceType, _ fields: [String: JSON], name: String) -> String? {
        let labelValue = "^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
        func badLabels(_ labels: JSON?, _ path: String) -> String? {
            guard let labels else { return nil }
            guard case .object(let map) = labels else { return "\(path): Invalid value: must be a map of strings" }
            for (k, v) in map {
                guard case .string(let s) = v else { return "\(path)[\(k)]: Invalid value: must be a string" }
                if s.count > 63 || s.range(of: labelValue, options: .regularExpression) == nil {
                    return "\(path)[\(k)]: Invalid value: \"\(s)\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.'"
                }
            }
            return nil
        }
        if let problem = badLabels(fields["metadata"]?["labels"], "metadata.labels") { return problem }
        switch t.kind {
        case "DaemonSet":
            guard case .object(let spec)? = fields["spec"] else { return "spec: Required value" }
            guard case .object(let matchLabels)? = spec["selector"]?["matchLabels"], !matchLabels.isEmpty else {
                return "spec.selector: Required value"
            }
            guard case .object(let template)? = spec["template"] else { return "spec.template: Required value" }
            if let problem = badLabels(template["metadata"]?["labels"], "spec.template.metadata.labels") { return problem }
            let podLabels = template["metadata"]?["labels"]?.objectValue ?? [:]
            for (k, v) in matchLabels where podLabels[k].map({ !$0.isEquivalent(to: v) }) ?? true {
                return "spec.template.metadata.labels: Invalid value: \(JSON.object(podLabels).encoded()): `selector` does not match template `labels`"
            }
            guard case .array(let containers)? = template["spec"]?["containers"], !containers.isEmpty else {
                return "spec.template.spec.containers: Required value"
            }
            var names = Set<String>()
            for (i, c) in containers.enumerated() {
                guard case .string(let n)? = c["name"], !n.isEmpty else { return "spec.template.spec.containers[\(i)].name: Required value" }
                guard names.insert(n).inserted else { return "spec.template.spec.containers[\(i)].name: Duplicate value: \"\(n)\"" }
                guard case .string(let image)? = c["image"], !image.isEmpty else { return "spec.template.spec.containers[\(i)].image: Required value" }
                if case .object(let caps)? = c["securityContext"]?["capabilities"] {
                    for list in ["add", "drop"] {
                        if let v = caps[list], !(v.arrayValue?.allSatisfy({ $0.stringValue != nil }) ?? false) {
                            return "spec.template.spec.containers[\(i)].securityContext.capabilities.\(list): Invalid value: must be a list of strings"
                        }
                    }
                }
            }
            if case .some(let tolerations) = template["spec"]?["tolerations"] {
                guard case .array(let list) = tolerations else { return "spec.template.spec.tolerations: Invalid value: must be a list" }
                for (i, tol) in list.enumerated() {
                    if let op = tol["operator"]?.stringValue, op != "Exists", op != "Equal" {
                        return "spec.template.spec.tolerations[\(i)].operator: Unsupported value: \"\(op)\": supported values: \"Equal\", \"Exists\""
                    }
                    if tol["operator"]?.stringValue == "Exists", let v = tol["value"]?.stringValue, !v.isEmpty {
                        return "spec.template.spec.tolerations[\(i)].operator: Invalid value: \"\(v)\": value must be empty when `operator` is 'Exists'"
                    }
                }
            }
        case "Service":
            guard case .array(let ports)? = fields["spec"]?["ports"] else { return nil }
            for (i, p) in ports.enumerated() where p["port"]?.int64Value == nil {
                return "spec.ports[\(i)].port: Required value"
            }
        case "ClusterRoleBinding", "RoleBinding":
            guard fields["roleRef"]?["name"]?.stringValue != nil else { return "roleRef.name: Required value" }
        default:
            break
        }
        return nil
    }

    /// A few of the defaults the real API server fills in, so that the object read back is
    /// not the manifest (clients must compare live with live, not manifest with live).
    private func applyDefaults(_ t: SimResourceType, _ object: inout [String: JSON], existing: JSON?) {
        switch t.kind {
        case "DaemonSet":
            guard case .object(var spec)? = object["spec"] else { return }
            if spec["revisionHistoryLimit"] == nil { spec["revisionHistoryLimit"] = 10 }
            if spec["updateStrategy"] == nil {
                spec["updateStrategy"] = .object(["type": "RollingUpdate",
                                                  "rollingUpdate": .object(["maxUnavailable": 1, "maxSurge": 0])])
            }
            if case .object(var template)? = spec["template"], case .object(var pod)? = template["spec"] {
                if pod["restartPolicy"] == nil { pod["restartPolicy"] = "Always" }
                if pod["dnsPolicy"] == nil { pod["dnsPolicy"] = "ClusterFirst" }
                if pod["schedulerName"] == nil { pod["schedulerName"] = "default-scheduler" }
                if pod["terminationGracePeriodSeconds"] == nil { pod["terminationGracePeriodSeconds"] = 30 }
                if pod["securityContext"] == nil { pod["securityContext"] = .object([:]) }
                if case .array(let containers)? = pod["containers"] {
                    pod["containers"] = .array(containers.map { c in
                        guard case .object(var c) = c else { return c }
                        if c["terminationMessagePath"] == nil { c["terminationMessagePath"] = "/dev/termination-log" }
                        if c["terminationMessagePolicy"] == nil { c["terminationMessagePolicy"] = "File" }
                        if c["resources"] == nil { c["resources"] = .object([:]) }
                        if c["imagePullPolicy"] == nil {
                            let image = c["image"]?.stringValue ?? ""
                            let tagged = image.split(separator: "/").last.map { $0.contains(":") || $0.contains("@") } ?? false
                            c["imagePullPolicy"] = (image.hasSuffix(":latest") || !tagged) ? "Always" : "IfNotPresent"
                        }
                        return .object(c)
                    })
                }
                template["spec"] = .object(pod)
                spec["template"] = .object(template)
            }
            object["spec"] = .object(spec)
        case "Service":
            guard case .object(var spec)? = object["spec"] else { return }
            if spec["type"] == nil { spec["type"] = "ClusterIP" }
            if spec["sessionAffinity"] == nil { spec["sessionAffinity"] = "None" }
            if spec["internalTrafficPolicy"] == nil { spec["internalTrafficPolicy"] = "Cluster" }
            if spec["ipFamilies"] == nil { spec["ipFamilies"] = ["IPv4"] }
            if spec["ipFamilyPolicy"] == nil { spec["ipFamilyPolicy"] = "SingleStack" }
            if spec["clusterIP"] == nil {
                if let kept = existing?["spec"]?["clusterIP"] {
                    spec["clusterIP"] = kept
                } else {
                    store.clusterIPCounter += 1
                    spec["clusterIP"] = .string("10.96.0.\(store.clusterIPCounter % 250 + 2)")
                }
            }
            if spec["clusterIPs"] == nil, let ip = spec["clusterIP"] { spec["clusterIPs"] = [ip] }
            if case .array(let ports)? = spec["ports"] {
                spec["ports"] = .array(ports.map { p in
                    guard case .object(var p) = p else { return p }
                    if p["protocol"] == nil { p["protocol"] = "TCP" }
                    if p["targetPort"] == nil, let port = p["port"] { p["targetPort"] = port }
                    return .object(p)
                })
            }
            object["spec"] = .object(spec)
            if object["status"] == nil { object["status"] = .object(["loadBalancer": .object([:])]) }
        case "Secret":
            if object["type"] == nil { object["type"] = "Opaque" }
            if case .object(let stringData)? = object["stringData"] {
                var data = object["data"]?.objectValue ?? [:]
                for (k, v) in stringData {
                    if case .string(let s) = v { data[k] = .string(Data(s.utf8).base64EncodedString()) }
                }
                object["data"] = .object(data)
                object["stringData"] = nil
            }
        default:
            break
        }
    }

    // MARK: - DaemonSet rollout

    /// One poll of a DaemonSet: the controller observes the new generation, then the
    /// updated and available counts climb to the node count over `rolloutPolls` polls
    /// (`unavailableNodes` never become available).
    func advanceRollout(_ key: KubeStore.Key, _ object: inout JSON) {
        guard case .object(var fields) = object else { return }
        let generation = fields["metadata"]?["generation"]?.int64Value ?? 1
        var rollout = store.rollouts[key] ?? KubeStore.Rollout(polls: store.rolloutPolls, created: false)
        rollout.polls += 1
        store.rollouts[key] = rollout
        let n = store.nodeCount
        let total = max(store.rolloutPolls, 0)
        let done = rollout.polls >= total
        var status = fields["status"]?.objectValue ?? [:]
        if rollout.polls >= 1 || total == 0 {
            status["observedGeneration"] = .int(generation)
        }
        let updated = done ? n : (n * rollout.polls) / max(total, 1)
        var available = rollout.created ? updated : (done ? n : max(updated, n - 1))
        available = min(available, max(n - store.unavailableNodes, 0))
        status["desiredNumberScheduled"] = .int(Int64(n))
        status["currentNumberScheduled"] = .int(Int64(n))
        status["numberMisscheduled"] = 0
        status["updatedNumberScheduled"] = .int(Int64(updated))
        status["numberAvailable"] = .int(Int64(available))
        status["numberReady"] = .int(Int64(available))
        if n - available > 0 { status["numberUnavailable"] = .int(Int64(n - available)) } else { status["numberUnavailable"] = nil }
        fields["status"] = .object(status)
        object = .object(fields)
    }
}
