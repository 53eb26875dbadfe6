import Foundation
import JSONModel

/// An error finding or reading the Kubernetes connection settings. It names the file and the
/// key; it never quotes a token, key or certificate.
public struct KubeConfigError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// How the job reaches the Kubernetes API: the server, what to trust, who we are.
///
/// Built from the pod's service account (`inCluster`) or from a kubeconfig file
/// (`kubeconfig`); `resolve` picks one the way kubectl would: `--kubeconfig`, then
/// `$KUBECONFIG`, then the service account when running in a pod, then `~/.kube/config`.
public struct KubeConfig: Sendable, Equatable {
    /// `https://host:port` (no trailing slash).
    public var server: String
    /// PEM of the CA(s) that sign the API server's certificate; nil: the system's trust store.
    public var certificateAuthorityPEM: Data?
    /// Bearer token (a secret: never printed). Re-read from `tokenFile` when that is set.
    public var token: String?
    /// The file the token comes from (in-cluster tokens rotate; re-read after a 401).
    public var tokenFile: String?
    /// PEM client certificate and key for mutual TLS.
    public var clientCertificatePEM: Data?
    public var clientKeyPEM: Data?
    /// The context's (or the service account's) namespace: the default for namespaced
    /// objects whose manifest names none.
    public var namespace: String
    /// Where these settings came from, for messages: `in-cluster service account` or
    /// `kubeconfig /path (context name)`.
    public var source: String
    /// Things the operator should know (an insecure setting that was allowed, ...).
    public var warnings: [String] = []
    /// TLS verification off: only when the kubeconfig asks for it and the caller allowed it.
    public var insecureSkipTLSVerify: Bool = false

    public init(server: String, certificateAuthorityPEM: Data? = nil, token: String? = nil,
                tokenFile: String? = nil, clientCertificatePEM: Data? = nil, clientKeyPEM: Data? = nil,
                namespace: String = "default", source: String = "explicit settings") {
        var s = server
        while s.hasSuffix("/") { s.removeLast() }
        self.server = s
        self.certificateAuthorityPEM = certificateAuthorityPEM
        self.token = token
        self.tokenFile = tokenFile
        self.clientCertificatePEM = clientCertificatePEM
        self.clientKeyPEM = clientKeyPEM
        self.namespace = namespace
        self.source = source
    }

    /// Where a pod's service account is mounted.
    public static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    // MARK: - in-cluster

    /// The pod's own service account: `KUBERNETES_SERVICE_HOST`/`KUBERNETES_SERVICE_PORT`,
    /// and `token`, `ca.crt`, `namespace` from `serviceAccountDirectory`.
    public static func inCluster(environment: [String: String] = ProcessInfo.processInfo.environment,
                                 serviceAccountDirectory dir: String = serviceAccountDirectory) throws -> KubeConfig {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty else {
            throw KubeConfigError("in-cluster configuration: KUBERNETES_SERVICE_HOST is not set (not running in a pod?)")
        }
        let port = environment["KUBERNETES_SERVICE_PORT_HTTPS"].flatMap { $0.isEmpty ? nil : $0 }
            ?? environment["KUBERNETES_SERVICE_PORT"].flatMap { $0.isEmpty ? nil : $0 } ?? "443"
        guard let portNumber = Int(port), (1...65535).contains(portNumber) else {
            throw KubeConfigError("in-cluster configuration: KUBERNETES_SERVICE_PORT is not a port number")
        }
        // An IPv6 service address needs brackets in a URL.
        let hostPart = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        let tokenPath = (dir as NSString).appendingPathComponent("token")
        let caPath = (dir as NSString).appendingPathComponent("ca.crt")
        let nsPath = (dir as NSString).appendingPathComponent("namespace")
        let token = try readText(tokenPath, what: "the service account token")
        guard !token.isEmpty else {
            throw KubeConfigError("in-cluster configuration: the service account token \(tokenPath) is empty")
        }
        let ca = try readData(caPath, what: "the cluster CA certificate")
        var namespace = "default"
        if FileManager.default.fileExists(atPath: nsPath) {
            let ns = try readText(nsPath, what: "the service account namespace")
            if !ns.isEmpty { namespace = ns }
        }
        var config = KubeConfig(server: "https://\(hostPart):\(portNumber)", certificateAuthorityPEM: ca,
                                token: token, tokenFile: tokenPath, namespace: namespace,
                                source: "in-cluster service account (\(dir))")
        config.warnings = []
        return config
    }

    // MARK: - kubeconfig

