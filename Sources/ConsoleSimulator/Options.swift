import Foundation
import JSONModel

/// How a simulator starts.
public struct SimulatorOptions: Sendable {
    /// Address to listen on (loopback).
    public var host = "127.0.0.1"
    /// Port; 0 picks a free one (read it from `start()`'s URL).
    public var port = 0
    /// Lifetime of the tokens `POST authenticate` issues, in seconds.
    public var tokenLifetime: TimeInterval = 30 * 60
    /// Number of checks in the compliance catalog (`static/vulnerabilities`), at least
    /// `ComplianceCatalog.minimumSize`. Deterministic for a given size.
    public var catalogSize = ComplianceCatalog.defaultSize
    /// A saved state to start from (the JSON `GET /sim/state` returns); nil: a fresh,
    /// uninitialized console.
    public var initialState: JSON?
    /// Faults from the start (not ready for N seconds, injected errors).
    public var faults = FaultPlan()
    /// Serve HTTPS with this certificate chain and key (PEM files).
    public var tlsCertificatePath: String?
    public var tlsKeyPath: String?
    /// The console version `GET version` reports.
    public var version = "34.04.145"
    /// Oldest request records are dropped beyond this many.
    public var requestLogLimit = 100_000
    /// Request bodies larger than this are refused (413).
    public var maxRequestBodyBytes = 32 << 20
    /// Console variants in force from the start (names of `ConsoleVariants.all`).
    public var variants: [String] = []

    public init() {}

    public init(port: Int = 0, tokenLifetime: TimeInterval = 30 * 60, catalogSize: Int = ComplianceCatalog.defaultSize,
                initialState: JSON? = nil, faults: FaultPlan = FaultPlan()) {
        self.port = port
        self.tokenLifetime = tokenLifetime
        self.catalogSize = catalogSize
        self.initialState = initialState
        self.faults = faults
    }
}

/// One request as the simulator saw it (`GET /sim/requests`). Secrets in the body
/// (passwords, keys, tokens) are masked.
public struct RecordedRequest: Sendable, Hashable {
    public var seq: Int
    public var time: String
    public var method: String
    /// The path as sent (`/api/v1/settings/saml`).
    public var path: String
    /// The path below `/api/<version>/` (`settings/saml`), or the path itself otherwise.
    public var endpoint: String
    public var query: String?
    public var status: Int
    /// The user the request authenticated as.
    public var user: String?
    /// The body as received; `body` parses and masks it when asked (most requests are
    /// never looked at, and parsing every large PUT again cost the simulator a third of its time).
    var rawBody: [UInt8]
    /// The body (masked), when it was JSON.
    public var body: JSON? {
        guard !rawBody.isEmpty, let parsed = try? JSON.parse(bytes: rawBody) else { return nil }
        return SecretMask.apply(parsed)
    }
    public var bodyBytes: Int
    public var findings: [ConformanceFinding]
    /// The injected fault that shaped the answer, if any.
    public var fault: String?

    public var json: JSON {
        var o: [String: JSON] = [
            "seq": .int(Int64(seq)), "time": .string(time), "method": .string(method), "path": .string(path),
            "endpoint": .string(endpoint), "status": .int(Int64(status)), "bodyBytes": .int(Int64(bodyBytes)),
            "findings": .array(findings.map(\.json)),
        ]
        if let query { o["query"] = .string(query) }
        if let user { o["user"] = .string(user) }
        if let body { o["body"] = body }
        if let fault { o["fault"] = .string(fault) }
        return .object(o)
    }
}

/// Masks secrets in a JSON body: any member whose name contains "password" or is `key`,
/// `token`, `secret`, `appSecret`, `plain`, `encrypted`, `accessToken`/`access_token`.
enum SecretMask {
    static let mask = "••••••"
    static let names: Set<String> = ["key", "token", "secret", "appsecret", "plain", "encrypted", "accesstoken", "access_token"]

    static func apply(_ v: JSON) -> JSON {
        switch v {
        case .object(let o):
            var out: [String: JSON] = [:]
            for (k, x) in o {
                let lower = k.lowercased()
                if lower.contains("password") || names.contains(lower) {
                    // A boolean is a setting (`strongPassword`), never a secret.
                    out[k] = x.isNull || x.boolValue != nil ? x : (x.objectValue != nil ? apply(x) : .string(mask))
                } else {
                    out[k] = apply(x)
                }
            }
            return .object(out)
        case .array(let a):
            return .array(a.map(apply))
        default:
            return v
        }
    }
}
