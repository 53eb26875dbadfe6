import JSONModel

/// `--set` arguments, read as Helm reads them: `a.b=c,d.e=f`; dotted keys; list indexes
/// (`a.b[0].c=x`, 0-based, the list grows with nulls as needed); lists in braces
/// (`a={x,y}`); values typed like Helm (`true`/`false` booleans, `null`, integers without a
/// leading zero, anything else a string); a backslash makes the next character literal
/// (`\,` `\.` `\=` `\\`).
public enum SetArguments {
    /// Helm's limit on a list index.
    public static let maxIndex = 65_536

    public struct Assignment: Equatable, Sendable {
        public let path: [PathComponent]
        public let value: JSON
    }

    /// A malformed argument. The message quotes the argument with its values replaced by `…`,
    /// so a password given on the command line does not end up in an error.
    public struct SyntaxError: Error, CustomStringConvertible, Equatable {
        public let argument: String
        public let message: String
        public var description: String { "--set \(argument): \(message)" }
    }

    /// Parses one `--set` argument into its assignments.
    public static func parse(_ argument: String) throws -> [Assignment] {
        var parser = ArgumentParser(argument)
        return try parser.parseAll()
    }

    /// Applies assignments to a values tree (a map), creating maps and lists on the way.
    public static func apply(_ assignments: [Assignment], to base: JSON) -> JSON {
        var result = base
        for assignment in assignments {
            result = set(result, assignment.path[...], assignment.value)
        }
        return result
    }

    static func set(_ node: JSON?, _ path: ArraySlice<PathComponent>, _ value: JSON) -> JSON {
        guard let first = path.first else { return value }
        let rest = path.dropFirst()
        switch first {
        case .key(let key):
            var object: [String: JSON] = [:]
            if case .object(let existing)? = node { object = existing }
            object[key] = set(object[key], rest, value)
            return .object(object)
        case .index(let index):
            var array: [JSON] = []
            if case .array(let existing)? = node { array = existing }
            while array.count <= index { array.append(.null) }
            array[index] = set(array[index], rest, value)
            return .array(array)
        }
    }

    /// Helm's typing of an unquoted `--set` value.
    static func typed(_ text: String) -> JSON {
        let lower = text.lowercased()
        if lower == "true" { return .bool(true) }
        if lower == "false" { return .bool(false) }
        if lower == "null" { return .null }
        if text == "0" { return .int(0) }
        if let first = text.first, first != "0", let i = Int64(text) { return .int(i) }
        return .string(text)
    }

    struct ArgumentParser {
        let chars: [Character]
        var pos = 0
        let argument: String

        init(_ argument: String) {
            self.argument = argument
            self.chars = Array(argument)
        }

        /// The argument with every value replaced by `…` (keys kept).
        var masked: String {
            var out = ""
            var inValue = false
            var depth = 0
            var i = 0
            while i < chars.count {
                let c = chars[i]
                if c == "\\" {
                    if !inValue { out.append(c); if i + 1 < chars.count { out.append(chars[i + 1]) } }
                    i += 2
                    continue
                }
                if inValue {
                    if c == "{" { depth += 1 } else if c == "}" { depth = max(0, depth - 1) }
                    if c == ",", depth == 0 { inValue = false; out.append(c) }
                } else if c == "=" {
                    inValue = true
                    depth = 0
                    out += "=…"
                } else {
                    out.append(c)
                }
                i += 1
            }
            return out
        }

        func fail(_ message: String) -> SyntaxError {
            SyntaxError(argument: masked, message: message)
        }

        mutating func parseAll() throws -> [Assignment] {
            if chars.isEmpty { throw fail("empty argument (expected key=value)") }
            var result: [Assignment] = []
            while pos < chars.count {
                let path = try parseKey()
                guard pos < chars.count, chars[pos] == "=" else {
                    throw fail("key \"\(ValuePath.string(path))\" has no value (expected key=value)")
                }
                pos += 1
                let value = try parseValue()
                result.append(Assignment(path: path, value: value))
                if pos < chars.count {
                    // parseValue stops only at "," or the end.
                    pos += 1
                    if pos == chars.count { break }
                }
            }
            return result
        }

