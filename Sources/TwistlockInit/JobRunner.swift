import Foundation
import JobConfig
import JSONModel
import LuaHost

/// Everything a run needs to know, from the command line (or a test).
public struct JobOptions: Sendable {
    public var valuesFiles: [URL] = []
    public var sets: [String] = []
    /// `--set-string`: like `sets`, every value a string; applied after them.
    public var setStrings: [String] = []
    /// The project's steps directory first, then operators' directories (`--steps-dir`).
    public var stepsDirs: [URL] = []
    public var secretsDir: URL?
    public var consoleURL: String = "http://127.0.0.1:8081"
    public var caFile: String?
    public var mode: JobMode = .run
    public var strict = false
    public var logFormat: LogFormat = .text
    public var reportJSON: URL?
    public var instructionLimit = 200_000_000
    public var memoryLimitBytes = 256 * 1024 * 1024
    public var requestTimeout: Double = 30
    public var maxRetries = 5
    public var backoffBase: Double = 0.5
    /// The whole run's deadline in seconds (nil: none).
    public var deadlineSeconds: Double?
    /// Seconds one step may run, wall clock (`--step-timeout`; nil: no limit). A step over it
    /// is stopped and fails (exit 1); one that cannot be stopped in place (Lua inside a C
    /// function) ends the process after the report is written (`JobRunner.emergencyExit`).
    public var stepTimeout: Double? = 900
    public var kubeconfig: String?
    public var istio = IstioSidecar.Endpoints()
    /// Only these steps (by name) when non-empty.
    public var only: [String] = []
    /// Not these steps (by name).
    public var skip: [String] = []
    /// `plan -o FILE`: the plan as JSON, every planned write with its full (masked) body.
    public var planFile: URL?
    /// `--full`: diffs print every change and whole values.
    public var fullDiffs = false
    /// Keep each written object's earlier state and the body sent (`JobReport.replaced`), for
    /// `--backup` (run mode only; it may hold secrets and is never logged).
    public var keepReplaced = false
    /// False for `list`: it sends nothing, so it needs no credentials.
    public var requireSecrets = true
    /// `-q`: warnings, errors and the summary only.
    public var quiet = false
    /// `-v` 1 (each request), `-vv` 2 (also the HTTP client's log).
    public var verbosity = 0
    /// Colour the text output (a terminal; see TerminalColor.enabled).
    public var color = false

    public init() {}
}

public enum StepStatus: String, Sendable {
    case done, skipped, failed, stopped, interrupted
    case notRun = "not run"
}

public struct StepOutcome: Sendable {
    public let name: String
    public var status: StepStatus
    public var reason: String
    public var writes = 0
    public var requests = 0
    public var seconds: Double = 0
    public var error: String?
    /// Fields of this step's writes the console did not keep (verify after write).
    public var notKept = 0
}

public struct JobReport: Sendable {
    public var mode: JobMode
    public var steps: [StepOutcome] = []
    public var writes: [WriteRecord] = []
    /// Objects the plan could not compare (`job.cannot_compare`): lines, not changes.
    public var cannotCompare: [CannotCompare] = []
    /// What the run replaced, unredacted (only with `JobOptions.keepReplaced`; not in `json`).
    public var replaced: [ReplacedObject] = []
    public var exitCode: Int32 = 0
    public var stopMessage: String?
    public var problems: [String] = []
    public var warnings: [String] = []
    public var seconds: Double = 0
    /// Output that could not be written (a closed pipe, a full disk): "stdout: 3 writes dropped (…)".
    public var outputDropped: [String] = []

    public init(mode: JobMode) { self.mode = mode }

