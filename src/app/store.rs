//! The project's artifact store: `artifacts.store` in the manifest (an
//! object store or an OCI registry), else the local `.trainyard/artifacts`.
//! Credentials and endpoints come from the step's environment, never from
//! the manifest (docs/storage.md).

use trainyard_core::StepError;
use trainyard_store::ArtifactStore;

use super::{Project, StepContext};

/// The store the manifest names, opened with the step's environment.
pub fn open(project: &Project, context: &StepContext) -> Result<Box<dyn ArtifactStore>, StepError> {
    let url = project
        .manifest
        .artifacts
        .as_ref()
        .map(|artifacts| artifacts.store.as_str());
    trainyard_store::open_default(url, &project.root, &store_env(context)).map_err(StepError::from)
}

/// The store a run recorded (`None`: the project's local folder), so a
/// fresh clone fetches from where the run put its files even after the
/// manifest moved to another store.
pub fn open_recorded(
    recorded: Option<&str>,
    project: &Project,
    context: &StepContext,
) -> Result<Box<dyn ArtifactStore>, StepError> {
    trainyard_store::open_default(recorded, &project.root, &store_env(context))
        .map_err(StepError::from)
}

/// The store's URL as runs record it: `None` for the project's local folder.
pub fn recorded_url(project: &Project) -> Option<String> {
    project
        .manifest
        .artifacts
        .as_ref()
        .map(|artifacts| trainyard_store::redact(&artifacts.store))
}

pub(crate) fn store_env(context: &StepContext) -> trainyard_store::Env {
    context
        .env
        .iter()
        .fold(trainyard_store::Env::empty(), |env, (name, value)| {
            env.with(name, value)
        })
}
