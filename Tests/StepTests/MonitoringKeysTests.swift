import ConsoleSimulator
import Foundation
import JobConfig
import JSONModel
import TwistlockInit
import XCTest

/// The monitoring keys the old Big Bang job honoured, end to end against the simulated console:
/// the metrics user's default name (`bigbang-metrics-sa` for Big Bang values), its name and
/// password from an existing Secret's keys (mounted as the secret files `monitoring.username`
/// and `monitoring.password`), and the ServiceMonitor's keys accepted without a warning.
final class MonitoringKeysTests: XCTestCase {
    static let bigBangValues = BigBangValuesTests.bigBangValues
    static let password = "Metr1cs-Pa55-monitoring"
    static let steps = ["wait", "admin", "license", "metrics-user"]

    func usernames(_ h: StepHarness) async throws -> [String] {
        try await h.state()["users"]?.arrayValue?.compactMap { $0["username"]?.stringValue } ?? []
    }

    func canLogIn(_ h: StepHarness, _ user: String, _ password: String) async throws -> Bool {
        try await h.send("POST", "/api/v1/authenticate", ["username": .string(user), "password": .string(password)]) == 200
    }

    func assertNoPassword(_ run: StepHarness.Run, _ secrets: [String] = [password],
                          file: StaticString = #filePath, line: UInt = #line) {
        for secret in secrets + [StepHarness.adminPassword] {
            XCTAssertFalse(run.output.contains(secret), "a password in the output", file: file, line: line)
            XCTAssertFalse(run.report.json.encoded().contains(secret), "a password in the report", file: file, line: line)
        }
    }

    /// The Big Bang package's values turn monitoring on: the old job's user, bigbang-metrics-sa,
    /// is the one created (not a second user next to it); values written for this job alone get
    /// twistlock-metrics; an explicit name wins either way.
    func testTheMetricsUsersDefaultNameIsTheOldJobsForBigBangValues() async throws {
        for (bigBang, username, extra, want) in [
            (true, nil, "", "bigbang-metrics-sa"),
            (false, nil, "", "twistlock-metrics"),
            (true, "twistlock-metrics", "", "twistlock-metrics"),
            (false, "bigbang-metrics-sa", "", "bigbang-metrics-sa"),
            (false, "prom", "", "prom"),
            (true, "", "", "bigbang-metrics-sa"),
            // One key only the Big Bang package reads is enough; a key this job shares is not.
            (false, nil, "bbtests: {enabled: false}\n", "bigbang-metrics-sa"),
            (false, nil, "routes: {inbound: {console: {gateways: [istio-system/main]}}}\n", "bigbang-metrics-sa"),
            (false, nil, "domain: example.mil\nistio: {enabled: false}\nroutes: {inbound: {console: {hosts: [a.example.mil]}}}\n",
             "twistlock-metrics"),
            (false, nil, "bbtests: null\n", "twistlock-metrics"),
        ] as [(Bool, String?, String, String)] {
            let name = username.map { ", username: \(JSON.quote($0))" } ?? ""
            let h = try await StepHarness.start()
            let run = try await h.run(values: "monitoring: {enabled: true, password: \(Self.password)\(name)}\n" + extra,
                                      only: Self.steps, strict: true) { options in
                if bigBang { options.valuesFiles.insert(Self.bigBangValues, at: 1) }
            }
            XCTAssertEqual(run.report.exitCode, 0, run.output)
            XCTAssertEqual(run.report.warnings, [], extra)
            XCTAssertTrue(run.output.contains("created metrics user \(want) (auditor, basic)"), "\(extra)\n\(run.output)")
            let names = try await usernames(h)
            XCTAssertTrue(names.contains(want), "\(names)")
            XCTAssertEqual(names.filter { $0 == "bigbang-metrics-sa" || $0 == "twistlock-metrics" || $0 == "prom" }, [want])
            let loggedIn = try await canLogIn(h, want, Self.password)
            XCTAssertTrue(loggedIn)
            assertNoPassword(run)
            await h.stop()
        }
    }

    /// A console the old Big Bang job configured: set up, with its metrics user
    /// bigbang-metrics-sa (another password than the values').
    static func consoleTheOldJobConfigured() async throws -> StepHarness {
        let h = try await StepHarness.start()
        _ = try await h.run(only: ["wait", "admin", "license"])
        let (status, _) = try await h.api("POST", "users", [
            "username": "bigbang-metrics-sa", "role": "auditor", "authType": "basic", "password": "Old-J0b-Random-Pa55",
        ])
        XCTAssertEqual(status, 200)
        return h
    }

    /// A console the old job configured already has bigbang-metrics-sa: with the Big Bang values a
    /// run takes it over (its password restored), and creates no twistlock-metrics.
    func testTheOldJobsMetricsUserIsTakenOver() async throws {
        let h = try await Self.consoleTheOldJobConfigured()
        let run = try await h.run(values: "monitoring: {enabled: true, password: \(Self.password)}\n", only: Self.steps) { options in
            options.valuesFiles.insert(Self.bigBangValues, at: 1)
        }
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        XCTAssertTrue(run.output.contains("restored metrics user bigbang-metrics-sa (password differs)"), run.output)
        let names = try await usernames(h)
        XCTAssertFalse(names.contains("twistlock-metrics"), "\(names)")
        let loggedIn = try await canLogIn(h, "bigbang-metrics-sa", Self.password)
        XCTAssertTrue(loggedIn)
        assertNoPassword(run, [Self.password, "Old-J0b-Random-Pa55"])
        await h.stop()
    }

