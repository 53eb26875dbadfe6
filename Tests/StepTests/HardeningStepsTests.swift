import ConsoleSimulator
import Foundation
import JSONModel
import TwistlockInit
import XCTest

/// Hostile or broken custom steps (issue 8, docs/reliability.md "Custom steps"): each is
/// stopped with the step and the reason named, the steps before it keep their results, the
/// steps after it do not run, and nothing it did leaks into the steps after it.
final class HardeningStepsTests: XCTestCase {
    struct Case: Sendable {
        let name: String
        let lua: String
        /// Every one of these is in the step's error.
        let reason: [String]
        var configure: (@Sendable (inout JobOptions) -> Void)? = nil
    }

    static let cases: [Case] = [
        Case(name: "infinite-loop", lua: "local n = 0\nwhile true do n = n + 1 end",
             reason: ["hostile.lua:2:", "instruction limit of 5000000 exceeded"], configure: { $0.instructionLimit = 5_000_000 }),
        Case(name: "loop-in-pcall", lua: "while true do pcall(function() while true do end end) end",
             reason: ["instruction limit of 5000000 exceeded"], configure: { $0.instructionLimit = 5_000_000 }),
        Case(name: "runaway-tables", lua: "local t = {}\nfor i = 1, 1e9 do t[i] = {i, tostring(i)} end",
             reason: ["Lua memory limit of 32 MiB exceeded"], configure: { $0.memoryLimitBytes = 32 << 20 }),
        Case(name: "string-rep-bomb", lua: "local s = string.rep('x', 1e9)",
             reason: ["Lua memory limit of 32 MiB exceeded"], configure: { $0.memoryLimitBytes = 32 << 20 }),
        Case(name: "string-rep-doubling", lua: "local s = 'xy'\nfor i = 1, 64 do s = s:rep(2, s) end",
             reason: ["Lua memory limit of 32 MiB exceeded"], configure: { $0.memoryLimitBytes = 32 << 20 }),
        Case(name: "string-rep-too-large", lua: "local s = ('x'):rep(1e10, ',')", reason: ["resulting string too large"]),
        Case(name: "json-decode-bomb", lua: """
            local text = "[" .. string.rep("[0,0,0,0,0,0,0,0],", 200000) .. "0]"
            local kept = {}
            for i = 1, 16 do kept[i] = json.decode(text) end
            """, reason: ["Lua memory limit of 32 MiB exceeded"], configure: { $0.memoryLimitBytes = 32 << 20 }),
        Case(name: "os-execute", lua: "os.execute('touch /tmp/twistlock-init-pwned')",
             reason: ["os.execute is not available to steps (sandbox)"]),
        Case(name: "os-exit", lua: "os.exit(0)", reason: ["os.exit is not available to steps (sandbox)"]),
        Case(name: "os-getenv", lua: "local h = os.getenv('HOME')", reason: ["os.getenv is not available to steps (sandbox)"]),
        Case(name: "io-open", lua: "local f = io.open('/etc/passwd')", reason: ["io is not available to steps (sandbox)"]),
        Case(name: "io-popen", lua: "io.popen('id')", reason: ["io is not available to steps (sandbox)"]),
        Case(name: "debug", lua: "local r = debug.getregistry()", reason: ["debug is not available to steps (sandbox)"]),
        Case(name: "package-loadlib", lua: "package.loadlib('/lib/x86_64-linux-gnu/libc.so.6', 'system')",
             reason: ["package is not available to steps (sandbox)"]),
        Case(name: "require-outside", lua: "require('../../etc/passwd')", reason: ["require(\"../../etc/passwd\")", "module names may not contain", "(sandbox)"]),
        Case(name: "require-os", lua: "local os = require('os')", reason: ["module 'os' not found"]),
        Case(name: "dofile", lua: "dofile('/etc/passwd')", reason: ["dofile is not available to steps (sandbox)"]),
        Case(name: "loadfile", lua: "loadfile('/etc/passwd')", reason: ["loadfile is not available to steps (sandbox)"]),
        Case(name: "load-bytecode", lua: """
            local f, err = load("\\27LuaT\\0\\25\\147\\13\\10\\26\\10\\4\\8\\8", "evil", "b")
            assert(f, err)
            """, reason: ["attempt to load a binary chunk"]),
        Case(name: "string-dump", lua: "local b = string.dump(function() end)",
             reason: ["string.dump is not available to steps (sandbox)"]),
        Case(name: "collectgarbage", lua: "collectgarbage('stop')", reason: ["collectgarbage is not available to steps (sandbox)"]),
        Case(name: "gc-finalizer", lua: "setmetatable({}, {__gc = function() while true do end end})",
             reason: ["__gc metamethods are not available to steps (sandbox)"]),
        Case(name: "secret-traversal", lua: "local s = secret('../../../etc/passwd')",
             reason: ["secret(\"../../../etc/passwd\")", "a secret name cannot contain a path separator"]),
        Case(name: "secret-absolute", lua: "local s = secret('/etc/passwd')",
             reason: ["a secret name cannot contain a path separator"]),
        Case(name: "secret-dotdot", lua: "local s = secret('..')", reason: ["a secret name cannot contain \"..\""]),
        Case(name: "secret-hidden", lua: "local s = secret('..data')", reason: ["a secret name cannot contain \"..\""]),
        Case(name: "secret-dotfile", lua: "local s = secret('.git-credentials')", reason: ["cannot start with \".\""]),
        Case(name: "secret-optional-traversal", lua: "local s = secret('../x', {optional = true})",
             reason: ["a secret name cannot contain a path separator"]),
        Case(name: "values-write", lua: "values.console.credentials.password = 'x'", reason: ["values are read-only"]),
        Case(name: "sleep-forever", lua: "time.sleep(1e9)", reason: ["time.sleep", "at most 3600 seconds"]),
        Case(name: "stack-overflow", lua: "local function f() return 1 + f() end\nf()", reason: ["stack overflow"]),
        Case(name: "error", lua: "error('the frobnicator is down')", reason: ["hostile.lua:1: the frobnicator is down"]),
        Case(name: "error-object", lua: "error({code = 42})", reason: ["error object is a table value"]),
        // A step file that does not compile is refused before anything is sent (exit 2,
        // ListCommandTests); a chunk a step compiles itself fails the step when it runs.
        Case(name: "syntax-error-in-load", lua: "local f = assert(load('local x = = 1'))", reason: ["unexpected symbol"]),
        Case(name: "plan-bypass", lua: "console.request{method = 'DELETE', path = 'users/alice'}",
             reason: ["users/alice"]),
    ]

