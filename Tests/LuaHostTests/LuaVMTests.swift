import Foundation
import JSONModel
import LuaHost
import TestSupport
import XCTest

/// Runs `source` and returns the error it must fail with.
func expectLuaError(_ vm: LuaVM, _ source: String, chunk: String = "steps/test.lua", instructionLimit: Int? = nil,
                    file: StaticString = #filePath, line: UInt = #line) -> LuaError? {
    do {
        try vm.run(source: source, chunkName: chunk, instructionLimit: instructionLimit)
        XCTFail("the chunk succeeded: \(source)", file: file, line: line)
        return nil
    } catch let error as LuaError {
        return error
    } catch {
        XCTFail("unexpected error \(error)", file: file, line: line)
        return nil
    }
}

final class LuaBridgeTests: XCTestCase {
    final class Box: @unchecked Sendable { var value: JSON = .null }

    func testPropertyRoundTrips() throws {
        let vm = try LuaVM()
        let box = Box()
        vm.register("t", "value") { _ in [box.value] }
        vm.register("t", "text") { _ in [.string(box.value.encoded())] }
        var rng = SeededGenerator(seed: 20_240_601)
        for n in 0..<300 {
            let value = RandomJSON.value(&rng, depth: 6)
            box.value = value
            // JSON -> Lua -> JSON
            let back = try vm.evaluate(source: "return t.value()", chunkName: "case\(n)")
            XCTAssertEqual(back, [value], "case \(n): \(value.encoded())")
            // JSON text -> json.decode -> json.encode in Lua
            let text = try vm.evaluate(source: "return json.encode(json.decode(t.text()))", chunkName: "case\(n)")
            XCTAssertEqual(text, [.string(value.encoded())], "case \(n)")
            // pretty output parses back to the same value; json.copy keeps everything
            let pretty = try vm.evaluate(source: "return json.encode(json.decode(t.text()), {pretty = true})", chunkName: "case\(n)")
            XCTAssertEqual(pretty, [.string(value.encoded(pretty: true))])
            let copy = try vm.evaluate(source: "local v = t.value(); local c = json.copy(v); return c, json.equal(v, c)", chunkName: "case\(n)")
            XCTAssertEqual(copy, [value, .bool(true)], "case \(n)")
        }
    }

    func testReadOnlyValuesRoundTrip() throws {
        var rng = SeededGenerator(seed: 7)
        for n in 0..<40 {
            var value = RandomJSON.value(&rng, depth: 5)
            if value.objectValue == nil { value = ["v": value] }
            let vm = try LuaVM()
            try vm.setGlobal("values", readOnly: value)
            let text = try vm.evaluate(source: "return json.encode(values)", chunkName: "values\(n)")
            XCTAssertEqual(text, [.string(value.encoded())])
            let copy = try vm.evaluate(source: "return json.copy(values)", chunkName: "values\(n)")
            XCTAssertEqual(copy, [value])
        }
    }

    func testMarkersAndEmptyContainers() throws {
        let vm = try LuaVM()
        let results = try vm.evaluate(source: """
        return json.encode(json.array()), json.encode(json.object()), json.encode({}),
               json.encode(json.decode("[]")), json.encode(json.decode("{}")),
               json.encode({1, 2, 3}), json.encode({a = 1}), json.is_array(json.decode("[]")),
               json.is_array({}), json.is_array({1, 2}), json.is_array(json.object({})),
               json.encode(json.array({1, nil, 3})), json.encode(json.array({x = nil}))
        """, chunkName: "markers")
        XCTAssertEqual(results, ["[]", "{}", "{}", "[]", "{}", "[1,2,3]", #"{"a":1}"#, true, false, true, false,
                                 "[1,null,3]", "[]"])
    }

