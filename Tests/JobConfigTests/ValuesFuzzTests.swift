import Foundation
import JSONModel
import TestSupport
import XCTest
@testable import JobConfig

/// Hardening of the values parser (issue 8): every key of docs/values.md with a wrong kind, a
/// wrong enum value, an empty required string or a huge string; documents that are not
/// mappings, duplicate keys, alias bombs; malformed `--set` paths; and a property-based fuzz
/// of the whole loader (YAML text, mutated bytes, random `--set`). Every case must end in a
/// `ValuesError` that names the key (or the file, or the argument) — never a crash, never a
/// secret in the message.
///
/// Bounded: the random cases run `TWISTLOCK_FUZZ_ITERATIONS` times (default 400) from the
/// seed `TWISTLOCK_FUZZ_SEED` (default fixed, so CI is deterministic). Set them to fuzz longer
/// locally: `TWISTLOCK_FUZZ_ITERATIONS=20000 TWISTLOCK_FUZZ_SEED=$RANDOM swift test --filter ValuesFuzz`.
final class ValuesFuzzTests: XCTestCase {
    static let secretMark = "S3CRET-MARK-7f3a"

    // MARK: - every key, wrong kinds

    func testEveryKeyWithAWrongKindOrEnumValueFailsValidationNamingTheKey() throws {
        let dir = try TempDir()
        var checked = 0
        for (path, field) in ValuesSchema.allKeys {
            for (bad, expectedKey) in Self.badValues(for: field.type, path: path) {
                let user = Self.place(bad, at: path)
                let file = try dir.write("wrong-\(checked).yaml", user.encoded())
                checked += 1
                let problems = try Self.expectInvalid(files: [file], context: "\(path) = \(bad.encoded())")
                let keys = problems.map(\.key)
                XCTAssertTrue(keys.contains(expectedKey), "\(path) = \(bad.encoded()): problems \(problems)")
                XCTAssertTrue(keys.allSatisfy { $0.hasPrefix(expectedKey) },
                              "\(path) = \(bad.encoded()): a problem about another key: \(problems)")
                for p in problems where field.secret {
                    XCTAssertFalse(p.message.contains(Self.secretMark), "\(p)")
                }
            }
        }
        XCTAssertGreaterThan(checked, 200, "the schema walk found too few cases")
    }

    func testAnOpenEnumOnlyWarnsButNamesTheKey() throws {
        let values = try loadValues(["console: {additionalUsers: [{username: u, password: pw-long, role: site-owner}]}\n"])
        XCTAssertEqual(values.warnings.map(\.key), ["console.additionalUsers[0].role"])
    }

    // MARK: - empty required strings

    func testEmptyRequiredStringsNameTheirKey() throws {
        // (key, values that make it required)
        let cases: [(String, String)] = [
            ("console.credentials.username", ""),
            ("console.credentials.password", ""),
            ("monitoring.username", "monitoring: {enabled: true, password: metrics-pw}"),
            ("monitoring.password", "monitoring: {enabled: true}"),
            ("sso.client_id", Self.ssoOn),
            ("sso.issuer_uri", Self.ssoOn),
            ("sso.idp_url", Self.ssoOn),
            ("sso.cert", Self.ssoOn),
            ("defender.namespace", ""),
            ("policies.name", ""),
            ("console.trustedImages.name", ""),
            ("console.additionalUsers[0].username", "console: {additionalUsers: [{username: u, password: pw-long, role: user}]}"),
            ("console.additionalUsers[0].role", "console: {additionalUsers: [{username: u, password: pw-long, role: user}]}"),
            ("console.additionalUsers[0].password", "console: {additionalUsers: [{username: u, password: pw-long, role: user}]}"),
            ("console.groups[0].group", "console: {groups: [{group: g, role: admin}]}"),
            ("console.groups[0].role", "console: {groups: [{group: g, role: admin}]}"),
        ]
        let dir = try TempDir()
        for (n, (key, enabling)) in cases.enumerated() {
            // Whitespace-only counts as empty, for list item fields too.
            for empty in ["", "   ", "\n", " \t\r\n "] {
                // "" is the metrics user's default name (MetricsUserTests); blank is refused.
                if empty.isEmpty && key == "monitoring.username" { continue }
                let base = try dir.write("base-\(n).yaml", "console: {credentials: {username: admin, password: admin-pw}}\n")
                let on = try dir.write("on-\(n).yaml", enabling + "\n")
                let components = try ValuePath.parse(key)
                let blank = SetArguments.set(.object([:]), components[...], .string(empty))
                // A list item's other fields come from the enabling file; lists replace, so
                // merge the item by hand.
                var user = blank
                if key.contains("[0]"), let enabled = try ValuesYAML.parse(text: enabling, source: "x") {
                    user = SetArguments.set(enabled, components[...], .string(empty))
                }
                let file = try dir.write("empty-\(n).yaml", user.encoded())
                let files = key.contains("[0]") ? [base, file] : [base, on, file]
                let problems = try Self.expectInvalid(files: files, context: "\(key) = \(JSON.quote(empty))")
                // Blank is "required" (or, for the namespace, "not a namespace name"): named by its key.
                XCTAssertTrue(problems.contains { $0.key == key && ($0.message.contains("required") || !empty.isEmpty) },
                              "\(key) = \(JSON.quote(empty)): \(problems)")
                XCTAssertTrue(problems.allSatisfy { $0.key == key }, "\(key) = \(JSON.quote(empty)): \(problems)")
            }
        }
    }