    /// A kubeconfig file: the named context (default: `current-context`), its cluster
    /// (`server`, `certificate-authority(-data)`) and user (`token`, `tokenFile`,
    /// `client-certificate(-data)`, `client-key(-data)`). Relative paths are relative to the
    /// file. `insecure-skip-tls-verify: true` is refused unless `allowInsecure` (then it is
    /// kept with a warning). Exec plugins, auth providers and basic auth are refused with a
    /// message saying so.
    public static func kubeconfig(path: String, context: String? = nil, allowInsecure: Bool = false) throws -> KubeConfig {
        let expanded = (path as NSString).expandingTildeInPath
        let data = try readData(expanded, what: "kubeconfig", maxBytes: kubeconfigMaxBytes)
        guard let text = String(data: data, encoding: .utf8) else {
            throw KubeConfigError("kubeconfig \(path): not UTF-8 text")
        }
        let base = (expanded as NSString).deletingLastPathComponent
        return try kubeconfig(text: text, name: path, baseDirectory: base, context: context, allowInsecure: allowInsecure)
    }

    /// A kubeconfig given as text; `name` labels messages, `baseDirectory` anchors relative paths.
    public static func kubeconfig(text: String, name: String = "kubeconfig", baseDirectory: String,
                                  context wanted: String? = nil, allowInsecure: Bool = false) throws -> KubeConfig {
        func fail(_ message: String) -> KubeConfigError { KubeConfigError("kubeconfig \(name): \(message)") }
        let doc: JSON?
        do {
            doc = try YAMLCodec.decodeDocument(text)
        } catch {
            throw fail("\(error)")
        }
        guard case .object(let root)? = doc else { throw fail("not a kubeconfig (the top level is not a mapping)") }

        func named(_ list: String, _ entry: String) throws -> [String: JSON] {
            guard case .array(let items)? = root[list] else { throw fail("no \(list) list") }
            for item in items {
                if case .string(entry)? = item["name"], case .object(let body)? = item[String(list.dropLast())] {
                    return body
                }
            }
            throw fail("\(list): no entry named \"\(entry)\"")
        }

        let contextName: String
        if let wanted, !wanted.isEmpty {
            contextName = wanted
        } else if case .string(let current)? = root["current-context"], !current.isEmpty {
            contextName = current
        } else {
            throw fail("no current-context set (and no context chosen)")
        }
        let ctx = try named("contexts", contextName)
        guard case .string(let clusterName)? = ctx["cluster"] else { throw fail("context \"\(contextName)\" names no cluster") }
        let cluster = try named("clusters", clusterName)
        var user: [String: JSON] = [:]
        if case .string(let userName)? = ctx["user"], !userName.isEmpty {
            user = try named("users", userName)
        }

        guard case .string(let server)? = cluster["server"], !server.isEmpty else {
            throw fail("cluster \"\(clusterName)\": no server")
        }
        guard let url = URL(string: server), let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http",
              url.host != nil else {
            throw fail("cluster \"\(clusterName)\": server \"\(server)\" is not an http(s) URL")
        }
        if case .string(let proxy)? = cluster["proxy-url"], !proxy.isEmpty {
            throw fail("cluster \"\(clusterName)\": proxy-url is not supported")
        }

        func path(_ p: String) -> String {
            let expanded = (p as NSString).expandingTildeInPath
            return expanded.hasPrefix("/") ? expanded : (baseDirectory as NSString).appendingPathComponent(expanded)
        }
        func pem(_ object: [String: JSON], dataKey: String, fileKey: String, owner: String) throws -> Data? {
            if case .string(let b64)? = object[dataKey], !b64.isEmpty {
                let cleaned = b64.filter { !$0.isWhitespace }
                guard let data = Data(base64Encoded: cleaned) else {
                    throw fail("\(owner): \(dataKey) is not valid base64")
                }
                return data
            }
            if case .string(let file)? = object[fileKey], !file.isEmpty {
                let p = path(file)
                do {
                    return try RegularFile.read(p)
                } catch let refusal as RegularFile.Refusal {
                    throw fail("\(owner): \(fileKey) \(refusal)")
                }
            }
            return nil
        }

        let clusterOwner = "cluster \"\(clusterName)\""
        var config = KubeConfig(server: server, source: "kubeconfig \(name) (context \(contextName))")
        config.certificateAuthorityPEM = try pem(cluster, dataKey: "certificate-authority-data",
                                                 fileKey: "certificate-authority", owner: clusterOwner)
        if case .bool(true)? = cluster["insecure-skip-tls-verify"] {
            guard allowInsecure else {
                throw fail("\(clusterOwner): insecure-skip-tls-verify is true; the job verifies the API server's certificate — give certificate-authority(-data) instead")
            }
            config.insecureSkipTLSVerify = true
            config.warnings.append("kubeconfig \(name): \(clusterOwner) has insecure-skip-tls-verify: the API server's certificate is NOT verified")
        }
        if scheme == "http" {
            config.warnings.append("kubeconfig \(name): \(clusterOwner) uses plain http: the token travels unencrypted")
        }

        let userOwner = "user \"\(ctx["user"]?.stringValue ?? "")\""
        if user["exec"] != nil && !(user["exec"]?.isNull ?? true) {
            throw fail("\(userOwner): exec credential plugins are not supported; use a token or a client certificate (for example a service account token)")
        }
        if user["auth-provider"] != nil && !(user["auth-provider"]?.isNull ?? true) {
            throw fail("\(userOwner): auth-provider plugins are not supported; use a token or a client certificate")
        }
        if case .string(let token)? = user["token"], !token.isEmpty {
            config.token = token
        } else if case .string(let file)? = user["tokenFile"], !file.isEmpty {
            let p = path(file)
            config.token = try readText(p, what: "\(userOwner) tokenFile")
            config.tokenFile = p
        }
        config.clientCertificatePEM = try pem(user, dataKey: "client-certificate-data", fileKey: "client-certificate", owner: userOwner)
        config.clientKeyPEM = try pem(user, dataKey: "client-key-data", fileKey: "client-key", owner: userOwner)
        if (config.clientCertificatePEM == nil) != (config.clientKeyPEM == nil) {
            throw fail("\(userOwner): a client certificate needs both client-certificate and client-key")
        }
        if config.token == nil, config.clientCertificatePEM == nil {
            if user["username"] != nil || user["password"] != nil {
                throw fail("\(userOwner): basic authentication (username/password) is not supported; use a token or a client certificate")
            }
        }
        if case .string(let ns)? = ctx["namespace"], !ns.isEmpty {
            config.namespace = ns
        }
        return config
    }

