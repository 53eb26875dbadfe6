import ArgumentParser
import Foundation
import JobConfig
import JSONModel
import TwistlockInit

/// `twistlock-init probe`: which console variant a real console is (docs/console-variants.md).
struct Probe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask a console how it answers each open question the simulator has variants for; read-only unless --scratch.",
        discussion: """
        For each family of `twistlock-console-sim variants` (license, read-back, sso-groups, duplicate, \
        group-put, session, roles, policy-validation, root, api-prefix) the probe prints the variant the \
        console matched and the evidence: each request's status, the headers that matter and the answer's \
        shape (field names and types — never a value, a token or a whole policy). Credentials come from the \
        values (console.credentials) and --secrets-dir, as for `run`.

        Without --scratch nothing is written; the families that need a write are listed as \
        "not probed (needs --scratch)". With --scratch the probe creates groups and a user named \
        twistlock-init-probe-<random>-…, adds one rule (without collections) to the container runtime \
        policy and changes the logon settings' sessionTimeoutSec for one login; it removes and restores \
        all of it before it ends (also after an error, SIGTERM or SIGINT), reads the console again and \
        prints anything it could not restore with the command that removes it.

        --report-json writes the findings; `twistlock-console-sim --variants-from FILE` takes that file \
        back, so a console's answers become a simulator profile.

        Exit codes: 0 probed; 1 a request failed or the login was refused; 2 invalid input (nothing \
        sent); 4 a scratch object could not be removed or restored (printed); 143 interrupted (the \
        clean-up still ran).
        """)

    @Option(name: [.customShort("f"), .customLong("values")], help: ArgumentHelp("A Helm values file with console.credentials (repeatable; later files win).", valueName: "file"))
    var values: [String] = []

    @Option(name: .customLong("set"), help: ArgumentHelp("Set values like Helm's --set (repeatable).", valueName: "path=value"))
    var sets: [String] = []

    @Option(name: .customLong("secrets-dir"), help: ArgumentHelp("A directory of secret files (e.g. console.credentials.password), as for run.", valueName: "dir"))
    var secretsDir: String?

    @Option(name: .customLong("console-url"), help: ArgumentHelp("The console's management URL (default: as for run).", valueName: "url"))
    var consoleURL: String?

    @Option(name: .customLong("ca-file"), help: ArgumentHelp("A PEM CA to trust for the console's TLS certificate. TLS is always verified.", valueName: "file"))
    var caFile: String?

    @Option(name: .customLong("request-timeout"), help: "Seconds one console request may take.")
    var requestTimeout: Double = 30

    @Option(name: .customLong("retries"), help: "Retries for a failed idempotent request.")
    var retries: Int = 5

    @Flag(help: "Allow the questions that need a write, on scratch objects the probe removes before it ends.")
    var scratch = false

    @Option(name: .customLong("report-json"), help: ArgumentHelp("Write the findings as JSON (what twistlock-console-sim --variants-from reads).", valueName: "file"))
    var reportJSON: String?

    /// The flags checked before anything is read or sent (exit 2, one line naming the flag).
    func validate() throws {
        if let p = FlagRange.requestTimeout.problem(requestTimeout) { throw ValidationError(p) }
        if let p = FlagRange.retries.problem(retries) { throw ValidationError(p) }
        if let consoleURL, let p = ConsoleURL.problem(consoleURL) { throw ValidationError(p) }
        if let caFile, let p = CAFile.problem(caFile) { throw ValidationError(p) }
        if let reportJSON, let p = ReportFile.problem(URL(fileURLWithPath: reportJSON)) { throw ValidationError(p) }
    }

    func run() throws {
        let redactor = Redactor()
        let fail: ([String]) -> ExitCode = { lines in
            for l in lines { _ = SafeOutput.errorLine(redactor.redact("✘ " + l)) }
            return ExitCode(ProbeExitCode.invalidInput)
        }
        let loaded: Values
        do {
            loaded = try ValuesLoader.load(files: values.map { URL(fileURLWithPath: $0) }, sets: sets,
                                           secretsDir: secretsDir.map { URL(fileURLWithPath: $0, isDirectory: true) })
        } catch {
            throw fail(JobRunner.problemLines(error))
        }
        for s in loaded.secrets { redactor.add(s) }
        guard let user = loaded.string("console.credentials.username"), !user.isEmpty,
              let password = loaded.string("console.credentials.password"), !password.isEmpty else {
            throw fail(["console.credentials.username and console.credentials.password: the probe logs in with them (values or --secrets-dir)"])
        }
        var url = consoleURL ?? ""
        if consoleURL == nil {
            let (fromEnv, source) = RunOptions.consoleURLFromEnvironment()
            if let problem = ConsoleURL.problem(fromEnv, source: source) { throw fail([problem]) }
            url = fromEnv
        }
        var connection = ConsoleConnection(baseURL: url, caFile: caFile)
        connection.requestTimeout = requestTimeout
        connection.maxRetries = retries
        let probe: ConsoleProbe
        do {
            probe = try ConsoleProbe(options: ProbeOptions(connection: connection, username: user, password: password, scratch: scratch),
                                     redactor: redactor)
        } catch {
            throw fail(["--ca-file: \(error)"])
        }
        probe.onLine = { line in _ = SafeOutput.line(line) }

        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        var sources: [DispatchSourceSignal] = []
        for (sig, name) in [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")] {
            let s = DispatchSource.makeSignalSource(signal: sig, queue: DispatchQueue(label: "probe-signals"))
            s.setEventHandler { probe.interrupt(reason: name) }
            s.resume()
            sources.append(s)
        }
        let report = probe.run()
        for s in sources { s.cancel() }

        for line in report.summaryLines { _ = SafeOutput.line(redactor.redact(line)) }
        if let reportJSON {
            do {
                try (redactor.redact(report.json.encoded(pretty: true)) + "\n").write(toFile: reportJSON, atomically: true, encoding: .utf8)
            } catch {
                _ = SafeOutput.errorLine("✘ --report-json \(reportJSON): \(error)")
            }
        }
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }
}
