import Foundation
import JSONModel

/// Checks merged values against the schema and the rules between keys. Every problem is
/// collected (none stops the check); warnings are kept apart.
struct ValuesValidator {
    var problems: [ValuesProblem] = []
    var warnings: [ValuesProblem] = []
    /// Keys whose secret came from a file in the secrets directory (for messages).
    var fromSecretFiles: Set<String> = []

    mutating func problem(_ key: String, _ message: String) {
        problems.append(ValuesProblem(key: key, message: message))
    }

    mutating func warning(_ key: String, _ message: String) {
        warnings.append(ValuesProblem(key: key, message: message))
    }

    mutating func validate(_ root: JSON) {
        check(root, ValuesSchema.root, path: "", secret: false)
        checkRules(root)
    }

    // MARK: quoting

    /// The most characters of a refused value a message quotes.
    static let maxQuotedCharacters = 80

    /// A refused value as a message quotes it: whole when short, else its first
    /// `maxQuotedCharacters` characters and its length, `"aaaa…" (65536 characters)`. Never
    /// used for a secret (those are not quoted at all).
    static func quoteRefused(_ s: String) -> String {
        let scalars = s.unicodeScalars
        // Counted in scalars too: a single "character" can carry any number of combining marks.
        if scalars.count <= maxQuotedCharacters { return JSON.quote(s) }
        var head = String(s.prefix(maxQuotedCharacters))
        if head.unicodeScalars.count > maxQuotedCharacters {
            head = String(String.UnicodeScalarView(head.unicodeScalars.prefix(maxQuotedCharacters)))
        }
        return JSON.quote(head + "…") + " (\(s.count) characters)"
    }

    /// Whether a string is empty or only whitespace (a required string's "missing").
    static func isBlank(_ s: String) -> Bool {
        s.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
    }

    // MARK: kinds

    /// How a value is described in a message; secret and long strings are not quoted.
    static func describe(_ value: JSON, secret: Bool) -> String {
        if secret {
            switch value {
            case .null: return "null"
            case .bool: return "a bool"
            case .int: return "an integer"
            case .double: return "a number"
            case .string: return "a string"
            case .array: return "a list"
            case .object: return "a map"
            }
        }
        switch value {
        case .null: return "null"
        case .bool(let b): return "the bool \(b)"
        case .int(let i): return "the integer \(i)"
        case .double(let d): return "the number \(JSON.double(d).encoded())"
        case .string(let s):
            if secret { return "a string" }
            if s.unicodeScalars.count > 60 || s.contains("\n") { return "a string" }
            return "the string \(JSON.quote(s))"
        case .array(let a): return a.isEmpty ? "an empty list" : "a list"
        case .object: return "a map"
        }
    }

