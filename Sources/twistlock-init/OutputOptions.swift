import ArgumentParser
import Foundation
import TwistlockInit

/// How much `run` and `plan` print, and whether in colour.
struct OutputOptions: ParsableArguments {
    @Flag(name: [.customShort("q"), .customLong("quiet")], help: "Only warnings, errors and the summary.")
    var quiet = false

    @Flag(name: [.customShort("v"), .customLong("verbose")],
          help: "Each request: method, endpoint, status, time. -vv: also the HTTP client's own log (masked).")
    var verbose: Int

    @Flag(name: .customLong("no-color"), help: "No colour (also: NO_COLOR set, or the output is not a terminal).")
    var noColor = false

    func validate() throws {
        if quiet && verbose > 0 { throw ValidationError("-q/--quiet and -v/--verbose cannot be combined") }
    }

    func apply(to options: inout JobOptions) {
        options.quiet = quiet
        options.verbosity = verbose
        options.color = options.logFormat == .text && TerminalColor.enabled(noColorFlag: noColor)
    }
}