    public var json: JSON {
        var o: [String: JSON] = [
            "mode": .string(mode.rawValue),
            "exitCode": .int(Int64(exitCode)),
            "seconds": .double((seconds * 1000).rounded() / 1000),
            "steps": .array(steps.map { s in
                var e: [String: JSON] = [
                    "name": .string(s.name), "status": .string(s.status.rawValue), "reason": .string(s.reason),
                    "writes": .int(Int64(s.writes)), "requests": .int(Int64(s.requests)),
                    "seconds": .double((s.seconds * 1000).rounded() / 1000),
                ]
                if let err = s.error { e["error"] = .string(err) }
                if s.notKept > 0 { e["notKept"] = .int(Int64(s.notKept)) }
                return .object(e)
            }),
            "writes": .array(writes.map { $0.json }),
            "totals": .object([
                "steps": .int(Int64(steps.count)),
                "done": .int(Int64(steps.filter { $0.status == .done }.count)),
                "failed": .int(Int64(steps.filter { $0.status == .failed }.count)),
                "skipped": .int(Int64(steps.filter { $0.status == .skipped }.count)),
                "writes": .int(Int64(steps.reduce(0) { $0 + $1.writes })),
                "requests": .int(Int64(steps.reduce(0) { $0 + $1.requests })),
                "notKept": .int(Int64(steps.reduce(0) { $0 + $1.notKept })),
            ]),
        ]
        if let m = stopMessage { o["stopped"] = .string(m) }
        // A run that stopped early (refused credentials, no license) or failed did not configure
        // what came after, whatever its exit code: said where tools look first.
        if mode == .run { o["configured"] = .bool(exitCode == JobExitCode.done && stopMessage == nil) }
        if !cannotCompare.isEmpty { o["cannotCompare"] = .array(cannotCompare.map { $0.json }) }
        if !problems.isEmpty { o["problems"] = .array(problems.map { .string($0) }) }
        if !warnings.isEmpty { o["warnings"] = .array(warnings.map { .string($0) }) }
        if !outputDropped.isEmpty { o["outputDropped"] = .array(outputDropped.map { .string($0) }) }
        return .object(o)
    }
}

/// Exit codes of `twistlock-init run` and `plan` (documented in `--help` and the README).
public enum JobExitCode {
    public static let done: Int32 = 0
    public static let stepFailed: Int32 = 1
    public static let invalidInput: Int32 = 2
    public static let stoppedStrict: Int32 = 3
    public static let interrupted: Int32 = 143
}

/// The run loop: values → validation (all problems at once, before any request) → manifest
/// and gates → each enabled step in order on one Lua VM → the summary and report.
// @unchecked Sendable: the VM, context, watchdog, progress, interrupt reason and reportRefused
// are guarded by `lock` (the signal handler and the watchdog's thread read them);
// `emergencyExit` is set before `run` and only read afterwards.
public final class JobRunner: @unchecked Sendable {
    public let options: JobOptions
    public let log: JobLog
    public let redactor: Redactor
    private let lock = NSLock()
    private var vm: LuaVM?
    private var context: JobContext?
    private var interruptedBy: String?
    private var watchdog: StepWatchdog?
    /// What the watchdog needs to write a report when a step cannot be stopped in place.
    private var progress: (report: JobReport, remaining: [StepOutcome], started: Double)?
    /// Called (once) when a step did not stop within a second of an interrupt or of its limit
    /// (Lua inside a C function, where no hook runs), after the report was written and the
    /// sidecar asked to quit, with the exit code: the binary ends the process there. Unset
    /// (tests in process), the run keeps waiting for the step.
    public var emergencyExit: (@Sendable (Int32) -> Void)?
    /// `--report-json` names a path the report cannot go to (refused as invalid input).
    private var reportRefused = false

    public init(options: JobOptions, log: JobLog? = nil) {
        self.options = options
        let redactor = log?.redactor ?? Redactor()
        self.redactor = redactor
        self.log = log ?? JobLog(format: options.logFormat, redactor: redactor)
        if options.quiet { self.log.quiet = true }
        if options.color { self.log.color = true }
    }

    /// Loads and validates values and the manifest; used by `list`, `run` and `plan`.
    public static func prepare(_ options: JobOptions, redactor: Redactor) throws -> (Values, [StepSpec]) {
        let values = try ValuesLoader.load(files: options.valuesFiles, sets: options.sets, setStrings: options.setStrings,
                                           secretsDir: options.secretsDir, strict: options.strict,
                                           requireSecrets: options.requireSecrets)
        for s in values.secrets { redactor.add(s) }
        let steps = try Manifest.load(stepsDirs: options.stepsDirs)
        let problems = validateConditions(steps, values: values) + validateSelection(options, steps: steps)
            + StepCheck.compileProblems(steps, stepsDirs: options.stepsDirs)
        if !problems.isEmpty { throw ValuesError.invalid(problems) }
        return (values, steps)
    }

