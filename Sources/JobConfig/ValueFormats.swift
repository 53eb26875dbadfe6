import Foundation
import JSONModel

/// The shape a string value must have beyond being a string: URLs, host names, and the names
/// the console shows and compares (users, groups, roles). Each rule is checked here, before
/// anything is sent, with an error naming the values key; the steps trust the values.
/// Where JSON Schema can say it, `jsonSchema` gives the chart's values.schema.json the same rule
/// (as far as a regular expression can: the full rule is the Swift one). docs/values.md,
/// "Formats", says what each accepts and why.
public enum TextFormat: Sendable, Equatable {
    /// An absolute `http`/`https` URL with a host: no user name or password, no fragment, no
    /// white space, only the characters RFC 3986 allows (others percent-encoded).
    case httpURL
    /// A DNS host name (RFC 1123): lower-case letters, digits, `-` and `.`, labels of 1–63
    /// characters not starting or ending with `-`, at most 253 characters; no trailing dot,
    /// wildcard, `_`, scheme, port or path. `ipv4`: a dotted IPv4 address is accepted too.
    case hostName(ipv4: Bool)
    /// A name the console shows and compares (a user's, a group's): no control or invisible
    /// characters, no white space at either end; `innerSpaces`: plain spaces inside are allowed
    /// (group names: "Domain Admins"), else no white space at all (user names).
    case name(innerSpaces: Bool)

    var isName: Bool {
        if case .name = self { return true }
        return false
    }

    /// "an http(s) URL", … for messages.
    var expectation: String {
        switch self {
        case .httpURL: return "a string (an http(s) URL)"
        case .hostName(let ipv4): return ipv4 ? "a string (a host name or IPv4 address)" : "a string (a host name)"
        case .name(let innerSpaces): return innerSpaces ? "a string (a group name)" : "a string (a user name)"
        }
    }

    /// The longest host name (RFC 1123, in its dotted text form).
    static let maxHostBytes = 253

    /// Why `s` does not have this shape, or `nil` when it does. `quote`: how the value may be
    /// quoted in the message (`nil`: never, a secret).
    func problem(_ s: String, quote: String?) -> String? {
        switch self {
        case .httpURL: return TextFormat.urlProblem(s, quote: quote)
        case .hostName(let ipv4): return TextFormat.hostProblem(s, ipv4: ipv4, quote: quote)
        case .name(let innerSpaces): return TextFormat.nameProblem(s, innerSpaces: innerSpaces, quote: quote)
        }
    }

    // MARK: names

