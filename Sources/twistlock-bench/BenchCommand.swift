import ArgumentParser
import ConsoleSeeder
import ConsoleSimulator
import Foundation
import JSONModel
import KubeSimulator
import TwistlockInit

#if canImport(Glibc)
import Glibc
#endif

/// twistlock-bench: the whole job (every step), release build, against a console simulator
/// with a large compliance catalog and `--rules-per-policy` existing rules in each policy; run
/// twice (and a third time without the license key) to show wall time, requests, writes and
/// peak memory. See docs/benchmark.md. `twistlock-bench job ...` is one measured run, started
/// by the benchmark itself as a child process.
@main
enum BenchMain {
    static func main() {
        let args = CommandLine.arguments.dropFirst()
        if args.first == JobChild.configuration.commandName {
            JobChild.main(Array(args.dropFirst()))
        } else {
            Measure.main()
        }
    }
}

struct Measure: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "twistlock-bench",
        abstract: "Benchmark the whole job against a large simulated console: wall time, requests, writes, peak memory.",
        discussion: """
        Starts twistlock-console-sim in a process of its own, seeds it over its API (first admin, license, \
        N existing rules in each of the 11 policies the job touches), starts a Kubernetes API simulator \
        (in this process), then runs the job three times, each in a fresh child process: on the seeded \
        console, again with the same values, and again without the license key. Exits 1 when a run fails, \
        when the second run writes anything but the license key, when the third writes anything, or \
        when a seeded rule was lost; with --check-targets also when a target (1 s, 64 MiB) is missed.
        """)

    @Option(help: "Checks in the simulator's compliance catalog.")
    var catalogSize = 1200

    @Option(help: "Existing rules seeded into each policy before the first run.")
    var rulesPerPolicy = 50

    @Option(name: .customLong("console-sim"), help: ArgumentHelp("The twistlock-console-sim executable (default: beside this one).", valueName: "file"))
    var consoleSim: String?

    @Option(name: .customLong("builtin-steps"), help: ArgumentHelp("The job's steps directory (default: $TWISTLOCK_INIT_STEPS, ./steps, the source tree's).", valueName: "dir"))
    var builtinSteps: String?

    @Option(name: .customLong("json"), help: ArgumentHelp("Also write the results as JSON to this file.", valueName: "file"))
    var jsonFile: String?

    @Option(name: .customLong("keep-logs"), help: ArgumentHelp("Keep each run's job output (and its report) in this directory.", valueName: "dir"))
    var keepLogs: String?

    @Flag(help: "Exit 1 also when a target is missed (wall time ≥ 1 s, peak memory ≥ 64 MiB).")
    var checkTargets = false

    static let wallTarget = 1.0
    static let memoryTarget = 64 * 1024 * 1024

    func validate() throws {
        if catalogSize < ComplianceCatalog.minimumSize { throw ValidationError("--catalog-size must be at least \(ComplianceCatalog.minimumSize)") }
        if rulesPerPolicy < 1 || rulesPerPolicy > 1000 { throw ValidationError("--rules-per-policy must be between 1 and 1000") }
    }

    func run() throws {
        lineBufferStandardOutput()
        let fm = FileManager.default
        let work = fm.temporaryDirectory.appendingPathComponent("twistlock-bench-\(UUID().uuidString)")
        try fm.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: work) }
        let logDir = keepLogs.map { URL(fileURLWithPath: $0, isDirectory: true) } ?? work
        try fm.createDirectory(at: logDir, withIntermediateDirectories: true)

        let steps = try Measure.stepsDirectory(builtinSteps)
        let simExe = consoleSim.map { URL(fileURLWithPath: $0) }
            ?? selfExecutable().deletingLastPathComponent().appendingPathComponent("twistlock-console-sim")

        print("twistlock-bench: the whole job against a simulated console — \(Measure.buildKind) build, \(ProcessInfo.processInfo.activeProcessorCount) CPUs")
        let sim = try SimulatorProcess(executable: simExe, catalogSize: catalogSize)
        defer { sim.stop() }
        print("  console simulator  \(sim.url)  (own process, pid \(sim.process.processIdentifier); catalog \(catalogSize) checks)")

        // Seed: first admin, license, N rules per policy (validated by the simulator).
        let adminPassword = BenchValues.password(seed: "admin")
        let license = SimulatorLicense.makeKey(customer: "twistlock-bench", expires: Date().addingTimeInterval(365 * 86400))
        let redactor = Redactor()
        redactor.add(adminPassword)
        redactor.add(license)
        var connection = ConsoleConnection(baseURL: sim.url)
        connection.maxRetries = 2
        let client = try ConsoleClient(connection: connection, redactor: redactor)
        defer { client.shutdown() }
        let seeder = Seeder(client: client, rulesPerPolicy: rulesPerPolicy)
        let t0 = monotonicSeconds()
        try seeder.initialize(adminUser: BenchValues.adminUser, adminPassword: adminPassword, license: license)
        let seeded = try seeder.seedPolicies()
        let seededCount = seeded.values.reduce(0) { $0 + $1.count }
        print(String(format: "  seeded             admin, license, %d rules in each of %d policies (%d rules) in %.2f s",
                     rulesPerPolicy, seeded.count, seededCount, monotonicSeconds() - t0))

        // Kubernetes: in this (the parent) process; rollouts complete at once.
        let kube = KubeSimulator(options: KubeSimulator.Options(nodeCount: 3, rolloutPolls: 0))
        try kube.start()
        defer { kube.stop() }
        print("  kubernetes sim     \(kube.baseURL)  (in the benchmark's parent process; rollout completes at once)")
        let kubeconfig = work.appendingPathComponent("kubeconfig")
        try kube.kubeconfig.write(to: kubeconfig, atomically: true, encoding: .utf8)

        let valuesFile = work.appendingPathComponent("values.yaml")
        try BenchValues.yaml().write(to: valuesFile, atomically: true, encoding: .utf8)
        let secrets = work.appendingPathComponent("secrets")
        let secretsNoLicense = work.appendingPathComponent("secrets-no-license")
        try BenchValues.writeSecrets(to: secrets, adminPassword: adminPassword, license: license)
        try BenchValues.writeSecrets(to: secretsNoLicense, adminPassword: adminPassword, license: nil)
        print("  job                every step enabled; each run a fresh process: \(selfExecutable().path) job")
        print("")

        let plan: [(String, URL)] = [
            ("1 seeded console", secrets),
            ("2 same values", secrets),
            ("3 no license key", secretsNoLicense),
        ]
        var results: [RunResult] = []
        for (i, (label, secretsDir)) in plan.enumerated() {
            let kubeBefore = kube.requests.count
            let simCPUBefore = sim.cpu
            var r = try Measure.runChild(label: label, index: i + 1, consoleURL: sim.url, values: valuesFile,
                                         secrets: secretsDir, steps: steps, kubeconfig: kubeconfig, logDir: logDir)
            r.kubeRequests = kube.requests.count - kubeBefore
            if let a = simCPUBefore, let b = sim.cpu { r.simCPU = b - a }
            results.append(r)
            if !r.succeeded {
                FileHandle.standardError.write("✘ run \(label) did not complete (exit \(r.exitCode)); the end of its output:\n".data(using: .utf8)!)
                let lines = ((try? String(contentsOf: r.log, encoding: .utf8)) ?? "").split(separator: "\n", omittingEmptySubsequences: false)
                // A crash ends with the backtracer's registers and images: show what led to it
                // (the last step lines, the fatal error and the crashed thread) instead.
                let crash = lines.firstIndex { $0.contains("Fatal error") || $0.contains("💣") || $0.contains("crashed:") }
                let shown = crash.map { lines[max(0, $0 - 15)..<min(lines.count, $0 + 30)] } ?? lines.suffix(25)
                let tail = shown.joined(separator: "\n")
                FileHandle.standardError.write((redactor.redact(tail) + "\n").data(using: .utf8)!)
                break
            }
        }
        let lost = (try? seeder.verify(seeded)) ?? ["could not read the policies back"]
        let simPeak = sim.peakRSS

        Measure.printTable(results)
        print("")
        if let simPeak {
            print(String(format: "console simulator (its own process, not counted above): peak RSS %.1f MiB", Double(simPeak) / 1048576))
        }

        // Verdicts.
        var failures: [String] = []
        var missed: [String] = []
        if results.count < plan.count || results.contains(where: { !$0.succeeded }) {
            failures.append("a run did not complete")
        }
        if results.count >= 2 {
            let r2 = results[1]
            if r2.writes - r2.licenseWrites != 0 {
                failures.append("the second run wrote \(r2.writes - r2.licenseWrites) time(s) besides the license key: \(r2.otherWrites.joined(separator: ", "))")
            }
        }
        if results.count >= 3, results[2].writes != 0 {
            failures.append("the run without a license key wrote \(results[2].writes) time(s): \(results[2].otherWrites.joined(separator: ", "))")
        }
        failures += lost.map { "existing rules not kept: \($0)" }
        for r in results {
            if r.processSeconds >= Measure.wallTarget { missed.append(String(format: "run %@: %.3f s (target < 1 s)", r.label, r.processSeconds)) }
            if r.peakRSS >= Measure.memoryTarget { missed.append(String(format: "run %@: %.1f MiB (target < 64 MiB)", r.label, Double(r.peakRSS) / 1048576)) }
        }
        print(lost.isEmpty ? "✔ all \(seededCount) seeded rules are still there, in their order" : "✘ seeded rules lost or moved")
        if results.count >= 3 {
            print("\(results[1].writes - results[1].licenseWrites == 0 ? "✔" : "✘") second run: \(results[1].writes) write(s), \(results[1].licenseWrites) of them the license key (the console cannot show a key back to compare)")
            print("\(results[2].writes == 0 ? "✔" : "✘") without console.license: \(results[2].writes) writes")
        }
        print(missed.isEmpty ? "✔ targets met: each run under 1 s (whole process) and under 64 MiB peak RSS"
                             : "✘ targets missed: " + missed.joined(separator: "; "))

        if let jsonFile {
            let doc: JSON = [
                "date": .string(ISO8601DateFormatter().string(from: Date())),
                "build": .string(Measure.buildKind),
                "cpus": .int(Int64(ProcessInfo.processInfo.activeProcessorCount)),
                "catalogSize": .int(Int64(catalogSize)), "rulesPerPolicy": .int(Int64(rulesPerPolicy)),
                "policies": .int(Int64(seeded.count)),
                "runs": .array(results.map(\.json)),
                "consoleSimulatorPeakRSS": simPeak.map { .int(Int64($0)) } ?? .null,
                "failures": .array(failures.map { .string($0) }),
                "targetsMissed": .array(missed.map { .string($0) }),
            ]
            try (doc.encoded(pretty: true) + "\n").write(toFile: jsonFile, atomically: true, encoding: .utf8)
        }
        if !failures.isEmpty {
            for f in failures { FileHandle.standardError.write("✘ \(f)\n".data(using: .utf8)!) }
            throw ExitCode(1)
        }
        if checkTargets && !missed.isEmpty { throw ExitCode(1) }
    }

    static var buildKind: String {
        #if DEBUG
        return "debug"
        #else
        return "release"
        #endif
    }

    static func stepsDirectory(_ flag: String?) throws -> URL {
        let fm = FileManager.default
        var candidates: [String] = []
        if let flag { candidates.append(flag) }
        if let env = ProcessInfo.processInfo.environment["TWISTLOCK_INIT_STEPS"], !env.isEmpty { candidates.append(env) }
        candidates.append(fm.currentDirectoryPath + "/steps")
        candidates.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../steps").standardized.path)
        for c in candidates where fm.fileExists(atPath: c + "/manifest.yaml") {
            return URL(fileURLWithPath: c, isDirectory: true)
        }
        throw ValidationError("cannot find the job's steps directory (looked in: \(candidates.joined(separator: ", "))); pass --builtin-steps")
    }

    /// One measured run: a fresh child process running the job; its output goes to a log file.
    static func runChild(label: String, index: Int, consoleURL: String, values: URL, secrets: URL, steps: URL,
                         kubeconfig: URL, logDir: URL) throws -> RunResult {
        let log = logDir.appendingPathComponent("run\(index).log")
        let resultFile = logDir.appendingPathComponent("run\(index).json")
        try? FileManager.default.removeItem(at: resultFile)
        let child = try spawnAndWait(selfExecutable().path,
                                     ["job", "--console-url", consoleURL, "--values", values.path, "--secrets-dir", secrets.path,
                                      "--builtin-steps", steps.path, "--kubeconfig", kubeconfig.path, "--result", resultFile.path],
                                     outputFile: log.path)
        var r = RunResult(label: label, log: log, processSeconds: child.wallSeconds, exitCode: child.status)
        if let text = try? String(contentsOf: resultFile, encoding: .utf8), let json = try? JSON.parse(text) {
            r.load(json)
        }
        // CPU from wait4 (the whole process, exit included). Peak memory is the child's own
        // VmHWM (see JobChild): wait4's ru_maxrss includes this process's peak at spawn time.
        r.cpu = child.cpuSeconds
        return r
    }

    static func printTable(_ results: [RunResult]) {
        let header = ["run", "result", "wall (process)", "wall (job)", "job CPU", "console CPU", "requests", "k8s requests", "writes", "peak RSS"]
        let rows = results.map { r -> [String] in
            [r.label, r.status,
             String(format: "%.3f s", r.processSeconds), String(format: "%.3f s", r.jobSeconds),
             String(format: "%.2f s", r.cpu), r.simCPU.map { String(format: "%.2f s", $0) } ?? "?",
             "\(r.requests)", "\(r.kubeRequests)",
             r.licenseWrites > 0 ? "\(r.writes) (license: \(r.licenseWrites))" : "\(r.writes)",
             String(format: "%.1f MiB", Double(r.peakRSS) / 1048576)]
        }
        var widths = header.map(\.count)
        for row in rows { for (i, c) in row.enumerated() { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }
        print(line(header))
        print(line(widths.map { String(repeating: "─", count: $0) }))
        for row in rows { print(line(row)) }
    }
}

