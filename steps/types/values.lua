---@meta
-- Generated from Sources/JobConfig/ValuesSchema.swift (SchemaSyncTests); do not edit.
-- The values keys the job reads, as steps see them in `values` (validated before any step
-- runs: kinds, enums, required keys, the shapes of URLs, host names, user and group names
-- and roles; steps trust them. docs/values.md says what each means and accepts). List
-- items' fields are present when given (authType gets its default).

---@class Values
---@field domain string
---@field openshift boolean default false
---@field imagePullSecretName string
---@field istio Values.istio
---@field routes Values.routes
---@field console Values.console
---@field sso Values.sso
---@field defender Values.defender
---@field monitoring Values.monitoring
---@field policies Values.policies
---@field init Values.init
---@field podLabels table<string, string>

---@class Values.init
---@field enabled boolean default true
---@field image Values.init.image
---@field resources table<string, any>
---@field waitTimeoutSeconds integer default 600

---@class Values.init.image
---@field repository string default "twistlock-init"
---@field tag string
---@field imagePullPolicy "Always"|"IfNotPresent"|"Never" default "IfNotPresent"

---@class Values.policies
---@field enabled boolean default true
---@field name string default "Default"
---@field vulnerabilities Values.policies.vulnerabilities
---@field compliance Values.policies.compliance
---@field runtime Values.policies.runtime

---@class Values.policies.runtime
---@field enabled boolean default true

---@class Values.policies.compliance
---@field enabled boolean default true
---@field templates ("GDPR"|"DISA STIG"|"PCI"|"NIST SP 800-190"|"HIPAA")[] default ["DISA STIG","NIST SP 800-190"]
---@field alertThreshold "low"|"medium"|"high"|"critical" default "medium"

---@class Values.policies.vulnerabilities
---@field enabled boolean default true
---@field alertThreshold "low"|"medium"|"high"|"critical" default "medium"

---@class Values.monitoring
---@field enabled boolean default false
---@field username string (secret)
---@field password string (secret)

---@class Values.defender
---@field enabled boolean default true
---@field image Values.defender.image
---@field clusterName string
---@field collectLabels boolean default true
---@field containerRuntime "docker"|"containerd"|"crio" default "containerd"
---@field dockerSocket string
---@field tolerations table<string, any>[]
---@field securityCapabilitiesDrop string[] default ["ALL"]
---@field securityCapabilitiesAdd string[] default ["NET_ADMIN","NET_RAW","SYS_ADMIN","SYS_PTRACE","SYS_CHROOT","MKNOD","SETFCAP","IPC_LOCK"]
---@field monitorServiceAccounts boolean default true
---@field nodeSelector string|table<string, string>
---@field privileged boolean default false
---@field selinux boolean default true
---@field proxy Values.defender.proxy
---@field uniqueHostName boolean default false
---@field resources table<string, any>
---@field priorityClassName string
---@field waitForRollout boolean default true
---@field namespace string default "twistlock"
---@field consoleAddress string
---@field podLabels table<string, string>
---@field rolloutTimeoutSeconds integer default 600

---@class Values.defender.proxy
---@field address string
---@field ca string
---@field username string
---@field password string (secret)

---@class Values.defender.image
---@field repository string default "registry1.dso.mil/ironbank/twistlock/defender/defender"
---@field tag string

---@class Values.sso
---@field enabled boolean default false
---@field client_id string
---@field provider_name string
---@field provider_type "okta"|"gsuite"|"ping"|"shibboleth"|"azure"|"adfs" default "shibboleth"
---@field issuer_uri string
---@field idp_url string
---@field console_url string
---@field groups string
---@field cert string

---@class Values.console
---@field credentials Values.console.credentials
---@field license string (secret)
---@field externalHost string
---@field additionalUsers Values.console.additionalUsers[]
---@field updateUsers boolean default false
---@field groups Values.console.groups[]
---@field options Values.console.options
---@field trustedImages Values.console.trustedImages

---@class Values.console.trustedImages
---@field enabled boolean default true
---@field registryMatches string[] default ["registry1.dso.mil/ironbank/*"]
---@field name string default "BigBang-Trusted"
---@field defaultEffect "alert"|"block" default "alert"

---@class Values.console.options
---@field enabled boolean default true
---@field network Values.console.options.network
---@field logging boolean default true
---@field telemetry boolean default false
---@field intelligence Values.console.options.intelligence
---@field scan Values.console.options.scan
---@field logon Values.console.options.logon

---@class Values.console.options.logon
---@field useSupportCredentials boolean default false
---@field requireStrongPassword boolean default true
---@field basicAuthDisabled boolean default false

---@class Values.console.options.scan
---@field scanRunningImages boolean default false

---@class Values.console.options.intelligence
---@field uploadDisabled boolean default true

---@class Values.console.options.network
---@field container boolean default true
---@field host boolean default true

---@class Values.console.groups
---@field group string
---@field role string
---@field authType "ldapGroup"|"samlGroup"|"oauthGroup"|"oidcGroup"

---@class Values.console.additionalUsers
---@field username string
---@field password string (secret)
---@field role string
---@field authType "basic"|"ldap"|"oauth"|"oidc"|"saml"

---@class Values.console.credentials
---@field username string (secret)
---@field password string (secret)

---@class Values.routes
---@field inbound Values.routes.inbound

---@class Values.routes.inbound
---@field console Values.routes.inbound.console

---@class Values.routes.inbound.console
---@field hosts string[]

---@class Values.istio
---@field enabled boolean default false
