import Foundation
import JSONModel

/// Builds the values of a run the way Helm does, then checks them.
///
/// 1. the built-in defaults (`Values.defaults`, documented in docs/values.md);
/// 2. each `-f` file in order, later files winning: maps merge deeply, lists and scalars
///    replace, and an explicit `null` removes the key (also a default);
/// 3. the `--set` arguments, applied on top of the files (Helm semantics, see
///    `SetArguments`);
/// 4. the secrets directory: a file named like a secret key fills that key (the file wins);
/// 5. list item defaults (`authType` of users and groups) where missing or empty, and the
///    metrics user's name (`MetricsUser`);
/// 6. validation: every problem at once (`ValuesError.invalid`), warnings kept in
///    `Values.warnings`.
///
/// Keys nobody reads (`UnknownKeys`) are found in each file and each `--set` on its own, so
/// each is named with its source; they are warnings, or problems with `strict`.
public enum ValuesLoader {
    /// `requireSecrets: false` (`list`): missing secrets (passwords) are no problem.
    public static func load(files: [URL], sets: [String], setStrings: [String] = [], secretsDir: URL?,
                            strict: Bool = false, requireSecrets: Bool = true) throws -> Values {
        var user: JSON = .object([:])
        var unknown: [ValuesProblem] = []
        for file in files {
            guard let document = try ValuesYAML.read(file: file) else { continue }
            guard case .object = document else {
                throw ValuesError.unreadable(file: file.path, reason: "the top level is not a mapping (key: value)")
            }
            unknown += UnknownKeys.find(in: document, source: file.path)
            user = mergeUser(user, document)
        }
        var setProblems: [ValuesProblem] = []
        // All `--set`, then all `--set-string` (Helm's order).
        for (argument, asString) in sets.map({ ($0, false) }) + setStrings.map({ ($0, true) }) {
            do {
                let parsed = try SetArguments.parse(argument, forceString: asString)
                user = SetArguments.apply(parsed, to: user)
                unknown += UnknownKeys.find(in: SetArguments.apply(parsed, to: .object([:])),
                                            source: (asString ? "--set-string " : "--set ")
                                                + parsed.map { ValuePath.string($0.path) + "=…" }.joined(separator: ","))
            } catch let error as SetArguments.SyntaxError {
                setProblems.append(ValuesProblem(key: "\(error.flag) \(error.argument)", message: error.message))
            }
        }
        if !setProblems.isEmpty { throw ValuesError.invalid(setProblems) }
        if strict && !unknown.isEmpty {
            let strictUnknown = unknown.map { ValuesProblem(key: $0.key, message: $0.message + " (an error under --strict)") }
            do {
                _ = try complete(user: user, secretsDir: secretsDir, requireSecrets: requireSecrets)
            } catch ValuesError.invalid(let problems) {
                throw ValuesError.invalid(strictUnknown + problems)
            }
            throw ValuesError.invalid(strictUnknown)
        }
        let values = try complete(user: user, secretsDir: secretsDir, requireSecrets: requireSecrets)
        return Values(root: values.root, secrets: values.secrets, warnings: unknown + values.warnings,
                      secretsDir: values.secretsDir)
    }

    /// Steps 1 and 4–6 for values already merged (tests, tools).
    public static func complete(user: JSON, secretsDir: URL?, requireSecrets: Bool = true) throws -> Values {
        var root = stripNulls(coalesce(defaults: ValuesSchema.defaults, user: user))
        var warnings: [ValuesProblem] = []
        var filled: Set<String> = []
        if let secretsDir {
            (root, filled) = try SecretsDirectory.fill(root, from: secretsDir, warnings: &warnings)
        }
        root = fillItemDefaults(root)
        root = fillMetricsUsername(root, user: user)
        var validator = ValuesValidator()
        validator.fromSecretFiles = filled
        validator.validate(root)
        if !requireSecrets { validator.problems.removeAll { $0.missingSecret } }
        if !validator.problems.isEmpty { throw ValuesError.invalid(validator.problems) }
        return Values(root: root, secrets: SecretsDirectory.collect(root),
                      warnings: warnings + validator.warnings, secretsDir: secretsDir)
    }

    /// User values among themselves: maps merge, everything else (null included) replaces.
    static func mergeUser(_ base: JSON, _ override: JSON) -> JSON {
        guard case .object(var merged) = base, case .object(let top) = override else { return override }
        for (key, value) in top {
            if let existing = merged[key], case .object = existing, case .object = value {
                merged[key] = mergeUser(existing, value)
            } else {
                merged[key] = value
            }
        }
        return .object(merged)
    }

    /// User values over the defaults: maps merge, a user `null` removes the key, everything
    /// else replaces.
    static func coalesce(defaults: JSON, user: JSON) -> JSON {
        guard case .object(var merged) = defaults, case .object(let top) = user else { return user }
        for (key, value) in top {
            if case .null = value {
                merged[key] = nil
            } else if let existing = merged[key], case .object = existing, case .object = value {
                merged[key] = coalesce(defaults: existing, user: value)
            } else {
                merged[key] = value
            }
        }
        return .object(merged)
    }

    /// Removes null members of maps (not inside lists: a list is the user's as written).
    static func stripNulls(_ value: JSON) -> JSON {
        guard case .object(let object) = value else { return value }
        var result: [String: JSON] = [:]
        for (key, member) in object {
            if case .null = member { continue }
            result[key] = stripNulls(member)
        }
        return .object(result)
    }

    /// `authType` of each user (basic) and group (oidcGroup) when missing, null or "".
    static func fillItemDefaults(_ root: JSON) -> JSON {
        var result = root
        func fill(_ key: String, _ defaultValue: String) {
            guard case .array(var items)? = result["console"]?[key] else { return }
            for i in items.indices {
                guard case .object = items[i] else { continue }
                switch items[i]["authType"] {
                case nil, .null?: items[i]["authType"] = .string(defaultValue)
                case .string("")?: items[i]["authType"] = .string(defaultValue)
                default: break
                }
            }
            result = SetArguments.set(result, [.key("console"), .key(key)], .array(items))
        }
        fill("additionalUsers", ValuesSchema.userAuthTypeDefault)
        fill("groups", ValuesSchema.groupAuthTypeDefault)
        return result
    }

    /// `monitoring.username` when missing, null or "" (after the secrets directory, whose file
    /// wins): `MetricsUser.defaultName(for:)` of the user's values.
    static func fillMetricsUsername(_ root: JSON, user: JSON) -> JSON {
        guard case .object = root["monitoring"] ?? .object([:]) else { return root }   // wrong kind: reported
        switch root["monitoring"]?["username"] {
        case nil, .null?, .string("")?:
            return SetArguments.set(root, [.key("monitoring"), .key("username")], .string(MetricsUser.defaultName(for: user)))
        default:
            return root
        }
    }

    /// Reads a secret for the Lua `secret()` primitive (see `SecretsDirectory.readSecret`).
    public static func readSecret(named name: String, in dir: URL) throws -> String {
        try SecretsDirectory.readSecret(named: name, in: dir)
    }
}