    /// Characters no name may hold: controls (C0, DEL, C1), line and paragraph separators, and
    /// the invisible format characters (zero-width spaces and joiners, bidi controls, BOM,
    /// soft hyphen) that make two different names look the same.
    static func isHidden(_ u: Unicode.Scalar) -> Bool {
        switch u.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned:
            return true
        default:
            return false
        }
    }

    static func describeScalar(_ u: Unicode.Scalar) -> String {
        String(format: "U+%04X", u.value)
    }

    static func nameProblem(_ s: String, innerSpaces: Bool, quote: String?) -> String? {
        let shown = quote.map { $0 + " " } ?? ""
        if let hidden = s.unicodeScalars.first(where: isHidden) {
            return "\(shown)holds a control or invisible character (\(describeScalar(hidden))); names may not"
        }
        let scalars = Array(s.unicodeScalars)
        if let first = scalars.first, let last = scalars.last,
           first.properties.isWhitespace || last.properties.isWhitespace {
            return "\(shown)starts or ends with white space; names may not"
        }
        if let space = scalars.first(where: { $0.properties.isWhitespace && !(innerSpaces && $0 == " ") }) {
            return innerSpaces
                ? "\(shown)holds white space other than plain spaces (\(describeScalar(space)))"
                : "\(shown)holds white space (\(describeScalar(space))); user names may not"
        }
        return nil
    }

    // MARK: host names

    static func isLower(_ b: UInt8) -> Bool { b >= 0x61 && b <= 0x7A }
    static func isUpper(_ b: UInt8) -> Bool { b >= 0x41 && b <= 0x5A }
    static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    /// A dotted IPv4 address in its usual form: four decimal numbers 0–255 without leading zeros.
    static func isIPv4(_ s: String) -> Bool {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        return parts.allSatisfy { p in
            guard !p.isEmpty, p.count <= 3, p.utf8.allSatisfy(isDigit), !(p.count > 1 && p.first == "0"),
                  let n = Int(p) else { return false }
            return n <= 255
        }
    }

    /// An IPv6 address as written in a certificate's SANs: hex digits and at least two colons.
    static func isIPv6(_ s: String) -> Bool {
        let colons = s.filter { $0 == ":" }.count
        return colons >= 2 && s.utf8.count <= 45
            && s.unicodeScalars.allSatisfy { $0 == ":" || $0 == "." || ($0.isASCII && $0.properties.isASCIIHexDigit) }
    }

    /// `allowUpper`: letters of either case (a URL's host, which browsers lower-case; an address
    /// the Defenders resolve). `ipv6`: an IPv6 address is taken too (`defender.consoleAddress`).
    static func hostProblem(_ s: String, ipv4: Bool, quote: String?, allowUpper: Bool = false, ipv6: Bool = false) -> String? {
        let shown = quote ?? "the value"
        let bytes = Array(s.utf8)
        if ipv6 && isIPv6(s) { return nil }
        if s.contains("://") || s.contains("/") || s.contains("?") || s.contains("#") {
            return "\(shown) is not a host name: give the name alone (no scheme, path or query)"
        }
        if s.contains(":") {
            if s.filter({ $0 == ":" }).count > 1 || s.hasPrefix("[") {
                return "\(shown) is an IPv6 address or not a host name; a DNS name\(ipv4 ? " or an IPv4 address" : "") is expected"
            }
            return "\(shown) is not a host name: give the name alone (no port)"
        }
        if s.contains("@") { return "\(shown) is not a host name (no user name)" }
        if s.hasPrefix("*") || s.contains("*") {
            return "\(shown) is a wildcard; a single host name is expected"
        }
        if bytes.contains(where: { $0 >= 0x80 }) {
            return "\(shown) holds non-ASCII characters; write an internationalised name in its xn-- (punycode) form"
        }
        if s.hasSuffix(".") && s.count > 1 {
            return "\(shown) ends with a dot; write the name without it (\(JSON.quote(String(s.dropLast()))))"
        }
        if bytes.count > maxHostBytes {
            return "\(shown) is too long for a host name (\(bytes.count) characters; at most \(maxHostBytes))"
        }
        if !allowUpper, bytes.contains(where: isUpper) {
            return "\(shown) has upper-case letters; host names are written in lower case here (\(JSON.quote(s.lowercased())))"
        }
        let labels = s.split(separator: ".", omittingEmptySubsequences: false)
        for label in labels {
            let l = Array(label.utf8)
            if l.isEmpty { return "\(shown) is not a host name (an empty label: two dots, or a leading dot)" }
            if l.count > 63 {
                return "\(shown) is not a host name (the label \"\(String(label.prefix(20)))…\" has \(l.count) characters; at most 63)"
            }
            if let bad = l.first(where: { !(isLower($0) || isDigit($0) || $0 == 0x2D || (allowUpper && isUpper($0))) }) {
                let c = Character(Unicode.Scalar(bad))
                let hint = c == "_" ? " (\"_\" is not allowed in host names)" : ""
                return "\(shown) is not a host name: \(JSON.quote(String(c))) is not a letter, digit, \"-\" or \".\"\(hint)"
            }
            if l.first == 0x2D || l.last == 0x2D {
                return "\(shown) is not a host name (a label starts or ends with \"-\")"
            }
        }
        // A last label of digits only: an address, not a name (RFC 1123, 2.1).
        if let last = labels.last, last.utf8.allSatisfy(isDigit) {
            if isIPv4(s) {
                return ipv4 ? nil : "\(shown) is an IP address; a DNS name is expected"
            }
            return "\(shown) is neither a host name nor an IPv4 address (its last label is all digits)"
        }
        return nil
    }

    // MARK: URLs

    /// RFC 3986 characters allowed in a path and query as they are (`%` only before two hex digits).
    static func isURLChar(_ b: UInt8) -> Bool {
        if isLower(b) || isUpper(b) || isDigit(b) { return true }
        return "-._~!$&'()*+,;=:@/?%".utf8.contains(b)
    }

    static func isHex(_ b: UInt8) -> Bool { isDigit(b) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66) }

    static func urlProblem(_ s: String, quote: String?) -> String? {
        // A URL with user info may carry a password: it is never quoted.
        let hasUserInfo: Bool = {
            guard let r = s.range(of: "://") else { return false }
            let authority = s[r.upperBound...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }
            return authority.contains("@")
        }()
        let shown = hasUserInfo ? "the URL" : (quote ?? "the URL")
        if hasUserInfo {
            return "\(shown) carries a user name or password (user@host); give the URL without them"
        }
        if let space = s.unicodeScalars.first(where: { $0.properties.isWhitespace || isHidden($0) }) {
            return "\(shown) holds white space or a control character (\(describeScalar(space))); percent-encode it (%20)"
        }
        guard let sep = s.range(of: "://") else {
            return "\(shown) is not an http(s) URL (expected https://host/…)"
        }
        let scheme = s[..<sep.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else {
            return "\(shown) is not an http(s) URL (scheme \(JSON.quote(String(s[..<sep.lowerBound])))); expected https://host/…"
        }
        let rest = s[sep.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let tail = rest.dropFirst(authority.count)
        if authority.isEmpty { return "\(shown) has no host" }
        var host = Substring(authority)
        var port: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return "\(shown) has an unclosed [ in its host" }
            let literal = authority[authority.index(after: authority.startIndex)..<close]
            guard !literal.isEmpty, literal.contains(":"),
                  literal.utf8.allSatisfy({ isHex($0) || $0 == 0x3A || $0 == 0x2E }) else {
                return "\(shown) has a host in brackets that is not an IPv6 address"
            }
            host = ""
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return "\(shown) has characters after its IPv6 address" }
                port = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            port = authority[authority.index(after: colon)...]
        }
        if let port {
            guard !port.isEmpty, port.count <= 5, port.utf8.allSatisfy(isDigit), let n = Int(port), n >= 1, n <= 65535 else {
                return "\(shown) has a bad port (1–65535)"
            }
        }
        if !host.isEmpty || !authority.hasPrefix("[") {
            if host.isEmpty { return "\(shown) has no host" }
            if let why = hostProblem(String(host), ipv4: true, quote: "its host \(JSON.quote(String(host)))", allowUpper: true) {
                return "\(shown): \(why)"
            }
        }
        if tail.contains("#") {
            return "\(shown) has a fragment (#…), which is never sent to a server; leave it out"
        }
        let tailBytes = Array(tail.utf8)
        var i = 0
        while i < tailBytes.count {
            let b = tailBytes[i]
            guard isURLChar(b) else {
                let c = b < 0x80 ? JSON.quote(String(Character(Unicode.Scalar(b)))) : "a non-ASCII character"
                return "\(shown) holds \(c), which a URL must percent-encode"
            }
            if b == 0x25 {
                guard i + 2 < tailBytes.count, isHex(tailBytes[i + 1]), isHex(tailBytes[i + 2]) else {
                    return "\(shown) has a \"%\" not followed by two hex digits"
                }
            }
            i += 1
        }
        return nil
    }

    // MARK: JSON Schema

    /// The JSON Schema keywords that say (most of) this rule in values.schema.json. The empty
    /// string stays allowed (the keys are optional; "required when …" is the job's rule).
    var jsonSchema: [String: JSON] {
        let label = "[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
        switch self {
        case .hostName:
            return ["pattern": .string("^(\(label)(\\.\(label))*)?$"), "maxLength": .int(Int64(TextFormat.maxHostBytes))]
        case .httpURL:
            let mixed = "[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?"
            return ["pattern": .string("^([hH][tT][tT][pP][sS]?://(\(mixed)(\\.\(mixed))*|\\[[0-9A-Fa-f:.]+\\])(:[0-9]{1,5})?"
                + "([/?]([-A-Za-z0-9._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*)?)?$")]
        case .name(let innerSpaces):
            // No control characters, no white space at either end (and none inside for users).
            let edge = "[^\\s\\x00-\\x1f\\x7f-\\x9f]"
            let inner = innerSpaces ? "[^\\t\\n\\v\\f\\r\\x00-\\x1f\\x7f-\\x9f]" : edge
            return ["pattern": .string("^(\(edge)(\(inner)*\(edge))?)?$")]
        }
    }
}

