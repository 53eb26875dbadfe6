import Foundation
import JSONModel
import LuaHost

/// The Kubernetes client of a run, built on the first `k8s.*` call (runs without the
/// defenders step need no cluster). Tests put one in `JobContext.kubeState` beforehand to
/// point the step at a simulator.
public final class KubeState: Sendable {
    public let client: KubeClient
    public init(client: KubeClient) { self.client = client }
}

/// `k8s.apply` / `k8s.get`: server-side apply and reads over the Kubernetes API
/// (Kube/KubeClient.swift). In plan mode an apply is a server-side dry run; every change is
/// recorded in the ledger (Secret data masked) like console writes.
enum K8sPrimitives {
    static func register(on vm: LuaVM, context ctx: JobContext) {
        vm.register("k8s", "apply") { args in
            guard let doc = args.first, case .object = doc else {
                throw PrimitiveError("k8s.apply(doc): doc must be a table (one Kubernetes object), got \(args.first?.typeName ?? "nothing")")
            }
            return [try apply(ctx, doc)]
        }
        vm.register("k8s", "get") { args in
            let apiVersion = try stringArg(args, 0, "k8s.get", "apiVersion")
            let kind = try stringArg(args, 1, "k8s.get", "kind")
            var namespace: String? = nil
            if args.count > 2, case .string(let ns) = args[2], !ns.isEmpty { namespace = ns }
            let name = try stringArg(args, 3, "k8s.get", "name")
            // A KubeError reaches the step as an error value (err.kind, err.status, err.object).
            return [try client(ctx).get(apiVersion: apiVersion, kind: kind, namespace: namespace, name: name) ?? .null]
        }
    }

    /// The run's client: the one in `ctx.kubeState`, else one from `--kubeconfig`,
    /// `$KUBECONFIG`, the pod's service account or `~/.kube/config` (KubeConfig.resolve).
    static func client(_ ctx: JobContext) throws -> KubeClient {
        if let state = ctx.kubeState as? KubeState { return state.client }
        var environment = ProcessInfo.processInfo.environment
        var explicit = ctx.kubeconfig
        if let list = explicit, list.contains(":") {
            // A KUBECONFIG-style list: the first file that exists.
            environment["KUBECONFIG"] = list
            explicit = nil
        }
        let config: KubeConfig
        let client: KubeClient
        do {
            config = try KubeConfig.resolve(explicitPath: explicit, environment: environment)
            client = try KubeClient(config: config, interrupt: ctx.interrupt)
        } catch {
            throw PrimitiveError("Kubernetes: \(error)")
        }
        for warning in config.warnings { ctx.log.log(.warn, warning, step: ctx.step) }
        client.onRetry = { line in ctx.log.log(.warn, line, step: ctx.step) }
        client.onToken = { [redactor = ctx.redactor] token in redactor.add(token) }
        // `-v`/`-vv`: the same request lines as the console's.
        client.onRequest = ctx.console.onRequest
        client.httpLogger = ctx.console.httpLogger
        ctx.log.log(.info, "Kubernetes API \(config.server) (\(config.source))", step: ctx.step)
        ctx.kubeState = KubeState(client: client)
        return client
    }

    static func apply(_ ctx: JobContext, _ doc: JSON) throws -> JSON {
        let plan = ctx.mode == .plan
        let result = try client(ctx).apply(doc, dryRun: plan)
        let kind = doc["kind"]?.stringValue ?? "?"
        let name = doc["metadata"]?["name"]?.stringValue ?? "?"
        let namespace = result.resource.namespaced ? result.object["metadata"]?["namespace"]?.stringValue : nil
        let label = namespace.map { "\(kind) \($0)/\(name)" } ?? "\(kind) \(name)"
        if result.changed {
            let (before, after) = maskedForDiff(kind: kind, before: result.before.map(KubeClient.comparable),
                                                after: KubeClient.comparable(result.object))
            let r = ctx.ledger.record(step: ctx.step, object: label, method: "APPLY",
                                      target: result.resource.path(namespace: namespace, name: name),
                                      before: before, after: after, sensitive: [], planned: plan,
                                      status: nil)
            ConsolePrimitives.render(ctx, r)
        }
        return .object([
            "changed": .bool(result.changed),
            "planned": .bool(plan && result.changed),
            "created": .bool(result.before == nil),
            "object": result.object,
        ])
    }

    /// Secret values never reach a diff: each `data`/`stringData` value becomes `••••••`, or
    /// `•••••• (changed)` when it differs from before, so a diff still says which key changed.
    static func maskedForDiff(kind: String, before: JSON?, after: JSON) -> (JSON?, JSON) {
        guard kind == "Secret" else { return (before, after) }
        func mask(_ object: JSON?, against other: JSON?) -> JSON? {
            guard case .object(var fields)? = object else { return object }
            for key in ["data", "stringData"] {
                guard case .object(let values)? = fields[key] else { continue }
                var masked: [String: JSON] = [:]
                for (k, v) in values {
                    let changed = other != nil && other?[key]?[k] != v
                    masked[k] = .string(Redactor.mask + (changed ? " (changed)" : ""))
                }
                fields[key] = .object(masked)
            }
            return .object(fields)
        }
        let maskedBefore = mask(before, against: nil)
        let maskedAfter = mask(after, against: before) ?? after
        return (maskedBefore, maskedAfter)
    }
}
