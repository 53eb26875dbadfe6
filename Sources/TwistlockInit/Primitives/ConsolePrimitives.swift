import Foundation
import JSONModel
import LuaHost

/// `console.*`: the only way steps talk to the console, so that authentication, retries,
/// redaction, "write only a difference" and plan mode hold for every step, custom ones too.
enum ConsolePrimitives {
    static func register(on vm: LuaVM, context ctx: JobContext) {
        vm.register("console", "get") { args in
            let path = try stringArg(args, 0, "console.get", "path")
            let resp = try ctx.console.request(method: "GET", path: path, body: nil)
            return [try decodeOrRaise(resp, method: "GET", path: ctx.console.apiPath(path), object: nil)]
        }

        vm.register("console", "request") { args in
            guard case .object(let spec)? = args.first else {
                throw PrimitiveError("console.request expects a table {method=, path=, body=, auth=, retry=}")
            }
            guard case .string(let path)? = spec["path"] else { throw PrimitiveError("console.request: path is required") }
            let method = spec["method"]?.stringValue?.uppercased() ?? "GET"
            let body = spec["body"].flatMap { $0.isNull ? nil : $0 }
            let auth = spec["auth"]?.boolValue ?? true
            let retry = spec["retry"]?.boolValue ?? true
            if method != "GET", ctx.mode == .plan, !planSafe(method: method, path: path) {
                throw PrimitiveError("console.request: \(method) \(path) would write to the console; use console.post/put/delete so plan mode can hold it back")
            }
            let resp = try ctx.console.request(method: method, path: path, body: body, auth: auth, retry: retry)
            var headers: [String: JSON] = [:]
            for (k, v) in resp.headers { headers[k] = .string(v) }
            return [.object([
                "status": .int(Int64(resp.status)),
                "body": resp.json ?? .string(resp.bodyText),
                "headers": .object(headers),
            ])]
        }

        vm.register("console", "login") { _ in
            let resp = try ctx.console.login()
            return [.object([
                "ok": .bool(resp.ok),
                "status": .int(Int64(resp.status)),
                "message": .string(resp.ok ? "" : resp.message),
            ])]
        }

        vm.register("console", "version") { _ in
            if let v = ctx.consoleVersion { return [.string(v)] }
            let resp = try ctx.console.request(method: "GET", path: "version", body: nil)
            let value = try decodeOrRaise(resp, method: "GET", path: ctx.console.apiPath("version"), object: nil)
            guard case .string(let v) = value else {
                throw PrimitiveError("GET \(ctx.console.apiPath("version")): expected a JSON string, got \(value.typeName)")
            }
            ctx.consoleVersion = v
            return [.string(v)]
        }

        for method in ["PUT", "POST", "DELETE"] {
            vm.register("console", method.lowercased()) { args in
                let name = "console.\(method.lowercased())"
                let path = try stringArg(args, 0, name, "path")
                let body: JSON?
                let opts: [String: JSON]
                if method == "DELETE" {
                    body = nil
                    opts = args.count > 1 ? (args[1].objectValue ?? [:]) : [:]
                } else {
                    guard args.count > 1, !args[1].isNull else { throw PrimitiveError("\(name)(\(path), body): body is required") }
                    body = args[1]
                    opts = args.count > 2 ? (args[2].objectValue ?? [:]) : [:]
                }
                return [try write(ctx, method: method, path: path, body: body, opts: opts)]
            }
        }
    }

