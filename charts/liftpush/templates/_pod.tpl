{{/*
The pod template shared by the CronJob and the Deployment. "args" is the
subcommand and its mode flags; everything else is the same in both modes.
*/}}
{{- define "liftpush.podTemplate" -}}
{{- $ := .root }}
{{- $secret := include "liftpush.secretName" $ -}}
{{- $web := include "liftpush.webEnabled" $ -}}
{{- $spool := include "liftpush.spoolVolume" $ -}}
{{- range $.Values.extraArgs }}
{{- if hasPrefix "--web." . }}
{{- fail (printf "extraArgs: %q: the chart sets the listener's flags itself, from web.* (mode: deployment only; a CronJob never listens)" .) }}
{{- end }}
{{- if and $spool (hasPrefix "--spool.dir" .) }}
{{- fail (printf "extraArgs: %q: the chart sets --spool.dir=%s itself, where it mounts the spool volume; set spool.dir instead" . $.Values.spool.dir) }}
{{- end }}
{{- end -}}
metadata:
  labels:
    {{- include "liftpush.selectorLabels" $ | nindent 4 }}
    {{- with $.Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    # A config change rolls the Deployment; for the CronJob it records which config a run used.
    # The daemon reloads on SIGHUP and POST /-/reload too, but the file is mounted by subPath,
    # which Kubernetes never updates in a running pod: the rollout is what applies a change.
    checksum/config: {{ include "liftpush.config" $ | sha256sum }}
    {{- if and $.Values.secret.create (not $.Values.secret.existingSecret) }}
    checksum/secret: {{ toJson $.Values.secret.data | sha256sum }}
    {{- end }}
    {{- with $.Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "liftpush.serviceAccountName" $ }}
  automountServiceAccountToken: {{ $.Values.serviceAccount.automountServiceAccountToken }}
  restartPolicy: {{ .restartPolicy }}
  {{- with $.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $.Values.priorityClassName }}
  priorityClassName: {{ . | quote }}
  {{- end }}
  securityContext:
    {{- toYaml $.Values.podSecurityContext | nindent 4 }}
  containers:
    - name: liftpush
      image: "{{ $.Values.image.repository }}:{{ $.Values.image.tag | default $.Chart.AppVersion }}"
      imagePullPolicy: {{ $.Values.image.pullPolicy }}
      args:
        {{- range .args }}
        - {{ . | quote }}
        {{- end }}
        - --config.file=/etc/liftpush/liftpush.yml
        - --log.level={{ $.Values.log.level }}
        - --log.format={{ $.Values.log.format }}
        {{- if $spool }}
        {{- if .shardDir }}
        {{- /* The shards of one Job share the claim: each keeps its own queue and staleness state. */}}
        - {{ printf "--spool.dir=%s/%s" (trimSuffix "/" $.Values.spool.dir) .shardDir | quote }}
        {{- else }}
        - {{ printf "--spool.dir=%s" $.Values.spool.dir | quote }}
        {{- end }}
        {{- end }}
        {{- if $web }}
        {{- include "liftpush.webArgs" $ | trim | nindent 8 }}
        {{- end }}
        {{- range $.Values.extraArgs }}
        - {{ . | quote }}
        {{- end }}
      {{- with $.Values.extraEnv }}
      env:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- if and $secret $.Values.secret.envFrom }}
      envFrom:
        - secretRef:
            name: {{ $secret }}
      {{- end }}
      {{- if $web }}
      ports:
        - name: http
          containerPort: {{ $.Values.web.port }}
          protocol: TCP
      {{- with $.Values.web.livenessProbe }}
      {{- if .enabled }}
      livenessProbe:
        {{- include "liftpush.probe" (dict "root" $ "path" "/-/healthy" "values" .) | nindent 8 }}
      {{- end }}
      {{- end }}
      {{- with $.Values.web.readinessProbe }}
      {{- if .enabled }}
      readinessProbe:
        {{- include "liftpush.probe" (dict "root" $ "path" "/-/ready" "values" .) | nindent 8 }}
      {{- end }}
      {{- end }}
      {{- end }}
      securityContext:
        {{- toYaml $.Values.securityContext | nindent 8 }}
      resources:
        {{- toYaml $.Values.resources | nindent 8 }}
      volumeMounts:
        # subPath: the file alone, so /etc/liftpush stays free for the secrets mount.
        - name: config
          mountPath: /etc/liftpush/liftpush.yml
          subPath: liftpush.yml
          readOnly: true
        {{- if and $secret $.Values.secret.mount }}
        - name: secrets
          mountPath: /etc/liftpush/secrets
          readOnly: true
        {{- end }}
        {{- if $spool }}
        # The spool: the root filesystem is read-only, so it needs this volume.
        - name: spool
          mountPath: {{ $.Values.spool.dir }}
        {{- end }}
        {{- if and $web $.Values.web.configSecret.name }}
        # The whole Secret, not subPath: a renewed certificate reaches the running pod.
        - name: web-config
          mountPath: {{ include "liftpush.webConfigDir" $ }}
          readOnly: true
        {{- end }}
        # The root filesystem is read-only; Go's os.TempDir may still be used.
        - name: tmp
          mountPath: /tmp
        {{- with $.Values.extraVolumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  volumes:
    - name: config
      configMap:
        name: {{ include "liftpush.fullname" $ }}
    {{- if and $secret $.Values.secret.mount }}
    - name: secrets
      secret:
        secretName: {{ $secret }}
        defaultMode: 0440
    {{- end }}
    {{- if eq $spool "pvc" }}
    - name: spool
      persistentVolumeClaim:
        claimName: {{ include "liftpush.spoolClaim" $ }}
    {{- else if eq $spool "emptyDir" }}
    # Survives container restarts, not the pod's deletion (see values.yaml).
    - name: spool
      emptyDir:
        {{- with $.Values.spool.emptyDir.sizeLimit }}
        sizeLimit: {{ . }}
        {{- else }} {}
        {{- end }}
    {{- end }}
    {{- if and $web $.Values.web.configSecret.name }}
    - name: web-config
      secret:
        secretName: {{ $.Values.web.configSecret.name }}
        defaultMode: 0440
    {{- end }}
    - name: tmp
      emptyDir:
        sizeLimit: 64Mi
    {{- with $.Values.extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with $.Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $.Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $.Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
