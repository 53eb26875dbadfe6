import Foundation
import HTTPTypes
import Hummingbird
import SimulatorServing
import HummingbirdCore
import HummingbirdTLS
import JSONModel
import Logging
import NIOCore
import Synchronization

/// A small in-process Kubernetes API server for tests and demos: discovery for the kinds the
/// Defender manifest uses, server-side apply (create or update, `dryRun=All`), get/list/delete,
/// a DaemonSet status that rolls out over a few polls, injected error answers (Status objects
/// as the real API server sends them), bearer-token auth and a request log.
///
/// ```swift
/// let sim = KubeSimulator(options: .init(token: "t", nodeCount: 3, rolloutPolls: 2))
/// try sim.start()            // 127.0.0.1, a free port
/// ... KubeConfig(server: sim.baseURL, token: "t") ...
/// sim.stop()
/// ```
// @unchecked Sendable: `token` is guarded by the store's lock, the server fields by `stateLock`.
public final class KubeSimulator: @unchecked Sendable {
    public struct Options: Sendable {
        /// The bearer token every request must carry; nil: no authentication.
        public var token: String?
        /// Nodes the DaemonSet schedules on (`desiredNumberScheduled`).
        public var nodeCount: Int
        /// Polls (GETs of the DaemonSet) a rollout takes to complete; 0: at once.
        public var rolloutPolls: Int
        /// Namespaces that exist at start.
        public var namespaces: [String]
        /// Serve HTTPS with this PEM certificate chain and key instead of plain HTTP.
        public var tlsCertificatePEM: String?
        public var tlsKeyPEM: String?
        public var host: String
        public var port: Int

        public init(token: String? = "kubesim-token", nodeCount: Int = 3, rolloutPolls: Int = 3,
                    namespaces: [String] = ["default", "kube-system", "twistlock"],
                    tlsCertificatePEM: String? = nil, tlsKeyPEM: String? = nil,
                    host: String = "127.0.0.1", port: Int = 0) {
            self.token = token
            self.nodeCount = nodeCount
            self.rolloutPolls = rolloutPolls
            self.namespaces = namespaces
            self.tlsCertificatePEM = tlsCertificatePEM
            self.tlsKeyPEM = tlsKeyPEM
            self.host = host
            self.port = port
        }
    }

    public let options: Options
    let store: KubeStore
    private var token: String?
    private let stateLock = NSLock()
    private var serverRun: ServerRun?
    private var boundPort: Int?

    public init(options: Options = Options()) {
        self.options = options
        self.token = options.token
        self.store = KubeStore(nodeCount: options.nodeCount, rolloutPolls: options.rolloutPolls, namespaces: options.namespaces)
    }

    deinit {
        serverRun?.stopSoon()
    }

    // MARK: - serving

    /// The port the server listens on (after `start`).
    public var port: Int {
        stateLock.withLock { boundPort ?? 0 }
    }

    /// `http(s)://127.0.0.1:<port>`.
    public var baseURL: String {
        let scheme = options.tlsCertificatePEM != nil ? "https" : "http"
        return "\(scheme)://\(options.host):\(port)"
    }

    /// A kubeconfig that reaches this server (plain HTTP) with its bearer token, for the job's
    /// `--kubeconfig` in tests, the demo and the benchmark.
    public var kubeconfig: String {
        let user = options.token.map { "{token: \($0)}" } ?? "{}"
        return """
        apiVersion: v1
        kind: Config
        clusters: [{name: sim, cluster: {server: "\(baseURL)"}}]
        users: [{name: sim, user: \(user)}]
        contexts: [{name: sim, context: {cluster: sim, user: sim}}]
        current-context: sim

        """
    }

    /// Starts serving and returns once the port is bound. Call from a thread that may block
    /// (not from an async context: use `startAsync` there).
    public func start(timeout: Double = 10) throws {
        let semaphore = DispatchSemaphore(value: 0)
        let box = ErrorBox(nil)
        Task.detached {
            do { try await self.startAsync() } catch { box.withLock { $0 = error } }
            semaphore.signal()
        }
        if semaphore.wait(timeout: .now() + timeout) == .timedOut {
            throw KubeSimulatorError("the simulator did not start within \(timeout) s")
        }
        if let error = box.withLock({ $0 }) { throw error }
    }

