-- How the runtime policy step applies what steps/runtime-policies.lua lists (the custom rules,
-- the denied tools, the log inspection files and the settings forced per rule kind): forcing
-- them on the rule named `policies.name`, and complete new rules built from the 34.04 schemas
-- (runtime.ContainerPolicyRule / HostPolicyRule / ServerlessPolicyRule).
--
-- An effect forced "on" is raised to at least the level the step gives (disable < alert <
-- prevent < block): a stronger effect a person set stays, nothing is weakened. Lists are
-- completed, never trimmed. A new rule starts with every section enabled.

local tables = require("tables")
local policy = require("policy")

local M = {}

---------------------------------------------------------------------------------------------
-- Custom rules

--- Resolves `wanted` (the documented custom rules, `{name, id}`) against the console's list
--- (GET custom-rules), by name. `list` is nil when the list could not be read: then the 34.x
--- ids are used.
--- A name the console does not list falls back to its 34.x id when the console lists that id
--- (a renamed rule); otherwise it is skipped. Returns `ids` (in documentation order) and
--- `notes` (one line per fallback or skip, for the log).
function M.resolve_custom_rules(wanted, list)
  local ids, notes = {}, {}
  if list == nil then
    for _, c in ipairs(wanted) do ids[#ids + 1] = c.id end
    return ids, notes
  end
  local byName, byId = {}, {}
  for _, r in ipairs(list) do
    if tables.is_table(r) and r._id ~= nil then
      if type(r.name) == "string" and byName[r.name] == nil then byName[r.name] = r._id end
      byId[r._id] = r
    end
  end
  for _, c in ipairs(wanted) do
    local id = byName[c.name]
    if id ~= nil then
      ids[#ids + 1] = id
    elseif byId[c.id] ~= nil then
      ids[#ids + 1] = c.id
      notes[#notes + 1] = string.format("custom rule %q not found by name; using id %d (%q)",
        c.name, c.id, tostring(byId[c.id].name))
    else
      notes[#notes + 1] = string.format("custom rule %q is not on the console (no rule by that "
        .. "name, none with id %d); not selected", c.name, c.id)
    end
  end
  return ids, notes
end

--- Selects the custom rules `ids` in `rule.customRules`: a reference already there (by `_id`)
--- is kept as it is; a missing one is added with action incident and effect alert.
--- Returns the number added.
function M.select_custom_rules(rule, ids)
  local have = {}
  local list = tables.is_table(rule.customRules) and rule.customRules or nil
  if list then
    for _, ref in ipairs(list) do
      if tables.is_table(ref) and ref._id ~= nil then have[ref._id] = true end
    end
  end
  local added = 0
  for _, id in ipairs(ids) do
    if not have[id] then
      list = list or policy.ensure_list(rule, "customRules")
      list[#list + 1] = tables.object({ _id = id, action = "incident", effect = "alert" })
      have[id] = true
      added = added + 1
    end
  end
  return added
end

--- Appends each of `items` (strings) missing from `parent[key]`; keeps what is there.
local function union_strings(parent, key, items)
  local list = tables.is_table(parent[key]) and parent[key] or nil
  local have = {}
  if list then for _, v in ipairs(list) do have[v] = true end end
  local added = 0
  for _, v in ipairs(items) do
    if not have[v] then
      list = list or policy.ensure_list(parent, key)
      list[#list + 1] = v
      have[v] = true
      added = added + 1
    end
  end
  return added
end

---------------------------------------------------------------------------------------------
-- Forcing the documented settings (in place). Each returns the number of settings changed.

local function count(changed, n)
  if changed == true then return n + 1 end
  if type(changed) == "number" then return n + changed end
  return n
end

--- The object at the dotted `path` under `rule` (nil: the rule), each level created (as an
--- empty object) when missing or null.
local function section(rule, path)
  local obj = rule
  if path ~= nil then
    for part in string.gmatch(path, "[^%.]+") do obj = policy.ensure_object(obj, part) end
  end
  return obj
end

--- Log inspection: each of `files` (`{path, regex}`) with its regexes; a file already there
--- keeps its own regexes and gets the missing ones; other files are kept.
local function force_log_inspection(rule, files)
  local n = 0
  local lir = tables.is_table(rule.logInspectionRules) and rule.logInspectionRules or nil
  local byPath = {}
  if lir then
    for _, r in ipairs(lir) do
      if tables.is_table(r) and type(r.path) == "string" and byPath[r.path] == nil then
        byPath[r.path] = r
      end
    end
  end
  for _, d in ipairs(files) do
    local r = byPath[d.path]
    if r == nil then
      lir = lir or policy.ensure_list(rule, "logInspectionRules")
      r = tables.object({ path = d.path, regex = tables.array_of(d.regex) })
      lir[#lir + 1] = r
      byPath[d.path] = r
      n = n + 1
    else
      n = count(union_strings(r, "regex", d.regex), n)
    end
  end
  return n
end

--- Forces `forced` (one rule kind's entry of the step's FORCED table) on `rule`, in place:
---   effects = { {section=, keys={...}, at_least=level}, ... }  effects raised to a level
---   lists   = { {section=, key=, items={...}}, ... }          string lists completed
---   set     = { {section=, key=, value=}, ... }                  settings set
---   log_inspection = { {path=, regex={...}}, ... }             log inspection files
---   custom_rules = true                                        the resolved custom rules selected
--- (`section` is a dotted path under the rule, nil for the rule itself.) Returns the number of
--- settings changed.
function M.force(rule, forced, custom_ids)
  local n = 0
  for _, e in ipairs(forced.effects or {}) do
    local obj = section(rule, e.section)
    for _, k in ipairs(e.keys) do n = count(policy.raise_effect(obj, k, e.at_least), n) end
  end
  for _, l in ipairs(forced.lists or {}) do
    n = count(union_strings(section(rule, l.section), l.key, l.items), n)
  end
  for _, a in ipairs(forced.set or {}) do
    n = count(policy.set(section(rule, a.section), a.key, a.value), n)
  end
  if forced.log_inspection ~= nil then n = n + force_log_inspection(rule, forced.log_inspection) end
  if forced.custom_rules then n = count(M.select_custom_rules(rule, custom_ids), n) end
  return n
end

---------------------------------------------------------------------------------------------
-- New rules: complete objects from the 34.04 schemas. Settings the documentation forces are
-- then forced by the functions above; the others carry what a fresh 34.04 console's default
-- rule has for them (sections enabled, empty lists, WildFire off, DNS lists disabled).

local A = tables.array
local O = tables.object

local function deny_list() return O({ effect = "alert", paths = A() }) end
local function port_list() return O({ allowed = A(), denied = A(), effect = "alert" }) end

function M.new_container_rule(name, collections)
  return O({
    name = name,
    collections = collections,
    disabled = false,
    notes = "",
    previousName = "",
    advancedProtectionEffect = "alert",
    kubernetesEnforcementEffect = "alert",
    cloudMetadataEnforcementEffect = "alert",
    wildFireAnalysis = "disable",
    skipExecSessions = false,
    customRules = A(),
    dns = O({ defaultEffect = "disable", disabled = false,
              domainList = O({ allowed = A(), denied = A(), effect = "disable" }) }),
    filesystem = O({
      allowedList = A(), backdoorFilesEffect = "alert", defaultEffect = "alert",
      deniedList = deny_list(), disabled = false, encryptedBinariesEffect = "alert",
      newFilesEffect = "alert", suspiciousELFHeadersEffect = "alert",
    }),
    network = O({
      allowedIPs = A(), defaultEffect = "alert", deniedIPs = A(), deniedIPsEffect = "alert",
      disabled = false, listeningPorts = port_list(), modifiedProcEffect = "alert",
      outboundPorts = port_list(), portScanEffect = "alert", rawSocketsEffect = "alert",
    }),
    processes = O({
      allowedList = A(), checkParentChild = true, cryptoMinersEffect = "alert",
      defaultEffect = "alert", deniedList = deny_list(), disabled = false,
      lateralMovementEffect = "alert", modifiedProcessEffect = "alert",
      reverseShellEffect = "alert", suidBinariesEffect = "alert",
    }),
  })
end

function M.new_host_rule(name, collections)
  return O({
    name = name,
    collections = collections,
    disabled = false,
    notes = "",
    previousName = "",
    antiMalware = O({
      allowedProcesses = A(), cryptoMiner = "alert", customFeed = "alert",
      deniedProcesses = O({ effect = "alert", paths = A() }),
      detectCompilerGeneratedBinary = false, encryptedBinaries = "alert",
      executionFlowHijack = "alert", intelligenceFeed = "alert", reverseShell = "alert",
      serviceUnknownOriginBinary = "alert", skipSSHTracking = false,
      suspiciousELFHeaders = "alert", tempFSProc = "alert", userUnknownOriginBinary = "alert",
      webShell = "alert", wildFireAnalysis = "disable",
    }),
    customRules = A(),
    dns = O({ allow = A(), deny = A(), denyListEffect = "disable", intelligenceFeed = "disable" }),
    fileIntegrityRules = A(),
    forensic = O({
      activitiesDisabled = false, dockerEnabled = true, readonlyDockerEnabled = true,
      serviceActivitiesEnabled = false, sshdEnabled = true, sudoEnabled = true,
    }),
    logInspectionRules = A(),
    network = O({
      allowedOutboundIPs = A(), customFeed = "alert", deniedListeningPorts = A(),
      deniedOutboundIPs = A(), deniedOutboundPorts = A(), denyListEffect = "alert",
      intelligenceFeed = "alert",
    }),
  })
end

function M.new_serverless_rule(name, collections)
  return O({
    name = name,
    collections = collections,
    disabled = false,
    notes = "",
    previousName = "",
    advancedProtection = true,
    cloudMetadataEnforcement = false,
    kubernetesEnforcement = false,
    skipExecSessions = false,
    wildFireAnalysis = "disable",
    customRules = A(),
    dns = O({ blacklist = A(), effect = "disable", whitelist = A() }),
    filesystem = O({
      backdoorFiles = true, blacklist = A(), checkNewFiles = true, effect = "alert",
      skipEncryptedBinaries = false, suspiciousELFHeaders = true, whitelist = A(),
    }),
    network = O({
      blacklistIPs = A(), blacklistListeningPorts = A(), blacklistOutboundPorts = A(),
      effect = "alert", whitelistIPs = A(), whitelistListeningPorts = A(),
      whitelistOutboundPorts = A(),
    }),
    processes = O({
      blacklist = A(), blockAllBinaries = true, checkCryptoMiners = true,
      checkLateralMovement = true, checkNewBinaries = true, effect = "alert",
      skipModified = false, whitelist = A(),
    }),
  })
end

-- rule kind (the policy's endpoint) -> its new-rule builder
M.NEW_RULE = {
  container = M.new_container_rule,
  host = M.new_host_rule,
  serverless = M.new_serverless_rule,
}

--- Applies the rule named `name` to a runtime policy of `kind` (a deep copy the caller owns),
--- forcing `forced` (see M.force). Returns "created" or the number of settings changed on the
--- existing rule.
function M.apply(pol, kind, name, forced, custom_ids)
  local rules = policy.rules(pol)
  local rule = policy.index_by_name(rules)[name]
  if rule == nil then
    rule = M.NEW_RULE[kind](name, policy.all_collections(rules))
    M.force(rule, forced, custom_ids)
    policy.prepend(rules, { rule })
    return "created"
  end
  return M.force(rule, forced, custom_ids)
end

return M
