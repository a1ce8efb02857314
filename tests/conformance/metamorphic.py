#!/usr/bin/env python3
"""Differential check of the overlay plugin against `kubectl kustomize`.

Wraps the target of every kustomize conformance case (expect: output) in a
new kustomization that adds transformations (prefixes, namespaces, labels,
annotations, images, replicas, generators, JSON and strategic merge patches),
builds it with both `kubectl kustomize` and `kiln render`, and reports every
variant where kubectl succeeds and the outputs differ as data. Finds
behaviour the listed cases do not pin down.

Usage: tests/conformance/metamorphic.py KILN [VARIANT...]
       (the suite is read from ../shared/conformance/kustomize; needs kubectl
       and PyYAML)

Known differences: `labels` with `includeTemplates` reaches StatefulSet
volumeClaimTemplates in kubectl's kustomize v5.5.0 but not in the newer
kustomize the conformance suite comes from (`includeVolumeClaimTemplates`);
kiln follows the suite.
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SUITE = os.path.join(HERE, "..", "..", "..", "shared", "conformance", "kustomize", "cases")

VARIANTS = {
    "prefix_ns": "namePrefix: x-\nnamespace: ns1\n",
    "labels": "commonLabels:\n  w: one\ncommonAnnotations:\n  a: b\n",
    "labels2": "labels:\n- pairs:\n    team: t\n  includeSelectors: true\n  includeTemplates: true\nnameSuffix: -s\n",
    "images": "images:\n- name: nginx\n  newTag: 9.9\n- name: busybox\n  newName: my/busybox\nreplicas:\n- name: deploy\n  count: 7\n",
    "gen": "configMapGenerator:\n- name: extra\n  literals:\n  - k=v\nsecretGenerator:\n- name: sec\n  literals:\n  - p=q\nnamePrefix: p-\n",
    "patch_all": "patches:\n- target:\n    kind: Deployment\n  patch: |-\n    - op: add\n      path: /metadata/annotations/patched\n      value: 'yes'\n- target:\n    kind: ConfigMap\n  patch: |-\n    apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: ignored\n      labels:\n        smp: 'yes'\n",
    "ns_sort": "namespace: other\nsortOptions:\n  order: legacy\nnameSuffix: -z\ncommonLabels:\n  app.kubernetes.io/part-of: x\n",
    "combo": "namePrefix: pre-\nnameSuffix: -suf\nnamespace: combo\ncommonLabels:\n  c: d\nimages:\n- name: nginx\n  newName: reg/nginx\n  digest: sha256:0000000000000000000000000000000000000000000000000000000000000000\n",
    "smp_all": "patches:\n- target:\n    kind: Deployment\n  patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: ignored\n    spec:\n      template:\n        metadata:\n          labels:\n            patched: smp\n- target:\n    kind: Service\n  patch: |-\n    - op: replace\n      path: /spec/type\n      value: NodePort\n",
    "replacements": "replacements:\n- source:\n    kind: Deployment\n    fieldPath: metadata.name\n  targets:\n  - select:\n      kind: Service\n    fieldPaths:\n    - metadata.annotations.dep\n    options:\n      create: true\n  - select:\n      kind: ConfigMap\n    fieldPaths:\n    - data.dep\n    options:\n      create: true\n",
    "generated_refs": "namePrefix: g-\nconfigMapGenerator:\n- name: extra\n  behavior: create\n  literals:\n  - k=v\npatches:\n- target:\n    kind: Deployment\n  patch: |-\n    - op: add\n      path: /spec/template/spec/volumes\n      value: [{name: extra, configMap: {name: extra}}]\n",
}


# Variants that need more than one file: {relative path: text}, with the
# wrapper's kustomization at "kustomization.yaml".
FILE_VARIANTS = {
    "component": {
        "kustomization.yaml": "resources:\n- ../{target}\ncomponents:\n- comp\n",
        "comp/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nnamePrefix: c-\ncommonLabels:\n  comp: 'yes'\npatches:\n- target:\n    kind: Deployment\n  patch: |-\n    - op: add\n      path: /metadata/annotations/comp\n      value: 'yes'\n",
    },
    "two_layers": {
        "kustomization.yaml": "resources:\n- inner\nnamePrefix: outer-\ncommonLabels:\n  layer: outer\n",
        "inner/kustomization.yaml": "resources:\n- ../../{target}\nnameSuffix: -inner\nnamespace: inner\n",
    },
}


def variant_files(name, target):
    if name in FILE_VARIANTS:
        return {p: t.replace("{target}", target) for p, t in FILE_VARIANTS[name].items()}
    return {"kustomization.yaml": "resources:\n- ../%s\n%s" % (target, VARIANTS[name])}


def main():
    kiln = os.path.abspath(sys.argv[1])
    chosen = sys.argv[2:] or list(VARIANTS) + list(FILE_VARIANTS)
    total = differ = 0
    for case in sorted(glob.glob(os.path.join(SUITE, "*"))):
        meta = yaml.safe_load(open(os.path.join(case, "case.yaml")))
        if meta.get("expect") != "output":
            continue
        for name in chosen:
            work = tempfile.mkdtemp()
            try:
                shutil.copytree(os.path.join(case, "input"), os.path.join(work, "input"), symlinks=True)
                wrap = os.path.join(work, "input", "zzwrap")
                for rel, text in variant_files(name, meta["target"]).items():
                    os.makedirs(os.path.dirname(os.path.join(wrap, rel)), exist_ok=True)
                    with open(os.path.join(wrap, rel), "w") as f:
                        f.write(text)
                want = subprocess.run(["kubectl", "kustomize", wrap], capture_output=True, text=True)
                if want.returncode != 0:
                    continue
                total += 1
                got = subprocess.run([kiln, "render", "--no-cache", "zzwrap"],
                                     cwd=os.path.join(work, "input"), capture_output=True, text=True)
                same = got.returncode == 0 and \
                    list(yaml.safe_load_all(want.stdout)) == list(yaml.safe_load_all(got.stdout))
                if not same:
                    differ += 1
                    print("DIFF %s %s %s" % (os.path.basename(case), name, got.stderr.strip()[:300]))
            finally:
                shutil.rmtree(work)
    print("%d variants, %d differ" % (total, differ))


if __name__ == "__main__":
    main()
