import ArgumentParser
import Foundation
import JobConfig
import JSONModel
import TwistlockInit
import TwistlockInitCLI

struct TwistlockInitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "twistlock-init",
        abstract: "Configure a Prisma Cloud Compute (Twistlock) console through its API, from Helm values, with Lua steps.",
        discussion: """
        Steps run in the order of steps/manifest.yaml, each gated by a values flag. `list` shows which \
        steps would run and why; `plan` reads the console and shows what would change without writing; \
        `run` applies the changes (`--backup FILE` keeps what it replaced); `undo --backup FILE` puts \
        it back where the console still holds what the run wrote. (`twistlock-demo` runs the job against a built-in console simulator.)

        Exit codes (run, plan):
          0    done (also: stopped early on purpose, e.g. no license yet, without --strict)
          1    a step failed (its name and the reason are printed; later steps did not run)
          2    invalid input: values, flags (one line naming the flag and its accepted range), \
        manifest or files — nothing was sent to the console
          3    stopped early on purpose under --strict
          143  interrupted (SIGTERM, SIGINT, SIGHUP or SIGQUIT); the report says where
        `plan --detailed-exitcode` exits as Terraform's: 0 nothing would change, 2 something would,         1 any error (invalid input and flags included).
        A closed or full stdout/stderr (`| head`, `>/dev/full`) does not change the exit code: \
        lines that cannot be written are dropped, the run goes on, and the report lists what was \
        dropped (outputDropped). `list` exits 0, or 2 for invalid input.
        """,
        version: "0.1.0",
        subcommands: [List.self, Run.self, Plan.self, Undo.self, Probe.self],
        defaultSubcommand: nil
    )
}

/// How to reach the console and how to run.
struct RunOptions: ParsableArguments {
    @Option(name: .customLong("console-url"), help: ArgumentHelp("The console's management URL (default: $TWISTLOCK_CONSOLE_URL, else the chart's service env, else http://127.0.0.1:8081).", valueName: "url"))
    var consoleURL: String?

    @Option(name: .customLong("ca-file"), help: ArgumentHelp("A PEM CA to trust for the console's TLS certificate (in addition to the system's). TLS is always verified.", valueName: "file"))
    var caFile: String?

    @Flag(help: "Fail the run (exit 3) when a step stops it on purpose: refused credentials, no license yet; refuse values keys nobody reads (exit 2); and fail a step (exit 1) whose writes the console did not keep as sent.")
    var strict = false

    @Option(name: .customLong("log-format"), help: "text (✔ ⚠ ✘ lines) or json (one object per line).")
    var logFormat: LogFormat = .text

    @Option(name: .customLong("report-json"), help: ArgumentHelp("Write the run's report (steps, requests, writes, timings) as JSON to this file.", valueName: "file"))
    var reportJSON: String?

    @Option(name: .customLong("kubeconfig"), help: ArgumentHelp("A kubeconfig for the defenders step outside a cluster (default: $KUBECONFIG, else the in-cluster service account).", valueName: "file"))
    var kubeconfig: String?

    // The numeric flags are read as text and checked here (`FlagRange`): an invalid one is
    // exit 2 with one line naming the flag, its range and what was given (`--retries -1` is a
    // value, not an unknown flag).
    @Option(name: .customLong("request-timeout"), parsing: .unconditional, help: ArgumentHelp("Seconds one console request may take (0.1 to 3600).", valueName: "seconds"))
    var requestTimeout: String = "30"

    @Option(name: .customLong("retries"), parsing: .unconditional, help: ArgumentHelp("Retries for a failed idempotent request (connection errors, 429, 5xx), with exponential backoff (0 to 20).", valueName: "n"))
    var retries: String = "5"

    @Option(name: .customLong("deadline"), parsing: .unconditional, help: ArgumentHelp("Seconds the whole run may take; no request starts after that (0.1 to 86400).", valueName: "seconds"))
    var deadline: String?

    @Option(name: .customLong("step-timeout"), parsing: .unconditional, help: ArgumentHelp("Seconds one step may run, wall clock (0.1 to 86400; default 900: above init.waitTimeoutSeconds' default 600, well under the chart's 1800 s Job deadline). A step over it fails (exit 1); one stuck inside a C function ends the job within about a second, report written.", valueName: "seconds"))
    var stepTimeout: String = "900"

    @Option(name: .customLong("step-instruction-limit"), parsing: .unconditional, help: ArgumentHelp("Lua instructions one step may run, a deadline against runaway steps (1000 to 1000000000000).", valueName: "n"))
    var instructionLimit: String = "200000000"

    @Option(name: .customLong("lua-memory-limit"), parsing: .unconditional, help: ArgumentHelp("Memory ceiling of the Lua state, in MiB (8 to 65536).", valueName: "MiB"))
    var luaMemoryMiB: String = "256"

    @Option(name: .customLong("only"), help: ArgumentHelp("Run only these steps (repeatable), e.g. --only defenders.", valueName: "step"))
    var only: [String] = []

    @Option(name: .customLong("skip"), help: ArgumentHelp("Do not run these steps (repeatable), e.g. --skip defenders.", valueName: "step"))
    var skip: [String] = []

    @Option(name: .customLong("istio-ready-url"), help: .hidden)
    var istioReady: String?

    @Option(name: .customLong("istio-quit-url"), help: .hidden)
    var istioQuit: String?

