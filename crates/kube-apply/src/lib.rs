//! Server-side apply, inventory pruning, diff and wait against a Kubernetes cluster.
