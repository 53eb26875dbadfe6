import Foundation
import JSONModel

/// Policy writes: a PUT replaces the whole policy (rule order is precedence). The console
/// validates what it stores: rule names present and unique, compliance checks known and of
/// the endpoint's types, thresholds in range, custom rules that exist, trust rules that name
/// existing trust groups. Rules whose content changed get the caller as `owner` and a new
/// `modified`; unchanged rules keep theirs.
extension ConsoleCore {
    func putPolicy(_ key: String, _ body: JSON, user: String?, stamp: String) throws -> APIResponse {
        guard let old = state.policies[key] else { return .error(404, "policy \(key) not found") }
        var policy = body
        if key == "firewall/network" {
            policy["_id"] = old["_id"]
            if !policy.isEquivalent(to: old) {
                policy["owner"] = .string(user ?? "")
                policy["modified"] = .string(stamp)
            }
            state.policies[key] = policy
            return .okEmpty
        }
        let rules = body["rules"]?.arrayValue ?? []
        try validateRules(rules, key: key)
        policy["rules"] = .array(stampRules(rules, old: old["rules"]?.arrayValue ?? [], user: user, stamp: stamp))
        policy["_id"] = old["_id"]
        if let type = old["policyType"] { policy["policyType"] = type }
        state.policies[key] = policy
        return .okEmpty
    }

    /// `POST policies/runtime/{kind}`: add one rule on top, or replace the rule of that name.
    func postRuntimeRule(_ key: String, _ rule: JSON, user: String?, stamp: String) throws -> APIResponse {
        guard var policy = state.policies[key] else { return .error(404, "policy \(key) not found") }
        try validateRules([rule], key: key)
        var rules = policy["rules"]?.arrayValue ?? []
        let name = rule["name"]?.stringValue
        let stamped = stampRules([rule], old: rules, user: user, stamp: stamp)[0]
        if let i = rules.firstIndex(where: { $0["name"]?.stringValue == name }) {
            rules[i] = stamped
        } else {
            rules.insert(stamped, at: 0)
        }
        policy["rules"] = .array(rules)
        state.policies[key] = policy
        return .okEmpty
    }

    func validateRules(_ rules: [JSON], key: String) throws {
        var names = Set<String>()
        for (i, rule) in rules.enumerated() {
            guard let name = rule["name"]?.stringValue, !name.isEmpty else {
                throw HandlerError.response(.error(400, "rule \(i) has no name"))
            }
            guard names.insert(name).inserted else {
                throw HandlerError.response(.error(400, "rule names must be unique: \(JSON.quote(name)) appears more than once"))
            }
        }
        if variants.contains("strict-policy") { try validateStrictly(rules) }
        let parts = key.split(separator: "/").map(String.init)
        switch parts.first {
        case "compliance": try validateCompliance(rules, endpoint: parts[1])
        case "vulnerability": try validateThresholds(rules)
        case "runtime": try validateCustomRuleRefs(rules)
        default: break
        }
    }

    /// The `strict-policy` variant: every rule applies to some collection, every effect
    /// (`effect`, `…Effect`, at any depth) is a known one, every threshold value is in 0-10.
    func validateStrictly(_ rules: [JSON]) throws {
        let effects: Set<String> = ["", "allow", "deny", "block", "alert", "prevent", "disable"]
        for rule in rules {
            let name = JSON.quote(rule["name"]?.stringValue ?? "")
            if (rule["collections"]?.arrayValue ?? []).isEmpty {
                throw HandlerError.response(.error(400, "rule \(name): a rule must apply to at least one collection"))
            }
            func walk(_ v: JSON, _ path: String) throws {
                switch v {
                case .object(let o):
                    for (k, x) in o {
                        let sub = path.isEmpty ? k : path + "." + k
                        if k == "effect" || k.hasSuffix("Effect"), let e = x.stringValue, !effects.contains(e) {
                            throw HandlerError.response(.error(400, "rule \(name): invalid effect \(JSON.quote(e)) at \(sub)"))
                        }
                        if k == "alertThreshold" || k == "blockThreshold", let value = x["value"]?.doubleValue, !(0...10).contains(value) {
                            throw HandlerError.response(.error(400, "rule \(name): \(sub) value \(value) is outside 0-10"))
                        }
                        try walk(x, sub)
                    }
                case .array(let a):
                    for (i, x) in a.enumerated() { try walk(x, "\(path)[\(i)]") }
                default:
                    break
                }
            }
            try walk(rule, "")
        }
    }