    mutating func check(_ value: JSON, _ type: SchemaType, path: String, secret: Bool) {
        switch type {
        case .bool:
            guard case .bool = value else { return mismatch(value, type, path, secret) }
        case .string(let maxBytes, let format):
            guard case .string(let s) = value else { return mismatch(value, type, path, secret) }
            checkLength(s, maxBytes, path)
            // A blank name is "required" where it is; a blank host or URL is not one.
            if let format, !s.isEmpty, s.utf8.count <= maxBytes, !(format.isName && Self.isBlank(s)),
               let why = format.problem(s, quote: secret ? nil : Self.quoteRefused(s)) {
                problem(path, why)
            }
            // A user name is an identifier, shown in output; every other secret is masked in
            // every line, which a very short one would make meaningless (issue 13).
            if secret, !path.hasSuffix(".username"), !Self.isBlank(s), s.count < ValuesSchema.minimumSecretLength {
                problem(path, "a secret of fewer than \(ValuesSchema.minimumSecretLength) characters is refused "
                    + "(it could not be masked in output without masking those letters everywhere)")
            }
        case .int(let min, let max):
            guard case .int(let i) = value else { return mismatch(value, type, path, secret) }
            if i < min || i > max {
                problem(path, "\(i) is out of range (expected \(type.expectation))")
            }
        case .oneOf(let allowed, let closed):
            guard case .string(let s) = value else { return mismatch(value, type, path, secret) }
            if !allowed.contains(s) {
                if closed {
                    problem(path, "\(Self.quoteRefused(s)) is not one of \(allowed.joined(separator: ", "))")
                } else if !Self.isBlank(s) {   // blank: "required" where it is (list items' roles)
                    checkLength(s, ValuesSchema.maxStringBytes, path)
                    if let why = TextFormat.nameProblem(s, innerSpaces: true, quote: Self.quoteRefused(s)) {
                        return problem(path, why)
                    }
                    // Role names are compared exactly: "Admin" would be sent as a custom role.
                    if let builtin = allowed.first(where: { $0.lowercased() == s.lowercased() }) {
                        return problem(path, "\(Self.quoteRefused(s)) differs from the built-in role \(JSON.quote(builtin)) only in case; "
                            + "role names are case-sensitive: write \(JSON.quote(builtin))")
                    }
                    warning(path, "\(Self.quoteRefused(s)) is not a built-in role (\(allowed.joined(separator: ", "))); "
                        + "the console must have a custom role of that name")
                }
            }
        case .list(let item):
            guard case .array(let items) = value else { return mismatch(value, type, path, secret) }
            for (index, element) in items.enumerated() {
                check(element, item, path: "\(path)[\(index)]", secret: secret)
            }
        case .map(let valueType):
            guard case .object(let object) = value else { return mismatch(value, type, path, secret) }
            for key in object.keys.sorted() {
                let childPath = ValuePath.join(path, key)
                checkKeyLength(key, path)
                if let valueType {
                    check(object[key]!, valueType, path: childPath, secret: secret)
                } else {
                    checkStrings(object[key]!, childPath)
                }
            }
        case .any:
            return
        case .labels:
            guard case .object(let object) = value else { return mismatch(value, type, path, secret) }
            checkLabels(object, path)
        case .union(let types):
            // The first kind the value has decides (a string or a map: nodeSelector).
            for candidate in types where Self.kindMatches(value, candidate) {
                return check(value, candidate, path: path, secret: secret)
            }
            mismatch(value, type, path, secret)
        case .record(let fields):
            guard case .object(let object) = value else { return mismatch(value, type, path, secret) }
            var known: [String: SchemaField] = [:]
            for field in fields { known[field.name] = field }
            for key in object.keys.sorted() {
                let childPath = ValuePath.join(path, key)
                let child = object[key]!
                // Unknown keys are reported per file by UnknownKeys, before the merge.
                guard let field = known[key] ?? known[SchemaField.otherKeys] else { continue }
                if case .null = child { continue }   // null: unset
                if field.reader == .job {
                    check(child, field.type, path: childPath, secret: field.secret)
                } else if case .record = field.type, case .object = child {
                    // A key the job does not read may hold keys it does (routes…hosts).
                    check(child, field.type, path: childPath, secret: field.secret)
                }
            }
        }
    }

    /// Whether a value has the JSON kind a type expects (not its contents).
    static func kindMatches(_ value: JSON, _ type: SchemaType) -> Bool {
        switch (type, value) {
        case (.bool, .bool), (.string, .string), (.oneOf, .string), (.int, .int), (.list, .array),
             (.record, .object), (.map, .object), (.labels, .object), (.any, _):
            return true
        case (.union(let types), _):
            return types.contains { kindMatches(value, $0) }
        default:
            return false
        }
    }

    mutating func mismatch(_ value: JSON, _ type: SchemaType, _ path: String, _ secret: Bool) {
        var message = "expected \(type.expectation), got \(Self.describe(value, secret: secret))"
        switch (type, value) {
        case (.string, .int), (.string, .double), (.string, .bool):
            message += " (quote it in YAML to make it a string)"
        default:
            break
        }
        problem(path, message)
    }

    mutating func checkLength(_ s: String, _ maxBytes: Int, _ path: String) {
        if s.utf8.count > maxBytes {
            problem(path, "the string is too long (\(s.utf8.count) bytes; at most \(maxBytes / 1024) KiB)")
        }
    }

