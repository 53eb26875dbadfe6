import Foundation
import JSONModel
import XCTest
@testable import JobConfig

/// A temporary directory removed at the end of the test.
final class TempDir {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("jobconfig-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> URL {
        let file = url.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: file)
        return file
    }

    @discardableResult
    func writeData(_ name: String, _ data: Data) throws -> URL {
        let file = url.appendingPathComponent(name)
        try data.write(to: file)
        return file
    }

    func subdir(_ name: String) throws -> URL {
        let dir = url.appendingPathComponent(name, isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}

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
