import JSONModel

/// The metrics user's name when `monitoring.username` is not given: the old Big Bang init job's
/// `bigbang-metrics-sa` when the values come from Big Bang, else `twistlock-metrics`.
///
/// "The values come from Big Bang" when they set a key that only the Big Bang Twistlock package
/// reads (`ValuesSchema`'s `.package` keys that hold no key of the job or the chart: `bbtests`,
/// `networkPolicies.ingress`, `routes.inbound.console.gateways`, `console.image`,
/// `istio.sidecar`, …). The package's own values.yaml and the values the Big Bang umbrella
/// chart writes for it set several of them; values written for this job alone have no reason to.
/// The chart applies the same rule to the same list (`twistlock-init.bigBangMarkers`, generated
/// into chart/templates/_job-keys.tpl), so the name in its metrics Secret is the one the job
/// uses. An explicit `monitoring.username` always wins (docs/migrating.md).
public enum MetricsUser {
    public static let defaultName = "twistlock-metrics"
    public static let bigBangName = "bigbang-metrics-sa"

    /// The key paths (as components) whose presence marks Big Bang values, in schema order.
    static let bigBangMarkers: [[String]] = {
        var out: [[String]] = []
        func walk(_ fields: [SchemaField], _ base: [String]) {
            for field in fields where field.name != SchemaField.otherKeys {
                let path = base + [field.name]
                if field.reader == .package && !holdsOwnKey(field.type) {
                    out.append(path)
                } else if case .record(let children) = field.type {
                    walk(children, path)
                }
            }
        }
        walk(ValuesSchema.fields, [])
        return out
    }()

    /// Whether a kind holds a key the job or the chart reads.
    static func holdsOwnKey(_ type: SchemaType) -> Bool {
        switch type {
        case .record(let fields): return fields.contains { $0.reader != .package || holdsOwnKey($0.type) }
        case .list(let item): return holdsOwnKey(item)
        default: return false
        }
    }

    /// The first Big Bang-only key the user's values set (before the defaults), or nil.
    public static func bigBangMarker(in user: JSON) -> String? {
        for path in bigBangMarkers {
            var current: JSON? = user
            for key in path { current = current?.objectValue?[key] }
            if let current, current != .null { return path.joined(separator: ".") }
        }
        return nil
    }

    /// The default name for these user values.
    public static func defaultName(for user: JSON) -> String {
        bigBangMarker(in: user) == nil ? defaultName : bigBangName
    }
}
