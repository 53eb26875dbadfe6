-- Pure helpers for the defenders step: the DaemonSet options the console takes, the changes
-- the job makes to the manifest the console answers, and the rollout status of a DaemonSet.
-- No host primitives here (testable with a plain lua5.4).
local M = {}

local fields = require("settings_fields")

-- Whether a table has any entry. `pairs`, not `next`: `values` tables are read-only views
-- whose entries only `pairs` (the __pairs metamethod) can see.
local function has_entries(t)
  for _ in pairs(t) do return true end
  return false
end

local function is_empty(v)
  if v == nil or v == "" then return true end
  if json ~= nil and v == json.null then return true end
  return type(v) == "table" and not has_entries(v)
end
M.is_empty = is_empty

--- Deep structural equality of JSON-like Lua values (array/object markers ignored).
function M.deep_equal(a, b)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then
    if math.type(a) and math.type(b) then return a == b end
    return false
  end
  for k, v in pairs(a) do
    if not M.deep_equal(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

--- "34.04.145" → "34_04_145": how Prisma Cloud tags Defender images by console version.
function M.image_tag(version)
  if type(version) ~= "string" or version == "" then return nil end
  return (version:gsub("%.", "_"))
end

--- The Defender image: `defender.image.repository:tag`, the tag defaulting to the console's
--- version with dots as underscores. nil when no repository is set (the console picks).
function M.defender_image(image_values, console_version)
  local repo = image_values and image_values.repository
  if is_empty(repo) then return nil end
  local tag = image_values.tag
  if is_empty(tag) then
    tag = M.image_tag(console_version)
    if tag == nil then
      error("defender.image.tag: empty, and the console's version is unknown to default it from")
    end
  end
  return repo .. ":" .. tostring(tag)
end

--- The address the Defenders connect to: `defender.consoleAddress`, else the console Service's
--- cluster-wide name in the Defenders' namespace (the chart gives the release's console Service).
function M.console_address(d)
  if not is_empty(d.consoleAddress) then return d.consoleAddress end
  return "twistlock-console." .. tostring(d.namespace) .. ".svc.cluster.local"
end

--- `common.DaemonSetOptions` from the values, field names exactly as the console's OpenAPI
--- document spells them (the console is Go: a misspelt field is silently dropped).
function M.daemonset_options(values, image)
  local d = fields.lookup(values, "defender") or {}
  local selinux = d.selinux ~= false
  local opts = {
    consoleAddr = M.console_address(d),
    namespace = d.namespace,
    orchestration = fields.lookup(values, "openshift") == true and "openshift" or "kubernetes",
    containerRuntime = d.containerRuntime,
    collectPodLabels = d.collectLabels ~= false,
    serviceaccounts = d.monitorServiceAccounts ~= false,
    uniqueHostname = d.uniqueHostName == true,
    istio = fields.lookup(values, "istio.enabled") == true,
    selinux = selinux,
    -- SELinux-enforcing hosts run the Defender unprivileged with the spc_t type.
    privileged = (d.privileged == true) and not selinux,
  }
  if not is_empty(d.clusterName) then
    opts.cluster = d.clusterName
    opts.clusterNameResolvingMethod = "manual"
  end
  if not is_empty(d.dockerSocket) then opts.dockerSocketPath = d.dockerSocket end
  -- a string is the console's form; a map (Kubernetes' form) is set on the pods by adjust()
  if type(d.nodeSelector) == "string" and d.nodeSelector ~= "" then opts.nodeSelector = d.nodeSelector end
  if not is_empty(d.priorityClassName) then opts.priorityClassName = d.priorityClassName end
  local pull_secret = fields.lookup(values, "imagePullSecretName")
  if not is_empty(pull_secret) then opts.secretsname = pull_secret end
  if image ~= nil then opts.image = image end
  local p = d.proxy
  if p ~= nil and not is_empty(p.address) then
    -- common.DefenderProxyOpt
    local proxy = {httpProxy = p.address}
    if not is_empty(p.ca) then proxy.ca = p.ca end
    if not is_empty(p.username) then proxy.user = p.username end
    if not is_empty(p.password) then proxy.password = p.password end
    opts.proxy = proxy
  end
  return opts
end