    /// A write: skipped when `body` equals `opts.before`, held back and recorded in plan mode,
    /// sent otherwise; every change is recorded in the ledger with a redacted diff.
    static func write(_ ctx: JobContext, method: String, path: String, body: JSON?, opts: [String: JSON]) throws -> JSON {
        let full = ctx.console.apiPath(path)
        let before = opts["before"].flatMap { $0.isNull ? nil : $0 }
        let object = opts["object"]?.stringValue ?? "\(method) \(path)"
        var sensitive = Set<String>()
        if case .array(let names)? = opts["sensitive"] {
            for n in names { if let s = n.stringValue { sensitive.insert(s) } }
        }
        if planSafe(method: method, path: path) {
            // A POST that only asks for something (the Defender manifest): never a change.
            let resp = try named(method: method, path: full, object: opts["object"]?.stringValue) {
                try ctx.console.request(method: method, path: path, body: body)
            }
            return .object(["changed": .bool(false), "planned": .bool(false), "status": .int(Int64(resp.status)),
                            "body": try decodeOrRaise(resp, method: method, path: full, object: opts["object"]?.stringValue)])
        }
        if let before, let body, before.isEquivalent(to: body) {
            return .object(["changed": .bool(false), "planned": .bool(false), "status": .int(0)])
        }
        if ctx.mode == .plan {
            let r = ctx.ledger.record(step: ctx.step, object: object, method: method, target: full,
                                      before: before, after: body, sensitive: sensitive, planned: true, status: nil)
            render(ctx, r)
            return .object(["changed": .bool(true), "planned": .bool(true), "status": .int(0)])
        }
        let resp = try named(method: method, path: full, object: opts["object"]?.stringValue) {
            try ctx.console.request(method: method, path: path, body: body, auth: opts["auth"]?.boolValue ?? true)
        }
        let decoded = try decodeOrRaise(resp, method: method, path: full, object: opts["object"]?.stringValue)
        let r = ctx.ledger.record(step: ctx.step, object: object, method: method, target: full,
                                  before: before, after: body, sensitive: sensitive, planned: false, status: resp.status)
        render(ctx, r)
        return .object([
            "changed": .bool(true), "planned": .bool(false),
            "status": .int(Int64(resp.status)), "body": decoded,
        ])
    }

    static func render(_ ctx: JobContext, _ r: WriteRecord) {
        if ctx.log.format == .json {
            ctx.log.print("", event: "write", fields: r.json.objectValue ?? [:])
        } else {
            for line in Ledger.render(r) { ctx.log.print(line) }
        }
    }

    /// Runs a write's request; a failure without an answer (connection lost, timed out,
    /// interrupted) names the object too, like an error status does:
    /// `POST /api/v1/users (user alice): no answer from the console (…)`.
    static func named(method: String, path: String, object: String?, _ send: () throws -> ConsoleResponse) throws -> ConsoleResponse {
        do {
            return try send()
        } catch let error as ConsoleError {
            guard let object else { throw error }
            let prefix = "\(method) \(path)"
            let text = error.description
            guard text.hasPrefix(prefix) else { throw error }
            throw PrimitiveError("\(prefix) (\(object))" + text.dropFirst(prefix.count))
        }
    }

    /// Requests that change nothing even though they are not GETs.
    static func planSafe(method: String, path: String) -> Bool {
        let p = path.hasPrefix("/") ? path : "/api/v1/" + path
        return p.hasSuffix("/authenticate") || p.hasSuffix("/defenders/daemonset.yaml")
    }

    /// The body of a 2xx answer as JSON (or text when it is not JSON); an error otherwise.
    static func decodeOrRaise(_ resp: ConsoleResponse, method: String, path: String, object: String?) throws -> JSON {
        let label = object.map { "\(method) \(path) (\($0))" } ?? "\(method) \(path)"
        guard resp.ok else {
            throw PrimitiveError(ConsoleError.status(method: method, path: path, status: resp.status, message: resp.message)
                .description.replacingOccurrences(of: "\(method) \(path)", with: label))
        }
        if resp.bodyText.isEmpty { return .null }
        let contentType = resp.headers["content-type"] ?? ""
        do {
            return try JSON.parse(resp.bodyText)
        } catch {
            if contentType.contains("json") {
                throw PrimitiveError("\(label): the console answered with malformed JSON (\(error))")
            }
            let trimmed = resp.bodyText.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
            if trimmed.hasPrefix("<!doctype html") || trimmed.hasPrefix("<html") {
                throw PrimitiveError("\(label): the console answered with an HTML page, not the API (a proxy or login page in the way?)")
            }
            return .string(resp.bodyText)
        }
    }
}

func stringArg(_ args: [JSON], _ i: Int, _ fn: String, _ name: String) throws -> String {
    guard args.count > i, case .string(let s) = args[i] else {
        let got = args.count > i ? args[i].typeName : "nothing"
        throw PrimitiveError("\(fn): argument \(i + 1) (\(name)) must be a string, got \(got)")
    }
    return s
}
