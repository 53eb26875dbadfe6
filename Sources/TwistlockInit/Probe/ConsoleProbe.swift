import ConsoleVariantRegistry
import Foundation
import JSONModel

/// How `twistlock-init probe` reaches the console and what it may do there.
public struct ProbeOptions: Sendable {
    public var connection: ConsoleConnection
    public var username: String
    public var password: String
    /// Allow writes of scratch objects (named `twistlock-init-probe-<id>-…`), removed before
    /// the probe ends.
    public var scratch = false
    /// After SIGTERM, how long the request in flight may still finish before it is abandoned
    /// (a creation abandoned mid-way could land after the clean-up looked for it).
    public var inFlightGrace: Double = 5
    /// The clean-up's own request timeout and retries (it runs after an interrupt too).
    public var cleanupTimeout: Double = 10
    public var cleanupRetries = 2

    public init(connection: ConsoleConnection, username: String, password: String, scratch: Bool = false) {
        self.connection = connection
        self.username = username
        self.password = password
        self.scratch = scratch
    }
}

/// Asks a console, family by family of `ConsoleVariants`, which answer it gives to each open
/// question (docs/console-variants.md). Read-only unless `scratch`: then it creates objects
/// named `twistlock-init-probe-<id>-…`, changes one policy and the logon settings for a moment,
/// and undoes all of it before it ends — also after an error or `interrupt` — then reads the
/// console again and reports what it could not restore.
// @unchecked Sendable: `interruptedBy`, `probing` and `scratch` are guarded by `lock` (the
// signal handler interrupts from another thread); `onLine` is set before `run` and only read.
public final class ConsoleProbe: @unchecked Sendable {
    public let options: ProbeOptions
    public let redactor: Redactor
    /// Progress and finding lines (redacted by the caller's log).
    public var onLine: ((String) -> Void)?
    /// This run's scratch names start with this.
    public let scratchPrefix: String

    private let client: ConsoleClient
    private let lock = NSLock()
    private var interruptedBy: String?
    private var probing = true
    private var scratch = ScratchRecord()

    public init(options: ProbeOptions, redactor: Redactor) throws {
        self.options = options
        self.redactor = redactor
        redactor.add(options.password)
        scratchPrefix = "twistlock-init-probe-" + ConsoleProbe.randomID()
        client = try ConsoleClient(connection: options.connection, redactor: redactor)
        client.setCredentials(username: options.username, password: options.password)
    }

    static func randomID() -> String {
        String((0..<8).map { _ in "0123456789abcdef".randomElement()! })
    }

    /// SIGTERM/SIGINT: no new probe request starts; the one in flight may finish within
    /// `inFlightGrace`, then it is abandoned. The clean-up still runs.
    public func interrupt(reason: String) {
        lock.withLock { if interruptedBy == nil { interruptedBy = reason } }
        DispatchQueue.global().asyncAfter(deadline: .now() + options.inFlightGrace) { [self] in
            if lock.withLock({ probing }) { client.interrupt() }
        }
    }

    // MARK: - The run

