import ArgumentParser
import Foundation
import JobConfig
import JSONModel
import TwistlockInit
import TwistlockInitCLI

@main
struct TwistlockInitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "twistlock-init",
        abstract: "Configure a Prisma Cloud Compute (Twistlock) console through its API, from Helm values, with Lua steps.",
        discussion: """
        Steps run in the order of steps/manifest.yaml, each gated by a values flag. `list` shows which \
        steps would run and why; `plan` reads the console and shows what would change without writing; \
        `run` applies the changes. (`twistlock-demo` runs the job against a built-in console simulator.)

        Exit codes (run, plan):
          0    done (also: stopped early on purpose, e.g. no license yet, without --strict)
          1    a step failed (its name and the reason are printed; later steps did not run)
          2    invalid input: values, flags, manifest or files — nothing was sent to the console
          3    stopped early on purpose under --strict
          143  interrupted (SIGTERM or SIGINT); the report says where
        """,
        version: "0.1.0",
        subcommands: [List.self, Run.self, Plan.self],
        defaultSubcommand: nil
    )
}

/// How to reach the console and how to run.
struct RunOptions: ParsableArguments {
    @Option(name: .customLong("console-url"), help: ArgumentHelp("The console's management URL (default: $TWISTLOCK_CONSOLE_URL, else the chart's service env, else http://127.0.0.1:8081).", valueName: "url"))
    var consoleURL: String?

    @Option(name: .customLong("ca-file"), help: ArgumentHelp("A PEM CA to trust for the console's TLS certificate (in addition to the system's). TLS is always verified.", valueName: "file"))
    var caFile: String?

    @Flag(help: "Fail the run (exit 3) when a step stops it on purpose: refused credentials, no license yet; and refuse values keys nobody reads (exit 2).")
    var strict = false

    @Option(name: .customLong("log-format"), help: "text (✔ ⚠ ✘ lines) or json (one object per line).")
    var logFormat: LogFormat = .text

    @Option(name: .customLong("report-json"), help: ArgumentHelp("Write the run's report (steps, requests, writes, timings) as JSON to this file.", valueName: "file"))
    var reportJSON: String?

    @Option(name: .customLong("kubeconfig"), help: ArgumentHelp("A kubeconfig for the defenders step outside a cluster (default: $KUBECONFIG, else the in-cluster service account).", valueName: "file"))
    var kubeconfig: String?

    @Option(name: .customLong("request-timeout"), help: "Seconds one console request may take.")
    var requestTimeout: Double = 30

    @Option(name: .customLong("retries"), help: "Retries for a failed idempotent request (connection errors, 429, 5xx), with exponential backoff.")
    var retries: Int = 5

    @Option(name: .customLong("deadline"), help: "Seconds the whole run may take; no request starts after that.")
    var deadline: Double?

    @Option(name: .customLong("step-instruction-limit"), help: "Lua instructions one step may run (a deadline against runaway steps).")
    var instructionLimit: Int = 200_000_000

    @Option(name: .customLong("lua-memory-limit"), help: "Memory ceiling of the Lua state, in MiB.")
    var luaMemoryMiB: Int = 256

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
        options.consoleURL = try consoleURL ?? RunOptions.consoleURLFromEnvironment()
        options.caFile = caFile
        options.strict = strict
        options.reportJSON = reportJSON.map { URL(fileURLWithPath: $0) }
        options.kubeconfig = kubeconfig ?? ProcessInfo.processInfo.environment["KUBECONFIG"]
        options.requestTimeout = requestTimeout
        options.maxRetries = retries
        options.deadlineSeconds = deadline
        options.instructionLimit = instructionLimit
        options.memoryLimitBytes = luaMemoryMiB * 1024 * 1024
        options.only = only
        options.skip = skip
        if let r = istioReady { options.istio.ready = r }
        if let q = istioQuit { options.istio.quit = q }
    }

    static func consoleURLFromEnvironment() throws -> String {
        let env = ProcessInfo.processInfo.environment
        if let url = env["TWISTLOCK_CONSOLE_URL"], !url.isEmpty { return url }
        if let host = env["TWISTLOCK_CONSOLE_SERVICE_HOST"], !host.isEmpty {
            let port = env["TWISTLOCK_CONSOLE_SERVICE_PORT_MGMT_HTTP"] ?? "8081"
            return "http://\(host):\(port)"
        }
        return "http://127.0.0.1:8081"
    }

    func validate() throws {
        if requestTimeout <= 0 { throw ValidationError("--request-timeout must be positive") }
        if retries < 0 || retries > 20 { throw ValidationError("--retries must be between 0 and 20") }
        if instructionLimit < 1000 { throw ValidationError("--step-instruction-limit must be at least 1000") }
        if luaMemoryMiB < 8 { throw ValidationError("--lua-memory-limit must be at least 8 (MiB)") }
    }
}

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The dry run: each step in order, run or skip, and why. Validates values and manifests; sends nothing.")

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
        let redactor = Redactor()
        let values: Values
        let steps: [StepSpec]
        do {
            (values, steps) = try JobRunner.prepare(options, redactor: redactor)
        } catch {
            for line in JobRunner.problemLines(error) {
                FileHandle.standardError.write((redactor.redact("✘ " + line) + "\n").data(using: .utf8)!)
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
            print(redactor.redact(JSON.object(["steps": arr, "warnings": .array(values.warnings.map { .string("\($0.key): \($0.message)") })]).encoded(pretty: true)))
            return
        }
        for w in values.warnings { print(redactor.redact("⚠ \(w.key): \(w.message)")) }
        let width = rows.map { $0.0.name.count }.max() ?? 10
        for (spec, gate) in rows {
            let verb = gate.run ? "run " : "skip"
            print("\(verb)  \(spec.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(gate.reason)")
        }
    }
}

/// `run` and `plan`: the same options, one mode apart.
protocol JobCommand: ParsableCommand {
    static var mode: JobMode { get }
    var input: InputOptions { get }
    var runOptions: RunOptions { get }
}

extension JobCommand {
    func run() throws {
        var options = JobOptions()
        try input.apply(to: &options)
        try runOptions.apply(to: &options)
        options.mode = Self.mode
        let report = Launcher.run(options)
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }
}

struct Run: JobCommand {
    static let configuration = CommandConfiguration(abstract: "Run the enabled steps in order against the console; stop at the first failed step.")
    static let mode = JobMode.run
    @OptionGroup var input: InputOptions
    @OptionGroup var runOptions: RunOptions
}