    /// A map key over the string limit, named by its first characters (not all 64 KiB of it).
    mutating func checkKeyLength(_ key: String, _ mapPath: String) {
        let bytes = key.utf8.count
        guard bytes > ValuesSchema.maxStringBytes else { return }
        var head = String(key.prefix(Self.maxQuotedCharacters))
        if head.unicodeScalars.count > Self.maxQuotedCharacters {
            head = String(String.UnicodeScalarView(head.unicodeScalars.prefix(Self.maxQuotedCharacters)))
        }
        problem(ValuePath.join(mapPath, head + "…"),
                "the key is too long (\(bytes) bytes; at most \(ValuesSchema.maxStringBytes / 1024) KiB)")
    }

    /// A map of Kubernetes labels: each key and value as the API server would check them.
    mutating func checkLabels(_ labels: [String: JSON], _ path: String) {
        for key in labels.keys.sorted() {
            checkKeyLength(key, path)
            guard key.utf8.count <= ValuesSchema.maxStringBytes else { continue }
            let childPath = ValuePath.join(path, key)
            if let why = LabelRules.keyProblem(key) {
                problem(path, "\(Self.quoteRefused(key)) is not a Kubernetes label key: \(why)")
                continue
            }
            switch labels[key]! {
            case .string(let s):
                if let why = LabelRules.valueProblem(s) {
                    problem(childPath, "\(Self.quoteRefused(s)): \(why)")
                }
            case .null:
                problem(childPath, "expected a label value (a string), got null")
            case let other:
                mismatch(other, .string, childPath, false)
            }
        }
    }

    /// Free-form content (resources, tolerations): only string lengths are checked.
    mutating func checkStrings(_ value: JSON, _ path: String) {
        switch value {
        case .string(let s): checkLength(s, ValuesSchema.maxStringBytes, path)
        case .array(let items):
            for (i, item) in items.enumerated() { checkStrings(item, "\(path)[\(i)]") }
        case .object(let object):
            for key in object.keys.sorted() {
                let childPath = ValuePath.join(path, key)
                checkKeyLength(key, path)
                checkStrings(object[key]!, childPath)
            }
        default: break
        }
    }

    // MARK: rules between keys

    /// `true` when the value at `path` is the bool true.
    static func isOn(_ root: JSON, _ path: String) -> Bool {
        (try? ValuePath.parse(path)).flatMap { ValuePath.lookup($0, in: root) }?.boolValue == true
    }

    static func string(_ root: JSON, _ path: String) -> String? {
        (try? ValuePath.parse(path)).flatMap { ValuePath.lookup($0, in: root) }?.stringValue
    }

    /// A required non-empty string. A value of the wrong kind was reported already.
    mutating func require(_ root: JSON, _ path: String, _ reason: String, secretFile: String? = nil) {
        let value = (try? ValuePath.parse(path)).flatMap { ValuePath.lookup($0, in: root) }
        switch value {
        case nil, .null?:
            break
        case .string(let s)? where s.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty:
            break
        default:
            return
        }
        var message = "required (a non-empty string) \(reason)"
        if let secretFile {
            message += "; set it in the values or in the file \(secretFile) of the secrets directory"
        }
        problem(path, message)
        if secretFile != nil { problems[problems.count - 1].missingSecret = true }
    }

