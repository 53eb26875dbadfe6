import AsyncHTTPClient
import Foundation
import NIOSSL

/// What the console and Kubernetes clients share about failed requests: how to name a
/// transport error for a person, which errors mean "nothing was sent", which are TLS
/// verification failures (never retried: waiting does not make a certificate trusted), and the
/// backoff between attempts.
enum TransportFailure {
    /// A short description; `peer` names the other side ("the console", "the API server").
    static func describe(_ error: Error, peer: String) -> String {
        if let e = error as? HTTPClientError {
            switch e {
            case .readTimeout, .deadlineExceeded: return "the request timed out"
            case .connectTimeout: return "connecting timed out"
            case .remoteConnectionClosed: return "\(peer) closed the connection"
            case .cancelled: return "cancelled"
            default: break
            }
        }
        if let e = error as? NIOSSLError { return "TLS: \(e)" }
        let text = String(describing: error)
        if text.contains("certificate") || text.contains("CERTIFICATE") || text.contains("handshake") {
            return "TLS: \(text)"
        }
        if text.lowercased().contains("connection refused") { return "connection refused" }
        if text.contains("ioOnClosedChannel") || text.contains("uncleanShutdown") { return "\(peer) closed the connection" }
        return text
    }

    /// The connection was refused (or never made): the request cannot have been processed.
    static func isConnectRefusal(_ error: Error) -> Bool {
        if let e = error as? HTTPClientError, e == .connectTimeout { return true }
        let text = String(describing: error).lowercased()
        return text.contains("connection refused") || text.contains("connectionrefused") || text.contains("econnrefused")
    }

    static func isTLSVerificationFailure(_ error: Error) -> Bool {
        if error is NIOSSLError { return true }
        let text = String(describing: error)
        return text.contains("CERTIFICATE_VERIFY_FAILED") || text.contains("certificate verify failed")
            || text.contains("handshakeFailed")
    }

    /// Exponential backoff with jitter: base·2^attempt, capped, times a random 0.5–1.
    static func backoff(attempt: Int, base: Double, cap: Double) -> Double {
        min(base * pow(2, Double(attempt)), cap) * Double.random(in: 0.5...1.0)
    }
}
