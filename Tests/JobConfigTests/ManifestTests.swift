import Foundation
import JSONModel
import TestSupport
import XCTest
@testable import JobConfig

final class ManifestTests: XCTestCase {
    /// A steps directory with a manifest and (empty) Lua files.
    func stepsDir(_ root: TempDir, _ name: String, manifest: String, files: [String]) throws -> URL {
        let dir = try root.subdir(name)
        try Data(manifest.utf8).write(to: dir.appendingPathComponent("manifest.yaml"))
        for file in files {
            let url = dir.appendingPathComponent(file)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data("-- \(file)\n".utf8).write(to: url)
        }
        return dir
    }

    let project = """
    steps:
      - name: wait
        file: wait.lua
        description: Wait until the console answers
        when: init.enabled
      - name: license
        file: license.lua
        when: init.enabled
      - name: users
        file: users.lua
        description: Users
        when: console.additionalUsers
      - name: runtime-policies
        file: runtime-policies.lua
        when: {all: [policies.enabled, policies.runtime.enabled]}
    """

    func manifestProblems(_ dirs: [URL], file: StaticString = #filePath, line: UInt = #line) -> [String] {
        do {
            let steps = try Manifest.load(stepsDirs: dirs)
            XCTFail("expected manifest errors, got \(steps.map(\.name))", file: file, line: line)
            return []
        } catch let error as ManifestError {
            return error.problems.map(\.description)
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
            return []
        }
    }

    func testProjectManifestInOrder() throws {
        let root = try TempDir()
        let dir = try stepsDir(root, "steps", manifest: project,
                               files: ["wait.lua", "license.lua", "users.lua", "runtime-policies.lua"])
        let steps = try Manifest.load(stepsDirs: [dir])
        XCTAssertEqual(steps.map(\.name), ["wait", "license", "users", "runtime-policies"])
        XCTAssertEqual(steps[0].description, "Wait until the console answers")
        XCTAssertEqual(steps[1].description, "")
        XCTAssertEqual(steps[0].file.path, dir.appendingPathComponent("wait.lua").standardizedFileURL.path)
        XCTAssertEqual(steps[0].origin.path, dir.standardizedFileURL.path)
        XCTAssertEqual(steps[0].when, .path("init.enabled"))
        XCTAssertEqual(steps[3].when, .all([.path("policies.enabled"), .path("policies.runtime.enabled")]))
    }

    func testFragmentsBeforeAfterAndEnd() throws {
        let root = try TempDir()
        let base = try stepsDir(root, "steps", manifest: project,
                                files: ["wait.lua", "license.lua", "users.lua", "runtime-policies.lua"])
        let first = try stepsDir(root, "ops1", manifest: """
        steps:
          - {name: audit-a, file: a.lua, after: license}
          - {name: banner, file: banner.lua}
          - {name: audit-b, file: b.lua, after: license}
          - {name: pre-1, file: p1.lua, before: users}
          - {name: pre-2, file: p2.lua, before: users}
          - {name: after-own, file: own.lua, after: banner}
        """, files: ["a.lua", "banner.lua", "b.lua", "p1.lua", "p2.lua", "own.lua"])
        let second = try stepsDir(root, "ops2", manifest: """
        steps:
          - {name: audit-c, file: lib/c.lua, after: license, when: {not: policies.enabled}}
          - {name: before-banner, file: bb.lua, before: banner}
          - {name: last, file: last.lua}
        """, files: ["lib/c.lua", "bb.lua", "last.lua"])
        let steps = try Manifest.load(stepsDirs: [base, first, second])
        XCTAssertEqual(steps.map(\.name), [
            "wait", "license", "audit-a", "audit-b", "audit-c", "pre-1", "pre-2", "users", "runtime-policies",
            "before-banner", "banner", "after-own", "last",
        ])
        XCTAssertEqual(steps.first { $0.name == "audit-c" }?.origin.path, second.standardizedFileURL.path)
        XCTAssertEqual(steps.first { $0.name == "audit-c" }?.when, .not(.path("policies.enabled")))
        XCTAssertEqual(steps.first { $0.name == "banner" }?.when, .always)
    }

