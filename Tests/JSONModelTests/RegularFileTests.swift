import Foundation
import JSONModel
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `RegularFile.read` reads only a regular file, at most `maxBytes`: everything else is refused
/// without a read that could wait forever or never end.
final class RegularFileTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("regular-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    func refusal(_ path: String, maxBytes: Int = RegularFile.sourceMaxBytes) -> String? {
        do {
            _ = try RegularFile.read(path, maxBytes: maxBytes)
            return nil
        } catch let refusal as RegularFile.Refusal {
            XCTAssertEqual(refusal.path, path)
            XCTAssertTrue(refusal.description.hasPrefix(path + " "), refusal.description)
            return refusal.reason
        } catch {
            XCTFail("\(error)")
            return nil
        }
    }

    func testARegularFileUpToTheCapIsReadAndOneByteMoreIsRefused() throws {
        let file = dir.appendingPathComponent("step.lua")
        try Data(repeating: 0x2D, count: 100).write(to: file)
        XCTAssertEqual(try RegularFile.read(file.path, maxBytes: 100).count, 100)
        XCTAssertEqual(refusal(file.path, maxBytes: 99), "is larger than 99 bytes; refused")
        // Through a link, the target is read.
        let link = dir.appendingPathComponent("link.lua")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: file.path)
        XCTAssertEqual(try RegularFile.text(link.path, maxBytes: 100), String(repeating: "-", count: 100))
    }

    func testFIFOsDevicesSocketsAndDirectoriesAreRefusedWithoutReading() throws {
        let fifo = dir.appendingPathComponent("fifo.lua")
        XCTAssertEqual(mkfifo(fifo.path, 0o600), 0)
        XCTAssertEqual(refusal(fifo.path), "is a FIFO, not a regular file; refused without reading it")
        XCTAssertEqual(refusal("/dev/zero"), "is a device, not a regular file; refused without reading it")
        XCTAssertEqual(refusal("/dev/null"), "is a device, not a regular file; refused without reading it")
        let zeroLink = dir.appendingPathComponent("zero.lua")
        try FileManager.default.createSymbolicLink(atPath: zeroLink.path, withDestinationPath: "/dev/zero")
        XCTAssertEqual(refusal(zeroLink.path), "is a device, not a regular file; refused without reading it")
        XCTAssertEqual(refusal(dir.path), "is a directory, not a regular file; refused without reading it")
        XCTAssertEqual(refusal(dir.appendingPathComponent("missing.lua").path), "cannot be read (No such file or directory)")
    }

    func testTextThatIsNotUTF8IsRefused() throws {
        let file = dir.appendingPathComponent("latin1.lua")
        try Data([0x2D, 0x2D, 0xE9, 0x0A]).write(to: file)
        XCTAssertThrowsError(try RegularFile.text(file.path)) { error in
            XCTAssertEqual("\(error)", file.path + " is not UTF-8 text")
        }
    }
}
