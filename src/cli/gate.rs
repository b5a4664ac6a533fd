//! `trainyard gate`, `promote`, `rollback` and `status`: deployment gates and
//! the environments' desired state in git.

use std::path::PathBuf;

use clap::Args;

use crate::requests::{
    ChangeRequest, DEFAULT_REMOTE, GateRequest, PromoteRequest, RollbackRequest, StatusRequest,
};

#[derive(Debug, Args)]
pub struct GateArgs {
    /// The environment to judge entry into (declared under `environments`).
    #[arg(long, env = "TRAINYARD_ENV")]
    pub env: String,
    /// The model version: `NAME@VERSION`, `NAME@ALIAS`, or a bare `VERSION`/`ALIAS` of the
    /// manifest's model; the `challenger` by default.
    #[arg(long, env = "TRAINYARD_MODEL")]
    pub model: Option<String>,
    /// A JSON report of `trainyard data validate` or `trainyard data drift`
    /// (`--format json` output) for the `require-data` rule; repeatable.
    #[arg(
        long = "data-report",
        env = "TRAINYARD_DATA_REPORT",
        value_delimiter = ','
    )]
    pub data_reports: Vec<PathBuf>,
    /// Also write the verdict as JSON to this file.
    #[arg(long, env = "TRAINYARD_VERDICT")]
    pub verdict: Option<PathBuf>,
}

/// How a desired-state change reaches the target branch.
#[derive(Debug, Args)]
pub struct ChangeArgs {
    /// Commit straight onto the target branch instead of a review branch.
    #[arg(long, env = "TRAINYARD_DIRECT")]
    pub direct: bool,
    /// The remote to push to (when the clone has it).
    #[arg(long, env = "TRAINYARD_REMOTE", default_value = DEFAULT_REMOTE)]
    pub remote: String,
    /// Write the commit locally and push nothing.
    #[arg(long, env = "TRAINYARD_NO_PUSH")]
    pub no_push: bool,
}

#[derive(Debug, Args)]
pub struct PromoteArgs {
    #[command(flatten)]
    pub gate: GateArgs,
    #[command(flatten)]
    pub change: ChangeArgs,
    /// Why, for the ledger and the commit message.
    #[arg(long, env = "TRAINYARD_REASON")]
    pub reason: Option<String>,
    /// Enter the environment although the version was not deployed to the
    /// one before it (or not for its `min-soak`): for a hotfix. Needs
    /// --reason, which is recorded in the ledger, release.yaml and the PR.
    #[arg(long = "skip-order", env = "TRAINYARD_SKIP_ORDER")]
    pub skip_order: bool,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The environment to roll back.
    #[arg(long, env = "TRAINYARD_ENV")]
    pub env: String,
    /// The model version to return to; the entry before the current one by default.
    #[arg(long, env = "TRAINYARD_TO")]
    pub to: Option<u64>,
    /// Why: recorded in the ledger, the commit and release.yaml.
    #[arg(long, env = "TRAINYARD_REASON")]
    pub reason: String,
    #[command(flatten)]
    pub change: ChangeArgs,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Record in the ledger what the default branch deploys: each environment
    /// whose `release.yaml` changed since the ledger's last deployment gets
    /// its deployment recorded and its aliases moved (run on the default branch
    /// after a merge; running it again records nothing).
    #[arg(long, env = "TRAINYARD_RECORD")]
    pub record: bool,
    /// The remote to push the ledger to after recording (when the clone has it).
    #[arg(long, env = "TRAINYARD_REMOTE", default_value = DEFAULT_REMOTE)]
    pub remote: String,
    /// Record locally and push nothing.
    #[arg(long, env = "TRAINYARD_NO_PUSH")]
    pub no_push: bool,
}

impl From<GateArgs> for GateRequest {
    fn from(args: GateArgs) -> Self {
        Self {
            env: args.env,
            model: args.model,
            data_reports: args.data_reports,
            verdict: args.verdict,
            skip_order: None,
        }
    }
}

impl From<ChangeArgs> for ChangeRequest {
    fn from(args: ChangeArgs) -> Self {
        Self {
            direct: args.direct,
            remote: args.remote,
            no_push: args.no_push,
        }
    }
}

impl From<PromoteArgs> for PromoteRequest {
    fn from(args: PromoteArgs) -> Self {
        Self {
            gate: args.gate.into(),
            change: args.change.into(),
            reason: args.reason,
            skip_order: args.skip_order,
        }
    }
}

impl From<RollbackArgs> for RollbackRequest {
    fn from(args: RollbackArgs) -> Self {
        Self {
            env: args.env,
            to: args.to,
            reason: args.reason,
            change: args.change.into(),
        }
    }
}

impl From<StatusArgs> for StatusRequest {
    fn from(args: StatusArgs) -> Self {
        Self {
            record: args.record,
            remote: args.remote,
            no_push: args.no_push,
        }
    }
}
