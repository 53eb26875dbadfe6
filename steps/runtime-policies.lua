-- Runtime rules for containers, hosts and functions (policies/runtime/{container,host,serverless}).
--
-- One rule named policies.name per policy, forcing exactly the settings the documentation
-- lists under "Runtime" (FORCED below, field by field, with the lists it names):
--   * container: anti-malware, process, network and file-system detections on, and the 15
--     custom rules selected;
--   * host: the denied process categories (tools a person added are kept), the six log
--     inspection files with their regexes (extra regexes and files are kept), the activity
--     tracking settings, and the 15 custom rules;
--   * serverless: advanced protection, crypto miners, block all but the main process. Raw
--     sockets: the 34.04 document has no field for it (see below).
-- "On" is an effect of at least alert; a stronger effect stays. A section's `disabled` flag is
-- not forced ("Each section's Enabled setting is not forced on"). Every other setting is
-- preserved, existing rules keep their order and a new rule (complete, built from the 34.04
-- schema by lib/policy_runtime.lua, which also does the forcing) goes first.

local tables = require("tables")
local policy = require("policy")
local answers = require("answers")
local runtime = require("policy_runtime")

local ON = "alert"

-- The 15 custom rules selected for containers and hosts, by name, with the ids they carry on
-- 34.x consoles (15-29, in this order) as a fallback.
local CUSTOM_RULES = {
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
local DENIED_TOOLS = {
  "cisco-ocs", "crackle", "yersinia", "cryptcat", "cymothoa", "dbd", "dns2tcpc", "dns2tcpd",
  "htc", "hts", "pwnat", "sbd", "chntpw", "cmospwd", "crunch", "hashcat", "hydra",
  "pw-inspector", "john", "mp32", "mp64", "ncrack", "ophcrack", "pd", "sp32", "sp64",
  "thc-pptp-bruter", "truecrack", "bettercap", "fiked", "hamster", "hexinject", "prettypacket",
  "hex2raw", "iaxflood", "inviteflood", "mitmproxy", "ohrwurm", "dns-rebind", "rtpbreak",
  "sctpscan", "sipp", "sniffjoke", "sniffjokectl", "sslsplit", "wireshark", "tshark", "amap",
  "amapcrap", "nmap", "ncat", "nping",
}

-- Host log inspection defaults: the six files and their regexes.
local LOG_INSPECTION = {
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

-- What each rule kind forces (see lib/policy_runtime.lua's `force` for the shape). `section` is
-- a dotted path under the rule; nil is the rule itself.
local FORCED = {
  container = {
    effects = {
      -- Anti-malware: advanced threat protection, Kubernetes attacks, cloud provider API queries
      { keys = { "advancedProtectionEffect", "kubernetesEnforcementEffect",
                 "cloudMetadataEnforcementEffect" }, at_least = ON },
      -- Processes: modified binaries, crypto miners, reverse shells, lateral movement, SUID
      { section = "processes", keys = { "modifiedProcessEffect", "cryptoMinersEffect",
        "reverseShellEffect", "lateralMovementEffect", "suidBinariesEffect" }, at_least = ON },
      -- Networking: modified binaries, port scanning, raw sockets
      { section = "network", keys = { "modifiedProcEffect", "portScanEffect", "rawSocketsEffect" },
        at_least = ON },
      -- File system: binaries and certificates, encrypted/packed binaries, SSH and admin account
      -- configuration files, suspicious ELF headers
      { section = "filesystem", keys = { "newFilesEffect", "encryptedBinariesEffect",
        "backdoorFilesEffect", "suspiciousELFHeadersEffect" }, at_least = ON },
    },
    set = {
      -- Processes: child processes started by unrecognized parents
      { section = "processes", key = "checkParentChild", value = true },
    },
    custom_rules = true,
  },
  host = {
    -- Anti-malware: deny processes by category (the tools of DENIED_TOOLS)
    effects = { { section = "antiMalware.deniedProcesses", keys = { "effect" }, at_least = ON } },
    lists = { { section = "antiMalware.deniedProcesses", key = "paths", items = DENIED_TOOLS } },
    set = {
      -- Track SSH events: on
      { section = "antiMalware", key = "skipSSHTracking", value = false },
      -- Activities: Docker commands, read-only Docker events, sshd sessions, sudo/su commands
      -- (`activitiesDisabled` is the section's "Enabled" setting: not forced)
      { section = "forensic", key = "dockerEnabled", value = true },
      { section = "forensic", key = "readonlyDockerEnabled", value = true },
      { section = "forensic", key = "sshdEnabled", value = true },
      { section = "forensic", key = "sudoEnabled", value = true },
    },
    log_inspection = LOG_INSPECTION,
    custom_rules = true,
  },
  serverless = {
    -- Advanced protection; processes: crypto miners, block all but the main process
    set = {
      { key = "advancedProtection", value = true },
      { section = "processes", key = "checkCryptoMiners", value = true },
      { section = "processes", key = "blockAllBinaries", value = true },
    },
  },
}

local name = policy.rule_name(values)

-- The custom rules, read once for the container and host rules; by name, 34.x ids as fallback.
local ok, list = pcall(answers.get_array, "custom-rules")
if not ok then
  log.warn("custom rules (GET custom-rules) could not be read (%s); selecting them by their "
    .. "34.x ids 15-29", tostring(list))
  list = nil
end
local custom_ids, notes = runtime.resolve_custom_rules(CUSTOM_RULES, list)
for _, note in ipairs(notes) do log.warn("%s", note) end

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
  local change = runtime.apply(desired, ep, name, FORCED[ep], custom_ids)
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