    /// Plan on a console the old job configured (migrating.md, step 4): the plan names the user
    /// it would restore, writes nothing, and neither the new password nor the report carries it;
    /// a JSON log neither.
    func testThePlanNamesTheOldJobsUserAndKeepsThePasswordOut() async throws {
        let h = try await Self.consoleTheOldJobConfigured()
        try await h.clearRequests()
        for format in [LogFormat.text, .json] {
            let plan = try await h.run(values: "monitoring: {enabled: true, password: \(Self.password)}\n", mode: .plan,
                                       only: Self.steps, logFormat: format) { options in
                options.valuesFiles.insert(Self.bigBangValues, at: 1)
            }
            XCTAssertEqual(plan.report.exitCode, 0, plan.output)
            XCTAssertTrue(plan.output.contains("would restore metrics user bigbang-metrics-sa (password differs)"), plan.output)
            XCTAssertFalse(plan.output.contains("twistlock-metrics"), plan.output)
            XCTAssertTrue(plan.report.writes.allSatisfy { $0.planned })
            assertNoPassword(plan, [Self.password, "Old-J0b-Random-Pa55"])
        }
        let writes = try await h.writes()
        XCTAssertEqual(writes.count, 0, "plan sends no write: \(writes)")
        await h.stop()
    }

    /// monitoring.existingSecret with its keys: the chart mounts them as the secret files
    /// monitoring.username and monitoring.password; the files win over the values and the default
    /// name, and neither the password nor a refusal quoting it appears anywhere.
    func testTheMetricsUserFromSecretFiles() async throws {
        let h = try await StepHarness.start()
        try "prometheus-scraper\n".write(to: h.secretsDir.appendingPathComponent("monitoring.username"), atomically: true, encoding: .utf8)
        try "\(Self.password)\n".write(to: h.secretsDir.appendingPathComponent("monitoring.password"), atomically: true, encoding: .utf8)
        let run = try await h.run(values: "monitoring: {enabled: true, username: ignored-name}\n", only: Self.steps) { options in
            options.valuesFiles.insert(Self.bigBangValues, at: 1)
        }
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        XCTAssertTrue(run.output.contains("created metrics user prometheus-scraper (auditor, basic)"), run.output)
        let names = try await usernames(h)
        XCTAssertFalse(names.contains("ignored-name") || names.contains("bigbang-metrics-sa"), "\(names)")
        let loggedIn = try await canLogIn(h, "prometheus-scraper", Self.password)
        XCTAssertTrue(loggedIn)
        assertNoPassword(run)
        // The users step skips an additional user of the same name as the file's (a collision the
        // values alone could not show).
        let clash = try await h.run(values: """
            monitoring: {enabled: true}
            console: {additionalUsers: [{username: prometheus-scraper, role: admin, password: Other-Pa55-word}]}
            """, only: ["wait", "admin", "license", "users", "metrics-user"])
        XCTAssertEqual(clash.report.exitCode, 0, clash.output)
        XCTAssertTrue(clash.report.warnings.contains {
            $0.hasPrefix("console.additionalUsers[0].username: is the metrics user")
        }, "\(clash.report.warnings)")
        assertNoPassword(clash, [Self.password, "Other-Pa55-word"])
        await h.stop()
    }

    /// A missing password (no value, no file) stops the run before anything is written, naming
    /// the key and the file; a blank user name is refused, not replaced by the default.
    func testMissingOrBlankMetricsCredentialsAreRefusedBeforeAnyWrite() async throws {
        let h = try await StepHarness.start()
        for (values, key) in [
            ("monitoring: {enabled: true}\n", "monitoring.password"),
            ("monitoring: {enabled: true, password: \"\"}\n", "monitoring.password"),
            ("monitoring: {enabled: true, password: \(Self.password), username: \"  \"}\n", "monitoring.username"),
            ("monitoring: {enabled: true, password: \(Self.password), username: 42}\n", "monitoring.username"),
        ] {
            try await h.clearRequests()
            let run = try await h.run(values: values, only: Self.steps)
            XCTAssertEqual(run.report.exitCode, JobExitCode.invalidInput, values)
            XCTAssertTrue(run.report.problems.contains { $0.hasPrefix("\(key): ") }, "\(values): \(run.report.problems)")
            let sent = try await h.requests()
            XCTAssertEqual(sent.count, 0, values)
            assertNoPassword(run)
        }
        await h.stop()
    }

    /// The ServiceMonitor's keys (the chart's) and the existing Secret's key names are known keys:
    /// no warning, even under --strict, in the Big Bang umbrella's form (Istio mTLS).
    func testTheChartsMonitoringKeysAreKnown() async throws {
        let h = try await StepHarness.start()
        let run = try await h.run(values: """
            monitoring:
              enabled: true
              password: \(Self.password)
              existingSecret: ""
              usernameKey: user
              passwordKey: pass
              serviceMonitor:
                enabled: true
                scheme: https
                interval: 30s
                scrapeTimeout: 10s
                port: http-mgmt-http
                labels: {release: monitoring}
                selector: {app.kubernetes.io/name: twistlock-console}
                tlsConfig:
                  caFile: /etc/prom-certs/root-cert.pem
                  insecureSkipVerify: true
            istio: {injection: enabled}
            """, only: Self.steps, strict: true)
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        XCTAssertEqual(run.report.warnings, [])
        // A misspelt one is reported with the key meant.
        let typo = try await h.run(values: "monitoring: {serviceMonitr: {enabled: true}, usernameKy: u}\n", only: ["wait"])
        XCTAssertTrue(typo.report.warnings.contains { $0.hasPrefix("monitoring.serviceMonitr: unknown key") && $0.contains("`monitoring.serviceMonitor`") },
                      "\(typo.report.warnings)")
        XCTAssertTrue(typo.report.warnings.contains { $0.hasPrefix("monitoring.usernameKy: unknown key") && $0.contains("`monitoring.usernameKey`") },
                      "\(typo.report.warnings)")
        await h.stop()
    }
}
