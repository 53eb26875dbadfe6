import JSONModel

/// What comes from `ValuesSchema` for the chart and step authors: the chart's
/// `values.schema.json`, the chart's list of the keys the job reads (`_job-keys.tpl`, which keeps
/// the values ConfigMap to those keys) and the LuaLS `---@class Values` of `steps/types/values.lua`.
/// `SchemaSyncTests` checks each file is what this generates (`UPDATE_SCHEMA=1` rewrites them).
enum SchemaExport {
    // MARK: values.schema.json

    /// The chart's values.schema.json: every known key with its kind. The sections the job or the
    /// chart own refuse other keys (`additionalProperties: false`); the top level and the Big Bang
    /// console chart's own sections take any key.
    static func jsonSchema() -> String {
        var root = node(ValuesSchema.root, closed: false)
        root["$schema"] = "http://json-schema.org/draft-07/schema#"
        root["title"] = "twistlock-init chart values"
        root["description"] = .string("Generated from Sources/JobConfig/ValuesSchema.swift (SchemaSyncTests); do not edit. "
            + "Keys of the job, of this chart and of the Big Bang Twistlock console chart that shares the values file; "
            + "the sections the job or this chart own refuse other keys.")
        return JSON.object(root).encoded(pretty: true) + "\n"
    }

    static func node(_ type: SchemaType, closed: Bool = true) -> [String: JSON] {
        switch type {
        case .bool: return ["type": "boolean"]
        case .string(_, let format?):
            var out: [String: JSON] = ["type": "string"]
            for (key, value) in format.jsonSchema { out[key] = value }
            return out
        case .string: return ["type": "string"]
        case .int(let min, let max):
            var out: [String: JSON] = ["type": "integer", "minimum": .int(min)]
            if max != ValuesSchema.unbounded { out["maximum"] = .int(max) }
            return out
        case .oneOf(let values, let isClosed):
            if isClosed { return ["type": "string", "enum": .array(values.map { .string($0) })] }
            // A role that differs from a built-in one only in case is refused (ValuesValidator).
            let caseVariants: [JSON] = values.map { role in
                let pattern = role.map { c -> String in
                    let lower = c.lowercased(), upper = c.uppercased()
                    return lower == upper ? String(c) : "[\(lower)\(upper)]"
                }.joined()
                return ["pattern": .string("^\(pattern)$"), "not": ["const": .string(role)]]
            }
            var out: [String: JSON] = ["type": "string", "minLength": 1,
                                       "description": .string("Built-in: \(values.joined(separator: ", ")); or a custom role of the console.")]
            for (key, value) in TextFormat.name(innerSpaces: true).jsonSchema { out[key] = value }
            out["not"] = ["anyOf": .array(caseVariants)]
            return out
        case .list(let item):
            return ["type": "array", "items": .object(node(item))]
        case .map(let value):
            var out: [String: JSON] = ["type": "object"]
            if let value { out["additionalProperties"] = .object(node(value)) }
            return out
        case .any:
            return [:]
        case .labels:
            return ["type": "object",
                    "propertyNames": ["pattern": .string(LabelRules.keyPattern),
                                      "maxLength": .int(Int64(LabelRules.maxPrefixBytes + 1 + LabelRules.maxNameBytes))],
                    "additionalProperties": ["type": "string", "pattern": .string(LabelRules.valuePattern),
                                             "maxLength": .int(Int64(LabelRules.maxValueBytes))]]
        case .union(let types):
            let nodes = types.map { node($0) }
            if nodes.allSatisfy({ $0.count == 1 && $0["type"] != nil }) {
                return ["type": .array(nodes.map { $0["type"]! })]
            }
            return ["anyOf": .array(nodes.map { .object($0) })]
        case .record(let fields):
            var properties: [String: JSON] = [:]
            var required: [JSON] = []
            var other: JSON?
            for field in fields {
                var child = node(field.type, closed: field.reader != .package)
                for (key, value) in field.jsonSchema {
                    if key == "items", case .object(var items)? = child["items"], case .object(let more) = value {
                        for (k, v) in more { items[k] = v }
                        child["items"] = .object(items)
                    } else {
                        child[key] = value
                    }
                }
                if field.name == SchemaField.otherKeys {
                    other = .object(child)
                    continue
                }
                properties[field.name] = .object(child)
                if field.required { required.append(.string(field.name)) }
            }
            var out: [String: JSON] = ["type": "object", "properties": .object(properties)]
            if let other {
                out["additionalProperties"] = other
            } else if closed {
                out["additionalProperties"] = false
            }
            if !required.isEmpty { out["required"] = .array(required) }
            return out
        }
    }

