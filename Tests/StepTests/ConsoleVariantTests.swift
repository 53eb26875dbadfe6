import ConsoleSimulator
import Foundation
import JSONModel
import KubeSimulator
import TwistlockInit
import XCTest

/// The whole job (every step on, defenders against the Kubernetes simulator) against each
/// console variant alone and against all of them at once (issue 12, docs/reliability.md
/// "Console variants"): the first run ends in the documented state, the second writes nothing
/// but the license key. Each variant shares one simulator for its runs.
final class ConsoleVariantTests: XCTestCase {
    /// The variants a test below runs the whole job against (every non-default one of the
    /// registry must be here).
    static let exercised: Set<String> = [
        "license-null", "license-empty", "zero-filled", "sso-groups-hidden", "duplicate-400", "duplicate-500",
        "group-put-lastmodified", "session-timeout", "lenient-roles", "strict-policy",
    ]

    func testEveryVariantOfTheRegistryIsExercisedAndListed() throws {
        let registry = Set(ConsoleVariants.all.filter { !$0.isDefault }.map(\.name))
        XCTAssertEqual(registry.subtracting(Self.exercised), [], "variants no test runs the job against")
        let listing = ConsoleVariants.listing()
        for v in ConsoleVariants.all {
            XCTAssertTrue(listing.contains("\(v.name)\(v.isDefault ? " (default)" : ""): "), v.name)
            XCTAssertFalse(v.evidence.isEmpty, v.name)
        }
        for f in ConsoleVariants.families {
            XCTAssertTrue(listing.contains("  default: \(f.defaultAnswer)"), f.name)
        }
        // Two answers to one question, or a name nobody knows, are refused naming them.
        XCTAssertThrowsError(try ConsoleVariants.resolve(["license-null", "license-empty"])) { e in
            XCTAssertTrue("\(e)".contains("license-null and license-empty"), "\(e)")
        }
        XCTAssertThrowsError(try ConsoleVariants.resolve(["duplicate-409"])) { e in
            XCTAssertTrue("\(e)".contains("unknown console variant \"duplicate-409\""), "\(e)")
        }
        XCTAssertEqual(try ConsoleVariants.resolve(ConsoleVariants.names(fromText: "license-object # the default\nzero-filled, strict-policy\n")),
                       ["zero-filled", "strict-policy"])
    }

    // MARK: - The whole job, first run and re-run

    /// Starts a console with `variants` (and the Kubernetes simulator), runs the whole job twice.
    /// Returns the harness (the caller stops it) after asserting the documented end state and
    /// that the second run wrote nothing but the license key.
    @discardableResult
    func assertWholeJob(_ variants: [String], state: JSON? = nil, faults: [JSON] = [],
                        file: StaticString = #filePath, line: UInt = #line) async throws -> StepHarness {
        var options = SimulatorOptions()
        options.catalogSize = ComplianceCatalog.minimumSize
        options.variants = variants
        options.initialState = state
        let h = try await Hardening.start(kube: true, options: options)
        XCTAssertEqual(h.sim.variants, variants.sorted(), file: file, line: line)
        if !faults.isEmpty { try await h.setFaults(faults) }
        let first = try await h.run(values: Hardening.values(defenders: true))
        XCTAssertEqual(first.report.exitCode, 0, "\(variants) first run: \(first.output)", file: file, line: line)
        let after = try await h.state()
        Hardening.assertConfigured(after, file: file, line: line)
        XCTAssertEqual(after["daemonSetsGenerated"]?.intValue ?? 0 > 0, true, file: file, line: line)
        let findings = try await h.findings()
        XCTAssertEqual(findings, [], "\(variants): requests the console would not take as meant", file: file, line: line)
        XCTAssertEqual(first.report.writes.flatMap(\.notKept).map(\.path), [],
                       "\(variants): a false 'not kept' on the first run: \(first.output)", file: file, line: line)
        XCTAssertFalse(first.output.contains("not kept by the console"), first.output, file: file, line: line)

        try await h.clearFaults()
        try await h.clearRequests()
        let second = try await h.run(values: Hardening.values(defenders: true))
        XCTAssertEqual(second.report.exitCode, 0, "\(variants) second run: \(second.output)", file: file, line: line)
        let writes = try await h.writeEndpoints()
        XCTAssertEqual(writes, ["POST settings/license"], "\(variants): the second run wrote: \(second.output)", file: file, line: line)
        let final = try await h.state()
        Hardening.assertConfigured(final, file: file, line: line)
        return h
    }

