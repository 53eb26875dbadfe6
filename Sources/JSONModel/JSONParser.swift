/// A JSON text that could not be parsed: what went wrong and where (1-based line and column;
/// columns count Unicode scalars).
public struct JSONParseError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String
    public let line: Int
    public let column: Int

    public init(message: String, line: Int, column: Int) {
        self.message = message
        self.line = line
        self.column = column
    }

    public var description: String { "\(message) at line \(line) column \(column)" }
}

extension JSON {
    /// The deepest nesting of arrays and objects `parse` accepts.
    public static let maximumParseDepth = 512

    /// Parses a JSON text (RFC 8259). Numbers without fraction or exponent that fit `Int64`
    /// become `.int`, all others `.double`. Duplicate object keys: the last one wins.
    public static func parse(_ text: String) throws -> JSON {
        var text = text
        return try text.withUTF8 { buffer in
            var parser = JSONParser(buffer)
            return try parser.parseDocument()
        }
    }

    /// Parses JSON from UTF-8 bytes (invalid UTF-8 is an error).
    public static func parse(bytes: some Collection<UInt8>) throws -> JSON {
        let array = Array(bytes)
        return try array.withUnsafeBufferPointer { buffer in
            var parser = JSONParser(buffer)
            return try parser.parseDocument()
        }
    }
}

private struct JSONParser {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    var depth = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    // MARK: Errors

    func error(_ message: String, at offset: Int? = nil) -> JSONParseError {
        let offset = min(offset ?? index, bytes.count)
        var line = 1
        var column = 1
        var i = 0
        while i < offset {
            let b = bytes[i]
            if b == 0x0A {
                line += 1
                column = 1
            } else if b & 0xC0 != 0x80 {
                column += 1
            }
            i += 1
        }
        return JSONParseError(message: message, line: line, column: column)
    }

    func describeByte(at offset: Int) -> String {
        guard offset < bytes.count else { return "end of input" }
        let b = bytes[offset]
        if b >= 0x21 && b < 0x7F { return "character '\(Character(Unicode.Scalar(b)))'" }
        if b < 0x80 { return "character U+\(hex4(UInt32(b)))" }
        // A multi-byte character: describe it when it is valid UTF-8.
        if let (scalar, _) = decodeScalar(at: offset) { return "character '\(Character(scalar))'" }
        return "byte 0x\(String(b, radix: 16, uppercase: true))"
    }

    // MARK: Document

    mutating func parseDocument() throws -> JSON {
        // An initial UTF-8 byte order mark is ignored (RFC 8259 section 8.1).
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { index = 3 }
        skipWhitespace()
        guard index < bytes.count else { throw error("empty JSON text: expected a value") }
        let value = try parseValue()
        skipWhitespace()
        if index < bytes.count {
            throw error("unexpected \(describeByte(at: index)) after the JSON value")
        }
        return value
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func parseValue() throws -> JSON {
        guard index < bytes.count else { throw error("unexpected end of input: expected a value") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error("unexpected \(describeByte(at: index)): expected a value")
        }
    }

    mutating func expectLiteral(_ literal: StaticString) throws {
        let start = index
        let count = literal.utf8CodeUnitCount
        let pointer = literal.utf8Start
        for i in 0..<count {
            guard index < bytes.count, bytes[index] == pointer[i] else {
                throw error("invalid literal: expected '\(literal)'", at: start)
            }
            index += 1
        }
        // `truex` is not `true` followed by garbage we would report later with a worse message.
        if index < bytes.count, isIdentifierByte(bytes[index]) {
            throw error("invalid literal: expected '\(literal)'", at: start)
        }
    }

    func isIdentifierByte(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39) || b == 0x5F
    }

    mutating func enter() throws {
        depth += 1
        if depth > JSON.maximumParseDepth {
            throw error("JSON nested deeper than \(JSON.maximumParseDepth) levels")
        }
    }

