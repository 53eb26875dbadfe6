import ConsoleSimulator
import Foundation
import JSONModel
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

final class StateAndCLITests: XCTestCase {
    /// Configures a console over HTTP the way the job would.
    func configure(_ client: SimClient) async throws {
        var r = try await client.send("POST", "users", json: ["username": "ops", "password": "Ops-Passw0rd-123!", "role": "operator"])
        XCTAssertEqual(r.status, 200, r.text)
        r = try await client.send("POST", "groups", json: ["groupName": "sso-admins", "role": "admin", "oidcGroup": true])
        XCTAssertEqual(r.status, 200, r.text)
        let key = SimulatorLicense.makeKey(customer: "state-test", expires: Date(timeIntervalSince1970: 1_950_000_000))
        r = try await client.send("POST", "settings/license", json: ["key": .string(key)])
        XCTAssertEqual(r.status, 200, r.text)
        var policy = try await client.getJSON("policies/runtime/container")
        var rules = policy["rules"]?.arrayValue ?? []
        var rule = rules[0]
        rule["name"] = "Default"
        rule["customRules"] = [["_id": 15, "action": "incident", "effect": "alert"]]
        rules.insert(rule, at: 0)
        policy["rules"] = .array(rules)
        r = try await client.send("PUT", "policies/runtime/container", json: policy)
        XCTAssertEqual(r.status, 200, r.text)
    }

