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

    public var description: String {
        switch self {
        case .transport(let m, let p, let r): return "\(m) \(p): no answer from the console (\(r))"
        case .status(let m, let p, let s, let msg):
            return "\(m) \(p): \(s) \(HTTPResponseStatus(statusCode: s).reasonPhrase)\(msg.isEmpty ? "" : ": \(msg)")"
        case .authentication(let s, let msg):
            return "login refused by the console: \(s) \(HTTPResponseStatus(statusCode: s).reasonPhrase)\(msg.isEmpty ? "" : ": \(msg)")"
        case .deadlineExceeded(let m, let p): return "\(m) \(p): the run's deadline passed"
        case .interrupted(let m, let p): return "\(m) \(p): interrupted"
        case .invalidURL(let u): return "invalid console URL \(u)"
        case .malformedAnswer(let m, let p, let reason): return "\(m) \(p): \(reason)"
        case .responseTooLarge(let m, let p, let limit):
            return "\(m) \(p): the console's answer is larger than \(ByteSize.text(limit)); refused"
        }
    }
}

/// The console API client: TLS verified by default (extra CA with `caFile`), login on first
/// use and once more after a 401, retries with exponential backoff and jitter for connection
/// errors, 429 (honouring Retry-After) and 5xx on idempotent requests. Synchronous: the job's
/// Lua runs on its own thread and each call blocks it, never an event loop.
public final class ConsoleClient: @unchecked Sendable {
    public let connection: ConsoleConnection
    private let http: HTTPClient
    private var credentials: (username: String, password: String)?
    private var token: String?
    private let redactor: Redactor
    private let lock = NSLock()
    private var interrupted = false
    private var current: HTTPClient.Task<HTTPClient.Response>?
    /// `shutdown()` has run.
    private var closed = false
    /// Called before each retry wait (for progress lines).
    public var onRetry: ((String) -> Void)?
    /// Called after each attempt (`-v`): method, endpoint, status (nil: no answer), seconds,
    /// and the failure's sentence when there was no answer.
    public var onRequest: ((String, String, Int?, Double, String?) -> Void)?
    /// AsyncHTTPClient's own log of each request (`-vv`).
    public var httpLogger: Logger?
    /// Requests sent over the wire (every attempt).
    public private(set) var requestCount = 0
    /// Wakes `pause` when the client is interrupted.
    private let wake = NSCondition()

    public init(connection: ConsoleConnection, redactor: Redactor) throws {
        self.connection = connection
        self.redactor = redactor
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
        // A refused connection fails the attempt at once and is retried here, with the backoff,
        // the interrupt and `refusalTolerance` (AsyncHTTPClient would otherwise retry it inside
        // one attempt until the connect timeout, hiding it from the wait step's own timeout).
        config.connectionPool.retryConnectionEstablishment = false
        config.decompression = .disabled
        self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
    }

    deinit {
        // A client dropped without `shutdown()` may be released on one of NIO's event loop
        // threads, where the blocking `syncShutdown` is a precondition failure (a crash):
        // shut down without waiting instead.
        if !lock.withLock({ closed }) { http.shutdown { _ in } }
    }

    /// Releases the connection pool (blocking). The client cannot be used afterwards.
    public func shutdown() {
        let wasClosed = lock.withLock { () -> Bool in
            defer { closed = true }
            return closed
        }
        guard !wasClosed else { return }
        if MultiThreadedEventLoopGroup.currentEventLoop != nil {
            http.shutdown { _ in }
        } else {
            try? http.syncShutdown()
        }
    }

    public func setCredentials(username: String, password: String) {
        lock.lock(); defer { lock.unlock() }
        credentials = (username, password)
        redactor.add(password)
        token = nil
    }

    /// Abandons the request in flight, cuts a retry wait (or a `pause`) short and refuses new
    /// requests (SIGTERM).
    public func interrupt() {
        lock.lock()
        interrupted = true
        let task = current
        lock.unlock()
        task?.cancel()
        wake.lock()
        wake.broadcast()
        wake.unlock()
    }

    /// Whether `interrupt()` was called.
    public var isInterrupted: Bool { lock.withLock { interrupted } }

