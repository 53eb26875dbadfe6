import ConsoleSimulator
import Foundation
import JSONModel
import TwistlockInit
import XCTest

/// Issue 13 point 1: `plan` sends no write, whatever a step does, and in `run` every write a
/// step makes is in the report and the diff. What a request is comes from the request parsed
/// (`ConsoleRequest`, tested on its own in TwistlockInitTests.ConsoleRequestTests): the method
/// and the endpoint after normalising the path, never its text.
final class PlanSafetyTests: XCTestCase {
    /// A custom step's POST is sent once after a 5xx or a lost connection unless the step says
    /// it may be repeated; with `idempotent = true` the same failures are retried — whatever
    /// the path (a settings path or not, however spelled) says.
    func testAStepsOwnStatementDecidesWhetherAPostIsRetried() async throws {
        let h = try await Hardening.start()
        let dir = try Hardening.customStep(h, name: "poster", after: "license", lua: #"""
        for _, case in ipairs({
          {label = "plain settings", path = "settings/telemetry"},
          {label = "stated settings", path = "./settings//telemetry", idempotent = true},
          {label = "plain other", path = "settings/../settings/intelligence"},
          {label = "stated other", path = "settings/intelligence", idempotent = true},
        }) do
          local ok, r = pcall(console.post, case.path, {enabled = false}, {object = case.label, idempotent = case.idempotent})
          log.info("case %s: %s", case.label, ok and ("status " .. tostring(r.status)) or ("failed: " .. tostring(r)))
        end
        """#)
        func rule(_ kind: String, _ path: String, status: Int? = nil) -> JSON {
            var o: [String: JSON] = ["kind": .string(kind), "method": "POST", "path": .string(path), "count": 1, "retryAfter": 0]
            if let status { o["status"] = .int(Int64(status)) }
            return .object(o)
        }
        // Two 500s for telemetry and two dropped connections for intelligence: the plain POST
        // meets the first of each, the stated one the second (then its retry is answered).
        try await h.setFaults([rule("status", "settings/telemetry", status: 500), rule("status", "settings/telemetry", status: 500),
                               rule("drop", "settings/intelligence"), rule("drop", "settings/intelligence")])
        try await h.clearRequests()
        let run = try await h.run(values: Hardening.values(), extraStepsDirs: [dir])
        func line(_ label: String) -> String { run.lines.first { $0.contains("case \(label):") } ?? "(no line for \(label))" }
        XCTAssertTrue(line("plain settings").contains("failed") && line("plain settings").contains("500"), line("plain settings"))
        XCTAssertTrue(line("stated settings").contains("status 200"), line("stated settings"))
        XCTAssertTrue(line("stated other").contains("status 200"), line("stated other"))
        XCTAssertTrue(line("plain other").contains("failed") && line("plain other").contains("no answer from the console"),
                      line("plain other"))
        let fired = try await h.firedFaults().filter { $0.hasPrefix("POST settings/") }
        XCTAssertEqual(fired.count, 4, "\(fired)")
        await h.stop()
    }

    // MARK: - The job against the simulator

    /// The non-GET requests that reached the console, other than logins.
    func sentWrites(_ h: StepHarness) async throws -> [String] {
        try await h.requests().compactMap { r in
            let m = r["method"]?.stringValue ?? ""
            let e = (r["endpoint"]?.stringValue ?? "").lowercased()
            if m == "GET" || e == "authenticate" { return nil }
            return "\(m) \(r["path"]?.stringValue ?? "")"
        }
    }

    /// The issue's examples and other spellings of the same, in plan mode: nothing reaches the
    /// console; `console.post/put/delete` hold the write back (planned, in the plan), and
    /// `console.request` refuses a write with an error naming it.
    func testPlanSendsNoWriteHoweverTheRequestIsSpelled() async throws {
        let h = try await Hardening.start()
        let first = try await h.run(values: Hardening.values())
        XCTAssertEqual(first.report.exitCode, 0, first.output)
        let usersBefore = try await h.state()["users"]
        XCTAssertNotNil(usersBefore)
        let dir = try Hardening.customStep(h, name: "hostile", after: "users", lua: #"""
        local function try(label, f, ...)
          local ok, r = pcall(f, ...)
          if ok then
            log.info("case %s: planned=%s changed=%s", label, tostring(r.planned), tostring(r.changed))
          else
            log.info("case %s: refused: %s", label, tostring(r))
          end
        end
        local user = {username = "mallory", password = "Mallory-Pa55word-1", role = "admin", authType = "basic"}
        -- console.post: held back whatever the path says
        for _, p in ipairs({"users?x=/authenticate", "users#/authenticate", "%75sers", "USERS", "//users",
                            "users/../users", "authenticate/../users"}) do
          try("post " .. p, console.post, p, user)
        end
        try("post read users", console.post, "users?x=/authenticate", user, {read = true})
        try("post read encoded", console.post, "users%2F..%2Fauthenticate", user, {read = true})
        try("delete", console.delete, "users/alice?/authenticate")
        try("put", console.put, "policies/runtime/container#/authenticate", {rules = {}})
        -- console.request: refused, never sent
        try("request DELETE", console.request, {method = "DELETE", path = "users/alice?/authenticate"})
        try("request delete lower", console.request, {method = "delete", path = "users/alice#/authenticate"})
        try("request PUT", console.request, {method = "PUT", path = "policies/runtime/container", body = {rules = {}}})
        try("request POST license", console.request, {method = "POST", path = "settings/license?foo", body = {key = "x"}})
        try("request PATCH", console.request, {method = "pAtCh", path = "USERS/alice", body = {role = "admin"}})
        try("request POST read users", console.request, {method = "POST", path = "users?x=/authenticate", body = user, read = true})
        try("request POST abs", console.request, {method = "POST", path = "/api/v34.04/users", body = user})
        try("request climb", console.request, {method = "POST", path = "/api/v1/../v34.04/users", body = user})
        try("request PURGE", console.request, {method = "PURGE", path = "users"})
        -- the explicit read-only POST is sent and answers
        local r = console.request{method = "POST", path = "./x/../authenticate#frag", auth = false, read = true,
          body = {username = "alice", password = secret("console.additionalUsers.alice.password")}}
        log.info("case login: status %d", r.status)
        """#)
        try await h.clearRequests()
        let plan = try await h.run(values: Hardening.values(), mode: .plan, extraStepsDirs: [dir])
        XCTAssertEqual(plan.step("hostile")?.status, .done, plan.output)
        let writes = try await sentWrites(h)
        XCTAssertEqual(writes, [], "plan sent writes:\n\(plan.output)")
        let usersAfter = try await h.state()["users"]
        XCTAssertEqual(usersAfter, usersBefore)

        func line(_ label: String) -> String {
            plan.lines.first { $0.contains("case \(label):") } ?? "(no line for \(label))"
        }
        for p in ["users?x=/authenticate", "users#/authenticate", "%75sers", "USERS", "//users", "users/../users",
                  "authenticate/../users"] {
            XCTAssertTrue(line("post " + p).contains("planned=true changed=true"), line("post " + p))
        }
        XCTAssertTrue(line("delete").contains("planned=true"), line("delete"))
        XCTAssertTrue(line("put").contains("planned=true"), line("put"))
        for label in ["post read users", "post read encoded", "request POST read users"] {
            XCTAssertTrue(line(label).contains("refused") && line(label).contains("read = true is allowed only"), line(label))
        }
        for label in ["request DELETE", "request delete lower", "request PUT", "request POST license", "request PATCH",
                      "request POST abs"] {
            XCTAssertTrue(line(label).contains("refused") && line(label).contains("would write to the console"), line(label))
        }
        XCTAssertTrue(line("request climb").contains("climbs out of /api/v1"), line("request climb"))
        XCTAssertTrue(line("request PURGE").contains("is not one of"), line("request PURGE"))
        XCTAssertTrue(line("login").contains("status 200"), line("login"))
        // The planned writes are in the plan, each under its normalised target.
        let hostile = plan.report.writes.filter { $0.step == "hostile" }
        XCTAssertEqual(hostile.count, 9, "\(hostile.map { "\($0.method) \($0.target)" })")
        XCTAssertTrue(hostile.allSatisfy { $0.planned })
        XCTAssertEqual(hostile.filter { $0.target == "/api/v1/users" }.count, 5, "\(hostile.map(\.target))")
        XCTAssertTrue(hostile.contains { $0.method == "POST" && $0.target == "/users" })
        XCTAssertTrue(hostile.contains { $0.method == "DELETE" && $0.target == "/api/v1/users/alice" })
        XCTAssertTrue(hostile.contains { $0.method == "POST" && $0.target == "/api/v1/USERS" })
        XCTAssertTrue(plan.output.contains("    + create "), plan.output)
        XCTAssertTrue(plan.output.contains("    - remove "), plan.output)
        XCTAssertFalse(plan.output.contains("Mallory-Pa55word-1"))
        await h.stop()
    }

    /// In run mode every write a step makes through `console.request`, however spelled, is in
    /// the report and the diff, with the console's status.
    func testRunReportsEveryWriteHoweverSpelled() async throws {
        let h = try await Hardening.start()
        let dir = try Hardening.customStep(h, name: "sneaky", after: "users", lua: #"""
        local user = {username = "mallory", password = "Mallory-Pa55word-1", role = "auditor", authType = "basic"}
        local r1 = console.request{method = "post", path = "users//?x=/authenticate", body = user}
        log.info("create: %d", r1.status)
        local r2 = console.request{method = "DeLeTe", path = "users/./mallory#/authenticate"}
        log.info("delete: %d", r2.status)
        local r3 = console.request{method = "DELETE", path = "users/nobody-there"}
        log.info("delete missing: %d", r3.status)
        local r4 = console.request{method = "POST", path = "authenticate", auth = false,
          body = {username = "alice", password = secret("console.additionalUsers.alice.password")}}
        log.info("unmarked login: %d", r4.status)
        """#)
        try await h.clearRequests()
        let run = try await h.run(values: Hardening.values(), extraStepsDirs: [dir])
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        let sneaky = run.report.writes.filter { $0.step == "sneaky" }
        XCTAssertEqual(sneaky.map { "\($0.method) \($0.target) \($0.status ?? -1)" }, [
            "POST /api/v1/users 200", "DELETE /api/v1/users/mallory 200", "DELETE /api/v1/users/nobody-there 404",
            "POST /api/v1/authenticate 200",
        ], run.output)
        XCTAssertEqual(run.step("sneaky")?.writes, 4)
        // The diff shows what was sent, secrets masked.
        XCTAssertTrue(run.output.contains("    + created "), run.output)
        XCTAssertTrue(run.output.contains("    - removed "), run.output)
        XCTAssertFalse(run.output.contains("Mallory-Pa55word-1"), run.output)
        XCTAssertFalse(run.output.contains(Hardening.alicePassword), run.output)
        let created = sneaky[0].changes.first { $0.path == "username" }
        XCTAssertEqual(created?.new, .string("mallory"))
        await h.stop()
    }
}
