import AsyncHTTPClient
import Foundation
import JSONModel
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// How the job reaches the console.
public struct ConsoleConnection: Sendable {
    public var baseURL: String
    public var caFile: String?
    public var requestTimeout: Double = 30
    /// Retries after the first attempt, for retryable requests.
    public var maxRetries: Int = 5
    /// First backoff delay in seconds; doubles each attempt, with jitter, capped at `maxBackoff`.
    public var backoffBase: Double = 0.5
    public var maxBackoff: Double = 10
    /// How long a refused connection is retried (with the backoff above) before the request
    /// fails, counted from the first refusal: a console pod restarting mid-run refuses
    /// connections for a while. Other failures get `maxRetries` retries.
    public var refusalTolerance: Double = 60
    /// The longest `Retry-After` honoured, in seconds.
    public var maxRetryAfter: Double = 30
    /// No request starts after this point in time (the run's overall deadline).
    public var deadline: Date?
    /// The largest console answer (body bytes) the client accepts; a larger one fails the
    /// request with `ConsoleError.responseTooLarge` as soon as its `Content-Length` (or, without
    /// one, its body so far) shows it, and is never retried (the same answer would come back).
    /// The console's largest real answers (the compliance catalog, policies) are a few MiB; the
    /// bound keeps a misbehaving console or proxy from filling the job's memory.
    public var maxResponseBytes: Int = ConsoleConnection.defaultMaxResponseBytes
    /// 32 MiB.
    public static let defaultMaxResponseBytes = 32 << 20

    public init(baseURL: String, caFile: String? = nil) {
        var url = baseURL
        while url.hasSuffix("/") { url.removeLast() }
        self.baseURL = url
        self.caFile = caFile
    }
}

/// A console answer.
public struct ConsoleResponse: Sendable {
    public let status: Int
    public let headers: [String: String]
    public let bodyText: String
    /// Masks secrets in `message` before it is shortened (a cut would leave half a secret
    /// that no redaction recognises any more).
    var redactor: Redactor?
    /// The body decoded as JSON when it is JSON, else nil.
    public var json: JSON? {
        guard !bodyText.isEmpty else { return nil }
        return try? JSON.parse(bodyText)
    }
    public var ok: Bool { (200..<300).contains(status) }
    /// A short message for errors: the console's `err`/`message` field or the text itself.
    public var message: String {
        if let j = json {
            if case .object(let o) = j {
                for k in ["err", "error", "message"] {
                    if case .string(let s)? = o[k] { return s }
                }
            }
            if case .string(let s) = j { return s }
        }
        var trimmed = bodyText.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.lowercased().hasPrefix("<!doctype html") || trimmed.lowercased().hasPrefix("<html") {
            return "an HTML page instead of an API answer"
        }
        if let redactor { trimmed = redactor.redact(trimmed) }
        return trimmed.count > 300 ? String(trimmed.prefix(300)) + "…" : trimmed
    }
}

public enum ConsoleError: Error, CustomStringConvertible {
    /// The request never got an answer (after retries).
    case transport(method: String, path: String, reason: String)
    /// The console answered with an error status.
    case status(method: String, path: String, status: Int, message: String)
    /// Logging in failed.
    case authentication(status: Int, message: String)
    case deadlineExceeded(method: String, path: String)
    case interrupted(method: String, path: String)
    case invalidURL(String)
    /// The answer's body is larger than `ConsoleConnection.maxResponseBytes` (not retried).
    case responseTooLarge(method: String, path: String, limit: Int)
    /// A 2xx answer that does not say what it must (a login without a token).
    case malformedAnswer(method: String, path: String, reason: String)

    /// The request the error is about (nil: a refused login, a bad URL).
    public var request: (method: String, path: String)? {
        switch self {
        case .transport(let m, let p, _), .status(let m, let p, _, _), .deadlineExceeded(let m, let p),
             .interrupted(let m, let p), .responseTooLarge(let m, let p, _), .malformedAnswer(let m, let p, _):
            return (m, p)
        case .authentication, .invalidURL:
            return nil
        }
    }

    /// What went wrong, after the request (`404 Not Found: no such user`).
    public var detail: String {
        switch self {
        case .transport(_, _, let r): return "no answer from the console (\(r))"
        case .status(_, _, let s, let msg):
            return "\(s) \(HTTPResponseStatus(statusCode: s).reasonPhrase)\(msg.isEmpty ? "" : ": \(msg)")"
        case .authentication(let s, let msg):
            return "login refused by the console: \(s) \(HTTPResponseStatus(statusCode: s).reasonPhrase)\(msg.isEmpty ? "" : ": \(msg)")"
        case .deadlineExceeded: return "the run's deadline passed"
        case .interrupted: return "interrupted"
        case .invalidURL(let u): return "invalid console URL \(u)"
        case .malformedAnswer(_, _, let reason): return reason
        case .responseTooLarge(_, _, let limit):
            return "the console's answer is larger than \(ByteSize.text(limit)); refused"
        }
    }

    public var description: String {
        guard let (m, p) = request else { return detail }
        return "\(m) \(p): \(detail)"
    }
}

