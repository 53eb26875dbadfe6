-- Runtime rules for containers, hosts and functions (policies/runtime/{container,host,serverless}).
--
-- One rule named policies.name per policy, forcing exactly the settings the documentation
-- lists under "Runtime" (see lib/policy_runtime.lua for each field):
--   * container: anti-malware, process, network and file-system detections on, and the 15
--     custom rules selected;
--   * host: the denied process categories (tools a person added are kept), the six log
--     inspection files with their regexes (extra regexes and files are kept), the activity
--     tracking settings, and the 15 custom rules;
--   * serverless: advanced protection, crypto miners, block all but the main process. Raw
--     sockets: the 34.04 document has no field for it (see below).
-- "On" is an effect of at least alert; a stronger effect stays. A section's `disabled` flag is
-- not forced. Every other setting is preserved, existing rules keep their order and a new rule
-- (complete, built from the 34.04 schema) goes first.

local tables = require("tables")
local policy = require("policy")
local answers = require("answers")
local runtime = require("policy_runtime")

local name = policy.rule_name(values)

-- The custom rules, read once for the container and host rules; by name, 34.x ids as fallback.
local ok, list = pcall(answers.get_array, "custom-rules")
if not ok then
  log.warn("custom rules (GET custom-rules) could not be read (%s); selecting them by their "
    .. "34.x ids 15-29", tostring(list))
  list = nil
end
local custom_ids, notes = runtime.resolve_custom_rules(list)
for _, note in ipairs(notes) do log.warn("%s", note) end

local SPECS = {}
for _, spec in ipairs(runtime.KINDS) do SPECS[spec.kind] = spec end
local ENDPOINTS = { "container", "host", "serverless" }

local function label(ep) return "runtime policy " .. ep end

policy.each_endpoint(ENDPOINTS, label, function(ep)
  if ep == "serverless" then
    -- The documentation forces "Networking > Raw sockets: On" for functions, but the 34.04
    -- schema of runtime.ServerlessPolicyRule has no raw-socket field (older consoles took
    -- network.skipRawSockets). The console would silently drop an unknown field, so none is
    -- sent; say so once per run.
    log.warn("%s: raw-socket detection is not configurable through the 34.04 API "
      .. "(no field in runtime.ServerlessPolicyRule); left as the console has it", label(ep))
  end
  local path = "policies/runtime/" .. ep
  local current = answers.get_object(path)
  local desired = tables.copy(current)
  local change = runtime.apply(desired, SPECS[ep], name, custom_ids)
  local result = policy.write(path, current, desired, label(ep))
  if change == "created" then
    log.info("%s: %s rule %q", label(ep), policy.outcome(result, "created"), name)
  elseif result == "unchanged" then
    log.info("%s: rule %q unchanged", label(ep), name)
  else
    log.info("%s: %s rule %q (%d forced settings changed)", label(ep),
      policy.outcome(result, "updated"), name, change)
  end
end)