    // MARK: - huge strings

    func testHugeStringsNameTheirKeyWithoutQuotingThem() throws {
        let dir = try TempDir()
        var checked = 0
        for (path, field) in ValuesSchema.allKeys {
            let limit: Int
            switch field.type {
            case .string(let maxBytes, _): limit = maxBytes
            case .oneOf(_, closed: false): limit = ValuesSchema.maxStringBytes
            case .map(.string?), .labels: limit = ValuesSchema.maxStringBytes
            default: continue
            }
            let huge = String(repeating: "h", count: limit + 1)
            let value: JSON
            let expected: String
            if case .map = field.type {
                value = ["team": .string(huge)]
                expected = path.replacingOccurrences(of: "[]", with: "[0]") + ".team"
            } else if case .labels = field.type {
                value = ["team": .string(huge)]
                expected = path.replacingOccurrences(of: "[]", with: "[0]") + ".team"
            } else {
                value = .string(huge)
                expected = path.replacingOccurrences(of: "[]", with: "[0]")
            }
            let file = try dir.write("huge-\(checked).yaml", Self.place(value, at: path, item: true).encoded())
            checked += 1
            let problems = try Self.expectInvalid(files: [file], context: path)
            let hit = problems.first { $0.key == expected }
            XCTAssertNotNil(hit, "\(path): \(problems)")
            XCTAssertTrue(hit?.message.contains("too long") ?? false, "\(hit?.message ?? "")")
            // No problem quotes more than the first 80 characters of the huge string.
            for p in problems {
                XCTAssertLessThan(p.description.count, 500, "a problem quotes the huge string: \(path): \(p.description.prefix(600))")
                XCTAssertFalse(p.description.contains(String(repeating: "h", count: 81)), "\(path): \(p.description.prefix(600))")
            }
        }
        XCTAssertGreaterThan(checked, 30)
        // Map keys and free-form maps are bounded too.
        let longKey = String(repeating: "k", count: ValuesSchema.maxStringBytes + 1)
        // (An explicit key: YAML's implicit keys stop at 1024 characters.)
        let file = try dir.write("huge-key.yaml", "defender:\n  resources:\n    limits:\n      ? \"\(longKey)\"\n      : \"1\"\n")
        let problems = try Self.expectInvalid(files: [file], context: "long key")
        XCTAssertTrue(problems.contains { $0.key.hasPrefix("defender.resources.limits.") && $0.message.contains("too long") }, "\(problems)")
        XCTAssertTrue(problems.allSatisfy { $0.description.count < 500 }, "the key is named by its first characters only")
    }

    // MARK: - documents that are not mappings, duplicate keys, aliases