    public func run() -> ProbeReport {
        var report = ProbeReport(consoleURL: ConsoleProbe.displayURL(options.connection.baseURL), scratch: options.scratch)
        var found: [String: ProbeFinding] = [:]
        let record: (ProbeFinding) -> Void = { [self] f in
            found[f.family] = f
            emit("\(f.family): \(f.summary)" + (f.note.isEmpty ? "" : " — \(f.note)"))
            for e in f.evidence { emit("    " + e.line) }
        }
        do {
            record(try probeRoot())
            let login = try client.login()
            guard login.ok else { throw ConsoleError.authentication(status: login.status, message: login.message) }
            let issued = Date()
            let lifetime = ConsoleProbe.tokenLifetime(login, issued: issued)
            if options.scratch {
                // The users and groups before any write: the clean-up compares them after.
                for list in ["users", "groups"] {
                    let r = try call("GET", list)
                    if r.ok, let items = r.json?.arrayValue { lock.withLock { scratch.listsBefore[list] = items } }
                }
            }
            report.version = try probeVersion()
            record(try probePrefixes(version: report.version))
            record(try probeLicense())
            record(try probeReadBack())
            record(try probeSession(lifetime: lifetime))
            record(try probeSSOGroups())
            if options.scratch {
                record(try probeDuplicate())
                record(try probeGroupPut())
                record(try probeRoles())
                record(try probePolicyValidation())
            }
        } catch {
            if let by = lock.withLock({ interruptedBy }) {
                report.interrupted = by
                emit("interrupted by \(by): no further question is asked")
            } else {
                let line = redactor.redact("\(error)")
                report.problems.append(line)
                emit("✘ " + line)
            }
        }
        if let by = lock.withLock({ interruptedBy }), report.interrupted == nil {
            report.interrupted = by
            emit("interrupted by \(by) during the last question")
        }
        lock.withLock { probing = false }
        client.shutdown()
        if options.scratch { cleanUp(&report) }

        for family in ConsoleVariants.families {
            if let f = found[family.name] { report.findings.append(f); continue }
            var f = ProbeFinding(family: family.name, outcome: .failed)
            if !options.scratch && ConsoleProbe.writeFamilies.contains(family.name) {
                f.outcome = .notProbed
                f.note = "it needs a write: run with --scratch"
            } else {
                f.note = report.interrupted != nil ? "not asked: the probe was interrupted" : "not asked: the probe stopped before"
            }
            report.findings.append(f)
        }
        return report
    }

    /// The families only a write can answer.
    public static let writeFamilies: Set<String> = ["duplicate", "group-put", "roles", "policy-validation"]

    private func emit(_ line: String) { onLine?(redactor.redact(line)) }

    /// A probe request: none starts after an interrupt.
    /// `idempotent`: the probe states the request may be repeated (a whole settings object).
    private func call(_ method: String, _ path: String, _ body: JSON? = nil, auth: Bool = true,
                      idempotent: Bool? = nil) throws -> ConsoleResponse {
        if let by = lock.withLock({ interruptedBy }) { throw ConsoleError.interrupted(method: method, path: "\(path) (\(by))") }
        return try client.request(method: method, path: path, body: body, auth: auth, idempotent: idempotent)
    }

    private func evidence(_ method: String, _ path: String, _ r: ConsoleResponse?, shape: JSON? = nil, message: Bool = false) -> ProbeEvidence {
        var e = ProbeEvidence(request: "\(method) \(client.apiPath(path))", response: r, shape: shape, showMessage: message)
        e.message = e.message.map { redactor.redact($0) }
        return e
    }

    // MARK: - Read-only questions

    func probeRoot() throws -> ProbeFinding {
        if let by = lock.withLock({ interruptedBy }) { throw ConsoleError.interrupted(method: "GET", path: "/ (\(by))") }
        let r = try client.requestWebRoot()
        var f = ProbeFinding(family: "root", outcome: .noKnownVariant)
        let type = r.headers["content-type"] ?? ""
        f.evidence = [evidence("GET", "/", r, shape: .string(type.contains("html") ? "an HTML page" : "\(r.bodyText.utf8.count) bytes"))]
        if r.status == 200 && type.lowercased().contains("text/html") { f.outcome = .defaultAnswer }
        return f
    }

    func probeVersion() throws -> String? {
        let r = try call("GET", "version")
        guard r.ok else { throw ConsoleError.status(method: "GET", path: client.apiPath("version"), status: r.status, message: r.message) }
        return r.json?.stringValue
    }

    /// `34.04.145` → `v34.04`.
    static func versionPrefix(_ version: String?) -> String? {
        guard let v = version else { return nil }
        let parts = v.split(separator: ".")
        guard parts.count >= 2, parts[0].allSatisfy(\.isNumber), parts[1].allSatisfy(\.isNumber) else { return nil }
        return "v\(parts[0]).\(parts[1])"
    }

