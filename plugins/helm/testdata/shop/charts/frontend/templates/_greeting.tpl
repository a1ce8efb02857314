{{- define "frontend.greeting" -}}child greeting{{- end -}}