    mutating func parseArray() throws -> JSON {
        try enter()
        index += 1  // [
        var elements: [JSON] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue())
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of input: expected ',' or ']' in an array") }
            switch bytes[index] {
            case UInt8(ascii: ","):
                index += 1
                skipWhitespace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                    throw error("trailing comma in an array")
                }
            case UInt8(ascii: "]"):
                index += 1
                depth -= 1
                return .array(elements)
            default:
                throw error("unexpected \(describeByte(at: index)): expected ',' or ']' in an array")
            }
        }
    }

    mutating func parseObject() throws -> JSON {
        try enter()
        index += 1  // {
        var members: [String: JSON] = [:]
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            depth -= 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of input: expected a member name in an object") }
            guard bytes[index] == UInt8(ascii: "\"") else {
                throw error("unexpected \(describeByte(at: index)): expected a member name (a string) in an object")
            }
            let key = try parseString()
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of input: expected ':' after a member name") }
            guard bytes[index] == UInt8(ascii: ":") else {
                throw error("unexpected \(describeByte(at: index)): expected ':' after a member name")
            }
            index += 1
            skipWhitespace()
            members[key] = try parseValue()  // duplicate keys: the last one wins
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of input: expected ',' or '}' in an object") }
            switch bytes[index] {
            case UInt8(ascii: ","):
                index += 1
                skipWhitespace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                    throw error("trailing comma in an object")
                }
            case UInt8(ascii: "}"):
                index += 1
                depth -= 1
                return .object(members)
            default:
                throw error("unexpected \(describeByte(at: index)): expected ',' or '}' in an object")
            }
        }
    }

    // MARK: Numbers

    mutating func parseNumber() throws -> JSON {
        let start = index
        var isInteger = true
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else {
            throw error("invalid number: expected a digit after '-'", at: index)
        }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, isDigit(bytes[index]) {
                throw error("invalid number: leading zeros are not allowed", at: start)
            }
        } else {
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else {
                throw error("invalid number: expected a digit after '.'", at: index)
            }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else {
                throw error("invalid number: expected a digit in the exponent", at: index)
            }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, isIdentifierByte(bytes[index]) || bytes[index] == UInt8(ascii: ".") {
            throw error("unexpected \(describeByte(at: index)) in a number")
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        if isInteger, let i = Int64(text) { return .int(i) }
        guard let d = Double(text), d.isFinite else {
            throw error("number \(text) is out of range", at: start)
        }
        return .double(d)
    }

    func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    // MARK: Strings

    /// Decodes one valid UTF-8 scalar at `offset` (strict: no overlongs, no surrogates).
    func decodeScalar(at offset: Int) -> (Unicode.Scalar, Int)? {
        let b0 = bytes[offset]
        func cont(_ i: Int) -> UInt32? {
            guard offset + i < bytes.count else { return nil }
            let b = bytes[offset + i]
            return b & 0xC0 == 0x80 ? UInt32(b & 0x3F) : nil
        }
        var value: UInt32
        var length: Int
        switch b0 {
        case 0x00...0x7F:
            return (Unicode.Scalar(b0), 1)
        case 0xC2...0xDF:
            guard let c1 = cont(1) else { return nil }
            value = (UInt32(b0 & 0x1F) << 6) | c1
            length = 2
        case 0xE0...0xEF:
            guard let c1 = cont(1), let c2 = cont(2) else { return nil }
            value = (UInt32(b0 & 0x0F) << 12) | (c1 << 6) | c2
            guard value >= 0x800, !(0xD800...0xDFFF).contains(value) else { return nil }
            length = 3
        case 0xF0...0xF4:
            guard let c1 = cont(1), let c2 = cont(2), let c3 = cont(3) else { return nil }
            value = (UInt32(b0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3
            guard value >= 0x10000, value <= 0x10FFFF else { return nil }
            length = 4
        default:
            return nil
        }
        guard let scalar = Unicode.Scalar(value) else { return nil }
        return (scalar, length)
    }

    mutating func parseString() throws -> String {
        let openingQuote = index
        index += 1  // "
        var result = ""
        var runStart = index
        func flush(_ parser: JSONParser, upTo end: Int) {
            if end > runStart {
                result += String(decoding: UnsafeBufferPointer(rebasing: parser.bytes[runStart..<end]), as: UTF8.self)
            }
        }
        while true {
            guard index < bytes.count else {
                throw error("unterminated string", at: openingQuote)
            }
            let b = bytes[index]
            if b == UInt8(ascii: "\"") {
                flush(self, upTo: index)
                index += 1
                return result
            } else if b == UInt8(ascii: "\\") {
                flush(self, upTo: index)
                try parseEscape(into: &result)
                runStart = index
            } else if b < 0x20 {
                throw error("unescaped control character U+\(hex4(UInt32(b))) in a string")
            } else if b < 0x80 {
                index += 1
            } else {
                guard let (_, length) = decodeScalar(at: index) else {
                    throw error("invalid UTF-8 (byte 0x\(String(b, radix: 16, uppercase: true))) in a string")
                }
                index += length
            }
        }
    }

    mutating func parseEscape(into result: inout String) throws {
        let escapeStart = index
        index += 1  // backslash
        guard index < bytes.count else { throw error("unterminated string", at: escapeStart) }
        let c = bytes[index]
        index += 1
        switch c {
        case UInt8(ascii: "\""): result.append("\"")
        case UInt8(ascii: "\\"): result.append("\\")
        case UInt8(ascii: "/"): result.append("/")
        case UInt8(ascii: "b"): result.append("\u{08}")
        case UInt8(ascii: "f"): result.append("\u{0C}")
        case UInt8(ascii: "n"): result.append("\n")
        case UInt8(ascii: "r"): result.append("\r")
        case UInt8(ascii: "t"): result.append("\t")
        case UInt8(ascii: "u"):
            let unit = try parseHex4(escapeStart: escapeStart)
            if (0xD800...0xDBFF).contains(unit) {
                // A high surrogate must be followed by an escaped low surrogate.
                guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                    throw error("unpaired surrogate \\u\(hex4(unit)) in a string", at: escapeStart)
                }
                let lowStart = index
                index += 2
                let low = try parseHex4(escapeStart: lowStart)
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw error("unpaired surrogate \\u\(hex4(unit)) in a string", at: escapeStart)
                }
                let scalar = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                result.unicodeScalars.append(Unicode.Scalar(scalar)!)
            } else if (0xDC00...0xDFFF).contains(unit) {
                throw error("unpaired surrogate \\u\(hex4(unit)) in a string", at: escapeStart)
            } else {
                result.unicodeScalars.append(Unicode.Scalar(unit)!)
            }
        default:
            throw error("invalid escape '\\\(describeEscape(c))' in a string", at: escapeStart)
        }
    }

    func describeEscape(_ b: UInt8) -> String {
        b >= 0x21 && b < 0x7F ? String(Character(Unicode.Scalar(b))) : "0x\(String(b, radix: 16, uppercase: true))"
    }

    mutating func parseHex4(escapeStart: Int) throws -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard index < bytes.count else { throw error("unterminated \\u escape in a string", at: escapeStart) }
            let b = bytes[index]
            let digit: UInt32
            switch b {
            case 0x30...0x39: digit = UInt32(b - 0x30)
            case 0x41...0x46: digit = UInt32(b - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(b - 0x61 + 10)
            default: throw error("invalid \\u escape in a string: expected 4 hexadecimal digits", at: escapeStart)
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }
}

func hex4(_ value: UInt32) -> String {
    let s = String(value, radix: 16, uppercase: true)
    return String(repeating: "0", count: max(0, 4 - s.count)) + s
}
