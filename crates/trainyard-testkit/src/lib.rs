//! Test support shared by the workspace's tests; a dev-dependency only, never
//! published.
//!
//! - [`git`]: the one git fixture helper — git as a fixed identity (or as the
//!   repository's config says) without the system config, init-and-commit-all,
//!   a bare remote to push to.
//! - [`recording`]: a GitHub stand-in on 127.0.0.1 that records requests and
//!   answers scripted faults.
//! - [`azure_devops`]: an Azure DevOps stand-in on 127.0.0.1 that checks each
//!   request against the REST reference's shapes (api-version 7.1), keeps
//!   statuses, threads, pull requests and runs, and answers scripted faults.
//! - [`servers`]: Azurite, moto, a Docker distribution registry and an
//!   MLflow tracking server on 127.0.0.1, stopped by pid; objects uploaded
//!   with the clouds' Python SDKs, MLflow read back with its Python client.
//!
//! It depends on `serde_json` only: every test binary that uses it links it.
// Test support that cannot set up should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod azure_devops;
pub mod git;
pub mod recording;
pub mod servers;
mod wire;
