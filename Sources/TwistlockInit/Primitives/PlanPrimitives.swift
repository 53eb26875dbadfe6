import Foundation
import JSONModel
import LuaHost

/// What a step tells the plan beyond its writes: objects it cannot compare
/// (`job.cannot_compare`), and whether the cluster can be reached at all (`k8s.access`), so a
/// plan without cluster access reports what it cannot see instead of failing.
enum PlanPrimitives {
    static func register(on vm: LuaVM, context ctx: JobContext) {
        vm.register("job", "cannot_compare") { args in
            let object = try stringArg(args, 0, "job.cannot_compare", "object")
            let reason = try stringArg(args, 1, "job.cannot_compare", "reason")
            // A run sends what it sends; only a plan lists what it could not compare.
            guard ctx.mode == .plan else { return [] }
            let c = ctx.ledger.noteCannotCompare(step: ctx.step, object: object, reason: reason)
            if ctx.log.format == .json {
                ctx.log.print("", event: "cannot-compare", fields: c.json.objectValue ?? [:])
            } else {
                ctx.log.print(Ledger.render(c))
            }
            return []
        }

        vm.register("k8s", "access") { _ in
            do {
                _ = try K8sPrimitives.client(ctx)
                return [.object(["ok": .bool(true), "reason": .string("")])]
            } catch {
                return [.object(["ok": .bool(false), "reason": .string("\(error)")])]
            }
        }
    }
}