    func testEachManifestErrorIsReportedWithFileAndStep() throws {
        let root = try TempDir()
        let base = try stepsDir(root, "steps", manifest: """
        steps:
          - {name: wait, file: wait.lua, when: init.enabled}
          - {name: wait, file: wait.lua}
          - {name: Bad_Name, file: wait.lua}
          - {name: gone, file: gone.lua}
          - {name: escape, file: ../outside.lua}
          - {name: absolute, file: /etc/passwd.lua}
          - {name: extra, file: wait.lua, timeout: 5}
          - {name: anchored, file: wait.lua, after: wait}
          - {name: nofile}
          - {name: when-number, file: wait.lua, when: 5}
          - {name: when-two, file: wait.lua, when: {all: [a], any: [b]}}
          - {name: when-op, file: wait.lua, when: {every: [a]}}
          - {name: when-empty, file: wait.lua, when: {all: []}}
          - {name: when-path, file: wait.lua, when: "a..b"}
          - {file: wait.lua}
        """, files: ["wait.lua"])
        try root.write("outside.lua", "-- outside\n")
        let fragment = try stepsDir(root, "ops", manifest: """
        steps:
          - {name: wait, file: x.lua}
          - {name: both, file: x.lua, before: wait, after: wait}
          - {name: nowhere, file: x.lua, after: no-such-step}
          - {name: self, file: x.lua, before: self}
        """, files: ["x.lua"])
        let m = base.appendingPathComponent("manifest.yaml").path
        let f = fragment.appendingPathComponent("manifest.yaml").path
        let found = manifestProblems([base, fragment])
        let expected = [
            "\(m): step \"wait\": listed twice in this manifest",
            "\(m): step \"Bad_Name\": bad name (use lower-case letters, digits and \"-\", starting with a letter or digit, at most 63)",
            "\(m): step \"gone\": file \"gone.lua\" does not exist in \(base.path)",
            "\(m): step \"escape\": file \"../outside.lua\" is outside its steps directory \(base.path)",
            "\(m): step \"absolute\": file \"/etc/passwd.lua\" must be relative to the steps directory",
            "\(m): step \"extra\": unknown field \"timeout\" (allowed: description, file, name, when)",
            "\(m): step \"anchored\": \"after\" is only for operators' manifests (given with --steps-dir); order the project's steps by their place in the list",
            "\(m): step \"nofile\": no file",
            "\(m): step \"when-number\": when: expected a values path (a string such as policies.enabled) or a mapping with all, any or not; got integer 5",
            "\(m): step \"when-two\": when: a mapping must have exactly one of all, any, not (found all, any)",
            "\(m): step \"when-op\": when: unknown operator \"every\" (use all, any or not)",
            "\(m): step \"when-empty\": when: all needs a non-empty list of conditions",
            "\(m): step \"when-path\": when: bad values path: empty key in \"a..b\"",
            "\(m): step \"#15\": no name",
            "\(f): step \"wait\": duplicate step name (also in \(m))",
            "\(f): step \"both\": has both before and after; give one",
            "\(f): step \"nowhere\": unknown step \"no-such-step\" in after (it must name a step of the project's manifest, an earlier --steps-dir, or an earlier entry here)",
            "\(f): step \"self\": unknown step \"self\" in before (it must name a step of the project's manifest, an earlier --steps-dir, or an earlier entry here)",
        ]
        for message in expected {
            XCTAssertTrue(found.contains(message), "missing: \(message)\nfound:\n\(found.joined(separator: "\n"))")
        }
        XCTAssertEqual(found.count, expected.count, found.joined(separator: "\n"))
    }