    /// Waits `seconds`, or less when the client is interrupted meanwhile. Returns false when
    /// interrupted. (Retry waits, and `time.sleep` in steps, so that SIGTERM ends the run at
    /// once rather than after a `Retry-After` or a step's sleep.)
    @discardableResult
    public func pause(_ seconds: Double) -> Bool {
        guard seconds > 0 else { return !isInterrupted }
        let until = Date().addingTimeInterval(seconds)
        wake.lock()
        defer { wake.unlock() }
        while !isInterrupted, Date() < until {
            _ = wake.wait(until: until)
        }
        return !isInterrupted
    }

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
        let req = try ConsoleRequest(method: "POST", path: "authenticate", read: true)
        let resp = try send(method: "POST", path: req.wirePath, body: body.encoded(),
                            auth: false, retry: .always, timeout: nil)
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
    /// `ConsoleRequestError` before anything is sent).
    public func request(method: String, path: String, body: JSON?, auth: Bool = true,
                        retry: Bool = true) throws -> ConsoleResponse {
        try request(ConsoleRequest(method: method, path: path), body: body, auth: auth, retry: retry)
    }

    /// Sends a parsed request to its normalised path; `auth` adds the bearer token (logging in
    /// first when needed, and once more after a 401). Whether a failure is retried comes from
    /// the request (`idempotent`) and `retry`; `timeout` caps each attempt's wait (below
    /// `--request-timeout`). Returns every answer the console gives; throws only when no
    /// answer came (or login failed).
    public func request(_ req: ConsoleRequest, body: JSON?, auth: Bool = true, retry: Bool = true,
                        timeout: Double? = nil) throws -> ConsoleResponse {
        let fullPath = req.wirePath
        let method = req.method
        let text = body.map { $0.encoded() }
        let mayRetry: RetryPolicy = !retry ? .never : (req.idempotent ? .always : .unprocessedOnly)
        guard auth else {
            return try send(method: method, path: fullPath, body: text, auth: false, retry: mayRetry, timeout: timeout)
        }
        if lock.withLock({ token }) == nil {
            let r = try login()
            guard r.ok else { throw ConsoleError.authentication(status: r.status, message: r.message) }
        }
        var resp = try send(method: method, path: fullPath, body: text, auth: true, retry: mayRetry, timeout: timeout)
        if resp.status == 401 {
            // The token expired or the console restarted: log in again, once, and retry.
            lock.withLock { token = nil }
            let r = try login()
            guard r.ok else { throw ConsoleError.authentication(status: r.status, message: r.message) }
            resp = try send(method: method, path: fullPath, body: text, auth: true, retry: mayRetry, timeout: timeout)
        }
        return resp
    }

    /// `GET /` without authentication: the console's web page, outside the API (`probe`).
    public func requestWebRoot() throws -> ConsoleResponse { try send(method: "GET", path: "/", body: nil, auth: false, retry: .always, timeout: nil) }

    /// When a failed request may be sent again.
    enum RetryPolicy {
        /// Not at all (the caller polls itself, like the wait step).
        case never
        /// Only when the console cannot have processed it: 429, or the connection refused.
        case unprocessedOnly
        /// Also after 5xx and lost connections (idempotent requests).
        case always
    }