    /// Starts serving; returns once the port is bound.
    public func startAsync() async throws {
        if stateLock.withLock({ serverRun != nil }) { return }
        let server: HTTPServerBuilder
        if let certPEM = options.tlsCertificatePEM, let keyPEM = options.tlsKeyPEM {
            let chain = try NIOSSLCertificate.fromPEMBytes(Array(certPEM.utf8))
            let key = try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem)
            let tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) },
                                                               privateKey: .privateKey(key))
            server = try .tls(.http1(), tlsConfiguration: tls)
        } else {
            server = .http1()
        }
        let responder = CallbackResponder<BasicRequestContext> { [weak self] request, _ in
            guard let self else { return Response(status: .serviceUnavailable) }
            var request = request
            let body = try await request.collectBody(upTo: 8 * 1024 * 1024)
            var query: [String: String] = [:]
            for (k, v) in request.uri.queryParameters { query[String(k)] = String(v) }
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let simRequest = KubeSimRequest(method: request.method.rawValue, path: request.uri.path, query: query,
                                            headers: headers, body: Array(buffer: body))
            let answer = self.handle(simRequest)
            var responseHeaders = HTTPFields()
            responseHeaders[.contentType] = "application/json"
            for (k, v) in answer.headers {
                if let name = HTTPField.Name(k) { responseHeaders[name] = v }
            }
            let text = answer.body.encoded()
            return Response(status: .init(code: answer.status), headers: responseHeaders,
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        let ready = PortPromise()
        var logger = Logger(label: "kubesim")
        logger.logLevel = .critical
        let app = Application(
            responder: responder,
            server: server,
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "kubesim"),
            onServerRunning: { channel in ready.fulfil(channel.localAddress?.port ?? 0) },
            logger: logger
        )
        let run = ServerRun(app: app, logger: logger)
        stateLock.withLock { serverRun = run }
        let port = await ready.wait(orFailureOf: run.task)
        guard let port, port > 0 else {
            stateLock.withLock { serverRun = nil }
            await run.stop()
            throw KubeSimulatorError("the simulator could not listen on \(options.host):\(options.port)")
        }
        stateLock.withLock { boundPort = port }
    }

    /// Stops serving (waits up to `timeout` seconds for the listener to close).
    public func stop(timeout: Double = 10) {
        guard let run = stateLock.withLock({ () -> ServerRun? in
            let r = serverRun
            serverRun = nil
            return r
        }) else { return }
        let semaphore = DispatchSemaphore(value: 0)
        Task.detached {
            await run.stop(timeout: timeout)
            semaphore.signal()
        }
        _ = semaphore.wait(timeout: .now() + timeout)
    }

    // MARK: - the API

    /// Answers one request (also usable without HTTP).
    public func handle(_ request: KubeSimRequest) -> KubeSimResponse {
        store.lock.lock()
        defer { store.lock.unlock() }
        let presented = request.headers["authorization"]
        let authenticated: Bool
        let response: KubeSimResponse
        if let token {
            authenticated = presented == "Bearer \(token)"
            if !authenticated {
                response = KubeSimulator.status(401, "Unauthorized", reason: "Unauthorized")
                record(request, response, authenticated: presented != nil)
                return response
            }
        } else {
            authenticated = presented != nil
        }
        response = route(request)
        record(request, response, authenticated: authenticated)
        return response
    }

    private func record(_ request: KubeSimRequest, _ response: KubeSimResponse, authenticated: Bool) {
        let body = request.method == "PATCH" || request.method == "POST" ? try? JSON.parse(bytes: request.body) : nil
        store.log.append(KubeRequestRecord(method: request.method, path: request.path, query: request.query,
                                           contentType: request.headers["content-type"], status: response.status,
                                           authenticated: authenticated, body: body))
    }

    // MARK: - test controls

    /// Every request so far, oldest first.
    public var requests: [KubeRequestRecord] {
        store.lock.withLock { store.log }
    }

    public func clearRequests() {
        store.lock.withLock { store.log.removeAll() }
    }

    /// Requests other than discovery (`/api`, `/apis`, `/api/v1`, `/apis/<g>/<v>`).
    public var objectRequests: [KubeRequestRecord] {
        requests.filter { r in
            let n = r.path.split(separator: "/").count
            return !((r.path.hasPrefix("/api/") && n <= 2) || (r.path.hasPrefix("/apis") && n <= 3) || n <= 1)
        }
    }

    /// The stored object (status as last computed), or nil.
    public func object(apiVersion: String, kind: String, namespace: String?, name: String) -> JSON? {
        guard let t = SimResourceType.all.first(where: { $0.apiVersion == apiVersion && $0.kind == kind }) else { return nil }
        return store.lock.withLock {
            store.objects[KubeStore.Key(plural: t.plural, namespace: t.namespaced ? (namespace ?? "") : "", name: name)]
        }
    }

    /// Every stored object of a kind (any namespace), sorted by namespace and name.
    public func objects(kind: String) -> [JSON] {
        guard let t = SimResourceType.all.first(where: { $0.kind == kind }) else { return [] }
        return store.lock.withLock {
            store.objects.filter { $0.key.plural == t.plural }
                .sorted { ($0.key.namespace, $0.key.name) < ($1.key.namespace, $1.key.name) }
                .map { $0.value }
        }
    }

    /// The number of stored objects, all kinds (Namespaces included).
    public var objectCount: Int {
        store.lock.withLock { store.objects.count }
    }

    /// Puts an object in place as if someone else had created it (no defaults, no rollout).
    public func seed(_ object: JSON) throws {
        guard let apiVersion = object["apiVersion"]?.stringValue, let kind = object["kind"]?.stringValue,
              let name = object["metadata"]?["name"]?.stringValue,
              let t = SimResourceType.all.first(where: { $0.apiVersion == apiVersion && $0.kind == kind }) else {
            throw KubeSimulatorError("seed: the object needs a served apiVersion and kind and metadata.name")
        }
        let ns = t.namespaced ? (object["metadata"]?["namespace"]?.stringValue ?? "default") : ""
        store.lock.withLock {
            var fields = object.objectValue ?? [:]
            var meta = fields["metadata"]?.objectValue ?? [:]
            if meta["uid"] == nil { meta["uid"] = .string(store.nextUID()) }
            meta["resourceVersion"] = .string(store.nextResourceVersion())
            if meta["creationTimestamp"] == nil { meta["creationTimestamp"] = .string(KubeStore.timestamp()) }
            fields["metadata"] = .object(meta)
            store.objects[KubeStore.Key(plural: t.plural, namespace: ns, name: name)] = .object(fields)
        }
    }

    /// Answers matching requests with an error Status (see `KubeFault`).
    public func inject(_ fault: KubeFault) {
        store.lock.withLock { store.faults.append(fault) }
    }

    public func clearFaults() {
        store.lock.withLock { store.faults.removeAll() }
    }

    /// Changes the token the server accepts (a rotated service account token).
    public func setToken(_ newToken: String?) {
        store.lock.withLock { token = newToken }
    }

    /// Changes the rollout behaviour for the next spec changes.
    public func setRollout(nodeCount: Int? = nil, polls: Int? = nil, unavailableNodes: Int? = nil) {
        store.lock.withLock {
            if let nodeCount { store.nodeCount = nodeCount }
            if let polls { store.rolloutPolls = polls }
            if let unavailableNodes { store.unavailableNodes = unavailableNodes }
        }
    }

    /// Creates a namespace (as an administrator would).
    public func createNamespace(_ name: String) {
        try? seed(.object(["apiVersion": "v1", "kind": "Namespace", "metadata": .object(["name": .string(name)]),
                           "status": .object(["phase": "Active"])]))
    }
}

public struct KubeSimulatorError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

private typealias ErrorBox = SharedBox<Error?>

/// A value shared between a task and the thread waiting for it.
private final class SharedBox<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R { value.withLock { body(&$0) } }
}

/// The port once the server is bound, or nil when the server task ended first.
// @unchecked Sendable: every field is guarded by `lock` (continuations are resumed outside it).
private final class PortPromise: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Int?
    private var done = false
    private var waiters: [CheckedContinuation<Int?, Never>] = []

    func fulfil(_ port: Int?) {
        lock.lock()
        guard !done else { lock.unlock(); return }
        done = true
        value = port
        let w = waiters
        waiters = []
        lock.unlock()
        for c in w { c.resume(returning: port) }
    }

    func wait(orFailureOf task: Task<Void, Error>) async -> Int? {
        Task.detached { [weak self] in
            _ = try? await task.value
            self?.fulfil(nil)
        }
        return await withCheckedContinuation { c in
            lock.lock()
            if done {
                let v = value
                lock.unlock()
                c.resume(returning: v)
            } else {
                waiters.append(c)
                lock.unlock()
            }
        }
    }
}
