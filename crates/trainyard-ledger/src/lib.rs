//! The run ledger and model registry of trainyard, and its artifact store.
//!
//! Everything is recorded in the project's own git repository under
//! `refs/trainyard/*` ([`GitLedger`]): no server to host, history is git's,
//! and CI syncs it with `git push`/`git fetch` ([`GitLedger::push`],
//! [`GitLedger::pull`]). Records are JSON blobs in commits written without
//! touching the work tree or the index; every ref update is a
//! compare-and-swap retried on a lost race, so concurrent writers never lose
//! a record. See `docs/steps/ledger.md` for the layout and guarantees.
//!
//! Model files go to an [`ArtifactStore`] (the `trainyard-store` crate,
//! re-exported here), content-addressed by BLAKE3 ([`LocalStore`] by
//! default, `.trainyard/artifacts`).

mod error;
mod float;
mod git;
mod id;
mod mlflow;
mod record;
mod sync;

use std::collections::BTreeMap;

pub use error::LedgerError;
pub use git::{GitLedger, LEDGER_REFS, REGISTRY_REF, RUNS_REF, detect_actor};
pub use mlflow::{MlflowCredentials, MlflowLedger};
pub use record::{
    AliasMove, CiInfo, Deployment, DeploymentKind, GitInfo, ModelVersion, Outcome, RunId, RunMode,
    RunRecord, TagChange, Timestamp,
};
// The artifact store moved to trainyard-store; these keep `trainyard_ledger::…` paths working.
pub use sync::{RefSync, SyncReport};
pub use trainyard_store::{
    ArtifactRef, ArtifactStore, DEFAULT_STORE_DIR, LocalStore, StoreError, digest_file, object_key,
    validate_digest,
};

/// The alias of the model version production runs: it follows the last
/// environment's promotions and is what challengers are compared with.
pub const CHAMPION: &str = "champion";
/// The alias of the latest full training on the default branch: what a gate
/// judges when no version is named.
pub const CHALLENGER: &str = "challenger";

/// The ledger: runs, the model registry and environments' deployment history.
///
/// Lists are oldest first (newest last). Names (models, aliases, tag keys,
/// environments) are letters, digits, `.`, `-` and `_`.
pub trait Ledger {
    /// Records a finished run. Its id must be new.
    fn append_run(&self, run: &RunRecord) -> Result<(), LedgerError>;

    /// The run with this id, or with the only id starting with it.
    fn run(&self, id: &str) -> Result<RunRecord, LedgerError>;

    /// Every recorded run's id, oldest first (cheap: reads no run).
    fn run_ids(&self) -> Result<Vec<RunId>, LedgerError>;

    /// Every recorded run, oldest first.
    fn runs(&self) -> Result<Vec<RunRecord>, LedgerError>;

    /// Registers `artifact` of run `run_id` as the next version (1, 2, 3…) of `model`.
    fn register(
        &self,
        model: &str,
        run_id: &RunId,
        artifact: &ArtifactRef,
    ) -> Result<ModelVersion, LedgerError>;

    /// The names of every registered model, sorted.
    fn models(&self) -> Result<Vec<String>, LedgerError>;

    /// Every version of `model`, oldest first, with its current tags and aliases.
    fn versions(&self, model: &str) -> Result<Vec<ModelVersion>, LedgerError>;

    /// The version `spec` names: `3`, `v3`, an alias (`champion`), or `latest`
    /// (the newest version, unless an alias is called that).
    fn resolve(&self, model: &str, spec: &str) -> Result<ModelVersion, LedgerError>;

    /// Where each alias of `model` points now.
    fn aliases(&self, model: &str) -> Result<BTreeMap<String, u64>, LedgerError>;

    /// Points `alias` of `model` at `version`, recording who, when and why.
    fn move_alias(
        &self,
        model: &str,
        alias: &str,
        version: u64,
        actor: &str,
        reason: &str,
    ) -> Result<AliasMove, LedgerError>;

    /// Every move of `alias` (or of every alias, when `None`) of `model`, oldest first.
    fn alias_history(
        &self,
        model: &str,
        alias: Option<&str>,
    ) -> Result<Vec<AliasMove>, LedgerError>;

    /// Sets tag `key` to `value` on a version of `model`, recording who, when and why.
    fn set_tag(
        &self,
        model: &str,
        version: u64,
        key: &str,
        value: &str,
        actor: &str,
        reason: &str,
    ) -> Result<TagChange, LedgerError>;

    /// Every tag change on `model`'s versions, oldest first.
    fn tag_history(&self, model: &str) -> Result<Vec<TagChange>, LedgerError>;

    /// Appends a deployment to environment `env`'s history.
    fn record_deployment(&self, env: &str, deployment: &Deployment) -> Result<(), LedgerError>;

    /// Environment `env`'s history, oldest first (the current one last); empty if none.
    fn deployments(&self, env: &str) -> Result<Vec<Deployment>, LedgerError>;

    /// The environments with a deployment history, sorted.
    fn environments(&self) -> Result<Vec<String>, LedgerError>;

    // ---- imports: records copied from another ledger, as they were ----------
    // Runs and deployments keep everything through `append_run` and
    // `record_deployment`; these keep what a live write would set anew.

    /// Records `version` with its own number, run, artifact and registration
    /// time. Its number must be the model's next one
    /// ([`LedgerError::ImportOutOfOrder`]); importing the same version again
    /// does nothing. Its `tags` and `aliases` are ignored: they come with
    /// [`Self::import_tag_change`] and [`Self::import_alias_move`].
    fn import_version(&self, version: &ModelVersion) -> Result<(), LedgerError>;

    /// Records an alias move with its own actor, time, reason and previous
    /// version, and points the alias at its version. The version must exist.
    fn import_alias_move(&self, moved: &AliasMove) -> Result<(), LedgerError>;

    /// Records a tag change with its own actor, time and reason, and sets the
    /// tag. The version must exist.
    fn import_tag_change(&self, change: &TagChange) -> Result<(), LedgerError>;
}
