import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
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
        let data = try readBounded(url, name: name)
        if data.count > maxBytes {
            throw ValuesError.unreadable(file: name, reason: "is larger than \(ByteSize.text(maxBytes))")
        }
        return try parse(data: data, source: name)
    }

    /// At most `maxBytes + 1` bytes of a regular file or a pipe (`-f <(…)`), opened
    /// non-blocking so that a FIFO nobody writes to reads as empty instead of hanging the job
    /// (issue 13); a device or a socket is refused without being read.
    static func readBounded(_ url: URL, name: String) throws -> Data {
        let fd = open(url.path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            throw ValuesError.unreadable(file: name, reason: "cannot be read (\(String(cString: strerror(errno))))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw ValuesError.unreadable(file: name, reason: "cannot be read (\(String(cString: strerror(errno))))")
        }
        switch st.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFIFO:
            // A pipe with a writer (process substitution) is read as usual; without one, the
            // first read returns end-of-file at once.
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        case S_IFCHR, S_IFBLK:
            throw ValuesError.unreadable(file: name, reason: "is a device, not a file; refused without reading it")
        default:
            throw ValuesError.unreadable(file: name, reason: "is not a regular file; refused without reading it")
        }
        guard let data = readDescriptor(fd, upTo: maxBytes + 1) else {
            throw ValuesError.unreadable(file: name, reason: "cannot be read (\(String(cString: strerror(errno))))")
        }
        return data
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
            throw ValuesError.unreadable(file: source, reason: "is larger than \(ByteSize.text(maxBytes))")
        }
        do {
            var converter = YAMLToJSON(rules: typeRules)
            let parser = try converter.parser(text, encoding: .utf8)
            guard let node = try parser.singleRoot() else { return nil }
            // The parser owns the anchors the nodes refer to (weakly): keep it alive while
            // converting so that alias expansions can be recognised and counted.
            let value = try withExtendedLifetime(parser) { try converter.convert(node) }
            if case .null = value { return nil }
            return value
        } catch let error as ValuesError {
            throw error
        } catch let error as YAMLStructureError {
            throw ValuesError.unreadable(file: source, reason: reason(error))
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

    /// Helm's (go-yaml's) typing: plain scalars by YAML 1.1 (`yes`/`on` booleans, `~` null,
    /// ...), a scalar that does not construct as its tag says kept as its text, timestamps as
    /// text; any scalar key as its text; alias expansion bounded by `maxAliasNodes`.
    static let typeRules = YAMLTypeRules(
        resolver: .default,
        scalar: { scalar, tag in
            let node = Node.scalar(scalar)
            let text = scalar.string
            switch Tag.Name(rawValue: tag) {
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
        },
        maxAliasValues: maxAliasNodes)

    /// The conversion's refusal in this reader's words, with the line and column.
    static func reason(_ error: YAMLStructureError) -> String {
        let at = error.mark.map { " (line \($0.line), column \($0.column))" } ?? ""
        switch error.problem {
        case .tooManyAliasValues(let limit), .tooManyValues(let limit):
            return "aliases expand to more than \(limit) values" + at + " (refused: an alias bomb?)"
        case .mergeNeedsMappings:
            return "a merge key (<<) needs a mapping or a list of mappings" + at
        case .keyNotScalar:
            return "a mapping key is not a plain value" + at
        case .duplicateKey(let key):
            return "duplicate key \"\(key)\"" + at
        case .unresolvedAlias(let name):
            return "unresolved alias *\(name)" + at
        }
    }
}
