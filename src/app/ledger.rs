//! Opening the run ledger and registry, by one rule for every step: the
//! ledger is the project's git repository (`refs/trainyard/*`), and a
//! manifest that names another tracking backend is refused where it is
//! named, not silently ignored by some steps and refused by others.

use trainyard_core::manifest::{KeyPath, TrackingBackend};
use trainyard_core::{ConfigError, StepError};
use trainyard_ledger::{GitLedger, LedgerError};

use super::{Project, StepContext};

/// The ledger of a loaded project.
pub fn open(project: &Project) -> Result<GitLedger, StepError> {
    check_backend(project)?;
    open_repository(&project.root)
}

/// The ledger of the repository holding the manifest's folder, for steps
/// that need no manifest (`runs`, `model`, `ledger push|pull`): they work
/// with none, or with one that does not load (its errors are `config
/// check`'s to report), but a manifest that names another backend is
/// refused here as everywhere.
pub fn open_in(context: &StepContext) -> Result<GitLedger, StepError> {
    let ledger = open_repository(&context.project_root())?;
    if let Ok(project) = context.project() {
        check_backend(&project)?;
    }
    Ok(ledger)
}

/// Who acts: `GITHUB_ACTOR`, `BUILD_REQUESTEDFOR`, else git's user.
pub fn actor(context: &StepContext, ledger: &GitLedger) -> String {
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

/// Refuses a tracking backend trainyard does not record in, at its line (every
/// step that opens the ledger, and `config check`).
pub fn check_backend(project: &Project) -> Result<(), StepError> {
    if project.manifest.tracking.backend == TrackingBackend::Mlflow {
        // Only for pointing at the line; the manifest itself was already parsed.
        let source = std::fs::read_to_string(&project.manifest_file).unwrap_or_default();
        return Err(StepError::from(
            ConfigError::new(
                project.manifest_file.clone(),
                "unsupported-tracking",
                "`tracking.backend: mlflow` is not supported yet: runs are recorded in git",
            )
            .at_key(&source, &KeyPath::new(&["tracking", "backend"]))
            .with_help("remove `tracking` (or set `backend: git`) to record runs under refs/trainyard/ in this repository"),
        ));
    }
    Ok(())
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
    /// git ledger) while `compare` refused it: every step refuses it now.
    #[test]
    fn every_step_refuses_a_backend_it_does_not_record_in() {
        let dir = tempfile::tempdir().unwrap();
        let context = context_in(
            dir.path(),
            "version: 1\nproject:\n  name: demo\ntracking:\n  backend: mlflow\n",
        );
        let error = open_in(&context).unwrap_err();
        assert_eq!(error.exit_status(), trainyard_core::ExitStatus::Usage);
        assert!(error.to_string().contains("tracking.backend"), "{error}");
        let error = open(&context.project().unwrap()).unwrap_err();
        assert!(error.to_string().contains("tracking.backend"), "{error}");
    }

    #[test]
    fn steps_that_need_no_manifest_work_without_a_valid_one() {
        let dir = tempfile::tempdir().unwrap();
        let context = context_in(dir.path(), "project: demo\n");
        assert!(open_in(&context).is_ok());
    }
}
