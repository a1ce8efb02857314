//! `kiln agent` against a real kube-apiserver and etcd (`kiln-test-cluster`), reading real git
//! repositories over `file://`.
//!
//! Each test makes its own repository and namespace, starts an agent in-process (the library's
//! `Agent`, as `kiln agent` runs it) and watches the cluster change.

#![allow(
    unreachable_pub,
    reason = "helpers shared by the test modules of one binary"
)]

mod cache;
mod deploy;
mod harness;
mod loop_tests;
mod shard;
mod webhook;
