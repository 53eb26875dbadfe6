import Foundation
import JobConfig
import JSONModel
import TwistlockInit
import XCTest

/// No secret in any output, including what steps obtain, and no forged lines (issue 13,
/// point 6; docs/reliability.md "Secrets"): tokens a step gets by logging in itself, user info
/// in the console URL, secrets too short to mask, and control characters from steps, the
/// console and values. The redactor on its own: TwistlockInitTests.RedactorTests; `--set`
/// errors after a secret's `=`: JobConfigTests.SetSecretQuotingTests.
final class HardeningLeakTests: XCTestCase {
    /// The text between two markers in every line, e.g. what a step printed as a token.
    func between(_ text: String, _ start: String, _ end: String) -> [String] {
        var out: [String] = []
        var rest = Substring(text)
        while let a = rest.range(of: start), let b = rest[a.upperBound...].range(of: end) {
            out.append(String(rest[a.upperBound..<b.lowerBound]))
            rest = rest[b.upperBound...]
        }
        return out
    }

    /// A step that logs in itself — `console.request{path="authenticate"}` (the issue's
    /// example), `console.post("authenticate", …)` and the whole answer JSON-encoded — never
    /// shows the token, in text or JSON logs, nor in the report.
    func testATokenAStepObtainsItselfIsMaskedEverywhere() async throws {
        let h = try await StepHarness.start()
        let step = try Hardening.customStep(h, name: "self-login", after: "license", lua: """
        local creds = {username = values.console.credentials.username, password = values.console.credentials.password}
        local r = console.request{method = "POST", path = "authenticate", auth = false, body = creds}
        log.info("TOKEN1[%s]END", r.body.token)
        log.info("ANSWER[%s]END", json.encode(r))
        local p = console.post("authenticate", creds)
        log.info("TOKEN2[%s]END", p.body.token)
        error("TOKEN4[" .. r.body.token .. "]END")
        """)
        for format in [LogFormat.text, .json] {
            let report = h.workDir.appendingPathComponent("self-login-\(format.rawValue).json")
            let run = try await h.run(extraStepsDirs: [step], logFormat: format, reportJSON: report)
            XCTAssertEqual(run.step("self-login")?.status, .failed, run.output)
            let all = run.output + (try String(contentsOf: report, encoding: .utf8))
            for marker in ["TOKEN1", "TOKEN2", "TOKEN4"] {
                let shown = between(all, marker + "[", "]END")
                XCTAssertFalse(shown.isEmpty, "\(marker) not printed: \(run.output)")
                for s in shown { XCTAssertEqual(s, Redactor.mask, "\(format) \(marker) shows \(s)") }
            }
            // The whole answer, token field and all, shows the mask where the token was.
            let answers = between(all, "ANSWER[", "]END")
            XCTAssertFalse(answers.isEmpty)
            for a in answers { XCTAssertTrue(a.contains(Redactor.mask), a) }
        }
        await h.stop()
    }

    /// The Kubernetes bearer token the defenders step sends is masked too: a later step that
    /// prints it (as if it had found it somewhere) shows the mask.
    func testTheKubernetesTokenTheHostSendsIsMasked() async throws {
        let h = try await Hardening.start(kube: true)
        let step = try Hardening.customStep(h, name: "kube-echo", after: "defenders", lua: """
        log.info("KTOKEN[%s]END", "hardening-token")
        """, when: "defender.enabled")
        let run = try await h.run(values: Hardening.values(defenders: true), extraStepsDirs: [step])
        XCTAssertEqual(run.step("defenders")?.status, .done, run.output)
        let shown = between(run.output, "KTOKEN[", "]END")
        XCTAssertEqual(shown, [Redactor.mask], run.output)
        await h.stop()
    }

    /// User info in the console URL is refused, and masked in the refusal (values of the
    /// flag in any form: user and password, password only, user only).
    func testUserInfoInTheConsoleURLIsRefusedAndNeverShown() async throws {
        let h = try await StepHarness.start()
        let port = h.consoleURL.split(separator: ":").last.map(String.init) ?? "1"
        for url in ["http://admin:UrlS3cret-Pa55@127.0.0.1:\(port)", "http://:UrlS3cret-Pa55@127.0.0.1:\(port)/",
                    "https://UrlS3cret-Pa55@127.0.0.1:\(port)", "http://admin:UrlS3cret-Pa55@127.0.0.1:\(port)/?x"] {
            let report = h.workDir.appendingPathComponent("userinfo-report.json")
            let run = try await h.run(reportJSON: report, configure: { $0.consoleURL = url })
            XCTAssertEqual(run.report.exitCode, 2, run.output)
            XCTAssertTrue(run.output.contains("--console-url"), run.output)
            let text = run.output + (try String(contentsOf: report, encoding: .utf8))
            XCTAssertFalse(text.contains("UrlS3cret"), text)
            let cli = try CLI.run(try CLI.runArguments(h) + ["--console-url", url], seconds: 20)
            XCTAssertEqual(cli.status, 2, cli.output)
            XCTAssertFalse(cli.output.contains("UrlS3cret"), cli.output)
            let env = try CLI.run(["list", "--builtin-steps", StepHarness.projectSteps.path], environment: ["TWISTLOCK_CONSOLE_URL": url], seconds: 20)
            XCTAssertFalse(env.output.contains("UrlS3cret"), env.output)
        }
        let sent = try await h.requests()
        XCTAssertTrue(sent.isEmpty)
        await h.stop()
    }

