import Foundation
import JobConfig
import JSONModel
import LuaHost
import TestSupport
import TwistlockInit
import XCTest

/// steps/types/host.lua declares, for step authors' editors, every primitive the host
/// registers; this keeps the two in step.
final class HostDeclarationsTests: XCTestCase {
    /// Names declared in host.lua: `function a.b(`, `a.b = …`, globals `x = …`, and
    /// `---@field f` lines of a `---@class ns` that names a namespace.
    static func declaredNames() throws -> Set<String> {
        let file = Project.steps.appendingPathComponent("types/host.lua")
        let text = try String(contentsOf: file, encoding: .utf8)
        var names = Set<String>()
        var currentClass: String?
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("---@class ") {
                currentClass = line.dropFirst("---@class ".count).split(separator: " ").first.map(String.init)
                continue
            }
            if line.hasPrefix("---@field "), let cls = currentClass {
                if let field = line.dropFirst("---@field ".count).split(separator: " ").first {
                    names.insert("\(cls).\(field.replacingOccurrences(of: "?", with: ""))")
                }
                continue
            }
            if line.hasPrefix("function ") {
                let rest = line.dropFirst("function ".count)
                if let name = rest.split(separator: "(").first { names.insert(String(name)) }
                continue
            }
            if !line.hasPrefix("-"), let eq = line.range(of: " = ") {
                let lhs = String(line[..<eq.lowerBound])
                if lhs.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." }) { names.insert(lhs) }
            }
        }
        return names
    }

    func makeVM() throws -> LuaVM {
        let redactor = Redactor()
        let log = JobLog(redactor: redactor, sink: { _ in })
        let values = Values(root: Values.defaults)
        let client = try ConsoleClient(connection: ConsoleConnection(baseURL: "http://127.0.0.1:9"), redactor: redactor)
        let ctx = JobContext(mode: .run, strict: false, values: values, redactor: redactor, log: log,
                             console: client, secretsDir: nil)
        let vm = try LuaVM()
        try Primitives.register(on: vm, context: ctx, stepsDirs: [Project.steps])
        return vm
    }

    func testEveryRegisteredPrimitiveIsDeclaredForEditors() throws {
        let declared = try HostDeclarationsTests.declaredNames()
        let vm = try makeVM()
        let registered = vm.registeredNames.filter { !$0.hasPrefix("_") }
        XCTAssertGreaterThan(registered.count, 20, "\(registered)")
        let missing = registered.filter { !declared.contains($0) }
        XCTAssertEqual(missing, [], "registered by the host but not declared in steps/types/host.lua")
    }

    func testEveryDocumentedPrimitiveExistsAndIsDeclared() throws {
        let declared = try HostDeclarationsTests.declaredNames()
        let vm = try makeVM()
        for name in Primitives.declared {
            XCTAssertTrue(declared.contains(name), "\(name) is not declared in steps/types/host.lua")
            let result = try vm.evaluate(source: "return \(name) ~= nil", chunkName: "check.lua")
            XCTAssertEqual(result.first, .bool(true), "\(name) does not exist for steps")
        }
    }
}
