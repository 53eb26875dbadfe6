import TwistlockInit
import XCTest

/// When the job's output is coloured; StepTests.OutputVerbosityTests checks the binary under a
/// terminal and piped.
final class TerminalColorTests: XCTestCase {
    func testColourOnlyOnATerminalAndNeverWithNoColor() throws {
        XCTAssertTrue(TerminalColor.enabled(noColorFlag: false, environment: [:], isTerminal: true))
        XCTAssertFalse(TerminalColor.enabled(noColorFlag: false, environment: [:], isTerminal: false))
        XCTAssertFalse(TerminalColor.enabled(noColorFlag: true, environment: [:], isTerminal: true))
        XCTAssertFalse(TerminalColor.enabled(noColorFlag: false, environment: ["NO_COLOR": "1"], isTerminal: true))
        XCTAssertTrue(TerminalColor.enabled(noColorFlag: false, environment: ["NO_COLOR": ""], isTerminal: true), "no-color.org: an empty NO_COLOR is unset")
    }
}
