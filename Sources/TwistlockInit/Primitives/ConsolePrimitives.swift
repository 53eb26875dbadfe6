import Foundation
import JSONModel
import LuaHost

/// `console.*`: the only way steps talk to the console, so that authentication, retries,
/// redaction, "write only a difference" and plan mode hold for every step, custom ones too.
enum ConsolePrimitives {
    static func register(on vm: LuaVM, context ctx: JobContext) {
        vm.register("console", "get") { args in
            let path = try stringArg(args, 0, "console.get", "path")
            let req = try parse("console.get", method: "GET", path: path)
            let resp = try ctx.console.request(req, body: nil)
            return [try decodeOrRaise(resp, method: "GET", path: req.displayPath, object: nil)]
        }

        vm.register("console", "request") { [unowned vm] args in
            guard case .object(let spec)? = args.first else {
                throw PrimitiveError("console.request expects a table {method=, path=, body=, auth=, retry=, read=, idempotent=, timeout=}")
            }
            guard case .string(let path)? = spec["path"] else { throw PrimitiveError("console.request: path is required") }
            let rawMethod: String
            switch spec["method"] {
            case nil, .null?: rawMethod = "GET"
            case .string(let m)?: rawMethod = m
            case let other?: throw PrimitiveError("console.request: method must be a string, got \(other.typeName)")
            }
            let body = spec["body"].flatMap { $0.isNull ? nil : $0 }
            let auth = try flag(spec, "auth", "console.request") ?? true
            let retry = try flag(spec, "retry", "console.request") ?? true
            let read = try flag(spec, "read", "console.request") ?? false
            let idempotent = try flag(spec, "idempotent", "console.request")
            let timeout = try seconds(spec, "timeout", "console.request")
            let req = try parse("console.request", method: rawMethod, path: path, read: read, idempotent: idempotent)
            if let body { try fits(vm, body, what: "console.request: the body") }
            if req.isWrite, ctx.mode == .plan {
                throw PrimitiveError("console.request: \(req.method) \(req.displayPath) would write to the console; plan mode sends no write (use console.post/put/delete so the plan can hold it back and show it, or read = true for a POST that only reads)")
            }
            let resp = try ctx.console.request(req, body: body, auth: auth, retry: retry, timeout: timeout)
            if req.isWrite {
                // A write through console.request is a write like any other: in the report
                // and the diff, whatever the console answered (it may have landed).
                let r = ctx.ledger.record(step: ctx.step, object: "\(req.method) \(req.displayPath)", method: req.method,
                                          target: req.displayPath, before: nil, after: body ?? .null, sensitive: [],
                                          planned: false, status: resp.status)
                render(ctx, r)
            }
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
            let req = try parse("console.version", method: "GET", path: "version")
            let resp = try ctx.console.request(req, body: nil)
            let value = try decodeOrRaise(resp, method: "GET", path: req.displayPath, object: nil)
            guard case .string(let v) = value else {
                throw PrimitiveError("GET \(req.displayPath): expected a JSON string, got \(value.typeName)")
            }
            ctx.consoleVersion = v
            return [.string(v)]
        }

        for method in ["PUT", "POST", "DELETE"] {
            vm.register("console", method.lowercased()) { [unowned vm] args in
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
                let req = try parse(name, method: method, path: path,
                                    read: try flag(opts, "read", name) ?? false,
                                    idempotent: try flag(opts, "idempotent", name))
                if let body { try fits(vm, body, what: "\(name): the body") }
                return [try write(ctx, req, body: body, opts: opts)]
            }
        }
    }

