import Foundation
import JSONModel
// The registry of variants (names, families, evidence) lives in ConsoleVariantRegistry, which
// the production binary's `probe` links too; the simulator's users see it through this module.
@_exported import ConsoleVariantRegistry

/// The `zero-filled` variant: a value as Go's `encoding/json` marshals the struct it was
/// decoded into — every field of the OpenAPI schema present, with its zero value where nothing
/// is stored: `""`, `0`, `false`, `"0001-01-01T00:00:00Z"` for times, `null` for lists, maps
/// and values of unknown type, and nested structs filled the same way (to a bounded depth:
/// recursive types end in `null`).
struct ZeroFill {
    let subset: OpenAPISubset
    static let zeroTime = "0001-01-01T00:00:00Z"
    static let maxDepth = 6

    func fill(_ value: JSON, schemaName: String) -> JSON {
        guard let schema = subset.schemas[schemaName] else { return value }
        return fill(value, schema: schema, depth: 0)
    }

    private func resolve(_ schema: JSON) -> JSON {
        if let ref = schema["$ref"]?.stringValue, let r = subset.resolvedRefs[ref] { return r.schema }
        return schema
    }

    private func fill(_ value: JSON, schema raw: JSON, depth: Int) -> JSON {
        let schema = resolve(raw)
        switch value {
        case .object(var o):
            guard let props = schema["properties"]?.objectValue else { return value }
            for (name, sub) in props {
                if let v = o[name] {
                    o[name] = fill(v, schema: sub, depth: depth + 1)
                } else {
                    o[name] = zero(sub, depth: depth + 1)
                }
            }
            return .object(o)
        case .array(let a):
            guard let items = schema["items"] else { return value }
            return .array(a.map { fill($0, schema: items, depth: depth + 1) })
        default:
            return value
        }
    }

    /// The zero value of a schema.
    func zero(_ raw: JSON, depth: Int) -> JSON {
        let schema = resolve(raw)
        switch schema["type"]?.stringValue {
        case "string": return schema["format"]?.stringValue == "date-time" ? .string(Self.zeroTime) : .string("")
        case "integer", "number": return .int(0)
        case "boolean": return .bool(false)
        case "object":
            guard let props = schema["properties"]?.objectValue, depth < Self.maxDepth else { return .null }
            var o: [String: JSON] = [:]
            for (name, sub) in props { o[name] = zero(sub, depth: depth + 1) }
            return .object(o)
        default:
            return .null
        }
    }
}
