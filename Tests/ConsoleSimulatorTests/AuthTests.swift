import ConsoleSimulator
import Foundation
import JSONModel
import XCTest

final class AuthTests: XCTestCase {
    func testUninitializedConsoleSignupAuthenticateAndTokenUse() async throws {
        try await withSimulator { sim, client in
            var r = try await client.get("settings/initialized")
            XCTAssertEqual(r.status, 200)
            XCTAssertEqual(r.json, ["initialized": false])
            XCTAssertFalse(sim.state.initialized)

            // Nothing authenticates before the first admin exists.
            r = try await client.send("POST", "authenticate", json: ["username": .string(adminUser), "password": .string(adminPassword)])
            XCTAssertEqual(r.status, 401)

            r = try await client.send("POST", "signup", json: ["username": .string(adminUser), "password": .string(adminPassword)])
            XCTAssertEqual(r.status, 200, r.text)
            let v1 = try await client.get("settings/initialized")
            XCTAssertEqual(v1.json, ["initialized": true])

            // Signup is only valid once.
            r = try await client.send("POST", "signup", json: ["username": "intruder", "password": "whatever-1A!"])
            XCTAssertEqual(r.status, 400)
            XCTAssertNotNil(r.err)
            XCTAssertEqual(sim.state.users.count, 1)

            r = try await client.send("POST", "authenticate", json: ["username": .string(adminUser), "password": "wrong"])
            XCTAssertEqual(r.status, 401)

            r = try await client.send("POST", "authenticate", json: ["username": .string(adminUser), "password": .string(adminPassword)])
            XCTAssertEqual(r.status, 200)
            let token = try XCTUnwrap(r.json?["token"]?.stringValue)

            // The token works under both API prefixes.
            for prefix in ["/api/v1/", "/api/v34.04/"] {
                var authed = SimClient(base: client.base, prefix: prefix)
                authed.auth = ["Authorization": "Bearer \(token)"]
                r = try await authed.get("version")
                XCTAssertEqual(r.status, 200)
                XCTAssertEqual(r.json, .string("34.04.145"))
                r = try await authed.get("policies/vulnerability/images")
                XCTAssertEqual(r.status, 200)
                XCTAssertEqual(r.json?["_id"], "containerVulnerability")
            }

            var bad = client
            bad.auth = ["Authorization": "Bearer not-a-token"]
            let v2 = try await bad.get("version")
            XCTAssertEqual(v2.status, 401)

            // The state holds a salted hash, never the password.
            let stateText = sim.stateJSON.encoded()
            XCTAssertFalse(stateText.contains(adminPassword))
            XCTAssertEqual(sim.state.users.first?["passwordHash"]?.stringValue?.hasPrefix("sha256:"), true)
            let served = try await client.raw("GET", "/sim/state")
            XCTAssertFalse(served.text.contains(adminPassword))
            XCTAssertEqual(served.json?["initialized"], true)
            // The request log masks it too.
            let log = try await client.raw("GET", "/sim/requests")
            XCTAssertFalse(log.text.contains(adminPassword))
            XCTAssertFalse(log.text.contains(token))
        }
    }

    func testTokensExpire() async throws {
        var options = SimulatorOptions()
        options.tokenLifetime = 60
        try await withSimulator(options, initialize: true) { sim, client in
            let r = try await client.send("POST", "authenticate", json: ["username": .string(adminUser), "password": .string(adminPassword)])
            let token = try XCTUnwrap(r.json?["token"]?.stringValue)
            var bearer = client
            bearer.auth = ["Authorization": "Bearer \(token)"]
            let v3 = try await bearer.get("settings/license")
            XCTAssertEqual(v3.status, 200)

            sim.advanceClock(by: 30)
            let v4 = try await bearer.get("settings/license")
            XCTAssertEqual(v4.status, 200)

            // Over HTTP as well as in Swift.
            let clock = try await client.raw("POST", "/sim/clock", #"{"advanceSeconds": 31}"#)
            XCTAssertEqual(clock.status, 200)
            let expired = try await bearer.get("settings/license")
            XCTAssertEqual(expired.status, 401)

            // Authenticate again, once, and carry on.
            let again = try await client.send("POST", "authenticate", json: ["username": .string(adminUser), "password": .string(adminPassword)])
            bearer.auth = ["Authorization": "Bearer \(try XCTUnwrap(again.json?["token"]?.stringValue))"]
            let v5 = try await bearer.get("settings/license")
            XCTAssertEqual(v5.status, 200)
        }
    }

    func testBasicAuthAndUnauthenticatedRequests() async throws {
        try await withSimulator(initialize: true) { sim, client in
            let v6 = try await client.get("settings/logging")
            XCTAssertEqual(v6.status, 200)

            var anonymous = client
            anonymous.auth = [:]
            var wrong = client
            wrong.auth = SimClient.basic(adminUser, "not-the-password")

            // Every served endpoint but the open four refuses an anonymous caller.
            let subset = try OpenAPISubset.bundled()
            let open: Set<String> = ["_ping", "settings/initialized", "signup", "authenticate"]
            var checked = 0
            for (path, methods) in subset.operations.sorted(by: { $0.key < $1.key }) where !open.contains(path) {
                let concrete = path.replacingOccurrences(of: "{id}", with: "x")
                for method in methods.keys.sorted() {
                    let body: String? = method == "get" || method == "delete" ? nil : "{}"
                    let r = try await anonymous.call(method.uppercased(), concrete, body)
                    XCTAssertEqual(r.status, 401, "\(method) \(path) without auth")
                    let w = try await wrong.call(method.uppercased(), concrete, body)
                    XCTAssertEqual(w.status, 401, "\(method) \(path) with a wrong password")
                    checked += 1
                }
            }
            XCTAssertGreaterThan(checked, 40)
            for path in ["_ping", "settings/initialized"] {
                let v7 = try await anonymous.get(path)
                XCTAssertEqual(v7.status, 200, path)
            }
            XCTAssertEqual(sim.state.users.count, 1)
        }
    }

    func testUnknownPathsAndMethods() async throws {
        try await withSimulator(initialize: true) { _, client in
            let v8 = try await client.get("no/such/endpoint")
            XCTAssertEqual(v8.status, 404)
            let v9 = try await client.raw("GET", "/api/v2/version")
            XCTAssertEqual(v9.status, 404)
            let v10 = try await client.call("DELETE", "version")
            XCTAssertEqual(v10.status, 405)
            let v11 = try await client.raw("GET", "/sim/nothing")
            XCTAssertEqual(v11.status, 404)
        }
    }
}
