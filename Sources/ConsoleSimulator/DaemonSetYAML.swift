import Foundation
import JSONModel

/// The defender install manifest `POST defenders/daemonset.yaml` returns, modelled on the
/// YAML a Prisma Cloud Compute console generates for Kubernetes/OpenShift: a Secret with the
/// defender's keys and install parameters, the `twistlock-service` ServiceAccount, a
/// ClusterRole and ClusterRoleBinding (plus a Role/RoleBinding for OpenShift's security
/// context constraints), the `twistlock-defender-ds` DaemonSet (host namespaces, hostPath
/// volumes, capabilities, `WS_ADDRESS`, `DEFENDER_CLUSTER`, ...) and the `defender` Service.
/// Built from `common.DaemonSetOptions` (already decoded to canonical field names).
enum DaemonSetYAML {
    struct Options {
        var namespace = "twistlock"
        var consoleAddr = "twistlock-console"
        var cluster = ""
        var collectPodLabels = false
        var containerRuntime = "containerd"
        var dockerSocketPath = ""
        var image = ""
        var istio = false
        var nodeSelector: [(String, String)] = []
        var orchestration = "kubernetes"
        var privileged = false
        var proxy: JSON?
        /// `secretsname`: "the name of the secret to pull" (the OpenAPI document) — the image pull
        /// secret, which becomes the pod's imagePullSecrets; the Defender's own Secret keeps its name.
        var pullSecretName = ""
        var selinux = false
        var serviceAccounts = false
        var uniqueHostname = false
        var priorityClassName = ""
        var annotations: [String: String] = [:]
        var tolerations: [JSON] = []
        var cpuLimit = 0
        var memoryLimit = 0
        var roleARN = ""
        var nftables = false
        var gkeAutopilot = false
        var bottlerocket = false
        var talos = false
    }

    enum InvalidOptions: Error { case message(String) }

    /// Reads the decoded options; throws the console's 400 message for values it rejects.
    static func options(from body: JSON, version: String) throws -> (Options, [ConformanceFinding]) {
        var o = Options()
        var findings: [ConformanceFinding] = []
        func str(_ k: String) -> String? {
            guard let s = body[k]?.stringValue, !s.isEmpty else { return nil }
            return s
        }
        if let v = str("namespace") { o.namespace = v }
        if let v = str("consoleAddr") {
            o.consoleAddr = v
        } else {
            findings.append(ConformanceFinding(
                kind: .missingField, path: "consoleAddr", schema: "common.DaemonSetOptions",
                detail: "no consoleAddr: the manifest points defenders at \(o.consoleAddr)"))
        }
        if let v = str("cluster") { o.cluster = v }
        o.collectPodLabels = body["collectPodLabels"]?.boolValue ?? false
        if let v = str("containerRuntime") { o.containerRuntime = v }
        if let v = str("dockerSocketPath") { o.dockerSocketPath = v }
        o.image = str("image") ?? "registry-auth.twistlock.com/tw_simulator/twistlock/defender:defender_" +
            version.replacingOccurrences(of: ".", with: "_")
        o.istio = body["istio"]?.boolValue ?? false
        if let v = str("nodeSelector") {
            for part in v.split(whereSeparator: { $0 == "," || $0 == "\n" }) {
                let item = part.trimmingCharacters(in: .whitespaces)
                if item.isEmpty { continue }
                guard let sep = item.firstIndex(where: { $0 == "=" || $0 == ":" }) else {
                    throw InvalidOptions.message("invalid node selector \(JSON.quote(item)): expected key=value")
                }
                let key = item[..<sep].trimmingCharacters(in: .whitespaces)
                let value = item[item.index(after: sep)...].trimmingCharacters(in: .whitespaces)
                guard !key.isEmpty else { throw InvalidOptions.message("invalid node selector \(JSON.quote(item)): empty key") }
                o.nodeSelector.append((key, value))
            }
        }
        if let v = str("orchestration") {
            let lower = v.lowercased()
            guard ["kubernetes", "openshift"].contains(lower) else {
                throw InvalidOptions.message("unsupported orchestration \(JSON.quote(v)): kubernetes or openshift")
            }
            o.orchestration = lower
        }
        o.privileged = body["privileged"]?.boolValue ?? false
        if let p = body["proxy"], p.objectValue?.isEmpty == false { o.proxy = p }
        if let v = str("secretsname") { o.pullSecretName = v }
        o.selinux = body["selinux"]?.boolValue ?? false
        o.serviceAccounts = body["serviceaccounts"]?.boolValue ?? false
        o.uniqueHostname = body["uniqueHostname"]?.boolValue ?? false
        if let v = str("priorityClassName") { o.priorityClassName = v }
        for (k, v) in body["annotations"]?.objectValue ?? [:] { o.annotations[k] = v.stringValue ?? "" }
        o.tolerations = body["tolerations"]?.arrayValue ?? []
        o.cpuLimit = body["cpuLimit"]?.intValue ?? 0
        o.memoryLimit = body["memoryLimit"]?.intValue ?? 0
        if let v = str("roleARN") { o.roleARN = v }
        o.nftables = body["nftablesEnabled"]?.boolValue ?? false
        o.gkeAutopilot = body["gkeAutopilot"]?.boolValue ?? false
        o.bottlerocket = body["bottlerocket"]?.boolValue ?? false
        o.talos = body["talos"]?.boolValue ?? false
        return (o, findings)
    }

