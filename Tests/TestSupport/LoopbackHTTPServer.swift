import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 server on 127.0.0.1 (port 0), one connection at a time, each answered
/// and closed (`Connection: close`). Tests use it where a real server would be too kind: a
/// sidecar's quit endpoint, a console that answers YAML that is not YAML.
public final class LoopbackHTTPServer: @unchecked Sendable {
    public struct Request: Sendable {
        public let method: String
        public let path: String
        public let body: [UInt8]
    }

    public struct Response: Sendable {
        /// What the server does with the request.
        public enum Reply: Sendable {
            case answer
            /// Closes the connection without answering (the request was read).
            case closeWithoutAnswer
            /// Keeps the connection open without answering until the server stops (or 10 s).
            case hang
        }
        public var status: Int
        public var contentType: String
        public var body: String
        /// Extra header lines (`Retry-After`).
        public var headers: [(String, String)] = []
        public var reply = Reply.answer
        public init(_ status: Int, _ body: String = "", contentType: String = "application/json",
                    headers: [(String, String)] = []) {
            self.status = status
            self.body = body
            self.contentType = contentType
            self.headers = headers
        }
        public static let closeWithoutAnswer: Response = { var r = Response(0); r.reply = .closeWithoutAnswer; return r }()
        public static let hang: Response = { var r = Response(0); r.reply = .hang; return r }()
    }

    private let fd: Int32
    public let port: Int
    private let handler: (Request) -> Response
    private let lock = NSLock()
    private var log: [Request] = []
    private var stopped = false
    private let done = DispatchSemaphore(value: 0)
    /// Signalled (once per hanging connection) when the server stops.
    private let stopping = DispatchSemaphore(value: 0)
    private var hanging = 0

    public var url: String { "http://127.0.0.1:\(port)" }
    public var received: [Request] { lock.withLock { log } }

    public init(handler: @escaping (Request) -> Response) throws {
        self.handler = handler
        (fd, port) = try Loopback.bind(listen: 16)
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    deinit { stop() }

    public func stop() {
        let first: Bool = lock.withLock {
            if stopped { return false }
            stopped = true
            return true
        }
        guard first else { return }
        for _ in 0..<lock.withLock({ hanging }) { stopping.signal() }
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
        _ = done.wait(timeout: .now() + 5)
    }

    private func acceptLoop() {
        defer { done.signal() }
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 {
                if lock.withLock({ stopped }) { return }
                if errno == EINTR { continue }
                return
            }
            serve(client)
        }
    }

    private func serve(_ client: Int32) {
        var keepOpen = false
        defer { if !keepOpen { close(client) } }
        Loopback.setTimeout(client, seconds: 5, send: false)
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        var headerEnd: Int?
        var contentLength = 0
        while true {
            if let end = headerEnd, data.count >= end + contentLength { break }
            let n = recv(client, &buffer, buffer.count, 0)
            if n <= 0 { return }
            data.append(contentsOf: buffer[0..<n])
            if headerEnd == nil, let end = Loopback.find([13, 10, 13, 10], in: data) {
                headerEnd = end + 4
                let head = String(decoding: data[..<end], as: UTF8.self).lowercased()
                for line in head.components(separatedBy: "\r\n") where line.hasPrefix("content-length:") {
                    contentLength = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
                }
            }
        }
        guard let end = headerEnd else { return }
        let requestLine = String(decoding: data[..<end], as: UTF8.self).components(separatedBy: "\r\n").first ?? ""
        let parts = requestLine.split(separator: " ")
        guard parts.count >= 2 else { return }
        let request = Request(method: String(parts[0]), path: String(parts[1]), body: Array(data[end..<min(data.count, end + contentLength)]))
        lock.withLock { log.append(request) }
        let response = handler(request)
        switch response.reply {
        case .answer: break
        case .closeWithoutAnswer: return
        case .hang:
            keepOpen = true
            lock.withLock { hanging += 1 }
            Thread { [stopping] in
                _ = stopping.wait(timeout: .now() + 10)
                close(client)
            }.start()
            return
        }
        let body = Array(response.body.utf8)
        let extra = response.headers.map { "\($0.0): \($0.1)\r\n" }.joined()
        let head = "HTTP/1.1 \(response.status) X\r\nContent-Type: \(response.contentType)\r\nContent-Length: \(body.count)\r\n\(extra)Connection: close\r\n\r\n"
        Loopback.sendAll(client, Array(head.utf8) + body)
    }
}
