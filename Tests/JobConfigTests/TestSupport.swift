import Foundation
import JSONModel
import TestSupport
import XCTest
@testable import JobConfig

/// The credentials every valid load needs (init.enabled defaults to true).
let credentials = ["console.credentials.username=admin", "console.credentials.password=s3cret-pw"]

/// Loads values from YAML texts (written to files in order) plus --set arguments.
func loadValues(_ yamls: [String], sets: [String] = credentials, secretsDir: URL? = nil) throws -> Values {
    let dir = try TempDir()
    var files: [URL] = []
    for (i, yaml) in yamls.enumerated() {
        files.append(try dir.write("values-\(i).yaml", yaml))
    }
    return try withExtendedLifetime(dir) {
        try ValuesLoader.load(files: files, sets: sets, secretsDir: secretsDir)
    }
}

/// The problems of a load that must fail with `.invalid`.
func problems(_ yamls: [String], sets: [String] = credentials, secretsDir: URL? = nil,
              file: StaticString = #filePath, line: UInt = #line) -> [String] {
    do {
        _ = try loadValues(yamls, sets: sets, secretsDir: secretsDir)
        XCTFail("expected invalid values", file: file, line: line)
        return []
    } catch let error as ValuesError {
        guard case .invalid(let problems) = error else {
            XCTFail("expected .invalid, got \(error)", file: file, line: line)
            return []
        }
        return problems.map(\.description)
    } catch {
        XCTFail("unexpected error \(error)", file: file, line: line)
        return []
    }
}

/// The description of the error a load throws.
func loadError(_ yamls: [String], sets: [String] = credentials, file: StaticString = #filePath, line: UInt = #line) -> String {
    do {
        _ = try loadValues(yamls, sets: sets)
        XCTFail("expected an error", file: file, line: line)
        return ""
    } catch {
        return String(describing: error)
    }
}