    /// A YAML double-quoted scalar (JSON string syntax is valid YAML).
    static func q(_ s: String) -> String { JSON.quote(s) }

    static func b64(_ s: String) -> String { Data(s.utf8).base64EncodedString() }

    static func pem(_ kind: String, _ seed: String) -> String {
        let body = Data(SHA256.hash(Array(seed.utf8)) + SHA256.hash(Array((seed + kind).utf8))).base64EncodedString()
        return "-----BEGIN \(kind)-----\nU0lNVUxBVEVE\(body)\n-----END \(kind)-----\n"
    }

    static func render(_ o: Options, installID: String) -> String {
        let cri = o.containerRuntime != "docker"
        let socketPath: String = {
            if !o.dockerSocketPath.isEmpty { return o.dockerSocketPath }
            switch o.containerRuntime {
            case "docker": return "/var/run/docker.sock"
            case "crio": return "/var/run/crio/crio.sock"
            default: return "/run/containerd/containerd.sock"
            }
        }()
        let socketDir = (socketPath as NSString).deletingLastPathComponent
        let criData = o.containerRuntime == "crio" ? "/var/lib/containers" : "/var/lib/containerd"
        let openshift = o.orchestration == "openshift"
        let privileged = o.privileged && !o.selinux

        var serviceParameter: [String: JSON] = [
            "install_id": .string(installID), "console_addr": .string(o.consoleAddr),
            "cluster": .string(o.cluster), "orchestration": .string(o.orchestration),
        ]
        if let p = o.proxy {
            var proxy: [String: JSON] = [:]
            for k in ["httpProxy", "noProxy", "user", "ca"] { if let v = p[k] { proxy[k] = v } }
            if let pw = p["password"] { proxy["password"] = pw["plain"] ?? pw }
            serviceParameter["proxy"] = .object(proxy)
        }

        var y = ""
        // Secret
        y += """
        ---
        apiVersion: v1
        kind: Secret
        metadata:
          name: twistlock-secrets
          namespace: \(q(o.namespace))
        type: Opaque
        data:
          service-parameter: \(b64(JSON.object(serviceParameter).encoded()))
          defender-ca.pem: \(b64(pem("CERTIFICATE", "ca" + installID)))
          defender-client-cert.pem: \(b64(pem("CERTIFICATE", "client" + installID)))
          defender-client-key.pem: \(b64(pem("RSA PRIVATE KEY", "clientkey" + installID)))
          admission-cert.pem: \(b64(pem("CERTIFICATE", "admission" + installID)))
          admission-key.pem: \(b64(pem("RSA PRIVATE KEY", "admissionkey" + installID)))

        """
        // ServiceAccount
        y += """
        ---
        apiVersion: v1
        kind: ServiceAccount # Service Account is used for managing security context constraints policies in Openshift (SCC)
        metadata:
          name: twistlock-service
          namespace: \(q(o.namespace))

        """
        if !o.roleARN.isEmpty {
            y += "  annotations:\n    eks.amazonaws.com/role-arn: \(q(o.roleARN))\n"
        }
        // RBAC
        y += """
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRole
        metadata:
          name: twistlock-view
          labels:
            rbac.authorization.k8s.io/aggregate-to-view: "true"
        rules:
        - apiGroups: ["rbac.authorization.k8s.io"]
          resources: ["roles", "rolebindings", "clusterroles", "clusterrolebindings"] # Allow Defenders to list RBAC resources
          verbs: ["list"]
        - apiGroups: ["apps"]
          resources: ["deployments", "replicasets"] # Allow Defenders to get Deployments and ReplicaSets
          verbs: ["get"]
        - apiGroups: [""] # Core API
          resources: ["namespaces", "pods"] # Allow Defenders to get Namespaces and Pods
          verbs: ["get"]
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRoleBinding
        metadata:
          name: twistlock-view-binding
        roleRef:
          apiGroup: rbac.authorization.k8s.io
          kind: ClusterRole
          name: twistlock-view
        subjects:
        - apiGroup: ""
          kind: ServiceAccount
          name: twistlock-service
          namespace: \(q(o.namespace))

        """
        if openshift {
            y += """
            ---
            apiVersion: rbac.authorization.k8s.io/v1
            kind: Role
            metadata:
              name: twistlock-role
              namespace: \(q(o.namespace))
            rules:
            - apiGroups: ["security.openshift.io"]
              resources: ["securitycontextconstraints"]
              resourceNames: ["privileged"]
              verbs: ["use"]
            ---
            apiVersion: rbac.authorization.k8s.io/v1
            kind: RoleBinding
            metadata:
              name: twistlock-role-binding
              namespace: \(q(o.namespace))
            roleRef:
              apiGroup: rbac.authorization.k8s.io
              kind: Role
              name: twistlock-role
            subjects:
            - kind: ServiceAccount
              name: twistlock-service
              namespace: \(q(o.namespace))

            """
        }
        // DaemonSet
        var annotations = o.annotations
        annotations["container.apparmor.security.beta.kubernetes.io/twistlock-defender"] = "unconfined"
        y += """
        ---
        apiVersion: apps/v1
        kind: DaemonSet
        metadata:
          name: twistlock-defender-ds
          namespace: \(q(o.namespace))
        spec:
          selector:
            matchLabels:
              app: twistlock-defender
          template:
            metadata:
              annotations:

        """
        for k in annotations.keys.sorted() { y += "        \(q(k)): \(q(annotations[k]!))\n" }
        y += """
              labels:
                app: twistlock-defender
            spec:
              serviceAccountName: twistlock-service
              restartPolicy: Always

        """
        if !o.priorityClassName.isEmpty { y += "      priorityClassName: \(q(o.priorityClassName))\n" }
        if !o.pullSecretName.isEmpty { y += "      imagePullSecrets:\n      - name: \(q(o.pullSecretName))\n" }
        if !o.nodeSelector.isEmpty {
            y += "      nodeSelector:\n"
            for (k, v) in o.nodeSelector { y += "        \(q(k)): \(q(v))\n" }
        }
        if !o.tolerations.isEmpty {
            y += "      tolerations:\n"
            for t in o.tolerations {
                var first = true
                for k in ["key", "operator", "value", "effect", "tolerationSeconds"] {
                    guard let v = t[k] else { continue }
                    let text = v.stringValue.map(q) ?? v.encoded()
                    y += (first ? "      - " : "        ") + "\(k): \(text)\n"
                    first = false
                }
                if first { y += "      - {}\n" }
            }
        }
        y += """
              containers:
              - name: twistlock-defender
                image: \(q(o.image))
                volumeMounts:
                - name: data-folder
                  mountPath: "/var/lib/twistlock"
                - name: certificates # Setting the certificates mount after data-folder since it is nested and was overridden in CRI-O.
                  mountPath: "/var/lib/twistlock/certificates"
                - name: docker-sock-folder
                  mountPath: \(q(socketDir))
                - name: passwd
                  mountPath: "/etc/passwd"
                  readOnly: true
                - name: syslog-socket
                  mountPath: "/dev/log"

        """
        if cri {
            y += "        - name: cri-data\n          mountPath: \(q(criData))\n"
        }
        y += "        - name: runc-proxy-sock-folder\n          mountPath: \"/run\"\n"
        let env: [(String, String)] = [
            ("WS_ADDRESS", "wss://\(o.consoleAddr):8084"),
            ("DEFENDER_TYPE", cri ? "cri" : "daemonset"),
            ("DEFENDER_LISTENER_TYPE", "none"),
            ("LOG_PROD", "true"),
            ("SYSTEMD_ENABLED", "false"),
            ("DOCKER_CLIENT_ADDRESS", socketPath),
            ("DEFENDER_CLUSTER_ID", String(SHA256.hex("cluster:" + o.cluster + installID).prefix(36))),
            ("DEFENDER_CLUSTER", o.cluster),
            ("MONITOR_SERVICE_ACCOUNTS", o.serviceAccounts ? "true" : "false"),
            ("MONITOR_ISTIO", o.istio ? "true" : "false"),
            ("COLLECT_POD_LABELS", o.collectPodLabels ? "true" : "false"),
            ("INSTALL_BUNDLE", b64(JSON.object(["install_id": .string(installID), "console": .string(o.consoleAddr)]).encoded())),
            ("HOST_CUSTOM_COMPLIANCE_ENABLED", "false"),
            ("CLOUD_HOSTNAME_ENABLED", o.uniqueHostname ? "true" : "false"),
            ("FIPS_ENABLED", "false"),
            ("NFTABLES_ENABLED", o.nftables ? "true" : "false"),
            ("GKE_AUTOPILOT", o.gkeAutopilot ? "true" : "false"),
        ]
        y += "        env:\n"
        for (k, v) in env { y += "        - name: \(k)\n          value: \(q(v))\n" }
        y += "        securityContext:\n          readOnlyRootFilesystem: true\n          privileged: \(privileged)\n"
        if !privileged {
            y += """
                      capabilities:
                        add:
                        - NET_ADMIN  # Required for process monitoring
                        - NET_RAW    # Required for iptables (CNNF, runtime DNS, WAAS)
                        - SYS_ADMIN  # Required for filesystem monitoring
                        - SYS_PTRACE # Required for local audit monitoring
                        - SYS_CHROOT # Required for changing mount namespace using setns
                        - MKNOD      # A capability to create special files using mknod(2), used by docker-less registry scanning
                        - SETFCAP    # A capability to set file capabilities, used by docker-less registry scanning
                        - IPC_LOCK   # Required for perf events monitoring, allowing to ignore memory lock limits

            """
        }
        if o.selinux {
            y += "          seLinuxOptions:\n            type: spc_t\n"
        }
        let cpu = o.cpuLimit > 0 ? "\(o.cpuLimit)m" : "900m"
        let memory = o.memoryLimit > 0 ? "\(o.memoryLimit)Mi" : "512Mi"
        y += """
                resources: # See: https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/#how-pods-with-resource-requests-are-run
                  limits:
                    memory: \(q(memory))
                    cpu: \(q(cpu))
                  requests:
                    cpu: "256m"
              volumes:
              - name: certificates
                secret:
                  secretName: twistlock-secrets
                  defaultMode: 256
              - name: syslog-socket
                hostPath:
                  path: "/dev/log"
              - name: data-folder
                hostPath:
                  path: "/var/lib/twistlock"
              - name: passwd
                hostPath:
                  path: "/etc/passwd"
              - name: docker-sock-folder
                hostPath:
                  path: \(q(socketDir))

        """
        if cri {
            y += "      - name: cri-data\n        hostPath:\n          path: \(q(criData))\n"
        }
        y += """
              - name: runc-proxy-sock-folder
                hostPath:
                  path: "/run"
              hostPID: true
              hostNetwork: true
              dnsPolicy: ClusterFirstWithHostNet
        ---
        apiVersion: v1
        kind: Service # Expose the Defender as admission controller. Remark: by default, Defender will not listen on the service port
        metadata:
          name: defender
          namespace: \(q(o.namespace))
          labels:
            app: twistlock-defender
        spec:
          ports:
          - port: 443
            targetPort: 9998
          selector:
            app: twistlock-defender

        """
        return y
    }
}
