//! Test support shared by the workspace's tests; a dev-dependency only, never
//! published.
//!
//! - [`git`]: the one git fixture helper — git as a fixed identity (or as the
//!   repository's config says) without the system config, init-and-commit-all,
//!   a bare remote to push to.
//! - [`recording`]: a GitHub stand-in on 127.0.0.1 that records requests and
//!   answers scripted faults.
//! - [`servers`]: Azurite, moto, a Docker distribution registry and an
//!   MLflow tracking server on 127.0.0.1, stopped by pid; objects uploaded
//!   with the clouds' Python SDKs, MLflow read back with its Python client.
//!
//! It depends on `serde_json` only: every test binary that uses it links it.
// Test support that cannot set up should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod git;
pub mod recording;
pub mod servers;
