{{/* Names, labels and the values the job reads. */}}

{{- define "twistlock-init.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* <release>-<name>, or the release name alone when it already contains the chart name. */}}
{{- define "twistlock-init.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "twistlock-init.selectorLabels" -}}
app.kubernetes.io/name: {{ include "twistlock-init.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "twistlock-init.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "twistlock-init.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: twistlock
{{- end -}}

{{/* The job's pod: selector labels plus the component. */}}
{{- define "twistlock-init.jobSelectorLabels" -}}
{{ include "twistlock-init.selectorLabels" . }}
app.kubernetes.io/component: init-job
{{- end -}}

{{- define "twistlock-init.serviceAccountName" -}}
{{- include "twistlock-init.fullname" . -}}
{{- end -}}

{{/* The console's namespace. */}}
{{- define "twistlock-init.consoleNamespace" -}}
{{- default .Release.Namespace .Values.console.service.namespace -}}
{{- end -}}

{{/* The URL the job reaches the console at. */}}
{{- define "twistlock-init.consoleURL" -}}
{{- $svc := .Values.console.service -}}
{{- if $svc.url -}}
{{- $svc.url -}}
{{- else -}}
{{- $port := ternary .Values.console.ports.managementHttps .Values.console.ports.managementHttp (eq $svc.scheme "https") -}}
{{- printf "%s://%s.%s.svc:%v" $svc.scheme $svc.name (include "twistlock-init.consoleNamespace" .) $port -}}
{{- end -}}
{{- end -}}

{{/*
The first key of the values only the Big Bang Twistlock package reads (twistlock-init.bigBangMarkers,
generated from the job's schema), or empty: the job's rule (Sources/JobConfig/MetricsUser.swift).
*/}}
{{- define "twistlock-init.bigBangMarker" -}}
{{- $found := "" -}}
{{- range $path := fromJsonArray (include "twistlock-init.bigBangMarkers" .) -}}
{{- if not $found -}}
{{- $cur := $.Values -}}
{{- $ok := true -}}
{{- range $k := $path -}}
{{- if and $ok (kindIs "map" $cur) (hasKey $cur $k) (not (kindIs "invalid" (get $cur $k))) -}}
{{- $cur = get $cur $k -}}
{{- else -}}
{{- $ok = false -}}
{{- end -}}
{{- end -}}
{{- if $ok }}{{ $found = join "." $path }}{{ end -}}
{{- end -}}
{{- end -}}
{{- $found -}}
{{- end -}}

{{/*
The metrics user's name: monitoring.username, else bigbang-metrics-sa (the old job's) for values
from Big Bang, else twistlock-metrics. The same rule as the job's (MetricsUser).
*/}}
{{- define "twistlock-init.metricsUsername" -}}
{{- $name := toString (.Values.monitoring.username | default "") -}}
{{- if $name -}}
{{- $name -}}
{{- else if include "twistlock-init.bigBangMarker" . -}}
bigbang-metrics-sa
{{- else -}}
twistlock-metrics
{{- end -}}
{{- end -}}

{{/*
The Secret holding the metrics user's name and password, and its keys, as JSON
{name, usernameKey, passwordKey}: monitoring.existingSecret, or the chart's <fullname>-metrics.
*/}}
{{- define "twistlock-init.metricsSecret" -}}
{{- $m := .Values.monitoring -}}
{{- if $m.existingSecret -}}
{{- if or $m.username $m.password -}}
{{- fail (printf "monitoring.existingSecret %q holds the metrics user's name and password (keys %q and %q): leave monitoring.username and monitoring.password empty" (toString $m.existingSecret) (toString $m.usernameKey) (toString $m.passwordKey)) -}}
{{- end -}}
{{- range $key := list "usernameKey" "passwordKey" -}}
{{- if not (get $m $key) -}}
{{- fail (printf "monitoring.%s: required with monitoring.existingSecret (the key of the Secret %q that holds the %s)" $key (toString $m.existingSecret) (ternary "user name" "password" (eq $key "usernameKey"))) -}}
{{- end -}}
{{- end -}}
{{- if eq (toString $m.usernameKey) (toString $m.passwordKey) -}}
{{- fail (printf "monitoring.usernameKey and monitoring.passwordKey: both name the key %q of the Secret %q; the user name and the password need a key each" (toString $m.usernameKey) (toString $m.existingSecret)) -}}
{{- end -}}
{{- toJson (dict "name" (toString $m.existingSecret) "usernameKey" (toString $m.usernameKey) "passwordKey" (toString $m.passwordKey)) -}}
{{- else -}}
{{- toJson (dict "name" (printf "%s-metrics" (include "twistlock-init.fullname" .)) "usernameKey" "username" "passwordKey" "password") -}}
{{- end -}}
{{- end -}}

{{/* The Defenders' namespace: defender.namespace, else the release namespace. */}}
{{- define "twistlock-init.defenderNamespace" -}}
{{- default .Release.Namespace .Values.defender.namespace -}}
{{- end -}}

{{/*
The address the Defenders connect to: defender.consoleAddress, else the console Service's
cluster-wide name (the host of console.service.url when that is set).
*/}}
{{- define "twistlock-init.defenderConsoleAddress" -}}
{{- $svc := .Values.console.service -}}
{{- if .Values.defender.consoleAddress -}}
{{- .Values.defender.consoleAddress -}}
{{- else if $svc.url -}}
{{- (urlParse $svc.url).hostname -}}
{{- else -}}
{{- printf "%s.%s.svc.cluster.local" $svc.name (include "twistlock-init.consoleNamespace" .) -}}
{{- end -}}
{{- end -}}

{{/* True (non-empty) when the image named is the old shell job's base image. */}}
{{- define "twistlock-init.legacyImage" -}}
{{- if regexMatch "(^|/)big-bang/base$" (toString .Values.init.image.repository) -}}true{{- end -}}
{{- end -}}

{{- define "twistlock-init.image" -}}
{{- $repo := .Values.init.image.repository -}}
{{- $tag := .Values.init.image.tag | toString -}}
{{- if include "twistlock-init.legacyImage" . -}}
{{- $repo = "twistlock-init" -}}
{{- $tag = "" -}}
{{- end -}}
{{- printf "%s:%s" $repo (default .Chart.AppVersion $tag) -}}
{{- end -}}

{{/*
The secret files the job reads, as a dict file name (= values key) -> value, for the values given
inline and not provided by an existing Secret. Rendered as JSON; callers use fromJson.
*/}}
{{- define "twistlock-init.secretFiles" -}}
{{- $files := dict -}}
{{- $covered := fromJson (include "twistlock-init.coveredSecretFiles" .) -}}
{{- $c := .Values.console -}}
{{- $creds := $c.credentials | default dict -}}
{{- if $creds.username }}{{ $_ := set $files "console.credentials.username" (toString $creds.username) }}{{ end -}}
{{- if $creds.password }}{{ $_ := set $files "console.credentials.password" (toString $creds.password) }}{{ end -}}
{{- if $c.license }}{{ $_ := set $files "console.license" (toString $c.license) }}{{ end -}}
{{- range $i, $u := $c.additionalUsers -}}
{{- if $u.password -}}
{{- $key := printf "console.additionalUsers.%s.password" (toString $u.username) -}}
{{- if not (regexMatch "^[-._a-zA-Z0-9]+$" $key) -}}
{{- fail (printf "console.additionalUsers[%d].username %q: a user with a password needs a user name made of letters, digits, '-', '_' and '.' (it names the secret file %s); give the password through init.existingSecrets instead" $i (toString $u.username) $key) -}}
{{- end -}}
{{- $_ := set $files $key (toString $u.password) -}}
{{- end -}}
{{- end -}}
{{- $proxy := (.Values.defender | default dict).proxy | default dict -}}
{{- if $proxy.password }}{{ $_ := set $files "defender.proxy.password" (toString $proxy.password) }}{{ end -}}
{{- range $k, $_ := $covered }}{{ $_ := unset $files $k }}{{ end -}}
{{- toJson $files -}}
{{- end -}}

{{/* Secret file names provided by existing Secrets, as a JSON dict name -> true. */}}
{{- define "twistlock-init.coveredSecretFiles" -}}
{{- $covered := dict -}}
{{- if .Values.console.credentials.existingSecret -}}
{{- $_ := set $covered "console.credentials.username" true -}}
{{- $_ := set $covered "console.credentials.password" true -}}
{{- end -}}
{{- range .Values.init.existingSecrets -}}
{{- range .items -}}
{{- $_ := set $covered .path true -}}
{{- end -}}
{{- end -}}
{{- toJson $covered -}}
{{- end -}}

{{/*
The values file the job mounts: only the keys the job reads (twistlock-init.jobKeys, generated
from the job's schema), so neither secrets (they reach the job as files) nor the chart's or the
console chart's keys are stored in the ConfigMap. A top-level key nobody knows is kept by name
only (its value null), so the job still warns about it ("did you mean ...?").
*/}}
{{- define "twistlock-init.publicValues" -}}
{{- $keys := fromJson (include "twistlock-init.jobKeys" .) -}}
{{- $out := fromJson (include "twistlock-init.pick" (dict "values" .Values "keys" $keys)) -}}
{{- /* The console chart's route hosts, rendered as that chart renders them ({{ .Values.domain }}). */}}
{{- with (((.Values.routes | default dict).inbound | default dict).console | default dict).hosts -}}
{{- $hosts := list -}}
{{- range . -}}{{- $hosts = append $hosts (tpl (toString .) $) -}}{{- end -}}
{{- $_ := set $out "routes" (dict "inbound" (dict "console" (dict "hosts" $hosts))) -}}
{{- end -}}
{{- /* The Defenders' namespace and the console address, defaulted from the release. */}}
{{- with $out.defender -}}
{{- $_ := set . "namespace" (include "twistlock-init.defenderNamespace" $) -}}
{{- $_ := set . "consoleAddress" (include "twistlock-init.defenderConsoleAddress" $) -}}
{{- end -}}
{{- range $k, $_ := .Values -}}
{{- if not (hasKey $keys $k) -}}{{- $_ := set $out $k nil -}}{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/* The part of .values that .keys marks to copy, as JSON (see twistlock-init.jobKeys). */}}
{{- define "twistlock-init.pick" -}}
{{- $values := .values -}}
{{- $out := dict -}}
{{- range $k, $sub := .keys -}}
{{- if and (kindIs "map" $values) (hasKey $values $k) -}}
{{- $v := get $values $k -}}
{{- if kindIs "bool" $sub -}}
{{- if $sub }}{{ $_ := set $out $k $v }}{{ end -}}
{{- else if hasKey $sub "[]" -}}
{{- if kindIs "slice" $v -}}
{{- $items := list -}}
{{- range $v -}}
{{- if kindIs "map" . -}}
{{- $items = append $items (fromJson (include "twistlock-init.pick" (dict "values" . "keys" (get $sub "[]")))) -}}
{{- else -}}
{{- $items = append $items . -}}
{{- end -}}
{{- end -}}
{{- $_ := set $out $k $items -}}
{{- else -}}
{{- $_ := set $out $k $v -}}
{{- end -}}
{{- else if kindIs "map" $v -}}
{{- $_ := set $out $k (fromJson (include "twistlock-init.pick" (dict "values" $v "keys" $sub))) -}}
{{- else -}}
{{- $_ := set $out $k $v -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* The step files of steps/ (without the editor type definitions), sorted. */}}
{{- define "twistlock-init.stepFiles" -}}
{{- $paths := list -}}
{{- range $path, $_ := .Files.Glob "steps/**.lua" -}}
{{- if not (hasPrefix "steps/types/" $path) -}}
{{- $paths = append $paths (trimPrefix "steps/" $path) -}}
{{- end -}}
{{- end -}}
{{- toJson (sortAlpha $paths) -}}
{{- end -}}

{{/* ConfigMap key of a step file path (lib/x.lua -> lib__x.lua). */}}
{{- define "twistlock-init.stepKey" -}}
{{- $key := replace "/" "__" . -}}
{{- if not (regexMatch "^[-._a-zA-Z0-9]+$" $key) -}}
{{- fail (printf "steps/%s: a step file name may hold only letters, digits, '-', '_' and '.'" .) -}}
{{- end -}}
{{- $key -}}
{{- end -}}

{{/* The pod's node selector, tolerations and affinity: init.* first, then the old top-level keys. */}}
{{- define "twistlock-init.scheduling" -}}
{{- with (.Values.init.nodeSelector | default .Values.nodeSelector) -}}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (.Values.init.tolerations | default .Values.tolerations) }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (.Values.init.affinity | default .Values.affinity) }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
Where the chart's steps are mounted (and given as --builtin-steps): over the image's own copy of
steps/ (see Containerfile), so the job runs the steps of the chart it was installed with, and a
fixed step ships with the chart.
*/}}
{{- define "twistlock-init.stepsPath" -}}
/usr/local/share/twistlock-init/steps
{{- end -}}

{{/* The rules the job holds cluster-wide: those of the Defender manifest's ClusterRole. */}}
{{- define "twistlock-init.defenderClusterRules" -}}
{{- if .Values.init.rbac.clusterRules -}}
{{- toYaml .Values.init.rbac.clusterRules -}}
{{- else -}}
- apiGroups: ["rbac.authorization.k8s.io"]
  resources: ["roles", "rolebindings", "clusterroles", "clusterrolebindings"]
  verbs: ["list"]
{{- if .Values.istio.enabled }}
- apiGroups: [""]
  resources: ["endpoints", "namespaces", "pods", "services"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["apps"]
  resources: ["deployments", "replicasets"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["networking.istio.io"]
  resources: ["destinationrules", "gateways", "virtualservices"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["security.istio.io"]
  resources: ["authorizationpolicies", "peerauthentications"]
  verbs: ["get", "list", "watch"]
{{- end }}
{{- end -}}
{{- end -}}
