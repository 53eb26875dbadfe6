-- Shared helpers for the policy steps (vulnerability, compliance, runtime).
--
-- The console's policies are whole objects `{_id, policyType, rules[]}` (runtime policies add
-- a few fields of their own). A PUT replaces the whole policy, and rules are evaluated top to
-- bottom (the first match wins), so the steps follow one pattern:
--   GET the policy once, deep-copy it, change only the fields the documentation names in
--   place, put NEW rules at the top, never move existing rules, and PUT once with `before`
--   (the host skips the write when nothing differs).
--
-- Pure logic only: nothing here talks to the console except `policy.write` and
-- `policy.each_endpoint`, which use the host's `console`/`log` globals when called. The JSON
-- table helpers are lib/tables.lua's (the host's markers when present), so the functions also
-- run in a plain Lua interpreter for unit tests.

local M = {}

local T = require("tables")
local fields = require("settings_fields")

--- The sub-object `parent[key]`, created (as an empty object) when missing or null.
function M.ensure_object(parent, key)
  local v = parent[key]
  if not T.is_table(v) then
    v = T.object()
    parent[key] = v
  end
  return v
end

--- The list `parent[key]`, created (as an empty array) when missing or null.
function M.ensure_list(parent, key)
  local v = parent[key]
  if not T.is_table(v) then
    v = T.array()
    parent[key] = v
  end
  return v
end

--- Sets `obj[key] = value` unless it already holds that scalar. Returns true when changed.
function M.set(obj, key, value)
  if obj[key] == value then return false end
  obj[key] = value
  return true
end

---------------------------------------------------------------------------------------------
-- Effects and thresholds

-- runtime.RuleEffect, weakest first (console-api.md: disable < alert < prevent < block).
M.EFFECT_RANK = { disable = 0, alert = 1, prevent = 2, block = 3 }

-- Vulnerability alert thresholds (shared.AlertThreshold.value).
M.VULN_THRESHOLD = { low = 1, medium = 4, high = 7, critical = 9 }

-- Compliance severities: a threshold includes itself and everything above.
M.SEVERITY_RANK = { low = 1, medium = 2, high = 3, critical = 4 }

--- Raises `obj[key]` to at least `min` (an effect name). A stronger effect stays; a missing,
--- empty or unknown one becomes `min`. Returns true when changed.
function M.raise_effect(obj, key, min)
  local cur = obj[key]
  local rank = type(cur) == "string" and M.EFFECT_RANK[cur] or nil
  if rank ~= nil and rank >= M.EFFECT_RANK[min] then return false end
  obj[key] = min
  return true
end

--- Validates a severity name from values; `key` names the values key in the error.
function M.severity(value, key)
  if type(value) ~= "string" or M.SEVERITY_RANK[value] == nil then
    error(string.format("%s: must be one of low, medium, high, critical (got %s)",
      key, type(value) == "string" and string.format("%q", value) or type(value)), 0)
  end
  return value
end

--- Validates `policies.name` and returns it.
function M.rule_name(values_root)
  local name = fields.lookup(values_root, "policies.name")
  if type(name) ~= "string" or name:match("^%s*$") then
    error("policies.name: must be a non-empty string (the name of the rules this job owns)", 0)
  end
  return name
end

---------------------------------------------------------------------------------------------
-- Rules

--- The policy's rule list (created as an empty array when missing or null).
function M.rules(policy)
  return M.ensure_list(policy, "rules")
end

--- Map rule name -> first rule with that name (the console refuses duplicate names).
function M.index_by_name(rules)
  local byName = {}
  for _, rule in ipairs(rules) do
    if T.is_table(rule) and type(rule.name) == "string" and byName[rule.name] == nil then
      byName[rule.name] = rule
    end
  end
  return byName
end