    func testLicenseVariantsWithoutAKeyStopWithTheNoLicenseMessageAndWithOneTheJobCompletes() async throws {
        for variant in ["license-null", "license-empty", "license-object"] {
            var options = SimulatorOptions()
            options.variants = [variant]
            let h = try await StepHarness.start(options: options, license: false)
            for strict in [false, true] {
                let run = try await h.run(strict: strict)
                XCTAssertEqual(run.report.exitCode, strict ? 3 : 0, "\(variant) strict \(strict): \(run.output)")
                XCTAssertEqual(run.step("license")?.status, .stopped, "\(variant): \(run.output)")
                XCTAssertTrue(run.report.stopMessage?.contains("no license is installed on the console") ?? false,
                              "\(variant): \(run.report.stopMessage ?? run.output)")
            }
            await h.stop()
            if variant != "license-object" { await (try await assertWholeJob([variant])).stop() }
        }
    }

    func testZeroFilledAnswersNeitherMakeASecondRunWriteNorLookNotKept() async throws {
        let h = try await assertWholeJob(["zero-filled"])
        // The console really answers zero values: a group carries every field of types.Group.
        let (status, groups) = try await h.api("GET", "groups")
        XCTAssertEqual(status, 200)
        let g = groups?.arrayValue?.first { $0["groupName"]?.stringValue == "platform-admins" }
        XCTAssertEqual(g?["oauthGroup"]?.boolValue, false, "\(g?.encoded() ?? "")")
        XCTAssertEqual(g?["groupId"]?.stringValue, "", "\(g?.encoded() ?? "")")
        await h.stop()
    }

    func testHiddenSSOGroupsAreNotCreatedTwice() async throws {
        for duplicate in ["", "duplicate-400", "duplicate-500"] {
            let variants = ["sso-groups-hidden"] + (duplicate.isEmpty ? [] : [duplicate])
            let h = try await assertWholeJob(variants)
            let (_, listed) = try await h.api("GET", "groups")
            XCTAssertFalse((listed?.arrayValue ?? []).contains { $0["groupName"]?.stringValue == "platform-admins" },
                           "an OIDC group is hidden from GET groups")
            let again = try await h.run(values: Hardening.values(defenders: true))
            XCTAssertEqual(again.report.exitCode, 0, again.output)
            XCTAssertTrue(again.output.contains("group platform-admins exists on the console but GET groups does not list it"), again.output)
            await h.stop()
        }
    }

    func testDuplicateStatusesForAUserMadeMeanwhile() async throws {
        // A user the job's GET users did not see (made between its read and its POST) is taken
        // as existing, whatever the status the console answers "already exists" with.
        for duplicate in ["duplicate-400", "duplicate-500"] {
            let h = try await assertWholeJob([duplicate])
            let lua = """
            local res = console.request{method = "POST", path = "users", body = {username = "alice", role = "auditor", authType = "basic", password = "x-Y-1234567890"}}
            assert(res.status ~= 409, "the variant answers " .. tostring(res.status))
            local identity = require("identity")
            local created = identity.create("users", {username = "alice", role = "auditor"}, {object = "user alice"})
            assert(created == false, "alice exists")
            log.info("status %d", res.status)
            """
            let dir = try Hardening.customStep(h, name: "dup", after: "users", lua: lua)
            let run = try await h.run(values: Hardening.values(defenders: true), extraStepsDirs: [dir])
            XCTAssertEqual(run.report.exitCode, 0, run.output)
            XCTAssertTrue(run.output.contains("status \(duplicate == "duplicate-400" ? 400 : 500)"), run.output)
            await h.stop()
        }
    }

    func testGroupPutWithLastModifiedRestoresAGroupChangedByHand() async throws {
        let h = try await assertWholeJob(["group-put-lastmodified"])
        // A PUT without the stored lastModified is refused as the docs say.
        let (status, answer) = try await h.api("PUT", "groups/platform-admins", ["groupName": "platform-admins", "role": "auditor", "oidcGroup": true])
        XCTAssertEqual(status, 400)
        XCTAssertEqual(answer?["err"]?.stringValue, "group platform-admins already exists")
        // By hand (with lastModified): the role changes; the job brings it back.
        let (_, groups) = try await h.api("GET", "groups")
        guard var g = groups?.arrayValue?.first(where: { $0["groupName"]?.stringValue == "platform-admins" }) else {
            return XCTFail("no group")
        }
        g["role"] = "auditor"
        let (s2, _) = try await h.api("PUT", "groups/platform-admins", g)
        XCTAssertEqual(s2, 200)
        let run = try await h.run(values: Hardening.values(defenders: true))
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        let after = try await h.state()
        XCTAssertEqual(after["groups"]?.arrayValue?.first { $0["groupName"]?.stringValue == "platform-admins" }?["role"]?.stringValue, "admin")
        await h.stop()
    }

