import JSONModel

/// Keys of a values document that nobody reads: neither the job, nor the chart, nor the Big Bang
/// console chart that shares the file (`ValuesSchema.fields` knows all three). Each is reported
/// with where it comes from (a file or a `--set` argument) and, when one is close, the known key
/// it probably meant. The contents of free-form maps (resources, tolerations, selectors, …) are
/// not looked into.
public enum UnknownKeys {
    /// The unknown keys of one document, each a `ValuesProblem` naming the key path
    /// (`console.additionalUsers[0].usrname`), the source and a suggestion.
    public static func find(in document: JSON, source: String) -> [ValuesProblem] {
        var out: [ValuesProblem] = []
        walk(document, ValuesSchema.root, path: "", source: source, into: &out)
        return out
    }

    static func walk(_ value: JSON, _ type: SchemaType, path: String, source: String, into out: inout [ValuesProblem]) {
        switch type {
        case .record(let fields):
            guard case .object(let object) = value else { return }
            var known: [String: SchemaField] = [:]
            for field in fields { known[field.name] = field }
            for key in object.keys.sorted() {
                let childPath = ValuePath.join(path, key)
                if let field = known[key] ?? known[SchemaField.otherKeys] {
                    walk(object[key]!, field.type, path: childPath, source: source, into: &out)
                    continue
                }
                var message = "unknown key (\(source)): not read by the job, its chart or the Big Bang Twistlock chart"
                if let near = suggestion(for: key, among: fields.map(\.name).filter { $0 != SchemaField.otherKeys }) {
                    message += "; did you mean `\(ValuePath.join(path, near))`?"
                }
                out.append(ValuesProblem(key: childPath, message: message))
            }
        case .list(let item):
            guard case .array(let items) = value else { return }
            for (index, element) in items.enumerated() {
                walk(element, item, path: "\(path)[\(index)]", source: source, into: &out)
            }
        case .union(let types):
            if let match = types.first(where: { ValuesValidator.kindMatches(value, $0) }) {
                walk(value, match, path: path, source: source, into: &out)
            }
        case .bool, .string, .int, .oneOf, .map, .any, .labels:
            return
        }
    }

    /// The known name closest to `key`: the same ignoring case, `_` and `-` (`clientId` →
    /// `client_id`), else within one edit (two for names of 6 or more characters), ignoring case;
    /// two letters swapped count as one edit (`gruop` → `group`).
    public static func suggestion(for key: String, among names: [String]) -> String? {
        func squeeze(_ s: String) -> [Character] { Array(s.lowercased().filter { $0 != "_" && $0 != "-" }) }
        let target = squeeze(key)
        if let same = names.first(where: { squeeze($0) == target }) { return same }
        let lowered = Array(key.lowercased())
        var best: (name: String, distance: Int)?
        for name in names {
            let candidate = Array(name.lowercased())
            let limit = min(candidate.count, lowered.count) >= 6 ? 2 : 1
            guard abs(candidate.count - lowered.count) <= limit else { continue }
            let d = transpositionDistance(lowered, candidate)
            if d <= limit, best == nil || d < best!.distance { best = (name, d) }
        }
        return best?.name
    }

    /// Edits (insert, delete, replace, swap two neighbours) from `a` to `b`.
    static func transpositionDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[a.count][b.count]
    }
}
