{{/* Drift on a schedule and backups (docs/chart.md): names shared by the Job, the CronJob and the RBAC. */}}

{{- define "twistlock-init.driftName" -}}
{{- printf "%s-drift" (include "twistlock-init.fullname" .) | trunc 52 | trimSuffix "-" -}}
{{- end -}}

{{- define "twistlock-init.driftStatusName" -}}
{{- printf "%s-status" (include "twistlock-init.driftName" .) -}}
{{- end -}}

{{/* The backup Secrets, as a JSON list of names (empty when backup.enabled is false). */}}
{{- define "twistlock-init.backupSecrets" -}}
{{- $names := list -}}
{{- if .Values.backup.enabled -}}
{{- range $i := until (int .Values.backup.keep) -}}
{{- $names = append $names (printf "%s-backup-%d" (include "twistlock-init.fullname" $) $i) -}}
{{- end -}}
{{- end -}}
{{- toJson $names -}}
{{- end -}}

{{/* Whether the job's ServiceAccount exists: the Defender step, backups or the drift CronJob need it. */}}
{{- define "twistlock-init.hasIdentity" -}}
{{- if and .Values.init.enabled (or .Values.defender.enabled .Values.backup.enabled .Values.drift.enabled) -}}true{{- end -}}
{{- end -}}