    // MARK: - choosing

    /// Picks the settings as kubectl would: `explicitPath` (`--kubeconfig`), then
    /// `$KUBECONFIG` (the first file of the list that exists), then the pod's service account
    /// (`KUBERNETES_SERVICE_HOST` set), then `~/.kube/config`.
    public static func resolve(explicitPath: String? = nil, context: String? = nil, allowInsecure: Bool = false,
                               environment: [String: String] = ProcessInfo.processInfo.environment,
                               serviceAccountDirectory: String = serviceAccountDirectory,
                               homeDirectory: String = NSHomeDirectory()) throws -> KubeConfig {
        if let explicitPath, !explicitPath.isEmpty {
            return try kubeconfig(path: explicitPath, context: context, allowInsecure: allowInsecure)
        }
        if let list = environment["KUBECONFIG"], !list.isEmpty {
            let files = list.split(separator: ":").map(String.init).filter { !$0.isEmpty }
            guard let first = files.first(where: { FileManager.default.fileExists(atPath: ($0 as NSString).expandingTildeInPath) }) else {
                throw KubeConfigError("KUBECONFIG names no file that exists")
            }
            return try kubeconfig(path: first, context: context, allowInsecure: allowInsecure)
        }
        if let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty {
            return try inCluster(environment: environment, serviceAccountDirectory: serviceAccountDirectory)
        }
        let home = (homeDirectory as NSString).appendingPathComponent(".kube/config")
        if FileManager.default.fileExists(atPath: home) {
            return try kubeconfig(path: home, context: context, allowInsecure: allowInsecure)
        }
        throw KubeConfigError("no Kubernetes configuration: not running in a pod (KUBERNETES_SERVICE_HOST unset), no --kubeconfig, no $KUBECONFIG, no ~/.kube/config")
    }

    /// The bearer token to send now: re-read from `tokenFile` when there is one (rotated
    /// service account tokens), else the token given.
    public func currentToken() -> String? {
        if let tokenFile, let data = try? RegularFile.read(tokenFile),
           let text = String(data: data, encoding: .utf8) {
            let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !t.isEmpty { return t }
        }
        return token
    }

    // MARK: - files

    /// A kubeconfig may hold many clusters with their certificates inline: far above any real one.
    static let kubeconfigMaxBytes = 16 << 20

    /// A file the connection settings name (kubeconfig, token, CA, client certificate and key):
    /// only a regular file, bounded (`RegularFile`), so a FIFO or a device there cannot hang
    /// or exhaust the job.
    static func readData(_ path: String, what: String, maxBytes: Int = RegularFile.sourceMaxBytes) throws -> Data {
        do {
            return try RegularFile.read(path, maxBytes: maxBytes)
        } catch let refusal as RegularFile.Refusal {
            throw KubeConfigError("\(what) \(refusal)")
        }
    }

    static func readText(_ path: String, what: String) throws -> String {
        let data = try readData(path, what: what)
        guard let text = String(data: data, encoding: .utf8) else {
            throw KubeConfigError("\(what) \(path) is not UTF-8 text")
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

extension KubeConfig: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Where and how, never the token or key.
    public var description: String {
        var auth: [String] = []
        if token != nil || tokenFile != nil { auth.append("bearer token") }
        if clientCertificatePEM != nil { auth.append("client certificate") }
        if auth.isEmpty { auth.append("no credentials") }
        let trust = insecureSkipTLSVerify ? "TLS NOT verified" : (certificateAuthorityPEM != nil ? "custom CA" : "system CAs")
        return "\(server) from \(source); \(auth.joined(separator: " + ")); \(trust); namespace \(namespace)"
    }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["description": description]) }
}
