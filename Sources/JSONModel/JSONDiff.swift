/// One step of a path into a JSON value. Paths are kept as components; their text
/// (`rules[name="X"].effect`) is made only to show them.
public enum JSONPathComponent: Hashable, Sendable {
    /// An object member.
    case key(String)
    /// An array element, 0-based.
    case index(Int)
    /// The element of an array of objects whose identity field `field` is `value`.
    case element(field: String, value: String)
}

/// One difference between two JSON values, found by `JSON.diff`.
public struct JSONChange: Equatable, Sendable, CustomStringConvertible {
    public enum Kind: String, Equatable, Sendable {
        case added, changed, removed
    }

    /// Where the change is, from the root (empty: the root itself).
    public var components: [JSONPathComponent]
    public var kind: Kind
    /// The value before (`nil` when added).
    public var old: JSON?
    /// The value after (`nil` when removed).
    public var new: JSON?

    public init(at components: [JSONPathComponent], kind: Kind, old: JSON?, new: JSON?) {
        self.components = components
        self.kind = kind
        self.old = old
        self.new = new
    }

    /// Where the change is, as text: `rules[0].effect`, `consoleSAN[2]`, `stdout.enabled`,
    /// `labels["app.kubernetes.io/name"]`, `rules[name="Default - alert all"].effect`.
    /// The empty string is the root.
    public var path: String { JSON.pathText(components) }

    public var description: String {
        let where_ = path.isEmpty ? "(root)" : path
        switch kind {
        case .added: return "+ \(where_): \(new?.encoded() ?? "null")"
        case .removed: return "- \(where_): \(old?.encoded() ?? "null")"
        case .changed: return "~ \(where_): \(old?.encoded() ?? "null") -> \(new?.encoded() ?? "null")"
        }
    }
}

extension JSON {
    /// The fields that name the elements of an array of objects, in the order they are tried.
    public static let diffIdentityKeys = ["name", "_id", "username", "groupName"]

    /// The differences from `before` to `after`, in a deterministic order (object keys sorted,
    /// array elements in order). Numbers compare by value (`1` and `1.0` are not a change).
    ///
    /// - `before == nil` (a creation): every leaf of `after` is `added` (empty arrays and
    ///   objects count as leaves; an empty root object is one change at the root).
    /// - Objects compare member by member; a member only on one side is one `added` or
    ///   `removed` change holding the whole member value.
    /// - Arrays whose elements (on both sides) are all objects carrying a unique string
    ///   `name` (else `_id`, `username`, `groupName`) are matched by that key:
    ///   `rules[name="Default - alert all"].effect`. When the elements both sides share
    ///   appear in a different order, one `changed` at the array's own path reports it,
    ///   with `old`/`new` holding the keys of those elements in their before/after order.
    /// - Other arrays compare by index.
    /// - Any other difference (scalars, or a change of type) is one `changed`.
    public static func diff(before: JSON?, after: JSON) -> [JSONChange] {
        var changes: [JSONChange] = []
        if let before {
            compare(before, after, path: [], into: &changes)
        } else {
            addLeaves(after, path: [], into: &changes)
        }
        return changes
    }

    // MARK: Paths

    static func isPlainIdentifier(_ key: String) -> Bool {
        guard let first = key.unicodeScalars.first else { return false }
        func isLetter(_ s: Unicode.Scalar) -> Bool {
            (s >= "a" && s <= "z") || (s >= "A" && s <= "Z") || s == "_"
        }
        guard isLetter(first) else { return false }
        return key.unicodeScalars.allSatisfy { isLetter($0) || ($0 >= "0" && $0 <= "9") }
    }

    /// The text of a path: `rules[name="X"].effect`, `labels["a.b"]`, `l[0]` ("" for the root).
    public static func pathText(_ components: [JSONPathComponent]) -> String {
        var text = ""
        for component in components {
            switch component {
            case .key(let key): text = diffPath(text, key: key)
            case .index(let index): text = diffPath(text, index: index)
            case .element(let field, let value): text = diffPath(text, field: field, value: value)
            }
        }
        return text
    }

    /// `path` extended by the object member `key`.
    public static func diffPath(_ path: String, key: String) -> String {
        if isPlainIdentifier(key) { return path.isEmpty ? key : path + "." + key }
        return path + "[" + quote(key) + "]"
    }

    /// `path` extended by the array element at `index` (0-based).
    public static func diffPath(_ path: String, index: Int) -> String {
        path + "[\(index)]"
    }

    /// `path` extended by the array element whose identity field `field` is `value`.
    public static func diffPath(_ path: String, field: String, value: String) -> String {
        path + "[" + field + "=" + quote(value) + "]"
    }