/// The host name the dns-san step adds to the console certificate's SANs, and the key it comes
/// from: `console.externalHost`, else the first of `routes.inbound.console.hosts` with its
/// `{{ .Values.domain }}` replaced by `domain` (the console chart renders it; a values file given
/// to the binary still has it), else `twistlock.<domain>`. Steps get it as `job.console_host`.
public struct ConsoleHost: Sendable, Equatable {
    public let name: String
    public let key: String
    /// Whether `{{ .Values.domain }}` was replaced (for messages).
    public let substituted: Bool

    /// `text` with every `{{ .Values.domain }}` (also `{{- … -}}`, any spacing) replaced by `domain`.
    static func fillDomain(_ text: String, _ domain: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let open = rest.range(of: "{{") {
            out += rest[..<open.lowerBound]
            var i = rest[open.upperBound...]
            if i.hasPrefix("-") { i = i.dropFirst() }
            i = i.drop { $0 == " " || $0 == "\t" }
            if i.hasPrefix(".Values.domain") {
                var j = i.dropFirst(".Values.domain".count).drop { $0 == " " || $0 == "\t" }
                if j.hasPrefix("-") { j = j.dropFirst() }
                if j.hasPrefix("}}") {
                    out += domain
                    rest = j.dropFirst(2)
                    continue
                }
            }
            out += "{{"
            rest = rest[open.upperBound...]
        }
        return out + rest
    }

    /// `nil` when none of the three keys gives a name.
    public static func resolve(_ root: JSON) -> ConsoleHost? {
        let domain = root["domain"]?.stringValue ?? ""
        if let external = root["console"]?["externalHost"]?.stringValue, !external.isEmpty {
            return ConsoleHost(name: external, key: "console.externalHost", substituted: false)
        }
        if case .string(let first)? = root["routes"]?["inbound"]?["console"]?["hosts"]?.arrayValue?.first, !first.isEmpty {
            let replaced = fillDomain(first, domain)
            return ConsoleHost(name: replaced, key: "routes.inbound.console.hosts[0]", substituted: replaced != first)
        }
        if !domain.isEmpty {
            return ConsoleHost(name: "twistlock." + domain, key: "domain", substituted: false)
        }
        return nil
    }
}

extension Values {
    /// The console's built-in roles (the one list; steps get it as `job.builtin_roles`).
    public static var builtinRoles: [String] { ValuesSchema.roles }

    /// The console's external host name for its certificate (see `ConsoleHost`).
    public var consoleHost: ConsoleHost? { ConsoleHost.resolve(root) }
}
