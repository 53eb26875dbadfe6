import ArgumentParser
import ConsoleSimulator
import Foundation
import JSONModel
import KubeSimulator
import Synchronization
import TwistlockInit
import TwistlockInitCLI

/// `twistlock-demo`: the newcomer's first run. Starts the console simulator and a small
/// Kubernetes API server on loopback, runs the job against them with demo values (plus the
/// operator's own -f/--set/--steps-dir), then runs it again to show that a second run writes
/// nothing. A binary of its own so that `twistlock-init`, the one in the image, links neither
/// the simulators nor Hummingbird. Started by `DemoMain`.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "twistlock-demo",
        abstract: "Run twistlock-init's job against a built-in simulated console (and Kubernetes API), twice: the second run writes nothing.",
        discussion: """
        Takes the same -f/--set/--steps-dir as `twistlock-init run`, applied over the demo values, so you \
        can try a values file or a custom step against a simulated console before going near a real one.
        Exits as `twistlock-init run` does (0 done, 1 a step failed, 2 invalid input, 143 interrupted).
        """,
        version: "0.1.0")

    @OptionGroup var input: InputOptions

    @Option(name: .customLong("log-format"), help: "text (✔ ⚠ ✘ lines) or json (one object per line).")
    var logFormat: LogFormat = .text

    @Flag(help: "Run once only (no second, idempotency-proving run).")
    var once = false

    @Flag(help: "Keep the simulated console serving after the runs (Ctrl-C to stop), to look around with curl.")
    var serve = false

    @Option(name: .customLong("report-json"), help: ArgumentHelp("Write the first run's report as JSON.", valueName: "file"))
    var reportJSON: String?

    static let demoValues = """
    # The demo's values: a typical Big Bang setup. Your -f files and --set go on top.
    domain: demo.example.mil
    console:
      credentials:
        username: admin
      additionalUsers:
        - username: alice
          role: devSecOps
          authType: basic
        - username: bob
          role: auditor
          authType: ldap
      groups:
        - group: platform-admins
          role: admin
          authType: oidcGroup
    monitoring:
      enabled: true
    defender:
      clusterName: demo-cluster
      podLabels:
        app.kubernetes.io/part-of: twistlock
      tolerations:
        - key: node-role.kubernetes.io/control-plane
          operator: Exists
          effect: NoSchedule
      rolloutTimeoutSeconds: 60
    policies:
      name: BigBang
    init:
      waitTimeoutSeconds: 30
    """

    func run() throws {
        let format = logFormat
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("twistlock-init-demo-\(UUID().uuidString)")
        let secrets = work.appendingPathComponent("secrets")
        try FileManager.default.createDirectory(at: secrets, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }

        // Secrets as the chart mounts them: one file per values key.
        func secret(_ name: String, _ value: String) throws {
            try value.write(to: secrets.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        try secret("console.credentials.password", Demo.randomPassword())
        try secret("console.additionalUsers.alice.password", Demo.randomPassword())
        try secret("monitoring.password", Demo.randomPassword())
        try secret("console.license", SimulatorLicense.makeKey(customer: "demo", expires: Date().addingTimeInterval(365 * 86400)))

        let sim = ConsoleSimulator(options: SimulatorOptions())
        let consoleURL = try Demo.blocking { try await sim.start() }
        let kube = KubeSimulator(options: KubeSimulator.Options())
        try kube.start()
        defer {
            kube.stop()
            Demo.blocking { await sim.stop() }
        }
        let kubeconfig = work.appendingPathComponent("kubeconfig")
        try kube.kubeconfig.write(to: kubeconfig, atomically: true, encoding: .utf8)
        let valuesFile = work.appendingPathComponent("demo-values.yaml")
        try Demo.demoValues.write(to: valuesFile, atomically: true, encoding: .utf8)

        var options = JobOptions()
        try input.apply(to: &options)
        options.valuesFiles = [valuesFile] + options.valuesFiles
        options.secretsDir = secrets
        var base = consoleURL.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        options.consoleURL = base
        options.kubeconfig = kubeconfig.path
        options.logFormat = format
        options.reportJSON = reportJSON.map { URL(fileURLWithPath: $0) }
        options.mode = .run

        let say: (String) -> Void = {
            if format == .text { SafeOutput.line($0) }
        }
        say("""
        ── twistlock-demo ──────────────────────────────────────────────────
        simulated console:   \(base)   (state: \(base)/sim/state, requests: \(base)/sim/requests)
        simulated cluster:   \(kube.baseURL)
        secrets directory:   \(secrets.path) (one file per key, as Kubernetes mounts a Secret)

        First run: a brand-new console.

        """)
        let first = Launcher.run(options)
        if first.exitCode != 0 || once {
            for line in DemoFindings.lines(sim.requests) { say(line) }
            if serve { Demo.serveForever(base) }
            if first.exitCode != 0 { throw ExitCode(first.exitCode) }
            return
        }
        say("\nSecond run: the same values against the now configured console.\n")
        options.reportJSON = nil
        let second = Launcher.run(options)
        let writes = second.steps.reduce(0) { $0 + $1.writes }
        say("""

        The second run made \(writes) write\(writes == 1 ? "" : "s")\(writes == 1 ? " (the license key: the console cannot show it back to compare)" : ""). \
        Try `twistlock-demo -f your-values.yaml`, or `--steps-dir` with a step of your own.

        """)
        for line in DemoFindings.lines(sim.requests) { say(line) }
        if serve { Demo.serveForever(base) }
        if second.exitCode != 0 { throw ExitCode(second.exitCode) }
    }

    static func serveForever(_ url: String) -> Never {
        SafeOutput.line("\nThe simulated console keeps serving at \(url) — Ctrl-C to stop.")
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
        while true { sleep(3600) }
    }

    static func randomPassword() -> String {
        let chars = Array("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        return "Demo-" + String((0..<20).map { _ in chars.randomElement()! })
    }

    /// Waits for async work from synchronous code (the simulators run on their own threads).
    @discardableResult
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let semaphore = DispatchSemaphore(value: 0)
        let outcome = Outcome<T>()
        Task {
            do { outcome.set(.success(try await body())) } catch { outcome.set(.failure(error)) }
            semaphore.signal()
        }
        semaphore.wait()
        return try outcome.get().get()
    }

    static func blocking(_ body: @escaping @Sendable () async -> Void) {
        let semaphore = DispatchSemaphore(value: 0)
        Task {
            await body()
            semaphore.signal()
        }
        semaphore.wait()
    }

    /// What the task of `blocking` hands back to the waiting thread.
    final class Outcome<T: Sendable>: Sendable {
        private let result = Mutex<Result<T, Error>?>(nil)
        func set(_ value: Result<T, Error>) { result.withLock { $0 = value } }
        func get() -> Result<T, Error> { result.withLock { $0! } }
    }
}
