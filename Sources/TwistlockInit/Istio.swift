import AsyncHTTPClient
import Foundation
import NIOCore
import Synchronization

/// The job's own Istio sidecar: wait for it before the first request, ask it to quit at the
/// end (success, failure or SIGTERM) so that the Job's pod completes.
public final class IstioSidecar: Sendable {
    public struct Endpoints: Sendable {
        public var ready = "http://127.0.0.1:15021/healthz/ready"
        public var quit = "http://127.0.0.1:15020/quitquitquit"
        public var readyTimeout: Double = 120
        public init() {}
    }

    let endpoints: Endpoints
    let log: JobLog
    private let quitSent = Mutex(false)

    public init(endpoints: Endpoints, log: JobLog) {
        self.endpoints = endpoints
        self.log = log
    }

    /// Polls the sidecar's readiness endpoint until it answers 200, bounded by `readyTimeout`.
    /// Between polls it waits with `pause` (the console client's interruptible pause: it
    /// returns false once the run is interrupted), so SIGTERM ends the wait at once rather
    /// than after up to `readyTimeout`. Returns false when interrupted.
    @discardableResult
    public func waitUntilReady(pause: (Double) -> Bool = { Thread.sleep(forTimeInterval: $0); return true }) -> Bool {
        let deadline = Date().addingTimeInterval(endpoints.readyTimeout)
        var announced = false
        while Date() < deadline {
            if let status = IstioSidecar.call("GET", endpoints.ready), status == 200 { return true }
            if !announced {
                log.log(.info, "waiting for the Istio sidecar (\(endpoints.ready))")
                announced = true
            }
            guard pause(min(0.5, max(0, deadline.timeIntervalSinceNow))) else {
                log.log(.warn, "stopped waiting for the Istio sidecar: the run was interrupted")
                return false
            }
        }
        log.log(.warn, "the Istio sidecar was not ready after \(Int(endpoints.readyTimeout)) s; going on")
        return true
    }

    /// Asks the sidecar to exit; once per run.
    public func quit(timeout: Double = 3) {
        let first: Bool = quitSent.withLock { sent in
            if sent { return false }
            sent = true
            return true
        }
        guard first else { return }
        if let status = IstioSidecar.call("POST", endpoints.quit, timeout: timeout), (200..<300).contains(status) {
            log.log(.info, "asked the Istio sidecar to quit")
        } else {
            log.log(.warn, "could not ask the Istio sidecar to quit (\(endpoints.quit))")
        }
    }

    static func call(_ method: String, _ url: String, timeout: Double = 3) -> Int? {
        guard var request = try? HTTPClient.Request(url: url, method: .init(rawValue: method)) else { return nil }
        if method == "POST" { request.body = .string("") }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        defer { try? client.syncShutdown() }
        guard let resp = try? client.execute(request: request, deadline: .now() + .milliseconds(Int64(timeout * 1000))).wait() else { return nil }
        return Int(resp.status.code)
    }
}
