//! Builds kustomize overlays with kustomize v5 semantics
