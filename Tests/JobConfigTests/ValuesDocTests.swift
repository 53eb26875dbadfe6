import Foundation
import JSONModel
import TestSupport
import XCTest
@testable import JobConfig

/// docs/values.md documents every key the job reads, with its type and default.
final class ValuesDocTests: XCTestCase {
    func testEveryKeyIsDocumentedWithItsDefault() throws {
        let doc = Project.root.appendingPathComponent("docs/values.md")
        let text = try String(contentsOf: doc, encoding: .utf8)
        let lines = text.split(separator: "\n").map(String.init)
        for (path, field) in ValuesSchema.allKeys {
            if case .record = field.type { continue }
            if path.contains("[]") {
                // List item fields are documented in their own table by their short name.
                let name = String(path.split(separator: ".").last!)
                XCTAssertTrue(lines.contains { $0.hasPrefix("| `\(name)` |") }, "\(path) is not documented")
                continue
            }
            guard let row = lines.first(where: { $0.hasPrefix("| `\(path)` |") }) else {
                XCTFail("\(path) is not documented in docs/values.md")
                continue
            }
            let defaultValue = try XCTUnwrap(field.defaultValue, path)
            let squeezed = row.replacingOccurrences(of: " ", with: "")
            XCTAssertTrue(squeezed.contains("`" + defaultValue.encoded().replacingOccurrences(of: " ", with: "") + "`"),
                          "\(path): the documented default is not \(defaultValue.encoded())")
            switch field.type {
            case .oneOf(let allowed, _):
                XCTAssertTrue(row.contains("one of \(allowed.joined(separator: ", "))"), "\(path): allowed values")
            case .list(.oneOf):
                break
            default:
                XCTAssertTrue(row.contains("| \(field.type.docName)"), "\(path): type \(field.type.docName)")
            }
        }
    }
}
