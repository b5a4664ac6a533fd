//! `trainyard model get [NAME[@VERSION|@ALIAS]] [--env E] [-o DIR]`: downloads
//! a registered model version's files from the artifact store its run
//! recorded, each verified against its BLAKE3 digest; a mismatch writes
//! nothing (exit 3). On a fresh clone: `ledger pull`, then `model get`.

use std::fmt::Write as _;

use trainyard_core::{Conclusion, Report, StepError, markdown};
use trainyard_ledger::{CHAMPION, Ledger};

use super::Step;
use crate::app::ledger::{self, ledger_error};
use crate::app::{StepContext, store};
use crate::requests::ModelGetRequest;

const STEP: &str = Step::ModelGet.name();

pub fn run(request: &ModelGetRequest, context: &StepContext) -> Result<Report, StepError> {
    let project = context.project()?;
    let ledger = ledger::open(context, &project)?;
    let (model, spec) = target(request, &project)?;
    let version = ledger.resolve(&model, &spec).map_err(ledger_error)?;
    let run = ledger.run(version.run_id.as_str()).map_err(ledger_error)?;
    if run.artifacts.is_empty() {
        return Err(StepError::Usage(format!(
            "{model} v{} has no stored files: its run {} recorded none",
            version.version, run.id
        )));
    }
    let output = match &request.output {
        Some(output) => output.clone(),
        None => {
            crate::app::paths::Destination::in_project(&project.root, crate::app::paths::MODELS_DIR)
                .join(&model)
                .join(version.version.to_string())
                .prepare_dir()?
        }
    };
    let store = store::open_recorded(run.store.as_deref(), &project, context)?;
    store.get_all(&run.artifacts, &output)?;

    let bytes: u64 = run.artifacts.iter().map(|artifact| artifact.size).sum();
    let mut table = markdown::Table::new(["file", "bytes", "BLAKE3"]);
    for artifact in &run.artifacts {
        table.row([
            markdown::code(&artifact.path),
            artifact.size.to_string(),
            markdown::code(markdown::short_digest(&artifact.digest)),
        ]);
    }
    let mut summary = format!(
        "{} v{} (run {}) from {}, every file checked against its digest.\n\n",
        markdown::code_in_text(&model),
        version.version,
        markdown::code_in_text(run.id.as_str()),
        markdown::code_in_text(&store.location()),
    );
    summary.push_str(&table.render());
    if let Some(uri) = &run.model_uri {
        let _ = writeln!(
            summary,
            "\nDeployments fetch it from {}.",
            markdown::code_in_text(uri)
        );
    }
    Ok(Report::new(
        STEP,
        Conclusion::Success,
        format!(
            "{model} v{}: {} file(s), {bytes} bytes, verified, in {}",
            version.version,
            run.artifacts.len(),
            output.display()
        ),
    )
    .with_summary(summary)
    .with_output("model", model)
    .with_output("version", version.version.to_string())
    .with_output("dir", output.display().to_string())
    .with_output("uri", run.model_uri.clone().unwrap_or_default()))
}

/// The model and the version spec: `NAME@SPEC`, a bare `SPEC` of the
/// manifest's model, `--env E` (the version E runs), else the champion.
fn target(
    request: &ModelGetRequest,
    project: &crate::app::Project,
) -> Result<(String, String), StepError> {
    let manifest_model = || {
        project
            .manifest
            .model
            .as_ref()
            .map(|model| model.name.clone())
            .ok_or_else(|| {
                StepError::Usage(format!(
                    "{} declares no `model`; name one: `trainyard model get NAME@VERSION`",
                    project.manifest_file
                ))
            })
    };
    let (model, spec) = match request.target.as_deref() {
        Some(target) => match target.split_once('@') {
            Some((model, spec)) => (model.to_owned(), Some(spec.to_owned())),
            None if project
                .manifest
                .model
                .as_ref()
                .is_some_and(|model| model.name == target) =>
            {
                (target.to_owned(), None)
            }
            None => (manifest_model()?, Some(target.to_owned())),
        },
        None => (manifest_model()?, None),
    };
    let spec = match (spec, &request.env) {
        (Some(_), Some(env)) => {
            return Err(StepError::Usage(format!(
                "give a version or `--env {env}`, not both"
            )));
        }
        (Some(spec), None) => spec,
        (None, Some(env)) => {
            if project.manifest.environment(env).is_none() {
                return Err(StepError::Usage(format!(
                    "no environment `{env}` is declared under `environments` in {}",
                    project.manifest_file
                )));
            }
            env.clone()
        }
        (None, None) => CHAMPION.to_owned(),
    };
    Ok((model, spec))
}
