-- Pure logic of the runtime policy step: the settings the documentation forces on the
-- container, host and serverless rules named `policies.name`, and complete new rules built
-- from the 34.04 schemas (runtime.ContainerPolicyRule / HostPolicyRule / ServerlessPolicyRule).
--
-- "On" means an effect of at least `alert` (disable < alert < prevent < block): a stronger
-- effect a person set stays, nothing is weakened. A section's `disabled` flag is not forced
-- (the documentation: "Each section's Enabled setting is not forced on"); a new rule starts
-- with every section enabled.

local tables = require("tables")
local policy = require("policy")

local M = {}

-- The 15 custom rules selected for containers and hosts, by name, with the ids they carry on
-- 34.x consoles (15-29, in this order) as a fallback.
M.CUSTOM_RULES = {
  { name = "Detect privileged management tools starting in a container", id = 15 },
  { name = "Detect usage of common data exfiltration ports", id = 16 },
  { name = "Detect access to common crypto miner pool ports", id = 17 },
  { name = "Detect access to cloud platform metadata APIs (AWS/GCP/Azure)", id = 18 },
  { name = "Detect attempts to tamper with bash shell configuration", id = 19 },
  { name = "Detect writes to linux password and shadow files", id = 20 },
  { name = "Detect file writes under /etc folder (Host)", id = 21 },
  { name = "Detect file writes under /etc folder (Container)", id = 22 },
  { name = "Detect an execution of cron app", id = 23 },
  { name = "A database server app spawned a new process other than itself", id = 24 },
  { name = "Detect launching of suspicious networking scanning tool", id = 25 },
  { name = "Detect launching of suspicious networking tool", id = 26 },
  { name = "Detect user deletion", id = 27 },
  { name = "Detect user modification", id = 28 },
  { name = "Detect user creation", id = 29 },
}

-- Host anti-malware "deny process by category": Exploit tools, Persistent access, Password
-- attacks, Sniffing and spoofing, expanded to tool names.
M.DENIED_TOOLS = {
  "cisco-ocs", "crackle", "yersinia", "cryptcat", "cymothoa", "dbd", "dns2tcpc", "dns2tcpd",
  "htc", "hts", "pwnat", "sbd", "chntpw", "cmospwd", "crunch", "hashcat", "hydra",
  "pw-inspector", "john", "mp32", "mp64", "ncrack", "ophcrack", "pd", "sp32", "sp64",
  "thc-pptp-bruter", "truecrack", "bettercap", "fiked", "hamster", "hexinject", "prettypacket",
  "hex2raw", "iaxflood", "inviteflood", "mitmproxy", "ohrwurm", "dns-rebind", "rtpbreak",
  "sctpscan", "sipp", "sniffjoke", "sniffjokectl", "sslsplit", "wireshark", "tshark", "amap",
  "amapcrap", "nmap", "ncat", "nping",
}

-- Host log inspection defaults: the six files and their regexes.
M.LOG_INSPECTION = {
  { path = "/var/log/auth.log", regex = {
    "Bad protocol version identification", "POSSIBLE BREAK-IN ATTEMPT",
    "Did not receive identification string from", "(llegal|Invalid) user",
    "authentication error", "PAM: Authentication failure", "Corrupted check bytes on input",
    "not allowed because account is locked", "maximum authentication attempts exceeded" } },
  { path = "/var/log/nginx/error.log", regex = { "password mismatch", "user .* was not found" } },
  { path = "/var/log/mongodb/mongod.log", regex = {
    " E ACCESS ", "authentication failed", "not authorized on" } },
  { path = "/var/log/postgresql/postgresql-*.log", regex = {
    "Peer authentication failed", "terminating connection" } },
  { path = "/var/log/mysql.err", regex = {
    "Access denied", "Fatal error:", "Authorization ID .* does not exist",
    "Maximum number of authentication attempts reached" } },
  { path = "/var/log/apache2/error.log", regex = {
    "directory index forbidden", "user .* not found", "Invalid URI in request", "URI too long",
    "client.*denied by server configuration:", "Authorization of user \\S* to access \\S* failed",
    "authentication fail" } },
}

---------------------------------------------------------------------------------------------
-- Custom rules

