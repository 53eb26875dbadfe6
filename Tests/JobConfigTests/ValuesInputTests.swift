import Foundation
import JSONModel
import TestSupport
import XCTest
@testable import JobConfig

/// `--set` arguments and values files that cannot be read.
final class ValuesInputTests: XCTestCase {
    // MARK: --set

    func testSetFormsAndTyping() throws {
        let assignments = try SetArguments.parse("a.b=c,d.e=f")
        XCTAssertEqual(assignments.map { ValuePath.string($0.path) }, ["a.b", "d.e"])
        XCTAssertEqual(assignments.map(\.value), ["c", "f"])

        func value(_ argument: String) throws -> JSON {
            let parsed = try SetArguments.parse(argument)
            XCTAssertEqual(parsed.count, 1, argument)
            return parsed[0].value
        }
        XCTAssertEqual(try value("x=true"), .bool(true))
        XCTAssertEqual(try value("x=FALSE"), .bool(false))
        XCTAssertEqual(try value("x=null"), .null)
        XCTAssertEqual(try value("x=42"), .int(42))
        XCTAssertEqual(try value("x=-3"), .int(-3))
        XCTAssertEqual(try value("x=0"), .int(0))
        XCTAssertEqual(try value("x=007"), .string("007"), "a leading zero keeps a string, as in Helm")
        XCTAssertEqual(try value("x=1.5"), .string("1.5"), "Helm keeps non-integers as strings")
        XCTAssertEqual(try value("x="), .string(""))
        XCTAssertEqual(try value("x=a=b"), .string("a=b"))
        XCTAssertEqual(try value("x=a\\,b"), .string("a,b"))
        XCTAssertEqual(try value("x={1,two,true}"), [1, "two", true])
        XCTAssertEqual(try value("x={}"), [])

        let escapedKey = try SetArguments.parse("podLabels.app\\.kubernetes\\.io/name=tl")
        XCTAssertEqual(escapedKey[0].path, [.key("podLabels"), .key("app.kubernetes.io/name")])

        let indexed = try SetArguments.parse("a.b[0].c=x,a.b[2]=y,m[1][0]=z")
        XCTAssertEqual(indexed[0].path, [.key("a"), .key("b"), .index(0), .key("c")])
        let applied = SetArguments.apply(indexed, to: .object([:]))
        XCTAssertEqual(applied, ["a": ["b": [["c": "x"], .null, "y"]], "m": [.null, ["z"]]])
    }

    func testMalformedSetArgumentsAreReportedTogetherNamingEachArgument() {
        let bad = ["=x", "a..b=c", "a.b[x]=1", "novalue", "a[-1]=2", "a.=1", "a]=1", "a[0]b=1",
                   "console.credentials.password", "ok.key=1,broken"]
        let found = problems([], sets: credentials + bad)
        XCTAssertEqual(found.count, bad.count, found.joined(separator: "\n"))
        let text = found.joined(separator: "\n")
        XCTAssertTrue(text.contains("--set =…: empty key"), text)
        XCTAssertTrue(text.contains("--set a..b=…: empty key segment"), text)
        XCTAssertTrue(text.contains("--set a.b[x]=…: bad list index [x]"), text)
        XCTAssertTrue(text.contains("--set novalue: key \"novalue\" has no value"), text)
        XCTAssertTrue(text.contains("--set a[-1]=…: bad list index [-1]"), text)
        XCTAssertTrue(text.contains("--set a.=…: empty key segment"), text)
        XCTAssertTrue(text.contains("--set ok.key=…,broken: key \"broken\" has no value"), text)
    }

    func testSetErrorsNeverQuoteValues() {
        let found = problems([], sets: ["console.credentials.password=Hunter2Secret,x..y=1"])
        XCTAssertEqual(found.count, 1)
        XCTAssertFalse(found[0].contains("Hunter2Secret"), found[0])
        XCTAssertTrue(found[0].contains("console.credentials.password=…"), found[0])
    }

    func testHugeListIndexIsRefused() {
        XCTAssertThrowsError(try SetArguments.parse("a[99999999]=1")) { error in
            XCTAssertTrue("\(error)".contains("bad list index") || "\(error)".contains("larger than"), "\(error)")
        }
        XCTAssertThrowsError(try SetArguments.parse("a[70000]=1")) { error in
            XCTAssertTrue("\(error)".contains("larger than 65536"), "\(error)")
        }
    }

    // MARK: files

