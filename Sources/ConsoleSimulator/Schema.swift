import Foundation
import JSONModel

/// The part of the console's OpenAPI document (Prisma Cloud Compute 34.04.145, MIT licence,
/// Palo Alto Networks) that the simulator serves: for each served operation the request and
/// response schema names, and every component schema reachable from them. Extracted by
/// `tools/extract-openapi-subset.py` into `Resources/openapi-34.04-subset.json`; the licence
/// notice is `Resources/LICENSE-openapi-spec.txt`.
public struct OpenAPISubset: Sendable {
    public struct Operation: Sendable, Hashable {
        public var request: String?
        public var response: String?
        public var undocumented: Bool
    }

    /// The document's version (`34.04.145`).
    public let version: String
    /// Component schemas by name (`shared.Policy`, `runtime.ContainerPolicyRule`, ...).
    public let schemas: [String: JSON]
    /// Operations by path below `/api/<version>/` (`settings/saml`, `groups/{id}`) and
    /// lower-case method.
    public let operations: [String: [String: Operation]]

    /// The subset bundled with the simulator.
    public static func bundled() throws -> OpenAPISubset {
        try cached.get()
    }

    private static let cached: Result<OpenAPISubset, Error> = Result {
        guard let url = Bundle.module.url(
            forResource: "openapi-34.04-subset", withExtension: "json", subdirectory: "Resources"
        ) ?? Bundle.module.url(forResource: "openapi-34.04-subset", withExtension: "json") else {
            throw SimulatorError.resourceMissing("openapi-34.04-subset.json")
        }
        let data = try Data(contentsOf: url)
        return try OpenAPISubset(json: try JSON.parse(bytes: data))
    }

    public init(json: JSON) throws {
        guard let schemas = json["schemas"]?.objectValue,
              let operations = json["operations"]?.objectValue else {
            throw SimulatorError.resourceMissing("openapi subset: schemas/operations")
        }
        self.version = json["version"]?.stringValue ?? ""
        self.schemas = schemas
        var ops: [String: [String: Operation]] = [:]
        for (path, entry) in operations {
            let undocumented = entry["x-undocumented"]?.boolValue ?? false
            var methods: [String: Operation] = [:]
            for (method, op) in entry.objectValue ?? [:] where method != "x-undocumented" {
                methods[method] = Operation(
                    request: op["request"]?.stringValue,
                    response: op["response"]?.stringValue,
                    undocumented: undocumented
                )
            }
            ops[path] = methods
        }
        self.operations = ops
        // Every `$ref` target resolved once (the decoder resolves one per value it walks).
        var refs: [String: ResolvedRef] = [:]
        for name in schemas.keys {
            var current = schemas[name]!
            var resolvedName = name
            var hops = 0
            while let ref = current["$ref"]?.stringValue, hops < 32 {
                let target = String(ref.split(separator: "/").last ?? "")
                guard let next = schemas[target] else { break }
                resolvedName = target
                current = next
                hops += 1
            }
            refs["#/components/schemas/" + name] = ResolvedRef(schema: current, name: resolvedName)
        }
        self.resolvedRefs = refs
    }

    /// A `$ref` followed to the schema it names (through chains of refs).
    struct ResolvedRef: Sendable {
        var schema: JSON
        var name: String
    }

    /// `$ref` strings (`#/components/schemas/shared.Policy`) to their schemas.
    let resolvedRefs: [String: ResolvedRef]

    /// The values of a schema's `enum` (the document nests them: `enum: [[...]]`).
    static func enumValues(_ schema: JSON) -> [String]? {
        guard let values = schema["enum"]?.arrayValue else { return nil }
        var out: [String] = []
        for v in values {
            if let inner = v.arrayValue {
                out += inner.compactMap(\.stringValue)
            } else if let s = v.stringValue {
                out.append(s)
            }
        }
        return out
    }
}

