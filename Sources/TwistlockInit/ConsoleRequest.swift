import Foundation

/// What a request to the console is, decided from the request itself, parsed — never from its
/// raw text. The path is normalised once (query and fragment cut off, each segment
/// percent-decoded, empty segments from doubled slashes dropped, `.` and `..` resolved and
/// refused when they climb out of the API root); what is sent is the normalised path, so what
/// the host decided on is what the console receives. Endpoints are compared case-folded.
///
/// A request is one of three kinds:
/// - `.read`: GET or HEAD;
/// - `.readOnlyPost`: a POST the step marked `read = true`, allowed only for the endpoints
///   known to change nothing (`authenticate`, `defenders/daemonset.yaml`);
/// - `.write`: everything else — held back in plan mode, recorded in the ledger in run mode.
public struct ConsoleRequest: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case read
        case readOnlyPost = "read-only POST"
        case write
    }

    /// Upper-cased: GET, HEAD, POST, PUT, PATCH or DELETE.
    public let method: String
    /// `/api/v1` (or `/api/<version>` for an absolute API path); empty for an absolute path
    /// outside the API (the simulator's `/sim/...`), which is never a known read.
    public let root: String
    /// The path's segments after normalisation, percent-decoded.
    public let segments: [String]
    /// The query as given (without `?` and without a fragment), nil when there is none.
    public let query: String?
    public let kind: Kind
    /// May be sent again after a failure whose outcome is unknown (5xx, a lost connection).
    public let idempotent: Bool

    /// The POST endpoints that only read (relative to the API root, case-folded).
    public static let knownReadOnlyPosts: Set<String> = ["authenticate", "defenders/daemonset.yaml"]
    public static let methods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
    public static let defaultRoot = "/api/v1"

    /// The endpoint as compared: the segments joined by `/`, lower-cased (`users/alice`).
    public var endpoint: String { segments.joined(separator: "/").lowercased() }

    /// The path as sent: the root, each segment percent-encoded (RFC 3986 unreserved
    /// characters kept), then the query.
    public var wirePath: String {
        var p = root + "/" + segments.map(ConsoleRequest.encode).joined(separator: "/")
        if let query, !query.isEmpty { p += "?" + query }
        return p
    }

    /// The path without its query: what errors, the plan and the report name.
    public var displayPath: String {
        root + "/" + segments.map(ConsoleRequest.encode).joined(separator: "/")
    }

    public var isWrite: Bool { kind == .write }

    /// How the transport may send it again: a request that may be repeated after any failure,
    /// or one sent again only when the console cannot have processed it.
    public var repeatability: Repeatability { idempotent ? .always : .unprocessedOnly }

    /// Parses a request. What it is comes from whoever makes it — the step's options or the
    /// primitive — never from a list of paths: `read`: this POST only reads (refused unless the
    /// endpoint is a known read-only POST: plan mode sends it, so the host bounds the claim).
    /// `idempotent`: the request may be repeated after a failure whose outcome is unknown (nil:
    /// what the method says — reads, read-only POSTs, PUT and DELETE are; POST and PATCH are
    /// not unless the step states it, as the steps do for the `settings/*` POSTs that set a
    /// whole object).
    public init(method rawMethod: String, path: String, read: Bool = false, idempotent: Bool? = nil) throws {
        let method = rawMethod.uppercased()
        guard ConsoleRequest.methods.contains(method) else {
            throw ConsoleRequestError("method \(ConsoleRequest.quote(rawMethod)) is not one of GET, HEAD, POST, PUT, PATCH, DELETE")
        }
        self.method = method
        (root, segments, query) = try ConsoleRequest.normalise(path)
        let endpoint = segments.joined(separator: "/").lowercased()
        if read {
            guard method == "POST" else {
                throw ConsoleRequestError("read = true is for a POST that only reads, not for \(method) \(ConsoleRequest.quote(path))")
            }
            guard !root.isEmpty, ConsoleRequest.knownReadOnlyPosts.contains(endpoint) else {
                throw ConsoleRequestError("read = true is allowed only for the endpoints known to be reads (\(ConsoleRequest.knownReadOnlyPosts.sorted().joined(separator: ", "))), not POST \(ConsoleRequest.quote(path))")
            }
            kind = .readOnlyPost
        } else if method == "GET" || method == "HEAD" {
            kind = .read
        } else {
            kind = .write
        }
        switch kind {
        case .read, .readOnlyPost:
            self.idempotent = idempotent ?? true
        case .write:
            // HTTP's own rule (RFC 9110 §9.2.2): PUT and DELETE are idempotent, POST and PATCH
            // are not — unless the request's maker states otherwise.
            self.idempotent = idempotent ?? (method == "PUT" || method == "DELETE")
        }
    }

    /// Splits and normalises `path` (relative to `/api/v1`, or absolute).
    static func normalise(_ path: String) throws -> (root: String, segments: [String], query: String?) {
        guard !path.isEmpty else { throw ConsoleRequestError("the path is empty") }
        var rest = Substring(path)
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        var query: String?
        if let mark = rest.firstIndex(of: "?") {
            query = String(rest[rest.index(after: mark)...])
            rest = rest[..<mark]
        }
        if let q = query, q.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value == 0x7F }) {
            throw ConsoleRequestError("the query of \(quote(path)) holds a space or a control character")
        }
        let absolute = rest.hasPrefix("/")
        var raw: [String] = []
        for piece in rest.split(separator: "/", omittingEmptySubsequences: true) {
            raw.append(try decode(piece, in: path))
        }
        var root = defaultRoot
        if absolute {
            // `/api/<version>/...` keeps its version; any other absolute path has no API root.
            if raw.count >= 2, raw[0].lowercased() == "api", isVersion(raw[1]) {
                root = "/" + raw[0] + "/" + raw[1]
                raw.removeFirst(2)
            } else {
                root = ""
            }
        }
        var segments: [String] = []
        for s in raw {
            switch s {
            case ".": continue
            case "..":
                guard !segments.isEmpty else {
                    throw ConsoleRequestError("\(quote(path)) climbs out of \(root.isEmpty ? "/" : root)")
                }
                segments.removeLast()
            default: segments.append(s)
            }
        }
        if root.isEmpty && segments.isEmpty { throw ConsoleRequestError("\(quote(path)) names no endpoint") }
        return (root, segments, query)
    }

    static func isVersion(_ s: String) -> Bool {
        let l = s.lowercased()
        guard l.hasPrefix("v"), l.count > 1 else { return false }
        return l.dropFirst().allSatisfy { $0.isASCII && ($0.isNumber || $0 == ".") } && l.dropFirst().first?.isNumber == true
    }

    /// Percent-decodes one segment; a bad escape, bytes that are not UTF-8, or a control
    /// character are refused. (A decoded `/` stays inside its segment and is escaped again
    /// when sent: `users%2F..%2Fauthenticate` is one odd segment, never `authenticate`.)
    static func decode(_ piece: Substring, in path: String) throws -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(piece.utf8)[...]
        while let b = utf8.first {
            utf8 = utf8.dropFirst()
            if b == UInt8(ascii: "%") {
                guard utf8.count >= 2, let hi = hex(utf8[utf8.startIndex]), let lo = hex(utf8[utf8.startIndex + 1]) else {
                    throw ConsoleRequestError("\(quote(path)) has a bad percent-escape")
                }
                bytes.append(hi << 4 | lo)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(b)
            }
        }
        guard let s = String(validating: bytes, as: UTF8.self) else {
            throw ConsoleRequestError("\(quote(path)) decodes to bytes that are not UTF-8")
        }
        if s.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw ConsoleRequestError("\(quote(path)) holds a control character")
        }
        return s
    }

    static func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// Percent-encodes a segment: RFC 3986 unreserved characters are kept (as the steps'
    /// `identity.path_segment` does), everything else (`/` included) is escaped.
    static func encode(_ segment: String) -> String {
        var out = ""
        for b in segment.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(Character(UnicodeScalar(b)))
            default:
                out += String(format: "%%%02X", b)
            }
        }
        return out
    }

    static func quote(_ s: String) -> String {
        let shown = s.count > 200 ? String(s.prefix(200)) + "…" : s
        var out = "\""
        for u in shown.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default:
                if u.value < 0x20 || u.value == 0x7F { out += String(format: "\\u%04X", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}

/// A request the host refuses to send as given (a bad method or path, `read = true` where it
/// does not belong).
public struct ConsoleRequestError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