    private func send(method: String, path: String, body: String?, auth: Bool, retry: RetryPolicy,
                      timeout: Double?) throws -> ConsoleResponse {
        var attempt = 0
        var firstRefusal: Date?
        while true {
            if lock.withLock({ interrupted }) { throw ConsoleError.interrupted(method: method, path: path) }
            if let d = connection.deadline, Date() >= d { throw ConsoleError.deadlineExceeded(method: method, path: path) }
            let outcome: Result<ConsoleResponse, Error>
            do {
                outcome = .success(try once(method: method, path: path, body: body, auth: auth,
                                            timeout: attemptTimeout(limit: timeout)))
            } catch let error as ConsoleError {
                // Too large an answer (or a bad URL): the same would come back; never retried.
                throw error
            } catch {
                outcome = .failure(error)
            }
            if lock.withLock({ interrupted }) { throw ConsoleError.interrupted(method: method, path: path) }
            var wait: Double? = nil
            var reason = ""
            var refusedNow = false
            switch outcome {
            case .success(let resp):
                if retry == .never {
                    return resp
                } else if resp.status == 429 {
                    // 429 means the console did not process the request: always safe to retry.
                    wait = retryAfter(resp) ?? backoff(attempt)
                    reason = "429 Too Many Requests"
                } else if resp.status >= 500 && retry == .always {
                    wait = retryAfter(resp) ?? backoff(attempt)
                    reason = "\(resp.status) \(HTTPResponseStatus(statusCode: resp.status).reasonPhrase)"
                } else {
                    return resp
                }
                if attempt >= connection.maxRetries { return resp }
            case .failure(let error):
                let refusedBeforeSending = TransportFailure.isConnectRefusal(error)
                // A certificate the job does not trust stays untrusted: never retried.
                let allowed = !TransportFailure.isTLSVerificationFailure(error)
                    && (retry == .always || (retry == .unprocessedOnly && refusedBeforeSending))
                let budgetLeft: Bool
                refusedNow = refusedBeforeSending
                if refusedBeforeSending {
                    let since = firstRefusal ?? Date()
                    firstRefusal = since
                    budgetLeft = Date().timeIntervalSince(since) < connection.refusalTolerance
                } else {
                    budgetLeft = attempt < connection.maxRetries
                }
                guard allowed, budgetLeft else {
                    throw ConsoleError.transport(method: method, path: path, reason: TransportFailure.describe(error, peer: "the console", url: connection.baseURL, caFile: connection.caFile, diagnose: true))
                }
                wait = backoff(attempt)
                reason = TransportFailure.describe(error, peer: "the console", url: connection.baseURL, caFile: connection.caFile, diagnose: true)
            }
            attempt += 1
            let delay = wait ?? 0
            if let d = connection.deadline, Date().addingTimeInterval(delay) >= d {
                throw ConsoleError.deadlineExceeded(method: method, path: path)
            }
            if refusedNow, let since = firstRefusal {
                onRetry?("\(method) \(path): \(reason) for \(String(format: "%.0f", Date().timeIntervalSince(since))) s of \(String(format: "%.0f", connection.refusalTolerance)) s; retry \(attempt) in \(String(format: "%.1f", delay)) s")
            } else {
                onRetry?("\(method) \(path): \(reason); retry \(attempt)/\(connection.maxRetries) in \(String(format: "%.1f", delay)) s")
            }
            if !pause(delay) { throw ConsoleError.interrupted(method: method, path: path) }
        }
    }

    private func once(method: String, path: String, body: String?, auth: Bool, timeout: Double) throws -> ConsoleResponse {
        guard var request = try? HTTPClient.Request(url: connection.baseURL + path, method: HTTPMethod(rawValue: method.uppercased())) else {
            throw ConsoleError.invalidURL(connection.baseURL + path)
        }
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
        defer { lock.withLock { current = nil } }
        let answer: HTTPFetch.Answer
        let started = ProcessInfo.processInfo.systemUptime
        do {
            answer = try HTTPFetch.send(request, on: http, maxBodyBytes: connection.maxResponseBytes,
                                        timeout: timeout, logger: httpLogger) { task in
                lock.withLock {
                    current = task
                    requestCount += 1
                }
            }
        } catch let tooLarge as HTTPFetch.TooLarge {
            onRequest?(method, path, nil, ProcessInfo.processInfo.systemUptime - started, "larger than \(tooLarge.limit) bytes")
            throw ConsoleError.responseTooLarge(method: method, path: path, limit: tooLarge.limit)
        } catch {
            onRequest?(method, path, nil, ProcessInfo.processInfo.systemUptime - started,
                       TransportFailure.describe(error, peer: "the console"))
            throw error
        }
        onRequest?(method, path, answer.status, ProcessInfo.processInfo.systemUptime - started, nil)
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

    private func retryAfter(_ resp: ConsoleResponse) -> Double? {
        guard let v = resp.headers["retry-after"], let s = Double(v.trimmingCharacters(in: .whitespaces)) else { return nil }
        return min(max(s, 0), connection.maxRetryAfter)
    }

    private func backoff(_ attempt: Int) -> Double {
        TransportFailure.backoff(attempt: attempt, base: connection.backoffBase, cap: connection.maxBackoff)
    }
}
