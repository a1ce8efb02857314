//! Commit rendered manifests to an environment branch of a git repository.
