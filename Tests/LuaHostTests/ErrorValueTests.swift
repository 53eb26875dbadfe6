import JSONModel
@testable import LuaHost
import XCTest

/// Issue 16, structured errors across the Lua boundary: what a host function (or the sandbox)
/// raises is a value that says its kind, its request and its message; the host reads the kind
/// from that value, never from the error's text.
final class ErrorValueTests: XCTestCase {
    struct Refused: Error, CustomStringConvertible, LuaStructuredError {
        let status: Int
        var description: String { "GET /api/v1/users: \(status) Not Found" }
        var luaKind: String { "status" }
        var luaRequest: LuaErrorRequest? { LuaErrorRequest(method: "GET", path: "/api/v1/users") }
        var luaFields: [String: JSON] { ["status": .int(Int64(status)), "kind": "forged", "message": "forged"] }
    }

    struct Plain: Error, CustomStringConvertible {
        let description: String
    }

    private func vm() throws -> LuaVM {
        let vm = try LuaVM()
        vm.register("t", "refuse") { _ in throw Refused(status: 404) }
        vm.register("t", "fail") { args in throw Plain(description: args.first?.stringValue ?? "boom") }
        return vm
    }

    func testAHostErrorIsAValueStepsCanRead() throws {
        let vm = try vm()
        let results = try vm.evaluate(source: """
        local ok, e = pcall(t.refuse)
        local r = e.request
        r.method = "changed"  -- a copy: the error keeps its request
        local assigned = pcall(function() e.kind = "x" end)
        local raw = pcall(rawset, e, "kind", "x")
        local forged = pcall(setmetatable, {}, getmetatable(e))
        return ok, e.kind, e.message, e.request.method, e.request.path, e.status, tostring(e),
          e:find("404", 1, true) ~= nil, "failed: " .. e, assigned, raw, forged, getmetatable(e), type(e), e
        """, chunkName: "steps/read.lua")
        XCTAssertEqual(results, [
            false, "status", "GET /api/v1/users: 404 Not Found", "GET", "/api/v1/users", 404,
            // pcall(t.refuse) directly: the caller of the host function is pcall, no Lua line.
            "GET /api/v1/users: 404 Not Found", true, "failed: GET /api/v1/users: 404 Not Found",
            false, false, false, "host error", "table",
            // Passed to the host (a result, an argument): its text.
            "GET /api/v1/users: 404 Not Found",
        ])
        // Called from a Lua line, the text carries where, as a string error would.
        XCTAssertEqual(try vm.evaluate(source: "local ok, e = pcall(function()\n  t.fail('x')\nend)\nreturn tostring(e), e.message, e.kind",
                                       chunkName: "steps/where.lua"),
                       ["steps/where.lua:2: x", "x", "host"])
        // Raised again, it is the same error: the run fails with it, its Swift error kept.
        let again = try XCTUnwrap(expectLuaError(vm, "local ok, e = pcall(t.refuse)\nerror(e)"))
        XCTAssertEqual(again.kind, .hostError)
        XCTAssertEqual((again.underlying as? Refused)?.status, 404)
        XCTAssertEqual(again.message, "GET /api/v1/users: 404 Not Found")
    }

    /// A step's own error whose text is a host error's text (or a sandbox refusal's) is the
    /// step's error: the kind is not guessed from the message.
    func testAnErrorIsNotClassifiedByItsText() throws {
        let vm = try vm()
        for source in [
            "error('os.execute is not available to steps (sandbox)')",
            "error('io is not available to steps (sandbox)', 0)",
            "error(setmetatable({}, {__tostring = function() return 'x (sandbox)' end}))",
            // A sandbox refusal caught and re-raised as text.
            "local ok, e = pcall(function() return io end)\nerror(tostring(e), 0)",
            "local ok, e = pcall(function() return os.getenv end)\nerror('wrapped: ' .. e)",
        ] {
            let error = try XCTUnwrap(expectLuaError(vm, source), source)
            XCTAssertEqual(error.kind, .runtime, source)
            XCTAssertTrue(error.message.hasSuffix("(sandbox)"), error.message)
        }
        // A host error whose text ends like a sandbox refusal is a host error.
        let host = try XCTUnwrap(expectLuaError(vm, "t.fail('refused (sandbox)')"))
        XCTAssertEqual(host.kind, .hostError)
        XCTAssertEqual(host.message, "refused (sandbox)")
        // A host error caught, then a step error with the same text: the step's error.
        for source in ["pcall(t.fail, 'boom')\nerror('boom', 0)",
                       "local ok, e = pcall(t.refuse)\nerror(e.message, 0)",
                       "local ok, e = pcall(t.refuse)\nerror(tostring(e))"] {
            let error = try XCTUnwrap(expectLuaError(vm, source), source)
            XCTAssertEqual(error.kind, .runtime, source)
            XCTAssertNil(error.underlying, source)
        }
    }

    func testSandboxRefusalsAreValuesWithTheirLocation() throws {
        let vm = try vm()
        for (source, message) in [
            ("local x = 1\nlocal f = io.open", "io is not available to steps (sandbox)"),
            ("local x = 1\nos.execute('id')", "os.execute is not available to steps (sandbox)"),
            ("local x = 1\nrequire('../x')", "require(\"../x\"): module names may not contain '/', '\\' or '..' (sandbox)"),
            ("local x = 1\nsetmetatable({}, {__gc = print})", "setmetatable: __gc metamethods are not available to steps (sandbox)"),
            // Caught and raised again: still the sandbox's refusal.
            ("local ok, e = pcall(function()\n  return debug end)\nerror(e)", "debug is not available to steps (sandbox)"),
        ] {
            let error = try XCTUnwrap(expectLuaError(vm, source, chunk: "steps/s.lua"), source)
            XCTAssertEqual(error.kind, .sandbox, source)
            XCTAssertEqual(error.message, message, source)
            XCTAssertEqual(error.description, "steps/s.lua:2: \(message)", source)
        }
        XCTAssertEqual(try vm.evaluate(source: "local ok, e = pcall(function()\n  return io end)\nreturn e.kind, e.message, tostring(e)",
                                       chunkName: "steps/s.lua"),
                       ["sandbox", "io is not available to steps (sandbox)", "steps/s.lua:2: io is not available to steps (sandbox)"])
    }

    /// Arguments a host function cannot convert are the step's mistake (kind "argument"): the
    /// run fails as a runtime error, as Lua's own "bad argument" does.
    func testAnArgumentErrorIsTheStepsError() throws {
        let vm = try vm()
        let error = try XCTUnwrap(expectLuaError(vm, "json.encode(function() end)"))
        XCTAssertEqual(error.kind, .runtime)
        XCTAssertNil(error.underlying)
        XCTAssertEqual(try vm.evaluate(source: "local ok, e = pcall(json.encode, print)\nreturn e.kind", chunkName: "c"), ["argument"])
    }
}