    /// `--only` and `--skip` name steps that exist.
    static func validateSelection(_ options: JobOptions, steps: [StepSpec]) -> [ValuesProblem] {
        let names = steps.map(\.name)
        var problems: [ValuesProblem] = []
        for (flag, given) in [("--only", options.only), ("--skip", options.skip)] {
            for name in given where !names.contains(name) {
                var message = "\(JSON.quote(name)) is not a step"
                if let near = UnknownKeys.suggestion(for: name, among: names) { message += " (did you mean \(near)?)" }
                message += "; the steps are: \(names.joined(separator: ", "))"
                problems.append(ValuesProblem(key: flag, message: message))
            }
        }
        return problems
    }

    /// Whether `--only`/`--skip` leave a step out, and why.
    static func deselected(_ name: String, _ options: JobOptions) -> String? {
        if !options.only.isEmpty && !options.only.contains(name) { return "not selected (--only)" }
        if options.skip.contains(name) { return "skipped with --skip" }
        return nil
    }

    /// SIGTERM (the Job's deadline): abandon the request in flight, stop the step.
    public func interrupt(reason: String) {
        lock.lock()
        interruptedBy = reason
        let vm = self.vm
        let ctx = self.context
        lock.unlock()
        // One token: the console client, the Kubernetes client and time.sleep.
        ctx?.interrupt.fire()
        vm?.interrupt(reason: reason)
        lock.withLock { watchdog }?.signalled(reason)
    }

    /// The watchdog found the step over its limit (or the run over its deadline): stop it.
    private func stopForLimit(_ reason: StepWatchdog.Reason) {
        if case .signal = reason { return }  // `interrupt(reason:)` stopped it already
        let (vm, ctx) = lock.withLock { (self.vm, self.context) }
        ctx?.interrupt.fire()
        vm?.interrupt(reason: JobRunner.describeLimit(reason))
    }

    static func describeLimit(_ reason: StepWatchdog.Reason) -> String {
        switch reason {
        case .signal(let name): return "interrupted by \(name)"
        case .stepLimit(let s): return "over its time limit of \(FlagRange.format(s)) s (--step-timeout)"
        case .deadline(let s): return "the run's deadline of \(FlagRange.format(s)) s (--deadline) passed during this step"
        }
    }

    /// A step that did not stop (Lua inside a C function): write the report naming it and why,
    /// ask the sidecar to quit, and end the process through `emergencyExit`.
    private func stuck(_ running: StepWatchdog.Running, _ reason: StepWatchdog.Reason, istio: IstioSidecar?) {
        guard let exit = emergencyExit, let saved = lock.withLock({ progress }) else { return }
        let ctx = lock.withLock { context }
        var report = saved.report
        var outcome = StepOutcome(name: running.name, status: .failed, reason: "")
        outcome.seconds = Date().timeIntervalSince(running.started)
        let code: Int32
        switch reason {
        case .signal(let name):
            outcome.status = .interrupted
            outcome.error = "interrupted by \(name)"
            code = JobExitCode.interrupted
        default:
            outcome.error = "step \"\(running.name)\": \(JobRunner.describeLimit(reason))"
            code = JobExitCode.stepFailed
        }
        let why = "the step did not stop within \(FlagRange.format(lock.withLock { watchdog }?.grace ?? 1)) s (Lua inside a C function, e.g. a pattern match); the job ends here"
        outcome.reason = why
        report.steps.append(outcome)
        report.steps += saved.remaining
        if let ctx { report.writes = ctx.ledger.snapshot }
        report.exitCode = code
        report.seconds = ProcessInfo.processInfo.systemUptime - saved.started
        log.log(.error, "\(outcome.error ?? ""): \(why)", step: running.name)
        writeReport(report)
        printSummary(report)
        istio?.quit(timeout: 0.5)
        exit(code)
    }

