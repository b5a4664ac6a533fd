//! `trainyard iac render --env E | --all [--target T]`: writes the
//! infrastructure code of environments from the templates, atomically.

use std::path::Path;

use trainyard_core::{Conclusion, Finding, Location, Report, StepError};
use trainyard_render::DriftKind;

use super::Step;
use crate::app::StepContext;
use crate::app::iac_plan::{self, summary, targets};
use crate::app::paths;
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

    // Every path is checked before the first write, so a refused one (a
    // symbolic link on the way out of the project) leaves the folder as it was.
    for path in plan.files.iter().map(|file| &file.path).chain(&stale) {
        paths::inside(&project.root, Path::new(path))?;
    }
    let mut written = 0;
    for file in &plan.files {
        let relative = Path::new(&file.path);
        if trainyard_core::fs::write_if_changed_within(
            &project.root,
            relative,
            file.contents.as_bytes(),
        )
        .map_err(|error| paths::containment_error(&project.root.join(relative), error))?
        {
            written += 1;
        }
    }
    for path in &stale {
        let relative = Path::new(path);
        trainyard_core::fs::remove_file_within(&project.root, relative)
            .map_err(|error| paths::containment_error(&project.root.join(relative), error))?;
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
