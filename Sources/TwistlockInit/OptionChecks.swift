import Foundation
import NIOSSL
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The accepted ranges of the numeric flags (issue 13, point 5), shared by the command line
/// (which reads the flags as text and names the flag, the range and what was given) and
/// `JobRunner` (which refuses out-of-range `JobOptions` from any caller with exit 2, before
/// any request).
public enum FlagRange {
    public struct Real: Sendable {
        public let flag: String
        public let min: Double
        public let max: Double
        public let unit: String

        /// The value of `text`, or an error line naming the flag and the range.
        public func parse(_ text: String) throws -> Double {
            guard let v = Double(text), problem(v) == nil else {
                throw OptionError(message: "\(flag): expected \(expectation), got \(OptionError.quote(text))")
            }
            return v
        }

        public func problem(_ v: Double) -> String? {
            v.isFinite && v >= min && v <= max ? nil : "\(flag): expected \(expectation), got \(v)"
        }

        public var expectation: String { "\(unit), a number from \(FlagRange.format(min)) to \(FlagRange.format(max))" }
    }

    public struct Whole: Sendable {
        public let flag: String
        public let min: Int
        public let max: Int
        public let unit: String

        public func parse(_ text: String) throws -> Int {
            guard let v = Int(text), v >= min, v <= max else {
                throw OptionError(message: "\(flag): expected \(expectation), got \(OptionError.quote(text))")
            }
            return v
        }

        public func problem(_ v: Int) -> String? {
            v >= min && v <= max ? nil : "\(flag): expected \(expectation), got \(v)"
        }

        public var expectation: String { "\(unit), a whole number from \(min) to \(max)" }
    }

    public static let requestTimeout = Real(flag: "--request-timeout", min: 0.1, max: 3600, unit: "seconds")
    public static let deadline = Real(flag: "--deadline", min: 0.1, max: 86_400, unit: "seconds")
    public static let stepTimeout = Real(flag: "--step-timeout", min: 0.1, max: 86_400, unit: "seconds")
    public static let retries = Whole(flag: "--retries", min: 0, max: 20, unit: "retries")
    public static let instructionLimit = Whole(flag: "--step-instruction-limit", min: 1000, max: 1_000_000_000_000, unit: "instructions")
    public static let luaMemoryMiB = Whole(flag: "--lua-memory-limit", min: 8, max: 65_536, unit: "MiB")

    static func format(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
    }
}

public struct OptionError: Error, CustomStringConvertible {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { message }

    /// A flag's text in a message: quoted, control characters escaped, at most 80 characters.
    static func quote(_ text: String) -> String {
        let shown = text.count > 80 ? String(text.prefix(80)) + "…" : text
        return "\"" + TextSafety.escape(shown) + "\""
    }
}

/// `--console-url` (issue 13, point 5): an http or https URL with a host, an optional port and
/// an optional path prefix (a console behind a proxy at `/prisma`); no query, no fragment, no
/// user info (the console API logs in with `console.credentials.*`, so a `user:password@` in
/// the URL is refused — and masked in the refusal). Checked at once: a bad URL used to wait
/// out the whole `wait` step (600 s) before failing.
public enum ConsoleURL {
    /// Why `text` is not a usable console URL, or nil. `source` names where it came from.
    public static func problem(_ text: String, source: String = "--console-url") -> String? {
        let shown = OptionError.quote(masked(text))
        if text.isEmpty { return "\(source): an empty URL" }
        if text.unicodeScalars.contains(where: { $0.properties.isWhitespace || TextSafety.needsEscape($0) || $0 == "\t" }) {
            return "\(source) \(shown): contains spaces or control characters"
        }
        guard let schemeEnd = text.range(of: "://") else {
            return "\(source) \(shown): no scheme; expected http://host[:port] or https://host[:port]"
        }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else {
            return "\(source) \(shown): the scheme must be http or https, not \(OptionError.quote(String(scheme)))"
        }
        guard let parts = URLComponents(string: text) else {
            return "\(source) \(shown): not a valid URL"
        }
        if parts.user != nil || parts.password != nil || text[schemeEnd.upperBound...].split(separator: "/").first?.contains("@") == true {
            return "\(source) \(shown): user info (user:password@) is refused; the console API logs in with "
                + "console.credentials.username and .password (values or the secrets directory)"
        }
        guard let host = parts.host, !host.isEmpty else {
            return "\(source) \(shown): no host"
        }
        if let port = parts.port, !(1...65535).contains(port) {
            return "\(source) \(shown): the port must be from 1 to 65535"
        }
        if parts.query != nil || parts.fragment != nil {
            return "\(source) \(shown): a query (?) or fragment (#) makes no sense here; give scheme://host[:port][/path-prefix]"
        }
        let path = parts.percentEncodedPath
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        let plain = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
        for (i, segment) in segments.enumerated() {
            let isLastEmpty = segment.isEmpty && i == segments.count - 1
            if isLastEmpty { continue }
            if segment.isEmpty || segment == "." || segment == ".." || !segment.unicodeScalars.allSatisfy({ plain.contains($0) }) {
                return "\(source) \(shown): the path must be a plain prefix (like /prisma): no empty, \".\" or \"..\" "
                    + "segments, no percent-encoding"
            }
        }
        return nil
    }

