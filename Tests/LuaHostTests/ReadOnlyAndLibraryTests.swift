import Foundation
import JSONModel
import LuaHost
import XCTest

/// Issue 13 point 7: `rawset` on `values` (and its nested tables, and the host's namespaces)
/// is refused like an assignment; `require` does not follow a link out of the steps directory.
final class ReadOnlyAndLibraryTests: XCTestCase {
    func valuesVM() throws -> LuaVM {
        let vm = try LuaVM()
        try vm.setGlobal("values", readOnly: [
            "console": ["credentials": ["username": "admin"], "users": [["username": "alice"], ["username": "bob"]]],
            "policies": ["enabled": true],
        ])
        return vm
    }

    func testRawsetOnValuesIsRefusedLikeAssignment() throws {
        let vm = try valuesVM()
        let cases: [(String, String)] = [
            ("rawset(values, 'policies', {enabled = false})", "values are read-only (assignment to values.policies)"),
            ("rawset(values, 'fresh', 1)", "values are read-only (assignment to values.fresh)"),
            ("rawset(values.console, 'credentials', {})", "values are read-only (assignment to values.console.credentials)"),
            ("rawset(values.console.credentials, 'username', 'mallory')",
             "values are read-only (assignment to values.console.credentials.username)"),
            ("rawset(values.console.users, 3, {username = 'mallory'})",
             "values are read-only (assignment to values.console.users[3])"),
            ("rawset(values.console.users[1], 'username', 'eve')",
             "values are read-only (assignment to values.console.users[1].username)"),
            ("table.insert(values.console.users, {username = 'mallory'})",
             "values are read-only (assignment to values.console.users[3])"),
            ("table.remove(values.console.users, 1)", "values are read-only"),
            ("table.sort(values.console.users, function(a, b) return a.username > b.username end)", "values are read-only"),
            ("table.move({1, 2}, 1, 2, 1, values.console.users)", "values are read-only"),
            ("rawset(json, 'encode', function() return '{}' end)", "json is read-only (assignment to json.encode)"),
        ]
        for (source, expected) in cases {
            let error = try XCTUnwrap(expectLuaError(vm, source), source)
            XCTAssertTrue(error.message.contains(expected), "\(source): \(error.message)")
            XCTAssertEqual(error.line, 1, source)
        }
        // Nothing changed: neither the data nor what a step reads.
        let seen = try vm.evaluate(source: """
        local ok = pcall(rawset, values, 'policies', {enabled = false})
        return ok, values.policies.enabled, values.fresh, #values.console.users, values.console.credentials.username,
          rawget(values, 'policies')
        """, chunkName: "check")
        XCTAssertEqual(seen, [.bool(false), .bool(true), .null, .int(2), .string("admin"), .null])
        // rawset on the step's own tables still works.
        XCTAssertEqual(try vm.evaluate(source: "local t = {}; rawset(t, 'a', 1); return t.a", chunkName: "own"), [.int(1)])
    }

    /// A steps directory with `lib/`, and a directory outside it.
    func layout() throws -> (steps: URL, outside: URL) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("lib-links-\(UUID().uuidString)")
        let steps = root.appendingPathComponent("steps")
        let outside = root.appendingPathComponent("elsewhere")
        for d in [steps.appendingPathComponent("lib/sub"), steps.appendingPathComponent("shared"), outside.appendingPathComponent("sub")] {
            try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        }
        try "return {where = 'outside'}".write(to: outside.appendingPathComponent("evil.lua"), atomically: true, encoding: .utf8)
        try "return {where = 'outside sub'}".write(to: outside.appendingPathComponent("sub/deep.lua"), atomically: true, encoding: .utf8)
        try "return {where = 'shared'}".write(to: steps.appendingPathComponent("shared/good.lua"), atomically: true, encoding: .utf8)
        try "return {where = 'lib'}".write(to: steps.appendingPathComponent("lib/plain.lua"), atomically: true, encoding: .utf8)
        let fm = FileManager.default
        let lib = steps.appendingPathComponent("lib")
        try fm.createSymbolicLink(atPath: lib.appendingPathComponent("evil.lua").path, withDestinationPath: outside.appendingPathComponent("evil.lua").path)
        try fm.createSymbolicLink(atPath: lib.appendingPathComponent("relative.lua").path, withDestinationPath: "../../elsewhere/evil.lua")
        try fm.createSymbolicLink(atPath: lib.appendingPathComponent("outdir").path, withDestinationPath: outside.appendingPathComponent("sub").path)
        try fm.createSymbolicLink(atPath: lib.appendingPathComponent("passwd.lua").path, withDestinationPath: "/etc/passwd")
        try fm.createSymbolicLink(atPath: lib.appendingPathComponent("hop.lua").path, withDestinationPath: "evil.lua")
        try fm.createSymbolicLink(atPath: lib.appendingPathComponent("good.lua").path, withDestinationPath: "../shared/good.lua")
        return (steps, outside)
    }

    func testRequireDoesNotFollowALinkOutOfTheStepsDirectory() throws {
        let (steps, _) = try layout()
        defer { try? FileManager.default.removeItem(at: steps.deletingLastPathComponent()) }
        let vm = try LuaVM()
        vm.libraryDirectories = [steps]
        for name in ["evil", "relative", "outdir.deep", "passwd", "hop"] {
            let error = try XCTUnwrap(expectLuaError(vm, "return require('\(name)')"), name)
            XCTAssertTrue(error.message.contains("is a link that points outside the steps directory"), "\(name): \(error.message)")
            XCTAssertFalse(error.message.contains("elsewhere"), "the target is not named: \(error.message)")
            XCTAssertFalse(error.message.contains("root:"), error.message)
        }
        // Links within the directory, and plain files, are followed.
        XCTAssertEqual(try vm.evaluate(source: "return require('good').where, require('plain').where", chunkName: "ok"),
                       [.string("shared"), .string("lib")])
    }

    /// The steps directory itself behind a link (as a ConfigMap mount is) still works.
    func testAStepsDirectoryBehindALinkStillLoadsItsLibraries() throws {
        let (steps, _) = try layout()
        defer { try? FileManager.default.removeItem(at: steps.deletingLastPathComponent()) }
        let link = steps.deletingLastPathComponent().appendingPathComponent("steps-link")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: steps.path)
        let vm = try LuaVM()
        vm.libraryDirectories = [link]
        XCTAssertEqual(try vm.evaluate(source: "return require('good').where", chunkName: "ok"), [.string("shared")])
        XCTAssertNotNil(expectLuaError(vm, "return require('evil')"))
    }
}