    /// One run: the input checked, the client and the VM built, each step in order, the report.
    public func run() -> JobReport {
        let started = ProcessInfo.processInfo.systemUptime
        var report = JobReport(mode: options.mode)
        guard let (values, steps) = loadInput(&report, started: started) else { return report }

        let connection = makeConnection()
        let istio = IstioSidecar(endpoints: options.istio, log: log)
        let istioEnabled = values.root["istio"]?["enabled"]?.boolValue ?? false
        defer { if istioEnabled { istio.quit() } }

        guard let client = makeClient(connection, values: values, report: &report, started: started) else { return report }
        defer { client.shutdown() }
        let ctx = makeContext(values: values, client: client)
        guard let vm = makeVM(ctx, report: &report, started: started) else { return report }
        let interruptedEarly = lock.withLock { () -> Bool in
            self.vm = vm
            self.context = ctx
            return interruptedBy != nil
        }
        // SIGTERM before the VM existed (loading values, building the client): no request starts.
        if interruptedEarly { client.interrupt() }
        let watchdog = startWatchdog(connection, istio: istioEnabled ? istio : nil)
        defer { watchdog.finish() }

        if istioEnabled { istio.waitUntilReady(pause: client.pause) }

        log.print("twistlock-init \(options.mode == .plan ? "plan" : "run") against \(options.consoleURL)")
        let setup = RunSetup(steps: steps, values: values, client: client, ctx: ctx, vm: vm, watchdog: watchdog,
                             runDeadline: connection.deadline, started: started)
        let interruptedBetweenSteps = runSteps(setup, report: &report)
        conclude(&report, ctx: ctx, interruptedBetweenSteps: interruptedBetweenSteps, started: started)
        return report
    }

    /// The report's last fields, and the report file: every way out of `run()` ends here.
    private func complete(_ report: inout JobReport, started: Double) {
        report.seconds = ProcessInfo.processInfo.systemUptime - started
        report.outputDropped = SafeOutput.droppedSummary
        writeReport(report)
    }

    /// The flags and the values and steps, with all their problems at once, before any request.
    /// nil (the report says why, the sidecar is asked to quit): the input is invalid.
    private func loadInput(_ report: inout JobReport, started: Double) -> (Values, [StepSpec])? {
        // User info in the console URL is refused below; masked from here on all the same.
        for s in ConsoleURL.userInfoSecrets(options.consoleURL) where s.count >= Redactor.minimumLength { redactor.add(s) }
        // The flags themselves (ranges, console URL, CA file, report path): with the values'
        // problems, all at once, before any request.
        var inputProblems = options.problems
        var prepared: (Values, [StepSpec])?
        do {
            prepared = try JobRunner.prepare(options, redactor: redactor)
        } catch {
            inputProblems += JobRunner.problemLines(error)
        }
        if let report = options.reportJSON, ReportFile.problem(report) != nil { lock.withLock { reportRefused = true } }
        guard let (values, steps) = prepared, inputProblems.isEmpty else {
            report.problems = inputProblems.map { redactor.redact($0) }
            report.exitCode = JobExitCode.invalidInput
            log.log(.error, "nothing was sent to the console: the input is invalid")
            for p in report.problems { log.log(.error, p) }
            complete(&report, started: started)
            // The sidecar still has to go, or the Job's pod never completes.
            if JobRunner.istioRequested(options) { IstioSidecar(endpoints: options.istio, log: log).quit() }
            return nil
        }
        report.warnings = values.warnings.map { "\($0.key): \($0.message)" }
        for w in report.warnings { log.log(.warn, w) }
        return (values, steps)
    }

    private func makeConnection() -> ConsoleConnection {
        var connection = ConsoleConnection(baseURL: options.consoleURL, caFile: options.caFile)
        connection.requestTimeout = options.requestTimeout
        connection.maxRetries = options.maxRetries
        connection.backoffBase = options.backoffBase
        if let d = options.deadlineSeconds { connection.deadline = Date().addingTimeInterval(d) }
        return connection
    }