    func testNotYAMLNamesTheFileAndLineWithoutQuotingIt() throws {
        let dir = try TempDir()
        let file = try dir.write("bad.yaml", "console:\n  credentials:\n    password: TopSecretValue\n  license: [unclosed\n")
        XCTAssertThrowsError(try ValuesLoader.load(files: [file], sets: [], secretsDir: nil)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(file.path), text)
            XCTAssertTrue(text.contains("is not valid YAML"), text)
            XCTAssertTrue(text.contains("line "), text)
            XCTAssertFalse(text.contains("TopSecretValue"), text)
        }
    }

    func testTopLevelMustBeAMapping() throws {
        for (text, _) in [("- a\n- b\n", "list"), ("just a string\n", "scalar")] {
            let error = loadError([text])
            XCTAssertTrue(error.contains("the top level is not a mapping"), error)
            XCTAssertTrue(error.contains("values-0.yaml"), error)
        }
    }

    func testDuplicateKeysAreRefusedWithTheirLine() {
        let error = loadError(["policies:\n  name: a\n  name: b\n"])
        XCTAssertTrue(error.contains("values-0.yaml"), error)
        XCTAssertTrue(error.contains("duplicate key \"name\""), error)
        XCTAssertTrue(error.contains("line 2") || error.contains("line 3"), error)
    }

    func testMultipleDocumentsAreRefused() {
        let error = loadError(["a: 1\n---\nb: 2\n"])
        XCTAssertTrue(error.contains("values-0.yaml"), error)
        XCTAssertTrue(error.contains("single document"), error)
    }

    func testAliasBombIsRefused() {
        let bomb = """
        a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
        b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
        c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
        d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
        e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
        f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
        g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
        h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
        i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
        """
        let error = loadError([bomb])
        XCTAssertTrue(error.contains("values-0.yaml"), error)
        XCTAssertTrue(error.contains("aliases expand to more than 10000 values"), error)
    }

    func testFilesOverFourMiBAreRefused() throws {
        let dir = try TempDir()
        var text = "padding: |\n"
        let line = "  " + String(repeating: "x", count: 1022) + "\n"
        while text.utf8.count <= ValuesYAML.maxBytes { text += line }
        let file = try dir.write("big.yaml", text)
        XCTAssertThrowsError(try ValuesLoader.load(files: [file], sets: credentials, secretsDir: nil)) { error in
            XCTAssertEqual("\(error)", "\(file.path): is larger than 4 MiB")
        }
    }

    func testMissingFileAndDirectoryAndNonUTF8() throws {
        let dir = try TempDir()
        let missing = dir.url.appendingPathComponent("nope.yaml")
        XCTAssertThrowsError(try ValuesLoader.load(files: [missing], sets: [], secretsDir: nil)) { error in
            XCTAssertEqual("\(error)", "\(missing.path): no such file")
        }
        XCTAssertThrowsError(try ValuesLoader.load(files: [dir.url], sets: [], secretsDir: nil)) { error in
            XCTAssertTrue("\(error)".contains("is a directory"), "\(error)")
        }
        let latin1 = try dir.writeData("latin1.yaml", Data([0x61, 0x3A, 0x20, 0xE9, 0x0A]))
        XCTAssertThrowsError(try ValuesLoader.load(files: [latin1], sets: [], secretsDir: nil)) { error in
            XCTAssertEqual("\(error)", "\(latin1.path): is not UTF-8 text")
        }
    }

    func testNonScalarKeysAreRefused() {
        let error = loadError(["? [a, b]\n: 1\n"])
        XCTAssertTrue(error.contains("a mapping key is not a plain value"), error)
    }

    /// Keys that the parser sees as different but that name the same JSON key once typed
    /// (`1` and `"1"`, `true` and `"true"`), in a nested mapping and a list item too.
    func testKeysEqualOnlyAfterTypingAreDuplicates() {
        for (text, key) in [("1: x\n\"1\": y\n", "1"), ("a:\n  true: 1\n  'true': 2\n", "true"),
                            ("l:\n  - 0x1: a\n    \"0x1\": b\n", "0x1")] {
            XCTAssertThrowsError(try ValuesYAML.parse(text: text, source: "v.yaml"), text) { error in
                XCTAssertTrue("\(error)".hasPrefix("v.yaml: duplicate key \"\(key)\" (line "), "\(error)")
            }
        }
    }

    /// Only a plain `<<` merges: quoted or tagged as a string it is an ordinary key.
    func testOnlyAPlainMergeKeyMerges() throws {
        let base = "b: &b {k: 1}\n"
        XCTAssertEqual(try ValuesYAML.parse(text: base + "m:\n  <<: *b\n", source: "v")?["m"], .object(["k": .int(1)]))
        XCTAssertEqual(try ValuesYAML.parse(text: base + "m:\n  \"<<\": *b\n", source: "v")?["m"],
                       .object(["<<": .object(["k": .int(1)])]))
        XCTAssertEqual(try ValuesYAML.parse(text: base + "m:\n  !!str <<: *b\n", source: "v")?["m"],
                       .object(["<<": .object(["k": .int(1)])]))
        XCTAssertThrowsError(try ValuesYAML.parse(text: "m:\n  <<: [1, 2]\n", source: "v")) { error in
            XCTAssertTrue("\(error)".contains("a merge key (<<) needs a mapping or a list of mappings (line 2"), "\(error)")
        }
    }
}