    func testDocumentsThatAreNotMappingsAreRefusedNamingTheFile() throws {
        let dir = try TempDir()
        for (n, text) in ["- a\n- b\n", "just a string\n", "42\n", "true\n", "[1, 2]\n", "\"quoted\"\n", "!!binary aGVsbG8=\n"].enumerated() {
            let file = try dir.write("notmap-\(n).yaml", text)
            XCTAssertThrowsError(try ValuesLoader.load(files: [file], sets: credentials, secretsDir: nil), text) { error in
                guard case .unreadable(let name, let reason)? = error as? ValuesError else {
                    return XCTFail("\(text): \(error)")
                }
                XCTAssertEqual(name, file.path)
                XCTAssertEqual(reason, "the top level is not a mapping (key: value)")
            }
        }
    }

    func testDuplicateKeysAtAnyDepthAreRefusedWithTheirLine() throws {
        var rng = FuzzRandom(seed: FuzzRandom.seed(offset: 11))
        let dir = try TempDir()
        for n in 0..<40 {
            // A random nesting of mappings; a key repeated at a random depth.
            let depth = rng.int(1...6)
            var lines: [String] = []
            for d in 0..<depth { lines.append(String(repeating: "  ", count: d) + "level\(d):") }
            let indent = String(repeating: "  ", count: depth)
            let key = ["enabled", "name", "x", "k\(n)", "\"quoted\"", "'single'"][rng.int(0...5)]
            lines.append(indent + "\(key): \(Self.secretMark)")
            for f in 0..<rng.int(0...3) { lines.append(indent + "filler\(f): 1") }
            lines.append(indent + "\(key): \(Self.secretMark)")
            let file = try dir.write("dup-\(n).yaml", lines.joined(separator: "\n") + "\n")
            XCTAssertThrowsError(try ValuesLoader.load(files: [file], sets: credentials, secretsDir: nil)) { error in
                let text = "\(error)"
                XCTAssertTrue(text.hasPrefix(file.path + ": "), text)
                XCTAssertTrue(text.contains("duplicate key"), text)
                XCTAssertTrue(text.contains("line "), text)
                XCTAssertFalse(text.contains(Self.secretMark), text)
            }
        }
    }

    func testAliasBombsOfEveryShapeAreRefusedAndSmallAliasesPass() throws {
        var rng = FuzzRandom(seed: FuzzRandom.seed(offset: 12))
        let dir = try TempDir()
        for n in 0..<30 {
            let fanOut = rng.int(2...12)
            let sequenceStyle = rng.bool()
            // Enough levels that the expansion is at least 10× the limit.
            var levels = 1
            var size = Double(fanOut)
            while size < Double(ValuesYAML.maxAliasNodes) * 10 { levels += 1; size *= Double(fanOut) }
            let text = Self.aliasDocument(levels: levels, fanOut: fanOut, sequences: sequenceStyle)
            let file = try dir.write("bomb-\(n).yaml", text)
            XCTAssertThrowsError(try ValuesLoader.load(files: [file], sets: credentials, secretsDir: nil), "fan-out \(fanOut)") { error in
                let text = "\(error)"
                XCTAssertTrue(text.hasPrefix(file.path + ": "), text)
                XCTAssertTrue(text.contains("aliases expand to more than \(ValuesYAML.maxAliasNodes) values"), text)
            }
            // The same shape, two levels: a handful of values, accepted.
            let small = try dir.write("small-\(n).yaml", Self.aliasDocument(levels: 2, fanOut: min(fanOut, 4), sequences: sequenceStyle))
            XCTAssertNoThrow(try ValuesLoader.load(files: [small], sets: credentials, secretsDir: nil), "fan-out \(fanOut)")
        }
        // One big anchored list referenced many times (quadratic, not exponential).
        let big = (0..<2000).map { "\($0)" }.joined(separator: ", ")
        let refs = (0..<20).map { "r\($0): *big" }.joined(separator: "\n")
        let file = try dir.write("quadratic.yaml", "big: &big [\(big)]\n\(refs)\n")
        XCTAssertThrowsError(try ValuesLoader.load(files: [file], sets: credentials, secretsDir: nil)) { error in
            XCTAssertTrue("\(error)".contains("aliases expand to more than"), "\(error)")
        }
    }

