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
        vm.register("yaml", "encode") { [unowned vm] args in
            guard let first = args.first else { throw PrimitiveError("yaml.encode(docs): docs is required") }
            let docs: [JSON]
            if case .array(let items) = first { docs = items } else { docs = [first] }
            // The YAML text is about as long as the JSON one: refuse at once what could not fit,
            // then count what was built.
            try ConsolePrimitives.fits(vm, JSON.array(docs), what: "yaml.encode")
            do {
                let text = try YAMLCodec.encodeDocuments(docs)
                try vm.charge(text.utf8.count, what: "yaml.encode: a text of \(ByteSize.text(text.utf8.count))")
                return [.string(text)]
            } catch let e as LuaMemoryCeiling {
                throw e
            } catch {
                throw PrimitiveError("yaml.encode: \(error)")
            }
        }
    }
}
