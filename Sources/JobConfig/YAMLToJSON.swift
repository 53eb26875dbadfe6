import JSONModel
import Yams

/// The type rules of one YAML reader: which plain scalars are booleans, numbers and nulls (the
/// resolver its parser uses), what JSON value a scalar and a mapping key become, and how far a
/// document may grow. The one thing `ValuesYAML` (Helm's reading of values files) and
/// `YAMLCodec` (Kubernetes' reading of manifests) do differently.
public struct YAMLTypeRules: Sendable {
    /// Tags plain scalars (`true`, `42`, `~`, `<<`, ...) while parsing.
    public var resolver: Resolver
    /// The JSON value of a scalar, given its resolved (or explicit) tag name.
    public var scalar: @Sendable (_ scalar: Node.Scalar, _ tag: String) throws -> JSON
    /// The object key a scalar mapping key becomes, given its tag name.
    public var key: @Sendable (_ scalar: Node.Scalar, _ tag: String) throws -> String
    /// The most values one conversion may produce, aliases expanded.
    public var maxValues: Int
    /// The most values alias references (`*name`) alone may produce.
    public var maxAliasValues: Int

    public init(resolver: Resolver,
                scalar: @escaping @Sendable (Node.Scalar, String) throws -> JSON,
                key: @escaping @Sendable (Node.Scalar, String) throws -> String = { scalar, _ in scalar.string },
                maxValues: Int = .max,
                maxAliasValues: Int = .max) {
        self.resolver = resolver
        self.scalar = scalar
        self.key = key
        self.maxValues = maxValues
        self.maxAliasValues = maxAliasValues
    }
}

/// What the conversion itself refuses, whatever the type rules; each reader words it in its own
/// errors. `mark` is where (1-based line and column), when the parser knows.
public struct YAMLStructureError: Error {
    public enum Problem: Equatable, Sendable {
        /// More than `YAMLTypeRules.maxValues` values.
        case tooManyValues(limit: Int)
        /// More than `YAMLTypeRules.maxAliasValues` values from alias references.
        case tooManyAliasValues(limit: Int)
        /// A merge key (`<<`) whose value is not a mapping or a list of mappings.
        case mergeNeedsMappings
        /// A mapping key that is a mapping or a sequence.
        case keyNotScalar
        /// The same key twice in a mapping (after the type rules named the keys).
        case duplicateKey(String)
        /// An alias the parser left unresolved.
        case unresolvedAlias(String)
    }

    public let problem: Problem
    public let mark: Mark?
}

/// Parsed YAML nodes to the JSON value model: mappings become objects, sequences arrays, scalars
/// what the type rules say; merge keys (`<<`, as the rules' resolver tags them) applied, the
/// first listed mapping winning and the mapping's own keys over all; aliases expanded within the
/// rules' limits (an alias bomb fails instead of eating memory).
///
/// One converter per stream: its counts span every document converted with it. The parser
/// must stay alive while converting (it owns the anchors the nodes refer to, weakly, which is
/// how alias expansions are recognised): `withExtendedLifetime(parser) { ... }`.
public struct YAMLToJSON {
    public let rules: YAMLTypeRules
    private var values = 0
    private var aliasValues = 0
    private var expanding = 0
    private var seenAnchors = Set<ObjectIdentifier>()

    public init(rules: YAMLTypeRules) { self.rules = rules }

    /// A parser of `text` with the rules' resolver.
    public func parser(_ text: String, encoding: Parser.Encoding = .default) throws -> Parser {
        try Parser(yaml: text, resolver: rules.resolver, constructor: .default, encoding: encoding)
    }

    public mutating func convert(_ node: Node) throws -> JSON {
        var enteredExpansion = false
        if let anchor = node.anchor {
            let id = ObjectIdentifier(anchor)
            if seenAnchors.contains(id) {
                expanding += 1
                enteredExpansion = true
            } else {
                seenAnchors.insert(id)
            }
        }
        defer { if enteredExpansion { expanding -= 1 } }
        values += 1
        if values > rules.maxValues {
            throw YAMLStructureError(problem: .tooManyValues(limit: rules.maxValues), mark: node.mark)
        }
        if expanding > 0 {
            aliasValues += 1
            if aliasValues > rules.maxAliasValues {
                throw YAMLStructureError(problem: .tooManyAliasValues(limit: rules.maxAliasValues), mark: node.mark)
            }
        }
        switch node {
        case .scalar(let scalar):
            return try rules.scalar(scalar, node.tag.description)
        case .sequence(let sequence):
            var items: [JSON] = []
            items.reserveCapacity(sequence.count)
            for item in sequence { items.append(try convert(item)) }
            return .array(items)
        case .mapping(let mapping):
            return .object(try object(mapping))
        case .alias(let alias):
            throw YAMLStructureError(problem: .unresolvedAlias(alias.anchor.rawValue), mark: node.mark)
        }
    }

    private mutating func object(_ mapping: Node.Mapping) throws -> [String: JSON] {
        var object: [String: JSON] = [:]
        var merged: [String: JSON] = [:]
        for (keyNode, valueNode) in mapping {
            guard case .scalar(let keyScalar) = keyNode else {
                throw YAMLStructureError(problem: .keyNotScalar, mark: keyNode.mark)
            }
            if keyNode.tag.description == Tag.Name.merge.rawValue {
                // `<<: *base` or `<<: [*a, *b]`: keys the mapping does not set itself come
                // from the merged mappings, the first listed winning.
                let sources: [Node]
                switch valueNode {
                case .mapping: sources = [valueNode]
                case .sequence(let sequence): sources = Array(sequence)
                default: throw YAMLStructureError(problem: .mergeNeedsMappings, mark: valueNode.mark)
                }
                for source in sources {
                    guard case .object(let fields) = try convert(source) else {
                        throw YAMLStructureError(problem: .mergeNeedsMappings, mark: source.mark)
                    }
                    for (k, v) in fields where merged[k] == nil { merged[k] = v }
                }
                continue
            }
            let key = try rules.key(keyScalar, keyNode.tag.description)
            if object[key] != nil {
                throw YAMLStructureError(problem: .duplicateKey(key), mark: keyNode.mark)
            }
            object[key] = try convert(valueNode)
        }
        for (k, v) in merged where object[k] == nil { object[k] = v }
        return object
    }
}
