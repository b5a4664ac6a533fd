//! `trainyard iac render --env E | --all [--target T]`: writes the
//! infrastructure code of environments from the templates, atomically.

use trainyard_core::{Conclusion, Finding, Location, Report, StepError};
use trainyard_render::{DriftKind, write_atomic};

use super::Step;
use crate::app::StepContext;
use crate::app::iac_plan::{self, summary, targets};
use crate::requests::IacRenderRequest;

pub fn run(request: &IacRenderRequest, context: &StepContext) -> Result<Report, StepError> {
    if !request.selection.all && request.selection.environments.is_empty() {
        return Err(StepError::Usage(
            "say which environments to render: `--env NAME` (repeatable) or `--all`".to_owned(),
        ));
    }
    let project = context.project()?;
    let plan = iac_plan::plan(&project, &request.selection)?;

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
        Step::IacRender.name(),
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
