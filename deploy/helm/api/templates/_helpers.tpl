{{/* The chart's name, shortened to what a label value may hold. */}}
{{- define "api.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The objects' name: the release's, with the chart's name when the release does not contain it. */}}
{{- define "api.fullname" -}}
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

{{- define "api.selectorLabels" -}}
app.kubernetes.io/name: {{ include "api.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "api.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "api.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "api.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The Secret's name; installing without one is refused. */}}
{{- define "api.secretName" -}}
{{- required "existingSecret is required: the name of a Secret you created that holds DATABASE_URL, REDIS_URL, AUTH_HS256_SECRET and PROJECT_KEY_SECRET (see values.yaml, secretKeys)" .Values.existingSecret -}}
{{- end -}}

{{/*
The stop, in seconds, checked once: delay + timeout, which the binary bounds by 5 minutes.
*/}}
{{- define "api.stopSeconds" -}}
{{- $delay := int .Values.shutdown.delaySeconds -}}
{{- $timeout := int .Values.shutdown.timeoutSeconds -}}
{{- if lt $delay 0 -}}{{- fail "shutdown.delaySeconds must not be negative (0 turns the delay off)" -}}{{- end -}}
{{- if lt $timeout 1 -}}{{- fail "shutdown.timeoutSeconds must be at least 1" -}}{{- end -}}
{{- if gt (add $delay $timeout) 300 -}}
{{- fail (printf "shutdown.delaySeconds (%d) + shutdown.timeoutSeconds (%d) must be at most 300: the binary refuses a longer stop" $delay $timeout) -}}
{{- end -}}
{{- add $delay $timeout -}}
{{- end -}}

{{/* The pod's grace period: the whole stop the binary takes, and the margin. */}}
{{- define "api.terminationGracePeriodSeconds" -}}
{{- add (include "api.stopSeconds" . | int) (int .Values.shutdown.marginSeconds) -}}
{{- end -}}

{{/*
Every non-secret environment variable, as a YAML map: what the chart sets from its values,
then values.config. The ConfigMap holds it and the migration Job lists it (a pre-install hook
runs before the ConfigMap exists).
*/}}
{{- define "api.environment" -}}
{{- $managed := list "APP_ENV" "HTTP_ADDR" "METRICS_ADDR" "HTTP_SHUTDOWN_DELAY" "HTTP_SHUTDOWN_TIMEOUT" "DB_MIGRATE_ON_START" "HTTP_TLS_CERT_FILE" "HTTP_TLS_KEY_FILE" "HTTP_H2C" -}}
{{- $env := dict
  "APP_ENV" "production"
  "HTTP_ADDR" (printf ":%d" (int .Values.http.port))
  "HTTP_SHUTDOWN_DELAY" (printf "%ds" (int .Values.shutdown.delaySeconds))
  "HTTP_SHUTDOWN_TIMEOUT" (printf "%ds" (int .Values.shutdown.timeoutSeconds))
  "DB_MIGRATE_ON_START" (ternary "false" "true" (.Values.migrations.enabled))
-}}
{{- if .Values.metrics.enabled -}}
{{- $_ := set $env "METRICS_ADDR" (printf ":%d" (int .Values.metrics.port)) -}}
{{- end -}}
{{- if .Values.tls.secretName -}}
{{- $_ := set $env "HTTP_TLS_CERT_FILE" "/etc/tls/tls.crt" -}}
{{- $_ := set $env "HTTP_TLS_KEY_FILE" "/etc/tls/tls.key" -}}
{{- else if .Values.http.h2c -}}
{{- $_ := set $env "HTTP_H2C" "true" -}}
{{- end -}}
{{- range $k, $v := .Values.config -}}
{{- if has $k $managed -}}
{{- fail (printf "config.%s is set by the chart (from http, tls, metrics, shutdown and migrations); remove it from config" $k) -}}
{{- end -}}
{{- if has $k $.Values.secretKeys -}}
{{- fail (printf "config.%s is listed in secretKeys: a secret belongs in existingSecret, never in the ConfigMap" $k) -}}
{{- end -}}
{{- $_ := set $env $k (toString $v) -}}
{{- end -}}
{{- toYaml $env -}}
{{- end -}}

{{/* The env entries read from the existing Secret, one per secretKeys entry. */}}
{{- define "api.secretEnv" -}}
{{- $secret := include "api.secretName" . -}}
{{- range .Values.secretKeys }}
- name: {{ . }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ . }}
{{- end -}}
{{- end -}}

{{/* What the API's pods and the migration Job's pod share. */}}
{{- define "api.podCommon" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.serviceAccountName }}
serviceAccountName: {{ . }}
{{- end }}
automountServiceAccountToken: false
enableServiceLinks: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