/// One way a request body departs from the OpenAPI document. The console (Go's
/// `encoding/json`) accepts the first two silently — which is exactly why they are worth
/// recording: a misspelt field is dropped without an error.
public struct ConformanceFinding: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        /// A field the schema does not have: Go drops it.
        case unknownField
        /// A field matched only case-insensitively (`secretsName` for `secretsname`).
        case fieldCase
        /// A value of the wrong JSON type: Go fails the request (400).
        case typeMismatch
        /// A string outside the schema's enum.
        case enumViolation
        /// A value Go cannot store (a date that is not RFC 3339, a fraction for an integer).
        case invalidValue
        /// Something the console needs that the request left out (reported, not rejected).
        case missingField
    }

    public var kind: Kind
    /// Where: `rules[0].collections[0].nme` (the field as sent).
    public var path: String
    /// The schema holding the field (`shared.PolicyRule`).
    public var schema: String
    /// Human-readable detail: the canonical name, the expected type or the allowed values.
    public var detail: String

    public init(kind: Kind, path: String, schema: String, detail: String) {
        self.kind = kind
        self.path = path
        self.schema = schema
        self.detail = detail
    }

    public var json: JSON {
        ["kind": .string(kind.rawValue), "path": .string(path), "schema": .string(schema),
         "detail": .string(detail)]
    }

    public init?(json: JSON) {
        guard let k = json["kind"]?.stringValue, let kind = Kind(rawValue: k) else { return nil }
        self.init(kind: kind, path: json["path"]?.stringValue ?? "",
                  schema: json["schema"]?.stringValue ?? "", detail: json["detail"]?.stringValue ?? "")
    }

    public var description: String { "\(kind.rawValue) at \(path) (\(schema)): \(detail)" }
}

/// Decodes a request body the way the console's Go handlers do (`json.Unmarshal` into the
/// request type), driven by the OpenAPI schema:
/// - object keys are matched to the schema's field names, an exact match first, else
///   case-insensitively (Go's `EqualFold`); unknown keys are dropped;
/// - `null` leaves a field unset;
/// - a value of the wrong JSON type is a `json: cannot unmarshal X into Go struct field
///   S.a.b of type T` error (Go ≥ 1.20 wording; decoding goes on, the first error is the one
///   reported, and the request fails with 400);
/// - the result is the body normalised to the schema's canonical field names.
/// Every departure is recorded as a `ConformanceFinding`.
struct GoDecoder {
    let subset: OpenAPISubset
    /// Enum types whose violations the console rejects (it validates these after decoding).
    var rejectedEnums: Set<String> = [
        "runtime.RuleEffect", "common.PolicyEffect", "customrules.Effect", "customrules.Action",
        "identity.SamlType", "api.AuthType", "vuln.Effect", "common.ContainerRuntime",
        "common.Effect",
    ]

    private(set) var findings: [ConformanceFinding] = []
    /// The first Go decoding error (type mismatch).
    private(set) var goError: String?
    /// Validation errors after decoding (rejected enum values).
    private(set) var validationErrors: [String] = []

    init(subset: OpenAPISubset) {
        self.subset = subset
    }

    /// Decodes `value` against the component schema `schemaName`. Returns the normalised
    /// value (nil when the whole body is `null` or could not be stored).
    mutating func decode(_ value: JSON, schemaName: String) -> JSON? {
        guard let schema = subset.schemas[schemaName] else { return value }
        var ctx = Context(structName: "", schemaName: schemaName)
        pathStack.removeAll(keepingCapacity: true)
        // The top-level value: Go reports "into Go value of type T".
        if let mismatch = topLevelMismatch(value, schema: schema, typeName: schemaName) {
            setError("json: cannot unmarshal \(mismatch) into Go value of type \(schemaName)")
            findings.append(ConformanceFinding(
                kind: .typeMismatch, path: "(body)", schema: schemaName,
                detail: "expected \(schemaKind(schema)), got \(value.typeName)"))
            return nil
        }
        ctx.structName = shortName(schemaName)
        return walk(value, schema: schema, namedType: schemaName, ctx: ctx)
    }

    struct Context {
        /// The Go struct type being filled (`PolicyRule`), for error messages.
        var structName: String
        /// The component schema holding the current field.
        var schemaName: String
    }

    /// One step from the body's root to the value being decoded. The path is kept as a stack
    /// and spelt out only for a finding or an error (building it for every value was costly).
    enum PathPart {
        /// A struct field: the key as sent and the schema's name for it.
        case field(sent: String, canonical: String)
        case index(Int)
        case mapKey(String)
    }

    private var pathStack: [PathPart] = []