    // MARK: Comparison

    private static func compare(_ a: JSON, _ b: JSON, path: [JSONPathComponent], into changes: inout [JSONChange]) {
        switch (a, b) {
        case (.object(let x), .object(let y)):
            var keys = Set(x.keys)
            keys.formUnion(y.keys)
            let sorted = keys.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
            for key in sorted {
                let sub = path + [.key(key)]
                switch (x[key], y[key]) {
                case (let old?, let new?): compare(old, new, path: sub, into: &changes)
                case (let old?, nil): changes.append(JSONChange(at: sub, kind: .removed, old: old, new: nil))
                case (nil, let new?): changes.append(JSONChange(at: sub, kind: .added, old: nil, new: new))
                case (nil, nil): break
                }
            }
        case (.array(let x), .array(let y)):
            if let field = identityField(x, y) {
                compareKeyed(x, y, field: field, path: path, into: &changes)
            } else {
                for i in 0..<max(x.count, y.count) {
                    let sub = path + [.index(i)]
                    if i < x.count && i < y.count {
                        compare(x[i], y[i], path: sub, into: &changes)
                    } else if i < x.count {
                        changes.append(JSONChange(at: sub, kind: .removed, old: x[i], new: nil))
                    } else {
                        changes.append(JSONChange(at: sub, kind: .added, old: nil, new: y[i]))
                    }
                }
            }
        default:
            if !a.isEquivalent(to: b) {
                changes.append(JSONChange(at: path, kind: .changed, old: a, new: b))
            }
        }
    }

    /// The identity field shared by all elements of both arrays (unique per array), if any.
    static func identityField(_ x: [JSON], _ y: [JSON]) -> String? {
        guard !(x.isEmpty && y.isEmpty) else { return nil }
        for field in diffIdentityKeys {
            if identities(x, field: field) != nil, identities(y, field: field) != nil { return field }
        }
        return nil
    }

    /// The values of `field` of every element, when every element is an object holding a
    /// distinct string there.
    static func identities(_ elements: [JSON], field: String) -> [String]? {
        var seen = Set<String>()
        var result: [String] = []
        for element in elements {
            guard case .object(let o) = element, case .string(let id)? = o[field], seen.insert(id).inserted else {
                return nil
            }
            result.append(id)
        }
        return result
    }

    private static func compareKeyed(_ x: [JSON], _ y: [JSON], field: String, path: [JSONPathComponent], into changes: inout [JSONChange]) {
        let xIDs = identities(x, field: field)!
        let yIDs = identities(y, field: field)!
        var xByID: [String: JSON] = [:]
        for (id, element) in zip(xIDs, x) { xByID[id] = element }
        var yByID: [String: JSON] = [:]
        for (id, element) in zip(yIDs, y) { yByID[id] = element }

        let commonBefore = xIDs.filter { yByID[$0] != nil }
        let commonAfter = yIDs.filter { xByID[$0] != nil }
        if commonBefore != commonAfter {
            changes.append(JSONChange(
                at: path, kind: .changed,
                old: .array(commonBefore.map { .string($0) }),
                new: .array(commonAfter.map { .string($0) })
            ))
        }
        // Removed elements in their before order, then kept and added ones in after order.
        for id in xIDs where yByID[id] == nil {
            changes.append(JSONChange(at: path + [.element(field: field, value: id)], kind: .removed, old: xByID[id], new: nil))
        }
        for id in yIDs {
            let sub = path + [.element(field: field, value: id)]
            if let old = xByID[id] {
                compare(old, yByID[id]!, path: sub, into: &changes)
            } else {
                changes.append(JSONChange(at: sub, kind: .added, old: nil, new: yByID[id]))
            }
        }
    }

    private static func addLeaves(_ value: JSON, path: [JSONPathComponent], into changes: inout [JSONChange]) {
        switch value {
        case .object(let o) where !o.isEmpty:
            for key in sortedKeys(o) {
                addLeaves(o[key]!, path: path + [.key(key)], into: &changes)
            }
        case .array(let a) where !a.isEmpty:
            if let field = identityField(a, []), let ids = identities(a, field: field) {
                for (id, element) in zip(ids, a) {
                    addLeaves(element, path: path + [.element(field: field, value: id)], into: &changes)
                }
            } else {
                for (i, element) in a.enumerated() {
                    addLeaves(element, path: path + [.index(i)], into: &changes)
                }
            }
        default:
            changes.append(JSONChange(at: path, kind: .added, old: nil, new: value))
        }
    }
}
