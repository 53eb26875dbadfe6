import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// What the console and Kubernetes clients share about failed requests: how to name a
/// transport error for a person, which errors mean "nothing was sent", which are TLS
/// failures (never retried: waiting does not make a certificate trusted), and the backoff
/// between attempts.
///
/// Errors are classified by their types (HTTPClientError, NIOSSLError, NIOConnectionError,
/// IOError's errno, HTTPParserError), never by their text: the text of a BoringSSL error holds
/// source paths of the dependency (`.build/checkouts/…`), which an operator must never see.
enum TransportFailure {
    /// Why a request got no answer, in the operator's terms.
    enum Cause: Equatable {
        /// `https://` against a port that speaks plain HTTP.
        case plainHTTP
        /// The TLS handshake failed on the certificate: not trusted, expired, another name.
        case certificate
        /// The TLS handshake failed otherwise (protocol versions, ciphers, an alert).
        case tlsHandshake
        /// `http://` against a port that does not answer in HTTP (TLS, most likely).
        case notHTTP
        case unresolved(host: String)
        case refused
        case connectTimeout
        case timeout
        case closed
        /// A proxy answered for the console (407, or AsyncHTTPClient's proxy errors).
        case proxy
        case cancelled
        case other

        /// Nothing was sent: the connection was refused or never made, so the peer cannot
        /// have processed the request.
        var beforeSending: Bool {
            switch self {
            case .refused, .connectTimeout: return true
            default: return false
            }
        }
    }

    static func cause(_ error: Error) -> Cause {
        if let e = error as? HTTPClientError {
            switch e {
            case .readTimeout, .deadlineExceeded: return .timeout
            case .connectTimeout: return .connectTimeout
            case .remoteConnectionClosed: return .closed
            case .cancelled: return .cancelled
            case .proxyAuthenticationRequired, .invalidProxyResponse: return .proxy
            default: return .other
            }
        }
        if let e = error as? NIOSSLError {
            switch e {
            case .handshakeFailed(let inner):
                let reasons = boringSSLReasons(inner)
                if reasons.contains("WRONG_VERSION_NUMBER") || reasons.contains("HTTP_REQUEST")
                    || reasons.contains("HTTPS_PROXY_REQUEST") || reasons.contains("RECORD_TOO_LARGE") {
                    return .plainHTTP
                }
                if reasons.contains("CERTIFICATE_VERIFY_FAILED") { return .certificate }
                return .tlsHandshake
            case .uncleanShutdown: return .closed
            case .unableToValidateCertificate, .noCertificateToValidate, .cannotMatchULabel: return .certificate
            default: return .tlsHandshake
            }
        }
        // NIOSSL's own checks after BoringSSL's (the host name): a certificate problem.
        if error is NIOSSLExtraError { return .certificate }
        if error is HTTPParserError { return .notHTTP }
        if let e = error as? NIOConnectionError {
            if e.connectionErrors.isEmpty && (e.dnsAError != nil || e.dnsAAAAError != nil) { return .unresolved(host: e.host) }
            if e.connectionErrors.contains(where: { cause($0.error) == .refused }) { return .refused }
            if let first = e.connectionErrors.first { return cause(first.error) }
            return .other
        }
        if let e = error as? IOError {
            switch e.errnoCode {
            case ECONNREFUSED: return .refused
            case ETIMEDOUT: return .connectTimeout
            case ECONNRESET, EPIPE: return .closed
            default: return .other
            }
        }
        if let e = error as? ChannelError {
            switch e {
            case .connectTimeout: return .connectTimeout
            case .ioOnClosedChannel, .eof, .alreadyClosed, .outputClosed: return .closed
            default: return .other
            }
        }
        if let e = error as? SocketAddressError, case .unknown(let host, _) = e { return .unresolved(host: host) }
        return .other
    }

