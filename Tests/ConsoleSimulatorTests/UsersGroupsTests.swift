import ConsoleSimulator
import Foundation
import JSONModel
import XCTest

final class UsersGroupsTests: XCTestCase {
    func testUsers() async throws {
        try await withSimulator(initialize: true) { sim, client in
            var users = try await client.getJSON("users")
            XCTAssertEqual(users.arrayValue?.count, 1)
            XCTAssertEqual(users[0]?["username"]?.stringValue, adminUser)
            XCTAssertEqual(users[0]?["role"], "admin")
            XCTAssertNil(users[0]?["password"])
            XCTAssertNil(users[0]?["passwordHash"])

            let metrics: JSON = ["username": "twistlock-metrics", "password": "Metrics-Passw0rd!", "role": "auditor", "authType": "basic"]
            var r = try await client.send("POST", "users", json: metrics)
            XCTAssertEqual(r.status, 200, r.text)
            r = try await client.send("POST", "users", json: metrics)
            XCTAssertEqual(r.status, 409)

            r = try await client.send("POST", "users", json: ["username": "nobody", "role": "wizard", "password": "Passw0rd-long!"])
            XCTAssertEqual(r.status, 400)
            r = try await client.send("POST", "users", json: ["username": "nopass", "role": "user", "authType": "basic"])
            XCTAssertEqual(r.status, 400)
            r = try await client.send("POST", "users", json: ["username": "sso-user", "role": "user", "authType": "saml"])
            XCTAssertEqual(r.status, 200, r.text)
            r = try await client.send("POST", "users", json: ["username": "x", "role": "user", "authType": "kerberos", "password": "p"])
            XCTAssertEqual(r.status, 400)

            // The new basic user authenticates; it may read but not change users.
            r = try await client.send("POST", "authenticate", json: ["username": "twistlock-metrics", "password": "Metrics-Passw0rd!"])
            XCTAssertEqual(r.status, 200)
            var auditor = client
            auditor.auth = SimClient.basic("twistlock-metrics", "Metrics-Passw0rd!")
            let auditorRead = try await auditor.get("policies/runtime/container")
            XCTAssertEqual(auditorRead.status, 200)
            let auditorWrite = try await auditor.send("POST", "settings/telemetry", json: ["enabled": false])
            XCTAssertEqual(auditorWrite.status, 403)

            // PUT updates an existing user (password kept when not sent) and only that.
            r = try await client.send("PUT", "users", json: ["username": "twistlock-metrics", "role": "auditor", "authType": "basic", "password": "New-Metrics-Passw0rd!"])
            XCTAssertEqual(r.status, 200, r.text)
            r = try await client.send("POST", "authenticate", json: ["username": "twistlock-metrics", "password": "Metrics-Passw0rd!"])
            XCTAssertEqual(r.status, 401)
            r = try await client.send("POST", "authenticate", json: ["username": "twistlock-metrics", "password": "New-Metrics-Passw0rd!"])
            XCTAssertEqual(r.status, 200)
            r = try await client.send("PUT", "users", json: ["username": "twistlock-metrics", "role": "operator"])
            XCTAssertEqual(r.status, 200, r.text)
            r = try await client.send("POST", "authenticate", json: ["username": "twistlock-metrics", "password": "New-Metrics-Passw0rd!"])
            XCTAssertEqual(r.status, 200)
            r = try await client.send("PUT", "users", json: ["username": "ghost", "role": "user", "password": "Passw0rd-long!"])
            XCTAssertEqual(r.status, 404)

            users = try await client.getJSON("users")
            XCTAssertEqual(users.arrayValue?.compactMap { $0["username"]?.stringValue }, [adminUser, "twistlock-metrics", "sso-user"])
            XCTAssertEqual(users[1]?["role"], "operator")
            XCTAssertFalse(sim.stateJSON.encoded().contains("Metrics-Passw0rd"))

            // Strong passwords once the logon setting asks for them.
            r = try await client.send("POST", "settings/logon", json: ["strongPassword": true])
            XCTAssertEqual(r.status, 200)
            r = try await client.send("POST", "users", json: ["username": "weak", "role": "user", "password": "short"])
            XCTAssertEqual(r.status, 400)
            r = try await client.send("POST", "users", json: ["username": "strong", "role": "user", "password": "Str0ng-Enough-Pass!"])
            XCTAssertEqual(r.status, 200, r.text)

            r = try await client.call("DELETE", "users/strong")
            XCTAssertEqual(r.status, 200)
            r = try await client.call("DELETE", "users/\(adminUser)")
            XCTAssertEqual(r.status, 400, "the last admin stays")
        }
    }

    func testGroups() async throws {
        try await withSimulator(initialize: true) { sim, client in
            var groups = try await client.getJSON("groups")
            XCTAssertEqual(groups, [])

            var r = try await client.send("POST", "groups", json: ["groupName": "platform-admins", "role": "admin", "oidcGroup": true])
            XCTAssertEqual(r.status, 200, r.text)
            r = try await client.send("POST", "groups", json: ["groupName": "platform-admins", "role": "admin", "oidcGroup": true])
            XCTAssertTrue(r.status == 409 || r.status == 400, "duplicate group: \(r.status)")
            r = try await client.send("POST", "groups", json: ["groupName": "two-kinds", "role": "user", "samlGroup": true, "ldapGroup": true])
            XCTAssertEqual(r.status, 400)
            r = try await client.send("POST", "groups", json: ["groupName": "no-role", "samlGroup": true])
            XCTAssertEqual(r.status, 400)
            r = try await client.send("POST", "groups", json: ["groupName": "auditors", "role": "auditor", "samlGroup": true])
            XCTAssertEqual(r.status, 200)

            groups = try await client.getJSON("groups")
            XCTAssertEqual(groups.arrayValue?.count, 2)
            let id = try XCTUnwrap(groups[0]?["_id"]?.stringValue)
            XCTAssertEqual(groups[0]?["oidcGroup"], true)

            r = try await client.send("PUT", "groups/\(id)", json: ["groupName": "platform-admins", "role": "operator", "oidcGroup": true])
            XCTAssertEqual(r.status, 200, r.text)
            r = try await client.send("PUT", "groups/does-not-exist", json: ["groupName": "does-not-exist", "role": "user", "oidcGroup": true])
            XCTAssertEqual(r.status, 404)
            r = try await client.send("PUT", "groups/\(id)", json: ["groupName": "platform-admins", "role": "operator", "oidcGroup": true, "samlGroup": true])
            XCTAssertEqual(r.status, 400)
            XCTAssertEqual(sim.state.groups.first?["role"], "operator")
            XCTAssertEqual(sim.state.groups.count, 2)
        }
    }
}