    func apply(to options: inout JobOptions) throws {
        options.logFormat = logFormat
        if let consoleURL {
            options.consoleURL = consoleURL
        } else {
            let (url, source) = RunOptions.consoleURLFromEnvironment()
            if let problem = ConsoleURL.problem(url, source: source) { throw ValidationError(problem) }
            options.consoleURL = url
        }
        if let problem = ConsoleURL.problem(options.consoleURL) { throw ValidationError(problem) }
        if let caFile, let problem = CAFile.problem(caFile) { throw ValidationError(problem) }
        options.caFile = caFile
        options.strict = strict
        options.reportJSON = reportJSON.map { URL(fileURLWithPath: $0) }
        if let report = options.reportJSON, let problem = ReportFile.problem(report) { throw ValidationError(problem) }
        options.kubeconfig = kubeconfig ?? ProcessInfo.processInfo.environment["KUBECONFIG"]
        options.requestTimeout = try FlagRange.requestTimeout.parse(requestTimeout)
        options.maxRetries = try FlagRange.retries.parse(retries)
        options.deadlineSeconds = try deadline.map { try FlagRange.deadline.parse($0) }
        options.stepTimeout = try FlagRange.stepTimeout.parse(stepTimeout)
        options.instructionLimit = try FlagRange.instructionLimit.parse(instructionLimit)
        options.memoryLimitBytes = try FlagRange.luaMemoryMiB.parse(luaMemoryMiB) << 20
        options.only = only
        options.skip = skip
        if let r = istioReady { options.istio.ready = r }
        if let q = istioQuit { options.istio.quit = q }
    }

    /// The console URL from the environment, and which variable gave it (for messages).
    static func consoleURLFromEnvironment() -> (String, String) {
        let env = ProcessInfo.processInfo.environment
        if let url = env["TWISTLOCK_CONSOLE_URL"], !url.isEmpty { return (url, "$TWISTLOCK_CONSOLE_URL") }
        if let host = env["TWISTLOCK_CONSOLE_SERVICE_HOST"], !host.isEmpty {
            let port = env["TWISTLOCK_CONSOLE_SERVICE_PORT_MGMT_HTTP"] ?? "8081"
            return ("http://\(host):\(port)", "$TWISTLOCK_CONSOLE_SERVICE_HOST/_PORT_MGMT_HTTP")
        }
        return ("http://127.0.0.1:8081", "the default console URL")
    }

    /// Every numeric flag checked before anything is read or sent: exit 2, one line each.
    func validate() throws {
        _ = try FlagRange.requestTimeout.parse(requestTimeout)
        _ = try FlagRange.retries.parse(retries)
        if let deadline { _ = try FlagRange.deadline.parse(deadline) }
        _ = try FlagRange.stepTimeout.parse(stepTimeout)
        _ = try FlagRange.instructionLimit.parse(instructionLimit)
        _ = try FlagRange.luaMemoryMiB.parse(luaMemoryMiB)
    }
}

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The dry run: each step in order, run or skip, and why. Validates values and manifests and compiles every step file; sends nothing and needs no credentials.")

    @OptionGroup var input: InputOptions

    enum Output: String, CaseIterable, ExpressibleByArgument { case text, json }

    @Option(help: "text (a line per step) or json.")
    var output: Output = .text

    @Flag(help: "Refuse values keys nobody reads (exit 2) instead of warning.")
    var strict = false

    func run() throws {
        var options = JobOptions()
        try input.apply(to: &options)
        options.strict = strict
        options.requireSecrets = false   // list sends nothing: no credentials needed
        let redactor = Redactor()
        let values: Values
        let steps: [StepSpec]
        do {
            (values, steps) = try JobRunner.prepare(options, redactor: redactor)
        } catch {
            for line in JobRunner.problemLines(error) {
                SafeOutput.errorLine(TextSafety.escape(redactor.redact("✘ " + line)))
            }
            throw ExitCode(2)
        }
        let rows = steps.map { ($0, $0.when.evaluate(values)) }
        if output == .json {
            let arr = JSON.array(rows.map { spec, gate in
                .object([
                    "name": .string(spec.name), "run": .bool(gate.run), "reason": .string(gate.reason),
                    "description": .string(spec.description), "file": .string(spec.file.path),
                ])
            })
            SafeOutput.line(TextSafety.escapeJSONLine(redactor.redact(JSON.object(["steps": arr, "warnings": .array(values.warnings.map { .string("\($0.key): \($0.message)") })]).encoded(pretty: true))))
            return
        }
        for w in values.warnings { SafeOutput.line(TextSafety.escape(redactor.redact("⚠ \(w.key): \(w.message)"))) }
        let width = rows.map { $0.0.name.count }.max() ?? 10
        for (spec, gate) in rows {
            let verb = gate.run ? "run " : "skip"
            SafeOutput.line(TextSafety.escape(redactor.redact("\(verb)  \(spec.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(gate.reason)")))
        }
    }
}

/// `run` and `plan`: the same options, one mode apart.
protocol JobCommand: ParsableCommand {
    static var mode: JobMode { get }
    var input: InputOptions { get }
    var runOptions: RunOptions { get }
    var recording: RecordOptions { get }
    var output: OutputOptions { get }
}

extension JobCommand {
    func run() throws {
        var options = JobOptions()
        try input.apply(to: &options)
        try runOptions.apply(to: &options)
        output.apply(to: &options)
        options.mode = Self.mode
        try recording.check(mode: Self.mode)
        options.keepReplaced = recording.keepsBackup
        let log = JobLog(format: options.logFormat, redactor: Redactor())
        let report = Launcher.run(options, log: log)
        let code = recording.finish(report, exitCode: report.exitCode, options: options, log: log)
        if code != 0 { throw ExitCode(code) }
    }
}

struct Run: JobCommand {
    static let configuration = CommandConfiguration(abstract: "Run the enabled steps in order against the console; stop at the first failed step.")
    static let mode = JobMode.run
    @OptionGroup var input: InputOptions
    @OptionGroup var runOptions: RunOptions
    @OptionGroup(title: "Backup and recording") var recording: RecordOptions
    @OptionGroup(title: "Output") var output: OutputOptions
}