    /// The console client with its retry log, verbosity and credentials. nil (the report says
    /// why): the CA file cannot be used.
    private func makeClient(_ connection: ConsoleConnection, values: Values, report: inout JobReport, started: Double) -> ConsoleClient? {
        let client: ConsoleClient
        do {
            client = try ConsoleClient(connection: connection, redactor: redactor)
        } catch {
            report.problems = ["--ca-file: \(error)"]
            report.exitCode = JobExitCode.invalidInput
            log.log(.error, "\(error)")
            complete(&report, started: started)
            return nil
        }
        client.onRetry = { [log] line in log.log(.warn, line) }
        attachVerbosity(to: client)
        if let user = values.root["console"]?["credentials"]?["username"]?.stringValue,
           let pass = values.root["console"]?["credentials"]?["password"]?.stringValue, !user.isEmpty {
            client.setCredentials(username: user, password: pass)
        }
        return client
    }

    private func makeContext(values: Values, client: ConsoleClient) -> JobContext {
        let ctx = JobContext(mode: options.mode, strict: options.strict, values: values, redactor: redactor,
                             log: log, console: client, secretsDir: options.secretsDir, kubeconfig: options.kubeconfig)
        ctx.fullDiffs = options.fullDiffs
        ctx.ledger.keepReplaced = options.keepReplaced
        return ctx
    }

    /// The Lua VM with its limits and the host's primitives. nil (the report says why): it
    /// could not start.
    private func makeVM(_ ctx: JobContext, report: inout JobReport, started: Double) -> LuaVM? {
        do {
            let vm = try LuaVM(limits: LuaLimits(memoryBytes: options.memoryLimitBytes, instructionLimit: options.instructionLimit))
            vm.libraryDirectories = options.stepsDirs
            // A step's print() is a log line like any other: masked, never raw on stderr.
            vm.printHandler = { [log, ctx] text in log.log(.info, text, step: ctx.step.isEmpty ? nil : ctx.step) }
            try Primitives.register(on: vm, context: ctx, stepsDirs: options.stepsDirs)
            return vm
        } catch {
            report.problems = ["cannot start the Lua VM: \(error)"]
            report.exitCode = JobExitCode.stepFailed
            log.log(.error, report.problems[0])
            complete(&report, started: started)
            return nil
        }
    }

    /// The watchdog of the steps' limits and the run's deadline, running; `istio`: the sidecar
    /// to ask to quit when a step is stuck (nil: none).
    private func startWatchdog(_ connection: ConsoleConnection, istio: IstioSidecar?) -> StepWatchdog {
        let watchdog = StepWatchdog(runDeadline: connection.deadline, deadlineSeconds: options.deadlineSeconds,
                                    onStop: { [weak self] reason in self?.stopForLimit(reason) },
                                    onStuck: { [weak self] running, reason in
                                        self?.stuck(running, reason, istio: istio)
                                    })
        lock.withLock { self.watchdog = watchdog }
        watchdog.start()
        return watchdog
    }

    /// What the steps of one run share, built by `run()` before the first step.
    private struct RunSetup {
        let steps: [StepSpec]
        let values: Values
        let client: ConsoleClient
        let ctx: JobContext
        let vm: LuaVM
        let watchdog: StepWatchdog
        let runDeadline: Date?
        let started: Double
    }

