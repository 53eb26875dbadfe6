-- defenders: ask the console for its Defender DaemonSet manifest (POST defenders/daemonset.yaml
-- with common.DaemonSetOptions built from the values), make the job's changes to it (pod labels:
-- the Big Bang package's name label, `podLabels`, `defender.podLabels`;
-- resources, tolerations, capabilities, image pull secret, image), server-side apply every
-- document, then wait until the DaemonSet has rolled out on every node. The address the
-- Defenders connect to (`defender.consoleAddress`, default the console Service's cluster-wide name)
-- is added to the console certificate's SANs before the first apply.
-- Plan mode: the applies are server-side dry runs and there is no wait.
local manifest = require("k8s_manifest")
local fields = require("settings_fields")
local console_san = require("console_san")

-- defender.namespace (a namespace name) and defender.consoleAddress (a host name) were
-- validated before any step ran (docs/values.md).
local d = fields.lookup(values, "defender")
local namespace = d.namespace
local address = manifest.console_address(d)

local version = console.version()
log.info("console version %s", version)

local image = manifest.defender_image(d.image, version)
local options = manifest.daemonset_options(values, image)

-- read = true: this POST only asks for the manifest (sent in plan mode too, never a change).
local answer = console.post("defenders/daemonset.yaml", options, {object = "Defender DaemonSet manifest", read = true})
local text = answer.body
if type(text) ~= "string" or text == "" then
  error("POST defenders/daemonset.yaml: expected the manifest as YAML text, got " .. type(text))
end
local decoded, docs = pcall(yaml.decode, text)
if not decoded then
  local why = tostring(docs):gsub("^[^:]+:%d+: ", "")
  error("POST defenders/daemonset.yaml: the console's manifest is not YAML (" .. why .. ")")
end
if #docs == 0 then
  error("POST defenders/daemonset.yaml: the console answered an empty manifest")
end

local pod_labels, label_origin = manifest.pod_labels(values)
local notes = manifest.adjust(docs, {
  pod_labels = pod_labels,
  label_origin = label_origin,
  node_selector = d.nodeSelector,
  resources = d.resources,
  tolerations = d.tolerations,
  capabilities_drop = d.securityCapabilitiesDrop,
  capabilities_add = d.securityCapabilitiesAdd,
  pull_secret = fields.lookup(values, "imagePullSecretName"),
  image = image,
})
if #notes > 0 then
  log.info("adjusted the console's manifest: %s", table.concat(notes, "; "))
end

-- The Defenders connect to the console over TLS at `address`: its certificate must name it
-- (before anything is applied: the Defenders start connecting as soon as they run).
console_san.ensure(address, "the address the Defenders connect to")

-- A plan without cluster access (no kubeconfig, no in-cluster service account) says what it
-- cannot see, object by object, and the later steps still plan.
if job.mode == "plan" then
  local access = k8s.access()
  if not access.ok then
    log.warn("cannot read the cluster, so the Defender manifest (%d object%s) cannot be compared with what runs there: %s",
      #docs, #docs == 1 and "" or "s", access.reason)
    for _, doc in ipairs(docs) do
      job.cannot_compare(manifest.label(doc), "the cluster cannot be read from here (give --kubeconfig, or plan inside the cluster)")
    end
    return
  end
end

-- The namespace must exist before anything is applied in it (a cluster without a console has
-- none yet). A manifest that carries its own Namespace document is applied as it is.
local namespace_missing = false
if #manifest.find(docs, "Namespace") == 0 then
  local ok, ns = pcall(k8s.get, "v1", "Namespace", nil, namespace)
  if not ok and type(ns) == "table" and ns.kind == "status" and ns.status == 403 then
    -- Least-privilege RBAC (the chart's) need not allow reading namespaces.
    log.info("no permission to read Namespace %s: applying into it as it is", namespace)
  elseif not ok then
    log.warn("cannot read Namespace %s (%s): applying into it as it is", namespace, tostring(ns))
  elseif ns == nil then
    namespace_missing = true
    local r = k8s.apply({apiVersion = "v1", kind = "Namespace", metadata = {name = namespace}})
    if r.planned then
      log.info("would create Namespace %s", namespace)
    else
      log.info("created Namespace %s", namespace)
    end
  end
end

local counts = {created = 0, updated = 0, unchanged = 0}
local daemonsets = {}
for _, doc in ipairs(docs) do
  local label = manifest.label(doc)
  local ns = doc.metadata and doc.metadata.namespace
  if job.mode == "plan" and namespace_missing and ns == namespace then
    -- A dry run inside a namespace that does not exist yet would fail: report the creation.
    log.info("would create %s", label)
    counts.created = counts.created + 1
  else
    local r = k8s.apply(doc)
    local what
    if r.created then what = "created"
    elseif r.changed then what = "updated"
    else what = "unchanged" end
    counts[what] = counts[what] + 1
    if r.planned and what ~= "unchanged" then
      log.info("would %s %s", what == "created" and "create" or "update", label)
    else
      log.info("%s %s", what, label)
    end
  end
  if doc.kind == "DaemonSet" then daemonsets[#daemonsets + 1] = doc end
end
log.info("Defender manifest: %d created, %d updated, %d unchanged", counts.created, counts.updated, counts.unchanged)

if job.mode == "plan" then
  return
end
if d.waitForRollout == false then
  log.info("not waiting for the Defender rollout (defender.waitForRollout is false)")
  return
end

local timeout = tonumber(d.rolloutTimeoutSeconds) or 600
for _, doc in ipairs(daemonsets) do
  local label = manifest.label(doc)
  local ns = doc.metadata.namespace or namespace
  local name = doc.metadata.name
  local started = time.now()
  local deadline = started + timeout
  local interval = 0.5
  local last
  while true do
    local live = k8s.get(doc.apiVersion, "DaemonSet", ns, name)
    if live == nil then
      error(string.format("%s: gone while waiting for its rollout", label))
    end
    local status = manifest.rollout_status(live)
    if status.done then
      if status.desired == 0 then
        log.warn("%s: no node runs a Defender (0 scheduled): check defender.nodeSelector and defender.tolerations", label)
      else
        log.info("%s rolled out: %s (%.0f s)", label, status.summary, time.now() - started)
      end
      break
    end
    local now = time.now()
    if now >= deadline then
      error(string.format("%s: the rollout did not finish within %d s (defender.rolloutTimeoutSeconds): %s",
        label, timeout, status.summary))
    end
    if status.summary ~= last then
      log.info("waiting for %s: %s", label, status.summary)
      last = status.summary
    end
    time.sleep(math.min(interval, math.max(deadline - now, 0.05)))
    interval = math.min(interval * 2, 5)
  end
end