    /// Path with indices, for findings: `rules[0].collections[0].nme` (keys as sent).
    private var currentPath: String {
        var out = ""
        for part in pathStack {
            switch part {
            case .field(let sent, _): out += out.isEmpty ? sent : "." + sent
            case .index(let i): out += "[\(i)]"
            case .mapKey(let k): out += "[\(JSON.quote(k))]"
            }
        }
        return out
    }

    /// JSON field names from the root (Go's error field path, no indices).
    private var fieldStack: [String] {
        pathStack.compactMap { if case .field(_, let c) = $0 { return c } else { return nil } }
    }

    private mutating func setError(_ message: String) {
        if goError == nil { goError = message }
    }

    private func resolve(_ schema: JSON) -> (schema: JSON, name: String?) {
        var current = schema
        var name: String?
        if let ref = current["$ref"]?.stringValue, let known = subset.resolvedRefs[ref],
           known.schema["allOf"] == nil {
            return (known.schema, known.name)
        }
        var hops = 0
        while let ref = current["$ref"]?.stringValue, hops < 32 {
            let n = String(ref.split(separator: "/").last ?? "")
            guard let next = subset.schemas[n] else { break }
            name = n
            current = next
            hops += 1
        }
        if let all = current["allOf"]?.arrayValue {
            // Merge the parts' properties (the subset has none today; kept for safety).
            var props: [String: JSON] = [:]
            for part in all {
                let r = resolve(part).schema
                for (k, v) in r["properties"]?.objectValue ?? [:] { props[k] = v }
            }
            current = ["type": "object", "properties": .object(props)]
        }
        return (current, name)
    }

    private func schemaKind(_ schema: JSON) -> String {
        let r = resolve(schema).schema
        if let t = r["type"]?.stringValue { return t }
        if r["properties"] != nil { return "object" }
        return "any"
    }

    /// The Go type name of a field's schema, as `encoding/json` prints it.
    func goTypeName(_ schema: JSON) -> String {
        if let ref = schema["$ref"]?.stringValue {
            let name = String(ref.split(separator: "/").last ?? "")
            if name == "string" { return "string" }
            if let target = subset.schemas[name], target["type"]?.stringValue == "array",
               !name.hasPrefix("-_") {
                return name
            }
            if name.hasPrefix("-_") {
                // The document's anonymous slices (`-_customrules.Rule`).
                return "[]" + String(name.dropFirst(2))
            }
            return name
        }
        switch schema["type"]?.stringValue {
        case "string": return "string"
        case "boolean": return "bool"
        case "integer": return schema["format"]?.stringValue == "int64" ? "int64" : "int"
        case "number": return schema["format"]?.stringValue == "float" ? "float32" : "float64"
        case "array": return "[]" + goTypeName(schema["items"] ?? [:])
        case "object":
            if let ap = schema["additionalProperties"] {
                return "map[string]" + goTypeName(ap)
            }
            return "struct"
        default: return "interface {}"
        }
    }

