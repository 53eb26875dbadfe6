import Foundation
import JSONModel
import TwistlockInit
import XCTest

/// Issue 13 point 3, the job's own host functions: `yaml.encode`, the bodies of
/// `console.put/post/request` and log lines count against the Lua memory ceiling
/// (`--lua-memory-limit`, 32 MiB here); over it, a memory error the step catches, and nothing
/// is sent.
final class HostMemoryStepTests: XCTestCase {
    func testHostFunctionsBuildingLargeOutputsAreRefusedCatchably() async throws {
        let h = try await Hardening.start()
        let dir = try Hardening.customStep(h, name: "hog", after: "license", lua: #"""
        local s = ("x"):rep(1 << 20)
        local t = {}
        for i = 1, 40 do t[i] = s end
        local function try(label, f, ...)
          local ok, err = pcall(f, ...)
          log.info("case %s: %s %s", label, tostring(ok), ok and "" or tostring(err):sub(1, 200))
        end
        try("yaml", yaml.encode, {{items = t}})
        try("put", console.put, "policies/runtime/container", {rules = t}, {object = "runtime policy"})
        try("post", console.post, "custom-rules", {rules = t})
        try("request", console.request, {method = "PUT", path = "trust/data", body = {t = t}})
        try("log", log.info, "%s", ("y"):rep(10 << 20))
        try("small", yaml.encode, {{a = 1}})
        """#)
        try await h.clearRequests()
        let run = try await h.run(values: "", only: ["wait", "admin", "license", "hog"], extraStepsDirs: [dir]) {
            $0.memoryLimitBytes = 32 << 20
        }
        XCTAssertEqual(run.step("hog")?.status, .done, run.output)
        for label in ["yaml", "put", "post", "request", "log"] {
            let line = run.lines.first { $0.contains("case \(label):") } ?? ""
            XCTAssertTrue(line.contains("false") && line.contains("not enough memory"), "\(label): \(line)")
        }
        XCTAssertTrue(run.lines.contains { $0.contains("case small: true") }, run.output)
        let writes = try await h.writeEndpoints()
        XCTAssertFalse(writes.contains { $0.contains("runtime") || $0.contains("custom-rules") || $0.contains("trust") }, "\(writes)")
        await h.stop()
    }
}
