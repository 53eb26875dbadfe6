/// A Defender manifest shaped like the one a 34.04 console answers to
/// `POST /api/v1/defenders/daemonset.yaml` (certificates shortened, secrets fake).
enum Fixtures {
    static let defenderManifest = """
    ---
    apiVersion: rbac.authorization.k8s.io/v1
    kind: ClusterRole
    metadata:
      name: twistlock-view
      labels:
        app.kubernetes.io/name: twistlock
    rules:
    - apiGroups: ["rbac.authorization.k8s.io"]
      resources: ["roles", "rolebindings", "clusterroles", "clusterrolebindings"]
      verbs: ["list"]
    - apiGroups: ["apps"]
      resources: ["deployments", "replicasets"]
      verbs: ["list"]
    - apiGroups: [""]
      resources: ["pods", "namespaces", "nodes", "services", "endpoints", "serviceaccounts"]
      verbs: ["list", "get"]
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
    - apiGroup:
      kind: ServiceAccount
      name: twistlock-service
      namespace: twistlock
    ---
    apiVersion: v1
    kind: Secret
    metadata:
      name: twistlock-secrets
      namespace: twistlock
    type: Opaque
    data:
      service-parameter: c2VydmljZS1wYXJhbWV0ZXI=
      defender-ca.pem: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==
      defender-client-cert.pem: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==
      defender-client-key.pem: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQo=
      admission-cert.pem: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==
      admission-key.pem: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQo=
    ---
    apiVersion: v1
    kind: ServiceAccount
    metadata:
      name: twistlock-service
      namespace: twistlock
    secrets:
    - name: twistlock-secrets
    ---
    apiVersion: apps/v1
    kind: DaemonSet
    metadata:
      name: twistlock-defender-ds
      namespace: twistlock
    spec:
      selector:
        matchLabels:
          app: twistlock-defender
      template:
        metadata:
          annotations:
            container.apparmor.security.beta.kubernetes.io/twistlock-defender: unconfined
          labels:
            app: twistlock-defender
        spec:
          serviceAccountName: twistlock-service
          restartPolicy: Always
          containers:
          - name: twistlock-defender
            image: registry-auth.twistlock.com/tw_token/twistlock/defender:defender_34_04_145
            volumeMounts:
            - name: data-folder
              mountPath: "/var/lib/twistlock"
            - name: certificates
              mountPath: "/var/lib/twistlock/certificates"
            - name: docker-sock-folder
              mountPath: "/var/run"
            - name: passwd
              mountPath: "/etc/passwd"
              readOnly: true
            - name: syslog-socket
              mountPath: "/dev/log"
            - name: cri-data
              mountPath: /var/lib/containerd
            - name: runc-proxy-sock-folder
              mountPath: "/run"
            env:
            - name: WS_ADDRESS
              value: wss://twistlock-console:8084
            - name: DEFENDER_TYPE
              value: cri
            - name: LOG_PROD
              value: "true"
            - name: SYSTEMD_ENABLED
              value: "false"
            - name: DOCKER_CLIENT_ADDRESS
              value: "/var/run/docker.sock"
            - name: DEFENDER_CLUSTER_ID
              value: "6b8a0a38-1c2e-4f2f-9e0b-6ab8a3a4c9d1"
            - name: DEFENDER_CLUSTER
              value: "prod-east"
            - name: MONITOR_SERVICE_ACCOUNTS
              value: "true"
            - name: MONITOR_ISTIO
              value: "false"
            - name: COLLECT_POD_LABELS
              value: "true"
            - name: HOST_CUSTOM_COMPLIANCE_ENABLED
              value: "false"
            - name: CLOUD_HOSTNAME_ENABLED
              value: "false"
            - name: FIPS_ENABLED
              value: "false"
            securityContext:
              readOnlyRootFilesystem: true
              privileged: false
              capabilities:
                add:
                - NET_ADMIN
                - NET_RAW
                - SYS_ADMIN
                - SYS_PTRACE
                - SYS_CHROOT
                - MKNOD
                - SETFCAP
                - IPC_LOCK
              seLinuxOptions:
                type: spc_t
            resources:
              limits:
                memory: "512Mi"
                cpu: "900m"
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
              path: "/var/run"
          - name: cri-data
            hostPath:
              path: /var/lib/containerd
          - name: runc-proxy-sock-folder
            hostPath:
              path: "/run"
          hostPID: true
          hostNetwork: true
          dnsPolicy: ClusterFirstWithHostNet
    ---
    apiVersion: v1
    kind: Service
    metadata:
      name: defender
      namespace: twistlock
      labels:
        app: twistlock-defender
    spec:
      ports:
      - port: 443
        targetPort: 9998
      selector:
        app: twistlock-defender
    """
}