    func testLinkOutOfTheDirectoryIsRefused() throws {
        let root = try TempDir()
        try root.write("elsewhere.lua", "-- x\n")
        let dir = try stepsDir(root, "steps", manifest: "steps:\n  - {name: linked, file: linked.lua}\n", files: [])
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("linked.lua").path,
                                                   withDestinationPath: root.url.appendingPathComponent("elsewhere.lua").path)
        let found = manifestProblems([dir])
        XCTAssertEqual(found.count, 1)
        XCTAssertTrue(found[0].contains("is outside its steps directory"), found[0])
    }

    func testMissingOrMalformedManifest() throws {
        let root = try TempDir()
        let empty = try root.subdir("empty")
        XCTAssertEqual(manifestProblems([empty]),
                       ["\(empty.appendingPathComponent("manifest.yaml").path): no manifest.yaml in the steps directory \(empty.path)"])
        let listTop = try stepsDir(root, "list", manifest: "- a\n", files: [])
        XCTAssertEqual(manifestProblems([listTop]),
                       ["\(listTop.appendingPathComponent("manifest.yaml").path): expected a mapping with a \"steps\" list"])
        let extraTop = try stepsDir(root, "extra", manifest: "steps: []\nversion: 2\n", files: [])
        XCTAssertEqual(manifestProblems([extraTop]),
                       ["\(extraTop.appendingPathComponent("manifest.yaml").path): unknown top-level key \"version\" (only \"steps\")"])
        let notYAML = try stepsDir(root, "bad", manifest: "steps: [\n", files: [])
        let found = manifestProblems([notYAML])
        XCTAssertEqual(found.count, 1)
        XCTAssertTrue(found[0].hasPrefix("\(notYAML.appendingPathComponent("manifest.yaml").path): is not valid YAML: line"), found[0])
    }

    func testUnknownWhenPathsAreReportedTogether() throws {
        let root = try TempDir()
        let dir = try stepsDir(root, "steps", manifest: """
        steps:
          - {name: one, file: one.lua, when: policies.runtme.enabled}
          - {name: two, file: two.lua, when: {any: [console.externalHost, domain, Policies.Enabled]}}
          - {name: three, file: three.lua, when: {not: myteam.feature}}
          - {name: four, file: four.lua, when: custom.flag}
        """, files: ["one.lua", "two.lua", "three.lua", "four.lua"])
        let steps = try Manifest.load(stepsDirs: [dir])
        let values = try loadValues(["custom: {flag: true}\ndomain: null\n"])
        let found = validateConditions(steps, values: values).map(\.description)
        let m = dir.standardizedFileURL.appendingPathComponent("manifest.yaml").path
        XCTAssertEqual(found, [
            "policies.runtme.enabled: step \"one\" (\(m)): when names a values key that does not exist; did you mean policies.runtime.enabled?",
            "Policies.Enabled: step \"two\" (\(m)): when names a values key that does not exist; did you mean policies.enabled?",
            "myteam.feature: step \"three\" (\(m)): when names a values key that does not exist",
        ])
    }

    func testTheProjectManifestsWhenPathsAllHaveDefaults() throws {
        // The project's own manifest (its files are other modules' work; only `when` is checked here).
        let manifest = Project.steps.appendingPathComponent("manifest.yaml")
        let document = try XCTUnwrap(ValuesYAML.read(file: manifest))
        let entries = try XCTUnwrap(document["steps"]?.arrayValue)
        XCTAssertFalse(entries.isEmpty)
        for entry in entries {
            guard let when = entry["when"] else { continue }
            let condition = try Manifest.parseCondition(when)
            for path in condition.paths {
                XCTAssertNotNil(ValuePath.lookup(try ValuePath.parse(path), in: Values.defaults),
                                "\(entry["name"]?.stringValue ?? "?"): \(path) has no default")
            }
        }
    }
}

extension ManifestTests {
    func testTheProjectManifestLoadsAndItsConditionsAreKnown() throws {
        let steps = Project.steps
        let specs = try Manifest.load(stepsDirs: [steps])
        XCTAssertEqual(specs.first?.name, "wait")
        XCTAssertEqual(Set(specs.map(\.name)).count, specs.count)
        let values = try loadValues([])
        XCTAssertEqual(validateConditions(specs, values: values), [])
        // With the defaults, the gates are what docs/values.md promises.
        let gates = Dictionary(uniqueKeysWithValues: specs.map { ($0.name, $0.when.evaluate(values)) })
        XCTAssertEqual(gates["wait"], Gate(run: true, reason: "init.enabled = true"))
        XCTAssertEqual(gates["sso"], Gate(run: false, reason: "sso.enabled = false"))
        XCTAssertEqual(gates["users"], Gate(run: false, reason: "console.additionalUsers = [] (empty)"))
        XCTAssertEqual(gates["dns-san"]?.run, false)
    }
}

