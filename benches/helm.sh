#!/usr/bin/env bash
# Helm rendering, whole process, with hyperfine: the example chart and a
# generated chart of 60 templates, each against rendering the same output
# through the directory plugin (the floor: reading and writing manifests).
# There is no helm binary here, so the figures are absolute and relative to
# that floor. Builds kiln in release mode first.
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/kiln.sh  # $kiln: KILN=path/to/kiln, else a release build
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export KILN_CACHE_DIR="$work/cache"

# A chart with N templates, each a Deployment and a Service using helpers,
# ranges, conditionals and toYaml.
gen_chart() { # dir n
  local dir=$1 n=$2
  mkdir -p "$dir/templates"
  printf 'apiVersion: v2\nname: gen\nversion: 1.0.0\n' > "$dir/Chart.yaml"
  {
    echo "replicas: 2"
    echo "image: {repository: ghcr.io/example/app, tag: \"1.0\"}"
    echo "env: {LOG_LEVEL: info, REGION: eu-west-1, FEATURE_X: \"true\"}"
    echo "resources: {requests: {cpu: 100m, memory: 128Mi}}"
  } > "$dir/values.yaml"
  cat > "$dir/templates/_helpers.tpl" <<'TPL'
{{- define "gen.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | trunc 63 }}
{{- end }}
TPL
  for i in $(seq 1 "$n"); do
    cat > "$dir/templates/svc$i.yaml" <<TPL
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-svc$i
  labels:
    {{- include "gen.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicas }}
  template:
    spec:
      containers:
      - name: app
        image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
        env:
        {{- range \$k, \$v := .Values.env }}
        - name: {{ \$k }}
          value: {{ \$v | quote }}
        {{- end }}
        {{- with .Values.resources }}
        resources:
          {{- toYaml . | nindent 10 }}
        {{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}-svc$i
  labels:
    {{- include "gen.labels" . | nindent 4 }}
spec:
  ports:
  - port: {{ add 8000 $i }}
TPL
  done
}

gen_chart "$work/gen" 60
for chart in examples/webapp "$work/gen"; do
  name=$(basename "$chart")
  mkdir -p "$work/plain-$name"
  "$kiln" render "$chart" --release-name bench -o yaml > "$work/plain-$name/all.yaml"
  templates=$(find "$chart/templates" -name '*.yaml' | wc -l)
  echo "== $name: $templates templates, $(grep -c '^kind:' "$work/plain-$name/all.yaml") documents"
  hyperfine -N --warmup 3 --runs 20 --export-json "$work/$name.json" \
    -n "helm plugin" "$kiln render --no-cache $chart --release-name bench" \
    -n "directory plugin, same output" "$kiln render --no-cache $work/plain-$name"
  python3 - "$work/$name.json" "$templates" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
n = int(sys.argv[2])
helm, plain = r[0]["mean"], r[1]["mean"]
print(f"per template: {helm / n * 1e3:.3f} ms; helm / directory: {helm / plain:.2f}x")
PY
done