    /// A secret shorter than 4 characters is refused naming its key (values, `--set`, a
    /// secrets file, `secret()` in a step) — it is not masked everywhere it happens to occur.
    func testSecretsShorterThanFourCharactersAreRefusedNamingTheKey() async throws {
        let h = try await StepHarness.start()
        let short = try await h.run(sets: ["monitoring.enabled=true", "monitoring.password=ab1"])
        XCTAssertEqual(short.report.exitCode, 2, short.output)
        XCTAssertTrue(short.report.problems.contains { $0.hasPrefix("monitoring.password:") && $0.contains("fewer than 4") },
                      "\(short.report.problems)")
        let user = try await h.run(values: "console:\n  additionalUsers:\n    - {username: bob, role: auditor, password: \"x1\"}\n")
        XCTAssertEqual(user.report.exitCode, 2, user.output)
        XCTAssertTrue(user.report.problems.contains { $0.hasPrefix("console.additionalUsers[0].password:") }, "\(user.report.problems)")
        // A file in the secrets directory.
        try "abc\n".write(to: h.secretsDir.appendingPathComponent("console.license"), atomically: true, encoding: .utf8)
        let file = try await h.run()
        XCTAssertEqual(file.report.exitCode, 2, file.output)
        XCTAssertTrue(file.report.problems.contains { $0.hasPrefix("console.license:") }, "\(file.report.problems)")
        try h.licenseKey.write(to: h.secretsDir.appendingPathComponent("console.license"), atomically: true, encoding: .utf8)
        // secret() in a step.
        try "ab".write(to: h.secretsDir.appendingPathComponent("step-token"), atomically: true, encoding: .utf8)
        let step = try Hardening.customStep(h, name: "short-secret", after: "license", lua: """
        local s = secret("step-token")
        log.info("never here %s", s)
        """)
        let run = try await h.run(extraStepsDirs: [step])
        XCTAssertEqual(run.step("short-secret")?.status, .failed, run.output)
        XCTAssertTrue(run.step("short-secret")?.error?.contains("step-token") ?? false, run.output)
        XCTAssertFalse(run.output.contains("never here"), run.output)
        await h.stop()
    }

    /// Control characters from a step, from the console and from values never make a line of
    /// their own: newlines, carriage returns, ESC, NUL, C1 controls, Unicode line separators
    /// and bidi overrides are escaped in text output; JSON lines stay one valid object each.
    func testControlCharactersFromStepsConsoleAndValuesCannotForgeLines() async throws {
        let h = try await StepHarness.start()
        // A user made by hand whose name carries a forged line and terminal controls.
        let signup = try await h.send("POST", "/api/v1/signup", ["username": .string(StepHarness.adminUser),
                                                                 "password": .string(StepHarness.adminPassword)])
        XCTAssertEqual(signup, 200)
        let evil = "evil\n  ✔ [users] FORGED-CONSOLE\u{1B}[2K\r\u{202E}\u{2028}\u{0}\u{85}"
        _ = try await h.api("POST", "users", ["username": .string(evil), "password": "Evil-Pa55word-x", "role": "auditor", "authType": "basic"])
        let step = try Hardening.customStep(h, name: "forger", after: "license", lua: #"""
        log.info("one\n  ✔ [admin] FORGED-STEP done\r\27[31mred\0nul\u{202E}rtl\u{2066}iso\u{2029}sep")
        for _, u in ipairs(console.get("users")) do log.info("user %s", u.username) end
        print("printed\n  ✔ FORGED-PRINT")
        error("failed\n  ✔ [forger] FORGED-ERROR done")
        """#)
        let values = "console:\n  additionalUsers:\n    - {username: ok, authType: ldap, role: \"weird\\n  ✔ FORGED-VALUE\\u001b[0m\"}\n"
        for format in [LogFormat.text, .json] {
            var run = try await h.run(extraStepsDirs: [step], logFormat: format)
            XCTAssertEqual(run.step("forger")?.status, .failed, run.output)
            // A role with control characters is refused before any step (ValueFormats); the
            // problem quoting it is one line too.
            let refused = try await h.run(values: values, extraStepsDirs: [step], logFormat: format)
            XCTAssertEqual(refused.report.exitCode, 2, refused.output)
            run = StepHarness.Run(report: run.report, lines: run.lines + refused.lines)
            for line in run.lines {
                XCTAssertFalse(line.contains("\n") || line.contains("\r") || line.contains("\u{1B}") || line.contains("\u{0}")
                               || line.unicodeScalars.contains { [0x202E, 0x2066, 0x2028, 0x2029, 0x85].contains($0.value) },
                               "\(format): \(line.debugDescription)")
                if format == .json { XCTAssertNoThrow(try JSON.parse(line), line) }
            }
            for forged in ["FORGED-STEP", "FORGED-CONSOLE", "FORGED-PRINT", "FORGED-ERROR", "FORGED-VALUE"] {
                XCTAssertTrue(run.lines.contains { $0.contains(forged) }, "\(format): \(forged) not shown at all:\n\(run.output)")
                XCTAssertFalse(run.lines.contains { $0.hasPrefix("  ✔ [") && $0.contains(forged) && !$0.contains("\\n") },
                               "\(format): \(forged) made a line of its own")
            }
        }
        // The text form shows what was there.
        XCTAssertEqual(TextSafety.escape("a\nb\r\u{1B}[0m\u{0}\u{202E}\tz"), "a\\nb\\r\\u{1B}[0m\\0\\u{202E}\tz")
        XCTAssertEqual(TextSafety.escapeJSONLine(JSON.quote("x\u{202E}y\u{85}")), "\"x\\u202Ey\\u0085\"")
        await h.stop()
    }
}
