{{- define "deps.name" -}}{{ .Chart.Name }}-{{ .Release.Name }}{{- end -}}
