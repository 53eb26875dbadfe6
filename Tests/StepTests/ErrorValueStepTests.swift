import Foundation
import JSONModel
import TwistlockInit
import XCTest

/// Issue 16, structured errors: `job.stop` is read from the error that ends the step, not from a
/// flag set when `job.stop` was called. A stop the step caught with `pcall` (and did not raise
/// again) stops nothing: a later failure in the same step or in a later step is a failure.
final class ErrorValueStepTests: XCTestCase {
    /// Runs the project's first steps and the custom steps `steps` (name, Lua), each after the one
    /// before it, the first after `license`.
    private func run(_ h: StepHarness, _ steps: [(String, String)], strict: Bool = false) async throws -> StepHarness.Run {
        var dirs: [URL] = []
        var after = "license"
        for (name, lua) in steps {
            dirs.append(try Hardening.customStep(h, name: name, after: after, lua: lua))
            after = name
        }
        return try await h.run(only: ["wait", "admin", "license"] + steps.map(\.0),
                               extraStepsDirs: dirs, strict: strict)
    }

    func testAStopCaughtInAStepDoesNotMarkALaterFailureInThatStepAsStopped() async throws {
        let h = try await StepHarness.start()
        for (name, lua) in [
            ("plain-error", "pcall(job.stop, 'caught stop')\nerror('an unrelated failure', 0)"),
            // The stop inside a function the step runs under pcall, then a host error.
            ("host-error", "local ok = pcall(function() job.stop('caught stop') end)\nassert(not ok)\nconsole.get('/api/v1/no-such-endpoint')"),
            // A failure whose text is a stop's text is still not a stop.
            ("stop-text", "local ok, e = pcall(job.stop, 'caught stop')\nerror(tostring(e), 0)"),
            // A stop turned into a string by the step (as policy.each_endpoint does) is a failure.
            ("wrapped", "local ok, e = pcall(job.stop, 'caught stop')\nerror('1 of 1 failed: ' .. e, 0)"),
        ] {
            let run = try await run(h, [(name, lua), ("after-\(name)", "error('must not run')")])
            XCTAssertEqual(run.step(name)?.status, .failed, "\(name): \(run.output)")
            XCTAssertNil(run.report.stopMessage, name)
            XCTAssertEqual(run.report.exitCode, 1, name)
            XCTAssertEqual(run.step("after-\(name)")?.status, .notRun, name)
            XCTAssertEqual(run.step("after-\(name)")?.reason, "an earlier step (\(name)) failed", name)
            XCTAssertFalse(run.output.contains("stopped: caught stop"), "\(name): \(run.output)")
        }
        let plain = try await run(h, [("plain", "pcall(job.stop, 'caught stop')\nerror('an unrelated failure', 0)")])
        let error = plain.step("plain")?.error ?? ""
        XCTAssertTrue(error.hasPrefix("step \"plain\": ") && error.hasSuffix("plain.lua:2: an unrelated failure"), error)
        await h.stop()
    }

    func testAStopCaughtInOneStepDoesNotMarkALaterStepsFailureAsStopped() async throws {
        let h = try await StepHarness.start()
        for (second, lua) in [("b-error", "error('b failed', 0)"),
                              ("b-host", "console.get('/api/v1/no-such-endpoint')"),
                              ("b-sandbox", "os.execute('true')")] {
            let run = try await run(h, [("a-catches", "local ok, e = pcall(job.stop, 'caught in a')\nassert(e.kind == 'stop')"),
                                        (second, lua)])
            XCTAssertEqual(run.step("a-catches")?.status, .done, "\(second): \(run.output)")
            XCTAssertEqual(run.step(second)?.status, .failed, "\(second): \(run.output)")
            XCTAssertNil(run.report.stopMessage, second)
            XCTAssertEqual(run.report.exitCode, 1, second)
            XCTAssertFalse(run.output.contains("caught in a"), "\(second): \(run.output)")
        }
        await h.stop()
    }

    func testAStopThatEndsTheStepStopsTheRun() async throws {
        let h = try await StepHarness.start()
        for (name, lua) in [("direct", "job.stop('no license yet')"),
                            // Caught and raised again: the error that ends the step carries the stop.
                            ("reraised", "local ok, e = pcall(job.stop, 'no license yet')\nerror(e)"),
                            ("reraised-level0", "local ok, e = pcall(job.stop, 'no license yet')\nerror(e, 0)")] {
            let run = try await run(h, [(name, lua), ("after-\(name)", "error('must not run')")])
            XCTAssertEqual(run.step(name)?.status, .stopped, "\(name): \(run.output)")
            XCTAssertEqual(run.step(name)?.error, "no license yet", name)
            XCTAssertEqual(run.report.stopMessage, "no license yet", name)
            XCTAssertEqual(run.step("after-\(name)")?.status, .notRun, name)
            XCTAssertEqual(run.step("after-\(name)")?.reason, "the run was stopped by step \(name)", name)
            XCTAssertEqual(run.report.exitCode, 0, name)
            XCTAssertTrue(run.output.contains("stopped: no license yet"), run.output)
        }
        let strict = try await run(h, [("strict-stop", "job.stop('no license yet')")], strict: true)
        XCTAssertEqual(strict.step("strict-stop")?.status, .stopped)
        XCTAssertNotEqual(strict.report.exitCode, 0)
        await h.stop()
    }

    /// A console refusal caught by a step says what it is; its text names the object as before.
    func testAConsoleRefusalIsAValueNamingItsRequestAndObject() async throws {
        let h = try await StepHarness.start()
        let lua = #"""
        local ok, e = pcall(console.put, "no-such-endpoint", {x = 1}, {object = "thing x"})
        assert(not ok)
        assert(e.kind == "status", "kind " .. tostring(e.kind))
        assert(e.status == 404, "status " .. tostring(e.status))
        assert(e.request.method == "PUT" and e.request.path == "/api/v1/no-such-endpoint", e.request.path)
        assert(e.object == "thing x", tostring(e.object))
        assert(e.message:find("^PUT /api/v1/no%-such%-endpoint %(thing x%): 404 Not Found"), e.message)
        -- Called by pcall itself: no Lua line to name.
        assert(tostring(e) == e.message, tostring(e))
        local ok2, g = pcall(function()
          local r = console.get("no-such-endpoint")
          return r
        end)
        assert(g.kind == "status" and g.status == 404 and g.object == nil and g.request.method == "GET")
        assert(tostring(g):find("/refused.lua:11: GET /api/v1/no-such-endpoint: 404 Not Found", 1, true), tostring(g))
        error(e)
        """#
        let run = try await run(h, [("refused", lua)])
        let error = run.step("refused")?.error ?? ""
        XCTAssertEqual(run.step("refused")?.status, .failed, run.output)
        XCTAssertTrue(error.hasPrefix("step \"refused\": "), error)
        // Raised again at line 16: the run names where, then the request and the object.
        XCTAssertTrue(error.contains("refused.lua:16: PUT /api/v1/no-such-endpoint (thing x): 404 Not Found"), error)
        await h.stop()
    }
}