    /// A write: skipped when `body` equals `opts.before`, held back and recorded in plan mode,
    /// sent otherwise; every change is recorded in the ledger with a redacted diff. A POST the
    /// step marked `read = true` (and the host accepted as a known read) is sent in both modes
    /// and is never a change.
    static func write(_ ctx: JobContext, _ req: ConsoleRequest, body: JSON?, opts: [String: JSON]) throws -> JSON {
        let method = req.method
        let full = req.displayPath
        let before = opts["before"].flatMap { $0.isNull ? nil : $0 }
        let object = opts["object"]?.stringValue ?? "\(method) \(full)"
        var sensitive = Set<String>()
        if case .array(let names)? = opts["sensitive"] {
            for n in names { if let s = n.stringValue { sensitive.insert(s) } }
        }
        let auth = opts["auth"]?.boolValue ?? true
        guard req.isWrite else {
            // A POST that only asks for something (the Defender manifest): never a change.
            let resp = try named(method: method, path: full, object: opts["object"]?.stringValue) {
                try ctx.console.request(req, body: body, auth: auth)
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
            try ctx.console.request(req, body: body, auth: auth)
        }
        let decoded = try decodeOrRaise(resp, method: method, path: full, object: opts["object"]?.stringValue)
        let r = ctx.ledger.record(step: ctx.step, object: object, method: method, target: full,
                                  before: before, after: body, sensitive: sensitive, planned: false, status: resp.status)
        render(ctx, r)
        ctx.verifier.note(method: method, path: full, body: body, before: before, sensitive: sensitive,
                          opts: opts, recordIndex: ctx.ledger.count - 1)
        return .object([
            "changed": .bool(true), "planned": .bool(false),
            "status": .int(Int64(resp.status)), "body": decoded,
        ])
    }

    /// Counts the JSON text of `value` (a body about to be encoded and sent, a document about
    /// to be written) against what the host function may still build; throws `LuaMemoryCeiling`
    /// without building more than that.
    static func fits(_ vm: LuaVM, _ value: JSON, what: String) throws {
        let left = vm.allowanceLeft
        guard left != .max else { return }
        do {
            let size = try value.encodedBytes(limit: left).count
            try vm.charge(size, what: what)
        } catch is JSON.EncodingLimitExceeded {
            throw LuaMemoryCeiling(detail: "\(what): the text needs more than the \(ByteSize.text(left)) left under the ceiling")
        }
    }

    /// Parses a request a primitive was given; a refusal names the primitive.
    static func parse(_ fn: String, method: String, path: String, read: Bool = false, idempotent: Bool? = nil) throws -> ConsoleRequest {
        do {
            return try ConsoleRequest(method: method, path: path, read: read, idempotent: idempotent)
        } catch let e as ConsoleRequestError {
            throw PrimitiveError("\(fn): \(e.message)")
        }
    }

    /// An optional boolean option (`nil` when absent or null).
    static func flag(_ opts: [String: JSON], _ key: String, _ fn: String) throws -> Bool? {
        switch opts[key] {
        case nil, .null?: return nil
        case .bool(let b)?: return b
        case let other?: throw PrimitiveError("\(fn): \(key) must be true or false, got \(other.typeName)")
        }
    }

    /// An optional positive number of seconds.
    static func seconds(_ opts: [String: JSON], _ key: String, _ fn: String) throws -> Double? {
        switch opts[key] {
        case nil, .null?: return nil
        case .int(let i)? where i > 0: return Double(i)
        case .double(let d)? where d > 0 && d.isFinite: return d
        case let other?: throw PrimitiveError("\(fn): \(key) must be a positive number of seconds, got \(other.encoded())")
        }
    }

    static func render(_ ctx: JobContext, _ r: WriteRecord) {
        if ctx.log.format == .json {
            ctx.log.print("", event: "write", fields: r.json.objectValue ?? [:])
        } else {
            for line in Ledger.render(r, full: ctx.fullDiffs) { ctx.log.print(line) }
        }
    }

    /// Runs a write's request; a failure of this request (no answer, timed out, interrupted)
    /// names the object too, like an error status does:
    /// `POST /api/v1/users (user alice): no answer from the console (…)`.
    static func named(method: String, path: String, object: String?, _ send: () throws -> ConsoleResponse) throws -> ConsoleResponse {
        do {
            return try send()
        } catch let error as ConsoleError {
            // Another request's failure (the login on the way) keeps its own name.
            guard object != nil, let request = error.request, request.method == method, request.path == path else { throw error }
            throw ConsoleFailure(error: error, object: object)
        }
    }

    /// The body of a 2xx answer as JSON (or text when it is not JSON); an error otherwise.
    static func decodeOrRaise(_ resp: ConsoleResponse, method: String, path: String, object: String?) throws -> JSON {
        guard resp.ok else {
            throw ConsoleFailure(error: .status(method: method, path: path, status: resp.status, message: resp.message), object: object)
        }
        if resp.bodyText.isEmpty { return .null }
        let contentType = resp.headers["content-type"] ?? ""
        do {
            return try JSON.parse(resp.bodyText)
        } catch {
            if contentType.contains("json") {
                throw ConsoleFailure(error: .malformedAnswer(method: method, path: path,
                                                             reason: "the console answered with malformed JSON (\(error))"), object: object)
            }
            let trimmed = resp.bodyText.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
            if trimmed.hasPrefix("<!doctype html") || trimmed.hasPrefix("<html") {
                throw ConsoleFailure(error: .malformedAnswer(method: method, path: path,
                                                             reason: "the console answered with an HTML page, not the API (a proxy or login page in the way?)"),
                                     object: object)
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
