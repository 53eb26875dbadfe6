import Foundation
import JobConfig
import JSONModel
import Yams

/// An error reading or writing YAML. The message names the line and column of the problem
/// (1-based) when the parser knows them; it never quotes the document's text.
public struct YAMLCodecError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public let line: Int?
    public let column: Int?

    public init(_ message: String, line: Int? = nil, column: Int? = nil) {
        self.message = message
        self.line = line
        self.column = column
    }

    public var description: String {
        if let line = line, let column = column {
            return "YAML: \(message) at line \(line) column \(column)"
        }
        return "YAML: \(message)"
    }
}

/// Multi-document YAML ⇄ the JSON value model, the way Kubernetes reads YAML: mappings become
/// objects, sequences arrays, plain scalars resolve by the YAML 1.2 core schema (`true`/`false`,
/// `null`/`~`/empty, integers incl. `0x`/`0o`, floats incl. `.inf`/`.nan`), everything else is a
/// string. Quoted scalars are always strings. Merge keys (`<<`) are applied; anchors/aliases
/// are expanded (bounded, so an alias bomb fails instead of eating memory).
public enum YAMLCodec {
    /// The most JSON values one decode may produce (aliases expand); beyond it decoding fails.
    public static let maxNodes = 2_000_000

    /// Keys written first, in this order, in every mapping; the rest follow sorted.
    /// This puts `apiVersion`, `kind`, `metadata`, then `spec` at the top of a Kubernetes
    /// object, and `name` first in metadata and list items (containers, env, volumes).
    public static let leadingKeys = ["apiVersion", "kind", "metadata", "name", "namespace", "spec"]

    // MARK: decode

    /// Every document of a YAML stream, in order. Empty documents (nothing, or only comments)
    /// are skipped. A syntax error or a duplicate key fails with its line and column.
    public static func decodeDocuments(_ text: String) throws -> [JSON] {
        var documents: [JSON] = []
        // One converter for the stream: `maxNodes` bounds all its documents together.
        var converter = YAMLToJSON(rules: typeRules)
        do {
            let parser = try converter.parser(text)
            try withExtendedLifetime(parser) {
                while let node = try parser.nextRoot() {
                    if isEmptyDocument(node) { continue }
                    documents.append(try converter.convert(node))
                }
            }
        } catch let error as YAMLCodecError {
            throw error
        } catch let error as YAMLStructureError {
            throw codecError(error)
        } catch let error as YamlError {
            throw codecError(error)
        }
        return documents
    }

    /// A single-document convenience: the one document, `nil` for an empty stream; more than
    /// one document is an error.
    public static func decodeDocument(_ text: String) throws -> JSON? {
        let docs = try decodeDocuments(text)
        if docs.count > 1 {
            throw YAMLCodecError("expected one document, found \(docs.count)")
        }
        return docs.first
    }

    // MARK: encode

    /// The documents as one YAML stream, each starting with `---`. Keys are ordered
    /// (`leadingKeys` first, then sorted); strings that would read back as another type are
    /// quoted; multi-line strings use literal block style where YAML allows it; floats keep a
    /// fraction or exponent so they read back as floats.
    public static func encodeDocuments(_ docs: [JSON]) throws -> String {
        var out = ""
        for doc in docs {
            let node = represent(doc)
            do {
                let text = try Yams.serialize(node: node, indent: 2, width: -1, allowUnicode: true)
                out += "---\n" + text
                if !out.hasSuffix("\n") { out += "\n" }
            } catch let error as YamlError {
                throw YAMLCodecError("cannot write document: \(error)")
            }
        }
        return out
    }

    /// One document without a leading `---`.
    public static func encodeDocument(_ doc: JSON) throws -> String {
        do {
            return try Yams.serialize(node: represent(doc), indent: 2, width: -1, allowUnicode: true)
        } catch let error as YamlError {
            throw YAMLCodecError("cannot write document: \(error)")
        }
    }

    /// The order `encodeDocuments` writes an object's keys in.
    public static func orderedKeys<S: Sequence>(_ keys: S) -> [String] where S.Element == String {
        let all = Set(keys)
        let leading = leadingKeys.filter { all.contains($0) }
        let rest = all.subtracting(leading).sorted()
        return leading + rest
    }

    // MARK: - internals

