import Foundation
import JSONModel
import LuaHost
import XCTest

/// Issue 13 point 3: what a host function builds in Swift (copies of its arguments, the text
/// it makes) counts against the Lua state's memory ceiling; over it, a memory error the step
/// can catch with `pcall`. Sizes are modest: an 8 MiB ceiling and 1 MiB strings.
final class HostMemoryTests: XCTestCase {
    let limit = 8 << 20

    func vm() throws -> LuaVM { try LuaVM(limits: LuaLimits(memoryBytes: limit)) }

    func testJSONEncodeOfTheSameStringManyTimesIsRefusedCatchably() throws {
        let vm = try vm()
        let cases = [
            // the shape: one string, referenced twelve times
            "local t = {}; for i = 1, 12 do t[i] = s end; return pcall(json.encode, t)",
            "local t = {}; for i = 1, 12 do t[i] = s end; return pcall(json.encode, t, {pretty = true})",
            // nested, and as object values and keys
            "return pcall(json.encode, {a = {s, s, s}, b = {c = {s, s, s}, d = {s, s, s, s}}})",
            "local t = {}; for i = 1, 12 do t['k' .. i] = s end; return pcall(json.encode, t)",
            // strings that grow when escaped (\\u0001 is six bytes)
            "local c = ('\\1'):rep(1 << 20); return pcall(json.encode, {c, c})",
            // json.copy and json.equal copy their arguments too
            "local t = {}; for i = 1, 12 do t[i] = s end; return pcall(json.copy, t)",
            "local t = {}; for i = 1, 12 do t[i] = s end; return pcall(json.equal, t, t)",
        ]
        for source in cases {
            let result = try vm.evaluate(source: "local s = ('x'):rep(1 << 20)\n" + source, chunkName: "big")
            XCTAssertEqual(result.first, .bool(false), "\(source) succeeded")
            let message = result.count > 1 ? (result[1].stringValue ?? "") : ""
            XCTAssertTrue(message.contains("not enough memory"), "\(source): \(message)")
            XCTAssertLessThan(vm.memoryInUse, limit, source)
        }
        // What fits still works, and the state is usable after a refusal.
        let fits = try vm.evaluate(source: "local s = ('x'):rep(1 << 20); return #json.encode({s, s}), #json.encode({s}, {pretty = true})",
                                   chunkName: "fits")
        XCTAssertEqual(fits, [.int(2 * (1 << 20) + 7), .int((1 << 20) + 8)])
    }

    /// Uncaught, the refusal fails the run as a memory error naming the host function.
    func testAnUncaughtRefusalIsAMemoryLimitError() throws {
        let vm = try vm()
        let error = try XCTUnwrap(expectLuaError(vm, """
        local s = ('x'):rep(1 << 20)
        local t = {}
        for i = 1, 12 do t[i] = s end
        return json.encode(t)
        """))
        XCTAssertEqual(error.kind, .memoryLimit, error.message)
        XCTAssertTrue(error.message.contains("Lua memory limit of 8 MiB exceeded"), error.message)
        XCTAssertTrue(error.message.contains("json.encode") || error.message.contains("arguments"), error.message)
    }

    func testTheEncoderStopsAtItsLimit() throws {
        let big = JSON.array(Array(repeating: .string(String(repeating: "x", count: 1000)), count: 100))
        XCTAssertThrowsError(try big.encodedBytes(limit: 50_000))
        XCTAssertThrowsError(try big.encodedBytes(pretty: true, limit: 100_000))
        XCTAssertEqual(try big.encodedBytes(limit: 200_000), big.encodedBytes())
        let escaped = JSON.string(String(repeating: "\u{1}", count: 1000))
        XCTAssertThrowsError(try escaped.encodedBytes(limit: 2000))
        XCTAssertEqual(try escaped.encodedBytes(limit: 6002).count, 6002)
    }
}
