//! `trainyard iac render --env E | --all [--target T]`: writes the
//! infrastructure code of environments from the templates, atomically.

use std::fmt::Write;

use trainyard_core::{Conclusion, Finding, Location, Report, StepError};
use trainyard_render::{DriftKind, write_atomic};

use super::StepContext;
use super::iac_plan::{self, Plan};
use crate::cli::IacRenderArgs;

pub const STEP: &str = "iac render";

pub fn run(args: &IacRenderArgs, context: &StepContext) -> Result<Report, StepError> {
    if !args.selection.all && args.selection.environments.is_empty() {
        return Err(StepError::Usage(
            "say which environments to render: `--env NAME` (repeatable) or `--all`".to_owned(),
        ));
    }
    let project = context.project()?;
    let plan = iac_plan::plan(&project, &args.selection)?;

    // Generated files the manifest no longer renders (a removed environment or
    // target) go too, so the folder always matches the manifest.
    let stale = trainyard_render::compare(&project.root, &plan.files, &plan.scan_dirs)
        .map_err(|error| StepError::io("reading", &project.root, error))?
        .into_iter()
        .filter(|drift| drift.kind == DriftKind::Extra)
        .map(|drift| drift.path)
        .collect::<Vec<_>>();

    let mut written = 0;
    for file in &plan.files {
        let path = project.root.join(&file.path);
        if write_atomic(&path, &file.contents)
            .map_err(|error| StepError::io("writing", &path, error))?
        {
            written += 1;
        }
    }
    for path in &stale {
        let full = project.root.join(path);
        std::fs::remove_file(&full).map_err(|error| StepError::io("removing", &full, error))?;
    }

    let mut report = Report::new(
        STEP,
        Conclusion::Success,
        format!(
            "{} file(s) for {} ({}): {written} written, {} unchanged, {} stale removed",
            plan.files.len(),
            plan.environments.join(", "),
            targets(&plan),
            plan.files.len() - written,
            stale.len()
        ),
    )
    .with_output("files", plan.files.len().to_string())
    .with_output("written", written.to_string());
    for path in &stale {
        report.push_finding(
            Finding::notice(
                "iac/stale-removed",
                format!("removed {path}: the manifest no longer renders it"),
            )
            .at(Location::file(path.clone())),
        );
    }
    report.summary = summary(&plan);
    Ok(report)
}

pub fn targets(plan: &Plan) -> String {
    plan.targets
        .iter()
        .map(|target| target.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The names of every environment and the files, as Markdown.
pub fn summary(plan: &Plan) -> String {
    let mut text = String::from(
        "| environment | resource group | storage account | key vault | registry | online endpoint |\n|---|---|---|---|---|---|\n",
    );
    for (env, names) in &plan.names {
        let _ = writeln!(
            text,
            "| {env} | `{}` | `{}` | `{}` | `{}` | `{}` |",
            names.resource_group,
            names.storage_account,
            names.key_vault,
            names.container_registry,
            names.online_endpoint
        );
    }
    if !plan.overrides.is_empty() {
        let _ = writeln!(
            text,
            "\nTemplates from this repository: {}",
            plan.overrides
                .iter()
                .map(|path| format!("`{path}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    text
}

/// For `quickstart`: renders dev, staging and prod of the example, checks them,
/// then shows `iac check` catching a hand edit (neutral: the failure is the lesson).
pub fn quickstart_phase(context: &StepContext) -> Result<Vec<Report>, StepError> {
    let all = IacRenderArgs {
        selection: crate::cli::IacSelection {
            all: true,
            ..crate::cli::IacSelection::default()
        },
    };
    let rendered = run(&all, context)?;
    let check = super::iac_check::run(&crate::cli::IacCheckArgs::default(), context)?;

    let project = context.project()?;
    let output_dir = project
        .manifest
        .iac
        .as_ref()
        .map_or("infra", |iac| iac.output_dir.as_str());
    let Some(edited) = project.manifest.environments.last().and_then(|env| {
        [
            format!("{output_dir}/kubernetes/{}/deployment.yaml", env.name),
            format!("{output_dir}/terraform/{}/main.tf", env.name),
        ]
        .into_iter()
        .find(|path| project.root.join(path).is_file())
    }) else {
        return Ok(vec![rendered, check]);
    };
    let path = project.root.join(&edited);
    let original =
        std::fs::read_to_string(&path).map_err(|error| StepError::io("reading", &path, error))?;
    let hand_edit = format!("{original}# a hand edit someone forgot to put in trainyard.yaml\n");
    write_atomic(&path, &hand_edit).map_err(|error| StepError::io("writing", &path, error))?;
    let mut drift = super::iac_check::run(&crate::cli::IacCheckArgs::default(), context)?;
    write_atomic(&path, &original).map_err(|error| StepError::io("writing", &path, error))?;
    drift.title = format!(
        "a hand edit of {edited}, caught: {} finding(s), as expected",
        drift.findings.len()
    );
    drift.conclusion = Conclusion::Neutral;
    Ok(vec![rendered, check, drift])
}