    /// Go's name for the JSON value in an UnmarshalTypeError.
    private func goValueName(_ value: JSON) -> String {
        switch value {
        case .null: return "null"
        case .bool: return "bool"
        case .int, .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    private func topLevelMismatch(_ value: JSON, schema: JSON, typeName: String) -> String? {
        let r = resolve(schema).schema
        if case .null = value { return nil }
        return mismatch(value, kind: schemaKindOf(r))
    }

    private func schemaKindOf(_ r: JSON) -> String {
        if let t = r["type"]?.stringValue { return t }
        if r["properties"] != nil { return "object" }
        return "any"
    }

    /// The Go value name when `value` cannot be stored in a schema of `kind`, else nil.
    private func mismatch(_ value: JSON, kind: String) -> String? {
        switch (kind, value) {
        case (_, .null), ("any", _): return nil
        case ("object", .object), ("array", .array), ("string", .string), ("boolean", .bool),
             ("number", .int), ("number", .double), ("integer", .int):
            return nil
        case ("integer", .double(let d)):
            return "number " + (JSON.encodeDouble(d) ?? "NaN")
        default:
            return goValueName(value)
        }
    }

    private func shortName(_ schemaName: String) -> String {
        if let dot = schemaName.lastIndex(of: ".") { return String(schemaName[schemaName.index(after: dot)...]) }
        return schemaName
    }

    private func join(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : path + "." + key
    }

    private mutating func walk(_ value: JSON, schema rawSchema: JSON, namedType: String?, ctx: Context) -> JSON? {
        let (schema, resolvedName) = resolve(rawSchema)
        let typeName = resolvedName ?? namedType
        let kind = schemaKindOf(schema)
        if case .null = value { return nil }
        if let bad = mismatch(value, kind: kind) {
            let field = fieldStack.joined(separator: ".")
            let path = currentPath
            let goType = goTypeName(rawSchema)
            if field.isEmpty {
                setError("json: cannot unmarshal \(bad) into Go value of type \(goType)")
            } else {
                setError("json: cannot unmarshal \(bad) into Go struct field \(ctx.structName).\(field) of type \(goType)")
            }
            findings.append(ConformanceFinding(
                kind: .typeMismatch, path: path.isEmpty ? "(body)" : path, schema: ctx.schemaName,
                detail: "expected \(kind == "boolean" ? "boolean" : kind) (\(goType)), got \(value.typeName)"))
            return nil
        }
        switch kind {
        case "object":
            guard case .object(let members) = value else { return value }
            if let props = schema["properties"]?.objectValue {
                return walkStruct(members, properties: props, typeName: typeName, ctx: ctx)
            }
            if let ap = schema["additionalProperties"] {
                var out: [String: JSON] = [:]
                for (k, v) in members {
                    pathStack.append(.mapKey(k))
                    if let d = walk(v, schema: ap, namedType: nil, ctx: ctx) { out[k] = d }
                    pathStack.removeLast()
                }
                return .object(out)
            }
            return value
        case "array":
            guard case .array(let items) = value else { return value }
            let itemSchema = schema["items"] ?? [:]
            var out: [JSON] = []
            out.reserveCapacity(items.count)
            for (i, item) in items.enumerated() {
                if case .null = item {
                    out.append(.null)
                    continue
                }
                pathStack.append(.index(i))
                if let d = walk(item, schema: itemSchema, namedType: nil, ctx: ctx) { out.append(d) }
                pathStack.removeLast()
            }
            return .array(out)
        case "string":
            guard case .string(let s) = value else { return value }
            if schema["format"]?.stringValue == "date-time", RFC3339.parse(s) == nil {
                setError("parsing time \(JSON.quote(JSON.quote(s))) as \"\\\"2006-01-02T15:04:05Z07:00\\\"\": cannot parse \(JSON.quote(s + "\"")) as \"2006\"")
                findings.append(ConformanceFinding(
                    kind: .invalidValue, path: currentPath, schema: ctx.schemaName,
                    detail: "not an RFC 3339 date-time: \(s)"))
                return nil
            }
            if let allowed = OpenAPISubset.enumValues(schema), !allowed.contains(s) {
                let enumName = typeName ?? "string"
                findings.append(ConformanceFinding(
                    kind: .enumViolation, path: currentPath, schema: ctx.schemaName,
                    detail: "\(JSON.quote(s)) is not one of \(enumName): \(allowed.filter { !$0.isEmpty }.joined(separator: ", "))"))
                if rejectedEnums.contains(enumName) {
                    validationErrors.append("invalid \(fieldStack.last ?? "value") \(JSON.quote(s)): must be one of \(allowed.filter { !$0.isEmpty }.joined(separator: ", "))")
                }
            }
            return value
        default:
            return value
        }
    }

