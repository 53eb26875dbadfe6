-- Compliance rules for containers and images, running hosts, VM images and functions.
--
-- From the console's catalog (GET static/vulnerabilities, read once) and for each policy
-- (policies/compliance/{container,host,vms,serverless}):
--   * one rule per template in policies.compliance.templates, named
--     "<policies.name> - <template>", listing every check of that template whose type the
--     endpoint accepts;
--   * where no template yields a check for an endpoint, one rule named policies.name lists
--     the checks at or above policies.compliance.alertThreshold instead.
-- A listed check alerts at least: a check already set to block stays blocked, and checks
-- outside the set are not touched. Every other setting is preserved; existing rules keep
-- their order and new rules go first.

local tables = require("tables")
local policy = require("policy")
local answers = require("answers")
local compliance = require("policy_compliance")
local fields = require("settings_fields")

local name = policy.rule_name(values)
local cconf = fields.lookup(values, "policies.compliance") or {}
local templates = compliance.templates(cconf.templates, "policies.compliance.templates")
local threshold = policy.severity(cconf.alertThreshold, "policies.compliance.alertThreshold")

-- The catalog is read once for all four policies; without it none can be configured.
local ok, catalog = pcall(answers.get_object, "static/vulnerabilities")
if not ok then
  error(string.format("compliance catalog (GET static/vulnerabilities): %s; compliance policies "
    .. "container, host, vms and serverless left as they were", tostring(catalog)), 0)
end
local index, known = compliance.index(catalog, templates, threshold)
for _, t in ipairs(templates) do
  if not known[t] then
    log.warn("compliance template %q: the console's catalog has no check of that template", t)
  end
end

local function label(ep) return "compliance policy " .. ep end

policy.each_endpoint(compliance.ENDPOINTS, label, function(ep)
  local wanted = compliance.plan(index, ep, name, templates, threshold)
  if #wanted == 1 and wanted[1].name == name and #wanted[1].ids == 0 then
    log.warn("%s (%s): no template yields a check and no check is at or above %s; no rule",
      label(ep), compliance.WHAT[ep], threshold)
    return
  end
  local path = "policies/compliance/" .. ep
  local current = answers.get_object(path)
  local desired = tables.copy(current)
  local report = compliance.apply(desired, wanted)
  local result = policy.write(path, current, desired, label(ep))
  for _, r in ipairs(report) do
    if r.created then
      log.info("%s (%s): %s rule %q (%s: %d checks)", label(ep), compliance.WHAT[ep],
        policy.outcome(result, "created"), r.name, r.reason, r.total)
    elseif r.added > 0 then
      log.info("%s (%s): %s rule %q (%s: %d of %d checks added)", label(ep),
        compliance.WHAT[ep], policy.outcome(result, "updated"), r.name, r.reason, r.added, r.total)
    else
      log.info("%s (%s): rule %q unchanged (%s: %d checks)", label(ep), compliance.WHAT[ep],
        r.name, r.reason, r.total)
    end
  end
end)
