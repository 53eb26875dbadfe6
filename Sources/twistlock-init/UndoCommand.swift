import ArgumentParser
import Foundation
import TwistlockInit
import TwistlockInitCLI

/// `twistlock-init undo --backup FILE`: put back what a run replaced (Sources/TwistlockInit/Undo.swift).
struct Undo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Put back what a run replaced, from its --backup file, where the console still holds what the run wrote.",
        discussion: """
        Each object the run wrote is put back as the console held it before the run (newest first), \
        but only where the console still holds what the run wrote: an object changed since is \
        reported and left alone, unless --force. Objects the run created are deleted where the API \
        has a delete for them (users, groups); others (the first admin, the license key) are \
        reported. --dry-run reads and compares, shows the changes as plan does, and writes nothing. \
        The values (-f, --set, --secrets-dir) give the console's credentials. Secrets in the backup \
        never reach the output.

        Exit codes:
          0    done: every object that can be undone was put back (or already was)
          1    a request failed (the output names the object)
          2    invalid input: the backup file, values or flags — nothing was sent
          4    some objects changed since the run were left alone (see the output; --force)
        """)

    @Option(name: .customLong("backup"), help: ArgumentHelp("The backup a run wrote (run --backup FILE).", valueName: "file"))
    var backup: String

    @Flag(help: "Put objects back even where they changed since the run.")
    var force = false

    @Flag(name: .customLong("dry-run"), help: "Show what undo would do, without writing anything.")
    var dryRun = false

    @Option(name: [.customShort("f"), .customLong("values")], help: ArgumentHelp("A Helm values file with the console's credentials (repeatable).", valueName: "file"))
    var values: [String] = []

    @Option(name: .customLong("set"), help: ArgumentHelp("Set values like Helm's --set (repeatable).", valueName: "path=value"))
    var sets: [String] = []

    @Option(name: .customLong("secrets-dir"), help: ArgumentHelp("A directory of secret files (console.credentials.password, ...).", valueName: "dir"))
    var secretsDir: String?

    @Option(name: .customLong("console-url"), help: ArgumentHelp("The console's management URL (default as for run).", valueName: "url"))
    var consoleURL: String?

    @Option(name: .customLong("ca-file"), help: ArgumentHelp("A PEM CA to trust for the console's TLS certificate.", valueName: "file"))
    var caFile: String?

    @Option(name: .customLong("log-format"), help: "text (✔ ⚠ ✘ lines) or json (one object per line).")
    var logFormat: LogFormat = .text

    @Option(name: .customLong("request-timeout"), help: "Seconds one console request may take.")
    var requestTimeout: Double = 30

    @Option(name: .customLong("retries"), help: "Retries for a failed idempotent request.")
    var retries: Int = 5

    func validate() throws {
        if let problem = FlagRange.requestTimeout.problem(requestTimeout) { throw ValidationError(problem) }
        if retries < 0 || retries > 20 { throw ValidationError("--retries must be between 0 and 20") }
    }

    func run() throws {
        var options = UndoOptions(backup: URL(fileURLWithPath: backup))
        options.valuesFiles = values.map { URL(fileURLWithPath: $0) }
        options.sets = sets
        options.secretsDir = secretsDir.map { URL(fileURLWithPath: $0, isDirectory: true) }
        let (url, source) = consoleURL.map { ($0, "--console-url") } ?? RunOptions.consoleURLFromEnvironment()
        if let problem = ConsoleURL.problem(url, source: source) { throw ValidationError(problem) }
        options.consoleURL = url
        if let caFile, let problem = CAFile.problem(caFile) { throw ValidationError(problem) }
        options.caFile = caFile
        options.force = force
        options.dryRun = dryRun
        options.logFormat = logFormat
        options.requestTimeout = requestTimeout
        options.maxRetries = retries
        let log = JobLog(format: options.logFormat, redactor: Redactor())
        let report = UndoRunner(options: options, log: log).run()
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }
}