    func probePrefixes(version: String?) throws -> ProbeFinding {
        var f = ProbeFinding(family: "api-prefix", outcome: .undetermined)
        let v1 = try call("GET", "/api/v1/version")
        f.evidence.append(evidence("GET", "/api/v1/version", v1))
        guard let prefix = ConsoleProbe.versionPrefix(version) else {
            f.note = "the console's version (GET version) is not MAJOR.MINOR.x: no versioned prefix to try"
            return f
        }
        let path = "/api/\(prefix)/version"
        let vv = try call("GET", path)
        f.evidence.append(evidence("GET", path, vv))
        if v1.ok && vv.ok && v1.json == vv.json {
            f.outcome = .defaultAnswer
        } else {
            f.outcome = .noKnownVariant
            f.note = "/api/v1/ answered \(v1.status), /api/\(prefix)/ answered \(vv.status)"
        }
        return f
    }

    func probeLicense() throws -> ProbeFinding {
        let r = try call("GET", "settings/license")
        var f = ProbeFinding(family: "license", outcome: .noKnownVariant)
        f.evidence = [evidence("GET", "settings/license", r, message: true)]
        guard r.status == 200 else { return f }
        if r.bodyText.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            f.outcome = .variant; f.variant = "license-empty"
        } else if let j = r.json, j.isNull {
            f.outcome = .variant; f.variant = "license-null"
        } else if case .object(let o)? = r.json {
            let dated = o.contains { k, v in
                k.lowercased().contains("expiration") && !(v.stringValue ?? "").isEmpty && v.stringValue != ProbeShape.goZeroTime
            }
            if dated || !(o["customer_id"]?.stringValue ?? "").isEmpty {
                f.outcome = .notTestable
                f.note = "the console is licensed: how it answers without a license cannot be seen here"
            } else {
                f.outcome = .defaultAnswer; f.variant = "license-object"
            }
        }
        return f
    }

    /// The fields of the OpenAPI 34.04 document's `api.User` (`password` left out: a console
    /// may well never send it back, whatever it does with other empty fields).
    static let userSchemaFields = ["authType", "description", "lastModified", "permissions", "role", "username"]

    func probeReadBack() throws -> ProbeFinding {
        let r = try call("GET", "users")
        var f = ProbeFinding(family: "read-back", outcome: .noKnownVariant)
        guard r.ok, let users = r.json?.arrayValue, !users.isEmpty else {
            f.evidence = [evidence("GET", "users", r, message: true)]
            f.note = "GET users did not answer a list of users"
            return f
        }
        var missing = Set<String>()
        for u in users {
            for field in ConsoleProbe.userSchemaFields where u[field] == nil { missing.insert(field) }
        }
        // The shape of the probe's own user (field names and types only).
        let me = users.first { $0["username"]?.stringValue == options.username } ?? users[0]
        f.evidence = [evidence("GET", "users", r, shape: ["list of \(users.count)": ProbeShape.of(me)])]
        if missing.isEmpty {
            f.outcome = .variant; f.variant = "zero-filled"
            f.note = "every user carries every field of api.User, empty ones included"
        } else {
            f.outcome = .defaultAnswer
            f.note = "fields of api.User left out where nothing is stored: \(missing.sorted().joined(separator: ", "))"
        }
        return f
    }

    /// Seconds from `issued` to the token's `exp` claim (a JWT's payload), or nil. The token
    /// itself is never shown.
    static func tokenLifetime(_ login: ConsoleResponse, issued: Date) -> Double? {
        guard let token = login.json?["token"]?.stringValue else { return nil }
        let parts = token.split(separator: ".")
        guard parts.count == 3 else { return nil }
        var b64 = String(parts[1]).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while b64.count % 4 != 0 { b64 += "=" }
        guard let data = Data(base64Encoded: b64), let text = String(data: data, encoding: .utf8),
              let exp = (try? JSON.parse(text))?["exp"]?.doubleValue else { return nil }
        return exp - issued.timeIntervalSince1970
    }

    /// Lifetimes within this many seconds count as equal (clocks, rounding).
    static let lifetimeTolerance: Double = 90
    /// The token lifetime public sources give (pan.dev "Access the API": 30 minutes), which is
    /// also sessionTimeoutSec's default: a console whose tokens last that long and whose
    /// sessionTimeoutSec is 1800 could be either variant.
    static let documentedLifetime: Double = 1800

    func probeSession(lifetime: Double?) throws -> ProbeFinding {
        var f = ProbeFinding(family: "session", outcome: .undetermined)
        let logon = try call("GET", "settings/logon")
        f.evidence.append(evidence("GET", "settings/logon", logon, message: true))
        var loginEvidence = ProbeEvidence(request: "POST \(client.apiPath("authenticate"))", response: nil)
        loginEvidence.status = 200
        loginEvidence.shape = .string(lifetime.map { "a token that expires after \(Int($0.rounded())) s" } ?? "a token without an exp claim")
        f.evidence.append(loginEvidence)
        guard let lifetime else {
            f.note = "the token carries no expiry (exp) to compare"
            return f
        }
        guard logon.ok, case .object(let settings)? = logon.json else {
            f.outcome = .failed
            f.note = "GET settings/logon failed"
            return f
        }
        let timeout = settings["sessionTimeoutSec"]?.doubleValue ?? 0
        let close = { (a: Double, b: Double) in abs(a - b) <= ConsoleProbe.lifetimeTolerance }
        if timeout > 0 && !close(timeout, lifetime) {
            f.outcome = .defaultAnswer
            f.note = "tokens last \(Int(lifetime.rounded())) s, sessionTimeoutSec is \(Int(timeout))"
            return f
        }
        if timeout > 0 && !close(timeout, ConsoleProbe.documentedLifetime) {
            f.outcome = .variant; f.variant = "session-timeout"
            f.note = "tokens last sessionTimeoutSec (\(Int(timeout)) s), not the documented 30 minutes"
            return f
        }
        guard options.scratch else {
            f.note = timeout > 0 ? "tokens last sessionTimeoutSec (\(Int(timeout)) s), which is also the documented fixed lifetime (30 minutes): --scratch changes sessionTimeoutSec for a moment to tell"
                : "sessionTimeoutSec is not set: --scratch sets it for a moment to tell"
            return f
        }
        // Change sessionTimeoutSec for one login, then put the settings back as read.
        let trial = (timeout > 0 ? timeout : lifetime) + 900
        var changed = settings
        changed["sessionTimeoutSec"] = .int(Int64(trial))
        lock.withLock { scratch.settings["logon"] = .object(settings) }
        let post = try call("POST", "settings/logon", .object(changed), idempotent: true)
        f.evidence.append(evidence("POST", "settings/logon", post, shape: .string("sessionTimeoutSec set to \(Int(trial)) for one login"), message: true))
        guard post.ok else {
            f.outcome = .failed
            f.note = "the console refused the changed logon settings"
            return f
        }
        let login = try client.login()
        let second = ConsoleProbe.tokenLifetime(login, issued: Date())
        var e2 = ProbeEvidence(request: "POST \(client.apiPath("authenticate"))", response: nil)
        e2.status = login.status
        e2.shape = .string(second.map { "a token that expires after \(Int($0.rounded())) s" } ?? "no token")
        f.evidence.append(e2)
        let restore = try call("POST", "settings/logon", .object(settings), idempotent: true)
        f.evidence.append(evidence("POST", "settings/logon", restore, shape: "the settings as read before", message: true))
        guard let second else { f.outcome = .failed; f.note = "the second login gave no token"; return f }
        if close(second, trial) {
            f.outcome = .variant; f.variant = "session-timeout"
            f.note = "tokens follow sessionTimeoutSec (\(Int(trial)) s → \(Int(second.rounded())) s)"
        } else if close(second, lifetime) {
            f.outcome = .defaultAnswer
            f.note = "tokens last \(Int(lifetime.rounded())) s whatever sessionTimeoutSec is"
        } else {
            f.outcome = .noKnownVariant
            f.note = "tokens lasted \(Int(lifetime.rounded())) s, then \(Int(second.rounded())) s with sessionTimeoutSec \(Int(trial))"
        }
        return f
    }

    static let ssoFlags = ["samlGroup", "oidcGroup", "oauthGroup", "ldapGroup"]

    func probeSSOGroups() throws -> ProbeFinding {
        var f = ProbeFinding(family: "sso-groups", outcome: .undetermined)
        let groups = try call("GET", "groups")
        let saml = try call("GET", "settings/saml")
        f.evidence.append(evidence("GET", "groups", groups, shape: .string("\(groups.json?.arrayValue?.count ?? 0) groups"), message: true))
        let samlOn = saml.json?["enabled"]?.boolValue == true
        f.evidence.append(evidence("GET", "settings/saml", saml, shape: .string("enabled: \(samlOn)"), message: true))
        let listed = groups.json?.arrayValue ?? []
        // An SSO group whose authentication is not configured, listed anyway: every group is listed.
        let unconfigured = listed.filter { g in
            (g["samlGroup"]?.boolValue == true && !samlOn) || ["oidcGroup", "oauthGroup", "ldapGroup"].contains { g[$0]?.boolValue == true }
        }
        if !unconfigured.isEmpty {
            f.outcome = .defaultAnswer
            f.note = "\(unconfigured.count) SSO group(s) of an authentication that is not set up are listed"
            return f
        }
        guard options.scratch else {
            f.outcome = .notProbed
            f.note = "no listed SSO group tells: --scratch creates an OIDC group to see whether GET groups lists it"
            return f
        }
        let name = scratchPrefix + "-sso"
        let created = try createGroup(name, role: "user", extra: ["oidcGroup": true])
        f.evidence.append(evidence("POST", "groups", created, shape: "an OIDC group (oidcGroup: true)", message: true))
        guard created.ok else {
            f.outcome = .failed
            f.note = "the console refused the scratch OIDC group"
            return f
        }
        let after = try call("GET", "groups")
        let present = (after.json?.arrayValue ?? []).contains { $0["groupName"]?.stringValue == name }
        f.evidence.append(evidence("GET", "groups", after, shape: .string(present ? "the OIDC group is listed" : "the OIDC group is not listed"), message: true))
        if present {
            f.outcome = .defaultAnswer
        } else {
            f.outcome = .variant; f.variant = "sso-groups-hidden"
            f.note = "an OIDC group (OIDC not set up) is left out of GET groups"
        }
        return f
    }

    // MARK: - Questions that need a write (--scratch)

    private func createGroup(_ name: String, role: String, extra: [String: JSON] = [:]) throws -> ConsoleResponse {
        var body: [String: JSON] = ["groupName": .string(name), "role": .string(role)]
        for (k, v) in extra { body[k] = v }
        lock.withLock { scratch.groups.append(name) }
        return try call("POST", "groups", .object(body))
    }

    /// 409 → default, 400/500 with "already exists" → duplicate-400/-500.
    private func classifyDuplicate(_ r: ConsoleResponse) -> (ProbeOutcome, String?) {
        let exists = r.message.lowercased().contains("already exists")
        switch r.status {
        case 409: return (.defaultAnswer, nil)
        case 400 where exists: return (.variant, "duplicate-400")
        case 500 where exists: return (.variant, "duplicate-500")
        default: return (.noKnownVariant, nil)
        }
    }

    func probeDuplicate() throws -> ProbeFinding {
        var f = ProbeFinding(family: "duplicate", outcome: .failed)
        let group = scratchPrefix + "-group"
        let first = try createGroup(group, role: "user")
        f.evidence.append(evidence("POST", "groups", first, shape: "a new group", message: true))
        guard first.ok else { f.note = "the console refused the scratch group"; return f }
        let again = try call("POST", "groups", ["groupName": .string(group), "role": "user"])
        f.evidence.append(evidence("POST", "groups", again, shape: .string(again.ok ? "the same group again: accepted" : "the same group again"), message: true))

        let user = scratchPrefix + "-user"
        let password = ConsoleProbe.scratchPassword()
        redactor.add(password)
        lock.withLock { scratch.users.append(user) }
        let body: JSON = ["username": .string(user), "password": .string(password), "role": "user", "authType": "basic"]
        let u1 = try call("POST", "users", body)
        f.evidence.append(evidence("POST", "users", u1, shape: "a new basic user", message: true))
        guard u1.ok else { f.note = "the console refused the scratch user"; return f }
        let u2 = try call("POST", "users", body)
        f.evidence.append(evidence("POST", "users", u2, shape: "the same user again", message: true))

        let (g, gv) = classifyDuplicate(again)
        let (u, uv) = classifyDuplicate(u2)
        if g == u && gv == uv {
            f.outcome = g; f.variant = gv
        } else {
            f.outcome = .noKnownVariant
            f.note = "groups and users answer a duplicate differently (\(again.status), \(u2.status))"
        }
        return f
    }

    /// A password any strong-password rule accepts; it is masked wherever it could show.
    static func scratchPassword() -> String {
        let letters = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
        return "Tp-" + String((0..<24).map { _ in letters.randomElement()! }) + "9a!Z"
    }

    func probeGroupPut() throws -> ProbeFinding {
        var f = ProbeFinding(family: "group-put", outcome: .failed)
        let name = scratchPrefix + "-group"
        guard lock.withLock({ scratch.groups.contains(name) }) else {
            f.note = "needs the scratch group of the duplicate question"
            return f
        }
        let list = try call("GET", "groups")
        guard let stored = (list.json?.arrayValue ?? []).first(where: { $0["groupName"]?.stringValue == name }) else {
            f.evidence.append(evidence("GET", "groups", list, shape: "the scratch group is not listed", message: true))
            f.note = "the scratch group is not listed"
            return f
        }
        let id = stored["_id"]?.stringValue ?? name
        let path = "groups/" + (id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? id)
        let r = try call("PUT", path, ["groupName": .string(name), "role": "user"])
        f.evidence.append(evidence("PUT", path, r, shape: "the group without lastModified", message: true))
        if r.ok {
            f.outcome = .defaultAnswer
        } else if r.status == 400 && r.message.lowercased().contains("already exists") {
            f.outcome = .variant; f.variant = "group-put-lastmodified"
        } else {
            f.outcome = .noKnownVariant
        }
        return f
    }

    func probeRoles() throws -> ProbeFinding {
        var f = ProbeFinding(family: "roles", outcome: .failed)
        var accepted: [Bool] = []
        for (suffix, role, what) in [("-role-custom", scratchPrefix + "-role", "a role nobody defined"),
                                     ("-role-cam", "cloudAccountManager", "role cloudAccountManager")] {
            let r = try createGroup(scratchPrefix + suffix, role: role)
            f.evidence.append(evidence("POST", "groups", r, shape: .string("a group with \(what)"), message: true))
            if r.ok {
                accepted.append(true)
            } else if r.status == 400 {
                accepted.append(false)
            } else {
                f.outcome = .noKnownVariant
                f.note = "a group with \(what) was answered \(r.status)"
                return f
            }
        }
        switch (accepted[0], accepted[1]) {
        case (false, false): f.outcome = .defaultAnswer
        case (true, true): f.outcome = .variant; f.variant = "lenient-roles"
        default:
            f.outcome = .noKnownVariant
            f.note = accepted[1] ? "cloudAccountManager is accepted, an undefined role is not" : "an undefined role is accepted, cloudAccountManager is not"
        }
        return f
    }

    static let probedPolicy = "policies/runtime/container"

    func probePolicyValidation() throws -> ProbeFinding {
        var f = ProbeFinding(family: "policy-validation", outcome: .failed)
        let path = ConsoleProbe.probedPolicy
        let read = try call("GET", path)
        guard read.ok, case .object(var policy)? = read.json else {
            f.evidence.append(evidence("GET", path, read, message: true))
            f.note = "\(path) could not be read"
            return f
        }
        let rules = policy["rules"]?.arrayValue ?? []
        f.evidence.append(evidence("GET", path, read, shape: .string("a policy of \(rules.count) rules")))
        let ruleName = scratchPrefix + "-rule"
        // A rule that applies to no collection: only a strict console refuses it.
        let rule: JSON = ["name": .string(ruleName), "collections": []]
        let original = JSON.object(policy)
        policy["rules"] = .array([rule] + rules)
        lock.withLock { scratch.policies[path] = (original, ruleName) }
        let put = try call("PUT", path, .object(policy))
        f.evidence.append(evidence("PUT", path, put, shape: "the policy with one more rule, without collections", message: true))
        if put.ok {
            f.outcome = .defaultAnswer
        } else if put.status == 400 && put.message.lowercased().contains("collection") {
            f.outcome = .variant; f.variant = "strict-policy"
        } else {
            f.outcome = .noKnownVariant
        }
        return f
    }

    // MARK: - Clean-up and verification

    /// What the probe created or changed, to undo.
    struct ScratchRecord {
        var groups: [String] = []
        var users: [String] = []
        /// Policy path → (as read before, the rule the probe added).
        var policies: [String: (JSON, String)] = [:]
        /// Settings name → as read before.
        var settings: [String: JSON] = [:]
        /// `users` and `groups` as listed before the first write.
        var listsBefore: [String: [JSON]] = [:]
    }

    private func cleanUp(_ report: inout ProbeReport) {
        let record = lock.withLock { scratch }
        if record.groups.isEmpty && record.users.isEmpty && record.policies.isEmpty && record.settings.isEmpty { return }
        emit("clean-up: removing what the probe created (\(scratchPrefix)-*)")
        var connection = options.connection
        connection.requestTimeout = min(connection.requestTimeout, options.cleanupTimeout)
        connection.maxRetries = options.cleanupRetries
        connection.deadline = nil
        let base = ConsoleProbe.displayURL(options.connection.baseURL)
        let c: ConsoleClient
        do {
            c = try ConsoleClient(connection: connection, redactor: redactor)
        } catch {
            report.problems.append(redactor.redact("clean-up: \(error)"))
            for g in record.groups { report.leftovers.append(Self.removeCommand("groups/\(g)", base: base)) }
            for u in record.users { report.leftovers.append(Self.removeCommand("users/\(u)", base: base)) }
            return
        }
        defer { c.shutdown() }
        c.setCredentials(username: options.username, password: options.password)
        var cleanUp = ProbeCleanUp(client: c, redactor: redactor, record: record, scratchPrefix: scratchPrefix,
                                   base: base, report: report)
        cleanUp.run()
        report = cleanUp.report
        if report.leftovers.isEmpty && report.differences.isEmpty {
            emit("clean-up: every scratch object removed; the console reads as before")
        } else {
            for l in report.leftovers { emit("✘ not removed: \(l)") }
            for d in report.differences { emit("✘ not restored: \(d)") }
        }
    }

    /// The command that removes a leftover scratch object (the token is the operator's own).
    static func removeCommand(_ path: String, base: String) -> String {
        "curl -X DELETE -H \"Authorization: Bearer $TOKEN\" \(base)/api/v1/\(path)"
    }

    /// The paths at which two values differ (field names and rule names, no values).
    static func differingPaths(_ a: JSON, _ b: JSON, prefix: String = "", limit: Int = 10) -> [String] {
        var out: [String] = []
        func walk(_ x: JSON, _ y: JSON, _ p: String) {
            guard out.count < limit else { return }
            switch (x, y) {
            case (.object(let o1), .object(let o2)):
                for k in Set(o1.keys).union(o2.keys).sorted() {
                    let p2 = p.isEmpty ? k : "\(p).\(k)"
                    if let v1 = o1[k], let v2 = o2[k] { walk(v1, v2, p2) } else { out.append(p2) }
                }
            case (.array(let a1), .array(let a2)) where a1.count == a2.count:
                for (i, (v1, v2)) in zip(a1, a2).enumerated() {
                    let label = v1["name"]?.stringValue.map { "[\($0)]" } ?? "[\(i)]"
                    walk(v1, v2, p + label)
                }
            default:
                if !x.isEquivalent(to: y) { out.append(p.isEmpty ? "(the value)" : p) }
            }
        }
        walk(a, b, prefix)
        return out
    }

    /// The URL without user information.
    static func displayURL(_ url: String) -> String {
        guard var c = URLComponents(string: url) else { return url }
        c.user = nil
        c.password = nil
        return c.string ?? url
    }
}

extension ProbeReport {
    /// The summary lines `twistlock-init probe` ends with.
    public var summaryLines: [String] {
        var lines = ["console \(consoleURL)\(version.map { " (version \($0))" } ?? ""), \(scratch ? "with --scratch" : "read-only")"]
        let width = (findings.map(\.family.count).max() ?? 10) + 2
        for f in findings {
            lines.append("  " + f.family.padding(toLength: width, withPad: " ", startingAt: 0) + f.summary)
        }
        lines.append("matched variants: " + (matchedVariants.isEmpty ? "none (the simulator's defaults)" : matchedVariants.joined(separator: ", ")))
        return lines
    }
}
