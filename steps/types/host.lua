---@meta
-- Declarations of the twistlock-init host API for editors (LuaLS / lua-language-server).
-- Add `steps/types` to `workspace.library` in .luarc.json. docs/step-api.md is the reference;
-- a test checks that every primitive the host registers is declared here.

---The merged, validated Helm values (read-only; assignment raises an error). The keys and
---their kinds: steps/types/values.lua (generated from the job's schema).
---@type Values
values = {}

---What a failing primitive (or the sandbox) raises; `pcall` returns it. `tostring(err)` is the
---text a string error would have had (location, then message); it is read-only. See
---docs/step-api.md, "Errors".
---@class HostError
---@field kind "status"|"transport"|"deadline"|"interrupted"|"authentication"|"malformed"|"too_large"|"invalid_url"|"invalid"|"stop"|"memory"|"sandbox"|"argument"|"host"
---@field message string the message without the location
---@field request? {method: string, path: string} the console request it is about
---@field status? integer the HTTP status (kinds "status" and "authentication")
---@field object? string the object a write named; for a Kubernetes error, `Kind namespace/name`
---@field operation? string for a Kubernetes error: the operation ("apply", "get", ...)

---@class json
json = {}
---Encodes a value as JSON text, keys sorted.
---@param value any
---@param opts? {pretty?: boolean}
---@return string
function json.encode(value, opts) end
---Decodes JSON text; arrays and objects carry markers so empty ones round-trip.
---@param text string
---@return any
function json.decode(text) end
---The JSON null (a table cannot hold nil).
---@type lightuserdata
json.null = nil
---Marks (and returns) `t`, or a new table, as a JSON array.
---@param t? table
---@return table
function json.array(t) end
---Marks (and returns) `t`, or a new table, as a JSON object.
---@param t? table
---@return table
function json.object(t) end
---@param t any
---@return boolean
function json.is_array(t) end
---Deep equality as JSON values.
---@return boolean
function json.equal(a, b) end
---A deep copy (markers kept).
---@generic T
---@param v T
---@return T
function json.copy(v) end

---@class log
log = {}
---@param fmt string
---@param ... any
function log.info(fmt, ...) end
---@param fmt string
---@param ... any
function log.warn(fmt, ...) end
---@param fmt string
---@param ... any
function log.error(fmt, ...) end

---Reads a secret file from the secrets directory; the value is masked in all output.
---@param name string
---@param opts? {optional?: boolean}
---@return string|nil
function secret(name, opts) end

---@class ConsoleWriteOptions
---@field before? any the object as the console has it now; an equal body is not sent
---@field object? string how the object is named in output and the plan
---@field sensitive? string[] field names masked in the diff
---@field auth? boolean false for the calls that need no login (signup)
---@field read? boolean console.post only: this POST only reads (allowed for authenticate and defenders/daemonset.yaml; sent in plan mode, never a change)
---@field idempotent? boolean whether the request may be repeated after a failure whose outcome is unknown (5xx, lost connection, timeout); the step states it, the host keeps no list of paths (default: HTTP's rule — PUT and DELETE yes, POST and PATCH no; a POST that sets a whole object, like settings/*, says true)
---@field verify? false|{path?: string, absent_ok?: boolean} how the write is read back after the step (false: not checked; path: read from there; absent_ok: an object the answer does not hold is not reported)

---@class ConsoleWriteResult
---@field changed boolean
---@field planned boolean
---@field status integer
---@field body any

---@class ConsoleResponse
---@field status integer
---@field body any
---@field headers table<string, string>

---@class console
console = {}
---GET a path under /api/v1/ (or an absolute path); raises on a non-2xx answer.
---@param path string
---@return any
function console.get(path) end
---A request whose status is an answer; never raises for an HTTP status. A write (POST, PUT,
---PATCH, DELETE without read = true) is refused in plan mode and recorded in the report in run mode.
---read = true: a POST that only reads (authenticate, defenders/daemonset.yaml only).
---idempotent: whether it may be repeated after a failure whose outcome is unknown (default: GET,
---HEAD, PUT, DELETE and read = true yes; POST and PATCH no). retry = false: never sent again.
---timeout: seconds this request may wait for its answer (at most --request-timeout).
---@param spec {method?: string, path: string, body?: any, auth?: boolean, retry?: boolean, read?: boolean, idempotent?: boolean, timeout?: number}
---@return ConsoleResponse
function console.request(spec) end
---Logs in with console.credentials.
---@return {ok: boolean, status: integer, message: string}
function console.login() end
---The console's version string.
---@return string
function console.version() end
---@param path string
---@param body any
---@param opts? ConsoleWriteOptions
---@return ConsoleWriteResult
function console.put(path, body, opts) end
---@param path string
---@param body any
---@param opts? ConsoleWriteOptions
---@return ConsoleWriteResult
function console.post(path, body, opts) end
---@param path string
---@param opts? ConsoleWriteOptions
---@return ConsoleWriteResult
function console.delete(path, opts) end

---@class yaml
yaml = {}
---Decodes (multi-document) YAML into an array of documents.
---@param text string
---@return table[]
function yaml.decode(text) end
---Encodes documents as YAML separated by `---`.
---@param docs table[]
---@return string
function yaml.encode(docs) end

---@class k8s
k8s = {}
---Server-side apply (field manager twistlock-init); a dry run in plan mode.
---@param doc table
---@return {changed: boolean, created: boolean, planned: boolean, object: table}
function k8s.apply(doc) end
---@param apiVersion string
---@param kind string
---@param namespace string|nil
---@param name string
---@return table|nil
function k8s.get(apiVersion, kind, namespace, name) end
---Whether the cluster's configuration can be found (--kubeconfig, $KUBECONFIG, the pod's
---service account); sends nothing. `reason` says why not.
---@return {ok: boolean, reason: string}
function k8s.access() end

---@class time
time = {}
---Monotonic seconds.
---@return number
function time.now() end
---@param seconds number
function time.sleep(seconds) end

---@class job
---@field mode "run"|"plan"
---@field step string
---@field strict boolean
---@field console_url string
---@field builtin_roles string[] the console's built-in roles (the job's one list; another role is a custom role)
---@field console_host {name: string, key: string}? the host name for the console certificate's SANs and the values key it comes from (nil: none set)
job = {}
---Ends the run here on purpose: exit 0 with a warning, or a failure under --strict. Raises a
---HostError of kind "stop": caught with pcall and not raised again, it stops nothing.
---@param message string
function job.stop(message) end
---In plan mode: lists `object` as "cannot compare" (a line of the plan, not a change), e.g. a
---secret the console cannot show back. Does nothing in a run.
---@param object string
---@param reason string
function job.cannot_compare(object, reason) end
