import Foundation
import JSONModel
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Step files, `require`d libraries and manifests are read only when they are regular files of
/// a bounded size (`RegularFile`): a FIFO (a read that waits for a writer forever), a device
/// (`/dev/zero` never ends) or a huge file placed in a steps directory is refused naming the
/// file — `list` and `run` alike, exit 2 before any request — instead of hanging or
/// exhausting the job.
final class StepFileReadTests: XCTestCase {
    /// An operator's steps directory with one step `name` (`name.lua` made by `make`).
    func stepsDir(_ h: StepHarness, _ name: String, lua: String = "log.info('hi')\n",
                  make: ((URL) throws -> Void)? = nil) throws -> URL {
        let d = h.workDir.appendingPathComponent("s\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: d.appendingPathComponent("lib/sub"), withIntermediateDirectories: true)
        try """
        steps:
          - name: \(name)
            file: \(name).lua
            description: a step of the step-file tests
            when: init.enabled
            after: license
        """.write(to: d.appendingPathComponent("manifest.yaml"), atomically: true, encoding: .utf8)
        let file = d.appendingPathComponent("\(name).lua")
        if let make { try make(file) } else { try lua.write(to: file, atomically: true, encoding: .utf8) }
        return d
    }

    static func link(to target: String) -> (URL) throws -> Void {
        { try FileManager.default.createSymbolicLink(atPath: $0.path, withDestinationPath: target) }
    }

    /// A character device like /dev/zero (1, 5) at `url`; throws where mknod is not permitted.
    static func zeroDevice(_ url: URL) throws {
        guard mknod(url.path, S_IFCHR | 0o600, dev_t((1 << 8) | 5)) == 0 else { throw DeviceNotPermitted() }
    }

    struct DeviceNotPermitted: Error {}

    static func oversize(_ url: URL) throws {
        // A valid Lua comment one byte over the 1 MiB cap.
        let text = "--" + String(repeating: "x", count: RegularFile.sourceMaxBytes - 2) + "\n"
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    func listAndRun(_ h: StepHarness, _ dir: URL) throws -> [(String, CLI.Result)] {
        let list = try CLI.run(["list", "--builtin-steps", StepHarness.projectSteps.path, "--steps-dir", dir.path], seconds: 20)
        let run = try CLI.run(try CLI.runArguments(h, extra: ["--steps-dir", dir.path]), seconds: 20)
        return [("list", list), ("run", run)]
    }

    func testAStepFileThatIsAFIFOADeviceOrHugeIsRefusedNamingItByListAndRun() async throws {
        let h = try await StepHarness.start()
        let cases: [(String, (URL) throws -> Void, String)] = [
            ("fifo-step", CLI.makeFIFO, "is a FIFO, not a regular file"),
            // A link to a device outside the directory is refused by the manifest check.
            ("zero-step", Self.link(to: "/dev/zero"), "is outside its steps directory"),
            ("null-step", Self.link(to: "/dev/null"), "is outside its steps directory"),
            // A device node inside it (where the tests may create one: as root in CI's
            // container), directly and through a link inside the directory.
            ("device-step", Self.zeroDevice, "is a device, not a regular file"),
            ("device-link-step", { url in
                try Self.zeroDevice(url.deletingLastPathComponent().appendingPathComponent("zero"))
                try Self.link(to: "zero")(url)
            }, "is a device, not a regular file"),
            ("socket-step", CLI.makeSocketFile, "is a socket, not a regular file"),
            ("huge-step", Self.oversize, "is larger than 1 MiB"),
        ]
        for (name, make, reason) in cases {
            let dir: URL
            do {
                dir = try stepsDir(h, name, make: make)
            } catch is DeviceNotPermitted {
                continue
            }
            let file = dir.appendingPathComponent("\(name).lua").path
            for (command, r) in try listAndRun(h, dir) {
                XCTAssertEqual(r.status, 2, "\(command) \(name): \(r.output)")
                XCTAssertTrue(r.output.contains(reason), "\(command) \(name): \(r.output)")
                XCTAssertTrue(r.output.contains("step \"\(name)\""), "\(command) \(name) names the step: \(r.output)")
                if reason.hasPrefix("is outside") {
                    XCTAssertTrue(r.output.contains("\"\(name).lua\""), "\(command) \(name) names the file: \(r.output)")
                } else {
                    XCTAssertTrue(r.output.contains(file + ": step \"\(name)\": " + reason), "\(command) \(name): \(r.output)")
                }
            }
        }
        let sent = try await h.requests()
        XCTAssertTrue(sent.isEmpty, "\(sent.count) requests sent")
        await h.stop()
    }

    /// `lib/*.lua` is checked with the steps (exit 2 before anything is sent); a library in a
    /// subdirectory (`require('sub.x')`) is read when the step requires it: the step fails
    /// naming the file, without hanging.
    func testARequiredLibraryThatIsAFIFOOrADeviceIsRefusedNamingIt() async throws {
        let h = try await StepHarness.start()
        // lib/helper.lua a FIFO: found by the compile check of list and run.
        let top = try stepsDir(h, "uses-helper", lua: "local m = require('helper')\n")
        try CLI.makeFIFO(top.appendingPathComponent("lib/helper.lua"))
        for (command, r) in try listAndRun(h, top) {
            XCTAssertEqual(r.status, 2, "\(command): \(r.output)")
            XCTAssertTrue(r.output.contains(top.appendingPathComponent("lib/helper.lua").path + ": is a FIFO"), "\(command): \(r.output)")
        }
        let sentBefore = try await h.requests()
        XCTAssertTrue(sentBefore.isEmpty, "\(sentBefore.count) requests sent")
        // lib/sub/x.lua a FIFO, a socket, a huge file or a device: read by require when the step runs.
        for (name, make, reason) in [("fifo", CLI.makeFIFO, "is a FIFO"), ("socket", CLI.makeSocketFile, "is a socket"),
                                     ("huge", Self.oversize, "is larger than 1 MiB"), ("zero", Self.zeroDevice, "is a device")]
            as [(String, (URL) throws -> Void, String)] {
            let dir = try stepsDir(h, "uses-sub-\(name)", lua: "local m = require('sub.\(name)')\n")
            let lib = dir.appendingPathComponent("lib/sub/\(name).lua")
            do { try make(lib) } catch is DeviceNotPermitted { continue }
            let r = try CLI.run(try CLI.runArguments(h, extra: ["--steps-dir", dir.path]), seconds: 20)
            XCTAssertNotEqual(r.status, 0, "\(name): \(r.output)")
            XCTAssertTrue(r.output.contains("uses-sub-\(name)"), "names the step: \(r.output)")
            XCTAssertTrue(r.output.contains(lib.path + " " + reason), "\(name): \(r.output)")
        }
        await h.stop()
    }
}