    /// YAML 1.2 core schema (what Kubernetes' and Helm's YAML readers agree on for the values
    /// that matter): no `yes`/`no`/`on`/`off` booleans, no sexagesimal numbers, no timestamps.
    static let coreResolver: Resolver = {
        // swiftlint:disable force_try
        var r = Resolver.basic
        r = try! r.appending(.bool, "^(?:true|True|TRUE|false|False|FALSE)$")
        r = try! r.appending(.int, "^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
        r = try! r.appending(.float, "^(?:[-+]?(?:\\.[0-9]+|[0-9]+(?:\\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\\.(?:inf|Inf|INF)|\\.(?:nan|NaN|NAN))$")
        r = try! r.appending(.merge, "^(?:<<)$")
        r = try! r.appending(.null, "^(?:~|null|Null|NULL|)$")
        return r
        // swiftlint:enable force_try
    }()

    /// What YAML 1.1 readers (go-yaml v2, PyYAML) would take for a non-string; a string that
    /// matches is written quoted so every reader gets a string back.
    static let cautiousResolver: Resolver = Resolver.default

    /// The node's resolved tag (Yams keeps `Tag.name` internal; its description is the name).
    private static func tagName(_ node: Node) -> String {
        node.tag.description
    }

    private static func isEmptyDocument(_ node: Node) -> Bool {
        if case let .scalar(scalar) = node, tagName(node) == Tag.Name.null.rawValue, scalar.string.isEmpty {
            return true
        }
        return false
    }

    private static func codecError(_ error: YamlError) -> YAMLCodecError {
        func clean(_ s: String) -> String {
            s.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        switch error {
        case let .scanner(context, problem, mark, _),
             let .parser(context, problem, mark, _),
             let .composer(context, problem, mark, _):
            var message = clean(problem)
            if let context = context {
                message = "\(clean(context.text)) (line \(context.mark.line) column \(context.mark.column)): " + message
            }
            return YAMLCodecError(message, line: mark.line, column: mark.column)
        case let .duplicatedKeysInMapping(duplicates, context):
            let keys = duplicates.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
            return YAMLCodecError("duplicate key \(keys) \(clean(context.text))",
                                  line: context.mark.line, column: context.mark.column)
        case let .reader(problem, offset, _, yaml):
            if let offset = offset {
                let (line, column) = lineAndColumn(in: yaml, utf8Offset: offset)
                return YAMLCodecError(clean(problem), line: line, column: column)
            }
            return YAMLCodecError(clean(problem))
        default:
            return YAMLCodecError("\(error)")
        }
    }

    private static func lineAndColumn(in text: String, utf8Offset: Int) -> (Int, Int) {
        var line = 1, column = 1, index = 0
        for byte in text.utf8 {
            if index >= utf8Offset { break }
            if byte == UInt8(ascii: "\n") { line += 1; column = 1 } else if byte & 0xC0 != 0x80 { column += 1 }
            index += 1
        }
        return (line, column)
    }

    /// Kubernetes' typing (sigs.k8s.io/yaml): plain scalars by the YAML 1.2 core schema, a
    /// scalar that does not read as its tag says an error, any scalar key but a null one as its
    /// text (`1: x` and `true: x` give "1" and "true"); at most `maxNodes` values per stream.
    static let typeRules = YAMLTypeRules(
        resolver: coreResolver,
        scalar: { scalar, _ in try convertScalar(scalar) },
        key: { scalar, tag in
            if tag == Tag.Name.null.rawValue {
                throw YAMLCodecError("a mapping key is null", line: scalar.mark?.line, column: scalar.mark?.column)
            }
            return scalar.string
        },
        maxValues: maxNodes)

    /// The conversion's refusal in this reader's words.
    private static func codecError(_ error: YAMLStructureError) -> YAMLCodecError {
        let message: String
        switch error.problem {
        case .tooManyValues(let limit), .tooManyAliasValues(let limit):
            message = "document expands to more than \(limit) values (alias expansion?)"
        case .mergeNeedsMappings:
            message = "merge key << expects a mapping or a list of mappings"
        case .keyNotScalar:
            message = "a mapping key is not a scalar (complex keys are not supported)"
        case .duplicateKey(let key):
            message = "duplicate key \"\(key)\""
        case .unresolvedAlias(let name):
            return YAMLCodecError("unresolved alias *\(name)")
        }
        return YAMLCodecError(message, line: error.mark?.line, column: error.mark?.column)
    }

    private static func convertScalar(_ scalar: Node.Scalar) throws -> JSON {
        let text = scalar.string
        func fail(_ what: String) -> YAMLCodecError {
            YAMLCodecError("\(what) \"\(text.prefix(40))\"", line: scalar.mark?.line, column: scalar.mark?.column)
        }
        // The tag as resolved by the parser's resolver (plain scalars) or given explicitly
        // (`!!int 3`); quoted scalars are strings.
        switch tagName(.scalar(scalar)) {
        case Tag.Name.null.rawValue:
            return .null
        case Tag.Name.bool.rawValue:
            switch text.lowercased() {
            case "true": return .bool(true)
            case "false": return .bool(false)
            default: throw fail("not a boolean:")
            }
        case Tag.Name.int.rawValue:
            if let value = parseInt(text) { return .int(value) }
            // Too big for 64 bits: keep the number as a float rather than failing.
            if let value = Double(text.replacingOccurrences(of: "_", with: "")), value.isFinite {
                return .double(value)
            }
            throw fail("not an integer:")
        case Tag.Name.float.rawValue:
            if let value = parseFloat(text) { return .double(value) }
            throw fail("not a number:")
        default:
            // str, explicit non-standard tags, binary, timestamps (not resolved here): text.
            return .string(text)
        }
    }

    private static func parseInt(_ raw: String) -> Int64? {
        var s = raw.replacingOccurrences(of: "_", with: "")
        var negative = false
        if s.hasPrefix("-") { negative = true; s.removeFirst() } else if s.hasPrefix("+") { s.removeFirst() }
        var radix = 10
        if s.hasPrefix("0x") || s.hasPrefix("0X") { radix = 16; s.removeFirst(2) }
        else if s.hasPrefix("0o") { radix = 8; s.removeFirst(2) }
        else if s.hasPrefix("0b") { radix = 2; s.removeFirst(2) }
        guard !s.isEmpty, let magnitude = UInt64(s, radix: radix) else { return nil }
        if negative {
            if magnitude == UInt64(Int64.max) + 1 { return Int64.min }
            guard magnitude <= UInt64(Int64.max) else { return nil }
            return -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }

    private static func parseFloat(_ raw: String) -> Double? {
        let s = raw.replacingOccurrences(of: "_", with: "")
        switch s.lowercased() {
        case ".inf", "+.inf": return .infinity
        case "-.inf": return -.infinity
        case ".nan": return .nan
        default: break
        }
        var t = s
        if t.hasPrefix(".") { t = "0" + t }
        if t.hasPrefix("-.") { t = "-0" + t.dropFirst() }
        if t.hasPrefix("+.") { t = "0" + t.dropFirst() }
        if t.hasSuffix(".") { t += "0" }
        return Double(t)
    }

    private static func represent(_ value: JSON) -> Node {
        switch value {
        case .null:
            return Node("null", Tag(.null), .plain)
        case let .bool(b):
            return Node(b ? "true" : "false", Tag(.bool), .plain)
        case let .int(i):
            return Node(String(i), Tag(.int), .plain)
        case let .double(d):
            return Node(floatText(d), Tag(.float), .plain)
        case let .string(s):
            return Node(s, Tag(.str), stringStyle(s))
        case let .array(items):
            return Node(items.map(represent), Tag(.seq), .block)
        case let .object(fields):
            let pairs = orderedKeys(fields.keys).map { key in
                (Node(key, Tag(.str), stringStyle(key)), represent(fields[key]!))
            }
            return Node(pairs, Tag(.map), .block)
        }
    }

    private static func floatText(_ d: Double) -> String {
        if d.isNaN { return ".nan" }
        if d.isInfinite { return d < 0 ? "-.inf" : ".inf" }
        var text = "\(d)"  // shortest round-trip: "1.0", "0.25", "1e-05", "1e+20"
        if !text.contains(".") && !text.contains("e") && !text.contains("E") { text += ".0" }
        return text
    }

    private static func stringStyle(_ s: String) -> Node.Scalar.Style {
        if s.contains("\n") {
            return .literal  // libyaml falls back to a quoted style when literal cannot hold it
        }
        if coreResolver.resolveTag(of: Node(s)) != Tag.Name.str || cautiousResolver.resolveTag(of: Node(s)) != Tag.Name.str
            || looksAmbiguous(s) {
            return .doubleQuoted
        }
        return .any
    }

    /// Strings YAML 1.1 readers treat specially that the default resolver does not list
    /// (`y`/`n` booleans in some readers, `=` value key, `<<`).
    private static func looksAmbiguous(_ s: String) -> Bool {
        switch s {
        case "y", "Y", "n", "N", "=", "<<": return true
        default: return false
        }
    }
}