    func testSessionTimeoutMidRunLogsInAgain() async throws {
        // Tokens last 2 s; one answer takes 2.5 s, so the token in use expires mid-run.
        let state: JSON = ["settings": ["logon": ["sessionTimeoutSec": 2, "basicAuthDisabled": false, "strongPassword": false,
                                                  "includeTLS": false, "useSupportCredentials": false]]]
        let h = try await assertWholeJob(["session-timeout"], state: state,
                                         faults: [["kind": "delay", "delayMs": 2500, "method": "GET", "path": "policies/runtime/host", "count": 1]])
        // The first run met an expired token and logged in again (the requests were cleared
        // after it, so look at the console's answers of the second run too: none failed).
        await h.stop()
    }

    func testSessionTimeoutExpiredTokenIsAnsweredAndTheClientLogsInAgain() async throws {
        var options = SimulatorOptions()
        options.variants = ["session-timeout"]
        options.initialState = ["settings": ["logon": ["sessionTimeoutSec": 1]]]
        let h = try await StepHarness.start(options: options)
        try await h.setFaults([["kind": "delay", "delayMs": 1500, "method": "GET", "path": "settings/license", "count": 1]])
        let run = try await h.run()
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        let requests = h.sim.requests
        XCTAssertTrue(requests.contains { $0.status == 401 }, "no token expired: \(requests.map { "\($0.method) \($0.endpoint) \($0.status)" })")
        XCTAssertGreaterThanOrEqual(requests.filter { $0.endpoint == "authenticate" }.count, 2)
        await h.stop()
    }

    func testLenientRolesTakeACustomRoleAndTheDefaultConsoleRefusesItNamingTheStep() async throws {
        let extra = "console:\n  additionalUsers:\n    - {username: dave, role: cloudAccountManager, authType: ldap}\n"
        let h = try await assertWholeJob(["lenient-roles"])
        let run = try await h.run(values: extra)
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        let users = try await h.state()["users"]?.arrayValue ?? []
        XCTAssertEqual(users.first { $0["username"]?.stringValue == "dave" }?["role"]?.stringValue, "cloudAccountManager")
        await h.stop()
        let strict = try await StepHarness.start()
        let refused = try await strict.run(values: extra)
        XCTAssertEqual(refused.report.exitCode, 1, refused.output)
        let error = refused.step("users")?.error ?? ""
        XCTAssertTrue(error.hasPrefix("step \"users\": "), error)
        XCTAssertTrue(error.contains("400 Bad Request: invalid role cloudAccountManager"), error)
        await strict.stop()
    }

    func testStrictPolicyTakesTheJobsRulesAndRefusesRulesWithoutCollectionsUnknownEffectsOrThresholds() async throws {
        let h = try await assertWholeJob(["strict-policy"])
        let (_, images) = try await h.api("GET", "policies/vulnerability/images")
        guard case .object(var policy)? = images, case .array(let rules)? = policy["rules"], case .object(let rule)? = rules.first else {
            return XCTFail("no images policy")
        }
        for (field, value, message) in [("collections", JSON.array([]), "at least one collection"),
                                        ("effect", JSON.string("quarantine"), "invalid effect"),
                                        ("alertThreshold", JSON.object(["disabled": false, "value": 11]), "outside 0-10")] {
            var r = rule
            r[field] = value
            policy["rules"] = .array([.object(r)] + rules.dropFirst())
            let (status, answer) = try await h.api("PUT", "policies/vulnerability/images", .object(policy))
            XCTAssertEqual(status, 400, field)
            XCTAssertTrue(answer?["err"]?.stringValue?.contains(message) ?? false, "\(field): \(answer?.encoded() ?? "")")
        }
        await h.stop()
    }

    func testAllVariantsAtOnce() async throws {
        let alternatives = ConsoleVariants.families.compactMap { f in
            ConsoleVariants.all.last { $0.family == f.name && !$0.isDefault }?.name
        }
        let state: JSON = ["settings": ["logon": ["sessionTimeoutSec": 2]]]
        for set in [ConsoleVariants.allCompatible, alternatives] {
            let h = try await assertWholeJob(set, state: state,
                                             faults: [["kind": "delay", "delayMs": 2500, "method": "GET", "path": "policies/runtime/host", "count": 1]])
            await h.stop()
        }
    }
}
