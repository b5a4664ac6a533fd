//! Opening the run ledger and registry, by one rule for every step: the
//! backend the manifest's `tracking` names. With `backend: git` (the
//! default) everything is recorded in the project's git repository
//! (`refs/trainyard/*`); with `backend: mlflow` runs, versions, aliases and
//! tags go to the MLflow server, and what MLflow does not keep (every alias
//! move, environments' deployment history) stays in git beside it.
//!
//! Steps read and write through the [`Ledger`] trait ([`ProjectLedger`]
//! implements it over the active backend); what only git does (`push`, `pull`,
//! the stale locks it recovered from) goes to [`ProjectLedger::git`].

use std::collections::BTreeMap;

use trainyard_core::StepError;
use trainyard_core::manifest::{TrackingBackend, mlflow_endpoint};
use trainyard_ledger::{
    AliasMove, ArtifactRef, Deployment, GitLedger, Ledger, LedgerError, MlflowCredentials,
    MlflowLedger, ModelVersion, RunId, RunRecord, TagChange,
};

use super::{Project, StepContext};

/// The project's ledger: the backend its manifest names, and its git
/// repository's ledger for what stays in git.
pub struct ProjectLedger {
    git: GitLedger,
    backend: Backend,
}

enum Backend {
    Git,
    /// The MLflow tracking server at `endpoint` (its REST base).
    Mlflow {
        endpoint: String,
        ledger: Box<dyn Ledger>,
    },
}

impl std::fmt::Debug for ProjectLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut debug = f.debug_struct("ProjectLedger");
        debug.field("git", &self.git);
        if let Backend::Mlflow { endpoint, .. } = &self.backend {
            debug.field("mlflow", endpoint);
        }
        debug.finish()
    }
}

impl ProjectLedger {
    /// The ledger in the project's git repository: the whole ledger with
    /// `backend: git`; with MLflow, every alias move and the deployments
    /// (what `ledger push|pull` syncs).
    pub fn git(&self) -> &GitLedger {
        &self.git
    }

    /// The backend runs and the registry are recorded in.
    pub fn records(&self) -> &dyn Ledger {
        match &self.backend {
            Backend::Git => &self.git,
            Backend::Mlflow { ledger, .. } => ledger.as_ref(),
        }
    }

    /// What the git ledger recovered from (stale locks), one sentence each.
    pub fn recoveries(&self) -> Vec<String> {
        self.git.recoveries()
    }

    /// The repository's work tree.
    pub fn root(&self) -> &std::path::Path {
        self.git.root()
    }
}

/// Every read and write goes to the active backend.
impl Ledger for ProjectLedger {
    fn append_run(&self, run: &RunRecord) -> Result<(), LedgerError> {
        self.records().append_run(run)
    }
    fn run(&self, id: &str) -> Result<RunRecord, LedgerError> {
        self.records().run(id)
    }
    fn run_ids(&self) -> Result<Vec<RunId>, LedgerError> {
        self.records().run_ids()
    }
    fn runs(&self) -> Result<Vec<RunRecord>, LedgerError> {
        self.records().runs()
    }
    fn register(
        &self,
        model: &str,
        run_id: &RunId,
        artifact: &ArtifactRef,
    ) -> Result<ModelVersion, LedgerError> {
        self.records().register(model, run_id, artifact)
    }
    fn models(&self) -> Result<Vec<String>, LedgerError> {
        self.records().models()
    }
    fn versions(&self, model: &str) -> Result<Vec<ModelVersion>, LedgerError> {
        self.records().versions(model)
    }
    fn resolve(&self, model: &str, spec: &str) -> Result<ModelVersion, LedgerError> {
        self.records().resolve(model, spec)
    }
    fn aliases(&self, model: &str) -> Result<BTreeMap<String, u64>, LedgerError> {
        self.records().aliases(model)
    }
    fn move_alias(
        &self,
        model: &str,
        alias: &str,
        version: u64,
        actor: &str,
        reason: &str,
    ) -> Result<AliasMove, LedgerError> {
        self.records()
            .move_alias(model, alias, version, actor, reason)
    }
    fn alias_history(
        &self,
        model: &str,
        alias: Option<&str>,
    ) -> Result<Vec<AliasMove>, LedgerError> {
        self.records().alias_history(model, alias)
    }
    fn set_tag(
        &self,
        model: &str,
        version: u64,
        key: &str,
        value: &str,
        actor: &str,
        reason: &str,
    ) -> Result<TagChange, LedgerError> {
        self.records()
            .set_tag(model, version, key, value, actor, reason)
    }
    fn tag_history(&self, model: &str) -> Result<Vec<TagChange>, LedgerError> {
        self.records().tag_history(model)
    }
    fn record_deployment(&self, env: &str, deployment: &Deployment) -> Result<(), LedgerError> {
        self.records().record_deployment(env, deployment)
    }
    fn deployments(&self, env: &str) -> Result<Vec<Deployment>, LedgerError> {
        self.records().deployments(env)
    }
    fn environments(&self) -> Result<Vec<String>, LedgerError> {
        self.records().environments()
    }
    fn import_version(&self, version: &ModelVersion) -> Result<(), LedgerError> {
        self.records().import_version(version)
    }
    fn import_alias_move(&self, moved: &AliasMove) -> Result<(), LedgerError> {
        self.records().import_alias_move(moved)
    }
    fn import_tag_change(&self, change: &TagChange) -> Result<(), LedgerError> {
        self.records().import_tag_change(change)
    }
}

