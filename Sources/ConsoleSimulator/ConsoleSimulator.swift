import Foundation
import Hummingbird
import SimulatorServing
import HummingbirdCore
import HummingbirdTLS
import HTTPTypes
import JSONModel
import Logging
import NIOCore

/// A simulated Prisma Cloud Compute console (34.04) on loopback, for tests, the demo and
/// benchmarks. It keeps a console's state (uninitialized until `signup`, users, groups,
/// license, settings, policies with the console's default rules, custom rules, trust data),
/// serves every endpoint of console-api.md under `/api/v1/` and `/api/v34.04/`, decodes
/// request bodies the way the console's Go handlers do (driven by the OpenAPI document) and
/// records each request with its conformance findings. Faults can be injected.
///
/// Inspection endpoints (no authentication): `GET /sim/state` (`PUT` loads one),
/// `GET|POST /sim/variants` (`{"variants": [names]}`: the console variants in force, and every
/// known one under `available`),
/// `GET|DELETE /sim/requests`, `GET|POST|DELETE /sim/faults`, `POST /sim/clock
/// {"advanceSeconds": n}`, `POST /sim/restart {"downSeconds": n, "mode": "unavailable"|"refuse"}`.
///
/// ```swift
/// let sim = ConsoleSimulator(options: SimulatorOptions())
/// let url = try await sim.start()      // http://127.0.0.1:PORT
/// ...
/// await sim.stop()
/// ```
// @unchecked Sendable: the server's lifecycle fields are guarded by `lifecycle`; the state is
// the ConsoleCore's (behind its own lock).
public final class ConsoleSimulator: @unchecked Sendable {
    public let options: SimulatorOptions
    let core: ConsoleCore

    private let lifecycle = NSLock()
    /// The server while it serves (stopped gracefully).
    private var serverRun: ServerRun?
    private var boundPort: Int?
    private var pendingRelaunch: Task<Void, Never>?
    private var stopped = false

    public init(options: SimulatorOptions = SimulatorOptions()) {
        self.options = options
        self.core = ConsoleCore(options: options)
    }

    deinit {
        serverRun?.stopSoon()
        pendingRelaunch?.cancel()
    }

    // MARK: Lifecycle

    /// Starts serving; returns the base URL (`http://127.0.0.1:PORT`, `https://` with TLS).
    /// With a not-ready period in `refuse` mode the URL is returned at once and the port
    /// starts accepting connections when the period ends.
    @discardableResult
    public func start() async throws -> URL {
        if let e = core.subsetError { throw e }
        if let e = core.initialStateError { throw e }
        if let e = core.variantsError { throw e }
        if let running = baseURL { return running }
        _ = try tlsConfiguration()
        let plan = options.faults
        if plan.notReadySeconds > 0 && plan.notReadyMode == .refuse {
            let port = options.port != 0 ? options.port : try Self.reserveFreePort(host: options.host)
            setPort(port)
            scheduleLaunch(port: port, after: plan.notReadySeconds)
            return url(port: port)
        }
        let port = try await launch(port: options.port)
        setPort(port)
        return url(port: port)
    }

    /// Stops serving (state is kept; `start()` may be called again on a new port).
    public func stop() async {
        let (run, relaunch) = lifecycle.withLock { () -> (ServerRun?, Task<Void, Never>?) in
            stopped = true
            let t = (serverRun, pendingRelaunch)
            serverRun = nil
            pendingRelaunch = nil
            boundPort = nil
            return t
        }
        relaunch?.cancel()
        await run?.stop()
        lifecycle.withLock { stopped = false }
    }

    /// The base URL while serving.
    public var baseURL: URL? {
        lifecycle.withLock { boundPort }.map(url(port:))
    }

    private func url(port: Int) -> URL {
        let scheme = options.tlsCertificatePath != nil ? "https" : "http"
        return URL(string: "\(scheme)://\(options.host):\(port)")!
    }

    private func setPort(_ port: Int) {
        lifecycle.withLock { boundPort = port }
    }