    mutating func checkRules(_ root: JSON) {
        if Self.isOn(root, "init.enabled") {
            require(root, "console.credentials.username", "when init.enabled is true",
                    secretFile: "console.credentials.username")
            require(root, "console.credentials.password", "when init.enabled is true",
                    secretFile: "console.credentials.password")
        }
        if Self.isOn(root, "monitoring.enabled") {
            require(root, "monitoring.username", "when monitoring.enabled is true (leave it out for the default name)")
            require(root, "monitoring.password", "when monitoring.enabled is true", secretFile: "monitoring.password")
        }
        if Self.isOn(root, "sso.enabled") {
            for key in ["sso.client_id", "sso.issuer_uri", "sso.idp_url"] {
                require(root, key, "when sso.enabled is true")
            }
            if let cert = Self.string(root, "sso.cert") {
                if let reason = Self.pemProblem(cert) { problem("sso.cert", reason) }
            } else if (try? ValuePath.parse("sso.cert")).flatMap({ ValuePath.lookup($0, in: root) }) == nil {
                problem("sso.cert", "required when sso.enabled is true (the identity provider's X.509 certificate in PEM form)")
            }
        }
        if Self.isOn(root, "defender.enabled") {
            if let namespace = Self.string(root, "defender.namespace"), !namespace.isEmpty, !Self.isDNSLabel(namespace) {
                problem("defender.namespace", "\(Self.quoteRefused(namespace)) is not a Kubernetes namespace name "
                    + "(lower-case letters, digits and \"-\", at most 63, starting and ending with a letter or digit)")
            } else {
                require(root, "defender.namespace", "when defender.enabled is true")
            }
            checkDefenderConsoleAddress(root)
        }
        if Self.isOn(root, "policies.enabled") {
            require(root, "policies.name", "when policies.enabled is true (it names the rules the job owns)")
        }
        if Self.isOn(root, "console.trustedImages.enabled") {
            require(root, "console.trustedImages.name", "when console.trustedImages.enabled is true")
        }
        checkConsoleHost(root)
        checkUsers(root)
        checkGroups(root)
    }

    /// The host name the dns-san step adds (`ConsoleHost`): a route host is checked here, after
    /// its `{{ .Values.domain }}` is replaced (the list's other hosts are the console chart's);
    /// `twistlock.<domain>` as a whole (its length). `console.externalHost` and `domain` by
    /// themselves were checked with their kinds.
    mutating func checkConsoleHost(_ root: JSON) {
        guard let host = ConsoleHost.resolve(root) else {
            // The step runs when the route list is not empty: its first host must be a name then.
            if let hosts = root["routes"]?["inbound"]?["console"]?["hosts"]?.arrayValue, !hosts.isEmpty,
               hosts.first?.stringValue != nil {
                problem("routes.inbound.console.hosts[0]", "empty, and neither console.externalHost nor domain is set: "
                    + "no host name for the console certificate (step dns-san)")
            }
            return
        }
        switch host.key {
        case "routes.inbound.console.hosts[0]":
            if let why = TextFormat.hostProblem(host.name, ipv4: true, quote: Self.quoteRefused(host.name)) {
                var message = why
                if host.substituted {
                    let domain = root["domain"]?.stringValue ?? ""
                    message += domain.isEmpty ? " (its {{ .Values.domain }} was replaced by domain, which is empty)"
                        : " (after its {{ .Values.domain }} was replaced by domain)"
                }
                problem(host.key, message)
            }
        case "domain":
            if host.name.utf8.count > TextFormat.maxHostBytes {
                problem("domain", "twistlock.<domain> is too long for a host name (\(host.name.utf8.count) characters; at most \(TextFormat.maxHostBytes))")
            }
        default:
            break
        }
    }

