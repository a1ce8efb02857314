{{- define "helpers.port" -}}
{{- .Values.nested.inner.missing.port | int -}}
{{- end -}}
{{- define "helpers.wrap" -}}
port: {{ include "helpers.port" . }}
{{- end -}}
