{{- define "liftpush.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "liftpush.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "liftpush.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "liftpush.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "liftpush.selectorLabels" -}}
app.kubernetes.io/name: {{ include "liftpush.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "liftpush.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "liftpush.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret the pod reads: the user's, or the chart's own when secret.create. */}}
{{- define "liftpush.secretName" -}}
{{- if .Values.secret.existingSecret }}
{{- .Values.secret.existingSecret }}
{{- else if .Values.secret.create }}
{{- include "liftpush.fullname" . }}
{{- end }}
{{- end }}

{{/* The config file's text. The ConfigMap and the checksum/config annotation both
use it, so the annotation changes exactly when the file does. */}}
{{- define "liftpush.config" -}}
{{- toYaml .Values.config }}
{{- end }}

{{/* "true" when liftpush will run the Kubernetes collector: a kubernetes block is
present and not switched off with enabled: false (as liftpush itself decides). */}}
{{- define "liftpush.kubernetesEnabled" -}}
{{- $k := .Values.config.kubernetes }}
{{- if kindIs "map" $k }}
{{- if not (eq (toString (get $k "enabled")) "false") }}true{{ end }}
{{- end }}
{{- end }}

{{/*
The RBAC rules for config.kubernetes.resources, as a YAML list. Names are
kubectl's: "deployments", "statefulsets.apps", "deployments.v1.apps",
"workerpools.v1beta1.workers.spacelift.io". A name with a group is taken as
written; a bare name must be a built-in resource below, because the chart
cannot ask the cluster's discovery as liftpush does at run time. Plural
names only: liftpush expands short names (deploy, sts) through discovery at
run time, but the chart cannot, so it refuses them rather than render RBAC
that would not match. Rules are
grouped by API group and sorted, so the output is stable across renders.
*/}}
{{- define "liftpush.rbacRules" -}}
{{- $builtin := dict
  "pods" "" "services" "" "configmaps" "" "namespaces" "" "nodes" "" "persistentvolumeclaims" ""
  "persistentvolumes" "" "endpoints" "" "serviceaccounts" "" "replicationcontrollers" "" "events" ""
  "resourcequotas" "" "limitranges" ""
  "deployments" "apps" "statefulsets" "apps" "daemonsets" "apps" "replicasets" "apps"
  "jobs" "batch" "cronjobs" "batch" "horizontalpodautoscalers" "autoscaling"
  "ingresses" "networking.k8s.io" "poddisruptionbudgets" "policy"
}}
{{- $byGroup := dict }}
{{- range $r := (get .Values.config.kubernetes "resources" | default (list "deployments")) }}
{{- $parts := splitList "." $r }}
{{- $name := first $parts }}
{{- $group := "" }}
{{- if gt (len $parts) 1 }}
{{- $rest := rest $parts }}
{{- /* resource.version.group: drop the version, RBAC rules have none */}}
{{- if and (gt (len $rest) 1) (regexMatch "^v[0-9]+((alpha|beta)[0-9]+)?$" (first $rest)) }}
{{- $rest = rest $rest }}
{{- end }}
{{- $group = join "." $rest }}
{{- else if hasKey $builtin $name }}
{{- $group = get $builtin $name }}
{{- else }}
{{- fail (printf "config.kubernetes.resources: %q is not a built-in resource the chart knows; write its plural name with its API group, e.g. %s.<group> like workerpools.v1beta1.workers.spacelift.io (the chart cannot expand short names such as deploy without the cluster)" $r $r) }}
{{- end }}
{{- $key := $group | default "core" }}
{{- $_ := set $byGroup $key (append (get $byGroup $key | default list) $name | uniq | sortAlpha) }}
{{- end }}
{{- range $key := keys $byGroup | sortAlpha }}
- apiGroups: [{{ if ne $key "core" }}{{ $key | quote }}{{ else }}""{{ end }}]
  resources: {{ get $byGroup $key | toJson }}
  verbs: {{ if eq $.Values.mode "cronjob" }}["get", "list"]{{ else }}["get", "list", "watch"]{{ end }}
{{- end }}
{{- end }}

{{/* "true" when the pod serves HTTP (--web.listen-address): the daemon only. A
CronJob's pod ends after one cycle; nothing would probe or scrape it. */}}
{{- define "liftpush.webEnabled" -}}
{{- if and (has .Values.mode (list "deployment" "statefulset")) .Values.web.enabled }}true{{ end }}
{{- end }}

{{/* Where the web config Secret is mounted; --web.config.file is <dir>/<key>. */}}
{{- define "liftpush.webConfigDir" -}}
/etc/liftpush/web
{{- end }}

{{/* The listener's flags, and the refusals of what cannot work with it. */}}
{{- define "liftpush.webArgs" -}}
{{- $w := .Values.web }}
{{- if and $w.tls (not $w.configSecret.name) }}
{{- fail "web.tls: TLS is configured in an exporter-toolkit web config file; set web.configSecret.name to the Secret holding it" }}
{{- end }}
{{- if and $w.authRequired (not $w.configSecret.name) }}
{{- fail "web.authRequired: authentication is configured in an exporter-toolkit web config file; set web.configSecret.name to the Secret holding it" }}
{{- end }}
{{- if and $w.authRequired (or $w.livenessProbe.enabled $w.readinessProbe.enabled) }}
{{- fail "web.authRequired: the kubelet's httpGet probes cannot send credentials from a Secret, so /-/healthy and /-/ready would fail (and a failing liveness probe restarts the pod forever); set web.livenessProbe.enabled=false and web.readinessProbe.enabled=false, or drop authentication from the web config" }}
{{- end }}
- --web.listen-address=:{{ $w.port }}
{{- with $w.configSecret.name }}
- --web.config.file={{ include "liftpush.webConfigDir" $ }}/{{ $w.configSecret.key }}
{{- end }}
{{- end }}

{{/* One probe: the chart's httpGet handler plus the timings from values. */}}
{{- define "liftpush.probe" -}}
httpGet:
  path: {{ .path }}
  port: http
  scheme: {{ ternary "HTTPS" "HTTP" .root.Values.web.tls }}
{{- range $k := list "initialDelaySeconds" "periodSeconds" "timeoutSeconds" "failureThreshold" "successThreshold" }}
{{- if hasKey $.values $k }}
{{ $k }}: {{ get $.values $k }}
{{- end }}
{{- end }}
{{- end }}

{{/* The spool's volume: "pvc", "claimTemplate" (a StatefulSet's, one per shard), "emptyDir", or "" for none (then liftpush gets no
--spool.dir: the root filesystem is read-only, so a spool needs a mounted volume).
Fails on what cannot work. */}}
{{- define "liftpush.spoolVolume" -}}
{{- $s := .Values.spool }}
{{- if and $s.persistence.enabled $s.emptyDir.enabled }}
{{- fail "spool: persistence.enabled and emptyDir.enabled are both true; the spool lives on one volume: choose a PVC (persistence, survives the pod) or an emptyDir (mode: deployment, lost with the pod)" }}
{{- end }}
{{- if and $s.emptyDir.enabled (eq .Values.mode "cronjob") }}
{{- fail "spool.emptyDir.enabled: a CronJob's pod ends after one run and its emptyDir with it, so nothing would ever be replayed; use spool.persistence.enabled (a PVC) or mode: deployment" }}
{{- end }}
{{- $kind := "" }}
{{- if $s.persistence.enabled }}{{ $kind = "pvc" }}{{ else if $s.emptyDir.enabled }}{{ $kind = "emptyDir" }}{{ end }}
{{- /* A StatefulSet's shards each get their own claim; one claim cannot be theirs. */}}
{{- if and (eq $kind "pvc") (eq .Values.mode "statefulset") }}
{{- if $s.persistence.existingClaim }}
{{- fail "spool.persistence.existingClaim: in mode statefulset each shard gets its own claim (volumeClaimTemplates), with its own queue and staleness state; one claim cannot serve them all. Leave existingClaim empty" }}
{{- end }}
{{- $kind = "claimTemplate" }}
{{- end }}
{{- if $kind }}
{{- /* The flag overrides the file: a different config.spool.dir would be ignored
(and would have to be on a volume anyway). The same one is harmless. */}}
{{- $cfgSpool := .Values.config.spool }}
{{- if kindIs "map" $cfgSpool }}
{{- with get $cfgSpool "dir" }}
{{- if ne (clean (toString .)) (clean $s.dir) }}
{{- fail (printf "config.spool.dir (%q) differs from spool.dir (%q): the chart mounts the spool volume at spool.dir and sets --spool.dir=%s, which overrides the config file; drop spool.dir from config, or set the chart's spool.dir instead" (toString .) $s.dir $s.dir) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- $kind }}
{{- end }}

{{/* The claim of the spool's PVC: the user's, or the chart's own. */}}
{{- define "liftpush.spoolClaim" -}}
{{- .Values.spool.persistence.existingClaim | default (printf "%s-spool" (include "liftpush.fullname" .)) }}
{{- end }}
