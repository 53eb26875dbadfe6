import Foundation
import JobConfig
import JSONModel
import LuaHost

/// `log.*`, `secret()`, `time.*`, `job.*` and `values`.
enum BasicPrimitives {
    static func register(on vm: LuaVM, context ctx: JobContext, stepsDirs: [URL]) throws {
        // The raw writer; `log.info/warn/error` are Lua wrappers over it so that formatting is
        // Lua's own `string.format` (`log.info("%d rules", n)`).
        vm.register("__log", "write") { [unowned vm] args in
            let level = LogLevel(rawValue: args.first?.stringValue ?? "info") ?? .info
            let message: String
            if args.count > 1 {
                if case .string(let s) = args[1] { message = s } else { message = args[1].encoded() }
            } else {
                message = ""
            }
            // The line is formatted and masked in copies: they count against the ceiling.
            try vm.charge(2 * message.utf8.count, what: "log: a line of \(ByteSize.text(message.utf8.count))")
            ctx.log.log(level, message, step: ctx.step.isEmpty ? nil : ctx.step)
            return []
        }

        vm.register(nil, "secret") { args in
            let name = try stringArg(args, 0, "secret", "name")
            let optional = args.count > 1 ? (args[1]["optional"]?.boolValue ?? false) : false
            guard let dir = ctx.secretsDir else {
                if optional { return [.null] }
                throw PrimitiveError("secret(\"\(name)\"): no secrets directory was given (--secrets-dir)")
            }
            if optional, !name.contains("/"), !name.hasPrefix("."),
               !FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).path) {
                return [.null]
            }
            do {
                let value = try ValuesLoader.readSecret(named: name, in: dir)
                if !value.isEmpty && value.count < Redactor.minimumLength {
                    throw PrimitiveError("is shorter than \(Redactor.minimumLength) characters; refused (it could not be "
                        + "masked in output without masking those letters everywhere)")
                }
                ctx.redactor.add(value)
                return [.string(value)]
            } catch {
                throw PrimitiveError("secret(\"\(name)\"): \(error)")
            }
        }

        vm.register("time", "now") { _ in
            [.double(ProcessInfo.processInfo.systemUptime)]
        }
        vm.register("time", "sleep") { args in
            guard let s = args.first?.doubleValue, s >= 0 else { throw PrimitiveError("time.sleep(seconds): seconds must be a number ≥ 0") }
            guard s <= 3600 else { throw PrimitiveError("time.sleep(\(s)): at most 3600 seconds") }
            // Cut short by an interrupt (SIGTERM), which also ends the step right there.
            guard ctx.interrupt.pause(s) else { throw PrimitiveError("time.sleep: interrupted") }
            return []
        }

        vm.register("job", "stop") { args in
            let message = args.first?.stringValue ?? "stopped by the step"
            throw JobStop(message: message)
        }
        for level in ["info", "warn", "error"] {
            try vm.define("log", level, lua: """
            return function(fmt, ...)
              local msg
              if select("#", ...) == 0 then msg = tostring(fmt) else msg = string.format(fmt, ...) end
              __log.write("\(level)", msg)
            end
            """)
        }
        try vm.setField("job", "mode", .string(ctx.mode.rawValue))
        try vm.setField("job", "strict", .bool(ctx.strict))
        try vm.setField("job", "console_url", .string(ctx.console.connection.baseURL))
        try vm.setField("job", "step", .string(""))
        // What the validated values imply, computed once in Swift (the steps do not repeat it).
        try vm.setField("job", "builtin_roles", .array(Values.builtinRoles.map { .string($0) }))
        if let host = ctx.values.consoleHost {
            try vm.setField("job", "console_host", ["name": .string(host.name), "key": .string(host.key)])
        }

        try vm.setGlobal("values", readOnly: ctx.values.root)
    }
}
