import JSONModel
import TwistlockInit
import XCTest

final class YAMLCodecTests: XCTestCase {
    func testScalarsResolveByTheCoreSchema() throws {
        let docs = try YAMLCodec.decodeDocuments("""
        int: 42
        negative: -7
        hex: 0x1F
        big: 9223372036854775807
        float: 1.5
        floatWhole: 2.0
        exp: 1e3
        inf: .inf
        yes: true
        no: False
        nothing: null
        tilde: ~
        empty:
        quotedTrue: "true"
        quotedInt: '12'
        word: yes
        on: off
        version: 34.04.145
        date: 2024-01-02
        octalish: 0755
        """)
        XCTAssertEqual(docs.count, 1)
        let d = try XCTUnwrap(docs.first?.objectValue)
        XCTAssertEqual(d["int"], .int(42))
        XCTAssertEqual(d["negative"], .int(-7))
        XCTAssertEqual(d["hex"], .int(31))
        XCTAssertEqual(d["big"], .int(Int64.max))
        XCTAssertEqual(d["float"], .double(1.5))
        XCTAssertEqual(d["floatWhole"], .double(2.0))
        XCTAssertEqual(d["exp"], .double(1000))
        XCTAssertEqual(d["inf"], .double(.infinity))
        XCTAssertEqual(d["yes"], .bool(true))
        XCTAssertEqual(d["no"], .bool(false))
        XCTAssertEqual(d["nothing"], .null)
        XCTAssertEqual(d["tilde"], .null)
        XCTAssertEqual(d["empty"], .null)
        XCTAssertEqual(d["quotedTrue"], .string("true"))
        XCTAssertEqual(d["quotedInt"], .string("12"))
        // YAML 1.1 booleans are plain words in the core schema (as Kubernetes' JSON would keep them
        // if quoted; the codec never guesses).
        XCTAssertEqual(d["word"], .string("yes"))
        XCTAssertEqual(d["on"], .string("off"))
        XCTAssertEqual(d["version"], .string("34.04.145"))
        XCTAssertEqual(d["date"], .string("2024-01-02"))
        XCTAssertEqual(d["octalish"], .int(755))
    }

    func testMultipleDocumentsSkipEmptyOnes() throws {
        let docs = try YAMLCodec.decodeDocuments("""
        ---
        # only a comment
        ---
        a: 1
        ---
        ---
        - x
        - y
        ---
        """)
        XCTAssertEqual(docs, [.object(["a": .int(1)]), .array([.string("x"), .string("y")])])
        XCTAssertEqual(try YAMLCodec.decodeDocuments(""), [])
        XCTAssertEqual(try YAMLCodec.decodeDocuments("# nothing\n"), [])
    }

    func testSyntaxErrorNamesTheLine() {
        let text = "a: 1\nb:\n  - x\n  y: 2\nc: 3\n"
        XCTAssertThrowsError(try YAMLCodec.decodeDocuments(text)) { error in
            guard let e = error as? YAMLCodecError else { return XCTFail("unexpected \(error)") }
            XCTAssertEqual(e.line, 4, "\(e)")
            XCTAssertTrue(e.description.contains("line 4"), e.description)
        }
    }

    func testDuplicateKeyIsAnError() {
        XCTAssertThrowsError(try YAMLCodec.decodeDocuments("metadata:\n  name: a\n  name: b\n")) { error in
            guard let e = error as? YAMLCodecError else { return XCTFail("unexpected \(error)") }
            XCTAssertTrue(e.description.contains("duplicate key \"name\""), e.description)
            XCTAssertNotNil(e.line)
        }
    }

    /// Keys that the parser sees as different but that name the same JSON key once typed, as
    /// Kubernetes' reader refuses them (a later one used to replace the earlier silently).
    func testKeysEqualOnlyAfterTypingAreDuplicates() {
        for (text, key, line) in [("1: x\n\"1\": y\n", "1", 2), ("a:\n  true: 1\n  'true': 2\n", "true", 3),
                                  ("---\nok: 1\n---\nl:\n  - 0x1: a\n    \"0x1\": b\n", "0x1", 6)] {
            XCTAssertThrowsError(try YAMLCodec.decodeDocuments(text), text) { error in
                guard let e = error as? YAMLCodecError else { return XCTFail("unexpected \(error)") }
                XCTAssertEqual(e.message, "duplicate key \"\(key)\"")
                XCTAssertEqual(e.line, line, text)
            }
        }
    }

    /// Only a plain `<<` merges: quoted or tagged as a string it is an ordinary key; a merge of
    /// a scalar is refused with its place.
    func testOnlyAPlainMergeKeyMerges() throws {
        let base = "b: &b {k: 1}\n"
        XCTAssertEqual(try YAMLCodec.decodeDocument(base + "m:\n  <<: *b\n")?["m"], .object(["k": .int(1)]))
        XCTAssertEqual(try YAMLCodec.decodeDocument(base + "m:\n  \"<<\": *b\n")?["m"], .object(["<<": .object(["k": .int(1)])]))
        XCTAssertEqual(try YAMLCodec.decodeDocument(base + "m:\n  !!str <<: *b\n")?["m"], .object(["<<": .object(["k": .int(1)])]))
        XCTAssertThrowsError(try YAMLCodec.decodeDocuments("m:\n  <<: [1, 2]\n")) { error in
            guard let e = error as? YAMLCodecError else { return XCTFail("unexpected \(error)") }
            XCTAssertEqual(e.message, "merge key << expects a mapping or a list of mappings")
            XCTAssertEqual(e.line, 2)
        }
    }