    // MARK: the keys the job reads (chart/templates/_job-keys.tpl)

    /// The keys the job reads, as a tree the chart's `twistlock-init.jobValues` walks: `true` a
    /// key to copy, `false` a known key to leave out (the chart's, the console chart's, the
    /// secrets: those reach the job as files), a map a section to walk, `{"[]": …}` a list whose
    /// items are walked.
    static func jobKeys() -> JSON {
        func tree(_ type: SchemaType) -> JSON? {
            guard case .record(let fields) = type else { return nil }
            var out: [String: JSON] = [:]
            for field in fields where field.name != SchemaField.otherKeys {
                out[field.name] = value(field)
            }
            return .object(out)
        }
        func value(_ field: SchemaField) -> JSON {
            if field.secret { return false }
            if case .record = field.type, let sub = tree(field.type) {
                // A section the job reads nothing of is left out whole.
                return sub.encoded().contains("true") ? sub : false
            }
            guard field.reader == .job else { return false }
            if case .list(.record) = field.type, case .list(let item) = field.type, let sub = tree(item) {
                return ["[]": sub]
            }
            return true
        }
        return tree(ValuesSchema.root)!
    }

    static func jobKeysTemplate() -> String {
        """
        {{/*
        Generated from Sources/JobConfig/ValuesSchema.swift (SchemaSyncTests); do not edit.
        The values keys the job reads (see SchemaExport.jobKeys): true to copy, false to leave out,
        a map to walk, {"[]": ...} for the items of a list.
        */}}
        {{- define "twistlock-init.jobKeys" -}}
        \(jobKeys().encoded())
        {{- end -}}

        {{/*
        The keys only the Big Bang Twistlock package reads (see MetricsUser): values setting one
        of them come from Big Bang (the metrics user's default name is then bigbang-metrics-sa).
        */}}
        {{- define "twistlock-init.bigBangMarkers" -}}
        \(JSON.array(MetricsUser.bigBangMarkers.map { .array($0.map { .string($0) }) }).encoded())
        {{- end -}}

        """
    }

    // MARK: steps/types/values.lua

    static func luaClass() -> String {
        var classes: [String] = []
        func luaType(_ type: SchemaType, _ className: String) -> String {
            switch type {
            case .bool: return "boolean"
            case .string: return "string"
            case .int: return "integer"
            case .oneOf(let values, let closed):
                return closed ? values.map { "\"\($0)\"" }.joined(separator: "|") : "string"
            case .list(let item):
                let inner = luaType(item, className)
                return inner.contains("|") ? "(\(inner))[]" : inner + "[]"
            case .map(let value): return "table<string, \(value.map { luaType($0, className) } ?? "any")>"
            case .any: return "any"
            case .labels: return "table<string, string>"
            case .union(let types): return types.map { luaType($0, className) }.joined(separator: "|")
            case .record(let fields):
                declare(className, fields)
                return className
            }
        }
        func declare(_ className: String, _ fields: [SchemaField]) {
            var lines = ["---@class \(className)"]
            for field in fields where field.name != SchemaField.otherKeys {
                guard field.reader == .job || containsJobKey(field.type) else { continue }
                let type = luaType(field.type, "\(className).\(field.name)")
                var line = "---@field \(field.name) \(type)"
                if let d = field.defaultValue, d != .array([]), d != .object([:]), d != .string("") {
                    line += " default \(d.encoded())"
                }
                if field.secret { line += " (secret)" }
                lines.append(line)
            }
            classes.append(lines.joined(separator: "\n"))
        }
        _ = luaType(ValuesSchema.root, "Values")
        return """
        ---@meta
        -- Generated from Sources/JobConfig/ValuesSchema.swift (SchemaSyncTests); do not edit.
        -- The values keys the job reads, as steps see them in `values` (validated before any step
        -- runs: kinds, enums, required keys, the shapes of URLs, host names, user and group names
        -- and roles; steps trust them. docs/values.md says what each means and accepts). List
        -- items' fields are present when given (authType gets its default).


        """ + classes.reversed().joined(separator: "\n\n") + "\n"
    }

    static func containsJobKey(_ type: SchemaType) -> Bool {
        switch type {
        case .record(let fields): return fields.contains { $0.reader == .job || containsJobKey($0.type) }
        case .list(let item): return containsJobKey(item)
        default: return false
        }
    }
}
