import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import Synchronization

/// Why a server's certificate was refused, found by looking at it again — the TLS library's
/// error only says "verify failed". Two short handshakes with the server, nothing sent over
/// them: one with the job's trust but without the host name check (it passes: the certificate
/// is for another name), one without verification to read the certificate's dates (expired or
/// not yet valid). Otherwise: not issued by a CA the job trusts.
enum CertificateDiagnosis {
    enum Finding: Equatable {
        case otherName
        case expired(String)
        case notYetValid(String)
        case untrusted
        case unknown
    }

    static func sentence(at: String, url: String?, caFile: String?) -> String {
        let finding = url.flatMap { URL(string: $0) }.map { diagnose($0, caFile: caFile) } ?? .unknown
        switch finding {
        case .otherName:
            let host = url.flatMap { URL(string: $0)?.host } ?? "this host"
            return "\(at) presents a certificate for another name (not \(host)): use the host name the certificate was issued for, or give the console a certificate for \(host)"
        case .expired(let date):
            return "\(at) presents an expired certificate (it expired \(date)): renew the console's certificate"
        case .notYetValid(let date):
            return "\(at) presents a certificate that is not valid yet (from \(date)): check the clocks, or the certificate"
        case .untrusted:
            return "\(at) presents a certificate the job does not trust (not issued by a CA it knows): give its CA with --ca-file\(caFile == nil ? "" : " (the one given does not issue it)")"
        case .unknown:
            return "\(at) presents a certificate the job does not accept (not trusted, expired, or for another name): give its CA with --ca-file, or check the certificate"
        }
    }

    static func diagnose(_ url: URL, caFile: String?) -> Finding {
        guard let host = url.host, !host.isEmpty else { return .unknown }
        let port = url.port ?? 443
        var trusting = TLSConfiguration.makeClientConfiguration()
        trusting.certificateVerification = .noHostnameVerification
        if let caFile { trusting.additionalTrustRoots = [.file(caFile)] }
        if case .handshake = probe(host: host, port: port, tls: trusting) { return .otherName }
        var open = TLSConfiguration.makeClientConfiguration()
        open.certificateVerification = .none
        guard case .handshake(let certificate?) = probe(host: host, port: port, tls: open) else { return .unknown }
        let now = time(nil)
        if certificate.notValidAfter < now { return .expired(format(certificate.notValidAfter)) }
        if certificate.notValidBefore > now { return .notYetValid(format(certificate.notValidBefore)) }
        return .untrusted
    }

    static func format(_ t: time_t) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: Date(timeIntervalSince1970: TimeInterval(t)))
    }

    enum ProbeResult {
        case handshake(NIOSSLCertificate?)
        case failed
    }

    /// One TLS handshake (5 s at most), then the connection is closed.
    static func probe(host: String, port: Int, tls: TLSConfiguration) -> ProbeResult {
        guard let context = try? NIOSSLContext(configuration: tls) else { return .failed }
        let isIP = host.contains(":") || host.allSatisfy { $0.isNumber || $0 == "." }
        let group = MultiThreadedEventLoopGroup.singleton
        let loop = group.next()
        let promise = Once(loop.makePromise(of: NIOSSLCertificate?.self))
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = try NIOSSLClientHandler(context: context, serverHostname: isIP ? nil : host)
                    try channel.pipeline.syncOperations.addHandler(handler)
                    try channel.pipeline.syncOperations.addHandler(HandshakeWatcher(promise: promise))
                }
            }
        let timeout = loop.scheduleTask(in: .seconds(5)) { promise.fail(ChannelError.connectTimeout(.seconds(5))) }
        defer { timeout.cancel() }
        guard let channel = try? bootstrap.connect(host: host, port: port).wait() else {
            promise.fail(ChannelError.connectPending)
            return .failed
        }
        defer { channel.close(promise: nil) }
        guard let certificate = try? promise.promise.futureResult.wait() else { return .failed }
        return .handshake(certificate)
    }

    /// A promise completed once: the first of success, failure, timeout wins.
    final class Once: Sendable {
        let promise: EventLoopPromise<NIOSSLCertificate?>
        private let done = Mutex(false)
        init(_ promise: EventLoopPromise<NIOSSLCertificate?>) { self.promise = promise }

        private func first() -> Bool {
            done.withLock { done in
                defer { done = true }
                return !done
            }
        }
        func succeed(_ value: NIOSSLCertificate?) { if first() { promise.succeed(value) } }
        func fail(_ error: Error) { if first() { promise.fail(error) } }
    }

    /// Completes the promise with the peer's certificate once the handshake is done, or fails it.
    final class HandshakeWatcher: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let promise: Once
        init(promise: Once) { self.promise = promise }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if let e = event as? TLSUserEvent, case .handshakeCompleted = e {
                let handler = try? context.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self)
                promise.succeed(handler?.peerCertificate)
            }
            context.fireUserInboundEventTriggered(event)
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            promise.fail(error)
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.fail(ChannelError.eof)
            context.fireChannelInactive()
        }
    }
}
