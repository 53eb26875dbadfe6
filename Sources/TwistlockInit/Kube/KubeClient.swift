import AsyncHTTPClient
import Foundation
import JSONModel
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL

/// A resource type the API server serves, found by discovery.
public struct KubeResource: Sendable, Equatable, CustomStringConvertible {
    /// "" for the core group.
    public let group: String
    public let version: String
    public let kind: String
    /// The plural resource name used in paths (`daemonsets`).
    public let name: String
    public let namespaced: Bool

    public init(group: String, version: String, kind: String, name: String, namespaced: Bool) {
        self.group = group
        self.version = version
        self.kind = kind
        self.name = name
        self.namespaced = namespaced
    }

    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }

    /// `/api/v1` or `/apis/<group>/<version>`.
    public var groupVersionPath: String { KubeResource.groupVersionPath(apiVersion) }

    public static func groupVersionPath(_ apiVersion: String) -> String {
        apiVersion.contains("/") ? "/apis/\(apiVersion)" : "/api/\(apiVersion)"
    }

    /// The path of one object (namespace ignored for cluster-scoped resources).
    public func path(namespace: String?, name objectName: String) -> String {
        var p = groupVersionPath
        if namespaced, let namespace { p += "/namespaces/\(KubeClient.escape(namespace))" }
        return p + "/\(name)/\(KubeClient.escape(objectName))"
    }

    public var description: String { "\(name).\(group.isEmpty ? "core" : group)/\(version)" }
}

/// What `apply` did.
public struct ApplyResult: Sendable {
    /// The live object differs from before (ignoring what the server changes on every write:
    /// resourceVersion, managedFields, generation, uid, creationTimestamp, status). Always true
    /// for a creation.
    public let changed: Bool
    /// The object as the server answered the apply (for a dry run: as it would be).
    public let object: JSON
    /// The live object before the apply; nil when it did not exist.
    public let before: JSON?
    public let resource: KubeResource
    public let dryRun: Bool
}

/// A Kubernetes request that failed. The description names the operation, the object and
/// the reason: `apply DaemonSet twistlock/twistlock-defender-ds: 403 Forbidden: <message>`.
public struct KubeError: Error, CustomStringConvertible, Sendable {
    public enum Reason: Sendable, Equatable {
        /// The API server answered with an error status (message from its Status object).
        case status(code: Int, reason: String, message: String)
        /// No answer (after retries): connection, TLS or timeout problems.
        case transport(String)
        /// The document or the request cannot be made (no kind, no name, unknown kind...).
        case invalid(String)
        case interrupted
    }

    public let operation: String
    /// `Kind namespace/name` or `Kind name` (cluster-scoped), or what was asked for.
    public let object: String
    public let reason: Reason

    public init(operation: String, object: String, reason: Reason) {
        self.operation = operation
        self.object = object
        self.reason = reason
    }

    /// The HTTP status, when the server answered.
    public var statusCode: Int? {
        if case .status(let code, _, _) = reason { return code }
        return nil
    }

    public var description: String {
        let head = "\(operation) \(object)"
        switch reason {
        case .status(let code, let reason, let message):
            return "\(head): \(code) \(reason)\(message.isEmpty ? "" : ": \(message)")"
        case .transport(let text):
            return "\(head): no answer from the Kubernetes API (\(text))"
        case .invalid(let text):
            return "\(head): \(text)"
        case .interrupted:
            return "\(head): interrupted"
        }
    }
}

/// A small synchronous Kubernetes API client: discovery (cached), server-side apply, get.
/// TLS is always verified (the cluster's CA from the kubeconfig or the service account);
/// connection errors, 429 and 5xx are retried with bounded exponential backoff (honouring
/// `Retry-After`). Each call blocks the calling thread — never call it on an event loop.
// @unchecked Sendable: `discovery` is guarded by `lock`; the callbacks (`onRetry`, `onToken`)
// are set before the first request, on the run's thread, and only read afterwards.
public final class KubeClient: TransportClient, @unchecked Sendable {
    public struct Options: Sendable {
        /// The field manager named in server-side apply.
        public var fieldManager = "twistlock-init"
        public var requestTimeout: Double = 30
        public var connectTimeout: Double = 10
        /// Retries after the first attempt.
        public var maxRetries = 5
        public var backoffBase: Double = 0.5
        public var maxBackoff: Double = 8
        public var maxRetryAfter: Double = 30
        /// The largest answer (body bytes) accepted from the API server; a larger one fails
        /// the request (not retried). Discovery documents and DaemonSets are a few KiB; the
        /// bound keeps a misbehaving server or proxy from filling the job's memory.
        public var maxResponseBytes = 32 << 20
        public init() {}
    }