    private mutating func walkStruct(_ members: [String: JSON], properties: [String: JSON], typeName: String?, ctx: Context) -> JSON {
        var out: [String: JSON] = [:]
        out.reserveCapacity(members.count)
        let schemaName = typeName ?? ctx.schemaName
        var fieldCtx = ctx
        fieldCtx.schemaName = schemaName
        fieldCtx.structName = shortName(schemaName)
        // Exact matches first, then case-insensitive ones (Go prefers the exact field).
        for key in members.keys.sorted() {
            guard let v = members[key] else { continue }
            var canonical: String?
            if properties[key] != nil {
                canonical = key
            } else {
                let folded = key.lowercased()
                canonical = properties.keys.sorted().first { $0.lowercased() == folded }
                if let c = canonical {
                    findings.append(ConformanceFinding(
                        kind: .fieldCase, path: join(currentPath, key), schema: schemaName,
                        detail: "matched case-insensitively to \(JSON.quote(c)); send the exact name"))
                }
            }
            guard let name = canonical, let propSchema = properties[name] else {
                findings.append(ConformanceFinding(
                    kind: .unknownField, path: join(currentPath, key), schema: schemaName,
                    detail: "not a field of \(schemaName); the console ignores it"))
                continue
            }
            // An exact key wins over a case-folded one for the same field.
            if canonical != key, members[name] != nil { continue }
            pathStack.append(.field(sent: key, canonical: name))
            if let d = walk(v, schema: propSchema, namedType: nil, ctx: fieldCtx) {
                out[name] = d
            }
            pathStack.removeLast()
        }
        return .object(out)
    }
}

/// RFC 3339 timestamps, as the console writes and Go's `time.Time` reads them. Parsed and
/// written by hand: Foundation's ISO8601DateFormatter (ICU) was a tenth of the simulator's time.
enum RFC3339 {
    /// `2006-01-02T15:04:05Z`, `2006-01-02T15:04:05.999999999+07:00`; nil for anything else
    /// (Go's `time.RFC3339` layout: upper-case `T` and `Z`, any number of fraction digits).
    static func parse(_ s: String) -> Date? {
        let b = Array(s.utf8)
        var i = 0
        func digits(_ n: Int) -> Int? {
            guard i + n <= b.count else { return nil }
            var v = 0
            for k in 0..<n {
                let c = b[i + k]
                guard c >= 0x30 && c <= 0x39 else { return nil }
                v = v * 10 + Int(c - 0x30)
            }
            i += n
            return v
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < b.count, b[i] == c else { return false }
            i += 1
            return true
        }
        guard let year = digits(4), expect(0x2D), let month = digits(2), expect(0x2D), let day = digits(2),
              i < b.count, b[i] == 0x54 else { return nil }
        i += 1
        guard let hour = digits(2), expect(0x3A), let minute = digits(2), expect(0x3A), let second = digits(2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
              hour < 24, minute < 60, second < 60 else { return nil }
        var fraction = 0.0
        if i < b.count, b[i] == 0x2E {
            i += 1
            var scale = 0.1
            var count = 0
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
                fraction += Double(b[i] - 0x30) * scale
                scale /= 10
                count += 1
                i += 1
            }
            guard count > 0 else { return nil }
        }
        var offset = 0
        guard i < b.count else { return nil }
        if b[i] == 0x5A {
            i += 1
        } else if b[i] == 0x2B || b[i] == 0x2D {
            let sign = b[i] == 0x2D ? -1 : 1
            i += 1
            guard let oh = digits(2), expect(0x3A), let om = digits(2), oh < 24, om < 60 else { return nil }
            offset = sign * (oh * 3600 + om * 60)
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = Double(days * 86400 + hour * 3600 + minute * 60 + second - offset) + fraction
        return Date(timeIntervalSince1970: seconds)
    }

    /// `2006-01-02T15:04:05Z` (UTC, whole seconds).
    static func format(_ d: Date) -> String {
        let total = Int(d.timeIntervalSince1970.rounded(.down))
        var days = total / 86400
        var rest = total % 86400
        if rest < 0 { rest += 86400; days -= 1 }
        let (y, m, dd) = civilFromDays(days)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : String(v) }
        var year = String(y)
        while year.count < 4 { year = "0" + year }
        return "\(year)-\(two(m))-\(two(dd))T\(two(rest / 3600)):\(two(rest % 3600 / 60)):\(two(rest % 60))Z"
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
    private static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    private static func civilFromDays(_ z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}

public enum SimulatorError: Error, CustomStringConvertible {
    case resourceMissing(String)
    case invalidState(String)
    case invalidOption(String)
    case startFailed(String)

    public var description: String {
        switch self {
        case .resourceMissing(let s): return "console simulator resource missing: \(s)"
        case .invalidState(let s): return "invalid simulator state: \(s)"
        case .invalidOption(let s): return "invalid simulator option: \(s)"
        case .startFailed(let s): return "console simulator failed to start: \(s)"
        }
    }
}