    /// Each step in order, its outcome in the report. Returns whether an interrupt came
    /// between steps (no step shows it as its own status; the exit code does).
    private func runSteps(_ setup: RunSetup, report: inout JobReport) -> Bool {
        // Why the steps still to come do not run (a stop, an interrupt, a failure); nil: they do.
        var halted: String? = nil
        var interruptedBetweenSteps = false
        for spec in setup.steps {
            var outcome = StepOutcome(name: spec.name, status: .skipped, reason: "")
            let gate = spec.when.evaluate(setup.values)
            if let why = JobRunner.deselected(spec.name, options) {
                outcome.reason = why
                report.steps.append(outcome)
                continue
            }
            guard gate.run else {
                outcome.reason = gate.reason
                log.print("○ \(spec.name) — skipped: \(gate.reason)", event: "step", fields: [
                    "step": .string(spec.name), "status": .string("skipped"), "reason": .string(gate.reason)])
                report.steps.append(outcome)
                continue
            }
            if let why = halted {
                outcome.status = .notRun
                outcome.reason = why
                report.steps.append(outcome)
                continue
            }
            if let by = lock.withLock({ interruptedBy }) {
                // Interrupted between steps (or while waiting for the sidecar): start no more.
                outcome.status = .notRun
                outcome.reason = "the run was interrupted by \(by) before this step"
                halted = outcome.reason
                interruptedBetweenSteps = true
                log.log(.error, "interrupted by \(by) before step \(spec.name); no further step runs")
                report.steps.append(outcome)
                continue
            }
            let ran = runStep(spec, reason: gate.reason, setup, report: &report, halted: &halted)
            report.steps.append(ran)
            setup.ctx.step = ""
        }
        return interruptedBetweenSteps
    }

    /// Runs one step under its time limit and measures it; a step that does not end done sets
    /// `halted`.
    private func runStep(_ spec: StepSpec, reason: String, _ setup: RunSetup, report: inout JobReport, halted: inout String?) -> StepOutcome {
        let (client, ctx, watchdog) = (setup.client, setup.ctx, setup.watchdog)
        var outcome = StepOutcome(name: spec.name, status: .skipped, reason: reason)
        log.print("▶ \(spec.name) — \(spec.description)", event: "step", fields: [
            "step": .string(spec.name), "status": .string("started")])
        ctx.step = spec.name
        try? setup.vm.setField("job", "step", .string(spec.name))
        let limit = stepLimit(runDeadline: setup.runDeadline)
        client.stepDeadline = limit.map { Date().addingTimeInterval($0) }
        lock.withLock { progress = (report, JobRunner.remaining(after: spec, in: setup.steps, values: setup.values, options: options), setup.started) }
        watchdog.stepStarted(spec.name, limit: limit)
        let requestsBefore = client.requestCount
        let writesBefore = ctx.ledger.records.count
        let t0 = ProcessInfo.processInfo.systemUptime
        do {
            let source = try RegularFile.text(spec.file.path)
            defer {
                watchdog.stepEnded()
                client.stepDeadline = nil
            }
            try setup.vm.run(source: source, chunkName: JobRunner.chunkName(spec), instructionLimit: options.instructionLimit)
            outcome.status = .done
        } catch {
            recordFailure(error, spec: spec, setup, outcome: &outcome, report: &report, halted: &halted)
        }
        verifyWrites(ctx, spec: spec, outcome: &outcome, halted: &halted)
        outcome.seconds = ProcessInfo.processInfo.systemUptime - t0
        outcome.requests = client.requestCount - requestsBefore
        outcome.writes = ctx.ledger.records.count - writesBefore
        if outcome.status == .done { logDone(outcome) }
        return outcome
    }

    /// The step's wall-clock limit (`--step-timeout`), within what is left of the run's deadline.
    private func stepLimit(runDeadline: Date?) -> Double? {
        var limit = options.stepTimeout
        if let d = runDeadline { limit = min(limit ?? .infinity, max(d.timeIntervalSinceNow, 0)) }
        return limit
    }

