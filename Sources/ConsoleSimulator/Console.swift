import Foundation
import JSONModel

/// An answer from the simulated console, before faults shape it.
struct APIResponse {
    enum Body {
        case empty
        case json(JSON)
        /// Pre-encoded JSON text (large cached documents).
        case jsonText(String)
        case text(String, contentType: String)
    }

    var status: Int
    var body: Body
    var headers: [(String, String)] = []

    static func ok(_ json: JSON) -> APIResponse { APIResponse(status: 200, body: .json(json)) }
    static let okEmpty = APIResponse(status: 200, body: .empty)
    /// The console's error shape: a non-2xx status with `{"err": "..."}`.
    static func error(_ status: Int, _ message: String) -> APIResponse {
        APIResponse(status: status, body: .json(["err": .string(message)]))
    }
}

/// What the HTTP layer hands the console.
struct APIRequest {
    var method: String
    var path: String
    var query: String?
    var authorization: String?
    var body: [UInt8]
}

/// The simulated console's brain: state, sessions, the catalog, the request log and the
/// fault state, all behind one lock. Handlers run synchronously under the lock.
// @unchecked Sendable: every mutable field is read and written with `lock` held (each request
// is handled whole under it); the `let`s are set in init.
final class ConsoleCore: @unchecked Sendable {
    let options: SimulatorOptions
    let catalog: [ComplianceCheck]
    let catalogByID: [Int: ComplianceCheck]
    let subset: OpenAPISubset?
    let subsetError: Error?
    let initialStateError: Error?

    private let lock = NSLock()
    var state: ConsoleState
    /// token -> (user, expiry on the simulator clock)
    var tokens: [String: (user: String, expires: Date)] = [:]
    var log: [RecordedRequest] = []
    var seq = 0
    var faults = FaultState()
    var clockOffset: TimeInterval = 0
    /// The console variants in force (never a default one).
    var variants: Set<String> = []
    let variantsError: Error?
    private var catalogText: String?

    init(options: SimulatorOptions) {
        self.options = options
        catalog = ComplianceCatalog.generate(size: options.catalogSize)
        var byID: [Int: ComplianceCheck] = [:]
        for c in catalog { byID[c.id] = c }
        catalogByID = byID
        do {
            subset = try OpenAPISubset.bundled()
            subsetError = nil
        } catch {
            subset = nil
            subsetError = error
        }
        let fresh = ConsoleState.fresh(now: Date(), catalog: catalog)
        var loaded = fresh
        var stateError: Error?
        if let initial = options.initialState {
            do { loaded = try ConsoleState(json: initial, base: fresh) } catch { stateError = error }
        }
        state = loaded
        initialStateError = stateError
        do {
            variants = try ConsoleVariants.resolve(options.variants)
            variantsError = nil
        } catch {
            variantsError = SimulatorError.invalidOption("\(error)")
        }
        faults.install(options.faults, now: Date())
    }

    func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// The simulator's clock (real time plus what tests advanced).
    var now: Date { Date().addingTimeInterval(clockOffset) }

    func catalogDocument() -> String {
        if let catalogText { return catalogText }
        let text = GoJSON.normalize(JSON.object([
            "complianceVulnerabilities": .array(catalog.map(\.json)),
            "cveVulnerabilities": .array(ComplianceCatalog.cveVulnerabilities),
        ])).encoded()
        catalogText = text
        return text
    }

    func record(_ r: RecordedRequest) {
        log.append(r)
        if log.count > options.requestLogLimit { log.removeFirst(log.count - options.requestLogLimit) }
    }

    func nextSeq() -> Int {
        seq += 1
        return seq
    }
}


/// The console encodes with Go's `encoding/json`: a float field holding 4 is written `4`,
/// not `4.0`. Responses go through this so clients see the numbers a real console sends.
enum GoJSON {
    static func normalize(_ v: JSON) -> JSON {
        switch v {
        case .double(let d):
            if d.isFinite, d == d.rounded(), abs(d) < 9_007_199_254_740_992 { return .int(Int64(d)) }
            return v
        case .array(let a):
            return .array(a.map(normalize))
        case .object(let o):
            return .object(o.mapValues(normalize))
        default:
            return v
        }
    }
}
