import Foundation
import JSONModel
import XCTest
@testable import JobConfig

/// `defender.consoleAddress`: empty (the job builds the console Service's cluster-wide name) or a
/// host the Defenders can connect to — a DNS name or an IP address, no scheme, port or path.
final class ConsoleAddressValuesTests: XCTestCase {
    func testHostsAndTheEmptyDefaultAreTaken() throws {
        XCTAssertEqual(try loadValues([]).string("defender.consoleAddress"), "")
        for host in ["twistlock-console", "twistlock-console.prisma.svc.cluster.local", "10.0.0.5", "fd00::5",
                     "::1", "Console.Example.MIL", String(repeating: "a", count: 63) + ".mil"] {
            let values = try loadValues(["defender: {consoleAddress: \"\(host)\"}\n"])
            XCTAssertEqual(values.string("defender.consoleAddress"), host)
        }
    }

    /// Each rule broken at least two ways; the message names the key and quotes the value.
    func testAddressesTheDefendersCouldNotUseAreRefused() {
        for (address, why) in [
            ("https://twistlock-console", "without a scheme"),
            ("tcp://10.0.0.5", "without a scheme"),
            ("twistlock-console:8084", "without a port"),
            ("twistlock-console.twistlock.svc:443", "without a port"),
            ("twistlock-console/", "without a path"),
            ("twistlock-console/api/v1", "without a path"),
            ("twistlock console", "not a DNS name"),
            ("   ", "not a DNS name"),
            ("-console", "not a DNS name"),
            ("console-.twistlock", "not a DNS name"),
            ("console..twistlock", "not a DNS name"),
            ("console.twistlock.", "not a DNS name"),
            ("twistlock_console", "not a DNS name"),
            ("cönsole.example", "not a DNS name"),
            (String(repeating: "a", count: 64) + ".mil", "not a DNS name"),
            (Array(repeating: "abcdefgh", count: 29).joined(separator: "."), "at most 253"),
        ] {
            let found = problems(["defender: {consoleAddress: \"\(address)\"}\n"])
            XCTAssertEqual(found.count, 1, "\(address): \(found)")
            XCTAssertTrue(found.first?.hasPrefix("defender.consoleAddress: ") ?? false, "\(found)")
            XCTAssertTrue(found.first?.contains(why) ?? false, "\(address): \(found)")
        }
        // With Defenders off the address is not used, and not checked.
        XCTAssertNoThrow(try loadValues(["defender: {enabled: false, consoleAddress: \"https://x:1\"}\n"]))
    }

    /// The chart's schema has the same rule (values.schema.json; Tests/chart checks helm refuses).
    func testTheChartSchemaPatternAgrees() {
        for (host, valid) in [("", true), ("twistlock-console.prisma.svc.cluster.local", true), ("fd00::5", true),
                              ("10.0.0.5", true), ("https://x", false), ("x:8084", false), ("x/y", false),
                              ("two words", false), ("-x", false), ("a..b", false)] {
            XCTAssertEqual(host.range(of: ValuesSchema.hostPattern, options: .regularExpression) != nil, valid, host)
            XCTAssertEqual(host.isEmpty || HostRules.problem(host) == nil, valid, host)
        }
    }
}