    func testMergeKeysAndAliases() throws {
        let docs = try YAMLCodec.decodeDocuments("""
        base: &base
          cpu: 100m
          memory: 1Gi
        limits:
          <<: *base
          memory: 2Gi
        copy: *base
        """)
        let d = try XCTUnwrap(docs.first)
        XCTAssertEqual(d["limits"], .object(["cpu": "100m", "memory": "2Gi"]))
        XCTAssertEqual(d["copy"], .object(["cpu": "100m", "memory": "1Gi"]))
    }

    func testAliasBombIsRefused() {
        var text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for i in 1...9 {
            let refs = Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ")
            text += "a\(i): &a\(i) [\(refs)]\n"
        }
        XCTAssertThrowsError(try YAMLCodec.decodeDocuments(text)) { error in
            XCTAssertTrue("\(error)".contains("more than"), "\(error)")
        }
    }

    func testRoundTripKeepsEveryPartOfEveryDocument() throws {
        let docs = try YAMLCodec.decodeDocuments(Fixtures.defenderManifest)
        XCTAssertEqual(docs.count, 6)
        let text = try YAMLCodec.encodeDocuments(docs)
        let again = try YAMLCodec.decodeDocuments(text)
        XCTAssertEqual(again, docs)
        // Encoding is deterministic.
        XCTAssertEqual(try YAMLCodec.encodeDocuments(again), text)
        // Values that would change type if written plain survive as strings.
        let ds = try XCTUnwrap(docs.first { $0["kind"] == "DaemonSet" })
        let env = try XCTUnwrap(ds["spec"]?["template"]?["spec"]?["containers"]?[0]?["env"]?.arrayValue)
        XCTAssertTrue(env.contains(.object(["name": "LOG_PROD", "value": "true"])))
        XCTAssertEqual(ds["spec"]?["template"]?["spec"]?["volumes"]?[0]?["secret"]?["defaultMode"], .int(256))
        XCTAssertEqual(docs[1]["subjects"]?[0]?["apiGroup"], .null)
    }

    func testEncodingOrdersKubernetesKeysAndQuotesAmbiguousStrings() throws {
        let doc: JSON = .object([
            "spec": .object(["replicas": 2]),
            "metadata": .object(["namespace": "ns", "name": "x", "labels": .object(["a": "b"])]),
            "kind": "ConfigMap",
            "apiVersion": "v1",
            "data": .object([
                "bool": "true", "yes": "yes", "num": "12", "float": "1.5", "null": "null", "empty": "",
                "tilde": "~", "colon": "a: b", "dash": "- x", "multi": "line1\nline2\n", "version": "34.04.145",
                "hash": "#x", "star": "*x", "spaces": " padded ",
            ]),
            "ratio": 1.0,
            "tiny": 1e-7,
            "count": .int(-3),
            "none": .null,
            "list": .array([]),
            "map": .object([:]),
        ])
        let text = try YAMLCodec.encodeDocuments([doc])
        let lines = text.split(separator: "\n").map(String.init)
        XCTAssertEqual(Array(lines.prefix(3)), ["---", "apiVersion: v1", "kind: ConfigMap"])
        XCTAssertEqual(lines[3], "metadata:")
        XCTAssertTrue(lines[4].contains("name: x"), lines[4])
        let back = try XCTUnwrap(YAMLCodec.decodeDocuments(text).first)
        XCTAssertEqual(back, doc)
        XCTAssertEqual(back["ratio"], .double(1.0))
        XCTAssertEqual(back["tiny"], .double(1e-7))
        // YAML 1.1 readers (go-yaml v2, PyYAML) would take plain `yes` as a boolean: it is quoted.
        XCTAssertTrue(text.contains("\"yes\": \"yes\""), text)
        XCTAssertTrue(text.contains("bool: \"true\""), text)
        XCTAssertTrue(text.contains("  multi: |\n    line1\n    line2\n"), text)
        XCTAssertTrue(text.contains("version: 34.04.145"), text)
    }

    func testSingleDocumentHelpers() throws {
        XCTAssertNil(try YAMLCodec.decodeDocument(""))
        XCTAssertEqual(try YAMLCodec.decodeDocument("a: [1, 2]"), .object(["a": .array([1, 2])]))
        XCTAssertThrowsError(try YAMLCodec.decodeDocument("a: 1\n---\nb: 2\n"))
        let text = try YAMLCodec.encodeDocument(.object(["b": 1, "a": "x"]))
        XCTAssertEqual(text, "a: x\nb: 1\n")
    }
}
