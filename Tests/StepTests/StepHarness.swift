import ConsoleSimulator
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import JobConfig
import JSONModel
import KubeSimulator
import TestSupport
import TwistlockInit
import XCTest

/// Runs the job's steps end to end over real HTTP on loopback: a ConsoleSimulator (and, when
/// asked, a KubeSimulator) in-process, the job on its own thread, the simulator's state, request
/// log and conformance findings for the assertions.
///
/// ```swift
/// let h = try await StepHarness.start()
/// defer { h.cleanUp() }   // or: await h.stop()
/// let run = await h.run(values: "policies: {enabled: true}")
/// XCTAssertEqual(run.report.exitCode, 0)
/// let state = try await h.state()
/// ```
final class StepHarness: @unchecked Sendable {
    static let projectSteps = Project.steps

    /// Credentials and license the base values use (from the secrets directory).
    static let adminUser = "admin"
    static let adminPassword = "Adm1n-Pa55word-for-tests"

    let sim: ConsoleSimulator
    let consoleURL: String
    let kube: KubeSimulator?
    let workDir: URL
    let secretsDir: URL
    let kubeconfig: URL?
    let licenseKey: String

    /// Values every run starts from: only the console steps (wait, admin, license) are on;
    /// each test turns on what it checks, as a second values file.
    static let baseValues = """
    console:
      credentials:
        username: \(adminUser)
      trustedImages:
        enabled: false
      options:
        enabled: false
    defender:
      enabled: false
    policies:
      enabled: false
    init:
      waitTimeoutSeconds: 20
    """

    private init(sim: ConsoleSimulator, url: String, kube: KubeSimulator?, workDir: URL,
                 secretsDir: URL, kubeconfig: URL?, licenseKey: String) {
        self.sim = sim
        self.consoleURL = url
        self.kube = kube
        self.workDir = workDir
        self.secretsDir = secretsDir
        self.kubeconfig = kubeconfig
        self.licenseKey = licenseKey
    }

    /// Starts a fresh simulated console (and a Kubernetes API server when `kube` is true).
    static func start(options: SimulatorOptions = SimulatorOptions(), kube: Bool = false,
                      kubeOptions: KubeSimulator.Options = KubeSimulator.Options(),
                      license: Bool = true) async throws -> StepHarness {
        let sim = ConsoleSimulator(options: options)
        let url = try await sim.start()
        let work = FileManager.default.temporaryDirectory
            .appendingPathComponent("twistlock-init-tests-\(UUID().uuidString)")
        let secrets = work.appendingPathComponent("secrets")
        try FileManager.default.createDirectory(at: secrets, withIntermediateDirectories: true)
        try adminPassword.write(to: secrets.appendingPathComponent("console.credentials.password"), atomically: true, encoding: .utf8)
        let key = SimulatorLicense.makeKey(customer: "harness", expires: Date().addingTimeInterval(365 * 86400))
        if license {
            try (key + "\n").write(to: secrets.appendingPathComponent("console.license"), atomically: true, encoding: .utf8)
        }
        var kubeSim: KubeSimulator?
        var kubeconfig: URL?
        if kube {
            let k = KubeSimulator(options: kubeOptions)
            try await k.startAsync()
            kubeSim = k
            let cfg = work.appendingPathComponent("kubeconfig")
            try k.kubeconfig.write(to: cfg, atomically: true, encoding: .utf8)
            kubeconfig = cfg
        }
        var base = url.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        return StepHarness(sim: sim, url: base, kube: kubeSim, workDir: work, secretsDir: secrets,
                           kubeconfig: kubeconfig, licenseKey: key)
    }

    struct Run {
        let report: JobReport
        let lines: [String]
        var output: String { lines.joined(separator: "\n") }
        func step(_ name: String) -> StepOutcome? { report.steps.first { $0.name == name } }
    }

    /// Runs the job: the base values, then `values` (YAML) on top, then `sets`.
    func run(values: String = "", sets: [String] = [], mode: JobMode = .run, only: [String] = [],
             extraStepsDirs: [URL] = [], strict: Bool = false, logFormat: LogFormat = .text,
             reportJSON: URL? = nil, configure: ((inout JobOptions) -> Void)? = nil) async throws -> Run {
        var options = try self.options(values: values, sets: sets, extraStepsDirs: extraStepsDirs)
        options.mode = mode
        options.only = only
        options.strict = strict
        options.logFormat = logFormat
        options.reportJSON = reportJSON
        configure?(&options)
        return await StepHarness.runJob(options)
    }