    // MARK: - --set

    func testMalformedSetPathsFailNamingTheArgumentNeverItsValue() throws {
        let value = Self.secretMark
        let malformed = [
            "a..b=\(value)", ".a=\(value)", "a.=\(value)", "a[=\(value)", "a[x]=\(value)", "a[-1]=\(value)",
            "a[99999999]=\(value)", "a[65537]=\(value)", "a]=\(value)", "=\(value)", "a", "a[0]b=\(value)",
            "a\\", "a={\(value),b", "a={\(value)}x", "[0]=\(value)", "a.[0]=\(value)", "a=\(value),,b", "a=\(value),=c",
            "a=\(value)\\", "", ",", "a.b.=\(value)", "a[0]].b=\(value)", "a[0][=\(value)",
        ]
        for argument in malformed {
            XCTAssertThrowsError(try ValuesLoader.load(files: [], sets: credentials + [argument], secretsDir: nil), argument) { error in
                guard case .invalid(let problems)? = error as? ValuesError else { return XCTFail("\(argument): \(error)") }
                XCTAssertEqual(problems.count, 1, "\(argument): \(problems)")
                XCTAssertTrue(problems.first?.key.hasPrefix("--set ") ?? false, "\(problems)")
                XCTAssertFalse("\(error)".contains(value), "\(argument): the value appears in \(error)")
            }
        }
    }

    func testRandomSetArgumentsNeverCrashAndNeverQuoteTheirValues() {
        var rng = FuzzRandom(seed: FuzzRandom.seed(offset: 13))
        let pieces = ["a", "b", "console", "credentials", "policies", ".", ".", "[", "]", "0", "7", "65536", "=", "=",
                      ",", "\\", "{", "}", "é", " ", "\u{0}", "😀", "[1]", "x.y", "additionalUsers[0]"]
        var accepted = 0
        for _ in 0..<FuzzRandom.iterations(400) * 5 {
            var key = ""
            for _ in 0..<rng.int(0...6) { key += pieces[rng.int(0...(pieces.count - 1))] }
            let argument = rng.int(0...9) == 0 ? key : key + "=" + Self.secretMark
            // A backslash before our "=" makes it part of the key (Helm's escape): then the
            // "value" is key text and may be shown.
            let escaped = key.reversed().prefix { $0 == "\\" }.count % 2 == 1
            do {
                let assignments = try SetArguments.parse(argument)
                accepted += 1
                // Whatever parses applies to a values tree without trapping.
                _ = SetArguments.apply(assignments, to: .object([:]))
            } catch let error as SetArguments.SyntaxError {
                XCTAssertTrue(error.description.hasPrefix("--set "), error.description)
                if !escaped {
                    XCTAssertFalse(error.description.contains(Self.secretMark), "\(JSON.quote(argument)) → \(error)")
                }
            } catch {
                XCTFail("\(JSON.quote(argument)): unexpected \(error)")
            }
        }
        XCTAssertGreaterThan(accepted, 0)
    }

    // MARK: - the whole loader, fuzzed