    private func tlsConfiguration() throws -> TLSConfiguration? {
        guard let certPath = options.tlsCertificatePath else { return nil }
        guard let keyPath = options.tlsKeyPath else {
            throw SimulatorError.invalidOption("a TLS certificate needs a key (tlsKeyPath)")
        }
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certPath)
            let key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
            return TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        } catch {
            throw SimulatorError.invalidOption("cannot read TLS certificate/key: \(error)")
        }
    }

    /// Binds the HTTP server; returns the bound port.
    private func launch(port: Int) async throws -> Int {
        let tls = try tlsConfiguration()
        let responder = SimResponder(sim: self)
        let (stream, continuation) = AsyncStream<Result<Int, Error>>.makeStream()
        var logger = Logger(label: "twistlock-console-sim", factory: { _ in SwiftLogNoOpLogHandler() })
        logger.logLevel = .critical
        let server: HTTPServerBuilder = try tls.map { try .tls(.http1(), tlsConfiguration: $0) } ?? .http1()
        let app = Application(
            responder: responder,
            server: server,
            configuration: ApplicationConfiguration(address: .hostname(options.host, port: port), serverName: nil),
            onServerRunning: { channel in
                continuation.yield(.success(channel.localAddress?.port ?? port))
            },
            logger: logger
        )
        let run = ServerRun(app: app, logger: logger)
        // Reports the server's end to the loop below (only a start failure is waited for).
        Task {
            do {
                try await run.task.value
                continuation.yield(.failure(SimulatorError.startFailed("server ended")))
            } catch {
                continuation.yield(.failure(error))
            }
            continuation.finish()
        }
        for await result in stream {
            switch result {
            case .success(let bound):
                lifecycle.withLock { serverRun = run }
                return bound
            case .failure(let error):
                await run.stop()
                throw SimulatorError.startFailed("\(error)")
            }
        }
        throw SimulatorError.startFailed("server did not start")
    }

    private func scheduleLaunch(port: Int, after seconds: Double) {
        let task = Task { [weak self] in
            try? await Task.sleep(nanoseconds: UInt64(max(0, seconds) * 1e9))
            guard let self, !Task.isCancelled else { return }
            // The port may linger briefly after a close: retry for a few seconds.
            for _ in 0..<50 {
                if Task.isCancelled { return }
                if (try? await self.launch(port: port)) != nil { return }
                try? await Task.sleep(nanoseconds: 100_000_000)
            }
        }
        lifecycle.withLock { pendingRelaunch = task }
    }

    /// A free loopback port (bound and released), for starting later on a known port.
    static func reserveFreePort(host: String) throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SimulatorError.startFailed("socket() failed") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr(host == "localhost" ? "127.0.0.1" : host)
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else { throw SimulatorError.startFailed("bind() failed") }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    // MARK: Restart

    /// Simulates a console restart: every token is invalidated, state is kept. With
    /// `downSeconds`, the console is not ready for that long (503s, or refused connections).
    public func restart(downSeconds: Double = 0, mode: NotReadyMode = .unavailable) async {
        core.locked {
            core.tokens.removeAll()
            if downSeconds > 0 && mode == .unavailable {
                core.faults.unavailableUntil = Date().addingTimeInterval(downSeconds)
            }
        }
        guard downSeconds > 0, mode == .refuse else { return }
        let (run, port) = lifecycle.withLock { () -> (ServerRun?, Int?) in
            let r = serverRun
            serverRun = nil
            return (r, boundPort)
        }
        guard let port else { return }
        await run?.stop()
        scheduleLaunch(port: port, after: downSeconds)
    }

    /// A restart requested over HTTP: tokens go at once; closing the port (refuse mode) waits
    /// until the answer to the request that asked for it is out, since stopping the server
    /// waits for in-flight requests.
    private func restartSoon(downSeconds: Double, mode: NotReadyMode) {
        if downSeconds > 0 && mode == .refuse {
            core.locked { core.tokens.removeAll() }
            Task {
                try? await Task.sleep(nanoseconds: 50_000_000)
                await self.restart(downSeconds: downSeconds, mode: .refuse)
            }
        } else {
            core.locked {
                core.tokens.removeAll()
                if downSeconds > 0 { core.faults.unavailableUntil = Date().addingTimeInterval(downSeconds) }
            }
        }
    }

    // MARK: Inspection (tests, the demo)

    /// A snapshot of the console's state.
    public var state: ConsoleState { core.locked { core.state } }

    /// The state as JSON (what `GET /sim/state` returns and `--state` loads).
    public var stateJSON: JSON { core.locked { core.state.json } }

    /// Replaces the state (parts missing from `json` come from a fresh console).
    public func loadState(_ json: JSON) throws {
        let fresh = ConsoleState.fresh(now: Date(), catalog: core.catalog)
        let s = try ConsoleState(json: json, base: fresh)
        core.locked {
            core.state = s
            core.tokens.removeAll()
        }
    }

    /// Every console request so far (oldest first).
    public var requests: [RecordedRequest] { core.locked { core.log } }

    public func clearRequests() { core.locked { core.log.removeAll() } }

    /// All conformance findings recorded so far.
    public var findings: [ConformanceFinding] { core.locked { core.log.flatMap(\.findings) } }

    /// The faults in force.
    public var faults: FaultPlan { core.locked { core.faults.plan } }

    /// Replaces the faults (counts and the seeded generator start afresh; a not-ready period
    /// in `unavailable` mode starts now).
    public func setFaults(_ plan: FaultPlan) {
        core.locked { core.faults.install(plan, now: Date()) }
    }

    /// Replaces the fault rules with this one (the seed and not-ready settings stay).
    public func setFault(_ rule: FaultRule) {
        core.locked {
            var plan = core.faults.plan
            plan.rules = [rule]
            plan.notReadySeconds = 0
            let until = core.faults.unavailableUntil
            core.faults.install(plan, now: Date())
            core.faults.unavailableUntil = until
        }
    }

    /// Adds a fault rule to those in force.
    public func addFault(_ rule: FaultRule) {
        core.locked { core.faults.append([rule]) }
    }

    public func clearFaults() {
        core.locked { core.faults.install(FaultPlan(), now: Date()) }
    }

    /// Moves the simulator's clock (token expiry) forward.
    public func advanceClock(by seconds: TimeInterval) {
        core.locked { core.clockOffset += seconds }
    }

    /// The console variants in force (names; default variants are never listed).
    public var variants: [String] { core.locked { core.variants.sorted() } }

    /// Replaces the console variants in force (names of `ConsoleVariants.all`; an unknown name
    /// or two answers to one question is an error and changes nothing).
    public func setVariants(_ names: [String]) throws {
        let set: Set<String>
        do { set = try ConsoleVariants.resolve(names) } catch { throw SimulatorError.invalidOption("\(error)") }
        core.locked { core.variants = set }
    }

    /// The compliance catalog this simulator serves.
    public var complianceCatalog: [ComplianceCheck] { core.catalog }

    /// The stored form of a password (for hand-written state files).
    public static func passwordHash(_ password: String) -> String { PasswordHash.make(password) }

    // MARK: Request handling

    enum Outcome {
        case respond(APIResponse)
        case drop
    }

    func handle(_ req: APIRequest) async -> (Outcome, String?) {
        if req.path == "/sim" || req.path.hasPrefix("/sim/") {
            return (.respond(await handleSim(req)), nil)
        }
        if req.path == "/" && req.method.uppercased() == "GET" {
            // The console's web page (the old init job waited for a 200 here), whatever the variant.
            return (.respond(APIResponse(status: 200, body: .text(ConsoleSimulator.webPage, contentType: "text/html; charset=utf-8"))), nil)
        }
        let subpath = ConsoleRoutes.apiSubpath(req.path) ?? String(req.path.drop { $0 == "/" })
        let method = req.method.uppercased()
        let (unavailable, delayMs, fault) = core.locked { () -> (Bool, Int, FaultRule?) in
            if let until = core.faults.unavailableUntil {
                if Date() < until { return (true, 0, nil) }
                core.faults.unavailableUntil = nil
            }
            let s = core.faults.select(method: method, subpath: subpath)
            return (false, s.delayMs, s.fault)
        }
        if unavailable {
            let r = APIResponse(status: 503, body: .text("Service Unavailable: the console is starting\n", contentType: "text/plain; charset=utf-8"))
            log(req, subpath: subpath, response: r, user: nil, findings: [], fault: "notReady")
            return (.respond(r), nil)
        }
        if delayMs > 0 { try? await Task.sleep(nanoseconds: UInt64(delayMs) * 1_000_000) }
        let faultName = fault.map { f in f.kind == .status ? "status \(f.status ?? 503)" : f.kind.rawValue }
            ?? (delayMs > 0 ? "delay \(delayMs)ms" : nil)

        if let fault, !fault.afterProcessing {
            switch fault.kind {
            case .drop:
                log(req, subpath: subpath, response: APIResponse(status: 0, body: .empty), user: nil, findings: [], fault: faultName)
                return (.drop, nil)
            case .status:
                let r = statusFault(fault)
                log(req, subpath: subpath, response: r, user: nil, findings: [], fault: faultName)
                return (.respond(r), nil)
            case .htmlError:
                let r = htmlFault(fault)
                log(req, subpath: subpath, response: r, user: nil, findings: [], fault: faultName)
                return (.respond(r), nil)
            default:
                break
            }
        }

        let (response, user, findings) = core.locked { core.handleAPI(req, subpath: subpath) }
        var final = response
        if let fault {
            switch fault.kind {
            case .drop:
                log(req, subpath: subpath, response: APIResponse(status: 0, body: .empty), user: user, findings: findings, fault: faultName! + " (after processing)")
                return (.drop, nil)
            case .status:
                final = statusFault(fault)
            case .htmlError:
                final = htmlFault(fault)
            case .malformedJSON:
                let text = encodedText(response) ?? "{}"
                let cut = max(1, text.count / 2)
                final = APIResponse(status: response.status, body: .text(String(text.prefix(cut)) + "\u{1F}", contentType: "application/json"))
            case .wrongShape:
                let shaped: JSON
                switch jsonValue(response) {
                case .some(.object): shaped = [["unexpected": "shape"]]
                case .some(.array): shaped = ["unexpected": "shape", "items": .null]
                default: shaped = ["data": ["unexpected": "shape"]]
                }
                final = APIResponse(status: 200, body: .json(shaped))
            case .hugeBody:
                let n = fault.bodyBytes ?? 16 << 20
                final = APIResponse(status: 200, body: .text("{\"padding\":\"" + String(repeating: "x", count: max(0, n - 14)) + "\"}",
                                                             contentType: "application/json"))
            case .delay:
                break
            }
        }
        log(req, subpath: subpath, response: final, user: user, findings: findings, fault: faultName)
        return (.respond(final), nil)
    }

    private func statusFault(_ fault: FaultRule) -> APIResponse {
        let status = fault.status ?? 503
        var r = APIResponse.error(status, "simulated fault: \(HTTPResponse.Status(code: status).reasonPhrase)")
        if let after = fault.retryAfter ?? (status == 429 ? 1 : nil) {
            r.headers.append(("Retry-After", String(after)))
        }
        return r
    }

    private func htmlFault(_ fault: FaultRule) -> APIResponse {
        let status = fault.status ?? 502
        let phrase = "\(status) \(HTTPResponse.Status(code: status).reasonPhrase)"
        let html = "<html>\r\n<head><title>\(phrase)</title></head>\r\n<body>\r\n<center><h1>\(phrase)</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
        return APIResponse(status: status, body: .text(html, contentType: "text/html"))
    }

    private func encodedText(_ r: APIResponse) -> String? {
        switch r.body {
        case .json(let j): return j.encoded()
        case .jsonText(let t): return t
        case .text(let t, _): return t
        case .empty: return nil
        }
    }

    private func jsonValue(_ r: APIResponse) -> JSON? {
        switch r.body {
        case .json(let j): return j
        case .jsonText(let t): return try? JSON.parse(t)
        default: return nil
        }
    }

    private func log(_ req: APIRequest, subpath: String, response: APIResponse, user: String?, findings: [ConformanceFinding], fault: String?) {
        core.locked {
            core.record(RecordedRequest(
                seq: core.nextSeq(), time: RFC3339.format(Date()), method: req.method.uppercased(), path: req.path,
                endpoint: subpath, query: req.query, status: response.status, user: user, rawBody: req.body,
                bodyBytes: req.body.count, findings: findings, fault: fault))
        }
    }

    // MARK: /sim

    /// A minimal stand-in for the console's web page (`GET /`).
    static let webPage = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Prisma Cloud Compute Console</title></head>\n<body><div id=\"app\">Prisma Cloud Compute Console (simulated)</div></body></html>\n"

    /// `GET /sim/variants`: the variants in force and every known one.
    var variantsJSON: JSON {
        ["variants": .array(variants.map { .string($0) }), "available": .array(ConsoleVariants.all.map(\.json))]
    }

    private func handleSim(_ req: APIRequest) async -> APIResponse {
        let method = req.method.uppercased()
        func parseBody() throws -> JSON {
            if req.body.isEmpty { return .object([:]) }
            return try JSON.parse(bytes: req.body)
        }
        do {
            switch (method, req.path) {
            case ("GET", "/sim/state"):
                return .ok(stateJSON)
            case ("PUT", "/sim/state"), ("POST", "/sim/state"):
                try loadState(try parseBody())
                return .okEmpty
            case ("GET", "/sim/requests"):
                var list = requests
                if let q = req.query, let since = q.split(separator: "&").first(where: { $0.hasPrefix("since=") })
                    .flatMap({ Int($0.dropFirst(6)) }) {
                    list = list.filter { $0.seq > since }
                }
                return .ok(["requests": .array(list.map(\.json))])
            case ("DELETE", "/sim/requests"):
                clearRequests()
                return .okEmpty
            case ("GET", "/sim/faults"):
                return .ok(faults.json)
            case ("POST", "/sim/faults"), ("PUT", "/sim/faults"):
                let body = try parseBody()
                let plan = try FaultPlan(json: body)
                if body["append"]?.boolValue == true {
                    core.locked { core.faults.append(plan.rules) }
                } else if body["rules"] != nil || body["notReadySeconds"] != nil || body["seed"] != nil {
                    setFaults(plan)
                }
                if body["restart"]?.boolValue == true {
                    restartSoon(downSeconds: body["downSeconds"]?.doubleValue ?? 0, mode: plan.notReadyMode)
                } else if plan.notReadyMode == .refuse && plan.notReadySeconds > 0 && body["notReadySeconds"] != nil {
                    // Not ready by refusing connections: the port closes for that long.
                    restartSoon(downSeconds: plan.notReadySeconds, mode: .refuse)
                }
                return .ok(faults.json)
            case ("DELETE", "/sim/faults"):
                clearFaults()
                return .okEmpty
            case ("GET", "/sim/variants"):
                return .ok(variantsJSON)
            case ("POST", "/sim/variants"), ("PUT", "/sim/variants"):
                let body = try parseBody()
                guard let list = body["variants"]?.arrayValue, list.allSatisfy({ $0.stringValue != nil }) else {
                    return .error(400, "expected {\"variants\": [names]}; known: \(ConsoleVariants.all.map(\.name).joined(separator: ", "))")
                }
                try setVariants(list.compactMap(\.stringValue))
                return .ok(variantsJSON)
            case ("POST", "/sim/clock"):
                let body = try parseBody()
                guard let s = body["advanceSeconds"]?.doubleValue else { return .error(400, "advanceSeconds (number) required") }
                advanceClock(by: s)
                return .ok(["offsetSeconds": .double(core.locked { core.clockOffset })])
            case ("POST", "/sim/restart"):
                let body = try parseBody()
                guard let mode = NotReadyMode(rawValue: body["mode"]?.stringValue ?? "unavailable") else {
                    return .error(400, "mode must be unavailable or refuse")
                }
                restartSoon(downSeconds: body["downSeconds"]?.doubleValue ?? 0, mode: mode)
                return .okEmpty
            default:
                return .error(404, "unknown simulator endpoint \(method) \(req.path)")
            }
        } catch {
            return .error(400, "\(error)")
        }
    }
}

