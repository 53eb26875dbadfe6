import Foundation
import JSONModel
import KubeSimulator
import TestSupport
import TwistlockInit
import XCTest

final class KubeConfigTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("kubeconfig-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: dir)
    }

    func write(_ name: String, _ text: String) throws -> String {
        let url = dir.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    static func kubeconfig(server: String, caData: String? = nil, caFile: String? = nil, user: String, extraCluster: String = "",
                           current: String = "prod") -> String {
        var cluster = "    server: \(server)\n"
        if let caData { cluster += "    certificate-authority-data: \(caData)\n" }
        if let caFile { cluster += "    certificate-authority: \(caFile)\n" }
        cluster += extraCluster
        return """
        apiVersion: v1
        kind: Config
        current-context: \(current)
        clusters:
        - name: other
          cluster:
            server: https://other.example:6443
        - name: prod-cluster
          cluster:
        \(cluster)contexts:
        - name: prod
          context:
            cluster: prod-cluster
            user: deployer
            namespace: security
        - name: other
          context:
            cluster: other
            user: nobody
        users:
        - name: nobody
          user: {}
        - name: deployer
          user:
        \(user)
        """
    }

    func testKubeconfigWithTokenAndCAData() throws {
        let caData = Data(TestTLS.caPEM.utf8).base64EncodedString()
        let path = try write("config", Self.kubeconfig(server: "https://k8s.example:6443/", caData: caData,
                                                       user: "    token: s3cr3t-token-value"))
        let config = try KubeConfig.kubeconfig(path: path)
        XCTAssertEqual(config.server, "https://k8s.example:6443")
        XCTAssertEqual(config.token, "s3cr3t-token-value")
        XCTAssertEqual(config.certificateAuthorityPEM, Data(TestTLS.caPEM.utf8))
        XCTAssertEqual(config.namespace, "security")
        XCTAssertFalse(config.insecureSkipTLSVerify)
        XCTAssertTrue(config.source.contains("context prod"), config.source)
        // The token never shows in a description or a dump.
        XCTAssertFalse("\(config)".contains("s3cr3t"))
        XCTAssertFalse(String(reflecting: config).contains("s3cr3t"))
        var dumped = ""
        dump(config, to: &dumped)
        XCTAssertFalse(dumped.contains("s3cr3t"), dumped)
        // A client can be built from it (the CA parses).
        let client = try KubeClient(config: config)
        client.close()

        // Another context by name.
        let other = try KubeConfig.kubeconfig(path: path, context: "other")
        XCTAssertEqual(other.server, "https://other.example:6443")
        XCTAssertNil(other.token)
        XCTAssertEqual(other.namespace, "default")
    }

    func testRelativeFilesAndClientCertificates() throws {
        _ = try write("pki/ca.crt", TestTLS.caPEM)
        _ = try write("pki/client.crt", TestTLS.serverCertificatePEM)
        _ = try write("pki/client.key", TestTLS.serverKeyPEM)
        let path = try write("config", Self.kubeconfig(server: "https://10.0.0.1:6443", caFile: "pki/ca.crt", user: """
            client-certificate: pki/client.crt
            client-key: pki/client.key
        """))
        let config = try KubeConfig.kubeconfig(path: path)
        XCTAssertEqual(config.certificateAuthorityPEM, Data(TestTLS.caPEM.utf8))
        XCTAssertEqual(config.clientCertificatePEM, Data(TestTLS.serverCertificatePEM.utf8))
        XCTAssertEqual(config.clientKeyPEM, Data(TestTLS.serverKeyPEM.utf8))
        XCTAssertNil(config.token)
        XCTAssertFalse("\(config)".contains("PRIVATE KEY"))
        let client = try KubeClient(config: config)
        client.close()
    }

    func testTokenFileIsReadAgainWhenItRotates() throws {
        let tokenPath = try write("token", "first-token\n")
        let path = try write("config", Self.kubeconfig(server: "https://k8s:6443", user: "    tokenFile: token"))
        let config = try KubeConfig.kubeconfig(path: path)
        XCTAssertEqual(config.currentToken(), "first-token")
        try "second-token\n".write(toFile: tokenPath, atomically: true, encoding: .utf8)
        XCTAssertEqual(config.currentToken(), "second-token")
    }

    func testInsecureSkipTLSVerifyIsRefusedUnlessAllowed() throws {
        let path = try write("config", Self.kubeconfig(server: "https://k8s:6443", user: "    token: t",
                                                       extraCluster: "    insecure-skip-tls-verify: true\n"))
        XCTAssertThrowsError(try KubeConfig.kubeconfig(path: path)) { error in
            XCTAssertTrue("\(error)".contains("insecure-skip-tls-verify is true"), "\(error)")
        }
        let allowed = try KubeConfig.kubeconfig(path: path, allowInsecure: true)
        XCTAssertTrue(allowed.insecureSkipTLSVerify)
        XCTAssertEqual(allowed.warnings.count, 1)
    }

    func testUnsupportedAuthAndBrokenFilesAreExplained() throws {
        let exec = try write("exec", Self.kubeconfig(server: "https://k8s:6443", user: """
            exec:
              apiVersion: client.authentication.k8s.io/v1beta1
              command: aws
        """))
        XCTAssertThrowsError(try KubeConfig.kubeconfig(path: exec)) { error in
            XCTAssertTrue("\(error)".contains("exec credential plugins are not supported"), "\(error)")
        }
        let noContext = try write("nocontext", Self.kubeconfig(server: "https://k8s:6443", user: "    token: t", current: "missing"))
        XCTAssertThrowsError(try KubeConfig.kubeconfig(path: noContext)) { error in
            XCTAssertTrue("\(error)".contains("contexts: no entry named \"missing\""), "\(error)")
        }
        let badCA = try write("badca", Self.kubeconfig(server: "https://k8s:6443", caData: "'@@ not base64 @@'", user: "    token: t"))
        XCTAssertThrowsError(try KubeConfig.kubeconfig(path: badCA)) { error in
            XCTAssertTrue("\(error)".contains("certificate-authority-data is not valid base64"), "\(error)")
        }
        let notPEM = try write("notpem", Self.kubeconfig(server: "https://k8s:6443",
                                                         caData: Data("hello".utf8).base64EncodedString(), user: "    token: t"))
        let config = try KubeConfig.kubeconfig(path: notPEM)
        XCTAssertThrowsError(try KubeClient(config: config)) { error in
            XCTAssertTrue("\(error)".contains("not a PEM certificate"), "\(error)")
        }
        let yaml = try write("broken", "clusters: [\n")
        XCTAssertThrowsError(try KubeConfig.kubeconfig(path: yaml)) { error in
            XCTAssertTrue("\(error)".contains("line"), "\(error)")
        }
        XCTAssertThrowsError(try KubeConfig.kubeconfig(path: dir.appendingPathComponent("absent").path)) { error in
            XCTAssertTrue("\(error)".contains("cannot be read"), "\(error)")
        }
    }

    /// Every file the connection settings name is an operator's file: a FIFO (whose read waits
    /// for a writer forever), a device (/dev/zero never ends) or a directory as the kubeconfig,
    /// a CA file, a client key or a token file is refused without being read, naming the key.
    func testFilesThatAreNotRegularFilesAreRefusedWithoutReadingThem() throws {
        let fifo = dir.appendingPathComponent("pipe").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        XCTAssertThrowsError(try KubeConfig.kubeconfig(path: fifo)) { error in
            XCTAssertTrue("\(error)".contains("kubeconfig \(fifo) is a FIFO"), "\(error)")
        }
        let caFIFO = try write("ca-fifo", Self.kubeconfig(server: "https://k8s:6443", caFile: "pipe", user: "    token: t"))
        XCTAssertThrowsError(try KubeConfig.kubeconfig(path: caFIFO)) { error in
            XCTAssertTrue("\(error)".contains("certificate-authority \(fifo) is a FIFO"), "\(error)")
        }
        let keyDevice = try write("key-device", Self.kubeconfig(server: "https://k8s:6443", user: """
            client-certificate-data: \(Data("x".utf8).base64EncodedString())
            client-key: /dev/zero
        """))
        XCTAssertThrowsError(try KubeConfig.kubeconfig(path: keyDevice)) { error in
            XCTAssertTrue("\(error)".contains("client-key /dev/zero is a device"), "\(error)")
        }
        let tokenDir = try write("token-dir", Self.kubeconfig(server: "https://k8s:6443", user: "    tokenFile: \(dir.path)"))
        XCTAssertThrowsError(try KubeConfig.kubeconfig(path: tokenDir)) { error in
            XCTAssertTrue("\(error)".contains("is a directory"), "\(error)")
        }
        // A token file that becomes a FIFO after the start (it is read again before each
        // request) falls back to the token read first instead of waiting.
        let tokenPath = try write("token", "first-token\n")
        let rotating = try write("rotating", Self.kubeconfig(server: "https://k8s:6443", user: "    tokenFile: token"))
        let config = try KubeConfig.kubeconfig(path: rotating)
        try FileManager.default.removeItem(atPath: tokenPath)
        XCTAssertEqual(mkfifo(tokenPath, 0o600), 0)
        XCTAssertEqual(config.currentToken(), "first-token")
    }

    func testInClusterFromAServiceAccountDirectory() throws {
        let sa = dir.appendingPathComponent("serviceaccount").path
        _ = try write("serviceaccount/token", "in-cluster-token\n")
        _ = try write("serviceaccount/ca.crt", TestTLS.caPEM)
        _ = try write("serviceaccount/namespace", "twistlock")
        let env = ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"]
        let config = try KubeConfig.inCluster(environment: env, serviceAccountDirectory: sa)
        XCTAssertEqual(config.server, "https://10.96.0.1:443")
        XCTAssertEqual(config.currentToken(), "in-cluster-token")
        XCTAssertEqual(config.namespace, "twistlock")
        XCTAssertEqual(config.certificateAuthorityPEM, Data(TestTLS.caPEM.utf8))

        let v6 = try KubeConfig.inCluster(environment: ["KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "6443"],
                                          serviceAccountDirectory: sa)
        XCTAssertEqual(v6.server, "https://[fd00::1]:6443")

        XCTAssertThrowsError(try KubeConfig.inCluster(environment: [:], serviceAccountDirectory: sa)) { error in
            XCTAssertTrue("\(error)".contains("KUBERNETES_SERVICE_HOST is not set"), "\(error)")
        }
        XCTAssertThrowsError(try KubeConfig.inCluster(environment: env, serviceAccountDirectory: dir.appendingPathComponent("none").path)) { error in
            XCTAssertTrue("\(error)".contains("service account token"), "\(error)")
        }
    }

    func testResolveOrder() throws {
        let sa = dir.appendingPathComponent("serviceaccount").path
        _ = try write("serviceaccount/token", "pod-token")
        _ = try write("serviceaccount/ca.crt", TestTLS.caPEM)
        let explicit = try write("explicit", Self.kubeconfig(server: "https://explicit:6443", user: "    token: a"))
        let fromEnv = try write("env", Self.kubeconfig(server: "https://env:6443", user: "    token: b"))
        let home = dir.appendingPathComponent("home").path
        _ = try write("home/.kube/config", Self.kubeconfig(server: "https://home:6443", user: "    token: c"))
        let pod = ["KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"]

        func server(_ explicitPath: String?, _ env: [String: String]) throws -> String {
            try KubeConfig.resolve(explicitPath: explicitPath, environment: env, serviceAccountDirectory: sa, homeDirectory: home).server
        }
        XCTAssertEqual(try server(explicit, pod.merging(["KUBECONFIG": fromEnv]) { a, _ in a }), "https://explicit:6443")
        XCTAssertEqual(try server(nil, pod.merging(["KUBECONFIG": "/nonexistent:\(fromEnv)"]) { a, _ in a }), "https://env:6443")
        XCTAssertEqual(try server(nil, pod), "https://10.0.0.1:443")
        XCTAssertEqual(try server(nil, [:]), "https://home:6443")
        XCTAssertThrowsError(try KubeConfig.resolve(environment: [:], serviceAccountDirectory: sa, homeDirectory: dir.path)) { error in
            XCTAssertTrue("\(error)".contains("no Kubernetes configuration"), "\(error)")
        }
    }

    // MARK: - TLS against the simulator

    func testTLSWithTheClusterCAFromAKubeconfig() throws {
        let sim = KubeSimulator(options: .init(token: "tls-token", tlsCertificatePEM: TestTLS.serverCertificatePEM,
                                               tlsKeyPEM: TestTLS.serverKeyPEM))
        try sim.start()
        defer { sim.stop() }
        XCTAssertTrue(sim.baseURL.hasPrefix("https://127.0.0.1:"))
        let caData = Data(TestTLS.caPEM.utf8).base64EncodedString()
        let path = try write("tls", Self.kubeconfig(server: sim.baseURL, caData: caData, user: "    token: tls-token"))
        let client = try KubeClient(config: try KubeConfig.kubeconfig(path: path))
        defer { client.close() }
        XCTAssertTrue(try client.resource(apiVersion: "apps/v1", kind: "DaemonSet").namespaced)

        // A CA that did not sign the server's certificate: refused, not retried forever.
        let wrongCA = Data(TestTLS.unrelatedCAPEM.utf8).base64EncodedString()
        let wrongPath = try write("wrongtls", Self.kubeconfig(server: sim.baseURL, caData: wrongCA, user: "    token: tls-token"))
        var options = KubeClient.Options()
        options.maxRetries = 3
        options.backoffBase = 0.01
        options.connectTimeout = 2
        let wrong = try KubeClient(config: try KubeConfig.kubeconfig(path: wrongPath), options: options)
        defer { wrong.close() }
        XCTAssertThrowsError(try wrong.resource(apiVersion: "apps/v1", kind: "DaemonSet")) { error in
            XCTAssertTrue("\(error)".contains("TLS"), "\(error)")
        }
        // The server never saw a request from the client that does not trust it.
        XCTAssertEqual(sim.requests.count, 1)
    }
}