    /// Random values documents (a mix of known keys with values of any kind, unknown keys,
    /// secrets), as YAML text — sometimes with bytes flipped, cut or inserted — plus random
    /// `--set`: the loader returns values or throws a `ValuesError`; every problem names a key;
    /// an intact document never has a secret in an error.
    func testTheLoaderNeverCrashesOnRandomDocuments() throws {
        var rng = FuzzRandom(seed: FuzzRandom.seed(offset: 14))
        let dir = try TempDir()
        let keys = ValuesSchema.allKeys
        var outcomes = [0, 0, 0]
        for n in 0..<FuzzRandom.iterations(400) {
            var user = JSON.object([:])
            var secretPlaced = false
            for _ in 0..<rng.int(1...8) {
                let (path, field) = keys[rng.int(0...(keys.count - 1))]
                if field.secret && rng.bool() {
                    // A secret, where secrets go.
                    user = Self.merge(user, Self.place(.string(Self.secretMark), at: path))
                    secretPlaced = true
                } else {
                    user = Self.merge(user, Self.place(Self.randomValue(&rng, depth: 2), at: path, item: rng.bool()))
                }
            }
            var text = rng.int(0...3) == 0 ? Self.blockYAML(user) : user.encoded(pretty: rng.bool())
            let mutated = rng.int(0...2) == 0
            var data = Array(text.utf8)
            if mutated { Self.mutate(&data, &rng) }
            text = String(decoding: data, as: UTF8.self)
            let file = try dir.writeData("fuzz-\(n).yaml", Data(data))
            var sets = credentials
            if rng.int(0...3) == 0 {
                let (path, _) = keys[rng.int(0...(keys.count - 1))]
                sets.append(path.replacingOccurrences(of: "[]", with: "[\(rng.int(0...2))]") + "=" + ["1", "true", "x", "", "{a,b}", "null"][rng.int(0...5)])
            }
            do {
                _ = try ValuesLoader.load(files: [file], sets: sets, secretsDir: nil)
                outcomes[0] += 1
            } catch let error as ValuesError {
                switch error {
                case .invalid(let problems):
                    outcomes[1] += 1
                    XCTAssertFalse(problems.isEmpty)
                    for p in problems {
                        XCTAssertFalse(p.key.isEmpty, "case \(n): a problem without a key: \(p)")
                        XCTAssertFalse(p.message.isEmpty)
                    }
                case .unreadable(let name, _):
                    outcomes[2] += 1
                    XCTAssertEqual(name, file.path)
                case .secret:
                    XCTFail("case \(n): no secrets directory was given: \(error)")
                }
                if !mutated && secretPlaced {
                    XCTAssertFalse("\(error)".contains(Self.secretMark), "case \(n): \(error)\n\(text)")
                }
            } catch {
                XCTFail("case \(n): not a ValuesError: \(error)")
            }
        }
        // The generator reaches every outcome.
        XCTAssertTrue(outcomes.allSatisfy { $0 > 0 }, "valid, invalid, unreadable: \(outcomes)")
    }

    // MARK: - helpers

    static let ssoOn = "sso: {enabled: true, client_id: c, issuer_uri: https://idp/realm, idp_url: https://idp/saml, cert: \"-----BEGIN CERTIFICATE-----\\nMIIBIjANBgkq\\n-----END CERTIFICATE-----\"}"

    /// Values of the wrong kind (or a wrong enum value, or out of range) for a key, each with
    /// the key the problem must name.
    static func badValues(for type: SchemaType, path: String) -> [(JSON, String)] {
        let key = path.replacingOccurrences(of: "[]", with: "[0]")
        switch type {
        case .bool:
            return [(.string("true"), key), (.int(1), key), (["a": 1], key), ([true], key)]
        case .string:
            return [(.int(5), key), (.bool(true), key), (.double(1.5), key), (["x"], key), (["a": "b"], key)]
        case .int(let min, let max):
            return [(.string("600"), key), (.double(1.5), key), (.bool(true), key), (.int(min - 1), key),
                    (.int(max &+ 1), key), ([1], key)]
        case .oneOf(_, let closed):
            var out: [(JSON, String)] = [(.int(3), key), (.bool(false), key), (["admin"], key)]
            if closed { out.append((.string("definitely-not-a-choice"), key)) }
            return out
        case .list(let item):
            var out: [(JSON, String)] = [(.string("x"), key), (["a": 1], key)]
            switch item {
            case .string, .oneOf: out.append(([1], key + "[0]"))
            case .record, .map: out.append(([.string("not-a-map")], key + "[0]"))
            default: out.append((["x"], key + "[0]"))
            }
            if case .oneOf(_, closed: true) = item { out.append((["definitely-not-a-choice"], key + "[0]")) }
            return out
        case .record:
            return [(.string("x"), key), ([1, 2], key), (.bool(true), key)]
        case .map(let valueType):
            var out: [(JSON, String)] = [(.string("x"), key), (["a"], key)]
            if case .string? = valueType { out.append((["team": .int(1)], key + ".team")) }
            return out
        case .any:
            return []
        case .labels:
            return [(.string("x"), key), (["a"], key), (["team": .int(1)], key + ".team"),
                    (["team": "two words"], key + ".team"), (["-team": "x"], key)]
        case .union:
            return [(.int(5), key), (.bool(true), key), (["x"], key)]
        }
    }