--- The documents of a kind (in manifest order).
function M.find(docs, kind)
  local found = {}
  for _, doc in ipairs(docs) do
    if type(doc) == "table" and doc.kind == kind then found[#found + 1] = doc end
  end
  return found
end

--- "DaemonSet twistlock/twistlock-defender-ds" or "ClusterRole twistlock-view".
function M.label(doc)
  local meta = type(doc) == "table" and doc.metadata or nil
  local name = meta and meta.name or "?"
  local ns = meta and meta.namespace
  if type(ns) == "string" and ns ~= "" then
    return string.format("%s %s/%s", tostring(doc.kind), ns, tostring(name))
  end
  return string.format("%s %s", tostring(type(doc) == "table" and doc.kind or "?"), tostring(name))
end

-- t[key] as a table, created when missing (as a JSON object unless `array`).
local function child(t, key, array)
  local v = t[key]
  if type(v) ~= "table" then
    if json ~= nil then
      v = array and json.array() or json.object()
    else
      v = {}
    end
    t[key] = v
  end
  return v
end

-- Appends the items not yet in `list` (deep equality); answers how many were added.
local function append_unique(list, items)
  local added = 0
  for _, item in ipairs(items or {}) do
    local present = false
    for _, have in ipairs(list) do
      if M.deep_equal(have, item) then present = true; break end
    end
    if not present then
      list[#list + 1] = item
      added = added + 1
    end
  end
  return added
end
M.append_unique = append_unique

local function copy(v)
  if json ~= nil and json.copy ~= nil then return json.copy(v) end
  if type(v) ~= "table" then return v end
  local t = {}
  for k, x in pairs(v) do t[k] = copy(x) end
  return t
end

--- The Defender container of a DaemonSet: the one named twistlock-defender, else the first.
function M.defender_container(ds)
  local containers = ds.spec and ds.spec.template and ds.spec.template.spec and ds.spec.template.spec.containers
  if type(containers) ~= "table" or containers[1] == nil then return nil end
  for _, c in ipairs(containers) do
    if c.name == "twistlock-defender" then return c end
  end
  return containers[1]
end

--- The label the Big Bang package puts on its Defender pods: its network policies (and Istio
--- authorization policies) select the Defenders by it.
M.bigbang_defender_labels = {["app.kubernetes.io/name"] = "twistlock-defender"}

--- The labels for the Defender pods: the Big Bang package's name label, then the top-level
--- `podLabels` (the package's labels for all its pods), then `defender.podLabels`; a later one
--- wins. Answers the labels and, per key, the values key it came from (nil: the job's own).
function M.pod_labels(values)
  local labels, origin = {}, {}
  for k, v in pairs(M.bigbang_defender_labels) do labels[k] = v end
  local sources = {
    {"podLabels", fields.lookup(values, "podLabels")},
    {"defender.podLabels", fields.lookup(values, "defender.podLabels")},
  }
  for _, source in ipairs(sources) do
    if type(source[2]) == "table" then
      for k, v in pairs(source[2]) do
        labels[k] = v
        origin[k] = source[1]
      end
    end
  end
  return labels, origin
end

--- Applies the job's settings to the DaemonSet(s) of the manifest, in place, keeping every
--- other part of every document. `s` = {pod_labels, label_origin (per label key, the values key
--- it came from), node_selector (a map), resources, tolerations, capabilities_drop,
--- capabilities_add, pull_secret, image}. Answers a list of what was changed (for the log).
---
--- Pod labels go on the pod template and on the DaemonSet's own labels, never into its
--- selector (immutable in Kubernetes). A label the selector uses keeps the selector's value: from
--- `defender.podLabels` a different value is an error naming the key; from the top-level
--- `podLabels` (meant for every pod of the package) it is left out, and the notes say so.
function M.adjust(docs, s)
  local notes = {}
  local daemonsets = M.find(docs, "DaemonSet")
  if #daemonsets == 0 then
    error("the console's Defender manifest has no DaemonSet")
  end
  for _, ds in ipairs(daemonsets) do
    local label = M.label(ds)
    if type(ds.spec) ~= "table" or type(ds.spec.template) ~= "table" then
      error(label .. ": the manifest has no spec.template")
    end
    local template = ds.spec.template
    local pod = child(template, "spec")
    local container = M.defender_container(ds)
    if container == nil then error(label .. ": the manifest has no containers") end

    if not is_empty(s.pod_labels) then
      local labels = child(child(template, "metadata"), "labels")
      local own = child(child(ds, "metadata"), "labels")
      local origin = s.label_origin or {}
      local selector = type(ds.spec.selector) == "table" and ds.spec.selector.matchLabels or nil
      local keys, kept = {}, {}
      for k in pairs(s.pod_labels) do keys[#keys + 1] = k end
      table.sort(keys)
      for _, k in ipairs(keys) do
        local v = s.pod_labels[k]
        local from = origin[k] or "defender.podLabels"
        if type(selector) == "table" and selector[k] ~= nil and selector[k] ~= v then
          if from ~= "podLabels" then
            error(string.format("%s.%s: the DaemonSet selects its pods by %s=%s (its selector cannot change); "
              .. "a pod label cannot change it", from, k, k, tostring(selector[k])), 0)
          end
          kept[#kept + 1] = string.format("%s=%s", k, tostring(selector[k]))
        else
          labels[k] = v
          own[k] = v
        end
      end
      local applied = {}
      for _, k in ipairs(keys) do
        if labels[k] == s.pod_labels[k] then applied[#applied + 1] = k end
      end
      notes[#notes + 1] = string.format("pod labels %s", table.concat(applied, ", "))
      if #kept > 0 then
        notes[#notes + 1] = string.format("kept the selector's %s (podLabels does not change it on the Defender pods)",
          table.concat(kept, ", "))
      end
    end

    if not is_empty(s.resources) then
      container.resources = copy(s.resources)
      notes[#notes + 1] = "container resources"
    end

    if type(s.node_selector) == "table" and not is_empty(s.node_selector) then
      local selector = child(pod, "nodeSelector")
      local keys = {}
      for k, v in pairs(s.node_selector) do
        selector[k] = v
        keys[#keys + 1] = k
      end
      table.sort(keys)
      notes[#notes + 1] = string.format("node selector %s", table.concat(keys, ", "))
    end

    if not is_empty(s.tolerations) then
      local n = append_unique(child(pod, "tolerations", true), copy(s.tolerations))
      if n > 0 then notes[#notes + 1] = string.format("%d toleration(s)", n) end
    end

    if not is_empty(s.capabilities_drop) or not is_empty(s.capabilities_add) then
      local caps = child(child(container, "securityContext"), "capabilities")
      local dropped, added = 0, 0
      if not is_empty(s.capabilities_drop) then
        dropped = append_unique(child(caps, "drop", true), s.capabilities_drop)
      end
      if not is_empty(s.capabilities_add) then
        added = append_unique(child(caps, "add", true), s.capabilities_add)
      end
      if dropped + added > 0 then
        notes[#notes + 1] = string.format("capabilities (+%d drop, +%d add)", dropped, added)
      end
    end

    if not is_empty(s.pull_secret) then
      local n = append_unique(child(pod, "imagePullSecrets", true), {{name = s.pull_secret}})
      if n > 0 then notes[#notes + 1] = "image pull secret " .. s.pull_secret end
    end

    if s.image ~= nil and container.image ~= s.image then
      container.image = s.image
      notes[#notes + 1] = "image " .. s.image
    end
  end
  return notes
end

--- Where a DaemonSet's rollout stands, as `kubectl rollout status` judges it:
--- {done = bool, summary = "2 of 3 updated, 1 available", desired = n, observed = bool}.
function M.rollout_status(ds)
  local meta = ds.metadata or {}
  local st = ds.status
  if type(st) ~= "table" then st = {} end
  local function num(v) return math.tointeger(v) or (type(v) == "number" and math.floor(v)) or 0 end
  local generation = num(meta.generation)
  local observed = num(st.observedGeneration)
  local desired = num(st.desiredNumberScheduled)
  local updated = num(st.updatedNumberScheduled)
  local available = num(st.numberAvailable)
  local strategy = ds.spec and ds.spec.updateStrategy and ds.spec.updateStrategy.type
  local summary = string.format("%d of %d updated, %d available", updated, desired, available)
  if observed < generation then
    return {done = false, observed = false, desired = desired,
            summary = string.format("generation %d not yet observed by the controller", generation)}
  end
  if strategy == "OnDelete" then
    -- Pods only change when deleted: there is no rollout to wait for.
    return {done = true, observed = true, desired = desired, summary = summary .. " (updateStrategy OnDelete)"}
  end
  local done = updated >= desired and available >= desired
  return {done = done, observed = true, desired = desired, summary = summary}
end

return M
