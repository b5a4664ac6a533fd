//! Deployment gates and GitOps promotion.
//!
//! A gate turns a policy (`gates.<env>` in `trainyard.yaml`, read from the base
//! branch's committed tree, never from a PR's head) and the evidence about one
//! model version into a [`Verdict`]: every rule with what was observed, what was
//! required and whether it passed. Promotion writes the environment's desired
//! state, `deploy/<env>/release.yaml`, as a commit built with git2 on top of a
//! branch tip, so the user's work tree and index stay as they are
//! ([`promotion::commit_release`], which pushes it and builds it again when
//! another writer moved the branch meanwhile).
//!
//! This crate knows nothing of the ledger: the caller gathers the [`Evidence`].

mod error;
pub mod evaluate;
pub mod evidence;
pub mod gitops;
pub mod junit;
pub mod policy;
pub mod promotion;
pub mod release;
pub mod tags;
pub mod verdict;

pub use error::GateError;
pub use evaluate::evaluate;
pub use evidence::{Candidate, Champion, CheckState, CommitChecks, Evidence, PromotionOrder};
pub use release::{Release, ReleaseKind};
pub use verdict::{RuleOutcome, Verdict};
