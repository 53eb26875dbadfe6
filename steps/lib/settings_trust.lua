-- Pure logic of the trusted-images step: bring `trust.Data` (a copy of GET trust/data) to one
-- trust group and one rule of the same name, with the trust policy enabled.
--
-- Kept as the console has them: every other group and rule, the order of the rules (a new rule
-- goes first: rules are evaluated top to bottom, first match wins), and every field of our own
-- group and rule that the values do not name.

local tables = require("tables")
local fields = require("settings_fields")

local M = {}

M.EFFECTS = { "alert", "block" }

--- The collection a new rule applies to when the console shows no "All" collection to copy.
function M.default_all_collection()
  local all = { name = "All", owner = "system", system = true, prisma = false, color = "#3FA2F7",
    description = "System - all resources collection" }
  for _, f in ipairs({ "accountIDs", "appIDs", "clusters", "containers", "functions", "hosts",
    "images", "labels", "namespaces" }) do
    all[f] = tables.array_of({ "*" })
  end
  return all
end

--- The "All" collection as the console shows it in any rule of the trust policy, else nil.
function M.find_all_collection(data)
  local policy = data.policy
  if type(policy) ~= "table" or type(policy.rules) ~= "table" then return nil end
  for _, rule in ipairs(policy.rules) do
    if type(rule) == "table" and type(rule.collections) == "table" then
      for _, c in ipairs(rule.collections) do
        if type(c) == "table" and c.name == "All" then return c end
      end
    end
  end
  return nil
end

--- Reads and checks `console.trustedImages`: spec `{name, images, effect}` and problems.
function M.spec(ti)
  local problems = {}
  if type(ti) ~= "table" then return nil, { "console.trustedImages: must be a map" } end
  local name = ti.name
  if type(name) ~= "string" or name == "" then
    problems[#problems + 1] = "console.trustedImages.name: required (a non-empty string)"
  end
  local effect = ti.defaultEffect
  if effect == nil or effect == "" then effect = "alert" end
  local ok_effect = false
  for _, e in ipairs(M.EFFECTS) do
    if e == effect then ok_effect = true end
  end
  if not ok_effect then
    problems[#problems + 1] = string.format("console.trustedImages.defaultEffect: %s is not one of %s",
      fields.show(effect), table.concat(M.EFFECTS, ", "))
  end
  local images = {}
  local matches = ti.registryMatches
  if type(matches) ~= "table" then
    problems[#problems + 1] = "console.trustedImages.registryMatches: must be a non-empty list of image patterns"
  else
    for i, m in ipairs(matches) do
      if type(m) ~= "string" or m == "" then
        problems[#problems + 1] = string.format(
          "console.trustedImages.registryMatches[%d]: must be a non-empty string", i - 1)
      else
        images[#images + 1] = m
      end
    end
    if #images == 0 and #problems == 0 then
      problems[#problems + 1] = "console.trustedImages.registryMatches: must be a non-empty list of image patterns"
    end
  end
  return { name = name, images = images, effect = effect }, problems
end

local function find_by(list, field, value)
  if tables.is_null(list) then return nil end
  for i, o in ipairs(list) do
    if type(o) == "table" and o[field] == value then return o, i end
  end
  return nil
end

local function only_all(collections)
  if tables.is_null(collections) or #collections ~= 1 then return false end
  local c = collections[1]
  return type(c) == "table" and c.name == "All"
end

--- Brings `data` (a copy of trust.Data) to the spec in place. Returns the list of changes, as
--- short sentences for the log (empty: nothing to write).
function M.apply(data, spec)
  local changes = {}

  -- the group
  if tables.is_null(data.groups) then data.groups = tables.array_of({}) end
  local group = find_by(data.groups, "_id", spec.name)
  if group == nil then
    table.insert(data.groups, { _id = spec.name, images = tables.array_of(spec.images) })
    changes[#changes + 1] = string.format("created trust group %s (%d image patterns)", spec.name, #spec.images)
  elseif not fields.same_list(group.images, spec.images) then
    group.images = tables.array_of(spec.images)
    changes[#changes + 1] = string.format("set the images of trust group %s (%d patterns)", spec.name, #spec.images)
  end

  -- the policy
  if tables.is_null(data.policy) then
    data.policy = { _id = "trust", enabled = false, rules = tables.array_of({}) }
  end
  local policy = data.policy
  if policy.enabled ~= true then
    policy.enabled = true
    changes[#changes + 1] = "enabled the trust policy"
  end
  local all = M.find_all_collection(data)
  if tables.is_null(policy.rules) then policy.rules = tables.array_of({}) end

  -- the rule
  local rule = find_by(policy.rules, "name", spec.name)
  if rule == nil then
    table.insert(policy.rules, 1, {
      name = spec.name,
      effect = spec.effect,
      allowedGroups = tables.array_of({ spec.name }),
      collections = tables.array_of({ all and tables.copy(all) or M.default_all_collection() }),
    })
    changes[#changes + 1] = string.format("created trust rule %s (allow group %s, collections All, effect %s) as the first rule",
      spec.name, spec.name, spec.effect)
  else
    if rule.effect ~= spec.effect then
      changes[#changes + 1] = string.format("set the effect of trust rule %s: %s → %s",
        spec.name, tostring(rule.effect), spec.effect)
      rule.effect = spec.effect
    end
    local allowed = rule.allowedGroups
    if tables.is_null(allowed) then
      allowed = tables.array_of({})
      rule.allowedGroups = allowed
    end
    local present = false
    for _, g in ipairs(allowed) do
      if g == spec.name then present = true end
    end
    if not present then
      table.insert(allowed, spec.name)
      changes[#changes + 1] = string.format("trust rule %s now allows group %s", spec.name, spec.name)
    end
    if not only_all(rule.collections) then
      rule.collections = tables.array_of({ all and tables.copy(all) or M.default_all_collection() })
      changes[#changes + 1] = string.format("set the collections of trust rule %s to All", spec.name)
    end
  end
  return changes
end

return M
