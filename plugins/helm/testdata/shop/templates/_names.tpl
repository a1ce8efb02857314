{{- define "shop.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- define "frontend.greeting" -}}parent greeting wins{{- end -}}
{{- define "shop.unset" -}}[{{ .Values.nothingHere }}]{{- end -}}