    /// A values tree with `value` at `path` (a schema path, `x[]` for list items), and what a
    /// valid run needs around it (credentials; a list item's other required fields). For a
    /// list item field, `item: false` also appends `value` itself as a second item.
    static func place(_ value: JSON, at path: String, item: Bool = true) -> JSON {
        var root: JSON = ["console": ["credentials": ["username": "admin", "password": "Admin-pw-1"]]]
        let parts = path.components(separatedBy: "[]")
        if parts.count == 1 {
            let components = (try? ValuePath.parse(path)) ?? []
            return SetArguments.set(root, components[...], value)
        }
        // A list item: `<list>[0].<field>` on a valid item of that list.
        let listPath = parts[0]
        let field = String(parts[1].drop { $0 == "." })
        var base: JSON
        switch listPath {
        case "console.additionalUsers":
            base = ["username": "fuzz-user", "password": "Fuzz-pw-1", "role": "user", "authType": "basic"]
        case "console.groups":
            base = ["group": "fuzz-group", "role": "admin", "authType": "oidcGroup"]
        default:
            base = .object([:])
        }
        if case .object(var o) = base {
            o[field] = value
            base = .object(o)
        }
        let components = (try? ValuePath.parse(listPath)) ?? []
        // `item: false` puts the value in the list's second place (after a valid item).
        root = SetArguments.set(root, components[...], item ? .array([base]) : .array([base, value]))
        return root
    }

    /// Loads and returns the problems of a load that must fail validation.
    static func expectInvalid(files: [URL], context: String, file: StaticString = #filePath, line: UInt = #line) throws -> [ValuesProblem] {
        do {
            _ = try ValuesLoader.load(files: files, sets: [], secretsDir: nil)
            XCTFail("\(context): accepted", file: file, line: line)
            return []
        } catch let error as ValuesError {
            guard case .invalid(let problems) = error else {
                XCTFail("\(context): expected invalid values, got \(error)", file: file, line: line)
                return []
            }
            return problems
        }
    }

    static func merge(_ a: JSON, _ b: JSON) -> JSON {
        guard case .object(var left) = a, case .object(let right) = b else { return b }
        for (k, v) in right { left[k] = left[k].map { merge($0, v) } ?? v }
        return .object(left)
    }

    static func randomValue(_ rng: inout FuzzRandom, depth: Int) -> JSON {
        switch rng.int(0...(depth > 0 ? 9 : 6)) {
        case 0: return .null
        case 1: return .bool(rng.bool())
        case 2: return .int([0, 1, -1, 600, 86_401, Int64.max, Int64.min][rng.int(0...6)])
        case 3: return .double([1.5, -0.0, 1e300, 0.1][rng.int(0...3)])
        case 4, 5: return .string(["", " ", "x", "admin", "low", "DISA STIG", "alert", "containerd", "yes", "no", "on", "~",
                                   "2001-12-14", "0x1F", "1e3", "é😀", "line\nbreak", "- a", "{a: b}", "*ref", "&anchor",
                                   String(repeating: "z", count: 300)][rng.int(0...21)])
        case 6: return .string(FuzzRandom.text(&rng, maxLength: 12))
        case 7, 8:
            return .array((0..<rng.int(0...3)).map { _ in randomValue(&rng, depth: depth - 1) })
        default:
            var o: [String: JSON] = [:]
            for _ in 0..<rng.int(0...3) {
                o[["username", "role", "password", "group", "authType", "enabled", "key", FuzzRandom.text(&rng, maxLength: 6)][rng.int(0...7)]] =
                    randomValue(&rng, depth: depth - 1)
            }
            return .object(o)
        }
    }