    /// `text` with any user info replaced by the mask (for messages).
    public static func masked(_ text: String) -> String {
        guard let schemeEnd = text.range(of: "://") else { return text }
        let rest = text[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return text }
        return String(text[..<schemeEnd.upperBound]) + Redactor.mask + String(rest[at...])
    }

    /// The user info's parts of `text` (to mask them wherever they might still show).
    public static func userInfoSecrets(_ text: String) -> [String] {
        guard let schemeEnd = text.range(of: "://") else { return [] }
        let rest = text[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return [] }
        let info = String(rest[..<at])
        var out = [info]
        if let colon = info.firstIndex(of: ":") { out.append(String(info[info.index(after: colon)...])) }
        return out.filter { !$0.isEmpty }
    }
}

/// `--ca-file` (issue 13, point 5): a regular, readable file of at most 1 MiB holding at least
/// one PEM certificate. A FIFO or device is refused without being read (opened non-blocking,
/// checked with fstat), as is a file with no certificate in it: TLS would otherwise fail only
/// at the first request, as a connection error that is retried.
public enum CAFile {
    public static let maxBytes = 1 << 20

    public static func problem(_ path: String) -> String? {
        let shown = "--ca-file \(path)"
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            return "\(shown): cannot be read (\(String(cString: strerror(errno))))"
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return "\(shown): cannot be read (\(String(cString: strerror(errno))))" }
        switch st.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: return "\(shown): is a directory, not a PEM file"
        default: return "\(shown): is not a regular file (a FIFO, device or socket); refused"
        }
        if st.st_size > maxBytes { return "\(shown): is larger than 1 MiB; not a CA bundle" }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        var got = 0
        while got < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, $0.count - got) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return "\(shown): cannot be read (\(String(cString: strerror(errno))))" }
            if n == 0 { break }
            got += n
        }
        bytes.removeLast(bytes.count - got)
        guard String(decoding: bytes, as: UTF8.self).contains("-----BEGIN CERTIFICATE-----") else {
            return "\(shown): holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        }
        guard let certificates = try? NIOSSLCertificate.fromPEMBytes(bytes), !certificates.isEmpty else {
            return "\(shown): its PEM certificate cannot be parsed"
        }
        return nil
    }
}

extension JobOptions {
    /// Every problem with the options themselves (not the values): numeric ranges, the
    /// console URL, the CA file, the report path. Empty when they are usable.
    public var problems: [String] {
        var out: [String] = []
        if let p = FlagRange.requestTimeout.problem(requestTimeout) { out.append(p) }
        if let p = FlagRange.retries.problem(maxRetries) { out.append(p) }
        if let d = deadlineSeconds, let p = FlagRange.deadline.problem(d) { out.append(p) }
        if let t = stepTimeout, let p = FlagRange.stepTimeout.problem(t) { out.append(p) }
        if let p = FlagRange.instructionLimit.problem(instructionLimit) { out.append(p) }
        if memoryLimitBytes < FlagRange.luaMemoryMiB.min << 20 || memoryLimitBytes > FlagRange.luaMemoryMiB.max << 20 {
            out.append("\(FlagRange.luaMemoryMiB.flag): expected \(FlagRange.luaMemoryMiB.expectation), got \(memoryLimitBytes >> 20)")
        }
        if let p = ConsoleURL.problem(consoleURL) { out.append(p) }
        if let ca = caFile, let p = CAFile.problem(ca) { out.append(p) }
        if let list = kubeconfig {
            // Read only when the defenders step runs: a FIFO there would hang the run midway.
            for path in list.split(separator: ":").map(String.init) where !path.isEmpty {
                var st = stat()
                if stat((path as NSString).expandingTildeInPath, &st) == 0, st.st_mode & S_IFMT != S_IFREG {
                    out.append("--kubeconfig \(path): not a regular file (a FIFO, device, socket or directory); refused")
                }
            }
        }
        if let report = reportJSON, let p = ReportFile.problem(report) { out.append(p) }
        if let plan = planFile, let p = ReportFile.problem(plan, flag: "--out") { out.append(p) }
        return out
    }
}
