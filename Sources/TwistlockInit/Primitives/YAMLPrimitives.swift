import Foundation
import JSONModel
import LuaHost

/// `yaml.decode` / `yaml.encode`: multi-document YAML through Yams (libyaml).
enum YAMLPrimitives {
    static func register(on vm: LuaVM, context ctx: JobContext) {
        vm.register("yaml", "decode") { [unowned vm] args in
            let text = try stringArg(args, 0, "yaml.decode", "text")
            try vm.ensureRoom(toDecode: text.utf8.count, what: "yaml.decode")
            do {
                return [.array(try YAMLCodec.decodeDocuments(text))]
            } catch {
                throw PrimitiveError("yaml.decode: \(error)")
            }
        }
        vm.register("yaml", "encode") { args in
            guard let first = args.first else { throw PrimitiveError("yaml.encode(docs): docs is required") }
            let docs: [JSON]
            if case .array(let items) = first { docs = items } else { docs = [first] }
            do {
                return [.string(try YAMLCodec.encodeDocuments(docs))]
            } catch {
                throw PrimitiveError("yaml.encode: \(error)")
            }
        }
    }
}
