import ConsoleSimulator
import Foundation
import JSONModel
import TwistlockInit
import XCTest

/// With `istio.enabled`, the job waits for its own sidecar before the first request and asks it
/// to quit at the end, whatever happened. A second simulator stands in for the sidecar: it
/// records every request, so the test sees the readiness probe and the quit call.
final class IstioSidecarTests: XCTestCase {
    func sidecarRequests(_ sidecar: ConsoleSimulator) -> [(String, String)] {
        sidecar.requests.map { ($0.method, $0.path) }
    }

    func runWithSidecar(values: String, license: Bool = true) async throws -> (StepHarness.Run, [(String, String)], StepHarness) {
        let sidecar = ConsoleSimulator(options: SimulatorOptions())
        let url = try await sidecar.start().absoluteString.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        let h = try await StepHarness.start(license: license)
        let run = try await h.run(values: values, configure: {
            $0.istio.ready = url + "/api/v1/_ping"
            $0.istio.quit = url + "/quitquitquit"
            $0.istio.readyTimeout = 5
        })
        let seen = sidecarRequests(sidecar)
        await sidecar.stop()
        return (run, seen, h)
    }

    func testWaitsForTheSidecarAndAsksItToQuitAfterASuccessfulRun() async throws {
        let (run, seen, h) = try await runWithSidecar(values: "istio: {enabled: true}")
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        XCTAssertEqual(seen.first?.0, "GET")
        XCTAssertEqual(seen.first?.1, "/api/v1/_ping", "the readiness probe comes first")
        XCTAssertEqual(seen.last?.0, "POST")
        XCTAssertEqual(seen.last?.1, "/quitquitquit", "the quit call comes last")
        XCTAssertEqual(seen.filter { $0.1 == "/quitquitquit" }.count, 1)
        await h.stop()
    }

    func testAsksTheSidecarToQuitAfterAFailedRunToo() async throws {
        // No license and --strict would stop; a bad key fails the license step.
        let (run, seen, h) = try await runWithSidecar(values: "istio: {enabled: true}\nconsole: {license: NOT-A-KEY}", license: false)
        XCTAssertEqual(run.report.exitCode, 1, run.output)
        XCTAssertEqual(seen.last?.1, "/quitquitquit")
        await h.stop()
    }

    func testNoSidecarCallsWithoutIstio() async throws {
        let (run, seen, h) = try await runWithSidecar(values: "")
        XCTAssertEqual(run.report.exitCode, 0, run.output)
        XCTAssertTrue(seen.isEmpty, "\(seen)")
        await h.stop()
    }
}
