import XCTest
import JSONModel
import TestSupport

final class JSONParseTests: XCTestCase {
    func testScalars() throws {
        XCTAssertEqual(try JSON.parse("null"), .null)
        XCTAssertEqual(try JSON.parse("true"), .bool(true))
        XCTAssertEqual(try JSON.parse(" false "), .bool(false))
        XCTAssertEqual(try JSON.parse("0"), .int(0))
        XCTAssertEqual(try JSON.parse("-12"), .int(-12))
        XCTAssertEqual(try JSON.parse("1.0"), .double(1.0))
        XCTAssertEqual(try JSON.parse("1e3"), .double(1000))
        XCTAssertEqual(try JSON.parse("-2.5E-3"), .double(-0.0025))
        XCTAssertEqual(try JSON.parse("\"hi\""), .string("hi"))
    }

    func testBigIntegers() throws {
        XCTAssertEqual(try JSON.parse("9223372036854775807"), .int(Int64.max))
        XCTAssertEqual(try JSON.parse("-9223372036854775808"), .int(Int64.min))
        // One past the range: a double.
        XCTAssertEqual(try JSON.parse("9223372036854775808"), .double(9223372036854775808.0))
        XCTAssertEqual(try JSON.parse("-9223372036854775809"), .double(-9223372036854775809.0))
        XCTAssertEqual(try JSON.parse("[12345678901234567]"), .array([.int(12345678901234567)]))
    }

