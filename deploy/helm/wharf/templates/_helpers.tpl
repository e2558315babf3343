{{/* Names and labels ------------------------------------------------------------------------ */}}
{{- define "wharf.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "wharf.fullname" -}}
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

{{- define "wharf.selectorLabels" -}}
app.kubernetes.io/name: {{ include "wharf.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "wharf.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "wharf.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: wharf
{{- end }}

{{- define "wharf.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "wharf.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository:tag, or repository:tag@digest when a digest pins it */}}
{{- define "wharf.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end }}

{{- define "wharf.scaleout" -}}
{{- if eq .Values.profile "scaleout" }}true{{ end -}}
{{- end }}

{{/* The public URL: baseUrl, else the first ingress host (https with ingress TLS) */}}
{{- define "wharf.baseUrl" -}}
{{- if .Values.baseUrl -}}
{{- .Values.baseUrl -}}
{{- else if and .Values.ingress.enabled .Values.ingress.hosts -}}
{{- printf "%s://%s" (ternary "https" "http" (gt (len .Values.ingress.tls) 0)) (first .Values.ingress.hosts) -}}
{{- end -}}
{{- end }}

{{/* wharf.yaml: what the values say, then .Values.config over it */}}
{{- define "wharf.config" -}}
{{- $baseUrl := include "wharf.baseUrl" . -}}
{{- $service := .Values.auth.service | default (ternary (urlParse $baseUrl).host "" (ne $baseUrl "")) -}}
{{- $grace := int .Values.terminationGracePeriodSeconds -}}
{{- $rendered := "" -}}
{{- $rendered = printf `
dataDir: /data
server:
  host: 0.0.0.0
  port: 5000
  trustProxy: %t
  shutdownTimeoutSeconds: %d
auth:
  defaultVisibility: %s
  admin:
    username: %s
log:
  level: %s
` .Values.ingress.enabled (max 5 (sub $grace 10)) (.Values.auth.defaultVisibility | quote) (.Values.auth.admin.username | quote) (.Values.log.level | quote) -}}
{{- $config := fromYaml $rendered -}}
{{- if $baseUrl }}{{ $_ := set $config.server "baseUrl" $baseUrl }}{{ end -}}
{{- if $service }}{{ $_ := set $config.auth "service" $service }}{{ end -}}
{{- if .Values.tls.existingSecret -}}
{{- $_ := set $config.server "tls" (dict "certFile" "/etc/wharf/tls/tls.crt" "keyFile" "/etc/wharf/tls/tls.key" "watchIntervalSeconds" .Values.tls.watchIntervalSeconds) -}}
{{- end -}}
{{- if include "wharf.scaleout" . -}}
{{- $s3 := dict "bucket" (required "scaleout.s3.bucket is required with profile scaleout" .Values.scaleout.s3.bucket) "region" .Values.scaleout.s3.region "forcePathStyle" .Values.scaleout.s3.forcePathStyle "prefix" .Values.scaleout.s3.prefix "redirect" .Values.scaleout.s3.redirect -}}
{{- if .Values.scaleout.s3.endpoint }}{{ $_ := set $s3 "endpoint" .Values.scaleout.s3.endpoint }}{{ end -}}
{{- $_ := set $config "storage" (dict "driver" "s3" "s3" $s3) -}}
{{- $pg := dict "poolSize" .Values.scaleout.database.poolSize -}}
{{- if .Values.scaleout.database.schema }}{{ $_ := set $pg "schema" .Values.scaleout.database.schema }}{{ end -}}
{{- $_ := set $config "database" (dict "driver" "postgres" "postgres" $pg) -}}
{{- else -}}
{{- $_ := set $config "storage" (dict "driver" "fs") -}}
{{- $_ := set $config "database" (dict "driver" "sqlite") -}}
{{- end -}}
{{- toYaml (mergeOverwrite $config .Values.config) -}}
{{- end }}

{{/* Secret files: /run/secrets/wharf/<name>, from the Secrets the values name */}}
{{- define "wharf.secretSources" -}}
{{- if .Values.auth.admin.existingSecret }}
- secret:
    name: {{ .Values.auth.admin.existingSecret }}
    items:
      - key: {{ .Values.auth.admin.passwordKey }}
        path: admin-password
{{- end }}
{{- if include "wharf.scaleout" . }}
- secret:
    name: {{ required "scaleout.database.existingSecret is required with profile scaleout" .Values.scaleout.database.existingSecret }}
    items:
      - key: {{ .Values.scaleout.database.urlKey }}
        path: database-url
{{- if .Values.scaleout.s3.existingSecret }}
- secret:
    name: {{ .Values.scaleout.s3.existingSecret }}
    items:
      - key: {{ .Values.scaleout.s3.accessKeyIdKey }}
        path: s3-access-key-id
      - key: {{ .Values.scaleout.s3.secretAccessKeyKey }}
        path: s3-secret-access-key
{{- end }}
{{- end }}
{{- end }}

{{- define "wharf.secretEnv" -}}
{{- if .Values.auth.admin.existingSecret }}
- name: WHARF_AUTH__ADMIN__PASSWORD_FILE
  value: /run/secrets/wharf/admin-password
{{- end }}
{{- if include "wharf.scaleout" . }}
- name: WHARF_DATABASE__POSTGRES__URL_FILE
  value: /run/secrets/wharf/database-url
{{- if .Values.scaleout.s3.existingSecret }}
- name: WHARF_STORAGE__S3__ACCESS_KEY_ID_FILE
  value: /run/secrets/wharf/s3-access-key-id
- name: WHARF_STORAGE__S3__SECRET_ACCESS_KEY_FILE
  value: /run/secrets/wharf/s3-secret-access-key
{{- end }}
{{- end }}
{{- end }}

{{- define "wharf.probe" -}}
httpGet:
  path: {{ .path }}
  port: http
  scheme: {{ ternary "HTTPS" "HTTP" (ne .root.Values.tls.existingSecret "") }}
{{- toYaml .probe | nindent 0 }}
{{- end }}

{{/* The pod template shared by the StatefulSet (embedded) and the Deployment (scaleout) */}}
{{- define "wharf.podTemplate" -}}
metadata:
  labels:
    {{- include "wharf.selectorLabels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    checksum/config: {{ include "wharf.config" . | sha256sum }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "wharf.serviceAccountName" . }}
  automountServiceAccountToken: false
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  containers:
    - name: wharf
      image: {{ include "wharf.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args: [serve]
      ports:
        - name: http
          containerPort: 5000
          protocol: TCP
      env:
        - name: WHARF_CONFIG
          value: /etc/wharf/wharf.yaml
        {{- with include "wharf.secretEnv" . | trim }}
        {{- . | nindent 8 }}
        {{- end }}
        {{- with .Values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      startupProbe:
        {{- include "wharf.probe" (dict "root" . "path" "/healthz" "probe" .Values.probes.startup) | nindent 8 }}
      livenessProbe:
        {{- include "wharf.probe" (dict "root" . "path" "/healthz" "probe" .Values.probes.liveness) | nindent 8 }}
      readinessProbe:
        {{- include "wharf.probe" (dict "root" . "path" "/readyz" "probe" .Values.probes.readiness) | nindent 8 }}
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      volumeMounts:
        - name: config
          mountPath: /etc/wharf/wharf.yaml
          subPath: wharf.yaml
          readOnly: true
        - name: data
          mountPath: /data
        - name: tmp
          mountPath: /tmp
        {{- if include "wharf.secretSources" . }}
        - name: secrets
          mountPath: /run/secrets/wharf
          readOnly: true
        {{- end }}
        {{- if .Values.tls.existingSecret }}
        - name: tls
          mountPath: /etc/wharf/tls
          readOnly: true
        {{- end }}
        {{- with .Values.extraVolumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  volumes:
    - name: config
      configMap:
        name: {{ include "wharf.fullname" . }}
    - name: tmp
      emptyDir: {}
    {{- if include "wharf.scaleout" . }}
    # No state: /data holds only caches derived from the database (rendered chart indexes).
    - name: data
      emptyDir: {}
    {{- else if .Values.persistence.existingClaim }}
    - name: data
      persistentVolumeClaim:
        claimName: {{ .Values.persistence.existingClaim }}
    {{- end }}
    {{- with include "wharf.secretSources" . | trim }}
    - name: secrets
      projected:
        defaultMode: 0440
        sources:
          {{- . | nindent 10 }}
    {{- end }}
    {{- if .Values.tls.existingSecret }}
    - name: tls
      secret:
        secretName: {{ .Values.tls.existingSecret }}
        defaultMode: 0440
    {{- end }}
    {{- with .Values.extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
