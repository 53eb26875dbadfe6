import Foundation
import JSONModel
import LuaHost
import TestSupport
import XCTest

/// Hardening of the JSON ⇄ Lua bridge (issue 8): a seeded property-based fuzz of
/// `json.decode` (mutated texts, invalid UTF-8, deep nesting) against the JSON model's own
/// parser, of `json.encode` and host-function arguments with arbitrary Lua values (mixed and
/// sparse keys, NaN and infinities, non-string keys, invalid UTF-8, functions, cycles), and
/// the limits (depth, size, edge numbers). Every case either converts faithfully or fails
/// with a Lua error naming the function — never a crash, and the VM stays usable.
///
/// Bounded: `TWISTLOCK_FUZZ_ITERATIONS` cases per test (default 300), seed
/// `TWISTLOCK_FUZZ_SEED` (default fixed).
final class BridgeFuzzTests: XCTestCase {
    static var iterations: Int { FuzzSettings.iterations(300) }

    static func seed(_ offset: UInt64) -> UInt64 { FuzzSettings.seed(offset: offset, defaultBase: 0xB41D_6E) }

    /// A Lua string literal holding exactly `bytes` (decimal escapes for anything unusual).
    static func luaLiteral<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var out = "\""
        for b in bytes {
            switch b {
            case 0x20...0x7E where b != 0x22 && b != 0x5C: out.unicodeScalars.append(Unicode.Scalar(b))
            default: out += "\\" + String(format: "%03d", b)
            }
        }
        return out + "\""
    }

    static func mutate<G: RandomNumberGenerator>(_ data: inout [UInt8], _ rng: inout G) {
        let interesting: [UInt8] = [0x00, 0x22, 0x5C, 0x7B, 0x7D, 0x5B, 0x5D, 0x2C, 0x3A, 0x2D, 0x2E, 0x65, 0x30, 0x39,
                                    0x6E, 0x74, 0x66, 0x75, 0x20, 0x0A, 0xC3, 0xA9, 0xED, 0xA0, 0x80, 0xF0, 0xFF, 0xC0]
        for _ in 0..<Int.random(in: 1...3, using: &rng) {
            guard !data.isEmpty else { data = [interesting.randomElement(using: &rng)!]; continue }
            let i = Int.random(in: 0..<data.count, using: &rng)
            switch Int.random(in: 0..<6, using: &rng) {
            case 0: data[i] = interesting.randomElement(using: &rng)!
            case 1: data.insert(interesting.randomElement(using: &rng)!, at: i)
            case 2: data.removeSubrange(i..<min(data.count, i + Int.random(in: 1...6, using: &rng)))
            case 3: data.insert(contentsOf: data[i..<min(data.count, i + Int.random(in: 1...12, using: &rng))], at: i)
            case 4: data = Array(data[..<i])
            default: data.insert(contentsOf: Array("\\ud800".utf8), at: i)
            }
        }
    }

    // MARK: - json.decode

    func testDecodeAgreesWithTheJSONModelOnRandomAndMutatedTexts() throws {
        let vm = try LuaVM()
        var rng = SeededGenerator(seed: Self.seed(1))
        var agreedValid = 0, agreedInvalid = 0
        for n in 0..<Self.iterations * 2 {
            let value = RandomJSON.value(&rng, depth: 5)
            var bytes = Array(value.encoded(pretty: Bool.random(using: &rng)).utf8)
            if n % 3 != 0 { Self.mutate(&bytes, &rng) }
            let expected = try? JSON.parse(bytes: bytes)
            let source = """
            local ok, v = pcall(json.decode, \(Self.luaLiteral(bytes)))
            if ok then return true, v end
            return false, v.kind == "argument" and tostring(v):find("json.decode: ", 1, true) ~= nil
            """
            let results = try vm.evaluate(source: source, chunkName: "decode\(n)")
            guard results.count == 2 else { return XCTFail("case \(n): \(results)") }
            if let expected {
                XCTAssertEqual(results[0], .bool(true), "case \(n): the model parses it, json.decode refused: \(Self.luaLiteral(bytes))")
                XCTAssertEqual(results[1], expected, "case \(n)")
                agreedValid += 1
            } else {
                XCTAssertEqual(results, [.bool(false), .bool(true)],
                               "case \(n): the model refuses it; json.decode must fail naming itself: \(Self.luaLiteral(bytes))")
                agreedInvalid += 1
            }
        }
        XCTAssertGreaterThan(agreedValid, 0)
        XCTAssertGreaterThan(agreedInvalid, 0)
        XCTAssertEqual(try vm.evaluate(source: "return json.encode(json.decode('[1,{}]'))", chunkName: "after"), ["[1,{}]"])
    }

    func testDecodeDepthAndSizeLimits() throws {
        let vm = try LuaVM()
        // The bridge's depth (200) and the parser's (512): inside both, beyond either.
        for depth in [1, 199, 200, 201, 512, 513, 5000] {
            let results = try vm.evaluate(source: """
            local text = string.rep("[", \(depth)) .. string.rep("]", \(depth))
            local ok, v = pcall(json.decode, text)
            if ok then
              local d, x = 0, v
              while type(x) == "table" do d = d + 1; x = x[1] end
              return true, d
            end
            return false, v
            """, chunkName: "depth\(depth)")
            if depth <= 200 {
                XCTAssertEqual(results, [.bool(true), .int(Int64(depth))], "depth \(depth)")
            } else {
                XCTAssertEqual(results.first, .bool(false), "depth \(depth): \(results)")
                let message = results.last?.stringValue ?? ""
                XCTAssertTrue(message.contains("json.decode"), message)
                XCTAssertTrue(message.contains("deep") || message.contains("depth") || message.contains("nested"), message)
            }
        }
        // Big but legitimate: a megabyte string, a hundred thousand elements.
        let big = try vm.evaluate(source: """
        local s = json.decode('"' .. string.rep("é", 500000) .. '"')
        local a = json.decode("[" .. string.rep("1,", 99999) .. "1]")
        return #s, #a, json.is_array(a)
        """, chunkName: "big")
        XCTAssertEqual(big, [.int(1_000_000), .int(100_000), .bool(true)])
    }

    // MARK: - json.encode and host-function arguments with arbitrary Lua values

    /// A random Lua expression: scalars of every kind, tables with every kind of key,
    /// markers, functions, cycles, read-only views.
    static func luaExpression<G: RandomNumberGenerator>(_ rng: inout G, depth: Int) -> String {
        let scalars = ["true", "false", "0", "-0", "1", "-7", "math.maxinteger", "math.mininteger", "1.5", "-0.0",
                       "1/0", "-1/0", "0/0", "1e308", "5e-324", "0.1", "2^53", "2^63", "json.null", "\"\"",
                       "\"plain\"", "\"é中😀\"", "\"\\0nul\"", "\"\\255\\254 bad utf8\"", "\"\\237\\160\\128\"",
                       "\"quote\\\" back\\\\slash\"", "print", "function() end", "cyc", "view", "view.list",
                       "string", "setmetatable({}, {__index = function() error('trap') end})",
                       "json.array()", "json.object()", "nil"]
        if depth <= 0 || Int.random(in: 0..<3, using: &rng) == 0 {
            return scalars.randomElement(using: &rng)!
        }
        var items: [String] = []
        for _ in 0..<Int.random(in: 0...5, using: &rng) {
            let v = luaExpression(&rng, depth: depth - 1)
            switch Int.random(in: 0..<9, using: &rng) {
            case 0, 1, 2: items.append(v)
            case 3: items.append("[\([1, 2, 3, 5, 0, -1, 1000, 65536].randomElement(using: &rng)!)] = \(v)")
            case 4: items.append("[\(["1.5", "2.0", "1e300", "math.maxinteger", "2^53"].randomElement(using: &rng)!)] = \(v)")
            case 5: items.append("[\(["true", "false", "print", "{}"].randomElement(using: &rng)!)] = \(v)")
            case 6: items.append("[\(["\"1\"", "\"\"", "\"\\255\"", "\"a.b\""].randomElement(using: &rng)!)] = \(v)")
            default: items.append("\(["name", "rules", "_id", "x"].randomElement(using: &rng)!) = \(v)")
            }
        }
        let table = "{" + items.joined(separator: ", ") + "}"
        switch Int.random(in: 0..<5, using: &rng) {
        case 0: return "json.array(\(table))"
        case 1: return "json.object(\(table))"
        default: return table
        }
    }

    func testEncodingArbitraryLuaValuesGivesValidJSONOrAnErrorNamingTheFunction() throws {
        let vm = try LuaVM()
        try vm.setGlobal("view", readOnly: ["list": [1, 2, ["a": "b"]], "n": 1])
        vm.register("t", "echo") { args in args }
        var rng = SeededGenerator(seed: Self.seed(2))
        var encoded = 0, refused = 0
        for n in 0..<Self.iterations * 2 {
            let expr = Self.luaExpression(&rng, depth: 4)
            let source = """
            local cyc = {}; cyc.self = cyc; cyc[1] = {cyc}
            local v = \(expr)
            local ok, r = pcall(json.encode, v)
            if not ok then
              -- An error value (docs/step-api.md, "Errors"): its text names the function.
              return "refused", r.kind == "argument" and tostring(r):find("json.encode: ", 1, true) ~= nil
            end
            -- Valid JSON that decodes and encodes to itself (canonical).
            local ok2, back = pcall(json.decode, r)
            if not ok2 then return "invalid", false end
            if json.encode(back) ~= r then return "not canonical", false end
            -- Host functions see the same value (or refuse it naming themselves).
            local ok3, echoed = pcall(t.echo, v)
            if not ok3 then return "echo refused", echoed.kind == "argument" and tostring(echoed):find("t.echo: ", 1, true) ~= nil end
            return "encoded", json.encode(echoed) == r
            """
            let results: [JSON]
            do {
                results = try vm.evaluate(source: source, chunkName: "encode\(n)")
            } catch {
                XCTFail("case \(n): the chunk itself failed: \(error)\n\(expr)")
                continue
            }
            switch results.first?.stringValue {
            case "encoded"?:
                encoded += 1
                XCTAssertEqual(results.last, .bool(true), "case \(n): a host function saw another value: \(expr)")
            case "refused"?:
                refused += 1
                XCTAssertEqual(results.last, .bool(true), "case \(n): refused without naming json.encode: \(expr)")
            default:
                XCTFail("case \(n): \(results) for \(expr)")
            }
        }
        XCTAssertGreaterThan(encoded, 0)
        XCTAssertGreaterThan(refused, 0)
        XCTAssertEqual(try vm.evaluate(source: "return 1 + 1", chunkName: "after"), [2])
    }

    func testEncodeDepthLimitAndCyclesFailNamingWhere() throws {
        let vm = try LuaVM()
        for depth in [199, 200, 201, 1000] {
            let results = try vm.evaluate(source: """
            local root = {}
            local t = root
            for i = 2, \(depth) do local c = {}; t[1] = c; t = c end
            local ok, r = pcall(json.encode, root)
            return ok, ok and #r or r
            """, chunkName: "edepth\(depth)")
            if depth <= 200 {
                XCTAssertEqual(results.first, .bool(true), "depth \(depth): \(results)")
            } else {
                XCTAssertEqual(results.first, .bool(false), "depth \(depth)")
                XCTAssertTrue(results.last?.stringValue?.hasPrefix("json.encode: ") ?? false, "\(results)")
            }
        }
        let cycle = try vm.evaluate(source: """
        local a = {name = "a"}; a.children = {a}
        local ok, r = pcall(json.encode, a)
        return ok, r
        """, chunkName: "cycle")
        XCTAssertEqual(cycle.first, .bool(false))
        let message = cycle.last?.stringValue ?? ""
        XCTAssertTrue(message.hasPrefix("json.encode: "), message)
        XCTAssertTrue(message.contains("children"), "names where the cycle is: \(message)")
    }

    // MARK: - numbers and strings at the edges, host → Lua → host

    func testEdgeValuesRoundTripThroughLuaUnchanged() throws {
        let vm = try LuaVM()
        final class Box: @unchecked Sendable { var value: JSON = .null }
        let box = Box()
        vm.register("t", "value") { _ in [box.value] }
        let edges: [JSON] = [
            .int(.max), .int(.min), .int(0), .int(-1), .int(1 << 53), .int((1 << 53) + 1),
            .double(0.0), .double(-0.0), .double(1e308), .double(-1e308), .double(5e-324), .double(0.1), .double(2.0),
            .double(9007199254740993.0), .string(""), .string("\u{0}"), .string("\u{10FFFF}"), .string("\u{2028}\u{2029}"),
            .string(String(repeating: "x", count: 1 << 20)), .array([]), .object([:]), .array([.null, .null]),
            .object(["": .null, "1": 1, "01": 2]), .array([.array([.array([])])]),
        ]
        for (n, value) in edges.enumerated() {
            box.value = value
            XCTAssertEqual(try vm.evaluate(source: "return t.value()", chunkName: "edge\(n)"), [value], "edge \(n)")
            XCTAssertEqual(try vm.evaluate(source: "return json.decode(json.encode(t.value()))", chunkName: "edge\(n)"), [value], "edge \(n)")
            XCTAssertEqual(try vm.evaluate(source: "return json.encode(t.value())", chunkName: "edge\(n)"), [.string(value.encoded())])
        }
        // Deep random values, more of them than the bridge's own round-trip test.
        var rng = SeededGenerator(seed: Self.seed(3))
        for n in 0..<Self.iterations {
            let value = RandomJSON.value(&rng, depth: 8)
            box.value = value
            XCTAssertEqual(try vm.evaluate(source: "local v = t.value(); return v, json.equal(v, json.copy(v))", chunkName: "deep\(n)"),
                           [value, .bool(true)], "case \(n)")
        }
    }

    /// A decode that builds far more than the Lua state's ceiling fails the run with the
    /// memory limit named, and the VM recovers.
    func testDecodeIntoAStateAtItsCeilingFailsCleanly() throws {
        let vm = try LuaVM(limits: LuaLimits(memoryBytes: 16 * 1024 * 1024))
        do {
            try vm.run(source: """
            local text = "[" .. string.rep("[0,0,0,0],", 300000) .. "0]"
            local kept = {}
            for i = 1, 8 do kept[i] = json.decode(text) end
            """, chunkName: "steps/greedy.lua")
            XCTFail("decoding far past the ceiling succeeded")
        } catch let error as LuaError {
            XCTAssertEqual(error.kind, .memoryLimit, "\(error)")
            XCTAssertTrue(error.message.contains("16 MiB"), error.message)
        }
        XCTAssertEqual(try vm.evaluate(source: "return #json.encode(json.decode('[1,2,3]'))", chunkName: "after"), [7])
        // The bridge stops pushing once the state is over its ceiling: the state never held
        // much more than the ceiling (one table's worth), though each decode builds ~30 MiB.
        XCTAssertLessThan(vm.peakMemory, 17 * 1024 * 1024, "peak \(vm.peakMemory)")
    }

    /// A text too large to decode in what is left is refused before anything is built, by
    /// json.decode and yaml.decode alike; pcall sees a memory error and the step can go on.
    func testDecodeOfATextTooLargeForTheRestIsRefusedAtOnce() throws {
        let vm = try LuaVM(limits: LuaLimits(memoryBytes: 16 * 1024 * 1024))
        // A 12 MiB text from the host (as a console answer would be); string.rep would need
        // twice its size while it builds it.
        vm.register(nil, "bigtext") { _ in [.string(String(repeating: " ", count: 12 * 1024 * 1024))] }
        do {
            try vm.run(source: """
            local text = bigtext()
            return json.decode(text)
            """, chunkName: "steps/big.lua")
            XCTFail("decoding a 12 MiB text with 4 MiB left succeeded")
        } catch let error as LuaError {
            XCTAssertEqual(error.kind, .memoryLimit, "\(error)")
            XCTAssertTrue(error.message.hasPrefix("Lua memory limit of 16 MiB exceeded (not enough memory: json.decode: a text of 12 MiB cannot be decoded in the "), error.message)
        }
        XCTAssertLessThan(vm.peakMemory, 14 * 1024 * 1024)
        let caught = try vm.evaluate(source: """
        local text = bigtext()
        local ok, err = pcall(json.decode, text)
        text = nil
        return ok, err
        """, chunkName: "steps/careful.lua")
        XCTAssertEqual(caught.first, .bool(false))
        XCTAssertTrue(caught.last?.stringValue?.contains("json.decode: not enough memory (json.decode: a text of") ?? false, "\(caught)")
        XCTAssertEqual(try vm.evaluate(source: "return json.decode('[1,2]')[2]", chunkName: "after"), [2])
    }
}