    func testContainers() throws {
        let value = try JSON.parse(#"{"a": [1, 2.5, {"b": null}], "c": {}, "d": []}"#)
        XCTAssertEqual(value, ["a": [1, 2.5, ["b": .null]], "c": [:], "d": []])
        XCTAssertEqual(value["a"]?[1], .double(2.5))
        XCTAssertEqual(value["a"]?[2]?["b"], .null)
        XCTAssertNil(value["a"]?[3])
        XCTAssertNil(value["zz"])
    }

    func testDuplicateKeysLastWins() throws {
        XCTAssertEqual(try JSON.parse(#"{"a": 1, "a": 2}"#), ["a": 2])
    }

    func testStringEscapes() throws {
        XCTAssertEqual(try JSON.parse(#""a\"b\\c\/d\b\f\n\r\t""#), .string("a\"b\\c/d\u{08}\u{0C}\n\r\t"))
        XCTAssertEqual(try JSON.parse(#""\u00e9\u4e2d""#), .string("é中"))
        // A surrogate pair: U+1F600.
        XCTAssertEqual(try JSON.parse(#""\ud83d\ude00""#), .string("😀"))
        XCTAssertEqual(try JSON.parse("\"é中😀\""), .string("é中😀"))
        XCTAssertEqual(try JSON.parse(#""\u0000""#), .string("\u{0}"))
    }

    func testByteOrderMarkIsIgnored() throws {
        XCTAssertEqual(try JSON.parse(bytes: [0xEF, 0xBB, 0xBF] + Array("[1]".utf8)), [1])
    }

    private func parseError(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> JSONParseError? {
        expectParseError({ try JSON.parse(text) }, shown: " from \(text.debugDescription)", file: file, line: line)
    }

    private func parseError(bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> JSONParseError? {
        expectParseError({ try JSON.parse(bytes: bytes) }, shown: "", file: file, line: line)
    }

    /// The `JSONParseError` that `parse` throws; a failure when it parses or throws another error.
    private func expectParseError(_ parse: () throws -> JSON, shown: String, file: StaticString, line: UInt) -> JSONParseError? {
        do {
            let value = try parse()
            XCTFail("parsed \(value)\(shown)", file: file, line: line)
            return nil
        } catch let error as JSONParseError {
            return error
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
            return nil
        }
    }

    func testErrorPositions() throws {
        let e1 = try XCTUnwrap(parseError("{\n  \"a\": 1,\n  \"b\": tru\n}"))
        XCTAssertEqual(e1.line, 3)
        XCTAssertEqual(e1.column, 8)
        XCTAssertTrue(e1.description.contains("line 3 column 8"), e1.description)
        XCTAssertTrue(e1.message.contains("true"), e1.message)

        let e2 = try XCTUnwrap(parseError("[1, 2] x"))
        XCTAssertEqual(e2.line, 1)
        XCTAssertEqual(e2.column, 8)
        XCTAssertTrue(e2.message.contains("after the JSON value"), e2.message)

        // Columns count characters, not bytes.
        let e3 = try XCTUnwrap(parseError("[\"é中\", x]"))
        XCTAssertEqual(e3.column, 8)

        let e4 = try XCTUnwrap(parseError("[1,\n2,\n"))
        XCTAssertEqual(e4.line, 3)
        XCTAssertTrue(e4.message.contains("end of input"), e4.message)
    }

    func testRejectsInvalidTexts() {
        let invalid = [
            "", "   ", "[1,]", "{\"a\":1,}", "[1 2]", "{\"a\" 1}", "{a: 1}", "01", "-", "1.", ".5",
            "1e", "+1", "NaN", "Infinity", "[", "{", "\"abc", "'a'", "nul", "truex", "[1]]",
            "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"a\tb\"",
            "\"line\nbreak\"", "1e400", "{\"a\":1}{}", "[1]\u{0}",
        ]
        for text in invalid {
            XCTAssertThrowsError(try JSON.parse(text), "accepted \(text.debugDescription)") { error in
                XCTAssertTrue(error is JSONParseError)
            }
        }
    }

    func testRejectsInvalidUTF8() throws {
        // A lone continuation byte, an overlong encoding, an encoded surrogate, a truncated sequence.
        for bad: [UInt8] in [[0x80], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xE4, 0xB8], [0xF5, 0x80, 0x80, 0x80]] {
            let e = try XCTUnwrap(parseError(bytes: [0x22, 0x61] + bad + [0x22]))
            XCTAssertTrue(e.message.contains("invalid UTF-8"), e.message)
            XCTAssertEqual(e.column, 3)
        }
    }

    func testDepthLimit() throws {
        let ok = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        XCTAssertNoThrow(try JSON.parse(ok))
        let deep = String(repeating: "[", count: 513) + String(repeating: "]", count: 513)
        let e = try XCTUnwrap(parseError(deep))
        XCTAssertEqual(e.description, "JSON nested deeper than 512 levels at line 1 column 513")
        let deepObjects = String(repeating: "{\"a\":", count: 600) + "1" + String(repeating: "}", count: 600)
        let e2 = try XCTUnwrap(parseError(deepObjects))
        XCTAssertTrue(e2.description.hasPrefix("JSON nested deeper than 512 levels at line 1 column "), e2.description)
    }
}

final class JSONEncodeTests: XCTestCase {
    func testCompactSortedKeys() {
        let value: JSON = ["b": 1, "a": [true, .null, 2.5], "c": ["z": "x", "y": [:]]]
        XCTAssertEqual(value.encoded(), #"{"a":[true,null,2.5],"b":1,"c":{"y":{},"z":"x"}}"#)
        // Keys sort by Unicode scalar (= UTF-8 byte) order: upper case before lower, ASCII
        // before accented letters, and an astral character after the BMP ones.
        let keys: JSON = ["é": 1, "z": 2, "Z": 3, "a": 4, "😀": 5, "中": 6, "": 7]
        XCTAssertEqual(keys.encoded(), #"{"":7,"Z":3,"a":4,"z":2,"é":1,"中":6,"😀":5}"#)
        XCTAssertEqual(Array(keys.encodedBytes()), Array(keys.encoded().utf8))
    }

    func testPretty() {
        let value: JSON = ["b": [1, 2], "a": [:], "c": []]
        XCTAssertEqual(value.encoded(pretty: true), """
        {
          "a": {},
          "b": [
            1,
            2
          ],
          "c": []
        }
        """)
    }

    func testDoubles() {
        XCTAssertEqual(JSON.double(1.0).encoded(), "1.0")
        XCTAssertEqual(JSON.double(-0.0).encoded(), "-0.0")
        XCTAssertEqual(JSON.double(0.1).encoded(), "0.1")
        XCTAssertEqual(JSON.double(1e300).encoded(), "1e+300")
        XCTAssertEqual(JSON.double(.nan).encoded(), "null")
        XCTAssertEqual(JSON.double(.infinity).encoded(), "null")
        XCTAssertEqual(JSON.double(-.infinity).encoded(), "null")
        for d in [1.0, 0.1, 1.0 / 3.0, 1e-7, 5e-324, 1.7976931348623157e308, 123456789.125, 1e16, -2.5] {
            XCTAssertEqual(try JSON.parse(JSON.double(d).encoded()), .double(d), "\(d)")
        }
        XCTAssertEqual(JSON.int(Int64.min).encoded(), "-9223372036854775808")
    }

    func testStringEscaping() throws {
        let s = "q\"b\\n\n\t\r\u{08}\u{0C}\u{01}\u{1F}\u{7F}é😀/"
        let text = JSON.string(s).encoded()
        XCTAssertEqual(text, #""q\"b\\n\n\t\r\b\f\u0001\u001F\u007Fé😀/""#)
        XCTAssertEqual(try JSON.parse(text), .string(s))
    }

    func testRoundTripRandom() throws {
        var rng = SeededGenerator(seed: 42)
        for _ in 0..<300 {
            let value = RandomJSON.value(&rng, depth: 5)
            for pretty in [false, true] {
                let text = value.encoded(pretty: pretty)
                XCTAssertEqual(try JSON.parse(text), value, text)
                // Deterministic: encoding the parsed value gives the same text.
                XCTAssertEqual(try JSON.parse(text).encoded(pretty: pretty), text)
            }
        }
    }
}

final class JSONAccessorTests: XCTestCase {
    func testAccessors() {
        let v: JSON = ["s": "x", "i": 3, "d": 2.0, "f": 2.5, "b": true, "a": [1], "o": ["k": .null], "n": .null]
        XCTAssertEqual(v["s"]?.stringValue, "x")
        XCTAssertNil(v["i"]?.stringValue)
        XCTAssertEqual(v["i"]?.intValue, 3)
        XCTAssertEqual(v["d"]?.intValue, 2)
        XCTAssertNil(v["f"]?.intValue)
        XCTAssertEqual(v["i"]?.doubleValue, 3.0)
        XCTAssertEqual(v["f"]?.doubleValue, 2.5)
        XCTAssertEqual(v["b"]?.boolValue, true)
        XCTAssertNil(v["s"]?.boolValue)
        XCTAssertEqual(v["a"]?.arrayValue, [1])
        XCTAssertEqual(v["o"]?.objectValue, ["k": .null])
        XCTAssertEqual(v["n"]?.isNull, true)
        XCTAssertEqual(v["s"]?.isNull, false)
        XCTAssertNil(JSON.double(1e30).intValue)
        XCTAssertNil(JSON.double(.nan).intValue)
        XCTAssertEqual(["s", "i", "d", "b", "a", "o", "n"].map { v[$0]!.typeName },
                       ["string", "integer", "number", "boolean", "array", "object", "null"])
    }

    func testSubscriptSetter() {
        var v: JSON = ["a": 1]
        v["b"] = "x"
        v["a"] = nil
        XCTAssertEqual(v, ["b": "x"])
        var n = JSON.null
        n["k"] = true
        XCTAssertEqual(n, ["k": true])
    }

    func testEquivalence() {
        XCTAssertNotEqual(JSON.int(1), JSON.double(1.0))
        XCTAssertTrue(JSON.int(1).isEquivalent(to: .double(1.0)))
        XCTAssertFalse(JSON.int(1).isEquivalent(to: .double(1.5)))
        XCTAssertTrue((["a": [1, 2.0]] as JSON).isEquivalent(to: ["a": [1.0, 2]]))
        XCTAssertFalse((["a": [1, 2]] as JSON).isEquivalent(to: ["a": [2, 1]]))
        XCTAssertFalse((["a": 1] as JSON).isEquivalent(to: ["a": 1, "b": 2]))
        XCTAssertFalse(JSON.array([]).isEquivalent(to: .object([:])))
        XCTAssertFalse(JSON.int(Int64.max).isEquivalent(to: .double(9223372036854775807.0)))
    }
}

final class JSONDiffTests: XCTestCase {
    func testIdenticalIsEmpty() {
        let v: JSON = ["a": [1, ["b": 2]], "c": "x"]
        XCTAssertEqual(JSON.diff(before: v, after: v), [])
        XCTAssertEqual(JSON.diff(before: ["n": 1], after: ["n": 1.0]), [])
    }

    func testObjectsAndIndexedArrays() {
        let before: JSON = ["stdout": ["enabled": false], "consoleSAN": ["a", "b"], "gone": 1, "same": 2]
        let after: JSON = ["stdout": ["enabled": true], "consoleSAN": ["a", "b", "c"], "new": ["x": 1], "same": 2]
        XCTAssertEqual(JSON.diff(before: before, after: after), [
            JSONChange(at: [.key("consoleSAN"), .index(2)], kind: .added, old: nil, new: "c"),
            JSONChange(at: [.key("gone")], kind: .removed, old: 1, new: nil),
            JSONChange(at: [.key("new")], kind: .added, old: nil, new: ["x": 1]),
            JSONChange(at: [.key("stdout"), .key("enabled")], kind: .changed, old: false, new: true),
        ])
        XCTAssertEqual(JSON.diff(before: ["l": [1, 2, 3]], after: ["l": [1, 5]]), [
            JSONChange(at: [.key("l"), .index(1)], kind: .changed, old: 2, new: 5),
            JSONChange(at: [.key("l"), .index(2)], kind: .removed, old: 3, new: nil),
        ])
        XCTAssertEqual(JSON.diff(before: ["rules": [["effect": "alert"]]], after: ["rules": [["effect": "block"]]]), [
            JSONChange(at: [.key("rules"), .index(0), .key("effect")], kind: .changed, old: "alert", new: "block"),
        ])
    }

    func testQuotedKeys() {
        let before: JSON = ["labels": ["app.kubernetes.io/name": "a", "x_1": "b"]]
        let after: JSON = ["labels": ["app.kubernetes.io/name": "z", "x_1": "c", "1a": "d", "say \"hi\"": 1]]
        XCTAssertEqual(JSON.diff(before: before, after: after).map(\.path), [
            "labels[\"1a\"]", "labels[\"app.kubernetes.io/name\"]", "labels[\"say \\\"hi\\\"\"]", "labels.x_1",
        ])
    }

    func testTypeChange() {
        XCTAssertEqual(JSON.diff(before: ["a": [1]], after: ["a": ["k": 1]]), [
            JSONChange(at: [.key("a")], kind: .changed, old: [1], new: ["k": 1]),
        ])
        XCTAssertEqual(JSON.diff(before: 1, after: "1"), [JSONChange(at: [], kind: .changed, old: 1, new: "1")])
    }

    func testKeyedArrayInsertAtTop() {
        let a: JSON = ["name": "Default - alert all", "effect": "alert"]
        let b: JSON = ["name": "b", "effect": "block"]
        let new: JSON = ["name": "new rule", "effect": "block"]
        let changes = JSON.diff(before: ["rules": [a, b]], after: ["rules": [new, a, b]])
        XCTAssertEqual(changes, [JSONChange(at: [.key("rules"), .element(field: "name", value: "new rule")], kind: .added, old: nil, new: new)])
    }

    func testKeyedArrayFieldChangeAndRemoval() {
        let a: JSON = ["name": "Default - alert all", "effect": "alert"]
        let b: JSON = ["name": "b", "effect": "block"]
        var a2 = a
        a2["effect"] = "block"
        XCTAssertEqual(JSON.diff(before: ["rules": [a, b]], after: ["rules": [a2]]), [
            JSONChange(at: [.key("rules"), .element(field: "name", value: "b")], kind: .removed, old: b, new: nil),
            JSONChange(at: [.key("rules"), .element(field: "name", value: "Default - alert all"), .key("effect")], kind: .changed, old: "alert", new: "block"),
        ])
        // Shown as text only for display.
        XCTAssertEqual(JSON.diff(before: ["rules": [a, b]], after: ["rules": [a2]]).map(\.path),
                       ["rules[name=\"b\"]", "rules[name=\"Default - alert all\"].effect"])
    }

    func testKeyedArrayMove() {
        let a: JSON = ["name": "a", "v": 1]
        let b: JSON = ["name": "b", "v": 2]
        let c: JSON = ["name": "c", "v": 3]
        XCTAssertEqual(JSON.diff(before: ["rules": [a, b, c]], after: ["rules": [c, a, b]]), [
            JSONChange(at: [.key("rules")], kind: .changed, old: ["a", "b", "c"], new: ["c", "a", "b"]),
        ])
        // Adding and removing elements is not a move.
        XCTAssertEqual(JSON.diff(before: ["rules": [a, b]], after: ["rules": [a, c]]).map(\.kind), [.removed, .added])
    }

    func testOtherIdentityKeys() {
        let before: JSON = ["users": [["username": "alice", "role": "user"], ["username": "bob", "role": "user"]]]
        let after: JSON = ["users": [["username": "bob", "role": "admin"], ["username": "alice", "role": "user"]]]
        XCTAssertEqual(JSON.diff(before: before, after: after), [
            JSONChange(at: [.key("users")], kind: .changed, old: ["alice", "bob"], new: ["bob", "alice"]),
            JSONChange(at: [.key("users"), .element(field: "username", value: "bob"), .key("role")], kind: .changed, old: "user", new: "admin"),
        ])
        let groups: JSON = [["groupName": "g1", "_id": "x"], ["groupName": "g2"]]
        XCTAssertEqual(JSON.diff(before: groups, after: [["groupName": "g2"]]).map(\.path), ["[groupName=\"g1\"]"])
    }

    func testDuplicateNamesFallBackToIndex() {
        let before: JSON = [["name": "a", "v": 1], ["name": "a", "v": 2]]
        let after: JSON = [["name": "a", "v": 1], ["name": "a", "v": 3]]
        XCTAssertEqual(JSON.diff(before: before, after: after).map(\.path), ["[1].v"])
    }

    func testCreation() {
        let after: JSON = ["username": "alice", "roles": ["admin"], "meta": [:], "rules": [["name": "r1", "x": 1]]]
        XCTAssertEqual(JSON.diff(before: nil, after: after), [
            JSONChange(at: [.key("meta")], kind: .added, old: nil, new: [:]),
            JSONChange(at: [.key("roles"), .index(0)], kind: .added, old: nil, new: "admin"),
            JSONChange(at: [.key("rules"), .element(field: "name", value: "r1"), .key("name")], kind: .added, old: nil, new: "r1"),
            JSONChange(at: [.key("rules"), .element(field: "name", value: "r1"), .key("x")], kind: .added, old: nil, new: 1),
            JSONChange(at: [.key("username")], kind: .added, old: nil, new: "alice"),
        ])
        XCTAssertEqual(JSON.diff(before: nil, after: [:]), [JSONChange(at: [], kind: .added, old: nil, new: [:])])
    }
}

final class ByteSizeTests: XCTestCase {
    /// One formatter for every size limit in a message: a binary unit only when the count is a
    /// whole number of it, so the limit reads back exactly.
    func testWholeUnitsOnly() {
        XCTAssertEqual(ByteSize.text(32 << 20), "32 MiB")
        XCTAssertEqual(ByteSize.text(4 << 10), "4 KiB")
        XCTAssertEqual(ByteSize.text(1 << 20), "1 MiB")
        XCTAssertEqual(ByteSize.text((1 << 20) + 1), "1048577 bytes")
        XCTAssertEqual(ByteSize.text(3 << 19), "1536 KiB")
        XCTAssertEqual(ByteSize.text(1536), "1536 bytes")
        XCTAssertEqual(ByteSize.text(1000), "1000 bytes")
        XCTAssertEqual(ByteSize.text(1), "1 byte")
        XCTAssertEqual(ByteSize.text(0), "0 bytes")
    }
}
