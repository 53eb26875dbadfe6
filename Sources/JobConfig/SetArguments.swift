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
    /// so a password given on the command line does not end up in an error; after the `=` of
    /// a secret key (`console.credentials.password=…`) nothing at all is quoted, since an
    /// unescaped comma makes the rest of a password look like more keys.
    public struct SyntaxError: Error, CustomStringConvertible, Equatable {
        public let argument: String
        public let message: String
        public var flag: String = "--set"
        public var description: String { "\(flag) \(argument): \(message)" }
    }

    /// Parses one `--set` argument into its assignments; `forceString` reads it as
    /// `--set-string` does (every value a string, list items too: `12345` stays `"12345"`).
    public static func parse(_ argument: String, forceString: Bool = false) throws -> [Assignment] {
        var parser = ArgumentParser(argument)
        parser.forceString = forceString
        do {
            return try parser.parseAll()
        } catch var error as SyntaxError {
            if forceString { error.flag = "--set-string" }
            throw error
        }
    }

    /// Whether a key names a secret (its last key is a password, token, secret, key or
    /// license), so that nothing after its `=` is ever quoted.
    public static func isSecretKey(_ path: [PathComponent]) -> Bool {
        guard let last = path.reversed().lazy.compactMap({ c -> String? in
            if case .key(let k) = c { return k } else { return nil }
        }).first else { return false }
        return isSecretKeyName(last)
    }

    static func isSecretKeyName(_ name: String) -> Bool {
        let lower = name.lowercased()
        if ["license", "licensekey", "apikey", "privatekey", "credentials"].contains(lower) { return true }
        return ["password", "passwd", "secret", "token"].contains { lower.contains($0) }
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
        var forceString = false
        /// The key whose value is being read is a secret's: errors from here on quote nothing
        /// past its `=`.
        var secretKey: String?

        init(_ argument: String) {
            self.argument = argument
            self.chars = Array(argument)
        }

        /// The argument with every value replaced by `…` (keys kept), and everything after
        /// the `=` of a secret key dropped.
        var masked: String {
            var out = ""
            var inValue = false
            var depth = 0
            var key = ""
            var i = 0
            while i < chars.count {
                let c = chars[i]
                if c == "\\" {
                    if !inValue {
                        out.append(c)
                        if i + 1 < chars.count { out.append(chars[i + 1]); key.append(chars[i + 1]) }
                    }
                    i += 2
                    continue
                }
                if inValue {
                    if c == "{" { depth += 1 } else if c == "}" { depth = max(0, depth - 1) }
                    if c == ",", depth == 0 { inValue = false; key = ""; out.append(c) }
                } else if c == "=" {
                    out += "=…"
                    let lastKey = key.split(whereSeparator: { $0 == "." || $0 == "[" || $0 == "]" }).last.map(String.init) ?? key
                    if SetArguments.isSecretKeyName(lastKey) { return out }
                    inValue = true
                    depth = 0
                } else {
                    out.append(c)
                    if c == "," { key = "" } else { key.append(c) }
                }
                i += 1
            }
            return out
        }

        func fail(_ message: String) -> SyntaxError {
            if let secretKey {
                return SyntaxError(argument: masked, message: "cannot be read after the value of the secret \(secretKey) "
                    + "(nothing after its \"=\" is shown); a \",\" inside a value needs a backslash (\\,), "
                    + "or give the secret in a file of the secrets directory")
            }
            return SyntaxError(argument: masked, message: message)
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
                if SetArguments.isSecretKey(path) { secretKey = ValuePath.string(path) }
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
                    components.append(.index(try parseIndex()))
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

        /// A list index `[N]` at `pos` (on its "["): N, with `pos` after the "]".
        mutating func parseIndex() throws -> Int {
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
            return index
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
                        if !current.isEmpty || !items.isEmpty { items.append(typed(current)) }
                        pos += 1
                        closed = true
                        break
                    }
                    if c == "," {
                        items.append(typed(current))
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
            return typed(text)
        }

        func typed(_ text: String) -> JSON {
            forceString ? .string(text) : SetArguments.typed(text)
        }
    }
}