/// The ledger of a loaded project.
pub fn open(context: &StepContext, project: &Project) -> Result<ProjectLedger, StepError> {
    let git = open_repository(&project.root)?;
    with_backend(context, project, git)
}

/// The ledger of the repository holding the manifest's folder, for steps
/// that need no manifest (`runs`, `model`, `ledger push|pull`): they work
/// with none (the git ledger), or with one that does not load (its errors
/// are `config check`'s to report); a manifest that loads names the backend.
pub fn open_in(context: &StepContext) -> Result<ProjectLedger, StepError> {
    let git = open_repository(&context.project_root())?;
    match context.project() {
        Ok(project) => with_backend(context, &project, git),
        // A manifest that may name MLflow but does not load: its error, not
        // the git ledger shown as if it were the project's.
        Err(error) if names_mlflow(&context.manifest_path) => Err(error),
        Err(_) => Ok(ProjectLedger {
            git,
            backend: Backend::Git,
        }),
    }
}

fn names_mlflow(manifest: &std::path::Path) -> bool {
    std::fs::read_to_string(manifest).is_ok_and(|source| source.contains("mlflow"))
}

fn with_backend(
    context: &StepContext,
    project: &Project,
    git: GitLedger,
) -> Result<ProjectLedger, StepError> {
    let tracking = &project.manifest.tracking;
    let backend = match (tracking.backend, &tracking.uri) {
        (TrackingBackend::Git, _) => Backend::Git,
        (TrackingBackend::Mlflow, Some(uri)) => {
            // The loader checked the URI at its line; this cannot fail then.
            let endpoint = mlflow_endpoint(uri).map_err(StepError::Usage)?;
            // A second handle on the same repository: the history MLflow lacks.
            let history = GitLedger::open(git.root()).map_err(ledger_error)?;
            let ledger =
                connect_mlflow(context, &endpoint, history, &project.manifest.project.name)?;
            Backend::Mlflow { endpoint, ledger }
        }
        (TrackingBackend::Mlflow, None) => {
            return Err(StepError::Usage(
                "`tracking.backend: mlflow` needs `tracking.uri`".to_owned(),
            ));
        }
    };
    Ok(ProjectLedger { git, backend })
}

/// The git ledger of the repository holding the manifest's folder, whatever
/// the backend (`ledger export|import`: the project's side is always git).
pub fn open_git(context: &StepContext) -> Result<GitLedger, StepError> {
    open_repository(&context.project_root())
}

