import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Raw TCP sockets on 127.0.0.1 for the tests that must see exactly what goes over the wire
/// (the simulator's answers, a client's connection errors): one place for the socket calls the
/// HTTP test client, the loopback HTTP server and the port helpers share.
public enum Loopback {
    /// 127.0.0.1:`port`.
    static func address(port: Int) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        return addr
    }

    /// A TCP socket connected to 127.0.0.1:`port` (the caller closes it), with `timeout` as
    /// its send and receive timeout (set before connecting). Throws
    /// `HTTPTestError.connectFailed(errno)` when the connection is not made.
    public static func connect(port: Int, timeout: TimeInterval? = nil) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HTTPTestError.connectFailed(errno) }
        if let timeout { setTimeout(fd, seconds: timeout) }
        var addr = address(port: port)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let code = errno
            close(fd)
            throw HTTPTestError.connectFailed(code)
        }
        return fd
    }

    /// Connects to 127.0.0.1:`port` and closes again: 0 when accepted, else the errno.
    public static func connectErrno(port: Int) -> Int32 {
        do {
            close(try connect(port: port))
            return 0
        } catch HTTPTestError.connectFailed(let code) {
            return code
        } catch {
            return -1
        }
    }

    /// A socket bound to 127.0.0.1 on a port the kernel picks, listening with `backlog` (not
    /// listening when nil), and that port. The caller closes it.
    public static func bind(listen backlog: Int32?) throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HTTPTestError.socket("socket: errno \(errno)") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var addr = address(port: 0)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard bound, backlog.map({ Glibc.listen(fd, $0) == 0 }) ?? true else {
            let code = errno
            close(fd)
            throw HTTPTestError.socket("bind/listen on 127.0.0.1: errno \(code)")
        }
        return (fd, Int(UInt16(bigEndian: addr.sin_port)))
    }

    /// A port on 127.0.0.1 that nothing listens on (bound, then closed).
    public static func closedPort() throws -> Int {
        let (fd, port) = try bind(listen: nil)
        close(fd)
        return port
    }

    /// Sends all of `bytes` (stops early when the peer is gone).
    public static func sendAll(_ fd: Int32, _ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { break }
            sent += n
        }
    }

    /// Sets the receive (and send) timeout of `fd`.
    public static func setTimeout(_ fd: Int32, seconds: TimeInterval, send: Bool = true) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        if send { setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size)) }
    }

    /// Where `needle` starts in `hay`.
    public static func find(_ needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard hay.count >= needle.count else { return nil }
        for i in 0...(hay.count - needle.count) where hay[i] == needle[0] && Array(hay[i..<(i + needle.count)]) == needle {
            return i
        }
        return nil
    }

    /// A TCP port on 127.0.0.1 that accepts connections (the kernel completes them) and never
    /// answers.
    public final class SilentListener {
        public let fd: Int32
        public let port: Int
        public init() throws { (fd, port) = try Loopback.bind(listen: 64) }
        public var url: String { "http://127.0.0.1:\(port)" }
        deinit { close(fd) }
    }
}
