/// The one value model of twistlock-init: values, console bodies, Lua tables and YAML
/// documents all convert through it. Objects are unordered; encoding sorts keys so that
/// output is deterministic. Integers and floats stay distinct (64-bit integers survive).
public enum JSON: Hashable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSON])
    case object([String: JSON])
}