        mutating func parseKey() throws -> [PathComponent] {
            var components: [PathComponent] = []
            var current = ""
            var haveSegment = false      // something (key text or an escape) since the last separator
            var afterIndex = false       // the last thing was "]"
            while pos < chars.count {
                let c = chars[pos]
                switch c {
                case "\\":
                    guard pos + 1 < chars.count else { throw fail("a key ends with a lone backslash") }
                    if afterIndex { throw fail("expected \".\", \"[\" or \"=\" after \"]\"") }
                    current.append(chars[pos + 1])
                    haveSegment = true
                    pos += 2
                    continue
                case "=", ",":
                    if haveSegment {
                        components.append(.key(current))
                    } else if !afterIndex {
                        throw fail(components.isEmpty ? "empty key" : "empty key segment (\"..\" or a trailing \".\")")
                    }
                    return components
                case ".":
                    if haveSegment {
                        components.append(.key(current))
                    } else if !afterIndex {
                        throw fail(components.isEmpty ? "empty key (a key cannot start with \".\")" : "empty key segment (\"..\")")
                    }
                    current = ""
                    haveSegment = false
                    afterIndex = false
                    pos += 1
                    // A separator must be followed by a key.
                    if pos == chars.count || chars[pos] == "=" || chars[pos] == "," || chars[pos] == "." || chars[pos] == "[" {
                        throw fail("empty key segment after \".\"")
                    }
                    continue
                case "[":
                    if haveSegment {
                        components.append(.key(current))
                    } else if !afterIndex {
                        throw fail("a list index needs a key before it")
                    }
                    current = ""
                    haveSegment = false
                    pos += 1
                    var digits = ""
                    while pos < chars.count, chars[pos] != "]" {
                        digits.append(chars[pos])
                        pos += 1
                    }
                    guard pos < chars.count else { throw fail("unclosed \"[\"") }
                    pos += 1
                    guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), digits.count <= 6,
                          let index = Int(digits) else {
                        throw fail("bad list index [\(digits)] (expected a number 0…\(SetArguments.maxIndex))")
                    }
                    guard index <= SetArguments.maxIndex else {
                        throw fail("list index [\(digits)] is larger than \(SetArguments.maxIndex)")
                    }
                    components.append(.index(index))
                    afterIndex = true
                    continue
                case "]":
                    throw fail("\"]\" without \"[\"")
                default:
                    if afterIndex { throw fail("expected \".\", \"[\" or \"=\" after \"]\"") }
                    current.append(c)
                    haveSegment = true
                }
                pos += 1
            }
            if haveSegment { components.append(.key(current)) }
            if components.isEmpty { throw fail("empty key") }
            return components
        }

        /// A value up to the next unescaped "," (or a `{a,b}` list).
        mutating func parseValue() throws -> JSON {
            if pos < chars.count, chars[pos] == "{" {
                pos += 1
                var items: [JSON] = []
                var current = ""
                var closed = false
                while pos < chars.count {
                    let c = chars[pos]
                    if c == "\\" {
                        guard pos + 1 < chars.count else { throw fail("a value ends with a lone backslash") }
                        current.append(chars[pos + 1])
                        pos += 2
                        continue
                    }
                    if c == "}" {
                        if !current.isEmpty || !items.isEmpty { items.append(SetArguments.typed(current)) }
                        pos += 1
                        closed = true
                        break
                    }
                    if c == "," {
                        items.append(SetArguments.typed(current))
                        current = ""
                    } else {
                        current.append(c)
                    }
                    pos += 1
                }
                guard closed else { throw fail("unclosed \"{\" in a list value") }
                guard pos == chars.count || chars[pos] == "," else {
                    throw fail("unexpected text after a \"{…}\" list value")
                }
                return .array(items)
            }
            var text = ""
            while pos < chars.count {
                let c = chars[pos]
                if c == "\\" {
                    guard pos + 1 < chars.count else { throw fail("a value ends with a lone backslash") }
                    text.append(chars[pos + 1])
                    pos += 2
                    continue
                }
                if c == "," { break }
                text.append(c)
                pos += 1
            }
            return SetArguments.typed(text)
        }
    }
}
