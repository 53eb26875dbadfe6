import JSONModel

/// Host names and addresses given in the values (`defender.consoleAddress`): a DNS name or an IP
/// address, without a scheme, port or path — the console takes it as it is and the Defenders
/// connect to it, so a URL there would only fail on the nodes.
enum HostRules {
    /// Why `host` is not a DNS name or IP address, or nil when it is one.
    static func problem(_ host: String) -> String? {
        if host.contains("://") {
            return "a host name or address without a scheme (not a URL)"
        }
        if host.contains("/") {
            return "a host name or address without a path"
        }
        if isIPv6(host) { return nil }
        if host.contains(":") {
            return "a host name or address without a port (the Defenders use the console's communication port)"
        }
        guard host.utf8.count <= 253 else { return "a DNS name is at most 253 characters" }
        for part in host.split(separator: ".", omittingEmptySubsequences: false) {
            let bytes = Array(part.utf8)
            guard let first = bytes.first, let last = bytes.last, bytes.count <= 63,
                  LabelRules.isAlphanumeric(first), LabelRules.isAlphanumeric(last),
                  bytes.allSatisfy({ LabelRules.isAlphanumeric($0) || $0 == UInt8(ascii: "-") }) else {
                return "not a DNS name or IP address (letters, digits and \"-\" in parts of at most 63 joined by \".\", "
                    + "each starting and ending with a letter or digit)"
            }
        }
        return nil
    }

    /// An IPv6 address as written in a certificate's SANs: hex digits and at least two colons.
    static func isIPv6(_ s: String) -> Bool {
        let colons = s.filter { $0 == ":" }.count
        return colons >= 2 && s.utf8.count <= 45
            && s.unicodeScalars.allSatisfy { $0 == ":" || $0 == "." || ($0.isASCII && $0.properties.isASCIIHexDigit) }
    }
}

extension ValuesValidator {
    /// `defender.consoleAddress`: empty (the job builds the Service's cluster-wide name) or a host.
    mutating func checkDefenderConsoleAddress(_ root: JSON) {
        guard let address = Self.string(root, "defender.consoleAddress"), !address.isEmpty else { return }
        if let why = HostRules.problem(address) {
            problem("defender.consoleAddress", "\(Self.quoteRefused(address)): \(why)")
        }
    }
}