/// What one measured run reported.
struct RunResult {
    let label: String
    let log: URL
    let processSeconds: Double
    let exitCode: Int32
    var jobSeconds: Double = 0
    var requests = 0
    /// Requests the Kubernetes simulator received during the run (the console's are `requests`).
    var kubeRequests = 0
    var writes = 0
    var licenseWrites = 0
    var otherWrites: [String] = []
    var peakRSS = 0
    /// CPU time of the run's process (user + system), and of the console simulator meanwhile.
    var cpu: Double = 0
    var simCPU: Double?
    var stepStatuses: [String: String] = [:]
    var loaded = false

    var succeeded: Bool {
        loaded && exitCode == 0 && !stepStatuses.isEmpty && stepStatuses.values.allSatisfy { $0 == "done" }
    }

    var status: String {
        if succeeded { return "done (\(stepStatuses.count) steps)" }
        if !loaded { return "exit \(exitCode)" }
        let bad = stepStatuses.filter { $0.value != "done" }.map { "\($0.key): \($0.value)" }.sorted()
        return "exit \(exitCode); " + bad.joined(separator: ", ")
    }

    mutating func load(_ j: JSON) {
        loaded = true
        jobSeconds = j["seconds"]?.doubleValue ?? 0
        requests = j["requests"]?.intValue ?? 0
        writes = j["writes"]?.intValue ?? 0
        peakRSS = j["peakRSS"]?.intValue ?? 0
        cpu = j["cpuSeconds"]?.doubleValue ?? 0
        for s in j["steps"]?.arrayValue ?? [] {
            if let n = s["name"]?.stringValue { stepStatuses[n] = s["status"]?.stringValue ?? "?" }
        }
        for w in j["writeList"]?.arrayValue ?? [] {
            if w["step"]?.stringValue == "license" {
                licenseWrites += 1
            } else {
                otherWrites.append("\(w["step"]?.stringValue ?? "?"): \(w["method"]?.stringValue ?? "") \(w["target"]?.stringValue ?? "")")
            }
        }
    }

