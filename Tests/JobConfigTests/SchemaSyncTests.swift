import Foundation
import JSONModel
import TestSupport
import XCTest
@testable import JobConfig

/// The rules for values live once, in ValuesSchema: the chart's values.schema.json, the chart's
/// list of the keys the job reads, the steps' `---@class Values` are generated from it, and
/// docs/values.md's tables are compared with it. `UPDATE_SCHEMA=1 swift test --filter
/// SchemaSyncTests` rewrites the generated files.
final class SchemaSyncTests: XCTestCase {
    static let root = Project.root

    func checkGenerated(_ path: String, _ text: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let url = Self.root.appendingPathComponent(path)
        if ProcessInfo.processInfo.environment["UPDATE_SCHEMA"] == "1" {
            try Data(text.utf8).write(to: url)
        }
        let current = try String(contentsOf: url, encoding: .utf8)
        XCTAssertEqual(current, text, "\(path) is not what ValuesSchema generates: UPDATE_SCHEMA=1 swift test --filter SchemaSyncTests",
                       file: file, line: line)
    }

    func testChartValuesSchemaIsGenerated() throws {
        try checkGenerated("chart/values.schema.json", SchemaExport.jsonSchema())
    }

    func testChartJobKeysAreGenerated() throws {
        try checkGenerated("chart/templates/_job-keys.tpl", SchemaExport.jobKeysTemplate())
    }

    func testLuaValuesClassIsGenerated() throws {
        try checkGenerated("steps/types/values.lua", SchemaExport.luaClass())
    }

    func testGeneratedSchemaRefusesUnknownKeysOfTheJobsSections() throws {
        let schema = try JSON.parse(SchemaExport.jsonSchema())
        XCTAssertNil(schema["additionalProperties"], "the top level is shared with the console chart")
        XCTAssertEqual(schema["properties"]?["policies"]?["additionalProperties"], false)
        XCTAssertEqual(schema["properties"]?["console"]?["additionalProperties"], false)
        XCTAssertEqual(schema["properties"]?["console"]?["properties"]?["additionalUsers"]?["items"]?["additionalProperties"], false)
        XCTAssertNotNil(schema["properties"]?["console"]?["properties"]?["persistence"], "console chart keys stay allowed")
        XCTAssertNil(schema["properties"]?["console"]?["properties"]?["persistence"]?["additionalProperties"])
        XCTAssertEqual(schema["properties"]?["defender"]?["properties"]?["containerRuntime"]?["enum"], ["docker", "containerd", "crio"])
    }

    func testJobKeysLeaveOutSecretsAndKeysTheJobDoesNotRead() throws {
        let keys = SchemaExport.jobKeys()
        XCTAssertEqual(keys["console"]?["credentials"], false)
        XCTAssertEqual(keys["console"]?["license"], false)
        XCTAssertEqual(keys["console"]?["additionalUsers"]?["[]"]?["password"], false)
        XCTAssertEqual(keys["console"]?["additionalUsers"]?["[]"]?["role"], true)
        XCTAssertEqual(keys["console"]?["image"], false)
        XCTAssertEqual(keys["monitoring"]?["password"], false)
        XCTAssertEqual(keys["defender"]?["proxy"]?["password"], false)
        XCTAssertEqual(keys["defender"]?["proxy"]?["address"], true)
        XCTAssertEqual(keys["policies"]?["vulnerabilities"]?["alertThreshold"], true)
        XCTAssertEqual(keys["init"]?["extraSteps"], false)
        XCTAssertEqual(keys["bbtests"], false)
    }

    /// Every row of docs/values.md's tables is a key the job reads, with the schema's type.
    func testDocsTablesHoldOnlySchemaKeys() throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent("docs/values.md"), encoding: .utf8)
        let keys = Dictionary(ValuesSchema.allKeys.map { ($0.path, $0.field) }, uniquingKeysWith: { a, _ in a })
        let itemFields = Set(ValuesSchema.allKeys.filter { $0.path.contains("[]") }.map { String($0.path.split(separator: ".").last!) })
        var rows = 0
        for line in text.split(separator: "\n") where line.hasPrefix("| `") {
            let key = String(line.dropFirst(3).prefix { $0 != "`" })
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 3 else { continue }
            if let field = keys[key] {
                rows += 1
                let type = cells[1]
                switch field.type {
                case .oneOf(let allowed, true):
                    XCTAssertTrue(type.hasPrefix("one of \(allowed.joined(separator: ", "))"), "\(key): type \(type)")
                case .list(.oneOf):
                    XCTAssertTrue(type.hasPrefix("list of (one of"), "\(key): type \(type)")
                default:
                    XCTAssertTrue(type.hasPrefix(field.type.docName), "\(key): documented as \(type), the schema's \(field.type.docName)")
                }
                if type.contains("(secret)") { XCTAssertTrue(field.secret, "\(key) is documented as a secret") }
            } else if itemFields.contains(key) || key.contains("<username>") || key.hasPrefix("console.credentials.")
                        || ValuesSchema.secretKeys.contains(key) {
                continue   // list item tables and the secrets table
            } else {
                XCTFail("docs/values.md documents \(key), which the job does not read (ValuesSchema)")
            }
        }
        XCTAssertGreaterThan(rows, 70)
    }
}