    func validateCompliance(_ rules: [JSON], endpoint: String) throws {
        let allowed = Set(ComplianceCatalog.endpointTypes[endpoint] ?? [])
        for rule in rules {
            let name = rule["name"]?.stringValue ?? ""
            for cond in rule["condition"]?["vulnerabilities"]?.arrayValue ?? [] {
                guard let id = cond["id"]?.intValue else {
                    throw HandlerError.response(.error(400, "rule \(JSON.quote(name)): compliance condition without an id"))
                }
                guard let check = catalogByID[id] else {
                    throw HandlerError.response(.error(400, "rule \(JSON.quote(name)): unknown compliance check \(id)"))
                }
                guard allowed.contains(check.type) else {
                    throw HandlerError.response(.error(400, "rule \(JSON.quote(name)): compliance check \(id) of type \(check.type) does not apply to \(endpoint) policies"))
                }
            }
        }
    }

    func validateThresholds(_ rules: [JSON]) throws {
        for rule in rules {
            let name = rule["name"]?.stringValue ?? ""
            for field in ["alertThreshold", "blockThreshold"] {
                if let v = rule[field]?["value"]?.doubleValue, !(0...10).contains(v) {
                    throw HandlerError.response(.error(400, "rule \(JSON.quote(name)): \(field) value \(v) is outside 0-10"))
                }
            }
        }
    }

    func validateCustomRuleRefs(_ rules: [JSON]) throws {
        let known = Set(state.customRules.compactMap { $0["_id"]?.intValue })
        for rule in rules {
            let name = rule["name"]?.stringValue ?? ""
            for ref in rule["customRules"]?.arrayValue ?? [] {
                guard let id = ref["_id"]?.intValue else {
                    throw HandlerError.response(.error(400, "rule \(JSON.quote(name)): custom rule reference without _id"))
                }
                guard known.contains(id) else {
                    throw HandlerError.response(.error(400, "rule \(JSON.quote(name)): custom rule \(id) does not exist"))
                }
            }
        }
    }

    func stampRules(_ rules: [JSON], old: [JSON], user: String?, stamp: String) -> [JSON] {
        func content(_ r: JSON) -> JSON {
            var r = r
            r["modified"] = nil
            r["owner"] = nil
            return r
        }
        return rules.map { rule in
            var r = rule
            if let before = old.first(where: { $0["name"]?.stringValue == rule["name"]?.stringValue }),
               content(before).isEquivalent(to: content(rule)) {
                r["modified"] = before["modified"]
                r["owner"] = before["owner"]
            } else {
                r["modified"] = .string(stamp)
                r["owner"] = .string(user ?? "")
            }
            return r
        }
    }

    func putTrust(_ body: JSON, user: String?, stamp: String) throws -> APIResponse {
        var data = body
        let groups = body["groups"]?.arrayValue ?? []
        var ids = Set<String>()
        for g in groups {
            guard let id = g["_id"]?.stringValue, !id.isEmpty else {
                return .error(400, "trust group without _id")
            }
            guard ids.insert(id).inserted else { return .error(400, "trust group \(JSON.quote(id)) appears more than once") }
        }
        var policy = body["policy"] ?? ["enabled": false, "rules": []]
        let rules = policy["rules"]?.arrayValue ?? []
        var names = Set<String>()
        for rule in rules {
            guard let name = rule["name"]?.stringValue, !name.isEmpty else { return .error(400, "trust rule without a name") }
            guard names.insert(name).inserted else {
                return .error(400, "rule names must be unique: \(JSON.quote(name)) appears more than once")
            }
            for field in ["allowedGroups", "deniedGroups"] {
                for g in rule[field]?.arrayValue ?? [] where !ids.contains(g.stringValue ?? "") {
                    return .error(400, "trust rule \(JSON.quote(name)): \(field) names unknown trust group \(g.stringValue.map { JSON.quote($0) } ?? g.encoded())")
                }
            }
        }
        policy["_id"] = "trust"
        policy["rules"] = .array(stampRules(rules, old: state.trust["policy"]?["rules"]?.arrayValue ?? [], user: user, stamp: stamp))
        data["policy"] = policy
        let oldGroups = state.trust["groups"]?.arrayValue ?? []
        data["groups"] = .array(groups.map { g in
            var g = g
            let before = oldGroups.first { $0["_id"]?.stringValue == g["_id"]?.stringValue }
            var a = g, b = before ?? .null
            for k in ["modified", "owner"] { a[k] = nil; b[k] = nil }
            if let before, a.isEquivalent(to: b) {
                g["modified"] = before["modified"]
                g["owner"] = before["owner"]
            } else {
                g["modified"] = .string(stamp)
                g["owner"] = .string(user ?? "")
            }
            return g
        })
        state.trust = data
        return .okEmpty
    }
}
