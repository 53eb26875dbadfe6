import Foundation

/// How a request may be sent again after a failure — what the request *is*, as the step or
/// the primitive making it states it (`ConsoleRequest.idempotent`, `retry = false`, the
/// Kubernetes client's calls). The peer's `RetryPolicy` decides from it.
public enum Repeatability: Sendable, Equatable {
    /// Never sent again: the caller polls itself (the wait step's `_ping`).
    case never
    /// Sent again only when the peer cannot have processed it: an answer that says so (429)
    /// or a connection refused before anything was sent. A write that must not happen twice.
    case unprocessedOnly
    /// Also after an error status the peer may give for a request it processed (5xx) and after
    /// a lost connection: a read, or a write that may be repeated (idempotent).
    case always
}

/// How one peer's failed requests are retried: which answers and failures, how many times,
/// how long between attempts, how much of a `Retry-After` is honoured. One policy per peer
/// (`console`, `kubernetes`); the transport applies it to each request's `Repeatability`.
/// A TLS failure is never retried (waiting does not make a certificate trusted), nor an answer
/// over the size cap (the same answer would come back).
public struct RetryPolicy: Sendable, Equatable {
    /// Retries after the first attempt (for failures other than refusals with a tolerance).
    public var maxRetries: Int
    /// First backoff delay in seconds; doubles each attempt, with jitter, capped at `maxBackoff`.
    public var backoffBase: Double
    public var maxBackoff: Double
    /// The longest `Retry-After` honoured, in seconds (a longer one waits this long).
    public var maxRetryAfter: Double
    /// How long refused connections are retried, counted from the first refusal (a peer
    /// restarting refuses connections for a while); nil: a refusal counts against
    /// `maxRetries` like any other failure.
    public var refusalTolerance: Double?
    /// Statuses that say the request was not processed: retried for any request that may be
    /// retried at all (`unprocessedOnly` included).
    public var unprocessedStatuses: Set<Int>
    /// Statuses retried only for a request that may be repeated (`always`).
    public var repeatableStatuses: Set<Int>

    public init(maxRetries: Int, backoffBase: Double, maxBackoff: Double, maxRetryAfter: Double,
                refusalTolerance: Double?, unprocessedStatuses: Set<Int>, repeatableStatuses: Set<Int>) {
        self.maxRetries = maxRetries
        self.backoffBase = backoffBase
        self.maxBackoff = maxBackoff
        self.maxRetryAfter = maxRetryAfter
        self.refusalTolerance = refusalTolerance
        self.unprocessedStatuses = unprocessedStatuses
        self.repeatableStatuses = repeatableStatuses
    }

    /// The console: 429 for any request; every 5xx for requests that may be repeated;
    /// refused connections for `refusalTolerance` seconds (a console pod restarting mid-run).
    public static func console(_ c: ConsoleConnection) -> RetryPolicy {
        RetryPolicy(maxRetries: c.maxRetries, backoffBase: c.backoffBase, maxBackoff: c.maxBackoff,
                    maxRetryAfter: c.maxRetryAfter, refusalTolerance: c.refusalTolerance,
                    unprocessedStatuses: [429], repeatableStatuses: Set(500...599))
    }

    /// The Kubernetes API server: 429, and the 5xx an API server or its load balancer gives
    /// for a passing trouble (500, 502, 503, 504; not 501 or 505, which stay); refusals count
    /// against `maxRetries`.
    public static func kubernetes(_ o: KubeClient.Options) -> RetryPolicy {
        RetryPolicy(maxRetries: o.maxRetries, backoffBase: o.backoffBase, maxBackoff: o.maxBackoff,
                    maxRetryAfter: o.maxRetryAfter, refusalTolerance: nil,
                    unprocessedStatuses: [429], repeatableStatuses: [500, 502, 503, 504])
    }

    /// Whether an answer with `status` is retried for a request of `repeatability`.
    public func retries(status: Int, _ repeatability: Repeatability) -> Bool {
        switch repeatability {
        case .never: return false
        case .unprocessedOnly: return unprocessedStatuses.contains(status)
        case .always: return unprocessedStatuses.contains(status) || repeatableStatuses.contains(status)
        }
    }

    /// Whether a request of `repeatability` that got no answer (`cause`) may be sent again
    /// (the budget aside).
    func retries(failure cause: TransportFailure.Cause, tls: Bool, _ repeatability: Repeatability) -> Bool {
        if tls { return false }
        switch repeatability {
        case .never: return false
        case .unprocessedOnly: return cause.beforeSending
        case .always: return true
        }
    }

    /// The wait a `Retry-After` of `header` asks for (delta-seconds), within 0…`maxRetryAfter`;
    /// nil when there is none or it is not a number of seconds (an HTTP date is not honoured:
    /// the backoff applies).
    public func retryAfter(_ header: String?) -> Double? {
        guard let v = header, let s = Double(v.trimmingCharacters(in: .whitespaces)), !s.isNaN else { return nil }
        return min(max(s, 0), maxRetryAfter)
    }

    /// The backoff before retry `attempt + 1`: base·2^attempt, capped, times a random 0.5–1.
    public func backoff(_ attempt: Int) -> Double {
        TransportFailure.backoff(attempt: attempt, base: backoffBase, cap: maxBackoff)
    }
}
