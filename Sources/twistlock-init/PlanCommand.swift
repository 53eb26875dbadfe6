import ArgumentParser
import Foundation
import TwistlockInit
import TwistlockInitCLI

struct Plan: JobCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read the console and show, per object, what a run would change — without writing anything.",
        discussion: """
        Each object a run would write is shown as "+ create", "~ update" or "- remove", then one line \
        per JSON path. What the console cannot show back (the license key) is listed as "cannot \
        compare": a line, not a change.

        With --detailed-exitcode (as Terraform's): 0 nothing would change, 2 something would, 1 an \
        error (invalid input, a failed step, an interruption, or a plan stopped early with nothing \
        planned).
        """)
    static let mode = JobMode.plan
    @OptionGroup var input: InputOptions
    @OptionGroup var runOptions: RunOptions
    @OptionGroup(title: "Recording") var recording: RecordOptions
    @OptionGroup(title: "Output") var output: OutputOptions

    @Flag(name: .customLong("detailed-exitcode"), help: "Exit 0 when nothing would change, 2 when something would, 1 on an error.")
    var detailedExitCode = false

    @Option(name: [.customShort("o"), .customLong("out")], help: ArgumentHelp("Write the plan as JSON to this file: every planned write with its full body (secrets masked).", valueName: "file"))
    var planFile: String?

    @Flag(name: .customLong("full"), help: "Print every change and whole values (by default long values end in \"…\").")
    var full = false

    func run() throws {
        var options = JobOptions()
        try input.apply(to: &options)
        try runOptions.apply(to: &options)
        output.apply(to: &options)
        options.mode = .plan
        options.planFile = planFile.map { URL(fileURLWithPath: $0) }
        if let url = options.planFile, let problem = ReportFile.problem(url, flag: "--out") { throw ValidationError(problem) }
        options.fullDiffs = full
        try recording.check(mode: .plan)
        let log = JobLog(format: options.logFormat, redactor: Redactor())
        let report = Launcher.run(options, log: log)
        let code = recording.finish(report, exitCode: detailedExitCode ? report.detailedExitCode : report.exitCode,
                                    options: options, log: log)
        if code != 0 { throw ExitCode(code) }
    }
}