/// The per-request context: the channel is needed to drop connections.
struct SimRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    var maxUploadSize: Int { 64 << 20 }
}

struct SimResponder: HTTPResponder {
    typealias Context = SimRequestContext
    let sim: ConsoleSimulator

    func respond(to request: Request, context: Context) async throws -> Response {
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: sim.options.maxRequestBodyBytes)
        } catch {
            return Response(status: .contentTooLarge, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: #"{"err":"request body too large"}"#)))
        }
        let req = APIRequest(
            method: request.method.rawValue,
            path: request.uri.path,
            query: request.uri.query,
            authorization: request.headers[.authorization],
            body: Array(body.readableBytesView)
        )
        let (outcome, _) = await sim.handle(req)
        switch outcome {
        case .drop:
            context.channel.close(promise: nil)
            // Nothing reaches the client: the connection is gone before the response.
            try await Task.sleep(nanoseconds: 50_000_000)
            throw CancellationError()
        case .respond(let r):
            var headers = HTTPFields()
            let bytes: ByteBuffer
            switch r.body {
            case .empty:
                bytes = ByteBuffer()
            case .json(let j):
                headers[.contentType] = "application/json"
                bytes = ByteBuffer(bytes: GoJSON.normalize(j).encodedBytes())
            case .jsonText(let t):
                headers[.contentType] = "application/json"
                bytes = ByteBuffer(string: t)
            case .text(let t, let type):
                headers[.contentType] = type
                bytes = ByteBuffer(string: t)
            }
            for (k, v) in r.headers {
                if let name = HTTPField.Name(k) { headers[name] = v }
            }
            return Response(status: .init(code: r.status), headers: headers, body: .init(byteBuffer: bytes))
        }
    }
}
