import Foundation
import JSONModel

/// How the console behaves while it is not ready (at start, or during a restart).
public enum NotReadyMode: String, Sendable, CaseIterable {
    /// Every path, `_ping` included, answers 503.
    case unavailable
    /// Nothing listens on the port: connections are refused.
    case refuse
}

/// One injected fault. Faults apply to console paths (never to `/sim/*`), before
/// authentication, as a load balancer or an overloaded console would.
///
/// JSON form (`POST /sim/faults {"rules": [...]}`, `--fault`):
/// `{"kind": "status", "status": 503, "method": "PUT", "path": "policies/runtime/*",
///   "count": 2, "fraction": 0.5, "retryAfter": 3, "delayMs": 200, "bodyBytes": 1048576,
///   "afterProcessing": false}` — every field but `kind` optional.
public struct FaultRule: Sendable, Hashable {
    public enum Kind: String, Sendable, CaseIterable {
        /// Answer `status` (default 503; 429 carries `Retry-After`) without processing.
        case status
        /// Close the connection without any response.
        case drop
        /// Wait `delayMs` before processing (combines with one other fault).
        case delay
        /// Process the request, then send a truncated JSON body.
        case malformedJSON
        /// Answer an HTML error page (a proxy's `status`, default 502) without processing.
        case htmlError
        /// Process the request, then send valid JSON of the wrong shape.
        case wrongShape
        /// Process the request, then send a 200 with `bodyBytes` of JSON (default 16 MiB).
        case hugeBody
    }

    public var kind: Kind
    /// HTTP method to match (any when nil).
    public var method: String?
    /// Path pattern below `/api/<version>/` (`settings/license`, `policies/*`); `*` matches
    /// anything, `/` included. Any path when nil.
    public var path: String?
    /// Fire for the next `count` matching requests only (unlimited when nil).
    public var count: Int?
    /// Fire for this fraction of matching requests, drawn from the plan's seeded generator.
    public var fraction: Double?
    public var status: Int?
    /// Seconds for the `Retry-After` header (429 defaults to 1).
    public var retryAfter: Int?
    public var delayMs: Int?
    public var bodyBytes: Int?
    /// `status`/`drop`: let the console process the request first (the write happens, the
    /// answer is lost).
    public var afterProcessing: Bool

    public init(kind: Kind, method: String? = nil, path: String? = nil, count: Int? = nil, fraction: Double? = nil,
                status: Int? = nil, retryAfter: Int? = nil, delayMs: Int? = nil, bodyBytes: Int? = nil,
                afterProcessing: Bool = false) {
        self.kind = kind
        self.method = method
        self.path = path
        self.count = count
        self.fraction = fraction
        self.status = status
        self.retryAfter = retryAfter
        self.delayMs = delayMs
        self.bodyBytes = bodyBytes
        self.afterProcessing = afterProcessing
    }

