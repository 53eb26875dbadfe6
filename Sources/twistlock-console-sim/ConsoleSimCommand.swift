import ArgumentParser
import ConsoleSimulator
import Foundation
import JSONModel

#if canImport(Glibc)
import Glibc
#endif

@main
struct ConsoleSim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "twistlock-console-sim",
        abstract: "A simulated Prisma Cloud Compute console (34.04) on loopback.",
        discussion: """
        `serve` (the default) prints the base URL (http://127.0.0.1:PORT) as its first line, then \
        serves until interrupted. Inspection: GET /sim/state, GET /sim/requests, POST /sim/faults, \
        GET|POST /sim/variants. `variants` lists the console variants (answers to open questions \
        about the real console) that --variant switches on.
        """,
        subcommands: [Serve.self, LicenseKey.self, Variants.self],
        defaultSubcommand: Serve.self
    )
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the simulated console.")

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port; 0 picks a free one (the first line printed holds the URL).")
    var port = 0

    @Option(name: .customLong("state"), help: "Start from a saved state (GET /sim/state output).")
    var stateFile: String?

    @Option(help: "Lifetime of issued tokens, in seconds.")
    var tokenLifetime: Double = 1800

    @Option(help: "Number of compliance checks in the catalog (at least 100).")
    var catalogSize = ComplianceCatalog.defaultSize

    @Option(help: "Not ready for this many seconds after start.")
    var notReady: Double = 0

    @Option(help: "How the console is not ready: unavailable (503 everywhere) or refuse (connections refused).")
    var notReadyMode: NotReadyMode = .unavailable

    @Option(help: "A fault plan: JSON, or @FILE holding it ({\"rules\":[...],\"seed\":N}).")
    var faults: String?

    @Option(name: .customLong("fault"), help: "One fault rule as JSON ({\"kind\":\"status\",\"status\":503,\"path\":\"settings/*\",\"count\":2}); repeatable.")
    var faultRules: [String] = []

    @Option(help: "Seed for fault fractions.")
    var seed: UInt64?

    @Option(help: "Serve HTTPS with this PEM certificate (chain).")
    var tlsCert: String?

    @Option(help: "The PEM private key for --tls-cert.")
    var tlsKey: String?

    @Option(help: "The version GET /api/v1/version reports.")
    var consoleVersion = "34.04.145"

    @Option(name: .customLong("variant"), help: "Switch on a console variant (see `twistlock-console-sim variants`); repeatable.")
    var variants: [String] = []

    @Option(help: "Console variants from a file: a `twistlock-init probe --report-json` report (its matched variants), or names one per line or separated by commas, # comments.")
    var variantsFrom: String?

    func run() async throws {
        var options = SimulatorOptions()
        options.host = host
        options.port = port
        options.tokenLifetime = tokenLifetime
        options.catalogSize = catalogSize
        options.version = consoleVersion
        options.tlsCertificatePath = tlsCert
        options.tlsKeyPath = tlsKey
        if (tlsCert == nil) != (tlsKey == nil) {
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        if let stateFile {
            let text = try String(contentsOfFile: stateFile, encoding: .utf8)
            options.initialState = try JSON.parse(text)
        }
        var plan = FaultPlan()
        if let faults {
            let text = faults.hasPrefix("@") ? try String(contentsOfFile: String(faults.dropFirst()), encoding: .utf8) : faults
            plan = try FaultPlan(json: try JSON.parse(text))
        }
        for rule in faultRules { plan.rules.append(try FaultRule(json: try JSON.parse(rule))) }
        if notReady > 0 {
            plan.notReadySeconds = notReady
            plan.notReadyMode = notReadyMode
        }
        if let seed { plan.seed = seed }
        options.faults = plan
        var names = variants
        if let variantsFrom {
            do {
                names += try ConsoleVariants.names(fromFile: try String(contentsOfFile: variantsFrom, encoding: .utf8))
            } catch {
                throw ValidationError("--variants-from \(variantsFrom): \(error)")
            }
        }
        do {
            _ = try ConsoleVariants.resolve(names)
        } catch {
            throw ValidationError("\(error)")
        }
        options.variants = names

        let sim = ConsoleSimulator(options: options)
        let url = try await sim.start()
        print(url.absoluteString)
        let inForce = sim.variants.isEmpty ? "" : "; variants \(sim.variants.joined(separator: ", "))"
        print("twistlock-console-sim \(options.version): catalog \(sim.complianceCatalog.count) checks\(inForce); inspect \(url.absoluteString)/sim/state, /sim/requests; faults via POST /sim/faults")
        fflush(nil)  // every output stream: the URL line must reach a reading pipe now
        await waitForSignal()
        await sim.stop()
    }

    func waitForSignal() async {
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let (signals, received) = AsyncStream<Void>.makeStream()
        let queue = DispatchQueue(label: "signals")
        var sources: [DispatchSourceSignal] = []
        for sig in [SIGINT, SIGTERM] {
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler { received.yield() }
            source.resume()
            sources.append(source)
        }
        var next = signals.makeAsyncIterator()
        _ = await next.next()
        for source in sources { source.cancel() }
    }
}

struct LicenseKey: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "license-key",
        abstract: "Print a license key the simulator accepts.",
        discussion: "Format: SIM1-<base64url JSON {customer_id, expiration_date, type, defenders}>-<16 hex of SHA-256 over \"SIM1-\"+payload>."
    )

    @Option(help: "Expiry: RFC 3339 or YYYY-MM-DD (default: one year from now). A past date makes an expired key.")
    var expires: String?

    @Option(help: "Customer id.")
    var customer = "sim-customer"

    @Option(help: "License tier: enterprise, evaluation, developer or oem.")
    var type = "enterprise"

    @Option(help: "Number of defenders.")
    var defenders = 100

    func run() throws {
        var date = Date().addingTimeInterval(365 * 86400)
        if let expires {
            let f = ISO8601DateFormatter()
            if let d = f.date(from: expires) {
                date = d
            } else if let d = f.date(from: expires + "T00:00:00Z") {
                date = d
            } else {
                throw ValidationError("--expires must be RFC 3339 (2030-01-01T00:00:00Z) or YYYY-MM-DD")
            }
        }
        guard SimulatorLicense.tiers.contains(type) else {
            throw ValidationError("--type must be one of \(SimulatorLicense.tiers.joined(separator: ", "))")
        }
        print(SimulatorLicense.makeKey(customer: customer, expires: date, tier: type, defenders: defenders))
    }
}

struct Variants: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "variants",
        abstract: "List the console variants: each open question about the real console, its default answer and the alternatives, with their evidence."
    )

    @Flag(help: "Print the registry as JSON.")
    var json = false

    func run() throws {
        if json {
            print(JSON.array(ConsoleVariants.all.map(\.json)).encoded(pretty: true))
        } else {
            print(ConsoleVariants.listing())
        }
    }
}

/// `--not-ready-mode unavailable|refuse`: a closed choice, refused by the parser otherwise.
extension NotReadyMode: ExpressibleByArgument {}
