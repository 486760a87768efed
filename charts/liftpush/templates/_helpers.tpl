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

{{/*
The RBAC rules the kubernetes_sd_configs of config.scrape_configs need, as
JSON: {"_cluster": [rules], "<namespace>": [rules]}. Prometheus' discovery
lists and watches these resources per role (liftpush's check-config --probe
checks the same list):
  node: nodes; pod: pods; service: services; endpoints: endpoints, services,
  pods; endpointslice: endpointslices.discovery.k8s.io, services, pods;
  ingress: ingresses.networking.k8s.io; attach_metadata.node: nodes;
  attach_metadata.namespace: namespaces.
A config with namespaces.names (or own_namespace) gets the namespaced ones in
those namespaces only; nodes and namespaces are cluster-wide. A node job gets
get on nodes/metrics to scrape the kubelet, and nodes/proxy only when it goes
through the apiserver's proxy (a /proxy/ path in metrics_path or a relabel
replacement): nodes/proxy also reaches the kubelet's exec endpoints. Configs
with api_server or kubeconfig_file read another cluster: nothing here.
*/}}
{{- define "liftpush.sdRules" -}}
{{- $entries := list }}
{{- range $job := (get (.Values.config | default dict) "scrape_configs" | default list) }}
{{- range $sd := (get $job "kubernetes_sd_configs" | default list) }}
{{- if not (or (get $sd "api_server") (get $sd "kubeconfig_file")) }}
{{- $role := get $sd "role" | toString }}
{{- $am := get $sd "attach_metadata" | default dict }}
{{- $nsd := get $sd "namespaces" | default dict }}
{{- $scopes := get $nsd "names" | default list }}
{{- if get $nsd "own_namespace" }}{{ $scopes = append $scopes $.Release.Namespace }}{{ end }}
{{- if or (not $scopes) (eq $role "node") }}{{ $scopes = list "_cluster" }}{{ end }}
{{- /* group|resource, namespaced and cluster-wide */}}
{{- $namespaced := get (dict
  "pod" (list "|pods") "service" (list "|services") "endpoints" (list "|endpoints" "|services" "|pods")
  "endpointslice" (list "discovery.k8s.io|endpointslices" "|services" "|pods")
  "ingress" (list "networking.k8s.io|ingresses")) $role | default list }}
{{- $cluster := list }}
{{- if eq $role "node" }}
{{- $cluster = append $cluster "|nodes" }}
{{- $entries = append $entries "_cluster||get|nodes/metrics" }}
{{- $paths := list (get $job "metrics_path" | default "" | toString) }}
{{- range $rc := (get $job "relabel_configs" | default list) }}{{ $paths = append $paths (get $rc "replacement" | default "" | toString) }}{{ end }}
{{- if contains "/proxy/" (join " " $paths) }}{{ $entries = append $entries "_cluster||get|nodes/proxy" }}{{ end }}
{{- else }}
{{- if get $am "node" }}{{ $cluster = append $cluster "|nodes" }}{{ end }}
{{- if get $am "namespace" }}{{ $cluster = append $cluster "|namespaces" }}{{ end }}
{{- end }}
{{- range $gr := $cluster }}{{ $entries = append $entries (printf "_cluster|%s|list,watch|%s" (index (splitList "|" $gr) 0) (index (splitList "|" $gr) 1)) }}{{ end }}
{{- range $scope := $scopes }}
{{- range $gr := $namespaced }}{{ $entries = append $entries (printf "%s|%s|list,watch|%s" $scope (index (splitList "|" $gr) 0) (index (splitList "|" $gr) 1)) }}{{ end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- /* scope -> "group|verbs" -> resources, then rules sorted by group */}}
{{- $acc := dict }}
{{- range $e := $entries | uniq | sortAlpha }}
{{- $p := splitList "|" $e }}
{{- $s := get $acc (index $p 0) | default dict }}
{{- $k := printf "%s|%s" (index $p 1) (index $p 2) }}
{{- $_ := set $s $k (append (get $s $k | default list) (index $p 3)) }}
{{- $_ := set $acc (index $p 0) $s }}
{{- end }}
{{- $out := dict }}
{{- range $scope, $s := $acc }}
{{- $rules := list }}
{{- range $k := keys $s | sortAlpha }}
{{- $p := splitList "|" $k }}
{{- $rules = append $rules (dict "apiGroups" (list (index $p 0)) "resources" (get $s $k) "verbs" (splitList "," (index $p 1))) }}
{{- end }}
{{- $_ := set $out $scope $rules }}
{{- end }}
{{- toJson $out }}
{{- end }}
