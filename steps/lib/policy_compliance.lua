-- Pure logic of the compliance policy step: index the console's compliance catalog once,
-- then make the job's rules in one compliance policy (shared.Policy) list their checks.

local tables = require("tables")
local policy = require("policy")

local M = {}

-- The check types each compliance policy endpoint accepts (console-api.md, "Compliance
-- checks"); the console rejects a PUT that lists a check of a foreign type.
M.ENDPOINT_TYPES = {
  container = { "container", "image", "istio" },
  host = { "daemon_config", "daemon_config_files", "docker_stig", "host_config",
           "k8s_federation", "k8s_master", "k8s_worker", "linux", "openshift_master",
           "openshift_worker", "security_operations", "windows" },
  serverless = { "serverless" },
  vms = { "daemon_config", "daemon_config_files", "host_config", "linux",
          "security_operations", "windows" },
}

-- Endpoint order of a run, and how the documentation calls each.
M.ENDPOINTS = { "container", "host", "vms", "serverless" }
M.WHAT = {
  container = "Containers and images > Deployed",
  host = "Hosts > Running hosts",
  vms = "Hosts > VM images",
  serverless = "Functions > Functions",
}

--- Validates `policies.compliance.templates` (a list of template names).
function M.templates(list, key)
  if list == nil or tables.is_null(list) then return {} end
  if type(list) ~= "table" then error(key .. ": must be a list of template names", 0) end
  local out, seen = {}, {}
  for i, t in ipairs(list) do
    if type(t) ~= "string" or t == "" then
      error(string.format("%s[%d]: must be a template name (a non-empty string)", key, i - 1), 0)
    end
    if not seen[t] then
      seen[t] = true
      out[#out + 1] = t
    end
  end
  return out
end

--- Indexes the catalog in ONE pass: for every endpoint, the ids of each wanted template's
--- checks of the endpoint's types, and the ids of its checks at or above `threshold`.
--- Returns `{[endpoint] = {templates = {[template] = {ids...}}, severe = {ids...}}}` plus
--- the set of templates the catalog names at all.
function M.index(catalog, templates, threshold)
  if not tables.is_table(catalog) or not tables.is_table(catalog.complianceVulnerabilities) then
    error("compliance catalog (GET static/vulnerabilities): no complianceVulnerabilities list", 0)
  end
  local minRank = policy.SEVERITY_RANK[threshold]
  -- check type -> endpoints accepting it
  local endpointsOfType = {}
  for ep, types in pairs(M.ENDPOINT_TYPES) do
    for _, t in ipairs(types) do
      local l = endpointsOfType[t] or {}
      l[#l + 1] = ep
      endpointsOfType[t] = l
    end
  end
  local wanted = {}
  for _, t in ipairs(templates) do wanted[t] = true end

  local out, known = {}, {}
  for ep in pairs(M.ENDPOINT_TYPES) do
    local byTemplate = {}
    for _, t in ipairs(templates) do byTemplate[t] = {} end
    out[ep] = { templates = byTemplate, severe = {} }
  end

  for i, check in ipairs(catalog.complianceVulnerabilities) do
    if not tables.is_table(check) or math.type(check.id) ~= "integer" then
      error(string.format("compliance catalog (GET static/vulnerabilities): check #%d has no integer id", i), 0)
    end
    local eps = endpointsOfType[check.type]
    local tpls = tables.is_table(check.templates) and check.templates or {}
    for _, t in ipairs(tpls) do known[t] = true end
    if eps then
      local rank = policy.SEVERITY_RANK[check.severity]
      local severe = rank ~= nil and rank >= minRank
      for _, ep in ipairs(eps) do
        local e = out[ep]
        for _, t in ipairs(tpls) do
          if wanted[t] then
            local l = e.templates[t]
            l[#l + 1] = check.id
          end
        end
        if severe then e.severe[#e.severe + 1] = check.id end
      end
    end
  end
  return out, known
end

--- The rules the job wants on endpoint `ep`: a list of `{name=, ids=, reason=}` — one per
--- template yielding checks, or (when none does) one named `name` listing the severe checks.
function M.plan(index, ep, name, templates, threshold)
  local e = index[ep]
  local wanted = {}
  for _, t in ipairs(templates) do
    local ids = e.templates[t]
    if #ids > 0 then
      wanted[#wanted + 1] = { name = name .. " - " .. t, ids = ids, reason = "template " .. t }
    end
  end
  if #wanted == 0 then
    wanted[1] = { name = name, ids = e.severe, reason = "severity " .. threshold .. " and above" }
  end
  return wanted
end

--- Makes `rule` list every check in `ids` (appended as alerts, `block:false`, when missing).
--- A listed check keeps its `block` flag (a blocked check stays blocked, an alerting one
--- already alerts); checks outside `ids` are not touched. Returns the number added.
function M.ensure_checks(rule, ids)
  local cond = rule.condition
  local list = tables.is_table(cond) and tables.is_table(cond.vulnerabilities) and cond.vulnerabilities or nil
  local have = {}
  if list then
    for _, c in ipairs(list) do
      if tables.is_table(c) and c.id ~= nil then have[c.id] = true end
    end
  end
  local added = 0
  for _, id in ipairs(ids) do
    if not have[id] then
      if list == nil then
        list = policy.ensure_list(policy.ensure_object(rule, "condition"), "vulnerabilities")
      end
      have[id] = true
      list[#list + 1] = tables.object({ id = id, block = false })
      added = added + 1
    end
  end
  return added
end

--- A complete new compliance rule (shared.PolicyRule) listing no checks yet.
function M.new_rule(name, collections)
  return policy.new_policy_rule(name, collections)
end

--- Applies the planned rules to the policy (a deep copy the caller owns). New rules go to the
--- top, in plan order; existing rules stay where they are. Returns one
--- `{name=, created=bool, added=int, total=int, reason=}` per planned rule.
function M.apply(pol, wanted)
  local rules = policy.rules(pol)
  local byName = policy.index_by_name(rules)
  local fresh, report = {}, {}
  for _, w in ipairs(wanted) do
    local rule = byName[w.name]
    local created = false
    if rule == nil then
      rule = M.new_rule(w.name, policy.all_collections(rules))
      fresh[#fresh + 1] = rule
      byName[w.name] = rule
      created = true
    end
    local added = M.ensure_checks(rule, w.ids)
    report[#report + 1] = { name = w.name, created = created, added = added,
                            total = #w.ids, reason = w.reason }
  end
  policy.prepend(rules, fresh)
  return report
end

return M