--- Resolves the 15 custom rules against the console's list (GET custom-rules), by name.
--- `list` is nil when the list could not be read: then the 34.x ids are used.
--- A name the console does not list falls back to its 34.x id when the console lists that id
--- (a renamed rule); otherwise it is skipped. Returns `ids` (in documentation order) and
--- `notes` (one line per fallback or skip, for the log).
function M.resolve_custom_rules(list)
  local ids, notes = {}, {}
  if list == nil then
    for _, c in ipairs(M.CUSTOM_RULES) do ids[#ids + 1] = c.id end
    return ids, notes
  end
  local byName, byId = {}, {}
  for _, r in ipairs(list) do
    if tables.is_table(r) and r._id ~= nil then
      if type(r.name) == "string" and byName[r.name] == nil then byName[r.name] = r._id end
      byId[r._id] = r
    end
  end
  for _, c in ipairs(M.CUSTOM_RULES) do
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

--- Container rule: anti-malware, processes, networking, file system, custom rules.
function M.force_container(rule, custom_ids)
  local n = 0
  -- Anti-malware: advanced threat protection, Kubernetes attacks, cloud provider API queries
  for _, k in ipairs({ "advancedProtectionEffect", "kubernetesEnforcementEffect",
                       "cloudMetadataEnforcementEffect" }) do
    n = count(policy.raise_effect(rule, k, "alert"), n)
  end
  -- Processes: modified binaries, crypto miners, reverse shells, lateral movement, SUID;
  -- child processes started by unrecognized parents
  local p = policy.ensure_object(rule, "processes")
  for _, k in ipairs({ "modifiedProcessEffect", "cryptoMinersEffect", "reverseShellEffect",
                       "lateralMovementEffect", "suidBinariesEffect" }) do
    n = count(policy.raise_effect(p, k, "alert"), n)
  end
  n = count(policy.set(p, "checkParentChild", true), n)
  -- Networking: modified binaries, port scanning, raw sockets
  local net = policy.ensure_object(rule, "network")
  for _, k in ipairs({ "modifiedProcEffect", "portScanEffect", "rawSocketsEffect" }) do
    n = count(policy.raise_effect(net, k, "alert"), n)
  end
  -- File system: binaries and certificates, encrypted/packed binaries, SSH and admin account
  -- configuration files, suspicious ELF headers
  local fs = policy.ensure_object(rule, "filesystem")
  for _, k in ipairs({ "newFilesEffect", "encryptedBinariesEffect", "backdoorFilesEffect",
                       "suspiciousELFHeadersEffect" }) do
    n = count(policy.raise_effect(fs, k, "alert"), n)
  end
  n = count(M.select_custom_rules(rule, custom_ids), n)
  return n
end

--- Host rule: denied process categories, log inspection, activities, custom rules.
function M.force_host(rule, custom_ids)
  local n = 0
  local am = policy.ensure_object(rule, "antiMalware")
  local denied = policy.ensure_object(am, "deniedProcesses")
  n = count(policy.raise_effect(denied, "effect", "alert"), n)
  n = count(union_strings(denied, "paths", M.DENIED_TOOLS), n)
  -- Track SSH events: on
  n = count(policy.set(am, "skipSSHTracking", false), n)

  -- Log inspection: the six files with their regexes; extra files and regexes are kept.
  local lir = tables.is_table(rule.logInspectionRules) and rule.logInspectionRules or nil
  local byPath = {}
  if lir then
    for _, r in ipairs(lir) do
      if tables.is_table(r) and type(r.path) == "string" and byPath[r.path] == nil then
        byPath[r.path] = r
      end
    end
  end
  for _, d in ipairs(M.LOG_INSPECTION) do
    local r = byPath[d.path]
    if r == nil then
      lir = lir or policy.ensure_list(rule, "logInspectionRules")
      local regex = {}
      for i, x in ipairs(d.regex) do regex[i] = x end
      r = tables.object({ path = d.path, regex = tables.array(regex) })
      lir[#lir + 1] = r
      byPath[d.path] = r
      n = n + 1
    else
      n = count(union_strings(r, "regex", d.regex), n)
    end
  end

  -- Activities: Docker commands, read-only Docker events, sshd sessions, sudo/su commands.
  -- (`activitiesDisabled` is the section's "Enabled" setting: not forced.)
  local f = policy.ensure_object(rule, "forensic")
  for _, k in ipairs({ "dockerEnabled", "readonlyDockerEnabled", "sshdEnabled", "sudoEnabled" }) do
    n = count(policy.set(f, k, true), n)
  end
  n = count(M.select_custom_rules(rule, custom_ids), n)
  return n
end

--- Serverless rule: advanced protection, crypto miners, block all but the main process.
--- Raw sockets: the 34.04 document has no field for serverless raw-socket detection (older
--- consoles took `network.skipRawSockets: false`, which 34.04 does not know and Go would
--- silently drop), so it is not sent; the step logs that once.
function M.force_serverless(rule)
  local n = 0
  n = count(policy.set(rule, "advancedProtection", true), n)
  local p = policy.ensure_object(rule, "processes")
  n = count(policy.set(p, "checkCryptoMiners", true), n)
  n = count(policy.set(p, "blockAllBinaries", true), n)
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

-- kind -> {endpoint, builder, forcer(rule, custom_ids)}
M.KINDS = {
  { kind = "container", new = M.new_container_rule, force = M.force_container },
  { kind = "host", new = M.new_host_rule, force = M.force_host },
  { kind = "serverless", new = M.new_serverless_rule,
    force = function(rule) return M.force_serverless(rule) end },
}

--- Applies the rule named `name` to a runtime policy (a deep copy the caller owns).
--- Returns "created" or the number of settings changed on the existing rule.
function M.apply(pol, spec, name, custom_ids)
  local rules = policy.rules(pol)
  local rule = policy.index_by_name(rules)[name]
  if rule == nil then
    rule = spec.new(name, policy.all_collections(rules))
    spec.force(rule, custom_ids)
    policy.prepend(rules, { rule })
    return "created"
  end
  return spec.force(rule, custom_ids)
end

return M
