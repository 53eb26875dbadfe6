import ConsoleSimulator
import Foundation
import JSONModel
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

final class FaultTests: XCTestCase {
    /// Polls `_ping` until it answers 200 (bounded).
    func waitForPing(_ base: URL, attempts: Int = 150) async throws -> Int {
        var refused = 0
        for _ in 0..<attempts {
            do {
                let r = try await HTTPTestClient.request(base, "GET", "/api/v1/_ping", timeout: 5)
                if r.status == 200 { return refused }
            } catch HTTPTestError.connectFailed {
                refused += 1
            }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        XCTFail("the console never became ready")
        return refused
    }

    func testNotReadyAnswers503EverywhereUntilCleared() async throws {
        var options = SimulatorOptions()
        options.faults = FaultPlan(notReadySeconds: 600, notReadyMode: .unavailable)
        try await withSimulator(options) { sim, client in
            for path in ["_ping", "settings/initialized", "signup", "version"] {
                let r = try await client.call(path == "signup" ? "POST" : "GET", path, path == "signup" ? "{}" : nil)
                XCTAssertEqual(r.status, 503, path)
            }
            // The inspection endpoints stay reachable.
            let state = try await client.raw("GET", "/sim/state")
            XCTAssertEqual(state.status, 200)
            XCTAssertEqual(sim.requests.first?.fault, "notReady")
            XCTAssertFalse(sim.state.initialized)

            let cleared = try await client.raw("DELETE", "/sim/faults")
            XCTAssertEqual(cleared.status, 200)
            let ping = try await client.get("_ping")
            XCTAssertEqual(ping.status, 200)
        }
    }

    func testNotReadyRefusesConnectionsThenServes() async throws {
        var options = SimulatorOptions()
        options.faults = FaultPlan(notReadySeconds: 2, notReadyMode: .refuse)
        let sim = ConsoleSimulator(options: options)
        let url = try await sim.start()
        do {
            do {
                _ = try await HTTPTestClient.request(url, "GET", "/api/v1/_ping", timeout: 5)
                XCTFail("expected a refused connection while not ready")
            } catch HTTPTestError.connectFailed(let code) {
                XCTAssertEqual(code, ECONNREFUSED)
            }
            let refused = try await waitForPing(url)
            XCTAssertGreaterThanOrEqual(refused, 0)
            XCTAssertEqual(sim.baseURL, url)
        } catch {
            await sim.stop()
            throw error
        }
        await sim.stop()
        // Stopped: nothing listens any more.
        do {
            _ = try await HTTPTestClient.request(url, "GET", "/api/v1/_ping", timeout: 5)
            XCTFail("expected a refused connection after stop")
        } catch HTTPTestError.connectFailed(let code) {
            XCTAssertEqual(code, ECONNREFUSED)
        }
    }

    func testStatusFaultsForTheNextRequestsWithRetryAfter() async throws {
        try await withSimulator(initialize: true) { sim, client in
            sim.addFault(FaultRule(kind: .status, method: "GET", path: "settings/*", count: 2, status: 503))
            var statuses: [Int] = []
            for _ in 0..<3 { statuses.append(try await client.get("settings/logging").status) }
            XCTAssertEqual(statuses, [503, 503, 200])
            let other = try await client.call("POST", "settings/telemetry", #"{"enabled": false}"#)
            XCTAssertEqual(other.status, 200, "other methods are not affected")
            XCTAssertEqual(sim.requests.filter { $0.fault == "status 503" }.count, 2)

            // Over HTTP: 429 with Retry-After, matched on the versioned path too.
            let set = try await client.raw("POST", "/sim/faults", #"{"rules":[{"kind":"status","status":429,"retryAfter":7,"path":"/api/v1/version","count":1},{"kind":"status","status":429,"path":"version","count":1}]}"#)
            XCTAssertEqual(set.status, 200, set.text)
            let versioned = SimClient(base: client.base, prefix: "/api/v34.04/", auth: client.auth)
            var r = try await versioned.get("version")
            XCTAssertEqual(r.status, 429)
            XCTAssertEqual(r.headers["retry-after"], "7")
            r = try await client.get("version")
            XCTAssertEqual(r.status, 429)
            XCTAssertEqual(r.headers["retry-after"], "1")
            r = try await client.get("version")
            XCTAssertEqual(r.status, 200)
            let faults = try await client.raw("GET", "/sim/faults")
            XCTAssertEqual(faults.json?["rules"]?.arrayValue?.count, 2)
        }
    }

    func testFractionIsDeterministicForASeed() async throws {
        try await withSimulator(initialize: true) { sim, client in
            func pattern() async throws -> [Int] {
                sim.setFaults(FaultPlan(rules: [FaultRule(kind: .status, path: "version", fraction: 0.5, status: 500)], seed: 42))
                var out: [Int] = []
                for _ in 0..<24 { out.append(try await client.get("version").status) }
                return out
            }
            let first = try await pattern()
            let second = try await pattern()
            XCTAssertEqual(first, second)
            XCTAssertTrue(first.contains(500))
            XCTAssertTrue(first.contains(200))
            XCTAssertEqual(Set(first), [200, 500])
        }
    }

    func testDroppedConnections() async throws {
        try await withSimulator(initialize: true) { sim, client in
            sim.addFault(FaultRule(kind: .drop, path: "version", count: 1))
            do {
                _ = try await client.get("version")
                XCTFail("expected the connection to close without a response")
            } catch HTTPTestError.closedWithoutResponse {}
            let after = try await client.get("version")
            XCTAssertEqual(after.status, 200)

            // After processing: the write happens, the answer is lost.
            sim.addFault(FaultRule(kind: .drop, method: "POST", path: "settings/telemetry", count: 1, afterProcessing: true))
            do {
                _ = try await client.call("POST", "settings/telemetry", #"{"enabled": false}"#)
                XCTFail("expected the connection to close without a response")
            } catch HTTPTestError.closedWithoutResponse {}
            XCTAssertEqual(sim.state.settings["telemetry"], ["enabled": false])
        }
    }

    func testDelayAndRestart() async throws {
        try await withSimulator(initialize: true) { sim, client in
            sim.addFault(FaultRule(kind: .delay, path: "_ping", count: 1, delayMs: 30))
            let ping = try await client.get("_ping")
            XCTAssertEqual(ping.status, 200)
            XCTAssertEqual(sim.requests.last?.fault, "delay 30ms")

            let auth = try await client.send("POST", "authenticate", json: ["username": .string(adminUser), "password": .string(adminPassword)])
            var bearer = client
            bearer.auth = ["Authorization": "Bearer \(auth.json?["token"]?.stringValue ?? "")"]
            var r = try await bearer.get("settings/license")
            XCTAssertEqual(r.status, 200)

            r = try await client.raw("POST", "/sim/faults", #"{"restart": true}"#)
            XCTAssertEqual(r.status, 200)
            r = try await bearer.get("settings/license")
            XCTAssertEqual(r.status, 401, "tokens do not survive a restart")
            r = try await client.get("settings/license")
            XCTAssertEqual(r.status, 200, "state (the admin) survives")
            XCTAssertTrue(sim.state.initialized)

            // A restart with downtime: 503s until it is over (or cleared).
            await sim.restart(downSeconds: 600, mode: .unavailable)
            r = try await client.get("_ping")
            XCTAssertEqual(r.status, 503)
            sim.clearFaults()
            r = try await client.get("_ping")
            XCTAssertEqual(r.status, 200)

            // A restart that closes the port for a moment, then serves on the same one.
            await sim.restart(downSeconds: 1, mode: .refuse)
            _ = try await waitForPing(client.base)
            r = try await client.get("settings/license")
            XCTAssertEqual(r.status, 200)

            // The same over HTTP (the answer still arrives before the port closes).
            r = try await client.raw("POST", "/sim/restart", #"{"downSeconds": 1, "mode": "refuse"}"#)
            XCTAssertEqual(r.status, 200)
            var refusedSeen = false
            for _ in 0..<50 where !refusedSeen {
                do {
                    _ = try await HTTPTestClient.request(client.base, "GET", "/api/v1/_ping", timeout: 5)
                    try await Task.sleep(nanoseconds: 20_000_000)
                } catch HTTPTestError.connectFailed {
                    refusedSeen = true
                }
            }
            XCTAssertTrue(refusedSeen, "the port closes during the downtime")
            _ = try await waitForPing(client.base)
            r = try await client.get("settings/license")
            XCTAssertEqual(r.status, 200)
        }
    }

    func testBrokenResponses() async throws {
        try await withSimulator(initialize: true) { sim, client in
            sim.addFault(FaultRule(kind: .malformedJSON, path: "settings/logging", count: 1))
            var r = try await client.get("settings/logging")
            XCTAssertEqual(r.status, 200)
            XCTAssertNil(r.json, "the body must not parse")
            XCTAssertTrue(r.text.hasPrefix("{"))

            sim.addFault(FaultRule(kind: .wrongShape, path: "settings/logging", count: 1))
            r = try await client.get("settings/logging")
            XCTAssertEqual(r.status, 200)
            XCTAssertNotNil(r.json?.arrayValue, "an array where an object belongs")

            sim.addFault(FaultRule(kind: .htmlError, path: "users", count: 1))
            r = try await client.get("users")
            XCTAssertEqual(r.status, 502)
            XCTAssertEqual(r.headers["content-type"], "text/html")
            XCTAssertTrue(r.text.contains("<html>"))

            sim.addFault(FaultRule(kind: .hugeBody, path: "version", count: 1, bodyBytes: 3_000_000))
            r = try await client.get("version")
            XCTAssertEqual(r.status, 200)
            XCTAssertGreaterThanOrEqual(r.body.count, 3_000_000)
            XCTAssertNotNil(r.json?["padding"])

            r = try await client.get("settings/logging")
            XCTAssertEqual(r.json?["stdout"]?["enabled"], false, "faults with a count run out")

            // Bad fault plans are refused.
            r = try await client.raw("POST", "/sim/faults", #"{"rules":[{"kind":"explode"}]}"#)
            XCTAssertEqual(r.status, 400)
        }
    }
}