/// The tracking URI of a manifest that loads and names `backend: mlflow`.
pub fn mlflow_uri(context: &StepContext) -> Option<String> {
    let project = context.project().ok()?;
    let tracking = &project.manifest.tracking;
    (tracking.backend == TrackingBackend::Mlflow)
        .then(|| tracking.uri.clone())
        .flatten()
}

/// The ledger on the MLflow tracking server at `endpoint` (a REST endpoint,
/// see `trainyard_core::manifest::mlflow_endpoint`) for project `project`
/// (its experiment), credentials from the step's environment
/// (`MLFLOW_TRACKING_TOKEN`, or `MLFLOW_TRACKING_USERNAME`/`PASSWORD`), every
/// alias move, tag change and deployment kept in `history`. Nothing is sent
/// before the first read or write.
pub fn connect_mlflow(
    context: &StepContext,
    endpoint: &str,
    history: GitLedger,
    project: &str,
) -> Result<Box<dyn Ledger>, StepError> {
    let credentials = MlflowCredentials::from_env(|name| context.env.get(name).map(str::to_owned));
    let ledger = MlflowLedger::connect(endpoint, credentials, history)
        .map_err(ledger_error)?
        .with_project(project);
    Ok(Box::new(ledger))
}

/// Who acts: `GITHUB_ACTOR`, `BUILD_REQUESTEDFOR`, else git's user.
pub fn actor(context: &StepContext, ledger: &ProjectLedger) -> String {
    trainyard_ledger::detect_actor(
        |name| context.env.get(name).map(str::to_owned),
        ledger.root(),
    )
}

/// A ledger failure as a step error: something the user named that does not
/// exist is a usage error (exit 2), the rest is the environment (exit 3).
#[allow(clippy::needless_pass_by_value)] // by value, so it reads `.map_err(ledger_error)`
pub fn ledger_error(error: LedgerError) -> StepError {
    if let LedgerError::ModelNotFound { model, known } = &error
        && known.is_empty()
    {
        return StepError::Usage(empty_registry(model));
    }
    if error.is_usage() {
        StepError::Usage(error.to_string())
    } else {
        StepError::Environment(error.to_string())
    }
}

/// What an empty registry means and what to do: nothing registered here yet.
pub fn empty_registry(model: &str) -> String {
    format!(
        "no model `{model}` in the registry: no version is registered in this clone yet. \
         A full training run on the default branch registers one (`trainyard train` there, \
         or the CI job on a push to it); if it was registered elsewhere, run \
         `trainyard ledger pull` first"
    )
}

fn open_repository(root: &std::path::Path) -> Result<GitLedger, StepError> {
    // Absolute, so a "not a repository" message names a real folder, not `.`.
    let root = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
    GitLedger::open(root).map_err(ledger_error)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn context_in(dir: &std::path::Path, manifest: &str) -> StepContext {
        git2::Repository::init(dir).unwrap();
        let path = dir.join("trainyard.yaml");
        std::fs::write(&path, manifest).unwrap();
        StepContext::new(
            trainyard_ci::Env::default(),
            path,
            Box::new(crate::publish::CiForgeEvidence::default()),
        )
    }

    /// `runs list` once accepted `tracking.backend: mlflow` (and showed the
    /// git ledger) while `compare` refused it: a manifest naming MLflow is
    /// never read as the git ledger, even by the steps that need no manifest.
    #[test]
    fn an_mlflow_manifest_is_never_shown_as_the_git_ledger() {
        let dir = tempfile::tempdir().unwrap();
        let context = context_in(
            dir.path(),
            "version: 1\nproject:\n  name: demo\ntracking:\n  backend: mlflow\n",
        );
        let error = open_in(&context).unwrap_err();
        assert_eq!(error.exit_status(), trainyard_core::ExitStatus::Usage);
        assert!(error.to_string().contains("tracking.uri"), "{error}");
    }

    #[test]
    fn steps_that_need_no_manifest_work_without_a_valid_one() {
        let dir = tempfile::tempdir().unwrap();
        let context = context_in(dir.path(), "project: demo\n");
        assert!(open_in(&context).is_ok());
    }
}
