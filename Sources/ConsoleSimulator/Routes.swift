import Foundation
import JSONModel

enum ConsoleRoutes {
    /// API prefixes served identically.
    static let prefixes = ["/api/v1/", "/api/v34.04/"]

    /// The path below the API prefix, or nil when `path` is not an API path.
    static func apiSubpath(_ path: String) -> String? {
        for p in prefixes where path.hasPrefix(p) { return String(path.dropFirst(p.count)) }
        return nil
    }

    /// Endpoints that need no authentication.
    static let open: Set<String> = ["_ping", "settings/initialized", "signup", "authenticate"]

    /// The roles a user or group may have (values.md).
    static let roles: Set<String> = ["admin", "operator", "auditor", "devSecOps", "vulnerabilityManager", "devOps",
                                     "defenderManager", "user", "ci"]

    /// The served operation key for a subpath (`groups/abc` -> `groups/{id}`).
    static func operationKey(_ subpath: String, subset: OpenAPISubset) -> (key: String, id: String?)? {
        if subset.operations[subpath] != nil { return (subpath, nil) }
        for prefix in ["users/", "groups/"] where subpath.hasPrefix(prefix) {
            let id = String(subpath.dropFirst(prefix.count))
            if !id.isEmpty, !id.contains("/") {
                return (prefix + "{id}", id.removingPercentEncoding ?? id)
            }
        }
        return nil
    }
}

/// The outcome of decoding a request body against its schema.
struct Decoded {
    var value: JSON
    var findings: [ConformanceFinding]
}

enum HandlerError: Error {
    case response(APIResponse)
}

extension ConsoleCore {
    /// Handles one console API call (under the lock). Returns the answer, the authenticated
    /// user and the conformance findings for the request body.
    func handleAPI(_ req: APIRequest, subpath: String) -> (APIResponse, String?, [ConformanceFinding]) {
        guard let subset else {
            return (.error(500, "simulator: \(subsetError.map { "\($0)" } ?? "no OpenAPI subset")"), nil, [])
        }
        guard let (key, id) = ConsoleRoutes.operationKey(subpath, subset: subset) else {
            return (APIResponse(status: 404, body: .text("404 page not found\n", contentType: "text/plain; charset=utf-8")), nil, [])
        }
        let method = req.method.lowercased()
        guard let op = subset.operations[key]?[method] else {
            return (APIResponse(status: 405, body: .text("Method Not Allowed\n", contentType: "text/plain; charset=utf-8")), nil, [])
        }
        var user: JSON?
        if !ConsoleRoutes.open.contains(key) {
            switch authenticate(req.authorization) {
            case .success(let u): user = u
            case .failure(let r): return (r, nil, [])
            }
            if let denied = authorize(user: user!, method: method, key: key) { return (denied, user?["username"]?.stringValue, []) }
        }
        let username = user?["username"]?.stringValue
        var findings: [ConformanceFinding] = []
        do {
            var body: JSON?
            if let schema = op.request {
                let d = try decodeBody(req.body, schema: schema)
                findings = d.findings
                body = d.value
            }
            var response = try dispatch(key: key, method: method, id: id, body: body, user: username, findings: &findings)
            if method == "get", variants.contains("zero-filled"), response.status == 200,
               let schema = op.response, case .json(let value) = response.body {
                response.body = .json(ZeroFill(subset: subset).fill(value, schemaName: schema))
            }
            return (response, username, findings)
        } catch let failure as DecodeFailure {
            return (.error(400, failure.message), username, failure.findings)
        } catch HandlerError.response(let r) {
            return (r, username, findings)
        } catch {
            return (.error(500, "\(error)"), username, findings)
        }
    }

    // MARK: Authentication

    enum AuthResult { case success(JSON), failure(APIResponse) }

