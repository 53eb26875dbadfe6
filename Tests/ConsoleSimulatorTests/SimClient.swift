import ConsoleSimulator
import Foundation
import JSONModel
import TestSupport
import XCTest

/// Conveniences for talking to a running simulator.
struct SimClient {
    let base: URL
    var prefix = "/api/v1/"
    var auth: [String: String] = [:]

    func call(_ method: String, _ endpoint: String, _ body: String? = nil) async throws -> HTTPResult {
        try await HTTPTestClient.request(base, method, prefix + endpoint, body: body, headers: auth)
    }

    func get(_ endpoint: String) async throws -> HTTPResult { try await call("GET", endpoint) }

    /// GET that must answer 200 with JSON.
    func getJSON(_ endpoint: String, file: StaticString = #filePath, line: UInt = #line) async throws -> JSON {
        let r = try await get(endpoint)
        XCTAssertEqual(r.status, 200, r.text, file: file, line: line)
        guard let j = r.json else { throw HTTPTestError.malformedResponse("not JSON: \(r.text.prefix(200))") }
        return j
    }

    func send(_ method: String, _ endpoint: String, json: JSON) async throws -> HTTPResult {
        try await call(method, endpoint, json.encoded())
    }

    func raw(_ method: String, _ path: String, _ body: String? = nil) async throws -> HTTPResult {
        try await HTTPTestClient.request(base, method, path, body: body, headers: auth)
    }

    static func basic(_ user: String, _ password: String) -> [String: String] {
        ["Authorization": "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()]
    }
}

let adminUser = "admin"
let adminPassword = "Sim-Admin-Passw0rd!"

/// Starts a simulator, runs `body`, stops it.
func withSimulator(_ options: SimulatorOptions = SimulatorOptions(), initialize: Bool = false,
                   _ body: (ConsoleSimulator, SimClient) async throws -> Void) async throws {
    let sim = ConsoleSimulator(options: options)
    let url = try await sim.start()
    do {
        var client = SimClient(base: url)
        if initialize {
            let r = try await client.send("POST", "signup", json: ["username": .string(adminUser), "password": .string(adminPassword)])
            XCTAssertEqual(r.status, 200, r.text)
            client.auth = SimClient.basic(adminUser, adminPassword)
        }
        try await body(sim, client)
    } catch {
        await sim.stop()
        throw error
    }
    await sim.stop()
}
