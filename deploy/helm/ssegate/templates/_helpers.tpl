{{/*
ssegate.fullname: the prefix of every object's name. A release called
"ssegate" (helm install ssegate …) gives the names of deploy/kubernetes:
ssegate-gateway, ssegate-publisher, ssegate-config.
*/}}
{{- define "ssegate.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* ssegate.selectorLabels: immutable labels a Deployment selects on; call with (dict "root" $ "component" "gateway"). */}}
{{- define "ssegate.selectorLabels" -}}
app.kubernetes.io/name: ssegate
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end -}}

{{/* ssegate.labels: every object's labels; same argument as selectorLabels. */}}
{{- define "ssegate.labels" -}}
{{ include "ssegate.selectorLabels" . }}
app.kubernetes.io/part-of: ssegate
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* ssegate.secretName: the Secret holding SSEGATE_REDIS_URL, SSEGATE_PUBLISH_TOKENS and SSEGATE_JWT_SECRET. */}}
{{- define "ssegate.secretName" -}}
{{- if .Values.secrets.existingSecret -}}
{{- .Values.secrets.existingSecret -}}
{{- else -}}
{{- printf "%s-secrets" (include "ssegate.fullname" .) -}}
{{- end -}}
{{- end -}}