/// The console API client: TLS verified by default (extra CA with `caFile`), login on first
/// use and once more after a 401; retries (the console's `RetryPolicy`: connection errors, 429
/// honouring Retry-After, and 5xx for requests that may be repeated) are the `Transport`'s.
/// Synchronous: the job's Lua runs on its own thread and each call blocks it, never an event
/// loop.
// @unchecked Sendable: `credentials`, `token` and the step deadline are guarded by `lock`; the
// callbacks (`onRetry`, `onRequest`, `httpLogger`, kept by the transport) are set before the
// first request, on the run's thread, and only read afterwards.
public final class ConsoleClient: TransportClient, @unchecked Sendable {
    public let connection: ConsoleConnection
    /// The run's interrupt: shared with the Kubernetes client and `time.sleep`.
    public let interruptToken: InterruptToken
    private let transport: Transport
    private let redactor: Redactor
    // `credentials`, `token` and `_stepDeadline` are guarded by `lock`.
    private let lock = NSLock()
    private var credentials: (username: String, password: String)?
    private var token: String?
    /// `onRetry`, `onRequest` (`-v`) and `httpLogger` (`-vv`): `TransportClient`.
    public var hooks: TransportHooks { transport.hooks }
    public var requestCount: Int { transport.requestCount }

    /// `interrupt`: the run's token (a new one by default); firing it stops this client.
    public init(connection: ConsoleConnection, redactor: Redactor, interrupt: InterruptToken = InterruptToken()) throws {
        self.connection = connection
        self.redactor = redactor
        self.interruptToken = interrupt
        var tls = TLSConfiguration.makeClientConfiguration()
        if let ca = connection.caFile {
            guard FileManager.default.isReadableFile(atPath: ca) else {
                throw ConsoleError.transport(method: "TLS", path: ca, reason: "the CA file \(ca) cannot be read")
            }
            tls.additionalTrustRoots = [.file(ca)]
        }
        var config = HTTPClient.Configuration(tlsConfiguration: tls)
        config.timeout = .init(connect: .seconds(10), read: .milliseconds(Int64(connection.requestTimeout * 1000)))
        config.redirectConfiguration = .disallow
        config.decompression = .disabled
        transport = Transport(peer: .init(name: "the console", url: connection.baseURL, caFile: connection.caFile, diagnose: true),
                              configuration: config, policy: .console(connection), interrupt: interrupt,
                              maxResponseBytes: connection.maxResponseBytes, deadline: connection.deadline)
    }

    /// Releases the connection pool (blocking). The client cannot be used afterwards.
    public func shutdown() { transport.shutdown() }

    public func setCredentials(username: String, password: String) {
        lock.lock(); defer { lock.unlock() }
        credentials = (username, password)
        redactor.add(password)
        token = nil
    }

    /// Fires the run's interrupt (SIGTERM): abandons the request in flight, cuts a retry wait
    /// (or a `pause`) short and refuses new requests — of the Kubernetes client too, which
    /// shares the token.
    public func interrupt() { interruptToken.fire() }

    /// Whether the run's interrupt fired.
    public var isInterrupted: Bool { interruptToken.isFired }

    /// Waits `seconds`, or less when the run is interrupted meanwhile. Returns false when
    /// interrupted.
    @discardableResult
    public func pause(_ seconds: Double) -> Bool { interruptToken.pause(seconds) }

    /// `/api/v1/<path>` for relative paths; absolute paths are kept.
    public func apiPath(_ path: String) -> String {
        path.hasPrefix("/") ? path : "/api/v1/" + path
    }

    /// The time by which the running step must end (set by the runner; nil: none). A request
    /// waits for its answer no longer than what is left of it, nor of the run's deadline.
    public var stepDeadline: Date? {
        get { lock.withLock { _stepDeadline } }
        set { lock.withLock { _stepDeadline = newValue } }
    }
    private var _stepDeadline: Date?

    /// How long the next attempt may wait for its answer: `--request-timeout`, capped by what
    /// the caller allows (`limit`, e.g. the wait step's time left) and by what is left of the
    /// step's and the run's deadlines.
    func attemptTimeout(limit: Double?) -> Double {
        var t = connection.requestTimeout
        if let limit { t = min(t, limit) }
        let now = Date()
        if let d = connection.deadline { t = min(t, d.timeIntervalSince(now)) }
        if let d = stepDeadline { t = min(t, d.timeIntervalSince(now)) }
        return max(t, 0.01)
    }

    // MARK: - Login