    /// Why a step ended with an error: `job.stop`, an interrupt, its time limit, or a failure.
    private func recordFailure(_ error: Error, spec: StepSpec, _ setup: RunSetup, outcome: inout StepOutcome,
                               report: inout JobReport, halted: inout String?) {
        if let stop = JobStop.carried(by: error)?.message {
            outcome.status = .stopped
            outcome.error = redactor.redact(stop)
            report.stopMessage = outcome.error
            halted = "the run was stopped by step \(spec.name)"
            log.log(options.strict ? .error : .warn, "stopped: \(stop)", step: spec.name)
        } else if let by = lock.withLock({ interruptedBy }) {
            outcome.status = .interrupted
            outcome.error = "interrupted by \(by)"
            halted = "the run was interrupted by \(by) during \(spec.name)"
            log.log(.error, "interrupted by \(by); the step's current request was abandoned", step: spec.name)
        } else if let limitReason = setup.watchdog.reason(for: spec.name) {
            outcome.status = .failed
            outcome.error = "step \"\(spec.name)\": \(JobRunner.describeLimit(limitReason))"
            halted = "an earlier step (\(spec.name)) failed"
            log.log(.error, outcome.error!, step: spec.name)
        } else {
            outcome.status = .failed
            outcome.error = redactor.redact("step \"\(spec.name)\": \(JobRunner.describe(error))")
            halted = "an earlier step (\(spec.name)) failed"
            log.log(.error, outcome.error!, step: spec.name)
        }
    }

    private func logDone(_ outcome: StepOutcome) {
        let what = outcome.writes == 0 ? "no changes" : "\(outcome.writes) \(options.mode == .plan ? "planned " : "")write\(outcome.writes == 1 ? "" : "s")"
        log.print("  ✔ \(outcome.name) done (\(what))", event: "step", fields: [
            "step": .string(outcome.name), "status": .string("done"),
            "writes": .int(Int64(outcome.writes)), "requests": .int(Int64(outcome.requests))])
    }

    /// After the last step: the ledger into the report, the exit code, the plan file, the
    /// summary and the report file.
    private func conclude(_ report: inout JobReport, ctx: JobContext, interruptedBetweenSteps: Bool, started: Double) {
        lock.withLock { self.vm = nil }
        report.writes = ctx.ledger.records
        report.cannotCompare = ctx.ledger.cannotCompare
        report.replaced = ctx.ledger.replaced
        report.exitCode = JobRunner.exitCode(report, interruptedBetweenSteps: interruptedBetweenSteps, strict: options.strict)
        report.seconds = ProcessInfo.processInfo.systemUptime - started
        if options.mode == .plan { writePlanFile(report, ledger: ctx.ledger) }
        printSummary(report)
        complete(&report, started: started)
    }

    /// The exit code of a run whose steps all had their turn: an interrupt, a failure, a stop
    /// with `--strict`, else done.
    static func exitCode(_ report: JobReport, interruptedBetweenSteps: Bool, strict: Bool) -> Int32 {
        if report.steps.contains(where: { $0.status == .interrupted }) || interruptedBetweenSteps {
            return JobExitCode.interrupted
        } else if report.steps.contains(where: { $0.status == .failed }) {
            return JobExitCode.stepFailed
        } else if report.stopMessage != nil && strict {
            return JobExitCode.stoppedStrict
        }
        return report.exitCode
    }

    /// Verify after write (`WriteVerifier`): reads back what the step wrote; a field not kept
    /// is reported, and with `--strict` fails a step that was otherwise done.
    private func verifyWrites(_ ctx: JobContext, spec: StepSpec, outcome: inout StepOutcome, halted: inout String?) {
        guard outcome.status != .interrupted, options.mode == .run else { return }
        let notKept = ctx.verifier.flush(ctx)
        outcome.notKept = notKept
        guard notKept > 0 else { return }
        let fields = "\(notKept) field\(notKept == 1 ? "" : "s")"
        log.log(.warn, "the console did not keep \(fields) this step wrote (see the lines above); a step that forces them writes them again on every run", step: spec.name)
        if options.strict && outcome.status == .done {
            outcome.status = .failed
            outcome.error = "step \"\(spec.name)\": the console did not keep \(fields) it was sent (--strict)"
            halted = "an earlier step (\(spec.name)) failed"
            log.log(.error, outcome.error!, step: spec.name)
        }
    }

    /// `istio.enabled` as the files and `--set` say, read leniently (for values that failed
    /// validation): the last file or argument that sets it to a bool wins.
    static func istioRequested(_ options: JobOptions) -> Bool {
        var enabled = false
        for file in options.valuesFiles {
            if let document = try? ValuesYAML.read(file: file), let b = document["istio"]?["enabled"]?.boolValue {
                enabled = b
            }
        }
        for argument in options.sets {
            for a in (try? SetArguments.parse(argument)) ?? [] where a.path == [.key("istio"), .key("enabled")] {
                if let b = a.value.boolValue { enabled = b }
            }
        }
        return enabled
    }

