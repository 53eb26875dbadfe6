import Foundation
import JSONModel
import Yams

/// Reads a values file (or a manifest) the way Helm reads values: one YAML document, plain
/// scalars typed by YAML 1.1 as go-yaml does (`true`/`yes`/`on` are booleans, `42` an integer,
/// `4.2` a float, `~`/`null`/empty a null), quoted scalars strings, timestamps kept as text,
/// merge keys (`<<`) applied. Refused, with the file (and line where known): text that is not
/// YAML or not UTF-8, duplicate keys, keys that are not scalars, more than one document,
/// a file over `maxBytes`, and alias expansion beyond `maxAliasNodes` (billion laughs).
/// Error messages never quote the file's text (it may hold secrets).
public enum ValuesYAML {
    public static let maxBytes = 4 * 1024 * 1024
    /// The most values that alias references (`*name`) may produce in one document.
    public static let maxAliasNodes = 10_000

    /// Reads and parses a file. `nil` for an empty document (nothing, or only comments).
    public static func read(file url: URL) throws -> JSON? {
        let name = url.path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw ValuesError.unreadable(file: name, reason: "no such file")
        }
        if isDir.boolValue {
            throw ValuesError.unreadable(file: name, reason: "is a directory, not a file")
        }
        let data: Data
        do {
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            data = try handle.read(upToCount: maxBytes + 1) ?? Data()
        } catch {
            throw ValuesError.unreadable(file: name, reason: "cannot be read (\(describe(error)))")
        }
        if data.count > maxBytes {
            throw ValuesError.unreadable(file: name, reason: "is larger than 4 MiB")
        }
        return try parse(data: data, source: name)
    }

    public static func parse(data: Data, source: String) throws -> JSON? {
        var bytes = data
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        guard let text = String(data: bytes, encoding: .utf8) else {
            throw ValuesError.unreadable(file: source, reason: "is not UTF-8 text")
        }
        return try parse(text: text, source: source)
    }

    /// Parses YAML text. `source` names it in errors.
    public static func parse(text: String, source: String) throws -> JSON? {
        if text.utf8.count > maxBytes {
            throw ValuesError.unreadable(file: source, reason: "is larger than 4 MiB")
        }
        do {
            let parser = try Parser(yaml: text, resolver: .default, constructor: .default, encoding: .utf8)
            guard let node = try parser.singleRoot() else { return nil }
            var converter = Converter(source: source)
            // The parser owns the anchors the nodes refer to (weakly): keep it alive while
            // converting so that alias expansions can be recognised and counted.
            let value = try withExtendedLifetime(parser) { try converter.convert(node) }
            if case .null = value { return nil }
            return value
        } catch let error as ValuesError {
            throw error
        } catch let error as YamlError {
            throw ValuesError.unreadable(file: source, reason: "is not valid YAML: " + describe(yaml: error))
        } catch {
            throw ValuesError.unreadable(file: source, reason: "is not valid YAML (\(describe(error)))")
        }
    }

    /// A YAML error as "line L, column C: problem", without the document's text.
    static func describe(yaml error: YamlError) -> String {
        switch error {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            var text = "line \(mark.line), column \(mark.column): \(problem)"
            if let context, !context.text.isEmpty, context.text.count < 80 {
                text += " (\(context.text) at line \(context.mark.line), column \(context.mark.column))"
            }
            return text
        case .reader(let problem, let offset, _, _):
            return offset.map { "\(problem) at character \($0)" } ?? problem
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
            return "line \(context.mark.line), column \(context.mark.column): duplicate key \(keys) in a mapping"
        case .memory:
            return "out of memory"
        case .dataCouldNotBeDecoded:
            return "not UTF-8 text"
        default:
            return "cannot be parsed"
        }
    }

    static func describe(_ error: Error) -> String {
        if let error = error as? CocoaError, let underlying = error.underlying {
            return underlying.localizedDescription
        }
        return error.localizedDescription
    }

    struct Converter {
        let source: String
        var seenAnchors = Set<ObjectIdentifier>()
        var aliasNodes = 0
        var expanding = 0

        init(source: String) { self.source = source }

        mutating func convert(_ node: Node) throws -> JSON {
            var enteredExpansion = false
            if let anchor = node.anchor {
                let id = ObjectIdentifier(anchor)
                if seenAnchors.contains(id) {
                    expanding += 1
                    enteredExpansion = true
                } else {
                    seenAnchors.insert(id)
                }
            }
            defer { if enteredExpansion { expanding -= 1 } }
            if expanding > 0 {
                aliasNodes += 1
                if aliasNodes > ValuesYAML.maxAliasNodes {
                    throw ValuesError.unreadable(
                        file: source,
                        reason: "aliases expand to more than \(ValuesYAML.maxAliasNodes) values"
                            + lineSuffix(node.mark) + " (refused: an alias bomb?)")
                }
            }
            switch node {
            case .scalar(let scalar):
                return scalarValue(scalar, node: node)
            case .sequence(let sequence):
                var items: [JSON] = []
                items.reserveCapacity(sequence.count)
                for item in sequence { items.append(try convert(item)) }
                return .array(items)
            case .mapping(let mapping):
                return .object(try mappingValue(mapping))
            case .alias(let alias):
                throw ValuesError.unreadable(file: source, reason: "unresolved alias *\(alias.anchor.rawValue)" + lineSuffix(node.mark))
            }
        }

        mutating func mappingValue(_ mapping: Node.Mapping) throws -> [String: JSON] {
            var object: [String: JSON] = [:]
            var merged: [String: JSON] = [:]
            for (keyNode, valueNode) in mapping {
                guard case .scalar(let keyScalar) = keyNode else {
                    throw ValuesError.unreadable(file: source, reason: "a mapping key is not a plain value" + lineSuffix(keyNode.mark))
                }
                if keyScalar.string == "<<", keyScalar.style == .plain || keyScalar.style == .any {
                    // Merge key: the mapping (or list of mappings) supplies keys the mapping
                    // does not set itself; earlier mappings in the list win.
                    let sources: [Node]
                    switch valueNode {
                    case .mapping: sources = [valueNode]
                    case .sequence(let seq): sources = Array(seq)
                    default:
                        throw ValuesError.unreadable(file: source, reason: "a merge key (<<) needs a mapping or a list of mappings" + lineSuffix(valueNode.mark))
                    }
                    for sourceNode in sources {
                        guard case .object(let fields) = try convert(sourceNode) else {
                            throw ValuesError.unreadable(file: source, reason: "a merge key (<<) needs a mapping or a list of mappings" + lineSuffix(sourceNode.mark))
                        }
                        for (k, v) in fields where merged[k] == nil { merged[k] = v }
                    }
                    continue
                }
                let key = keyScalar.string
                if object[key] != nil {
                    throw ValuesError.unreadable(file: source, reason: "duplicate key \"\(key)\"" + lineSuffix(keyNode.mark))
                }
                object[key] = try convert(valueNode)
            }
            for (k, v) in merged where object[k] == nil { object[k] = v }
            return object
        }

        func scalarValue(_ scalar: Node.Scalar, node: Node) -> JSON {
            let text = scalar.string
            switch Tag.Name(rawValue: node.tag.rawValue) {
            case .null:
                return .null
            case .bool:
                if let b = node.bool { return .bool(b) }
                return .string(text)
            case .int:
                if let i = node.int { return .int(Int64(i)) }
                if let d = Double(text.replacingOccurrences(of: "_", with: "")), d.isFinite { return .double(d) }
                return .string(text)
            case .float:
                if let d = node.float, d.isFinite { return .double(d) }
                return .string(text)
            default:
                // str, timestamp, binary and custom tags: the text as written.
                return .string(text)
            }
        }

        func lineSuffix(_ mark: Mark?) -> String {
            guard let mark else { return "" }
            return " (line \(mark.line), column \(mark.column))"
        }
    }
}