    func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("console-sim-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    func testStateRoundTripThroughAFile() async throws {
        let dir = try temporaryDirectory()
        let file = dir.appendingPathComponent("state.json")
        var saved = JSON.null
        try await withSimulator(initialize: true) { sim, client in
            try await configure(client)
            let served = try await client.raw("GET", "/sim/state")
            XCTAssertEqual(served.status, 200)
            try Data(served.body).write(to: file)
            saved = try XCTUnwrap(served.json)
            XCTAssertEqual(saved, sim.stateJSON)
        }
        XCTAssertFalse(String(decoding: try Data(contentsOf: file), as: UTF8.self).contains(adminPassword))

        var options = SimulatorOptions()
        options.initialState = try JSON.parse(String(decoding: try Data(contentsOf: file), as: UTF8.self))
        try await withSimulator(options) { sim, client in
            XCTAssertEqual(sim.stateJSON, saved)
            var authed = client
            authed.auth = SimClient.basic(adminUser, adminPassword)
            let initialized = try await client.getJSON("settings/initialized")
            XCTAssertEqual(initialized, ["initialized": true])
            let rules = try await authed.getJSON("policies/runtime/container")
            XCTAssertEqual(rules["rules"]?[0]?["name"], "Default")
            let license = try await authed.getJSON("settings/license")
            XCTAssertEqual(license["customer_id"], "state-test")
            var ops = client
            ops.auth = SimClient.basic("ops", "Ops-Passw0rd-123!")
            let opsRead = try await ops.get("settings/logging")
            XCTAssertEqual(opsRead.status, 200)

            // PUT /sim/state loads a hand-written partial state over a fresh console.
            let partial = #"{"initialized": true, "users": [{"username": "root", "role": "admin", "authType": "basic", "passwordHash": "\#(ConsoleSimulator.passwordHash("Root-Passw0rd!"))"}]}"#
            let put = try await client.raw("PUT", "/sim/state", partial)
            XCTAssertEqual(put.status, 200, put.text)
            var root = client
            root.auth = SimClient.basic("root", "Root-Passw0rd!")
            let rootRead = try await root.get("settings/license")
            XCTAssertEqual(rootRead.status, 200)
            XCTAssertNil(sim.state.license)
            let bad = try await client.raw("PUT", "/sim/state", #"{"users": [{"username": "x", "password": "clear"}]}"#)
            XCTAssertEqual(bad.status, 400, "clear passwords are refused")
        }

        var broken = SimulatorOptions()
        broken.initialState = ["initialized": true, "users": []]
        do {
            _ = try await ConsoleSimulator(options: broken).start()
            XCTFail("an initialized state without an admin must not start")
        } catch {}
    }

    // MARK: The executable

    var executable: URL? { BuiltProduct.find("twistlock-console-sim") }

    /// Runs the executable; returns its stdout lines (all of them when `untilLines` is nil).
    func run(_ arguments: [String]) throws -> (Int32, String) {
        guard let exe = executable else { throw XCTSkip("twistlock-console-sim is not built next to the tests") }
        let p = Process()
        p.executableURL = exe
        p.arguments = arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func testLicenseKeyCommand() throws {
        var (status, out) = try run(["license-key", "--customer", "acme", "--expires", "2031-05-01"])
        XCTAssertEqual(status, 0)
        var license = try SimulatorLicense.parse(out.trimmingCharacters(in: .whitespacesAndNewlines))
        XCTAssertEqual(license.customerID, "acme")
        XCTAssertEqual(ISO8601DateFormatter().string(from: license.expirationDate), "2031-05-01T00:00:00Z")

        (status, out) = try run(["license-key", "--expires", "2020-01-01T00:00:00Z"])
        XCTAssertEqual(status, 0)
        license = try SimulatorLicense.parse(out.trimmingCharacters(in: .whitespacesAndNewlines))
        XCTAssertLessThan(license.expirationDate, Date())

        (status, _) = try run(["license-key", "--expires", "someday"])
        XCTAssertNotEqual(status, 0)
    }

    func testServeCommandPrintsURLFirstAndLoadsState() async throws {
        guard let exe = executable else { throw XCTSkip("twistlock-console-sim is not built next to the tests") }
        let dir = try temporaryDirectory()
        let file = dir.appendingPathComponent("state.json")
        var saved = JSON.null
        try await withSimulator(initialize: true) { _, client in
            try await configure(client)
            let served = try await client.raw("GET", "/sim/state")
            try Data(served.body).write(to: file)
            saved = try XCTUnwrap(served.json)
        }

        let p = Process()
        p.executableURL = exe
        p.arguments = ["--port", "0", "--state", file.path, "--catalog-size", "1000"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer {
            if p.isRunning {
                kill(p.processIdentifier, SIGTERM)
                p.waitUntilExit()
            }
        }
        let firstLine = try await Self.readLine(out.fileHandleForReading, timeout: 20)
        let url = try XCTUnwrap(URL(string: firstLine))
        XCTAssertTrue(firstLine.range(of: #"^http://127\.0\.0\.1:[0-9]+$"#, options: .regularExpression) != nil, firstLine)

        var client = SimClient(base: url)
        client.auth = SimClient.basic(adminUser, adminPassword)
        let license = try await client.getJSON("settings/license")
        XCTAssertEqual(license["customer_id"], "state-test")
        let catalog = try await client.getJSON("static/vulnerabilities")
        XCTAssertEqual(catalog["complianceVulnerabilities"]?.arrayValue?.count, 1000)
        let state = try await client.raw("GET", "/sim/state")
        XCTAssertEqual(state.json, saved)

        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
    }

    static func readLine(_ handle: FileHandle, timeout: TimeInterval) async throws -> String {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<String, Error>) in
            DispatchQueue.global().async {
                var buffer = Data()
                let deadline = Date().addingTimeInterval(timeout)
                while Date() < deadline {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    buffer.append(chunk)
                    if let nl = buffer.firstIndex(of: 0x0A) {
                        c.resume(returning: String(decoding: buffer[..<nl], as: UTF8.self))
                        return
                    }
                }
                c.resume(throwing: HTTPTestError.malformedResponse("no first line: \(String(decoding: buffer, as: UTF8.self))"))
            }
        }
    }

    // MARK: TLS

    func testServesHTTPSFromPEMFiles() async throws {
        let curl = "/usr/bin/curl"
        guard OpenSSL.isAvailable, FileManager.default.isExecutableFile(atPath: curl) else {
            throw XCTSkip("needs openssl and curl to make and check a certificate")
        }
        let dir = try temporaryDirectory()
        let cert = dir.appendingPathComponent("cert.pem").path, key = dir.appendingPathComponent("key.pem").path
        try OpenSSL.run(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"])

        var options = SimulatorOptions()
        options.tlsCertificatePath = cert
        options.tlsKeyPath = key
        let sim = ConsoleSimulator(options: options)
        let url = try await sim.start()
        XCTAssertEqual(url.scheme, "https")
        func curlStatus(_ extra: [String]) throws -> String {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: curl)
            p.arguments = ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10"] + extra + [url.absoluteString + "/api/v1/_ping"]
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            try p.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }
        let verified = try curlStatus(["--cacert", cert])
        let unverified = try curlStatus([])
        await sim.stop()
        XCTAssertEqual(verified, "200")
        XCTAssertEqual(unverified, "000", "an untrusted certificate fails verification")
    }
}