final class GateTests: XCTestCase {
    func testTruthinessAndReasons() throws {
        let values = try loadValues(["""
        policies: {runtime: {enabled: false}}
        console:
          externalHost: ""
          license: VERY-SECRET-LICENSE
          additionalUsers:
            - {username: a, password: pa-long, role: user}
            - {username: b, password: pb-long, role: user}
            - {username: c, password: pc-long, role: user}
        domain: example.com
        defender: {rolloutTimeoutSeconds: 3, resources: {}}
        custom: {zero: 0, float: 0.0, one: 1.5, map: {a: 1}, nothing: null, list: [x]}
        """])
        func gate(_ c: Condition) -> Gate { c.evaluate(values) }
        XCTAssertEqual(gate(.path("policies.runtime.enabled")), Gate(run: false, reason: "policies.runtime.enabled = false"))
        XCTAssertEqual(gate(.path("policies.enabled")), Gate(run: true, reason: "policies.enabled = true"))
        XCTAssertEqual(gate(.path("console.externalHost")), Gate(run: false, reason: "console.externalHost = \"\" (empty)"))
        XCTAssertEqual(gate(.path("console.groups")), Gate(run: false, reason: "console.groups = [] (empty)"))
        XCTAssertEqual(gate(.path("console.additionalUsers")), Gate(run: true, reason: "console.additionalUsers = 3 items"))
        XCTAssertEqual(gate(.path("custom.list")), Gate(run: true, reason: "custom.list = 1 item"))
        XCTAssertEqual(gate(.path("defender.resources")), Gate(run: false, reason: "defender.resources = {} (empty)"))
        XCTAssertEqual(gate(.path("custom.map")), Gate(run: true, reason: "custom.map = 1 key"))
        XCTAssertEqual(gate(.path("custom.zero")), Gate(run: false, reason: "custom.zero = 0"))
        XCTAssertEqual(gate(.path("custom.float")), Gate(run: false, reason: "custom.float = 0.0"))
        XCTAssertEqual(gate(.path("custom.one")), Gate(run: true, reason: "custom.one = 1.5"))
        XCTAssertEqual(gate(.path("custom.nothing")), Gate(run: false, reason: "custom.nothing is not set"))
        XCTAssertEqual(gate(.path("no.such.key")), Gate(run: false, reason: "no.such.key is not set"))
        XCTAssertEqual(gate(.path("domain")), Gate(run: true, reason: "domain = \"example.com\""))
        XCTAssertEqual(gate(.path("defender.rolloutTimeoutSeconds")), Gate(run: true, reason: "defender.rolloutTimeoutSeconds = 3"))
        XCTAssertEqual(gate(.path("console.license")), Gate(run: true, reason: "console.license = (a secret, set)"))

        XCTAssertEqual(gate(.all([.path("policies.enabled"), .path("policies.runtime.enabled")])),
                       Gate(run: false, reason: "all of: policies.enabled = true, policies.runtime.enabled = false"))
        XCTAssertEqual(gate(.all([.path("policies.enabled"), .path("domain")])).run, true)
        XCTAssertEqual(gate(.any([.path("console.externalHost"), .path("domain")])),
                       Gate(run: true, reason: "any of: console.externalHost = \"\" (empty), domain = \"example.com\""))
        XCTAssertEqual(gate(.any([.path("console.externalHost"), .path("console.groups")])).run, false)
        XCTAssertEqual(gate(.not(.path("policies.runtime.enabled"))),
                       Gate(run: true, reason: "not (policies.runtime.enabled = false)"))
        XCTAssertEqual(gate(.always), Gate(run: true, reason: "always"))
        XCTAssertEqual(Condition.all([.path("a"), .not(.any([.path("b"), .path("c")]))]).paths, ["a", "b", "c"])
    }
}