    func testNumbers() throws {
        let vm = try LuaVM()
        let results = try vm.evaluate(source: """
        local big = json.decode("[9223372036854775807, -9223372036854775808, 1.0, 2, 1e300]")
        return json.encode(1.0), json.encode(3), json.encode(math.maxinteger), json.encode(math.mininteger),
               math.type(big[1]), big[1] == math.maxinteger, big[2] == math.mininteger, math.type(big[3]),
               math.type(big[4]), json.encode(big), json.encode(0.1), json.encode(-0.0)
        """, chunkName: "numbers")
        XCTAssertEqual(results, ["1.0", "3", "9223372036854775807", "-9223372036854775808", "integer", true, true,
                                 "float", "integer", "[9223372036854775807,-9223372036854775808,1.0,2,1e+300]",
                                 "0.1", "-0.0"])
        XCTAssertEqual(try vm.evaluate(source: "return 2^53, 7 // 2, 7 / 2", chunkName: "n"),
                       [.double(9007199254740992.0), .int(3), .double(3.5)])
    }

    func testNull() throws {
        let vm = try LuaVM()
        let results = try vm.evaluate(source: """
        local v = json.decode('{"a": null, "b": [null, 1]}')
        return v.a == json.null, v.b[1] == json.null, json.encode(v), tostring(json.null), type(json.null),
               json.decode("null") == json.null, json.encode(nil), json.encode(json.null), json.copy(nil) == nil,
               json.copy(json.null) == json.null
        """, chunkName: "null")
        XCTAssertEqual(results, [true, true, #"{"a":null,"b":[null,1]}"#, "null", "userdata", true, "null", "null", true, true])
    }

    func testUnicodeStrings() throws {
        let vm = try LuaVM()
        let results = try vm.evaluate(source: #"""
        local s = json.decode('"\\u00e9\\u4e2d\\ud83d\\ude00 \\u0000x"')
        return #s, s, json.encode("é\n\"\\\1"), utf8.len(s)
        """#, chunkName: "unicode")
        XCTAssertEqual(results, [.int(12), .string("é中😀 \u{0}x"), .string(#""é\n\"\\\u0001""#), .int(6)])
        let error = expectLuaError(vm, #"json.encode("\xff\xfe")"#)
        XCTAssertEqual(error?.message, "json.encode: string is not valid UTF-8")
    }

    func testEquality() throws {
        let vm = try LuaVM()
        let results = try vm.evaluate(source: """
        return json.equal({a = 1, b = {1, 2}}, {b = {1, 2.0}, a = 1.0}), json.equal({1, 2}, {2, 1}),
               json.equal(json.array(), json.object()), json.equal({}, json.object()), json.equal(json.array({1}), {1}),
               json.equal(nil, json.null), json.equal("1", 1)
        """, chunkName: "equal")
        XCTAssertEqual(results, [true, false, false, true, true, true, false])
    }

    func testConversionErrors() throws {
        let vm = try LuaVM()
        let cases: [(String, String)] = [
            ("local t = {}; t.self = t; json.encode(t)", "json.encode: cyclic table: a table contains itself (at value.self)"),
            ("json.encode({a = {f = print}})", "json.encode: cannot convert a function value to JSON (at value.a.f)"),
            ("json.encode({[true] = 1})", "json.encode: cannot convert a table with a key of type boolean (true) to JSON (object keys must be strings)"),
            ("json.encode({[1.5] = 1})", "json.encode: cannot convert a table with a key of type number (1.5) to JSON (object keys must be strings)"),
            ("json.encode({1, 2, x = 3})", "json.encode: cannot convert a table with both string keys and a key of type number (1) to JSON (object keys must be strings)"),
            ("json.encode({[2] = 1})", "json.encode: cannot convert a table with keys that are not exactly 1..n to JSON (key of type number (2) in a table of 1 elements; object keys must be strings)"),
            ("json.encode(json.object({1}))", "json.encode: a table marked as a JSON object has a key of type number (1); object keys must be strings"),
            ("json.encode({list = {[\"x-y\"] = {coroutine = 1, [0] = 2}}})", "json.encode: cannot convert a table with both string keys and a key of type number (0) to JSON (object keys must be strings) (at value.list[\"x-y\"])"),
            ("json.decode('[1, 2')", "json.decode: unexpected end of input: expected ',' or ']' in an array at line 1 column 6"),
            ("json.decode(5)", "json.decode: expected a string, got number"),
            ("json.array(5)", "json.array: expected a table, got number"),
        ]
        for (source, message) in cases {
            let error = try XCTUnwrap(expectLuaError(vm, source), source)
            XCTAssertEqual(error.message, message, source)
            XCTAssertEqual(error.kind, .runtime, source)
            XCTAssertEqual(error.file, "steps/test.lua", source)
            XCTAssertEqual(error.line, 1, source)
        }
    }

    func testDepthLimit() throws {
        let vm = try LuaVM()
        // 200 levels are fine, 201 are not, and neither crashes.
        XCTAssertNoThrow(try vm.run(source: """
        local t = {}
        for i = 1, 199 do t = {t} end
        assert(#json.encode(t) == 400)
        """, chunkName: "deep"))
        let error = try XCTUnwrap(expectLuaError(vm, """
        local t = {}
        for i = 1, 200 do t = {t} end
        return json.encode(t)
        """))
        XCTAssertTrue(error.message.hasPrefix("json.encode: value nested deeper than 200 levels (at value[1][1]"), error.message)
        let decodeError = try XCTUnwrap(expectLuaError(vm, "json.decode(string.rep('[', 300) .. string.rep(']', 300))"))
        XCTAssertTrue(decodeError.message.hasPrefix("json.decode: value nested deeper than 200 levels"), decodeError.message)
        let parseError = try XCTUnwrap(expectLuaError(vm, "json.decode(string.rep('[', 600) .. string.rep(']', 600))"))
        XCTAssertEqual(parseError.message, "json.decode: JSON nested deeper than 512 levels at line 1 column 513")
        // A deep value from the host is refused cleanly too.
        var deep: JSON = 1
        for _ in 0..<250 { deep = [deep] }
        XCTAssertThrowsError(try vm.setGlobal("values", readOnly: deep))
    }

    func testHostFunctionArgumentsAndResults() throws {
        let vm = try LuaVM()
        var received: [JSON] = []
        vm.register("h", "echo") { args in
            received = args
            return args
        }
        vm.register("h", "none") { _ in [.null] }
        vm.register(nil, "twice") { args in [.int((args.first?.int64Value ?? 0) * 2)] }
        let results = try vm.evaluate(source: """
        local a, b, c, d = h.echo(nil, json.null, {x = {1, 2.5}}, "s")
        return a == nil, b == nil, json.encode(c), d, h.none() == nil, select("#", h.none()), twice(21)
        """, chunkName: "host")
        XCTAssertEqual(received, [.null, .null, ["x": [1, 2.5]], "s"])
        XCTAssertEqual(results, [true, true, #"{"x":[1,2.5]}"#, "s", true, 1, 42])
        let error = try XCTUnwrap(expectLuaError(vm, "h.echo(1, {f = function() end})"))
        XCTAssertEqual(error.message, "h.echo: cannot convert a function value to JSON (at argument 2.f)")
    }

    func testDefineLuaFunction() throws {
        let vm = try LuaVM()
        var lines: [String] = []
        vm.register("__log", "write") { args in
            lines.append("\(args[0].stringValue ?? ""): \(args[1].stringValue ?? "")")
            return []
        }
        try vm.define("log", "info", lua: """
        return function(fmt, ...) __log.write("info", string.format(fmt, ...)) end
        """)
        try vm.run(source: #"log.info("%d users, %s", 3, "ok")"#, chunkName: "log")
        XCTAssertEqual(lines, ["info: 3 users, ok"])
        XCTAssertThrowsError(try vm.define("log", "bad", lua: "return 5"))
    }
}

final class LuaSandboxTests: XCTestCase {
    func testForbiddenNamesFailNamingThem() throws {
        let vm = try LuaVM()
        let cases: [(String, String)] = [
            ("io.write('x')", "io"), ("os.execute('true')", "os.execute"), ("os.exit(1)", "os.exit"),
            ("os.getenv('HOME')", "os.getenv"), ("os.remove('/tmp/x')", "os.remove"), ("os.rename('a', 'b')", "os.rename"),
            ("os.tmpname()", "os.tmpname"), ("package.loadlib('x', 'y')", "package"), ("debug.getinfo(1)", "debug"),
            ("dofile('/etc/passwd')", "dofile"), ("loadfile('/etc/passwd')", "loadfile"), ("collectgarbage()", "collectgarbage"),
            ("string.dump(print)", "string.dump"), ("local f = ('x').dump", "string.dump"),
        ]
        for (statement, name) in cases {
            let source = "local ok = 1\n\n" + statement + "\n"
            let error = try XCTUnwrap(expectLuaError(vm, source, chunk: "steps/sandbox.lua"), statement)
            XCTAssertEqual(error.kind, .sandbox, statement)
            XCTAssertEqual(error.message, "\(name) is not available to steps (sandbox)", statement)
            XCTAssertEqual(error.file, "steps/sandbox.lua", statement)
            XCTAssertEqual(error.line, 3, statement)
            XCTAssertEqual(error.description, "steps/sandbox.lua:3: \(name) is not available to steps (sandbox)")
        }
    }

    func testAllowedLibrary() throws {
        let vm = try LuaVM()
        try vm.run(source: """
        for _, name in ipairs({"pairs", "ipairs", "next", "select", "type", "tostring", "tonumber", "pcall", "xpcall",
            "error", "assert", "setmetatable", "getmetatable", "rawget", "rawset", "rawequal", "rawlen", "print",
            "load", "require"}) do
          assert(type(_G[name]) == "function", name)
        end
        for _, lib in ipairs({"string", "table", "math", "utf8"}) do assert(type(_G[lib]) == "table", lib) end
        assert(type(os.time()) == "number" and type(os.clock()) == "number" and type(os.date("%Y")) == "string")
        assert(coroutine == nil)
        assert(("x"):rep(3) == "xxx" and ("%d"):format(4) == "4" and ("abc"):upper() == "ABC")
        assert(getmetatable("").__index == string)
        assert(rawget(getmetatable("").__index, "dump") == nil)
        assert(table.concat({1, 2}, ",") == "1,2" and math.max(1, 2) == 2 and utf8.char(233) == "é")
        local f = load("x = 5; return y")
        y = 7
        assert(f() == 7 and x == 5)
        assert(load("return 1", "chunk", "b")() == 1)
        local binary, err = load(string.char(27) .. "Lua", "bin", "b")
        assert(binary == nil and err:find("attempt to load a binary chunk"), err)
        assert(pcall(setmetatable, _G, {}) == false)
        """, chunkName: "allowed")
    }

    func testEachRunHasAFreshEnvironment() throws {
        let vm = try LuaVM()
        try vm.run(source: """
        leaked = 1
        string.upper = nil
        table.insert = nil
        assert(not pcall(rawset, json, "encode", nil), "rawset on a namespace is refused")
        getmetatable("").__index = nil
        """, chunkName: "one")
        try vm.run(source: """
        assert(leaked == nil)
        assert(("a"):upper() == "A" and string.upper("b") == "B")
        assert(type(table.insert) == "function")
        assert(json.encode({1}) == "[1]")
        assert(getmetatable("").__index == string)
        """, chunkName: "two")
    }

    func testNamespacesAreReadOnly() throws {
        let vm = try LuaVM()
        let error = try XCTUnwrap(expectLuaError(vm, "json.encode = nil"))
        XCTAssertEqual(error.message, "json is read-only (assignment to json.encode)")
        XCTAssertEqual(error.line, 1)
    }

    func testAdversarialChunks() throws {
        let vm = try LuaVM()
        let gc = try XCTUnwrap(expectLuaError(vm, "setmetatable({}, {__gc = function() while true do end end})"))
        XCTAssertEqual(gc.kind, .sandbox)
        XCTAssertEqual(gc.message, "setmetatable: __gc metamethods are not available to steps (sandbox)")
        let recursion = try XCTUnwrap(expectLuaError(vm, "local function f() return f() + 1 end\nf()"))
        XCTAssertEqual(recursion.kind, .runtime)
        XCTAssertTrue(recursion.message.contains("stack overflow"), recursion.message)
        let nested = try XCTUnwrap(expectLuaError(vm, "local function f() return pcall(f) end\nlocal ok = f()\nerror('after')"))
        XCTAssertEqual(nested.message, "after")
        // A to-be-closed variable runs within the run's budget.
        let close = try XCTUnwrap(expectLuaError(vm, """
        do
          local x <close> = setmetatable({}, {__close = function() while true do end end})
        end
        """, instructionLimit: 10_000))
        XCTAssertEqual(close.kind, .instructionLimit)
        XCTAssertEqual(try vm.evaluate(source: "return 1", chunkName: "still fine"), [1])
    }

    func testStringMetatableCannotEscape() throws {
        let vm = try LuaVM()
        try vm.run(source: """
        local mt = getmetatable("")
        mt.__index = { rep = function() return "evil" end }
        mt.__add = function() return 1 end
        """, chunkName: "one")
        try vm.run(source: #"assert(("x"):rep(2) == "xx")"#, chunkName: "two")
    }
}

final class LuaLimitTests: XCTestCase {
    func testInstructionLimit() throws {
        let vm = try LuaVM()
        let error = try XCTUnwrap(expectLuaError(vm, "local n = 0\nwhile true do n = n + 1 end", instructionLimit: 100_000))
        XCTAssertEqual(error.kind, .instructionLimit)
        XCTAssertEqual(error.message, "instruction limit of 100000 exceeded")
        XCTAssertEqual(error.file, "steps/test.lua")
        XCTAssertEqual(error.line, 2)
        // pcall cannot swallow it.
        let swallowed = try XCTUnwrap(expectLuaError(vm, """
        while true do
          pcall(function() while true do end end)
        end
        """, instructionLimit: 50_000))
        XCTAssertEqual(swallowed.kind, .instructionLimit)
        // The VM is usable afterwards, and a run within budget passes.
        XCTAssertEqual(try vm.evaluate(source: "local s = 0 for i = 1, 100 do s = s + i end return s", chunkName: "ok", instructionLimit: 100_000), [5050])
        // The default budget comes from the limits.
        let limited = try LuaVM(limits: LuaLimits(instructionLimit: 10_000))
        XCTAssertEqual(expectLuaError(limited, "while true do end")?.kind, .instructionLimit)
    }

    func testInterruptFromAHostFunction() throws {
        let vm = try LuaVM()
        vm.register("t", "stopSoon") { [unowned vm] _ in
            vm.interrupt(reason: "deadline of step x")
            return []
        }
        let error = try XCTUnwrap(expectLuaError(vm, "t.stopSoon()\nwhile true do end"))
        XCTAssertEqual(error.kind, .interrupted)
        XCTAssertEqual(error.message, "interrupted: deadline of step x")
        // The next run is not affected.
        XCTAssertNoThrow(try vm.run(source: "local x = 1", chunkName: "next"))
    }

    func testInterruptFromAnotherThread() throws {
        let vm = try LuaVM()
        let started = DispatchSemaphore(value: 0)
        vm.register("t", "started") { _ in
            started.signal()
            return []
        }
        let finished = DispatchSemaphore(value: 0)
        let outcome = OutcomeBox()
        let thread = Thread {
            outcome.error = expectLuaError(vm, "t.started()\nwhile true do end")
            finished.signal()
        }
        thread.start()
        XCTAssertEqual(started.wait(timeout: .now() + 10), .success)
        vm.interrupt(reason: "cancelled")
        XCTAssertEqual(finished.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(outcome.error?.kind, .interrupted)
        XCTAssertEqual(outcome.error?.message, "interrupted: cancelled")
    }

    final class OutcomeBox: @unchecked Sendable { var error: LuaError? }

    func testMemoryCeiling() throws {
        let vm = try LuaVM(limits: LuaLimits(memoryBytes: 32 * 1024 * 1024))
        XCTAssertGreaterThan(vm.memoryInUse, 0)
        let rep = try XCTUnwrap(expectLuaError(vm, "local s = ('x'):rep(1e9)"))
        XCTAssertEqual(rep.kind, .memoryLimit)
        XCTAssertEqual(rep.message, "Lua memory limit of 32 MiB exceeded (not enough memory)")
        // Beyond Lua's own string size limit: a clean error too.
        let huge = try XCTUnwrap(expectLuaError(vm, "local s = ('x'):rep(1e10)"))
        XCTAssertEqual(huge.message, "resulting string too large")
        XCTAssertEqual(huge.line, 1)
        let table = try XCTUnwrap(expectLuaError(vm, "local t = {}\nfor i = 1, 1e9 do t[i] = {i} end"))
        XCTAssertEqual(table.kind, .memoryLimit)
        let strings = try XCTUnwrap(expectLuaError(vm, "local t = {}\nfor i = 1, 1e9 do t[#t + 1] = ('y'):rep(1000) .. i end"))
        XCTAssertEqual(strings.kind, .memoryLimit)
        // Memory is given back and the VM still works.
        XCTAssertLessThan(vm.memoryInUse, 4 * 1024 * 1024)
        XCTAssertEqual(try vm.evaluate(source: "return #('x'):rep(1000)", chunkName: "ok"), [1000])
        // The default ceiling is 256 MiB.
        let standard = try LuaVM()
        let error = try XCTUnwrap(expectLuaError(standard, "local s = ('x'):rep(1e9)"))
        XCTAssertEqual(error.kind, .memoryLimit)
        XCTAssertEqual(error.message, "Lua memory limit of 256 MiB exceeded (not enough memory)")
    }
}

final class LuaErrorTests: XCTestCase {
    func testRuntimeErrorLocations() throws {
        let vm = try LuaVM()
        let e1 = try XCTUnwrap(expectLuaError(vm, "local a = 1\n\nerror('boom')", chunk: "steps/users.lua"))
        XCTAssertEqual(e1.kind, .runtime)
        XCTAssertEqual(e1.message, "boom")
        XCTAssertEqual(e1.file, "steps/users.lua")
        XCTAssertEqual(e1.line, 3)
        XCTAssertEqual(e1.description, "steps/users.lua:3: boom")
        XCTAssertTrue(e1.traceback?.contains("steps/users.lua:3:") ?? false, e1.traceback ?? "")

        let e2 = try XCTUnwrap(expectLuaError(vm, "local t = nil\nlocal x = t.field"))
        XCTAssertEqual(e2.line, 2)
        XCTAssertTrue(e2.message.contains("attempt to index a nil value"), e2.message)

        let e3 = try XCTUnwrap(expectLuaError(vm, "local function f()\n  error('deep', 2)\nend\nf()"))
        XCTAssertEqual(e3.line, 4)
    }

    func testNonStringErrorValues() throws {
        let vm = try LuaVM()
        let e1 = try XCTUnwrap(expectLuaError(vm, "\nerror({})"))
        XCTAssertEqual(e1.message, "(error object is a table value)")
        XCTAssertEqual(e1.file, "steps/test.lua")
        XCTAssertEqual(e1.line, 2)
        let e2 = try XCTUnwrap(expectLuaError(vm, "error(setmetatable({}, {__tostring = function() return 'custom' end}))"))
        XCTAssertEqual(e2.message, "custom")
        let e3 = try XCTUnwrap(expectLuaError(vm, "error({message = 'from a table'})"))
        XCTAssertEqual(e3.message, "from a table")
        let e4 = try XCTUnwrap(expectLuaError(vm, "error(42)"))
        XCTAssertEqual(e4.message, "42")
        let e5 = try XCTUnwrap(expectLuaError(vm, "error()"))
        XCTAssertEqual(e5.message, "(error object is a nil value)")
    }

    func testSyntaxError() throws {
        let vm = try LuaVM()
        let error = try XCTUnwrap(expectLuaError(vm, "local x = 1\nlocal = 2", chunk: "steps/bad.lua"))
        XCTAssertEqual(error.kind, .syntax)
        XCTAssertEqual(error.file, "steps/bad.lua")
        XCTAssertEqual(error.line, 2)
        XCTAssertTrue(error.message.contains("expected"), error.message)
    }

    struct StopRun: Error, CustomStringConvertible {
        let message: String
        var description: String { "stopped: \(message)" }
    }

    func testHostErrorsKeepTheSwiftError() throws {
        let vm = try LuaVM()
        vm.register("job", "stop") { args in throw StopRun(message: args.first?.stringValue ?? "") }
        let error = try XCTUnwrap(expectLuaError(vm, "local x = 1\njob.stop('no license yet')"))
        XCTAssertEqual(error.kind, .hostError)
        XCTAssertEqual(error.message, "stopped: no license yet")
        XCTAssertEqual(error.line, 2)
        XCTAssertEqual((error.underlying as? StopRun)?.message, "no license yet")
        // Caught in Lua, the message is a plain string with the caller's location.
        XCTAssertEqual(try vm.evaluate(source: "local ok, e = pcall(job.stop, 'x')\nreturn ok, e", chunkName: "c"),
                       [false, "stopped: x"])
        XCTAssertEqual(try vm.evaluate(source: "local ok, e = pcall(function() job.stop('y') end)\nreturn e", chunkName: "c"),
                       ["c:1: stopped: y"])
        // A host error caught by the step does not label a later, different error.
        let other = try XCTUnwrap(expectLuaError(vm, "pcall(job.stop, 'z')\nerror('other')"))
        XCTAssertEqual(other.kind, .runtime)
        XCTAssertNil(other.underlying)
    }
}

final class LuaValuesAndRequireTests: XCTestCase {
    let values: JSON = [
        "console": ["additionalUsers": [["username": "alice", "role": "admin"], ["username": "bob", "role": "user"]],
                    "updateUsers": false, "empty": []],
        "policies": ["name": "p", "labels": ["app.kubernetes.io/name": "x"]],
        "count": 3,
    ]

    func testReadOnlyValues() throws {
        let vm = try LuaVM()
        try vm.setGlobal("values", readOnly: values)
        try vm.setField("job", "mode", "plan")
        try vm.setField("job", "strict", false)
        vm.register("job", "stop") { _ in [] }
        let results = try vm.evaluate(source: """
        local users = values.console.additionalUsers
        local names = {}
        for i, u in ipairs(users) do names[#names + 1] = i .. "=" .. u.username end
        local keys = {}
        for k in pairs(values.policies) do keys[#keys + 1] = k end
        table.sort(keys)
        return #users, table.concat(names, ","), users[2].role, values.missing, values.policies.labels["app.kubernetes.io/name"],
               table.concat(keys, ","), json.encode(values.console.empty), json.is_array(users), type(users),
               json.encode(users[1]), job.mode, job.strict, type(job.stop), values.count, users == values.console.additionalUsers
        """, chunkName: "values")
        XCTAssertEqual(results, [2, "1=alice,2=bob", "user", .null, "x", "labels,name", "[]", true, "table",
                                 #"{"role":"admin","username":"alice"}"#, "plan", false, "function", 3, true])
        let assignments = [
            ("values.count = 4", "values are read-only (assignment to values.count)"),
            ("values.console.additionalUsers[1].role = 'x'", "values are read-only (assignment to values.console.additionalUsers[1].role)"),
            ("values.console.additionalUsers[3] = {}", "values are read-only (assignment to values.console.additionalUsers[3])"),
            ("table.insert(values.console.empty, 1)", "values are read-only (assignment to values.console.empty[1])"),
            ("job.mode = 'run'", "job is read-only (assignment to job.mode)"),
        ]
        for (statement, message) in assignments {
            let error = try XCTUnwrap(expectLuaError(vm, "\n" + statement), statement)
            XCTAssertEqual(error.kind, .runtime)
            XCTAssertEqual(error.message, message, statement)
            XCTAssertEqual(error.line, 2, statement)
        }
        // rawset on a view is refused like an assignment (issue 13), and changes nothing.
        let rawsetError = try XCTUnwrap(expectLuaError(vm, "rawset(values, 'count', 99)"))
        XCTAssertEqual(rawsetError.message, "values are read-only (assignment to values.count)")
        XCTAssertEqual(try vm.evaluate(source: "return values.count, json.encode(values.policies)", chunkName: "two"),
                       [3, #"{"labels":{"app.kubernetes.io/name":"x"},"name":"p"}"#])
        let markError = try XCTUnwrap(expectLuaError(vm, "json.array(values.console.empty)"))
        XCTAssertEqual(markError.message, "json.array: cannot mark a read-only value")
    }

    func testRequire() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("luahost-require-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let custom = root.appendingPathComponent("custom")
        let steps = root.appendingPathComponent("steps")
        func write(_ dir: URL, _ path: String, _ text: String) throws {
            let url = dir.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        try write(steps, "lib/rules.lua", "t.loaded()\nlocal M = {}\nfunction M.name() return 'steps rules' end\nreturn M\n")
        try write(steps, "lib/util/strings.lua", "return { trim = function(s) return (s:gsub('^%s+', ''):gsub('%s+$', '')) end }\n")
        try write(custom, "lib/util/strings.lua", "return { trim = function(s) return 'custom' end }\n")
        try write(steps, "lib/evil.lua", "local x = 1\nos.execute('true')\n")
        try write(steps, "lib/nothing.lua", "local x = 1\n")
        try write(root, "secret.lua", "return 'outside'\n")

        let vm = try LuaVM()
        var loads = 0
        vm.register("t", "loaded") { _ in
            loads += 1
            return []
        }
        vm.libraryDirectories = [steps, custom]
        XCTAssertEqual(try vm.evaluate(source: """
        local a = require("rules")
        local b = require("rules")
        return a == b, a.name(), require("util.strings").trim("  x "), require("nothing")
        """, chunkName: "req"), [true, "steps rules", "x", true])
        XCTAssertEqual(loads, 1)
        // Cached per run only.
        try vm.run(source: "require('rules')", chunkName: "again")
        XCTAssertEqual(loads, 2)
        // First directory that has it wins.
        vm.libraryDirectories = [custom, steps]
        XCTAssertEqual(try vm.evaluate(source: "return require('util.strings').trim(' y ')", chunkName: "order"), ["custom"])

        let evil = try XCTUnwrap(expectLuaError(vm, "require('evil')"))
        XCTAssertEqual(evil.kind, .sandbox)
        XCTAssertEqual(evil.file, "steps/lib/evil.lua")
        XCTAssertEqual(evil.line, 2)

        for name in ["../secret", "/etc/passwd", "util/strings", "..secret"] {
            let error = try XCTUnwrap(expectLuaError(vm, "require('\(name)')"), name)
            XCTAssertEqual(error.kind, .sandbox, name)
            XCTAssertTrue(error.message.contains("may not contain"), error.message)
        }
        let missing = try XCTUnwrap(expectLuaError(vm, "\nrequire('nope.x')"))
        XCTAssertEqual(missing.message, "module 'nope.x' not found (no lib/nope/x.lua in the steps directories)")
        XCTAssertEqual(missing.line, 2)
        XCTAssertEqual(expectLuaError(vm, "require('.x')")?.message, "require(\".x\"): invalid module name")
    }

    func testPrintGoesToTheHandler() throws {
        let vm = try LuaVM()
        var printed: [String] = []
        vm.printHandler = { printed.append($0) }
        try vm.run(source: "print('a', 1, nil, true)\nprint()", chunkName: "print")
        XCTAssertEqual(printed, ["a\t1\tnil\ttrue", ""])
    }
}