    /// Logs in with the credentials given; returns the console's answer for a refusal.
    @discardableResult
    public func login() throws -> ConsoleResponse {
        guard let creds = lock.withLock({ credentials }) else {
            throw ConsoleError.authentication(status: 401, message: "no credentials configured")
        }
        let body = JSON.object(["username": .string(creds.username), "password": .string(creds.password)])
        // A login changes nothing: a read-only POST, repeated as often as the policy allows.
        let req = try ConsoleRequest(method: "POST", path: "authenticate", read: true)
        let resp = try send(req.method, req.wirePath, body: body.encoded(), auth: false, .always, timeout: nil)
        if resp.ok {
            // A login the console accepted must carry a usable token; anything else would send
            // every later request without one (or with a forged header).
            guard case .string(let t)? = resp.json?["token"],
                  !t.isEmpty, t.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
                let what: String
                switch resp.json?["token"] {
                case nil: what = "without a token"
                case .string(let t)? where t.isEmpty: what = "with an empty token"
                case .string?: what = "with a token that is not printable ASCII"
                case let other?: what = "with a token that is \(other.typeName), not a string"
                }
                throw ConsoleError.malformedAnswer(method: "POST", path: req.displayPath,
                                                   reason: "the console answered \(resp.status) \(what); cannot log in")
            }
            redactor.add(t)
            lock.withLock { token = t }
        }
        return resp
    }

    // MARK: - Requests

    /// Sends a request given as text (parsed first: a path or method the host refuses throws
    /// `ConsoleRequestError` before anything is sent). `idempotent`: the caller states the
    /// request may be repeated (nil: what the method says; see `ConsoleRequest`).
    public func request(method: String, path: String, body: JSON?, auth: Bool = true,
                        retry: Bool = true, idempotent: Bool? = nil) throws -> ConsoleResponse {
        try request(ConsoleRequest(method: method, path: path, idempotent: idempotent), body: body, auth: auth, retry: retry)
    }

    /// Sends a parsed request to its normalised path; `auth` adds the bearer token (logging in
    /// first when needed, and once more after a 401). Whether a failure is retried comes from
    /// what the request is (`ConsoleRequest.repeatability`) and `retry`; `timeout` caps each
    /// attempt's wait (below `--request-timeout`). Returns every answer the console gives;
    /// throws only when no answer came (or login failed).
    public func request(_ req: ConsoleRequest, body: JSON?, auth: Bool = true, retry: Bool = true,
                        timeout: Double? = nil) throws -> ConsoleResponse {
        let text = body.map { $0.encoded() }
        let repeatability: Repeatability = retry ? req.repeatability : .never
        guard auth else {
            return try send(req.method, req.wirePath, body: text, auth: false, repeatability, timeout: timeout)
        }
        if lock.withLock({ token }) == nil {
            let r = try login()
            guard r.ok else { throw ConsoleError.authentication(status: r.status, message: r.message) }
        }
        var resp = try send(req.method, req.wirePath, body: text, auth: true, repeatability, timeout: timeout)
        if resp.status == 401 {
            // The token expired or the console restarted: log in again, once, and retry.
            lock.withLock { token = nil }
            let r = try login()
            guard r.ok else { throw ConsoleError.authentication(status: r.status, message: r.message) }
            resp = try send(req.method, req.wirePath, body: text, auth: true, repeatability, timeout: timeout)
        }
        return resp
    }

    /// `GET /` without authentication: the console's web page, outside the API (`probe`).
    public func requestWebRoot() throws -> ConsoleResponse {
        try send("GET", "/", body: nil, auth: false, .always, timeout: nil)
    }

    /// One request through the transport; its failures as `ConsoleError`s.
    private func send(_ method: String, _ path: String, body: String?, auth: Bool, _ repeatability: Repeatability,
                      timeout: Double?) throws -> ConsoleResponse {
        let answer: HTTPFetch.Answer
        do {
            answer = try transport.send(method: method, path: path, repeatability: repeatability,
                                        timeout: { attemptTimeout(limit: timeout) }) {
                var request = try HTTPClient.Request(url: connection.baseURL + path, method: HTTPMethod(rawValue: method))
                request.headers.add(name: "Accept", value: "application/json")
                request.headers.add(name: "User-Agent", value: "twistlock-init")
                if let body {
                    request.headers.add(name: "Content-Type", value: "application/json")
                    request.body = .string(body)
                }
                if auth, let t = lock.withLock({ token }) {
                    redactor.add(t)
                    request.headers.add(name: "Authorization", value: "Bearer \(t)")
                }
                return request
            }
        } catch let error as TransportError {
            switch error {
            case .interrupted: throw ConsoleError.interrupted(method: method, path: path)
            case .deadlineExceeded: throw ConsoleError.deadlineExceeded(method: method, path: path)
            case .tooLarge(let limit): throw ConsoleError.responseTooLarge(method: method, path: path, limit: limit)
            case .invalidURL(let url): throw ConsoleError.invalidURL(url)
            case .unanswered(let reason, _): throw ConsoleError.transport(method: method, path: path, reason: reason)
            }
        }
        var text = ""
        if var buf = answer.body {
            text = buf.readString(length: buf.readableBytes) ?? ""
        }
        // Every token the console hands out is a secret, whoever asked for it.
        if text.range(of: "token", options: .caseInsensitive) != nil, let json = try? JSON.parse(text) { redactor.addTokens(in: json) }
        for (name, value) in answer.headers where name == "authorization" || name.contains("token") {
            redactor.addAuthorization(value)
        }
        return ConsoleResponse(status: answer.status, headers: answer.headers, bodyText: text, redactor: redactor)
    }
}