    /// How the steps after `spec` would show in the report if the run ended during it.
    static func remaining(after spec: StepSpec, in steps: [StepSpec], values: Values, options: JobOptions) -> [StepOutcome] {
        guard let i = steps.firstIndex(where: { $0.name == spec.name }) else { return [] }
        return steps[(i + 1)...].map { next in
            if let why = deselected(next.name, options) { return StepOutcome(name: next.name, status: .skipped, reason: why) }
            let gate = next.when.evaluate(values)
            if !gate.run { return StepOutcome(name: next.name, status: .skipped, reason: gate.reason) }
            return StepOutcome(name: next.name, status: .notRun, reason: "the run ended during \(spec.name)")
        }
    }

    static func chunkName(_ spec: StepSpec) -> String {
        let dir = spec.origin.lastPathComponent
        return "\(dir)/\(spec.file.lastPathComponent)"
    }

    static func describe(_ error: Error) -> String {
        if let e = error as? LuaError { return e.description }
        return "\(error)"
    }

    public static func problemLines(_ error: Error) -> [String] {
        if let e = error as? ValuesError, case .invalid(let problems) = e {
            return problems.map { "\($0.key): \($0.message)" }
        }
        return ["\(error)"]
    }

    private func writeReport(_ report: JobReport) {
        guard let url = options.reportJSON, !lock.withLock({ reportRefused }) else { return }
        let text = TextSafety.escapeJSONLine(redactor.redact(report.json.encoded(pretty: true))) + "\n"
        do {
            // A new file beside the target, renamed over it: only ever a regular file.
            try ReportFile.write(text, to: url)
        } catch {
            log.log(.error, "\(error)")
        }
    }

    func printSummary(_ report: JobReport) {
        if log.format == .json {
            log.print("", event: "summary", fields: report.json.objectValue?.filter { $0.key != "writes" } ?? [:])
            if let line = report.notConfiguredLine { log.print(line, event: "not-configured") }
            return
        }
        let rows = report.steps.map { s -> [String] in
            [s.name, s.status.rawValue, "\(s.writes)", "\(s.requests)", s.status == .skipped || s.status == .notRun ? "" : String(format: "%.2fs", s.seconds)]
        }
        let header = ["step", "result", options.mode == .plan ? "planned" : "writes", "requests", "time"]
        var widths = header.map { $0.count }
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }
        log.print("", event: "summary")
        log.print(line(header), event: "summary")
        log.print(line(widths.map { String(repeating: "─", count: $0) }), event: "summary")
        for r in rows { log.print(line(r), event: "summary") }
        let writes = report.steps.reduce(0) { $0 + $1.writes }
        let requests = report.steps.reduce(0) { $0 + $1.requests }
        let notKept = report.steps.reduce(0) { $0 + $1.notKept }
        let notKeptText = notKept == 0 ? "" : ", \(notKept) field\(notKept == 1 ? "" : "s") not kept by the console"
        let verdict: String
        switch report.exitCode {
        case JobExitCode.done: verdict = report.stopMessage == nil ? "done" : "stopped early: \(report.stopMessage!)"
        case JobExitCode.stoppedStrict: verdict = "stopped (--strict): \(report.stopMessage ?? "")"
        case JobExitCode.interrupted: verdict = "interrupted"
        default: verdict = "failed"
        }
        if options.mode == .plan { log.print(report.planLine, event: "summary") }
        log.print("\(options.mode == .plan ? "plan" : "run") \(verdict) — \(writes) \(options.mode == .plan ? "planned write" : "write")\(writes == 1 ? "" : "s")\(notKeptText), \(requests) request\(requests == 1 ? "" : "s"), \(String(format: "%.2f", report.seconds)) s", event: "summary")
        if let line = report.notConfiguredLine { log.print(line, event: "not-configured") }
    }
}