    func authenticate(_ header: String?) -> AuthResult {
        guard let header, !header.isEmpty else { return .failure(.error(401, "missing authentication")) }
        if header.lowercased().hasPrefix("bearer ") {
            let token = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
            guard let session = tokens[token] else { return .failure(.error(401, "invalid or expired token")) }
            guard session.expires > now else {
                tokens[token] = nil
                return .failure(.error(401, "token expired"))
            }
            guard let i = state.userIndex(session.user) else { return .failure(.error(401, "invalid or expired token")) }
            return .success(state.users[i])
        }
        if header.lowercased().hasPrefix("basic ") {
            let encoded = String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)
            guard let data = Data(base64Encoded: encoded), let text = String(data: data, encoding: .utf8),
                  let colon = text.firstIndex(of: ":") else {
                return .failure(.error(401, "malformed basic authentication"))
            }
            let name = String(text[..<colon]), password = String(text[text.index(after: colon)...])
            guard let u = verify(username: name, password: password) else {
                return .failure(.error(401, "invalid credentials"))
            }
            if state.settings["logon"]?["basicAuthDisabled"]?.boolValue == true, u["role"]?.stringValue != "admin" {
                return .failure(.error(401, "basic authentication is disabled"))
            }
            return .success(u)
        }
        return .failure(.error(401, "unsupported authorization scheme"))
    }

    func verify(username: String, password: String) -> JSON? {
        guard let i = state.userIndex(username) else { return nil }
        let u = state.users[i]
        guard (u["authType"]?.stringValue ?? "basic") == "basic",
              let hash = u["passwordHash"]?.stringValue, PasswordHash.verify(password, against: hash) else { return nil }
        return u
    }

    /// Admins may do everything; operators may also change policies and trust; every user
    /// may read policies, settings and the catalog, but not users and groups.
    func authorize(user: JSON, method: String, key: String) -> APIResponse? {
        let role = user["role"]?.stringValue ?? ""
        if role == "admin" { return nil }
        let adminOnlyRead = key.hasPrefix("users") || key.hasPrefix("groups") || key == "settings/license" && method != "get"
        if method == "get" && !adminOnlyRead { return nil }
        if role == "operator" && (key.hasPrefix("policies/") || key == "trust/data") { return nil }
        return .error(403, "user \(user["username"]?.stringValue ?? "") (role \(role)) is not allowed to \(method.uppercased()) \(key)")
    }

    /// How long a new token lasts: the option, or with `session-timeout` the logon settings'
    /// `sessionTimeoutSec` when it is positive.
    var tokenLifetime: TimeInterval {
        if variants.contains("session-timeout"), let s = state.settings["logon"]?["sessionTimeoutSec"]?.doubleValue, s > 0 {
            return s
        }
        return options.tokenLifetime
    }

    func issueToken(for username: String) -> String {
        let header = Base64URL.encode(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let payload = Base64URL.encode(Array(JSON.object([
            "sub": .string(username), "exp": .int(Int64(now.addingTimeInterval(tokenLifetime).timeIntervalSince1970)),
            "jti": .string(randomToken(bytes: 9)),
        ]).encoded().utf8))
        let token = "\(header).\(payload).\(randomToken(bytes: 32))"
        tokens[token] = (username, now.addingTimeInterval(tokenLifetime))
        return token
    }

    // MARK: Decoding

    func decodeBody(_ bytes: [UInt8], schema: String) throws -> Decoded {
        guard let subset else { throw HandlerError.response(.error(500, "no schema")) }
        let trimmed = bytes.drop { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        if trimmed.isEmpty { throw HandlerError.response(.error(400, "EOF")) }
        let json: JSON
        do {
            json = try JSON.parse(bytes: bytes)
        } catch let e as JSONParseError {
            throw HandlerError.response(.error(400, "invalid character in request body: \(e.message) (line \(e.line), column \(e.column))"))
        } catch {
            throw HandlerError.response(.error(400, "invalid JSON body"))
        }
        var decoder = GoDecoder(subset: subset)
        let value = decoder.decode(json, schemaName: schema)
        if let err = decoder.goError {
            throw DecodeFailure(message: err, findings: decoder.findings)
        }
        if let first = decoder.validationErrors.first {
            throw DecodeFailure(message: first, findings: decoder.findings)
        }
        return Decoded(value: GoJSON.normalize(value ?? .object([:])), findings: decoder.findings)
    }

    struct DecodeFailure: Error {
        var message: String
        var findings: [ConformanceFinding]
    }

    // MARK: Dispatch

    func dispatch(key: String, method: String, id: String?, body: JSON?, user: String?, findings: inout [ConformanceFinding]) throws -> APIResponse {
        let stamp = RFC3339.format(now)
        switch (method, key) {
        case ("get", "_ping"):
            return .okEmpty
        case ("get", "settings/initialized"):
            return .ok(["initialized": .bool(state.initialized)])
        case ("post", "signup"):
            return try signup(body!)
        case ("post", "authenticate"):
            let name = body?["username"]?.stringValue ?? ""
            let password = body?["password"]?.stringValue ?? ""
            guard !name.isEmpty, verify(username: name, password: password) != nil else {
                return .error(401, "invalid credentials")
            }
            return .ok(["token": .string(issueToken(for: name))])
        case ("get", "version"):
            return .ok(.string(options.version))
        case ("get", "settings/license"):
            if let license = state.license { return .ok(license) }
            if variants.contains("license-null") { return .ok(.null) }
            if variants.contains("license-empty") { return .okEmpty }
            return .ok(["customer_id": "", "type": "", "defenders": 0])
        case ("post", "settings/license"):
            guard let key = body?["key"]?.stringValue, !key.trimmingCharacters(in: .whitespaces).isEmpty else {
                return .error(400, "missing license key")
            }
            do {
                let license = try SimulatorLicense.parse(key)
                state.license = license.licenseObject(issued: now)
                return .okEmpty
            } catch {
                return .error(400, "invalid license key")
            }
        case ("get", "settings/certs"):
            return .ok(certs())
        case ("post", "settings/certs"):
            return try postCerts(body!)
        case ("get", "settings/saml"):
            var saml = state.settings["saml"] ?? [:]
            if saml["appSecret"] != nil { saml["appSecret"] = ["encrypted": .string(SecretMask.mask)] }
            return .ok(saml)
        case ("post", "settings/saml"):
            return try postSAML(body!)
        case ("get", let k) where k.hasPrefix("settings/"):
            return .ok(state.settings[String(k.dropFirst(9))] ?? [:])
        case ("post", let k) where k.hasPrefix("settings/"):
            state.settings[String(k.dropFirst(9))] = body!
            return .okEmpty
        case ("get", "users"):
            return .ok(.array(state.users.map(publicUser)))
        case ("post", "users"):
            return try createUser(body!, stamp: stamp)
        case ("put", "users"):
            return try updateUser(body!, stamp: stamp)
        case ("delete", "users/{id}"):
            return try deleteUser(id!)
        case ("get", "groups"):
            if variants.contains("sso-groups-hidden") { return .ok(.array(state.groups.filter(ssoGroupListed))) }
            return .ok(.array(state.groups))
        case ("post", "groups"):
            return try createGroup(body!, user: user, stamp: stamp)
        case ("put", "groups/{id}"):
            return try updateGroup(id!, body!, user: user, stamp: stamp)
        case ("delete", "groups/{id}"):
            guard let i = state.groupIndex(id: id!) else { return .error(404, "group \(id!) not found") }
            state.groups.remove(at: i)
            return .okEmpty
        case ("post", "defenders/daemonset.yaml"):
            return try daemonSet(body!, findings: &findings)
        case ("get", "static/vulnerabilities"):
            return APIResponse(status: 200, body: .jsonText(catalogDocument()))
        case ("get", "custom-rules"):
            return .ok(.array(state.customRules))
        case ("get", "trust/data"):
            return .ok(state.trust)
        case ("put", "trust/data"):
            return try putTrust(body!, user: user, stamp: stamp)
        case ("get", let k) where k.hasPrefix("policies/"):
            return .ok(state.policies[String(k.dropFirst(9))] ?? .null)
        case ("put", let k) where k.hasPrefix("policies/"):
            return try putPolicy(String(k.dropFirst(9)), body!, user: user, stamp: stamp)
        case ("post", let k) where k.hasPrefix("policies/runtime/"):
            return try postRuntimeRule(String(k.dropFirst(9)), body!, user: user, stamp: stamp)
        default:
            return .error(405, "method not allowed")
        }
    }

    // MARK: Admin and users

    func signup(_ body: JSON) throws -> APIResponse {
        if state.initialized { return .error(400, "console is already initialized: the first admin exists") }
        guard let name = body["username"]?.stringValue, !name.isEmpty else { return .error(400, "missing username") }
        guard let password = body["password"]?.stringValue, !password.isEmpty else { return .error(400, "missing password") }
        state.users.append([
            "username": .string(name), "role": "admin", "authType": "basic", "permissions": [],
            "lastModified": .string(RFC3339.format(now)), "passwordHash": .string(PasswordHash.make(password)),
        ])
        state.initialized = true
        return .okEmpty
    }

    func publicUser(_ u: JSON) -> JSON {
        var u = u
        u["passwordHash"] = nil
        u["password"] = nil
        return u
    }

    /// The strong-password rule the console applies when `logon.strongPassword` is on:
    /// at least 12 characters with upper case, lower case, a digit and a special character.
    func checkPasswordStrength(_ password: String) throws {
        guard state.settings["logon"]?["strongPassword"]?.boolValue == true else { return }
        let ok = password.count >= 12 && password.contains(where: \.isUppercase) && password.contains(where: \.isLowercase)
            && password.contains(where: \.isNumber) && password.contains(where: { !$0.isLetter && !$0.isNumber })
        if !ok {
            throw HandlerError.response(.error(400, "password does not meet the strong password requirements: at least 12 characters with upper and lower case letters, digits and special characters"))
        }
    }

    func validateRole(_ role: String?) throws {
        guard let role, !role.isEmpty else { throw HandlerError.response(.error(400, "missing role")) }
        guard ConsoleRoutes.roles.contains(role) || variants.contains("lenient-roles") else {
            throw HandlerError.response(.error(400, "invalid role \(role)"))
        }
    }

    /// A create or update body as the console stores it: `authType` defaulted to basic,
    /// `permissions` to none, the password dropped (the caller keeps a hash), stamped.
    private func storedUser(_ body: JSON, stamp: String) -> (user: JSON, authType: String) {
        var user = body
        let authType = body["authType"]?.stringValue ?? "basic"
        user["authType"] = .string(authType)
        user["password"] = nil
        if user["permissions"] == nil { user["permissions"] = [] }
        user["lastModified"] = .string(stamp)
        return (user, authType)
    }

    func createUser(_ body: JSON, stamp: String) throws -> APIResponse {
        guard let name = body["username"]?.stringValue, !name.isEmpty else { return .error(400, "missing username") }
        if state.userIndex(name) != nil { return .error(duplicateStatus, "user \(name) already exists") }
        try validateRole(body["role"]?.stringValue)
        let stored = storedUser(body, stamp: stamp)
        var user = stored.user
        let authType = stored.authType
        if authType == "basic" {
            guard let password = body["password"]?.stringValue, !password.isEmpty else {
                return .error(400, "a password is required for basic users")
            }
            try checkPasswordStrength(password)
            user["passwordHash"] = .string(PasswordHash.make(password))
        }
        state.users.append(user)
        return .okEmpty
    }

    func updateUser(_ body: JSON, stamp: String) throws -> APIResponse {
        guard let name = body["username"]?.stringValue, !name.isEmpty else { return .error(400, "missing username") }
        guard let i = state.userIndex(name) else { return .error(404, "user \(name) does not exist") }
        try validateRole(body["role"]?.stringValue)
        let old = state.users[i]
        let stored = storedUser(body, stamp: stamp)
        var user = stored.user
        let authType = stored.authType
        if authType == "basic" {
            if let password = body["password"]?.stringValue, !password.isEmpty {
                try checkPasswordStrength(password)
                user["passwordHash"] = .string(PasswordHash.make(password))
            } else if let hash = old["passwordHash"] {
                user["passwordHash"] = hash
            } else {
                return .error(400, "a password is required for basic users")
            }
        }
        if old["role"]?.stringValue == "admin", body["role"]?.stringValue != "admin",
           state.users.filter({ $0["role"]?.stringValue == "admin" }).count == 1 {
            return .error(400, "cannot remove the role of the last admin")
        }
        state.users[i] = user
        return .okEmpty
    }

    func deleteUser(_ name: String) throws -> APIResponse {
        guard let i = state.userIndex(name) else { return .error(404, "user \(name) does not exist") }
        if state.users[i]["role"]?.stringValue == "admin",
           state.users.filter({ $0["role"]?.stringValue == "admin" }).count == 1 {
            return .error(400, "cannot delete the last admin")
        }
        state.users.remove(at: i)
        tokens = tokens.filter { $0.value.user != name }
        return .okEmpty
    }

    // MARK: Groups

    /// The status of creating a user or group that exists (409, or a variant's).
    var duplicateStatus: Int {
        if variants.contains("duplicate-400") { return 400 }
        if variants.contains("duplicate-500") { return 500 }
        return 409
    }

    /// Whether `GET groups` lists a group under `sso-groups-hidden`: groups of local users
    /// always, SAML groups once SAML is enabled, other SSO groups never (their settings are
    /// not served).
    func ssoGroupListed(_ g: JSON) -> Bool {
        if g["samlGroup"]?.boolValue == true { return state.settings["saml"]?["enabled"]?.boolValue == true }
        for flag in ["oidcGroup", "oauthGroup", "ldapGroup"] where g[flag]?.boolValue == true { return false }
        return true
    }

    static let groupFlags = ["ldapGroup", "samlGroup", "oauthGroup", "oidcGroup"]

    /// A group is of one kind: at most one of ldapGroup/samlGroup/oauthGroup/oidcGroup is
    /// true (none: a group of local users).
    func validateGroup(_ body: JSON) throws {
        try validateRole(body["role"]?.stringValue)
        let set = Self.groupFlags.filter { body[$0]?.boolValue == true }
        if set.count > 1 {
            throw HandlerError.response(.error(400, "a group has one authentication type; got \(set.joined(separator: ", "))"))
        }
    }

    func createGroup(_ body: JSON, user: String?, stamp: String) throws -> APIResponse {
        guard let name = body["groupName"]?.stringValue, !name.isEmpty else { return .error(400, "missing group name") }
        if state.groups.contains(where: { $0["groupName"]?.stringValue == name || $0["_id"]?.stringValue == name }) {
            return .error(duplicateStatus, "group \(name) already exists")
        }
        try validateGroup(body)
        var g = body
        g["_id"] = .string(name)
        g["owner"] = .string(user ?? "")
        g["lastModified"] = .string(stamp)
        if g["user"] == nil { g["user"] = [] }
        if g["permissions"] == nil { g["permissions"] = [] }
        state.groups.append(g)
        return .okEmpty
    }

    func updateGroup(_ id: String, _ body: JSON, user: String?, stamp: String) throws -> APIResponse {
        guard let i = state.groupIndex(id: id) else {
            if variants.contains("group-put-lastmodified") {
                // "Creates or modifies": a PUT of a missing group creates it under that id.
                var b = body
                if b["groupName"] == nil { b["groupName"] = .string(id) }
                return try createGroup(b, user: user, stamp: stamp)
            }
            return .error(404, "group \(id) does not exist")
        }
        let name = body["groupName"]?.stringValue ?? id
        if variants.contains("group-put-lastmodified"),
           body["lastModified"]?.stringValue != state.groups[i]["lastModified"]?.stringValue {
            return .error(400, "group \(name) already exists")
        }
        if name != id, state.groups.contains(where: { $0["groupName"]?.stringValue == name }) {
            return .error(409, "group \(name) already exists")
        }
        try validateGroup(body)
        var g = body
        g["_id"] = .string(id)
        g["groupName"] = .string(name)
        g["owner"] = .string(user ?? "")
        g["lastModified"] = .string(stamp)
        if g["user"] == nil { g["user"] = [] }
        if g["permissions"] == nil { g["permissions"] = [] }
        state.groups[i] = g
        return .okEmpty
    }

    // MARK: Settings

    func certs() -> JSON {
        var c = state.settings["certs"] ?? [:]
        let installed = RFC3339.parse(state.installedAt) ?? now
        c["caExpiration"] = .string(RFC3339.format(installed.addingTimeInterval(3 * 365 * 86400)))
        c["defenderOldCAExpiration"] = "0001-01-01T00:00:00Z"
        if c["consoleSAN"] == nil { c["consoleSAN"] = [] }
        return c
    }

    func postCerts(_ body: JSON) throws -> APIResponse {
        let readOnly = ["caExpiration", "defenderOldCAExpiration"].filter { body[$0] != nil }
        if !readOnly.isEmpty {
            return .error(400, "failed to update certificate settings: \(readOnly.joined(separator: " and ")) cannot be set")
        }
        let sans = body["consoleSAN"]?.arrayValue ?? []
        for s in sans {
            guard let v = s.stringValue, !v.trimmingCharacters(in: .whitespaces).isEmpty else {
                return .error(400, "invalid SAN: empty entry")
            }
            if v.contains(" ") || v.contains("/") { return .error(400, "invalid SAN \(v)") }
        }
        state.settings["certs"] = ["consoleSAN": .array(sans)]
        return .okEmpty
    }

    func postSAML(_ body: JSON) throws -> APIResponse {
        var saml = body
        if body["enabled"]?.boolValue == true {
            for field in ["issuer", "url", "audience", "cert"] where (body[field]?.stringValue ?? "").isEmpty {
                return .error(400, "SAML settings: missing \(field)")
            }
            if !(body["cert"]?.stringValue ?? "").contains("-----BEGIN CERTIFICATE-----") {
                return .error(400, "SAML settings: failed to parse the IdP certificate (PEM expected)")
            }
            if body["type"] == nil { return .error(400, "SAML settings: missing type") }
        }
        if let secret = body["appSecret"], let plain = secret["plain"]?.stringValue {
            saml["appSecret"] = ["encrypted": .string("sim:" + SHA256.hex(plain))]
        }
        state.settings["saml"] = saml
        return .okEmpty
    }

    // MARK: Defenders

    func daemonSet(_ body: JSON, findings: inout [ConformanceFinding]) throws -> APIResponse {
        do {
            let (opts, extra) = try DaemonSetYAML.options(from: body, version: options.version)
            findings += extra
            state.daemonSetsGenerated += 1
            // One install identity per console (its defender certificates and install bundle
            // do not change between downloads), so the same options give the same manifest.
            let installID = String(SHA256.hex("install:\(state.installedAt)").prefix(32))
            return APIResponse(status: 200, body: .text(DaemonSetYAML.render(opts, installID: installID),
                                                        contentType: "text/plain; charset=utf-8"))
        } catch DaemonSetYAML.InvalidOptions.message(let m) {
            return .error(400, m)
        }
    }
}