    /// The reason names of a BoringSSL error (`WRONG_VERSION_NUMBER`), without file paths.
    static func boringSSLReasons(_ error: BoringSSLError) -> [String] {
        let stack: NIOBoringSSLErrorStack
        switch error {
        case .sslError(let s), .unknownError(let s), .invalidSNIName(let s), .failedToSetALPN(let s): stack = s
        default: return []
        }
        // Each entry reads `Error: <code> error:<hex>:<lib>:OPENSSL_internal:<REASON> at <path>:<line>`:
        // only the reason is kept.
        return stack.map { entry -> String in
            let text = "\(entry)"
            guard let range = text.range(of: "OPENSSL_internal:") else { return "" }
            return String(text[range.upperBound...].prefix { $0 != " " })
        }
    }

    /// A sentence for the operator: what went wrong, with `url` (the console's or the API
    /// server's) and what to do. `peer` names the other side ("the console"). `caFile` is the
    /// extra CA the job trusts (for a certificate check's diagnosis).
    /// `diagnose`: look at a refused certificate again to say why (the console client; the
    /// Kubernetes client trusts its kubeconfig's CA, which a probe does not have).
    static func describe(_ error: Error, peer: String, url: String? = nil, caFile: String? = nil,
                         diagnose: Bool = false) -> String {
        let at = url.map { "\(peer) at \($0)" } ?? peer
        switch cause(error) {
        case .plainHTTP:
            return "TLS: \(at) speaks plain HTTP, not HTTPS: use \(url.map(httpURL) ?? "an http:// URL") (or \(peer)'s HTTPS port)"
        case .certificate:
            guard diagnose else {
                return "TLS: \(at) presents a certificate the job does not accept (not issued by a CA it trusts, expired, or for another name)"
            }
            return "TLS: " + CertificateDiagnosis.sentence(at: at, url: url, caFile: caFile)
        case .tlsHandshake:
            return "TLS: the handshake with \(at) failed (no TLS version or cipher in common, or the server refused the job's hello)"
        case .notHTTP:
            return "\(at) did not answer in HTTP\(url?.hasPrefix("http://") == true ? " — if this port serves HTTPS, use \(httpsURL(url!))" : "")"
        case .unresolved(let host):
            return "the host name \(host) of \(at) does not resolve (DNS): check the URL, or the cluster's DNS"
        case .refused:
            return "connection refused: nothing listens at \(url ?? peer) (the port is closed, or \(peer) is not running yet)"
        case .connectTimeout:
            return "connecting to \(at) timed out (a firewall or NetworkPolicy dropping the connection, or the wrong address)"
        case .timeout:
            return "the request timed out"
        case .closed:
            return "\(peer) closed the connection"
        case .proxy:
            return "a proxy answered instead of \(at): the job talks to it directly (no proxy); let it through (NO_PROXY, the NetworkPolicy)"
        case .cancelled:
            return "cancelled"
        case .other:
            // Never a dependency's raw text (it may hold source paths): its type, and errno.
            if let e = error as? IOError { return "\(at): \(String(cString: strerror(e.errnoCode))) (errno \(e.errnoCode))" }
            return "\(at): \(String(describing: type(of: error)))"
        }
    }

    static func httpURL(_ url: String) -> String {
        url.hasPrefix("https://") ? "http://" + url.dropFirst("https://".count) : url
    }

    static func httpsURL(_ url: String) -> String {
        url.hasPrefix("http://") ? "https://" + url.dropFirst("http://".count) : url
    }

    /// The connection was refused (or never made): the request cannot have been processed.
    static func isConnectRefusal(_ error: Error) -> Bool {
        cause(error).beforeSending
    }

    /// A TLS failure: a certificate the job does not trust, or a port that does not speak TLS.
    /// Waiting does not change either: never retried.
    static func isTLSVerificationFailure(_ error: Error) -> Bool {
        error is NIOSSLError || error is NIOSSLExtraError
    }

    /// Exponential backoff with jitter: base·2^attempt, capped, times a random 0.5–1.
    static func backoff(attempt: Int, base: Double, cap: Double) -> Double {
        min(base * pow(2, Double(attempt)), cap) * Double.random(in: 0.5...1.0)
    }
}
