import Foundation

/// The openssl command line, for tests that make certificates of their own (dates, names).
public enum OpenSSL {
    public static let path = "/usr/bin/openssl"

    /// Whether openssl is installed (tests skip without it).
    public static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: path) }

    /// Runs `openssl ARGUMENTS` (in `directory` when given), its output discarded; throws naming
    /// the command when it fails.
    public static func run(_ arguments: [String], in directory: URL? = nil) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = arguments
        if let directory { p.currentDirectoryURL = directory }
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw OpenSSLError(description: "openssl \(arguments.joined(separator: " ")) failed (exit \(p.terminationStatus))")
        }
    }
}

public struct OpenSSLError: Error, CustomStringConvertible {
    public let description: String
}

/// Certificates made for a test run.
public enum TestCertificates {
    /// A CA and a server certificate for 127.0.0.1 and localhost signed by it (valid for two
    /// days), made with openssl in `dir`; returns the paths of the CA, the certificate and its key.
    public static func localhost(in dir: URL) throws -> (ca: String, cert: String, key: String) {
        let ca = dir.appendingPathComponent("ca.pem").path
        let caKey = dir.appendingPathComponent("ca.key").path
        let key = dir.appendingPathComponent("server.key").path
        let csr = dir.appendingPathComponent("server.csr").path
        let cert = dir.appendingPathComponent("server.pem").path
        let ext = dir.appendingPathComponent("ext.cnf").path
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
            .write(toFile: ext, atomically: true, encoding: .utf8)
        try OpenSSL.run(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", caKey, "-out", ca, "-days", "2",
                         "-subj", "/CN=twistlock-init test CA", "-addext", "basicConstraints=critical,CA:TRUE",
                         "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        try OpenSSL.run(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"])
        try OpenSSL.run(["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", caKey, "-CAcreateserial", "-out", cert,
                         "-days", "2", "-extfile", ext])
        return (ca, cert, key)
    }
}
