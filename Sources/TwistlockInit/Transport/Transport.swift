import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// One request's failure after the transport's retries, for the client to name in its own
/// terms (`ConsoleError`, `KubeError`).
enum TransportError: Error {
    /// The run's interrupt fired (before, during or between attempts), or the transport was
    /// shut down.
    case interrupted
    /// The run's deadline passed, or would pass during the next wait.
    case deadlineExceeded
    /// The answer's body is over the size cap (never retried).
    case tooLarge(limit: Int)
    /// The request cannot be made (a URL AsyncHTTPClient refuses).
    case invalidURL(String)
    /// No answer, after the retries the policy allows: the reason in the operator's words.
    case unanswered(reason: String, cause: TransportFailure.Cause)
}

/// The one retrying HTTP transport under the console client and the Kubernetes client: it
/// sends a request built fresh for each attempt, retries it as the peer's `RetryPolicy` says for
/// what the request is (`Repeatability`), waits between attempts (backoff with jitter, or the
/// peer's `Retry-After`) on the run's `InterruptToken`, and classifies failures by their types
/// (`TransportFailure`). Blocking: call it from the job's thread, never on an event loop.
// @unchecked Sendable: the request in flight, `closed`, `sent` and the interrupt handler are
// guarded by `lock` (the interrupt abandons the request from another thread); the callbacks
// are set by the owning client before the first request and only read afterwards.
final class Transport: @unchecked Sendable {
    /// Who is on the other side, for the operator's sentences.
    struct Peer: Sendable {
        /// "the console", "the API server".
        let name: String
        /// Its base URL.
        let url: String
        /// The extra CA the job trusts for it (named in a certificate diagnosis).
        var caFile: String?
        /// Look at a refused certificate again to say why (`CertificateDiagnosis`).
        var diagnose = false
    }

    let peer: Peer
    let policy: RetryPolicy
    let interrupt: InterruptToken
    let maxResponseBytes: Int
    /// No attempt starts, and no retry waits, past this point (the run's deadline).
    let deadline: Date?
    private let http: HTTPClient
    // The fields below are guarded by `lock`.
    private let lock = NSLock()
    private var current: HTTPClient.Task<HTTPClient.Response>?
    private var closed = false
    private var sent = 0
    private var interruptHandler = -1

    /// What the owning client reports while this transport sends (set through the client).
    let hooks = TransportHooks()
    var onRetry: ((String) -> Void)? { hooks.onRetry }
    var onAttempt: ((String, String, Int?, Double, String?) -> Void)? { hooks.onAttempt }
    var httpLogger: Logger? { hooks.httpLogger }

    init(peer: Peer, configuration: HTTPClient.Configuration, policy: RetryPolicy, interrupt: InterruptToken,
         maxResponseBytes: Int, deadline: Date? = nil) {
        self.peer = peer
        self.policy = policy
        self.interrupt = interrupt
        self.maxResponseBytes = maxResponseBytes
        self.deadline = deadline
        // A refused connection fails the attempt at once and is retried here, with the backoff,
        // the interrupt and the policy's budget (AsyncHTTPClient would otherwise retry it inside
        // one attempt until the connect timeout, and name it a connect timeout).
        var configuration = configuration
        configuration.connectionPool.retryConnectionEstablishment = false
        self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let id = interrupt.onFire { [weak self] in self?.abandon() }
        lock.withLock { interruptHandler = id }
    }

    deinit {
        interrupt.remove(interruptHandler)
        // Possibly released on one of NIO's event loop threads, where the blocking
        // `syncShutdown` is a precondition failure (a crash): shut down without waiting.
        if !closed { http.shutdown { _ in } }
    }

    /// Requests sent over the wire (every attempt).
    var requestCount: Int { lock.withLock { sent } }

    /// Releases the connection pool (blocking, except on an event loop). Requests fail as
    /// interrupted afterwards. Calling it again does nothing.
    func shutdown() {
        let wasClosed = lock.withLock { () -> Bool in
            defer { closed = true }
            return closed
        }
        guard !wasClosed else { return }
        interrupt.remove(lock.withLock { interruptHandler })
        if MultiThreadedEventLoopGroup.currentEventLoop != nil {
            http.shutdown { _ in }
        } else {
            try? http.syncShutdown()
        }
    }

    /// Abandons the request in flight (the interrupt fired).
    private func abandon() {
        lock.withLock { current }?.cancel()
    }

