import Foundation
import JSONModel
import LuaHost

/// The host API that steps see (documented in docs/step-api.md and declared for editors in
/// steps/types/host.lua). `json` is built into LuaHost; the rest is registered here.
public enum Primitives {
    /// Every function and field the host registers, as `namespace.name` — the test that keeps
    /// steps/types/host.lua complete reads this list.
    public static let declared: [String] = [
        "json.encode", "json.decode", "json.null", "json.array", "json.object", "json.is_array",
        "json.equal", "json.copy",
        "log.info", "log.warn", "log.error",
        "secret",
        "console.get", "console.request", "console.login", "console.version",
        "console.put", "console.post", "console.delete",
        "yaml.decode", "yaml.encode",
        "k8s.apply", "k8s.get", "k8s.access",
        "time.now", "time.sleep",
        "job.mode", "job.step", "job.strict", "job.console_url", "job.stop", "job.cannot_compare",
        "values",
    ]

    public static func register(on vm: LuaVM, context: JobContext, stepsDirs: [URL]) throws {
        try BasicPrimitives.register(on: vm, context: context, stepsDirs: stepsDirs)
        ConsolePrimitives.register(on: vm, context: context)
        YAMLPrimitives.register(on: vm, context: context)
        K8sPrimitives.register(on: vm, context: context)
        PlanPrimitives.register(on: vm, context: context)
    }
}
