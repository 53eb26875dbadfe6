import Foundation
import JSONModel

/// One compliance check of the catalog `GET static/vulnerabilities` returns.
public struct ComplianceCheck: Sendable, Hashable {
    public var id: Int
    public var type: String
    public var severity: String
    public var title: String
    public var templates: [String]

    public var json: JSON {
        [
            "id": .int(Int64(id)), "type": .string(type), "severity": .string(severity),
            "title": .string(title), "templates": .array(templates.map { .string($0) }),
            "cri": .bool(type == "container" || type == "image" || type.hasPrefix("k8s")),
            "description": .string(title.replacingOccurrences(of: #"^\([^)]*\) "#, with: "", options: .regularExpression)),
        ]
    }
}

/// The console's compliance catalog, generated deterministically.
///
/// Where the facts come from: the check *types*, which policy endpoint accepts which type and
/// the five template names are console-api.md's "Compliance checks" section. The families
/// and titles are modelled on the benchmarks Prisma Cloud Compute builds its checks from —
/// CIS Docker (host configuration, daemon configuration and files, images, container runtime,
/// security operations), DISA STIG for Docker Enterprise, CIS Kubernetes (master, worker,
/// federation), CIS OpenShift, CIS distribution-independent Linux, CIS Windows Server and
/// Istio hardening, plus Twistlock's own image/container/serverless checks — with each type in
/// its own id block in the style of the console's ranges (1xx–6xx for the CIS Docker sections,
/// 4xx images, 5xx containers, 81xx–83xx Kubernetes, 61xx Linux, ...). Titles are realistic,
/// not copies of real check texts; ids are not the console's exact ids.
///
/// A catalog of a given size is always the same (no randomness beyond a fixed hash). Every
/// non-serverless type carries every template; serverless checks carry none.
public enum ComplianceCatalog {
    public static let templates = ["GDPR", "DISA STIG", "PCI", "NIST SP 800-190", "HIPAA"]

    /// Check types per policy endpoint (console-api.md).
    public static let endpointTypes: [String: [String]] = [
        "container": ["container", "image", "istio"],
        "host": ["daemon_config", "daemon_config_files", "docker_stig", "host_config", "k8s_federation",
                 "k8s_master", "k8s_worker", "linux", "openshift_master", "openshift_worker",
                 "security_operations", "windows"],
        "serverless": ["serverless"],
        "vms": ["daemon_config", "daemon_config_files", "host_config", "linux", "security_operations", "windows"],
    ]

    public static var allTypes: [String] { families.map(\.type) }

    public static let defaultSize = 600
    public static let minimumSize = 100

    /// The catalog with `size` checks (at least `minimumSize`).
    public static func generate(size: Int = defaultSize) -> [ComplianceCheck] {
        let n = max(size, minimumSize)
        let counts = allocate(n)
        var out: [ComplianceCheck] = []
        out.reserveCapacity(n)
        for (family, count) in zip(families, counts) {
            let titles = family.titles(count)
            for i in 0..<count {
                let id = i < family.width ? family.base + i : 100_000 + family.index * 10_000 + i
                out.append(ComplianceCheck(
                    id: id, type: family.type, severity: severity(id: id, type: family.type),
                    title: titles[i], templates: templatesFor(family: family, ordinal: i, id: id)))
            }
        }
        return out
    }

    /// Largest-remainder split of `n` over the families' weights; every family gets at
    /// least 5 checks (one per template).
    static func allocate(_ n: Int) -> [Int] {
        let total = families.reduce(0) { $0 + $1.weight }
        var counts = families.map { max(5, n * $0.weight / total) }
        var remaining = n - counts.reduce(0, +)
        var order = Array(families.indices).sorted {
            let a = (n * families[$0].weight) % total, b = (n * families[$1].weight) % total
            return a != b ? a > b : $0 < $1
        }
        if order.isEmpty { order = [0] }
        var k = 0
        while remaining > 0 {
            counts[order[k % order.count]] += 1
            remaining -= 1
            k += 1
        }
        while remaining < 0 {
            let i = order[k % order.count]
            if counts[i] > 5 { counts[i] -= 1; remaining += 1 }
            k += 1
        }
        return counts
    }

    static func severity(id: Int, type: String) -> String {
        let h = stableHash("sev:\(type):\(id)") % 100
        switch h {
        case 0..<10: return "critical"
        case 10..<45: return "high"
        case 45..<85: return "medium"
        default: return "low"
        }
    }

    static func templatesFor(family: Family, ordinal: Int, id: Int) -> [String] {
        if family.type == "serverless" { return [] }
        var set: [String] = []
        // The first five checks of every type carry one template each, so every template
        // covers every non-serverless type whatever the size.
        if ordinal < templates.count { set.append(templates[ordinal]) }
        let odds = ["GDPR": 18, "DISA STIG": 45, "PCI": 30, "NIST SP 800-190": 50, "HIPAA": 22]
        for t in templates where !set.contains(t) {
            if Int(stableHash("tpl:\(family.type):\(id):\(t)") % 100) < odds[t]! { set.append(t) }
        }
        return templates.filter { set.contains($0) }
    }

    struct Family {
        let index: Int
        let type: String
        let weight: Int
        let base: Int
        let width: Int
        let benchmark: String
        let section: String
        /// Hand-written stems, then generated ones (each pattern with its subjects).
        let stems: [String]
        let generated: [(pattern: String, subjects: [String])]

        func titles(_ count: Int) -> [String] {
            var raw = stems
            outer: for (p, subjects) in generated {
                for s in subjects {
                    raw.append(p.replacingOccurrences(of: "{}", with: s))
                    if raw.count >= count { break outer }
                }
            }
            var seen = Set<String>()
            var unique: [String] = []
            for t in raw where seen.insert(t).inserted { unique.append(t) }
            var out: [String] = []
            out.reserveCapacity(count)
            for i in 0..<count {
                let text: String
                if i < unique.count {
                    text = unique[i]
                } else {
                    // Beyond the distinct texts: the same control under other benchmark profiles.
                    let round = i / unique.count - 1
                    let profiles = ["Level 2", "STIG", "hardened", "FIPS", "legacy"]
                    let profile = round < profiles.count ? profiles[round] : "custom \(round - profiles.count + 1)"
                    text = unique[i % unique.count] + " (\(profile) profile)"
                }
                let ref = section == "V-" ? "V-\(235_800 + i)" : "\(section)\(1 + i / 25).\(1 + i % 25)"
                out.append("(\(benchmark) - \(ref)) \(text)")
            }
            return out
        }
    }

    static let families: [Family] = {
        var list: [Family] = []
        func add(_ type: String, _ weight: Int, _ base: Int, _ width: Int, _ benchmark: String, _ section: String,
                 stems: [String], patterns: [String] = [], subjects: [String] = [],
                 generated: [(String, [String])] = []) {
            list.append(Family(index: list.count, type: type, weight: weight, base: base, width: width,
                               benchmark: benchmark, section: section, stems: stems,
                               generated: patterns.map { ($0, subjects) } + generated.map { (pattern: $0.0, subjects: $0.1) }))
        }
        add("container", 60, 500, 100, "CIS_Docker_v1.6.0", "5.", stems: [
            "AppArmor profile should be enabled", "SELinux security options should be set",
            "Linux kernel capabilities should be restricted within containers",
            "Privileged containers should not be used", "Sensitive host system directories should not be mounted on containers",
            "sshd should not run within containers", "Privileged ports should not be mapped within containers",
            "Only needed ports should be open on the container", "The host's network namespace should not be shared",
            "Memory usage for containers should be limited", "CPU priority should be set appropriately on containers",
            "The container's root filesystem should be mounted as read only",
            "Incoming container traffic should be bound to a specific host interface",
            "The 'on-failure' container restart policy should be set to '5'",
            "The host's process namespace should not be shared", "The host's IPC namespace should not be shared",
            "Host devices should not be directly exposed to containers",
            "The default ulimit should be overwritten at runtime if needed",
            "Mount propagation mode should not be set to shared", "The host's UTS namespace should not be shared",
            "The default seccomp profile should not be disabled", "docker exec commands should not be used with the privileged option",
            "docker exec commands should not be used with the user=root option", "cgroup usage should be confirmed",
            "The container should be restricted from acquiring additional privileges",
            "Container health should be checked at runtime", "Docker commands should always make use of the latest version of their image",
            "The PIDs cgroup limit should be used", "Docker's default bridge 'docker0' should not be used",
            "The host's user namespaces should not be shared", "The Docker socket should not be mounted inside any containers",
            "(Twistlock) Potentially dangerous capabilities granted to the container",
            "(Twistlock) Secrets in clear text environment variables", "(Twistlock) Container app is running as root",
            "(Twistlock) Container is running as root",
        ], generated: [
            ("The host path {} should not be mounted read-write into containers", [
                "/", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr", "/var/run/docker.sock", "/var/lib/kubelet",
                "/var/log", "/root", "/home", "/run/containerd", "/var/lib/containerd", "/opt", "/srv", "/mnt", "/media", "/tmp",
            ]),
            ("The capability {} should not be added to containers", [
                "CAP_SYS_ADMIN", "CAP_NET_ADMIN", "CAP_SYS_MODULE", "CAP_SYS_PTRACE", "CAP_DAC_READ_SEARCH",
                "CAP_SYS_RAWIO", "CAP_SYS_BOOT", "CAP_MAC_ADMIN", "CAP_MAC_OVERRIDE", "CAP_BPF", "CAP_PERFMON",
                "CAP_SYSLOG", "CAP_NET_RAW", "CAP_SETFCAP", "CAP_LINUX_IMMUTABLE", "CAP_SYS_TIME", "CAP_WAKE_ALARM",
            ]),
        ])
        add("image", 40, 400, 100, "CIS_Docker_v1.6.0", "4.", stems: [
            "Image should be created with a non-root user", "Content trust for Docker should be enabled",
            "HEALTHCHECK instructions should be added to the container image",
            "Update instructions should not be used alone in the Dockerfile",
            "setuid and setgid permissions should be removed in the images",
            "COPY should be used instead of ADD in Dockerfile", "Secrets should not be stored in Dockerfiles",
            "Verified packages should only be installed", "Only trusted base images should be used",
            "Unnecessary packages should not be installed in the container",
            "(Twistlock) Image contains malware", "(Twistlock) Private keys stored in image",
            "(Twistlock) Image contains binaries used for crypto mining", "(Twistlock) Image is not updated to latest",
            "(Twistlock) Image should not contain a package manager cache",
        ], patterns: [
            "Images should not include {}", "Image layers should not add {}",
        ], subjects: [
            "an SSH server", "compilers and build tools", "a shell history file", "cloud provider credentials",
            "an npm token", "a PyPI token", "AWS access keys", "GCP service account keys", "Azure storage keys",
            "a .git directory", "a Docker config.json with credentials", "a Kubernetes kubeconfig",
            "world-writable files", "files owned by unknown users", "setuid binaries", "a netcat binary",
            "debugging tools", "a package manager cache", "test certificates", "unsigned binaries",
        ])
        add("istio", 20, 2300, 100, "Istio_Hardening_v1.0", "", stems: [
            "Mutual TLS should be enabled in STRICT mode", "Istio sidecar injection should be enabled on all namespaces",
            "Egress traffic should be restricted to the registered services",
            "Authorization policies should be defined for every service", "Istio control plane should run the latest version",
            "The istio-ingressgateway should not expose the admin port", "Service accounts should be distinct per workload",
            "Envoy debug endpoints should not be exposed", "Peer authentication should not be PERMISSIVE",
            "JWT request authentication should be configured for external traffic",
        ], patterns: ["Namespace {} should have an Istio authorization policy"], subjects: [
            "default", "istio-system", "kube-system", "monitoring", "logging", "ingress", "twistlock", "gatekeeper-system",
            "kyverno", "argocd", "flux-system", "cert-manager",
        ])
        add("daemon_config", 30, 200, 100, "CIS_Docker_v1.6.0", "2.", stems: [
            "Network traffic should be restricted between containers on the default bridge",
            "The logging level should be set to 'info'", "Docker should be allowed to make changes to iptables",
            "Insecure registries should not be used", "aufs storage driver should not be used",
            "TLS authentication for Docker daemon should be configured", "The default ulimit should be configured appropriately",
            "User namespace support should be enabled", "The default cgroup usage should be confirmed",
            "Base device size should not be changed until needed", "Authorization for Docker client commands should be enabled",
            "Centralized and remote logging should be configured", "Live restore should be enabled",
            "Userland Proxy should be disabled", "Daemon-wide custom seccomp profile should be applied if appropriate",
            "Experimental features should not be implemented in production",
            "Containers should be restricted from acquiring new privileges",
        ], patterns: ["The Docker daemon option {} should be configured"], subjects: [
            "--icc=false", "--log-level=info", "--iptables=true", "--tlsverify", "--tlscacert", "--tlscert", "--tlskey",
            "--userns-remap", "--cgroup-parent", "--authorization-plugin", "--log-driver", "--live-restore",
            "--userland-proxy=false", "--seccomp-profile", "--no-new-privileges", "--default-ulimit",
        ])
        add("daemon_config_files", 30, 300, 100, "CIS_Docker_v1.6.0", "3.", stems: [], patterns: [
            "{} file ownership should be set to root:root", "{} file permissions should be set to 644 or more restrictive",
        ], subjects: [
            "docker.service", "docker.socket", "/etc/docker directory", "Registry certificate", "TLS CA certificate",
            "Docker server certificate", "Docker server certificate key", "Docker socket", "daemon.json",
            "/etc/default/docker", "/etc/sysconfig/docker", "containerd socket", "/etc/containerd/config.toml",
            "/var/lib/docker directory", "/etc/docker/certs.d",
        ])
        add("docker_stig", 40, 5100, 800, "DISA_STIG_Docker_Enterprise_v2r2", "V-", stems: [
            "The Docker Enterprise hosts network namespace must not be shared",
            "Memory usage for all containers must be limited in the Docker Enterprise Engine",
            "Docker Enterprise incoming container traffic must be bound to the host interface",
            "The Docker Enterprise default seccomp profile must not be disabled",
            "Docker Enterprise exec commands must not be used with privileged option",
            "Docker Enterprise exec commands must not be used with the user option",
            "cgroup usage must be confirmed in Docker Enterprise", "All Docker Enterprise containers must be restricted from acquiring additional privileges",
            "The Docker Enterprise hosts process namespace must not be shared",
            "The Docker Enterprise hosts IPC namespace must not be shared",
            "log-opts on all Docker Enterprise nodes must be configured",
            "Docker Enterprise must enforce a FIPS 140-2 validated cryptographic module",
            "Docker Enterprise Swarm manager must be run in autolock mode",
            "The Docker Enterprise default ulimit must not be overwritten at runtime unless approved",
        ], patterns: ["Docker Enterprise must {}"], subjects: [
            "enable content trust enforcement", "use TLS 1.2 or higher for the daemon socket", "not expose the daemon on TCP without TLS",
            "audit all access to the Docker socket", "audit /var/lib/docker", "audit /etc/docker", "audit docker.service",
            "audit docker.socket", "audit /etc/default/docker", "audit /usr/bin/containerd", "audit /usr/sbin/runc",
            "limit the number of PIDs in containers", "use SELinux labels on containers", "restrict container kernel capabilities",
            "log to a centralized logging service", "have live restore enabled", "not use the default bridge network",
            "set the on-failure restart policy to 5", "run containers with a read-only root filesystem",
        ])
        add("host_config", 25, 100, 100, "CIS_Docker_v1.6.0", "1.", stems: [
            "A separate partition for containers should be created", "Only trusted users should be allowed to control Docker daemon",
            "The host should be hardened", "The version of Docker should be up to date",
        ], patterns: ["Auditing should be configured for {}"], subjects: [
            "the Docker daemon", "/var/lib/docker", "/etc/docker", "docker.service", "docker.socket", "/etc/default/docker",
            "/etc/docker/daemon.json", "/usr/bin/containerd", "/usr/sbin/runc", "/usr/bin/docker-containerd",
            "/usr/bin/docker-runc", "/etc/sysconfig/docker", "/run/containerd", "/usr/bin/containerd-shim",
            "/usr/bin/containerd-shim-runc-v1", "/usr/bin/containerd-shim-runc-v2", "/usr/bin/dockerd",
        ])
        add("k8s_federation", 15, 8300, 100, "CIS_Kubernetes_v1.6.0", "3.", stems: [], generated: [
            ("Ensure that the federation API server {}", [
                "--anonymous-auth argument is set to false", "--basic-auth-file argument is not set",
                "--insecure-allow-any-token argument is not set", "--insecure-bind-address argument is not set",
                "--insecure-port argument is set to 0", "--secure-port argument is not set to 0",
                "--profiling argument is set to false", "admission control policy is not set to AlwaysAdmit",
                "admission control plugin NamespaceLifecycle is set", "--audit-log-path argument is set as appropriate",
                "--audit-log-maxage argument is set to 30 or as appropriate", "--audit-log-maxbackup argument is set to 10 or as appropriate",
                "--audit-log-maxsize argument is set to 100 or as appropriate", "--authorization-mode argument is not set to AlwaysAllow",
                "--token-auth-file parameter is not set", "--service-account-lookup argument is set to true",
                "--tls-cert-file and --tls-private-key-file arguments are set as appropriate",
            ]),
            ("Ensure that the federation controller manager {}", [
                "--profiling argument is set to false", "--use-service-account-credentials argument is set to true",
            ]),
        ])
        add("k8s_master", 70, 8100, 100, "CIS_Kubernetes_v1.6.0", "1.", stems: [], generated: [
            ("Ensure that the {}", [
                "API server pod specification file permissions are set to 644 or more restrictive",
                "API server pod specification file ownership is set to root:root",
                "controller manager pod specification file permissions are set to 644 or more restrictive",
                "controller manager pod specification file ownership is set to root:root",
                "scheduler pod specification file permissions are set to 644 or more restrictive",
                "scheduler pod specification file ownership is set to root:root",
                "etcd pod specification file permissions are set to 644 or more restrictive",
                "etcd pod specification file ownership is set to root:root",
                "etcd data directory permissions are set to 700 or more restrictive",
                "etcd data directory ownership is set to etcd:etcd",
                "admin.conf file permissions are set to 644 or more restrictive",
                "admin.conf file ownership is set to root:root",
                "Kubernetes PKI directory and file ownership is set to root:root",
                "Kubernetes PKI key file permissions are set to 600",
                "--anonymous-auth argument is set to false", "--basic-auth-file argument is not set",
                "--token-auth-file parameter is not set", "--kubelet-https argument is set to true",
                "--kubelet-client-certificate and --kubelet-client-key arguments are set as appropriate",
                "--kubelet-certificate-authority argument is set as appropriate",
                "--authorization-mode argument is not set to AlwaysAllow", "--authorization-mode argument includes Node",
                "--authorization-mode argument includes RBAC", "admission control plugin EventRateLimit is set",
                "admission control plugin AlwaysAdmit is not set", "admission control plugin AlwaysPullImages is set",
                "admission control plugin SecurityContextDeny is set if PodSecurityPolicy is not used",
                "admission control plugin ServiceAccount is set", "admission control plugin NamespaceLifecycle is set",
                "admission control plugin NodeRestriction is set", "--insecure-bind-address argument is not set",
                "--insecure-port argument is set to 0", "--secure-port argument is not set to 0",
                "--profiling argument is set to false", "--audit-log-path argument is set",
                "--audit-log-maxage argument is set to 30 or as appropriate",
                "--audit-log-maxbackup argument is set to 10 or as appropriate",
                "--audit-log-maxsize argument is set to 100 or as appropriate",
                "--request-timeout argument is set as appropriate", "--service-account-lookup argument is set to true",
                "--service-account-key-file argument is set as appropriate",
                "--etcd-certfile and --etcd-keyfile arguments are set as appropriate",
                "--tls-cert-file and --tls-private-key-file arguments are set as appropriate",
                "--client-ca-file argument is set as appropriate", "--etcd-cafile argument is set as appropriate",
                "--encryption-provider-config argument is set as appropriate",
                "API Server only makes use of Strong Cryptographic Ciphers",
            ]),
            ("Ensure that the controller manager {}", [
                "--terminated-pod-gc-threshold argument is set as appropriate", "--profiling argument is set to false",
                "--use-service-account-credentials argument is set to true",
                "--service-account-private-key-file argument is set as appropriate",
                "--root-ca-file argument is set as appropriate", "RotateKubeletServerCertificate argument is set to true",
                "--bind-address argument is set to 127.0.0.1",
            ]),
            ("Ensure that the scheduler {}", ["--profiling argument is set to false", "--bind-address argument is set to 127.0.0.1"]),
            ("Ensure that etcd {}", [
                "--cert-file and --key-file arguments are set as appropriate", "--client-cert-auth argument is set to true",
                "--auto-tls argument is not set to true", "--peer-cert-file and --peer-key-file arguments are set as appropriate",
                "--peer-client-cert-auth argument is set to true", "--peer-auto-tls argument is not set to true",
                "uses a unique Certificate Authority",
            ]),
            ("Ensure that {}", [
                "the cluster-admin role is only used where required", "access to secrets is minimized",
                "wildcard use in Roles and ClusterRoles is minimized", "access to create pods is minimized",
                "default service accounts are not actively used", "Service Account Tokens are only mounted where necessary",
                "the admission of privileged containers is minimized", "the admission of root containers is minimized",
                "the admission of containers with NET_RAW is minimized", "all Namespaces have Network Policies defined",
                "secrets are used as files rather than environment variables",
            ]),
        ])
        add("k8s_worker", 35, 8200, 100, "CIS_Kubernetes_v1.6.0", "4.", stems: [], generated: [
            ("Ensure that the kubelet {}", [
                "--anonymous-auth argument is set to false", "--authorization-mode argument is not set to AlwaysAllow",
                "--client-ca-file argument is set as appropriate", "--read-only-port argument is set to 0",
                "--streaming-connection-idle-timeout argument is not set to 0",
                "--protect-kernel-defaults argument is set to true", "--make-iptables-util-chains argument is set to true",
                "--hostname-override argument is not set",
                "--event-qps argument is set to 0 or a level which ensures appropriate event capture",
                "--tls-cert-file and --tls-private-key-file arguments are set as appropriate",
                "--rotate-certificates argument is not set to false", "RotateKubeletServerCertificate argument is set to true",
                "only makes use of Strong Cryptographic Ciphers",
            ]),
            ("Ensure that the {} file permissions are set to 644 or more restrictive", [
                "kubelet service", "proxy kubeconfig", "kubelet.conf", "certificate authorities", "kubelet config.yaml",
            ]),
            ("Ensure that the {} file ownership is set to root:root", [
                "kubelet service", "proxy kubeconfig", "kubelet.conf", "certificate authorities", "kubelet config.yaml",
            ]),
        ])
        add("linux", 110, 6100, 800, "CIS_Linux_2.0.0", "", stems: [
            "Ensure mounting of cramfs filesystems is disabled", "Ensure mounting of freevxfs filesystems is disabled",
            "Ensure mounting of jffs2 filesystems is disabled", "Ensure mounting of hfs filesystems is disabled",
            "Ensure mounting of hfsplus filesystems is disabled", "Ensure mounting of squashfs filesystems is disabled",
            "Ensure mounting of udf filesystems is disabled", "Ensure separate partition exists for /tmp",
            "Ensure nodev option set on /tmp partition", "Ensure nosuid option set on /tmp partition",
            "Ensure noexec option set on /tmp partition", "Ensure sticky bit is set on all world-writable directories",
            "Disable Automounting", "Ensure AIDE is installed", "Ensure filesystem integrity is regularly checked",
            "Ensure permissions on bootloader config are configured", "Ensure authentication required for single user mode",
            "Ensure core dumps are restricted", "Ensure address space layout randomization (ASLR) is enabled",
            "Ensure prelink is disabled", "Ensure SELinux or AppArmor are installed", "Ensure message of the day is configured properly",
            "Ensure time synchronization is in use", "Ensure IP forwarding is disabled", "Ensure packet redirect sending is disabled",
            "Ensure source routed packets are not accepted", "Ensure ICMP redirects are not accepted",
            "Ensure suspicious packets are logged", "Ensure TCP SYN Cookies is enabled", "Ensure auditd service is enabled",
            "Ensure rsyslog Service is enabled", "Ensure cron daemon is enabled", "Ensure SSH Protocol is set to 2",
            "Ensure SSH root login is disabled", "Ensure SSH PermitEmptyPasswords is disabled", "Ensure password expiration is 365 days or less",
            "Ensure default user umask is 027 or more restrictive", "Ensure root is the only UID 0 account",
            "Ensure no legacy \"+\" entries exist in /etc/passwd", "Ensure no duplicate UIDs exist",
        ], generated: [
            ("Ensure permissions on {} are configured", [
                "/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow", "/etc/passwd-", "/etc/shadow-", "/etc/group-",
                "/etc/gshadow-", "/etc/crontab", "/etc/cron.hourly", "/etc/cron.daily", "/etc/cron.weekly",
                "/etc/cron.monthly", "/etc/cron.d", "/etc/ssh/sshd_config", "/etc/motd", "/etc/issue", "/etc/issue.net",
                "/etc/hosts.allow", "/etc/hosts.deny", "/etc/rsyslog.conf", "/etc/sudoers", "/etc/security/limits.conf",
                "/etc/login.defs", "SSH private host key files", "SSH public host key files", "all logfiles",
            ]),
            ("Ensure {} is not installed", [
                "X Window System", "telnet client", "rsh client", "NIS client", "talk client", "LDAP client",
                "prelink", "setroubleshoot", "mcstrans",
            ]),
            ("Ensure {} is not enabled", [
                "telnet server", "rsh server", "NIS server", "tftp server", "talk server", "xinetd", "avahi-daemon",
                "CUPS", "DHCP server", "LDAP server", "NFS and RPC", "DNS server", "FTP server", "HTTP server",
                "IMAP and POP3 server", "Samba", "HTTP proxy server", "SNMP server", "rsync service", "chargen services",
                "daytime services", "discard services", "echo services", "time services",
            ]),
            ("Ensure events that modify {} are collected", [
                "date and time information", "user/group information", "the system's network environment",
                "the system's Mandatory Access Controls", "discretionary access control permissions",
                "the sudoers scope", "the kernel module loading and unloading", "login and logout information",
                "session initiation information",
            ]),
            ("Ensure {} is configured", [
                "auditd to keep all audit logs", "the audit log storage size", "remote rsyslog message acceptance",
                "rsyslog default file permissions", "journald to compress large log files", "journald to write logfiles to persistent disk",
                "SSH LogLevel", "SSH X11 forwarding", "SSH MaxAuthTries", "SSH IgnoreRhosts", "SSH HostbasedAuthentication",
                "SSH Idle Timeout Interval", "SSH LoginGraceTime", "SSH access limits", "SSH warning banner",
                "PAM password creation requirements", "lockout for failed password attempts", "password reuse limitation",
                "password hashing algorithm", "minimum days between password changes", "password expiration warning days",
                "inactive password lock", "the default group for the root account",
            ]),
        ])
        add("openshift_master", 30, 9100, 100, "CIS_OpenShift_v1.1.0", "1.", stems: [], generated: [
            ("Ensure that the OpenShift API server {}", [
                "does not allow anonymous requests", "uses the token authenticator only with OAuth",
                "sets the audit log path", "sets the audit log maxage to 30", "sets the audit log maxbackup to 10",
                "sets the audit log maxsize to 100", "uses the NodeRestriction admission plugin",
                "verifies kubelet certificates", "restricts the service account lookup", "encrypts secrets at rest",
                "only makes use of strong cryptographic ciphers", "has profiling disabled",
            ]),
            ("Ensure that the {} file permissions are set to 600 or more restrictive", [
                "master-config.yaml", "etcd.conf", "admin.kubeconfig", "openshift-master.kubeconfig",
                "scheduler.json", "master.env",
            ]),
            ("Ensure that the {} file ownership is set to root:root", [
                "master-config.yaml", "etcd.conf", "admin.kubeconfig", "openshift-master.kubeconfig",
                "scheduler.json", "master.env",
            ]),
            ("Ensure that etcd {}", ["uses client certificate authentication", "uses peer certificate authentication",
                                     "data directory is restricted to the etcd user"]),
        ])
        add("openshift_worker", 20, 9200, 100, "CIS_OpenShift_v1.1.0", "2.", stems: [], generated: [
            ("Ensure that the OpenShift node kubelet {}", [
                "does not allow anonymous authentication", "uses webhook authorization", "verifies client certificates against the CA",
                "read-only port is disabled", "streaming connection idle timeout is set", "protects kernel defaults",
                "is allowed to manage iptables util chains", "does not override the hostname", "sets event-qps appropriately",
                "rotates client certificates", "rotates server certificates", "only makes use of strong cryptographic ciphers",
            ]),
            ("Ensure that the {} file permissions are set to 644 or more restrictive", [
                "node-config.yaml", "node kubeconfig", "atomic-openshift-node service", "node client CA",
            ]),
            ("Ensure that the {} file ownership is set to root:root", [
                "node-config.yaml", "node kubeconfig", "atomic-openshift-node service", "node client CA",
            ]),
        ])
        add("security_operations", 10, 600, 100, "CIS_Docker_v1.6.0", "6.", stems: [
            "Image sprawl should be avoided", "Container sprawl should be avoided",
            "Security audits of the host and containers should be performed regularly",
            "Containers should be monitored for usage, performance and metering",
            "Backups of container data should be taken", "Centralized log collection should be enabled",
            "Endpoint protection should be installed on the host", "Container runtime security events should be forwarded",
        ], patterns: ["Unused {} should be removed regularly"], subjects: [
            "images", "containers", "volumes", "networks", "build caches", "registries credentials",
        ])
        add("windows", 40, 7100, 800, "CIS_Windows_Server_2019_v1.2.1", "", stems: [
            "Ensure 'Enforce password history' is set to '24 or more password(s)'",
            "Ensure 'Maximum password age' is set to '365 or fewer days, but not 0'",
            "Ensure 'Minimum password age' is set to '1 or more day(s)'",
            "Ensure 'Minimum password length' is set to '14 or more character(s)'",
            "Ensure 'Password must meet complexity requirements' is set to 'Enabled'",
            "Ensure 'Store passwords using reversible encryption' is set to 'Disabled'",
            "Ensure 'Account lockout duration' is set to '15 or more minute(s)'",
            "Ensure 'Accounts: Guest account status' is set to 'Disabled'",
            "Ensure 'Windows Firewall: Domain: Firewall state' is set to 'On (recommended)'",
            "Ensure 'Windows Firewall: Private: Firewall state' is set to 'On (recommended)'",
            "Ensure 'Windows Firewall: Public: Firewall state' is set to 'On (recommended)'",
        ], generated: [
            ("Ensure 'Audit {}' is set to 'Success and Failure'", [
                "Credential Validation", "Application Group Management", "Computer Account Management",
                "Security Group Management", "User Account Management", "PNP Activity", "Process Creation",
                "Account Lockout", "Logoff", "Logon", "Other Logon/Logoff Events", "Special Logon", "Removable Storage",
                "Audit Policy Change", "Authentication Policy Change", "Sensitive Privilege Use", "IPsec Driver",
                "Security State Change", "Security System Extension", "System Integrity",
            ]),
            ("Ensure '{}' is set to 'Administrators'", [
                "Debug programs", "Load and unload device drivers", "Take ownership of files or other objects",
                "Back up files and directories", "Restore files and directories", "Create a pagefile",
                "Force shutdown from a remote system", "Manage auditing and security log", "Modify firmware environment values",
                "Perform volume maintenance tasks", "Profile single process", "Create symbolic links",
            ]),
            ("Ensure '{}' is set to 'Enabled'", [
                "Microsoft network client: Digitally sign communications (always)",
                "Microsoft network server: Digitally sign communications (always)",
                "Network security: Do not store LAN Manager hash value on next password change",
                "User Account Control: Admin Approval Mode for the Built-in Administrator account",
                "User Account Control: Run all administrators in Admin Approval Mode",
                "Domain member: Digitally encrypt or sign secure channel data (always)",
                "System cryptography: Force strong key protection for user keys stored on the computer",
            ]),
        ])
        add("serverless", 12, 9400, 100, "Twistlock_Serverless", "", stems: [
            "(Twistlock) Function has an overly permissive IAM role", "(Twistlock) Function uses a deprecated runtime",
            "(Twistlock) Secrets in clear text environment variables of the function",
            "(Twistlock) Function is publicly accessible", "(Twistlock) Function has admin privileges",
            "(Twistlock) Function can access all resources of a service", "(Twistlock) Function timeout exceeds 5 minutes",
            "(Twistlock) Function code is not signed", "(Twistlock) Function has no dead letter queue",
            "(Twistlock) Function runs in a VPC without egress restriction",
        ], patterns: ["(Twistlock) Function role allows {}"], subjects: [
            "iam:PassRole on all resources", "s3:* on all buckets", "dynamodb:* on all tables", "kms:Decrypt on all keys",
            "lambda:UpdateFunctionCode on all functions", "sts:AssumeRole on all roles", "ec2:* on all instances",
            "secretsmanager:GetSecretValue on all secrets",
        ])
        return list
    }()

    /// The small CVE list `static/vulnerabilities` reports next to the compliance catalog.
    public static let cveVulnerabilities: [JSON] = [
        ["cve": "CVE-2021-44228", "severity": "critical", "cvss": 10.0, "packageName": "log4j-core", "status": "fixed in 2.15.0", "description": "Apache Log4j2 JNDI features do not protect against attacker controlled LDAP and other JNDI related endpoints."],
        ["cve": "CVE-2022-0847", "severity": "high", "cvss": 7.8, "packageName": "linux", "status": "fixed in 5.16.11", "description": "Dirty Pipe: improper initialization of pipe buffer flags allows overwriting data in read-only files."],
        ["cve": "CVE-2023-4911", "severity": "high", "cvss": 7.8, "packageName": "glibc", "status": "fixed in 2.38-r2", "description": "Looney Tunables: buffer overflow in the dynamic loader's processing of GLIBC_TUNABLES."],
        ["cve": "CVE-2024-3094", "severity": "critical", "cvss": 10.0, "packageName": "xz-utils", "status": "fixed in 5.6.1-r2", "description": "Malicious code in the upstream xz tarballs allows unauthorized access through sshd."],
        ["cve": "CVE-2022-3602", "severity": "high", "cvss": 7.5, "packageName": "openssl", "status": "fixed in 3.0.7", "description": "X.509 email address 4-byte buffer overflow."],
        ["cve": "CVE-2023-44487", "severity": "high", "cvss": 7.5, "packageName": "golang.org/x/net", "status": "fixed in 0.17.0", "description": "HTTP/2 rapid reset can cause denial of service."],
        ["cve": "CVE-2021-3156", "severity": "high", "cvss": 7.8, "packageName": "sudo", "status": "fixed in 1.9.5p2", "description": "Baron Samedit: heap-based buffer overflow in sudo."],
        ["cve": "CVE-2022-22965", "severity": "critical", "cvss": 9.8, "packageName": "spring-beans", "status": "fixed in 5.3.18", "description": "Spring4Shell: remote code execution via data binding."],
    ]

    /// The `static/vulnerabilities` document.
    public static func document(size: Int) -> JSON {
        ["complianceVulnerabilities": .array(generate(size: size).map(\.json)),
         "cveVulnerabilities": .array(cveVulnerabilities)]
    }
}
