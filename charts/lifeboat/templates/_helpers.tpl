{{/* Names and labels shared by the templates. */}}
{{- define "lifeboat.name" -}}
{{- default "lifeboat" .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "lifeboat.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "lifeboat.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "lifeboat.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "lifeboat.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/part-of: lifeboat
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* The operator pods' selector. */}}
{{- define "lifeboat.selectorLabels" -}}
app.kubernetes.io/name: lifeboat-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "lifeboat.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "lifeboat.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "lifeboat.webhookService" -}}
{{- printf "%s-webhook" (include "lifeboat.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "lifeboat.webhookSecret" -}}
{{- printf "%s-webhook-tls" (include "lifeboat.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Namespaces that get Roles and the Jobs' ServiceAccount. */}}
{{/* The Jobs' service account (--job-service-account). Watching every
     namespace, the chart cannot make one in each: with jobs.serviceAccount
     .create the Jobs then run as each namespace's default account (the Job's
     pods never mount its token); with create=false the name is passed, for
     accounts made by the user in every namespace. */}}
{{- define "lifeboat.jobServiceAccount" -}}
{{- if or .Values.namespaces (not .Values.jobs.serviceAccount.create) -}}
{{- .Values.jobs.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "lifeboat.jobNamespaces" -}}
{{- if .Values.namespaces -}}
{{- join "," .Values.namespaces -}}
{{- else -}}
{{- .Release.Namespace -}}
{{- end -}}
{{- end -}}

{{/* Checks on combinations of values the schema cannot express. */}}
{{- define "lifeboat.validate" -}}
{{- if and .Values.rbac.create (eq .Values.rbac.scope "namespaces") (not .Values.namespaces) -}}
{{- fail "rbac.scope=namespaces needs the watched namespaces in `namespaces` (a Role and RoleBinding go into each); to watch every namespace use rbac.scope=cluster" -}}
{{- end -}}
{{- if and (gt (int .Values.replicas) 1) (not .Values.leaderElection.enabled) -}}
{{- fail "replicas > 1 needs leaderElection.enabled=true: without the Lease every replica would reconcile" -}}
{{- end -}}
{{- end -}}

{{/* The operator's rules in a watched namespace (or cluster-wide). */}}
{{- define "lifeboat.rules" -}}
# the three kinds: caches, spec/metadata writes (finalizers, labels)
- apiGroups: [lifeboat.dev]
  resources: [databasebackups, backupschedules, databaserestores]
  verbs: [get, list, watch, update, patch]
# schedules create runs and retention deletes them; restores create their
# safety backups
- apiGroups: [lifeboat.dev]
  resources: [databasebackups]
  verbs: [create, delete]
- apiGroups: [lifeboat.dev]
  resources: [databasebackups/status, backupschedules/status, databaserestores/status]
  verbs: [update, patch]
- apiGroups: [batch]
  resources: [jobs]
  verbs: [get, list, watch, create, delete]
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [events]
  verbs: [create, patch]
# no rule names secrets: the operator never reads one
{{- end -}}