    public let config: KubeConfig
    public let options: Options
    /// The run's interrupt: shared with the console client and `time.sleep`.
    public let interruptToken: InterruptToken
    private let transport: Transport
    // `discovery` is guarded by `lock`.
    private let lock = NSLock()
    private var discovery: [String: [KubeResource]] = [:]
    /// `onRetry`, `onRequest` (`-v`) and `httpLogger` (`-vv`): `TransportClient`.
    public var hooks: TransportHooks { transport.hooks }
    /// Called with every bearer token sent (read again from a rotated token file), so the job
    /// masks it like the console's tokens.
    public var onToken: ((String) -> Void)?
    /// Requests sent (every attempt).
    public var requestCount: Int { transport.requestCount }

    /// `interrupt`: the run's token (a new one by default); firing it stops this client.
    public init(config: KubeConfig, options: Options = Options(), interrupt: InterruptToken = InterruptToken()) throws {
        self.config = config
        self.options = options
        self.interruptToken = interrupt
        guard let url = URL(string: config.server), url.host != nil,
              let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http" else {
            throw KubeConfigError("Kubernetes API server \"\(config.server)\" is not an http(s) URL")
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        if let ca = config.certificateAuthorityPEM {
            let certs: [NIOSSLCertificate]
            do {
                certs = try NIOSSLCertificate.fromPEMBytes(Array(ca))
            } catch {
                throw KubeConfigError("\(config.source): the certificate authority is not a PEM certificate")
            }
            guard !certs.isEmpty else {
                throw KubeConfigError("\(config.source): the certificate authority holds no PEM certificate")
            }
            tls.trustRoots = .certificates(certs)
        }
        if config.insecureSkipTLSVerify {
            tls.certificateVerification = .none
        }
        if let certPEM = config.clientCertificatePEM, let keyPEM = config.clientKeyPEM {
            do {
                let chain = try NIOSSLCertificate.fromPEMBytes(Array(certPEM))
                guard !chain.isEmpty else { throw KubeConfigError("empty") }
                tls.certificateChain = chain.map { .certificate($0) }
            } catch {
                throw KubeConfigError("\(config.source): the client certificate is not a PEM certificate")
            }
            do {
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(keyPEM), format: .pem))
            } catch {
                throw KubeConfigError("\(config.source): the client key is not a PEM private key")
            }
        }
        var httpConfig = HTTPClient.Configuration(tlsConfiguration: tls)
        httpConfig.timeout = .init(connect: .milliseconds(Int64(options.connectTimeout * 1000)),
                                   read: .milliseconds(Int64(options.requestTimeout * 1000)))
        httpConfig.redirectConfiguration = .disallow
        httpConfig.decompression = .disabled
        transport = Transport(peer: .init(name: "the API server", url: config.server), configuration: httpConfig,
                              policy: .kubernetes(options), interrupt: interrupt, maxResponseBytes: options.maxResponseBytes)
    }

    /// Releases the connection pool. The client cannot be used afterwards.
    public func close() { transport.shutdown() }

    /// Fires the run's interrupt (SIGTERM): abandons the request in flight and refuses new
    /// ones — of the console client too, when it shares the token.
    public func interrupt() { interruptToken.fire() }

    // MARK: - discovery

    /// The resource serving `kind` in `apiVersion` (`GET /api/v1` or `/apis/<group>/<version>`,
    /// cached per group version).
    public func resource(apiVersion: String, kind: String) throws -> KubeResource {
        let label = "\(kind) (\(apiVersion))"
        let list = try resources(apiVersion: apiVersion, operation: "discover", object: label)
        guard let found = list.first(where: { $0.kind == kind }) else {
            throw KubeError(operation: "discover", object: label,
                            reason: .invalid("the API server serves no kind \(kind) in \(apiVersion)"))
        }
        return found
    }

    /// Every top-level resource of a group version (subresources like `daemonsets/status` left out).
    public func resources(apiVersion: String, operation: String = "discover", object: String? = nil) throws -> [KubeResource] {
        if let cached = lock.withLock({ discovery[apiVersion] }) { return cached }
        let label = object ?? apiVersion
        let parts = apiVersion.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard (parts.count == 1 || parts.count == 2), parts.allSatisfy({ !$0.isEmpty }) else {
            throw KubeError(operation: operation, object: label, reason: .invalid("\"\(apiVersion)\" is not an apiVersion"))
        }
        let group = parts.count == 2 ? parts[0] : ""
        let version = parts.last!
        let response = try send(method: "GET", path: KubeResource.groupVersionPath(apiVersion), query: [], body: nil,
                                contentType: nil, operation: operation, object: label, .always)
        if response.status == 404 {
            throw KubeError(operation: operation, object: label,
                            reason: .invalid("the API server does not serve apiVersion \(apiVersion)"))
        }
        guard (200..<300).contains(response.status) else {
            throw statusError(response, operation: operation, object: label)
        }
        guard case .object(let body)? = response.json, case .array(let items)? = body["resources"] else {
            throw KubeError(operation: operation, object: label,
                            reason: .invalid("discovery of \(apiVersion) did not answer an APIResourceList"))
        }
        var list: [KubeResource] = []
        for item in items {
            guard case .string(let name)? = item["name"], !name.contains("/"),
                  case .string(let kind)? = item["kind"] else { continue }
            let namespaced = item["namespaced"]?.boolValue ?? false
            list.append(KubeResource(group: group, version: version, kind: kind, name: name, namespaced: namespaced))
        }
        lock.withLock { discovery[apiVersion] = list }
        return list
    }

    // MARK: - objects

    /// The object, or nil when it does not exist (404). `namespace` is ignored for
    /// cluster-scoped kinds; nil means the configuration's namespace for namespaced kinds.
    public func get(apiVersion: String, kind: String, namespace: String?, name: String) throws -> JSON? {
        let resource = try self.resource(apiVersion: apiVersion, kind: kind)
        let ns = resource.namespaced ? (namespace.flatMap { $0.isEmpty ? nil : $0 } ?? config.namespace) : nil
        let label = KubeClient.label(kind: kind, namespace: ns, name: name)
        return try fetch(resource: resource, namespace: ns, name: name, operation: "get", label: label)
    }

    /// Server-side apply (`PATCH …?fieldManager=twistlock-init&force=true`, body
    /// `application/apply-patch+yaml`): creates the object or brings the fields it sets to the
    /// manifest's values. `dryRun` asks the server what would happen (`dryRun=All`) and
    /// changes nothing. `changed` compares the live object before and after.
    public func apply(_ doc: JSON, dryRun: Bool = false) throws -> ApplyResult {
        guard case .object(let fields) = doc else {
            throw KubeError(operation: "apply", object: "document", reason: .invalid("a manifest must be a mapping, got \(doc.typeName)"))
        }
        guard case .string(let kind)? = fields["kind"], !kind.isEmpty else {
            throw KubeError(operation: "apply", object: "document", reason: .invalid("the manifest has no kind"))
        }
        guard case .string(let apiVersion)? = fields["apiVersion"], !apiVersion.isEmpty else {
            throw KubeError(operation: "apply", object: kind, reason: .invalid("the manifest has no apiVersion"))
        }
        guard case .string(let name)? = doc["metadata"]?["name"], !name.isEmpty else {
            throw KubeError(operation: "apply", object: kind, reason: .invalid("the manifest has no metadata.name"))
        }
        let resource = try self.resource(apiVersion: apiVersion, kind: kind)
        var ns: String? = nil
        if resource.namespaced {
            if case .string(let given)? = doc["metadata"]?["namespace"], !given.isEmpty {
                ns = given
            } else {
                ns = config.namespace
            }
        }
        let label = KubeClient.label(kind: kind, namespace: ns, name: name)
        let before = try fetch(resource: resource, namespace: ns, name: name, operation: "apply", label: label)
        var query = [("fieldManager", options.fieldManager), ("force", "true")]
        if dryRun { query.append(("dryRun", "All")) }
        let response = try send(method: "PATCH", path: resource.path(namespace: ns, name: name), query: query,
                                body: doc.encoded(), contentType: "application/apply-patch+yaml",
                                operation: "apply", object: label,
                                // Server-side apply sets the manifest's fields: sent twice, it sets the same.
                                .always)
        guard (200..<300).contains(response.status) else {
            throw statusError(response, operation: "apply", object: label)
        }
        guard let after = response.json, case .object = after else {
            throw KubeError(operation: "apply", object: label, reason: .invalid("the API server's answer is not a JSON object"))
        }
        let changed: Bool
        if let before {
            changed = !KubeClient.comparable(before).isEquivalent(to: KubeClient.comparable(after))
        } else {
            changed = true
        }
        return ApplyResult(changed: changed, object: after, before: before, resource: resource, dryRun: dryRun)
    }

    /// Creates an object (`POST` to its collection; Events, which are never updated). A 409
    /// (it exists) fails like any other error status.
    @discardableResult
    public func create(_ doc: JSON) throws -> JSON {
        guard case .string(let kind)? = doc["kind"], case .string(let apiVersion)? = doc["apiVersion"],
              case .string(let name)? = doc["metadata"]?["name"], !name.isEmpty else {
            throw KubeError(operation: "create", object: "document", reason: .invalid("the object needs kind, apiVersion and metadata.name"))
        }
        let resource = try self.resource(apiVersion: apiVersion, kind: kind)
        let ns = resource.namespaced ? (doc["metadata"]?["namespace"]?.stringValue ?? config.namespace) : nil
        let label = KubeClient.label(kind: kind, namespace: ns, name: name)
        var path = resource.groupVersionPath
        if let ns { path += "/namespaces/\(KubeClient.escape(ns))" }
        path += "/\(resource.name)"
        // An Event is named by its maker: sent again after a lost answer, the API server refuses
        // the copy (409) rather than making two, so a retry cannot duplicate it.
        let response = try send(method: "POST", path: path, query: [], body: doc.encoded(), contentType: "application/json",
                                operation: "create", object: label, .always)
        guard (200..<300).contains(response.status) else {
            throw statusError(response, operation: "create", object: label)
        }
        return response.json ?? .null
    }

    /// The object without what the server rewrites on every write, for before/after
    /// comparisons: `status`, and metadata `resourceVersion`, `managedFields`, `generation`,
    /// `uid`, `creationTimestamp`, `selfLink` and the DaemonSet controller's
    /// `deprecated.daemonset.template.generation` annotation.
    public static func comparable(_ object: JSON) -> JSON {
        guard case .object(var fields) = object else { return object }
        fields["status"] = nil
        if case .object(var meta)? = fields["metadata"] {
            for key in ["resourceVersion", "managedFields", "generation", "uid", "creationTimestamp", "selfLink"] {
                meta[key] = nil
            }
            // Kept by the DaemonSet controller in step with the generation.
            if case .object(var annotations)? = meta["annotations"] {
                annotations["deprecated.daemonset.template.generation"] = nil
                meta["annotations"] = annotations.isEmpty ? nil : .object(annotations)
            }
            fields["metadata"] = .object(meta)
        }
        return .object(fields)
    }

    static func label(kind: String, namespace: String?, name: String) -> String {
        if let namespace { return "\(kind) \(namespace)/\(name)" }
        return "\(kind) \(name)"
    }

    private func fetch(resource: KubeResource, namespace: String?, name: String, operation: String, label: String) throws -> JSON? {
        let response = try send(method: "GET", path: resource.path(namespace: namespace, name: name), query: [],
                                body: nil, contentType: nil, operation: operation, object: label, .always)
        if response.status == 404 { return nil }
        guard (200..<300).contains(response.status) else {
            throw statusError(response, operation: operation, object: label)
        }
        guard let json = response.json else {
            throw KubeError(operation: operation, object: label, reason: .invalid("the API server's answer is not JSON"))
        }
        return json
    }

    // MARK: - HTTP

    struct Response {
        let status: Int
        let headers: [String: String]
        let body: [UInt8]
        var json: JSON? { body.isEmpty ? nil : try? JSON.parse(bytes: body) }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// The Status object's reason and message (or the text of a non-Status answer).
    func statusError(_ response: Response, operation: String, object: String) -> KubeError {
        var reason = HTTPResponseStatus(statusCode: response.status).reasonPhrase
        var message = ""
        if case .object(let status)? = response.json {
            if case .string(let r)? = status["reason"], !r.isEmpty { reason = KubeClient.spaced(r) }
            if case .string(let m)? = status["message"] { message = m }
        } else {
            message = response.text.trimmingCharacters(in: .whitespacesAndNewlines)
            let lower = message.lowercased()
            if lower.hasPrefix("<!doctype html") || lower.hasPrefix("<html") { message = "an HTML page instead of an API answer" }
        }
        if message.count > 500 { message = String(message.prefix(500)) + "…" }
        return KubeError(operation: operation, object: object,
                         reason: .status(code: response.status, reason: reason, message: message))
    }

    /// `NotFound` → `Not Found`, `Forbidden` stays: the Status reason as an HTTP reason phrase.
    static func spaced(_ reason: String) -> String {
        switch reason {
        case "NotFound": return "Not Found"
        case "AlreadyExists": return "Already Exists"
        case "BadRequest": return "Bad Request"
        case "MethodNotAllowed": return "Method Not Allowed"
        case "NotAcceptable": return "Not Acceptable"
        case "UnsupportedMediaType": return "Unsupported Media Type"
        case "ServiceUnavailable": return "Service Unavailable"
        case "InternalError": return "Internal Error"
        case "TooManyRequests": return "Too Many Requests"
        case "RequestEntityTooLarge": return "Request Entity Too Large"
        default: return reason
        }
    }

    static func escape(_ segment: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~:@")
        return segment.addingPercentEncoding(withAllowedCharacters: allowed) ?? segment
    }

    /// One request through the transport, retried as the Kubernetes policy says for what the
    /// caller states the request is (`repeatability`); its failures as `KubeError`s. A 401
    /// with a token file is sent once more: the next attempt reads the (rotated) token again.
    private func send(method: String, path: String, query: [(String, String)], body: String?, contentType: String?,
                      operation: String, object: String, _ repeatability: Repeatability) throws -> Response {
        var url = config.server + path
        if !query.isEmpty {
            url += "?" + query.map { "\(KubeClient.escape($0.0))=\(KubeClient.escape($0.1))" }.joined(separator: "&")
        }
        var reauthenticated = false
        while true {
            let answer: HTTPFetch.Answer
            do {
                answer = try transport.send(method: method, path: path, repeatability: repeatability, context: "\(operation) \(object): ",
                                            timeout: { options.requestTimeout }) {
                    var request = try HTTPClient.Request(url: url, method: HTTPMethod(rawValue: method))
                    request.headers.add(name: "Accept", value: "application/json")
                    request.headers.add(name: "User-Agent", value: "twistlock-init")
                    if let token = config.currentToken() {
                        onToken?(token)
                        request.headers.add(name: "Authorization", value: "Bearer \(token)")
                    }
                    if let body {
                        request.headers.add(name: "Content-Type", value: contentType ?? "application/json")
                        request.body = .string(body)
                    }
                    return request
                }
            } catch let error as TransportError {
                let reason: KubeError.Reason
                switch error {
                case .interrupted: reason = .interrupted
                case .deadlineExceeded: reason = .transport("the run's deadline passed")
                case .tooLarge(let limit):
                    // The same answer would come back: never retried.
                    reason = .invalid("\(method) \(path): the API server's answer is larger than \(ByteSize.text(limit)); refused")
                case .invalidURL(let url): reason = .invalid("invalid URL \(url)")
                case .unanswered(let text, _): reason = .transport(text)
                }
                throw KubeError(operation: operation, object: object, reason: reason)
            }
            if answer.status == 401, !reauthenticated, config.tokenFile != nil {
                reauthenticated = true
                continue
            }
            var bytes: [UInt8] = []
            if var buffer = answer.body {
                bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
            }
            return Response(status: answer.status, headers: answer.headers, body: bytes)
        }
    }
}
