import Foundation
import JSONModel

/// One step of the run, from a manifest.
public struct StepSpec: Hashable, Sendable {
    public let name: String
    /// The Lua file (absolute, inside `origin`).
    public let file: URL
    public let description: String
    public let when: Condition
    /// The steps directory whose manifest lists the step.
    public let origin: URL

    public init(name: String, file: URL, description: String, when: Condition, origin: URL) {
        self.name = name
        self.file = file
        self.description = description
        self.when = when
        self.origin = origin
    }
}

/// One thing wrong in a manifest: the manifest file, the step (when known) and what.
public struct ManifestProblem: Hashable, Sendable, CustomStringConvertible {
    public let file: String
    public let step: String?
    public let message: String

    public var description: String {
        if let step { return "\(file): step \"\(step)\": \(message)" }
        return "\(file): \(message)"
    }
}

public enum ManifestError: Error, CustomStringConvertible, Equatable, Sendable {
    case invalid([ManifestProblem])

    public var problems: [ManifestProblem] {
        if case .invalid(let problems) = self { return problems }
        return []
    }

    public var description: String {
        let problems = self.problems
        if problems.count == 1 { return "invalid step manifest: \(problems[0])" }
        return "invalid step manifests (\(problems.count) problems):\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
    }
}

/// Reads `manifest.yaml` of the project's steps directory (`stepsDirs[0]`) and of operators'
/// directories (the rest, in order), and orders the steps.
///
/// The project's manifest lists its steps in run order (`name`, `file`, `description`,
/// `when`). An operator's manifest may also give each entry `before: NAME` or `after: NAME`,
/// naming a step of an earlier manifest (or an earlier entry of its own); an entry with
/// neither runs at the end. Entries anchored to the same step keep their manifest order.
/// Every problem of every manifest is reported at once.
public enum Manifest {
    public static let fileName = "manifest.yaml"
    static let fields: Set<String> = ["name", "file", "description", "when"]
    static let anchorFields: Set<String> = ["before", "after"]

    public static func load(stepsDirs: [URL]) throws -> [StepSpec] {
        var loader = ManifestLoader()
        for (dirIndex, dir) in stepsDirs.enumerated() {
            try loader.read(dir, isFragment: dirIndex > 0)
        }
        if !loader.problems.isEmpty { throw ManifestError.invalid(loader.problems) }
        return loader.ordered
    }

