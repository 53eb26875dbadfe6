import ConsoleSimulator
import Foundation
import JSONModel
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 client over a raw loopback socket (one connection per request,
/// `Connection: close`), so tests see exactly what the simulator sends: no retries, no
/// redirects, dropped connections visible as such. Blocking I/O runs off the concurrency
/// pool.
struct HTTPResult {
    var status: Int
    var headers: [String: String]
    var body: [UInt8]

    var text: String { String(decoding: body, as: UTF8.self) }
    var json: JSON? { try? JSON.parse(bytes: body) }
    /// The `err` of a console error body.
    var err: String? { json?["err"]?.stringValue }
}

enum HTTPTestError: Error, Equatable {
    case connectFailed(Int32)
    case closedWithoutResponse
    case malformedResponse(String)
    case timeout
}

enum HTTPTestClient {
    static func request(_ base: URL, _ method: String, _ path: String, body: String? = nil,
                        headers: [String: String] = [:], timeout: TimeInterval = 15) async throws -> HTTPResult {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<HTTPResult, Error>) in
            DispatchQueue.global().async {
                c.resume(with: Result { try blockingRequest(base, method, path, body: body, headers: headers, timeout: timeout) })
            }
        }
    }

    static func blockingRequest(_ base: URL, _ method: String, _ path: String, body: String?,
                                headers: [String: String], timeout: TimeInterval) throws -> HTTPResult {
        let port = UInt16(base.port ?? 80)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HTTPTestError.connectFailed(errno) }
        defer { close(fd) }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { throw HTTPTestError.connectFailed(errno) }
        let payload = Array((body ?? "").utf8)
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        if body != nil || method == "POST" || method == "PUT" {
            head += "Content-Type: application/json\r\nContent-Length: \(payload.count)\r\n"
        }
        head += "\r\n"
        let out = Array(head.utf8) + payload
        var sent = 0
        while sent < out.count {
            let n = out[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { break }
            sent += n
        }
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

    static func parse(_ data: [UInt8]) throws -> HTTPResult {
        let sep: [UInt8] = [13, 10, 13, 10]
        guard let end = data.indices.first(where: { i in i + 4 <= data.count && Array(data[i..<(i + 4)]) == sep }) else {
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

/// Conveniences for talking to a running simulator.
struct SimClient {
    let base: URL
    var prefix = "/api/v1/"
    var auth: [String: String] = [:]

    func call(_ method: String, _ endpoint: String, _ body: String? = nil) async throws -> HTTPResult {
        try await HTTPTestClient.request(base, method, prefix + endpoint, body: body, headers: auth)
    }

    func get(_ endpoint: String) async throws -> HTTPResult { try await call("GET", endpoint) }

    /// GET that must answer 200 with JSON.
    func getJSON(_ endpoint: String, file: StaticString = #filePath, line: UInt = #line) async throws -> JSON {
        let r = try await get(endpoint)
        XCTAssertEqual(r.status, 200, r.text, file: file, line: line)
        guard let j = r.json else { throw HTTPTestError.malformedResponse("not JSON: \(r.text.prefix(200))") }
        return j
    }

    func send(_ method: String, _ endpoint: String, json: JSON) async throws -> HTTPResult {
        try await call(method, endpoint, json.encoded())
    }

    func raw(_ method: String, _ path: String, _ body: String? = nil) async throws -> HTTPResult {
        try await HTTPTestClient.request(base, method, path, body: body, headers: auth)
    }

    static func basic(_ user: String, _ password: String) -> [String: String] {
        ["Authorization": "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()]
    }
}

let adminUser = "admin"
let adminPassword = "Sim-Admin-Passw0rd!"

/// Starts a simulator, runs `body`, stops it.
func withSimulator(_ options: SimulatorOptions = SimulatorOptions(), initialize: Bool = false,
                   _ body: (ConsoleSimulator, SimClient) async throws -> Void) async throws {
    let sim = ConsoleSimulator(options: options)
    let url = try await sim.start()
    do {
        var client = SimClient(base: url)
        if initialize {
            let r = try await client.send("POST", "signup", json: ["username": .string(adminUser), "password": .string(adminPassword)])
            XCTAssertEqual(r.status, 200, r.text)
            client.auth = SimClient.basic(adminUser, adminPassword)
        }
        try await body(sim, client)
    } catch {
        await sim.stop()
        throw error
    }
    await sim.stop()
}
