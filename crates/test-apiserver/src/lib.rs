//! A small Kubernetes API-server emulator for kiln's tests