    static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= 63 else { return false }
        func alnum(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) }
        return alnum(first) && bytes.allSatisfy { alnum($0) || $0 == 0x2D }
    }

    /// Why `file` is not a usable step file of `dir`, or `nil`.
    static func fileProblem(_ file: String, in dir: URL) -> String? {
        if file.isEmpty { return "file is empty" }
        if file.hasPrefix("/") { return "file \(JSON.quote(file)) must be relative to the steps directory" }
        let components = file.split(separator: "/", omittingEmptySubsequences: false)
        if components.contains("..") {
            return "file \(JSON.quote(file)) is outside its steps directory \(dir.path)"
        }
        if !file.hasSuffix(".lua") { return "file \(JSON.quote(file)) is not a .lua file" }
        let url = dir.appendingPathComponent(file)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            return "file \(JSON.quote(file)) does not exist in \(dir.path)"
        }
        if isDir.boolValue { return "file \(JSON.quote(file)) is a directory" }
        // A symbolic link may not lead out of the directory either.
        let resolvedDir = dir.standardizedFileURL.resolvingSymlinksInPath().path
        let resolvedFile = url.standardizedFileURL.resolvingSymlinksInPath().path
        if !resolvedFile.hasPrefix(resolvedDir.hasSuffix("/") ? resolvedDir : resolvedDir + "/") {
            return "file \(JSON.quote(file)) is outside its steps directory \(dir.path) (through a link)"
        }
        return nil
    }

    struct ConditionSyntaxError: Error {
        let message: String
    }

    /// `when`: a values path, or a mapping with exactly one of `all: [..]`, `any: [..]`,
    /// `not: condition`.
    public static func parseCondition(_ value: JSON) throws -> Condition {
        switch value {
        case .string(let path):
            try checkPath(path)
            return .path(path)
        case .object(let object):
            guard object.count == 1, let (key, inner) = object.first else {
                throw ConditionSyntaxError(message: "a mapping must have exactly one of all, any, not (found \(object.keys.sorted().joined(separator: ", ")))")
            }
            switch key {
            case "all", "any":
                guard case .array(let items) = inner, !items.isEmpty else {
                    throw ConditionSyntaxError(message: "\(key) needs a non-empty list of conditions")
                }
                let conditions = try items.map(parseCondition)
                return key == "all" ? .all(conditions) : .any(conditions)
            case "not":
                return .not(try parseCondition(inner))
            default:
                throw ConditionSyntaxError(message: "unknown operator \"\(key)\" (use all, any or not)")
            }
        default:
            throw ConditionSyntaxError(message: "expected a values path (a string such as policies.enabled) or a mapping with all, any or not; got \(value.typeName) \(value.encoded())")
        }
    }

    static func checkPath(_ path: String) throws {
        let components: [PathComponent]
        do {
            components = try ValuePath.parse(path)
        } catch let error as ValuePath.SyntaxError {
            throw ConditionSyntaxError(message: "bad values path: \(error.message)")
        }
        for case .key(let key) in components {
            let ok = key.unicodeScalars.allSatisfy { c in
                (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "_" || c == "-"
            }
            if !ok {
                throw ConditionSyntaxError(message: "bad values path \(JSON.quote(path)) (keys are letters, digits, \"_\" and \"-\", separated by \".\")")
            }
        }
    }
}

/// The `when` paths of the steps that exist neither in the merged values nor in the defaults,
/// each named with its step and manifest (all at once).
public func validateConditions(_ steps: [StepSpec], values: Values) -> [ValuesProblem] {
    var problems: [ValuesProblem] = []
    var known: [String]?
    for step in steps {
        for path in step.when.paths {
            guard let components = try? ValuePath.parse(path) else {
                problems.append(ValuesProblem(key: path, message: "step \"\(step.name)\" (\(step.origin.appendingPathComponent(Manifest.fileName).path)): when: bad values path"))
                continue
            }
            if ValuePath.lookup(components, in: values.root) != nil { continue }
            if ValuePath.lookup(components, in: ValuesSchema.defaults) != nil { continue }
            if known == nil { known = knownPaths(values.root) }
            var message = "step \"\(step.name)\" (\(step.origin.appendingPathComponent(Manifest.fileName).path)): "
                + "when names a values key that does not exist"
            if let suggestion = nearest(path, in: known!) { message += "; did you mean \(suggestion)?" }
            problems.append(ValuesProblem(key: path, message: message))
        }
    }
    return problems
}

/// Every map key path of the values and the defaults.
func knownPaths(_ root: JSON) -> [String] {
    var out = Set<String>()
    func walk(_ value: JSON, _ base: String) {
        guard case .object(let object) = value, out.count < 10_000 else { return }
        for (key, member) in object {
            let path = ValuePath.join(base, key)
            out.insert(path)
            walk(member, path)
        }
    }
    walk(ValuesSchema.defaults, "")
    walk(root, "")
    return out.sorted()
}

/// The closest known path: equal ignoring case, or within two edits.
func nearest(_ path: String, in known: [String]) -> String? {
    if let same = known.first(where: { $0.lowercased() == path.lowercased() }) { return same }
    var best: (String, Int)?
    for candidate in known where abs(candidate.count - path.count) <= 2 {
        let d = editDistance(Array(path.lowercased()), Array(candidate.lowercased()))
        if d <= 2, best == nil || d < best!.1 { best = (candidate, d) }
    }
    return best?.0
}

func editDistance(_ a: [Character], _ b: [Character]) -> Int {
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