    func testEachHostileOrBrokenStepIsStoppedNamingItAndTheReasonAndTheStepsBeforeKeepTheirResults() async throws {
        let h = try await Hardening.start()
        let values = Hardening.values()
        for (n, c) in Self.cases.enumerated() {
            let dir = try Hardening.customStep(h, name: "hostile", after: "groups", lua: c.lua)
            let run = try await h.run(values: values, extraStepsDirs: [dir]) { options in
                c.configure?(&options)
                if c.name == "plan-bypass" { options.mode = .plan }
            }
            let outcome = run.step("hostile")
            XCTAssertEqual(run.report.exitCode, 1, "\(c.name): \(run.output)")
            XCTAssertEqual(outcome?.status, .failed, "\(c.name)")
            let error = outcome?.error ?? ""
            XCTAssertTrue(error.hasPrefix("step \"hostile\": "), "\(c.name): \(error)")
            for r in c.reason {
                XCTAssertTrue(error.contains(r), "\(c.name): the reason \(r) is not in: \(error)")
            }
            XCTAssertTrue(run.output.contains(error.components(separatedBy: "\n")[0]), "\(c.name): the error is not printed")
            // The steps before it finished (the first time, with real writes); the steps after
            // it did not run.
            for before in ["wait", "admin", "license", "dns-san", "sso", "users", "groups"] {
                XCTAssertEqual(run.step(before)?.status, .done, "\(c.name): \(before)")
            }
            for after in ["metrics-user", "vulnerability-policies", "options"] {
                XCTAssertEqual(run.step(after)?.status, .notRun, "\(c.name): \(after)")
            }
            if n == 0 {
                XCTAssertGreaterThan(run.report.writes.count, 5, "the steps before the hostile one wrote: \(run.output)")
                let state = try await h.state()
                let users = (state["users"]?.arrayValue ?? []).compactMap { $0["username"]?.stringValue }
                XCTAssertTrue(users.contains("alice") && users.contains("bob"), "\(users)")
                XCTAssertEqual((state["groups"]?.arrayValue ?? []).count, 2)
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/twistlock-init-pwned"))
        // The users survived the hostile DELETE attempt in plan mode.
        let state = try await h.state()
        XCTAssertTrue((state["users"]?.arrayValue ?? []).contains { $0["username"]?.stringValue == "alice" })
        await h.stop()
    }

    /// An endless loop in an `xpcall` message handler. Lua runs message handlers with hooks
    /// off, so the sandbox's `xpcall` calls the step's handler only after the error is caught,
    /// as ordinary code under the instruction budget (LuaHost's prelude).
    func testAnEndlessLoopInAnXpcallMessageHandlerIsStopped() async throws {
        let h = try await Hardening.start()
        let dir = try Hardening.customStep(h, name: "hostile", after: "license",
                                           lua: "xpcall(function() error('x') end, function() while true do end end)")
        let job = JobThread(try h.options(extraStepsDirs: [dir]) { $0.instructionLimit = 5_000_000 })
        guard let report = await job.wait(seconds: 10) else {
            // The job's thread keeps spinning until the test process ends.
            return XCTFail("the step was not stopped within 10 s")
        }
        let run = StepHarness.Run(report: report, lines: job.lines)
        XCTAssertEqual(run.step("hostile")?.status, .failed)
        XCTAssertTrue(run.step("hostile")?.error?.contains("instruction limit of 5000000 exceeded") ?? false, run.output)
        await h.stop()
    }

    /// A step that tampers with everything it can reach and then succeeds: the steps after it
    /// see the host as it was (each step gets its own environment and library tables).
    func testTamperingDoesNotReachTheStepsAfter() async throws {
        let h = try await Hardening.start()
        let dir = try Hardening.customStep(h, name: "tamper", after: "license", lua: """
        string.format = function() return "tampered" end
        string.rep = nil
        table.insert = nil
        table.concat = function() return "" end
        math.max = function() return 0 end
        os.time = function() return 0 end
        getmetatable("").__index = {}
        pcall(function() json.encode = nil end)
        pcall(function() console.put = function() end end)
        pcall(function() log.info = nil end)
        _G.console = nil
        _G.json = nil
        require = nil
        pairs = function() return function() return nil end end
        ipairs = pairs
        tostring = nil
        error = nil
        """)
        let run = try await h.run(values: Hardening.values(), extraStepsDirs: [dir])
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        XCTAssertEqual(run.step("tamper")?.status, .done)
        XCTAssertEqual(run.report.steps.filter { $0.status != .done && $0.status != .skipped }.map(\.name), [], run.output)
        Hardening.assertConfigured(try await h.state())
        await h.stop()
    }

    /// A custom step's own failure leaves the objects it touched as they were: its write is
    /// refused by the console (400), the policy stays byte for byte.
    func testACustomStepsRefusedWriteLeavesTheObjectAsItWas() async throws {
        let h = try await Hardening.start()
        let first = try await h.run(values: Hardening.values())
        XCTAssertEqual(first.report.exitCode, 0, first.output)
        let before = try await h.state()
        let dir = try Hardening.customStep(h, name: "bad-write", after: "options", lua: """
        local current = console.get("policies/runtime/container")
        local desired = json.copy(current)
        desired.rules[1].name = ""          -- the console refuses a rule without a name
        console.put("policies/runtime/container", desired, {before = current, object = "runtime policy container"})
        """)
        let run = try await h.run(values: Hardening.values(), extraStepsDirs: [dir])
        XCTAssertEqual(run.report.exitCode, 1, run.output)
        let error = run.step("bad-write")?.error ?? ""
        XCTAssertTrue(error.contains("PUT /api/v1/policies/runtime/container (runtime policy container): 400"), error)
        let after = try await h.state()
        XCTAssertEqual(after["policies"]?["runtime/container"], before["policies"]?["runtime/container"])
        await h.stop()
    }
}
