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
            ("https://twistlock-console", "no scheme, path or query"),
            ("tcp://10.0.0.5", "no scheme, path or query"),
            ("twistlock-console:8084", "no port"),
            ("twistlock-console.twistlock.svc:443", "no port"),
            ("twistlock-console/", "no scheme, path or query"),
            ("twistlock-console/api/v1", "no scheme, path or query"),
            ("twistlock console", "is not a host name"),
            ("   ", "is not a host name"),
            ("-console", "starts or ends with \"-\""),
            ("console-.twistlock", "starts or ends with \"-\""),
            ("console..twistlock", "an empty label"),
            ("console.twistlock.", "ends with a dot"),
            ("twistlock_console", "\"_\" is not allowed"),
            ("cönsole.example", "non-ASCII"),
            (String(repeating: "a", count: 64) + ".mil", "at most 63"),
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
            XCTAssertEqual(host.isEmpty || ValuesValidator.consoleAddressProblem(host) == nil, valid, host)
        }
    }
}