    var json: JSON {
        [
            "run": .string(label), "exitCode": .int(Int64(exitCode)), "completed": .bool(succeeded),
            "processSeconds": .double((processSeconds * 1000).rounded() / 1000),
            "jobSeconds": .double((jobSeconds * 1000).rounded() / 1000),
            "requests": .int(Int64(requests)), "kubeRequests": .int(Int64(kubeRequests)), "writes": .int(Int64(writes)),
            "licenseWrites": .int(Int64(licenseWrites)), "peakRSS": .int(Int64(peakRSS)),
            "cpuSeconds": .double((cpu * 1000).rounded() / 1000),
            "consoleCPUSeconds": simCPU.map { .double(($0 * 1000).rounded() / 1000) } ?? .null,
            "otherWrites": .array(otherWrites.map { .string($0) }),
        ]
    }
}

/// The measured run itself (a child process of `measure`): the job, as `twistlock-init run`
/// runs it, then its numbers and this process's peak RSS as JSON in --result.
struct JobChild: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "job", abstract: "One measured run of the job (started by the benchmark).")

    @Option var consoleURL: String
    @Option var values: String
    @Option var secretsDir: String
    @Option var builtinSteps: String
    @Option var kubeconfig: String
    @Option var result: String

    func run() throws {
        var options = JobOptions()
        options.consoleURL = consoleURL
        options.valuesFiles = [URL(fileURLWithPath: values)]
        options.secretsDir = URL(fileURLWithPath: secretsDir, isDirectory: true)
        options.stepsDirs = [URL(fileURLWithPath: builtinSteps, isDirectory: true)]
        options.kubeconfig = kubeconfig
        options.mode = .run
        options.logFormat = .text
        let report = JobRunner(options: options).run()
        let doc: JSON = [
            "exitCode": .int(Int64(report.exitCode)),
            "seconds": .double(report.seconds),
            "requests": .int(Int64(report.steps.reduce(0) { $0 + $1.requests })),
            "writes": .int(Int64(report.steps.reduce(0) { $0 + $1.writes })),
            "writeList": .array(report.writes.map { w in
                ["step": .string(w.step), "object": .string(w.object), "method": .string(w.method), "target": .string(w.target)]
            }),
            "steps": .array(report.steps.map { s in
                ["name": .string(s.name), "status": .string(s.status.rawValue), "writes": .int(Int64(s.writes)),
                 "requests": .int(Int64(s.requests)), "seconds": .double(s.seconds)]
            }),
            // VmHWM: this process's own high-water mark. Not ru_maxrss: on Linux, exec carries the
            // spawning process's peak into the child's ru_maxrss (posix_spawn shares its memory
            // until exec), so ru_maxrss would report the benchmark's parent when that is larger.
            "peakRSS": .int(Int64(peakRSSBytes(pid: getpid()) ?? peakRSSBytes())),
            "ruMaxRSS": .int(Int64(peakRSSBytes())),
            "cpuSeconds": .double(cpuSeconds()),
        ]
        try (doc.encoded(pretty: true) + "\n").write(toFile: result, atomically: true, encoding: .utf8)
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }
}
