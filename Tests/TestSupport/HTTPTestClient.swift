import Foundation
import JSONModel

#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 client over a raw loopback socket (one connection per request,
/// `Connection: close`), so tests see exactly what the simulator sends: no retries, no
/// redirects, dropped connections visible as such. Blocking I/O runs off the concurrency
/// pool.
public struct HTTPResult: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: [UInt8]

    public init(status: Int, headers: [String: String], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public var text: String { String(decoding: body, as: UTF8.self) }
    public var json: JSON? { try? JSON.parse(bytes: body) }
    /// The `err` of a console error body.
    public var err: String? { json?["err"]?.stringValue }
}

public enum HTTPTestError: Error, Equatable {
    case connectFailed(Int32)
    case closedWithoutResponse
    case malformedResponse(String)
    case timeout
    /// A socket could not be made, bound or listened on.
    case socket(String)
}

public enum HTTPTestClient {
    public static func request(_ base: URL, _ method: String, _ path: String, body: String? = nil,
                        headers: [String: String] = [:], timeout: TimeInterval = 15) async throws -> HTTPResult {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<HTTPResult, Error>) in
            DispatchQueue.global().async {
                c.resume(with: Result { try blockingRequest(base, method, path, body: body, headers: headers, timeout: timeout) })
            }
        }
    }

    public static func blockingRequest(_ base: URL, _ method: String, _ path: String, body: String?,
                                headers: [String: String], timeout: TimeInterval) throws -> HTTPResult {
        let port = base.port ?? 80
        let fd = try Loopback.connect(port: port, timeout: timeout)
        defer { close(fd) }
        let payload = Array((body ?? "").utf8)
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        if body != nil || method == "POST" || method == "PUT" {
            head += "Content-Type: application/json\r\nContent-Length: \(payload.count)\r\n"
        }
        head += "\r\n"
        Loopback.sendAll(fd, Array(head.utf8) + payload)
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0 {
                data.append(contentsOf: buffer[0..<n])
            } else if n == 0 {
                break
            } else {
                if errno == EAGAIN || errno == EWOULDBLOCK { throw HTTPTestError.timeout }
                if errno == ECONNRESET { break }
                throw HTTPTestError.connectFailed(errno)
            }
        }
        if data.isEmpty { throw HTTPTestError.closedWithoutResponse }
        return try parse(data)
    }

    public static func parse(_ data: [UInt8]) throws -> HTTPResult {
        guard let end = Loopback.find([13, 10, 13, 10], in: data) else {
            throw HTTPTestError.malformedResponse("no header end")
        }
        let headText = String(decoding: data[..<end], as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else {
            throw HTTPTestError.malformedResponse("bad status line")
        }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Array(data[(end + 4)...])
        if headers["transfer-encoding"]?.lowercased() == "chunked" {
            var out: [UInt8] = []
            var i = 0
            while i < body.count {
                guard let lineEnd = (i..<(body.count - 1)).first(where: { body[$0] == 13 && body[$0 + 1] == 10 }) else { break }
                let size = Int(String(decoding: body[i..<lineEnd], as: UTF8.self).split(separator: ";")[0], radix: 16) ?? 0
                if size == 0 { break }
                let start = lineEnd + 2
                out += body[start..<min(body.count, start + size)]
                i = start + size + 2
            }
            body = out
        }
        return HTTPResult(status: status, headers: headers, body: body)
    }
}