--- The collection list for a new rule: `[All]`. The console's own "All" collection is copied
--- from an existing rule of the policy when one uses it (so it reads exactly as the console
--- keeps it); otherwise a complete "All" collection (every resource, wildcard) is built.
function M.all_collections(rules)
  for _, rule in ipairs(rules or {}) do
    if T.is_table(rule) and T.is_table(rule.collections) then
      for _, c in ipairs(rule.collections) do
        if T.is_table(c) and c.name == "All" then
          return T.array({ T.copy(c) })
        end
      end
    end
  end
  local star = function() return T.array({ "*" }) end
  return T.array({ T.object({
    name = "All",
    accountIDs = star(), appIDs = star(), clusters = star(), containers = star(),
    functions = star(), hosts = star(), images = star(), labels = star(), namespaces = star(),
    description = "System - all resources collection",
    system = true,
    owner = "system",
  }) })
end

--- A complete new shared.PolicyRule (vulnerability and compliance rules), with the values a
--- fresh console's default rules carry for every setting; the caller sets what it forces.
--- (`owner` and `modified` are the console's to set.)
function M.new_policy_rule(name, collections)
  local A, O = T.array, T.object
  return O({
    name = name,
    previousName = "",
    collections = collections,
    effect = "alert",
    action = A({ "*" }),
    group = A({ "*" }),
    principal = A({ "*" }),
    disabled = false,
    notes = "",
    blockMsg = "",
    verbose = false,
    allCompliance = false,
    onlyFixed = false,
    auditAllowed = false,
    createPR = false,
    excludeBaseImageVulns = false,
    graceDays = 0,
    alertThreshold = O({ disabled = false, value = 0 }),
    blockThreshold = O({ enabled = false, value = 0 }),
    graceDaysPolicy = O({ enabled = false, low = 0, medium = 0, high = 0, critical = 0 }),
    condition = O({ device = "", readonly = false, vulnerabilities = A() }),
    cveRules = A(),
    tags = A(),
    riskFactorsEffects = A(),
    pkgTypesThresholds = A(),
    license = O({
      alertThreshold = O({ enabled = true, value = 0 }),
      blockThreshold = O({ enabled = false, value = 0 }),
      critical = A(), high = A(), medium = A(), low = A(),
    }),
  })
end

--- Inserts `new_rules` (in their order) at the top of `rules`; existing rules keep their
--- relative order (rules are evaluated top down: the job's rules take precedence).
function M.prepend(rules, new_rules)
  local n = #new_rules
  if n == 0 then return end
  table.move(rules, 1, #rules, n + 1)
  for i = 1, n do rules[i] = new_rules[i] end
end

---------------------------------------------------------------------------------------------
-- Running against the console

--- PUTs `desired` when it differs from `current` (the host compares, given `before`).
--- Returns "changed", "planned" or "unchanged".
function M.write(path, current, desired, object)
  local res = console.put(path, desired, { before = current, object = object })
  if res and res.planned then return "planned" end
  if res and res.changed then return "changed" end
  return "unchanged"
end

--- Runs `fn(endpoint)` for every endpoint under `pcall`, so one failing endpoint does not
--- stop the others; then fails the step naming every policy that failed.
--- `label(endpoint)` names the policy ("vulnerability policy host").
function M.each_endpoint(endpoints, label, fn)
  local failed = {}
  for _, ep in ipairs(endpoints) do
    local ok, err = pcall(fn, ep)
    if not ok then
      local msg = tostring(err)
      log.error("%s: %s", label(ep), msg)
      failed[#failed + 1] = string.format("%s (%s)", label(ep), msg)
    end
  end
  if #failed > 0 then
    error(string.format("%d polic%s not configured (%s): %s", #failed,
      #failed == 1 and "y" or "ies", #failed == 1 and "left as it was" or "left as they were",
      table.concat(failed, "; ")), 0)
  end
end

--- A short word for a write result, for logs.
function M.outcome(result, what)
  if result == "unchanged" then return "unchanged" end
  if result == "planned" then return what .. " (planned)" end
  return what
end

return M
