import Foundation
import JSONModel

/// The manifests of `Manifest.load`, read one after the other: the steps in run order so far
/// and every problem found on the way.
struct ManifestLoader {
    var problems: [ManifestProblem] = []
    var ordered: [StepSpec] = []
    /// Step name -> the manifest that lists it.
    private var seen: [String: String] = [:]
    /// Anchor -> the last step inserted after it.
    private var lastAfter: [String: String] = [:]

    /// Reads the manifest of `dir` (`isFragment`: an operator's, whose entries may have
    /// `before`/`after`) and places its valid entries among the steps read so far.
    mutating func read(_ dir: URL, isFragment: Bool) throws {
        let manifestPath = dir.appendingPathComponent(Manifest.fileName).path
        guard let entries = try entries(of: dir, manifestPath: manifestPath) else { return }
        for (index, value) in entries.enumerated() {
            guard case .object(let fields) = value else {
                problems.append(ManifestProblem(file: manifestPath, step: "#\(index + 1)",
                                                message: "an entry must be a mapping (name, file, description, when)"))
                continue
            }
            add(ManifestEntry(fields, index: index, dir: dir, isFragment: isFragment), dir: dir, manifestPath: manifestPath)
        }
    }

    /// The `steps` list of the manifest in `dir`; nil (with its problem) when there is none.
    private mutating func entries(of dir: URL, manifestPath: String) throws -> [JSON]? {
        func problem(_ message: String) {
            problems.append(ManifestProblem(file: manifestPath, step: nil, message: message))
        }
        let document: JSON?
        do {
            document = try ValuesYAML.read(file: dir.appendingPathComponent(Manifest.fileName))
        } catch let error as ValuesError {
            if case .unreadable(_, let reason) = error {
                problem(reason == "no such file" ? "no \(Manifest.fileName) in the steps directory \(dir.path)" : reason)
            } else {
                problem(error.description)
            }
            return nil
        }
        guard case .object(let top)? = document else {
            problem("expected a mapping with a \"steps\" list")
            return nil
        }
        for key in top.keys.sorted() where key != "steps" {
            problem("unknown top-level key \"\(key)\" (only \"steps\")")
        }
        guard case .array(let entries)? = top["steps"] else {
            problem(top["steps"] == nil ? "no \"steps\" list" : "\"steps\" is not a list")
            return nil
        }
        return entries
    }

    /// Checks what an entry can only be checked against the steps read before it (its anchor,
    /// its name not taken), then places it: before or after its anchor, else at the end.
    private mutating func add(_ entry: ManifestEntry, dir: URL, manifestPath: String) {
        var messages = entry.problems
        let name = entry.name
        for anchor in [entry.before, entry.after].compactMap({ $0 }) where seen[anchor] == nil || anchor == name {
            messages.append("unknown step \"\(anchor)\" in \(entry.before == anchor ? "before" : "after") "
                + "(it must name a step of the project's manifest, an earlier --steps-dir, or an earlier entry here)")
        }
        if !name.isEmpty, let other = seen[name] {
            messages.append(other == manifestPath ? "listed twice in this manifest" : "duplicate step name (also in \(other))")
        }
        problems += messages.map { ManifestProblem(file: manifestPath, step: entry.label, message: $0) }
        guard messages.isEmpty else {
            if !name.isEmpty, seen[name] == nil { seen[name] = manifestPath }
            return
        }
        seen[name] = manifestPath
        place(StepSpec(name: name, file: entry.file, description: entry.description, when: entry.condition,
                       origin: dir.standardizedFileURL),
              before: entry.before, after: entry.after)
    }

    /// Entries anchored to the same step keep their manifest order.
    private mutating func place(_ spec: StepSpec, before: String?, after: String?) {
        if let anchor = before, let position = ordered.firstIndex(where: { $0.name == anchor }) {
            ordered.insert(spec, at: position)
        } else if let anchor = after, let anchorPosition = ordered.firstIndex(where: { $0.name == anchor }) {
            var position = anchorPosition
            if let last = lastAfter[anchor], let lastPosition = ordered.firstIndex(where: { $0.name == last }),
               lastPosition > position {
                position = lastPosition
            }
            ordered.insert(spec, at: position + 1)
            lastAfter[anchor] = spec.name
        } else {
            ordered.append(spec)
        }
    }
}

/// One entry of a manifest's `steps` list, each field read on its own, with what is wrong in
/// it (in field order). What depends on the other entries is checked by `ManifestLoader`.
struct ManifestEntry {
    var name = ""
    /// How problems name the entry: its name when it has one (even a bad one), else `#N`.
    var label: String
    var description = ""
    var condition = Condition.always
    var file: URL
    var before: String?
    var after: String?
    var problems: [String] = []

    init(_ fields: [String: JSON], index: Int, dir: URL, isFragment: Bool) {
        label = "#\(index + 1)"
        file = dir
        readName(fields)
        checkFields(fields, isFragment: isFragment)
        readDescription(fields)
        readWhen(fields)
        readFile(fields, dir: dir)
        readAnchors(fields, isFragment: isFragment)
    }

    private mutating func readName(_ fields: [String: JSON]) {
        switch fields["name"] {
        case .string(let n)?:
            name = n
            label = n
            if !Manifest.isValidName(n) {
                problems.append("bad name (use lower-case letters, digits and \"-\", starting with a letter or digit, at most 63)")
            }
        case nil:
            problems.append("no name")
        default:
            problems.append("name must be a string")
        }
    }

    /// Unknown fields; `before`/`after` only in an operator's manifest.
    private mutating func checkFields(_ fields: [String: JSON], isFragment: Bool) {
        let allowed = isFragment ? Manifest.fields.union(Manifest.anchorFields) : Manifest.fields
        for key in fields.keys.sorted() where !allowed.contains(key) {
            if Manifest.anchorFields.contains(key) {
                problems.append("\"\(key)\" is only for operators' manifests (given with --steps-dir); order the project's steps by their place in the list")
            } else {
                problems.append("unknown field \"\(key)\" (allowed: \(allowed.sorted().joined(separator: ", ")))")
            }
        }
    }

    private mutating func readDescription(_ fields: [String: JSON]) {
        switch fields["description"] {
        case .string(let d)?: description = d
        case nil, .null?: break
        default: problems.append("description must be a string")
        }
    }

    private mutating func readWhen(_ fields: [String: JSON]) {
        guard let whenValue = fields["when"] else { return }
        do {
            condition = try Manifest.parseCondition(whenValue)
        } catch let error as Manifest.ConditionSyntaxError {
            problems.append("when: \(error.message)")
        } catch {
            problems.append("when: \(error)")
        }
    }

    private mutating func readFile(_ fields: [String: JSON], dir: URL) {
        switch fields["file"] {
        case .string(let f)?:
            if let message = Manifest.fileProblem(f, in: dir) {
                problems.append(message)
            } else {
                file = dir.appendingPathComponent(f).standardizedFileURL
            }
        case nil:
            problems.append("no file")
        default:
            problems.append("file must be a string")
        }
    }

    /// `before`/`after` as written (an operator's manifest only; the project's has them
    /// refused by `checkFields`): at most one, a step name.
    private mutating func readAnchors(_ fields: [String: JSON], isFragment: Bool) {
        guard isFragment else { return }
        for key in ["before", "after"] {
            guard let value = fields[key] else { continue }
            guard case .string(let anchor) = value else {
                problems.append("\(key) must be a step name")
                continue
            }
            if key == "before" { before = anchor } else { after = anchor }
        }
        if before != nil, after != nil {
            problems.append("has both before and after; give one")
        }
    }
}