    public init(json: JSON) throws {
        guard case .object(let o) = json else { throw SimulatorError.invalidOption("a fault rule must be a JSON object") }
        let known: Set<String> = ["kind", "method", "path", "count", "fraction", "status", "retryAfter", "delayMs",
                                  "bodyBytes", "afterProcessing"]
        if let unknown = o.keys.sorted().first(where: { !known.contains($0) }) {
            throw SimulatorError.invalidOption("unknown fault rule field \(unknown)")
        }
        guard let k = o["kind"]?.stringValue, let kind = Kind(rawValue: k) else {
            throw SimulatorError.invalidOption("fault kind must be one of \(Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        func int(_ key: String) throws -> Int? {
            guard let v = o[key] else { return nil }
            guard let i = v.intValue, i >= 0 else { throw SimulatorError.invalidOption("fault \(key) must be a non-negative integer") }
            return i
        }
        self.kind = kind
        self.method = o["method"]?.stringValue?.uppercased()
        self.path = o["path"]?.stringValue
        self.count = try int("count")
        if let f = o["fraction"] {
            guard let d = f.doubleValue, d >= 0, d <= 1 else { throw SimulatorError.invalidOption("fault fraction must be in 0...1") }
            self.fraction = d
        }
        self.status = try int("status")
        if let s = status, !(100...599).contains(s) { throw SimulatorError.invalidOption("fault status must be an HTTP status") }
        self.retryAfter = try int("retryAfter")
        self.delayMs = try int("delayMs")
        self.bodyBytes = try int("bodyBytes")
        self.afterProcessing = o["afterProcessing"]?.boolValue ?? false
    }

    public var json: JSON {
        var o: [String: JSON] = ["kind": .string(kind.rawValue), "afterProcessing": .bool(afterProcessing)]
        if let method { o["method"] = .string(method) }
        if let path { o["path"] = .string(path) }
        if let count { o["count"] = .int(Int64(count)) }
        if let fraction { o["fraction"] = .double(fraction) }
        if let status { o["status"] = .int(Int64(status)) }
        if let retryAfter { o["retryAfter"] = .int(Int64(retryAfter)) }
        if let delayMs { o["delayMs"] = .int(Int64(delayMs)) }
        if let bodyBytes { o["bodyBytes"] = .int(Int64(bodyBytes)) }
        return .object(o)
    }

    func matches(method m: String, subpath: String) -> Bool {
        if let method, method != m { return false }
        guard let path else { return true }
        var pattern = path
        if let stripped = ConsoleRoutes.apiSubpath(pattern) { pattern = stripped }
        while pattern.hasPrefix("/") { pattern.removeFirst() }
        return FaultRule.glob(Array(pattern), Array(subpath))
    }

    static func glob(_ p: [Character], _ s: [Character]) -> Bool {
        var pi = 0, si = 0, star = -1, mark = 0
        while si < s.count {
            if pi < p.count && p[pi] == s[si] {
                pi += 1; si += 1
            } else if pi < p.count && p[pi] == "*" {
                star = pi; mark = si; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; si = mark
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}

/// The faults a simulator starts with (`SimulatorOptions.faults`, the CLI's flags) or gets
/// from `POST /sim/faults`:
/// `{"notReadySeconds": 5, "notReadyMode": "unavailable"|"refuse", "seed": 7,
///   "rules": [FaultRule...], "append": false, "restart": false, "downSeconds": 0}`.
/// `restart` invalidates every token (state is kept); with `downSeconds` the console is
/// also not ready (per `notReadyMode`) for that long.
public struct FaultPlan: Sendable, Hashable {
    public var notReadySeconds: Double = 0
    public var notReadyMode: NotReadyMode = .unavailable
    public var rules: [FaultRule] = []
    public var seed: UInt64 = 1

    public init(notReadySeconds: Double = 0, notReadyMode: NotReadyMode = .unavailable, rules: [FaultRule] = [], seed: UInt64 = 1) {
        self.notReadySeconds = notReadySeconds
        self.notReadyMode = notReadyMode
        self.rules = rules
        self.seed = seed
    }

    public init(json: JSON) throws {
        guard case .object(let o) = json else { throw SimulatorError.invalidOption("faults must be a JSON object") }
        let known: Set<String> = ["notReadySeconds", "notReadyMode", "rules", "seed", "append", "restart", "downSeconds"]
        if let unknown = o.keys.sorted().first(where: { !known.contains($0) }) {
            throw SimulatorError.invalidOption("unknown faults field \(unknown)")
        }
        if let v = o["notReadySeconds"] {
            guard let d = v.doubleValue, d >= 0 else { throw SimulatorError.invalidOption("notReadySeconds must be a non-negative number") }
            notReadySeconds = d
        }
        if let v = o["notReadyMode"] {
            guard let s = v.stringValue, let m = NotReadyMode(rawValue: s) else {
                throw SimulatorError.invalidOption("notReadyMode must be unavailable or refuse")
            }
            notReadyMode = m
        }
        if let v = o["seed"] {
            guard let i = v.int64Value, i >= 0 else { throw SimulatorError.invalidOption("seed must be a non-negative integer") }
            seed = UInt64(i)
        }
        if let v = o["rules"] {
            guard let a = v.arrayValue else { throw SimulatorError.invalidOption("rules must be an array") }
            rules = try a.map(FaultRule.init(json:))
        }
    }

    public var json: JSON {
        ["notReadySeconds": .double(notReadySeconds), "notReadyMode": .string(notReadyMode.rawValue),
         "seed": .int(Int64(bitPattern: seed)), "rules": .array(rules.map(\.json))]
    }
}

/// The live fault state: remaining counts, the seeded generator, the not-ready deadline.
struct FaultState {
    var plan = FaultPlan()
    var remaining: [Int?] = []
    var rng = SplitMix64(seed: 1)
    /// Until when the console answers 503 (real time).
    var unavailableUntil: Date?

    mutating func install(_ plan: FaultPlan, now: Date) {
        self.plan = plan
        remaining = plan.rules.map(\.count)
        rng = SplitMix64(seed: plan.seed)
        unavailableUntil = plan.notReadySeconds > 0 && plan.notReadyMode == .unavailable
            ? now.addingTimeInterval(plan.notReadySeconds) : nil
    }

    mutating func append(_ rules: [FaultRule]) {
        plan.rules += rules
        remaining += rules.map(\.count)
    }

    /// The faults that fire for this request: the summed delay and the first other fault.
    mutating func select(method: String, subpath: String) -> (delayMs: Int, fault: FaultRule?) {
        var delay = 0
        var chosen: FaultRule?
        for (i, rule) in plan.rules.enumerated() where rule.matches(method: method, subpath: subpath) {
            if rule.kind != .delay && chosen != nil { continue }
            if let left = remaining[i], left <= 0 { continue }
            if let f = rule.fraction {
                let roll = Double(rng.next() >> 11) / Double(1 << 53)
                if roll >= f { continue }
            }
            if let left = remaining[i] { remaining[i] = left - 1 }
            if rule.kind == .delay {
                delay += rule.delayMs ?? 1000
            } else {
                chosen = rule
            }
        }
        return (delay, chosen)
    }
}