    mutating func checkUsers(_ root: JSON) {
        guard case .array(let users)? = root["console"]?["additionalUsers"] else { return }
        var seen: [String: Int] = [:]
        let admin = Self.string(root, "console.credentials.username")
        let metrics = Self.isOn(root, "monitoring.enabled") ? Self.string(root, "monitoring.username") : nil
        for (index, item) in users.enumerated() {
            let base = "console.additionalUsers[\(index)]"
            guard case .object(let user) = item else { continue }   // reported by the kind check
            let username = user["username"]?.stringValue ?? ""
            switch user["username"] {
            case .string(let name)? where !Self.isBlank(name):
                if let first = seen[name] {
                    problem("\(base).username", "\(Self.quoteRefused(name)) is listed twice (also console.additionalUsers[\(first)])")
                } else {
                    seen[name] = index
                }
                if let admin, !admin.isEmpty, admin == name {
                    warning("\(base).username", "is the admin account of console.credentials.username; the users step skips it (the admin step manages it)")
                }
                if let metrics, !metrics.isEmpty, metrics == name {
                    warning("\(base).username", "is the metrics user of monitoring.username; the users step skips it (the metrics-user step manages it)")
                }
            case nil, .null?, .string?:
                problem("\(base).username", "required (a non-empty string)")
            default:
                break   // wrong kind, reported already
            }
            let role = user["role"]
            if role == nil || role == .null || role?.stringValue.map(Self.isBlank) == true {
                problem("\(base).role", "required (one of \(ValuesSchema.roles.joined(separator: ", ")), or a custom role)")
            }
            let authType = user["authType"]?.stringValue ?? ValuesSchema.userAuthTypeDefault
            let password = user["password"]
            let hasPassword: Bool
            switch password {
            case .string(let s)?: hasPassword = !Self.isBlank(s)
            case nil, .null?: hasPassword = false
            default: hasPassword = true   // wrong kind, reported already
            }
            let secretFile = "console.additionalUsers.\(username).password"
            // Named in full only when it can be a file name (a blank or very long user name can't).
            let fileShown = Self.isBlank(username) || username.utf8.count > 200
                ? "console.additionalUsers.<username>.password" : secretFile
            if authType == "basic" {
                if !hasPassword {
                    problem("\(base).password", "required for a basic user; set it in the values or in the file "
                        + "\(fileShown) of the secrets directory")
                    problems[problems.count - 1].missingSecret = true
                }
            } else if ValuesSchema.userAuthTypes.contains(authType), hasPassword {
                let origin = fromSecretFiles.contains(secretFile) ? " (it comes from the secrets file \(secretFile))" : ""
                problem("\(base).password", "a password is only meaningful for basic users (this user's authType is \(authType))\(origin)")
            }
        }
    }

    mutating func checkGroups(_ root: JSON) {
        guard case .array(let groups)? = root["console"]?["groups"] else { return }
        var seen: [String: Int] = [:]
        for (index, item) in groups.enumerated() {
            let base = "console.groups[\(index)]"
            guard case .object(let group) = item else { continue }
            switch group["group"] {
            case .string(let name)? where !Self.isBlank(name):
                if let first = seen[name] {
                    problem("\(base).group", "\(Self.quoteRefused(name)) is listed twice (also console.groups[\(first)])")
                } else {
                    seen[name] = index
                }
            case nil, .null?, .string?:
                problem("\(base).group", "required (the group's name, a non-empty string)")
            default:
                break
            }
            let role = group["role"]
            if role == nil || role == .null || role?.stringValue.map(Self.isBlank) == true {
                problem("\(base).role", "required (one of \(ValuesSchema.roles.joined(separator: ", ")), or a custom role)")
            }
        }
    }

    // MARK: helpers

    /// Why `text` is not a PEM certificate, or `nil` when it is one (or several).
    static func pemProblem(_ text: String) -> String? {
        let begin = "-----BEGIN CERTIFICATE-----"
        let end = "-----END CERTIFICATE-----"
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty {
            return "required when sso.enabled is true (the identity provider's X.509 certificate in PEM form)"
        }
        guard trimmed.hasPrefix(begin), trimmed.hasSuffix(end) else {
            return "not a PEM certificate (expected \(begin) … \(end))"
        }
        var rest = Substring(trimmed)
        var count = 0
        while !rest.isEmpty {
            guard rest.hasPrefix(begin), let endRange = rest.range(of: end) else {
                return "not a PEM certificate (expected \(begin) … \(end))"
            }
            let body = rest[rest.index(rest.startIndex, offsetBy: begin.count)..<endRange.lowerBound]
            let base64 = body.filter { !$0.isWhitespace }
            if base64.isEmpty || Data(base64Encoded: String(base64)) == nil {
                return "not a PEM certificate (the text between the BEGIN and END lines is not base64)"
            }
            count += 1
            rest = rest[endRange.upperBound...].drop(while: { $0.isWhitespace })
        }
        return count > 0 ? nil : "not a PEM certificate"
    }

    /// A Kubernetes DNS-1123 label (namespace names).
    static func isDNSLabel(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 63 else { return false }
        let bytes = Array(s.utf8)
        func ok(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) }
        guard ok(bytes.first!), ok(bytes.last!) else { return false }
        return bytes.allSatisfy { ok($0) || $0 == 0x2D }
    }
}