    /// The options `run` uses (base values, then `values`, then `sets`), also for tests that
    /// drive a `JobRunner` themselves (to interrupt it).
    func options(values: String = "", sets: [String] = [], extraStepsDirs: [URL] = [],
                 configure: ((inout JobOptions) -> Void)? = nil) throws -> JobOptions {
        let baseFile = workDir.appendingPathComponent("base-values.yaml")
        try StepHarness.baseValues.write(to: baseFile, atomically: true, encoding: .utf8)
        let file = workDir.appendingPathComponent("values-\(UUID().uuidString).yaml")
        try values.write(to: file, atomically: true, encoding: .utf8)
        var options = JobOptions()
        options.valuesFiles = [baseFile, file]
        options.sets = sets
        options.stepsDirs = [StepHarness.projectSteps] + extraStepsDirs
        options.secretsDir = secretsDir
        options.consoleURL = consoleURL
        options.kubeconfig = kubeconfig?.path
        options.backoffBase = 0.01
        options.requestTimeout = 10
        configure?(&options)
        return options
    }

    /// Runs the job on its own thread (it blocks on HTTP; the test's executor must not).
    static func runJob(_ options: JobOptions) async -> Run {
        await withCheckedContinuation { (cont: CheckedContinuation<Run, Never>) in
            let thread = Thread {
                let log = JobLog(format: options.logFormat, redactor: Redactor(), keepLines: true, sink: { _ in })
                let report = JobRunner(options: options, log: log).run()
                cont.resume(returning: Run(report: report, lines: log.lines))
            }
            thread.stackSize = 16 << 20
            thread.start()
        }
    }

    // MARK: - Inspection over the simulator's /sim endpoints

    func get(_ path: String) async throws -> JSON {
        let (data, resp) = try await URLSession.shared.data(from: URL(string: consoleURL + path)!)
        guard let http = resp as? HTTPURLResponse, http.statusCode == 200 else {
            throw NSError(domain: "StepHarness", code: 1, userInfo: [NSLocalizedDescriptionKey: "GET \(path) failed"])
        }
        return try JSON.parse(bytes: [UInt8](data))
    }

    func send(_ method: String, _ path: String, _ body: JSON? = nil) async throws -> Int {
        var req = URLRequest(url: URL(string: consoleURL + path)!)
        req.httpMethod = method
        if let body {
            req.httpBody = Data(body.encoded().utf8)
            req.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (_, resp) = try await URLSession.shared.data(for: req)
        return (resp as? HTTPURLResponse)?.statusCode ?? 0
    }

    /// The simulator's whole state.
    func state() async throws -> JSON { try await get("/sim/state") }

    /// Every request the simulator saw, oldest first.
    func requests() async throws -> [JSON] {
        let r = try await get("/sim/requests")
        if case .array(let items) = r { return items }
        return r["requests"]?.arrayValue ?? []
    }

    func clearRequests() async throws { _ = try await send("DELETE", "/sim/requests") }

    /// The requests that changed something (not GET, not login).
    func writes() async throws -> [JSON] {
        try await requests().filter { r in
            let m = r["method"]?.stringValue ?? ""
            let p = r["endpoint"]?.stringValue ?? r["path"]?.stringValue ?? ""
            return m != "GET" && !p.hasSuffix("authenticate") && !p.hasSuffix("defenders/daemonset.yaml")
        }
    }

    /// Every conformance finding of every request: the job must produce none.
    func findings() async throws -> [String] {
        try await requests().flatMap { r -> [String] in
            let where_ = "\(r["method"]?.stringValue ?? "") \(r["path"]?.stringValue ?? "")"
            return (r["findings"]?.arrayValue ?? []).map { "\(where_): \($0.encoded())" }
        }
    }

    /// Authenticated call to the console API as the admin (to change things "by hand").
    func api(_ method: String, _ path: String, _ body: JSON? = nil) async throws -> (Int, JSON?) {
        var req = URLRequest(url: URL(string: consoleURL + "/api/v1/" + path)!)
        req.httpMethod = method
        let basic = Data("\(StepHarness.adminUser):\(StepHarness.adminPassword)".utf8).base64EncodedString()
        req.setValue("Basic \(basic)", forHTTPHeaderField: "Authorization")
        if let body {
            req.httpBody = Data(body.encoded().utf8)
            req.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, resp) = try await URLSession.shared.data(for: req)
        let status = (resp as? HTTPURLResponse)?.statusCode ?? 0
        return (status, try? JSON.parse(bytes: [UInt8](data)))
    }

    func stop() async {
        await sim.stop()
        kube?.stop()
        try? FileManager.default.removeItem(at: workDir)
    }
}