    /// Sends a request until it is answered, retrying as `policy` says for `repeatability`.
    /// `build` makes the request for each attempt (a rotated token is read again);
    /// `timeout` is each attempt's wait for its answer, asked before each attempt; `context`
    /// prefixes each retry line (`apply DaemonSet ns/name: `). Returns the answer, whatever
    /// its status, once no retry is due; throws `TransportError` otherwise.
    func send(method: String, path: String, repeatability: Repeatability, context: String = "",
              timeout: () -> Double, build: () throws -> HTTPClient.Request) throws -> HTTPFetch.Answer {
        var attempt = 0
        var firstRefusal: Date?
        while true {
            try checkOpen()
            if let d = deadline, Date() >= d { throw TransportError.deadlineExceeded }
            let outcome: Result<HTTPFetch.Answer, Error>
            do {
                outcome = .success(try once(method: method, path: path, timeout: timeout(), build: build))
            } catch let error as TransportError {
                // Too large an answer, a bad URL: the same would come back; never retried.
                throw error
            } catch {
                outcome = .failure(error)
            }
            try checkOpen()
            let delay: Double
            let why: String
            var refusedFor: Double?
            switch outcome {
            case .success(let answer):
                guard policy.retries(status: answer.status, repeatability), attempt < policy.maxRetries else { return answer }
                delay = policy.retryAfter(answer.headers["retry-after"]) ?? policy.backoff(attempt)
                why = "\(answer.status) \(HTTPResponseStatus(statusCode: answer.status).reasonPhrase)"
            case .failure(let error):
                let cause = TransportFailure.cause(error)
                let reason = TransportFailure.describe(error, peer: peer.name, url: peer.url, caFile: peer.caFile,
                                                       diagnose: peer.diagnose)
                let budgetLeft: Bool
                if cause.beforeSending, let tolerance = policy.refusalTolerance {
                    let since = firstRefusal ?? Date()
                    firstRefusal = since
                    refusedFor = Date().timeIntervalSince(since)
                    budgetLeft = refusedFor! < tolerance
                } else {
                    budgetLeft = attempt < policy.maxRetries
                }
                guard budgetLeft, policy.retries(failure: cause, tls: TransportFailure.isTLSVerificationFailure(error),
                                                  repeatability) else {
                    throw TransportError.unanswered(reason: reason, cause: cause)
                }
                delay = policy.backoff(attempt)
                why = reason
            }
            attempt += 1
            if let d = deadline, Date().addingTimeInterval(delay) >= d { throw TransportError.deadlineExceeded }
            let wait = String(format: "%.1f", delay)
            if let refusedFor, let tolerance = policy.refusalTolerance {
                onRetry?("\(context)\(method) \(path): \(why) for \(String(format: "%.0f", refusedFor)) s of \(String(format: "%.0f", tolerance)) s; retry \(attempt) in \(wait) s")
            } else {
                onRetry?("\(context)\(method) \(path): \(why); retry \(attempt)/\(policy.maxRetries) in \(wait) s")
            }
            if !interrupt.pause(delay) { throw TransportError.interrupted }
        }
    }

    private func checkOpen() throws {
        if interrupt.isFired || lock.withLock({ closed }) { throw TransportError.interrupted }
    }

    /// One attempt: the request, its whole answer (bounded), the `onAttempt` report.
    private func once(method: String, path: String, timeout: Double,
                      build: () throws -> HTTPClient.Request) throws -> HTTPFetch.Answer {
        let request: HTTPClient.Request
        do {
            request = try build()
        } catch {
            throw TransportError.invalidURL(peer.url + path)
        }
        defer { lock.withLock { current = nil } }
        let started = ProcessInfo.processInfo.systemUptime
        func elapsed() -> Double { ProcessInfo.processInfo.systemUptime - started }
        do {
            let answer = try HTTPFetch.send(request, on: http, maxBodyBytes: maxResponseBytes,
                                            timeout: timeout, logger: httpLogger) { task in
                lock.withLock {
                    current = task
                    sent += 1
                }
                // Fired between the check and now: the task just registered is abandoned too.
                if interrupt.isFired { task.cancel() }
            }
            onAttempt?(method, path, answer.status, elapsed(), nil)
            return answer
        } catch let tooLarge as HTTPFetch.TooLarge {
            onAttempt?(method, path, nil, elapsed(), "larger than \(tooLarge.limit) bytes")
            throw TransportError.tooLarge(limit: tooLarge.limit)
        } catch {
            onAttempt?(method, path, nil, elapsed(), TransportFailure.describe(error, peer: peer.name))
            throw error
        }
    }
}

/// What a client reports while its transport sends: progress lines, `-v` and `-vv`. Set
/// before the first request, only read afterwards (hence `@unchecked Sendable`).
public final class TransportHooks: @unchecked Sendable {
    /// Called before each retry wait with the line saying why (progress output).
    public var onRetry: ((String) -> Void)?
    /// Called after each attempt: method, path, status (nil: no answer), seconds, and the
    /// failure's sentence when there was no answer (`-v`).
    public var onAttempt: ((String, String, Int?, Double, String?) -> Void)?
    /// AsyncHTTPClient's own log of each request (`-vv`).
    public var httpLogger: Logger?
    init() {}
}

/// A client that sends through a `Transport` (the console's and the Kubernetes client): its
/// hooks are set on the client, the same way for both.
public protocol TransportClient: AnyObject {
    var hooks: TransportHooks { get }
    /// Requests sent over the wire (every attempt).
    var requestCount: Int { get }
}

extension TransportClient {
    /// Called before each retry wait, with the line saying why (progress output).
    public var onRetry: ((String) -> Void)? {
        get { hooks.onRetry }
        set { hooks.onRetry = newValue }
    }
    /// Called after each attempt (`-v`): method, endpoint, status (nil: no answer), seconds,
    /// and the failure's sentence when there was no answer.
    public var onRequest: ((String, String, Int?, Double, String?) -> Void)? {
        get { hooks.onAttempt }
        set { hooks.onAttempt = newValue }
    }
    /// AsyncHTTPClient's own log of each request (`-vv`).
    public var httpLogger: Logger? {
        get { hooks.httpLogger }
        set { hooks.httpLogger = newValue }
    }
}