    /// Block-style YAML for a JSON tree (keys and strings double-quoted, as JSON escapes them).
    static func blockYAML(_ value: JSON, indent: Int = 0) -> String {
        let pad = String(repeating: "  ", count: indent)
        switch value {
        case .object(let o) where !o.isEmpty:
            return o.keys.sorted().map { k -> String in
                let v = o[k]!
                switch v {
                case .object(let c) where !c.isEmpty: return "\(pad)\(JSON.quote(k)):\n" + blockYAML(v, indent: indent + 1)
                case .array(let c) where !c.isEmpty: return "\(pad)\(JSON.quote(k)):\n" + blockYAML(v, indent: indent + 1)
                default: return "\(pad)\(JSON.quote(k)): \(v.encoded())\n"
                }
            }.joined()
        case .array(let a) where !a.isEmpty:
            return a.map { "\(pad)- \($0.encoded())\n" }.joined()
        default:
            return pad + value.encoded() + "\n"
        }
    }

    /// Flips, inserts, deletes or duplicates bytes; sometimes cuts the text.
    static func mutate(_ data: inout [UInt8], _ rng: inout FuzzRandom) {
        let interesting: [UInt8] = [0x00, 0x0A, 0x09, 0x20, 0x22, 0x27, 0x3A, 0x2D, 0x26, 0x2A, 0x21, 0x7B, 0x7D, 0x5B, 0x5D,
                                    0x23, 0x7C, 0x3E, 0x25, 0x40, 0x60, 0xC3, 0xFF, 0xFE, 0xEF, 0xBB, 0xBF]
        for _ in 0..<rng.int(1...4) {
            guard !data.isEmpty else { data = [interesting[rng.int(0...(interesting.count - 1))]]; continue }
            let i = rng.int(0...(data.count - 1))
            switch rng.int(0...4) {
            case 0: data[i] = interesting[rng.int(0...(interesting.count - 1))]
            case 1: data.insert(interesting[rng.int(0...(interesting.count - 1))], at: i)
            case 2: data.removeSubrange(i..<min(data.count, i + rng.int(1...8)))
            case 3: data.insert(contentsOf: data[i..<min(data.count, i + rng.int(1...16))], at: i)
            default: data = Array(data[..<i])
            }
        }
    }

    /// `levels` anchored collections, each holding `fanOut` aliases of the one before.
    static func aliasDocument(levels: Int, fanOut: Int, sequences: Bool) -> String {
        var lines = ["l0: &l0 " + (sequences ? "[\"lol\"]" : "{k: lol}")]
        for level in 1..<max(levels, 2) {
            let refs = (0..<fanOut).map { i in sequences ? "*l\(level - 1)" : "k\(i): *l\(level - 1)" }
            lines.append("l\(level): &l\(level) " + (sequences ? "[" : "{") + refs.joined(separator: ", ") + (sequences ? "]" : "}"))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// SplitMix64 (TestSupport's SeededGenerator) seeded from `TWISTLOCK_FUZZ_SEED` when set:
/// reproducible random cases.
struct FuzzRandom: RandomNumberGenerator {
    private var generator: SeededGenerator

    init(seed: UInt64) { generator = SeededGenerator(state: seed) }

    /// The base seed (environment, else a fixed one) plus a per-test offset.
    static func seed(offset: UInt64) -> UInt64 { FuzzSettings.seed(offset: offset, defaultBase: 0x5EED_2026) }

    /// How many random cases a fuzz test runs (`TWISTLOCK_FUZZ_ITERATIONS`, else `standard`).
    static func iterations(_ standard: Int) -> Int { FuzzSettings.iterations(standard) }

    mutating func next() -> UInt64 { generator.next() }

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }
    mutating func bool() -> Bool { Bool.random(using: &self) }

    static func text(_ rng: inout FuzzRandom, maxLength: Int) -> String {
        let alphabet = Array("abcXYZ019 ._-:#&*!|>'\"\\{}[],%@`é中😀\t")
        return String((0..<rng.int(0...maxLength)).map { _ in alphabet[rng.int(0...(alphabet.count - 1))] })
    }
}
