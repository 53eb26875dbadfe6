import JSONModel

/// Host names and addresses given in the values (`defender.consoleAddress`): a DNS name or an IP
/// address, without a scheme, port or path — the console takes it as it is and the Defenders
/// connect to it, so a URL there would only fail on the nodes.
extension ValuesValidator {
    /// Why `address` is not a host the Defenders can connect to: the host-name rule of
    /// `TextFormat` (the one for every host in the values), with upper case and IP addresses
    /// (v4 and v6) allowed, since this is an address they resolve, not a certificate's name.
    static func consoleAddressProblem(_ address: String) -> String? {
        TextFormat.hostProblem(address, ipv4: true, quote: quoteRefused(address), allowUpper: true, ipv6: true)
    }

    /// `defender.consoleAddress`: empty (the job builds the Service's cluster-wide name) or a host.
    mutating func checkDefenderConsoleAddress(_ root: JSON) {
        guard let address = Self.string(root, "defender.consoleAddress"), !address.isEmpty else { return }
        if let why = Self.consoleAddressProblem(address) {
            problem("defender.consoleAddress", why)
        }
    }
}
