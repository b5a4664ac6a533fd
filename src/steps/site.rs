//! `trainyard site build`: the ledger, the kept reports and the saved data
//! profiles as a static web site (`app::site`), written where `-o` points or
//! under `.trainyard/site`; a page is rewritten only when it changed.

use trainyard_core::{Conclusion, Report, StepError};

use super::Step;
use crate::app::StepContext;
use crate::app::kept_reports;
use crate::app::paths::{Destination, PROFILES_DIR, SITE_DIR};
use crate::app::site;
use crate::requests::SiteBuildRequest;

pub fn build(request: &SiteBuildRequest, context: &StepContext) -> Result<Report, StepError> {
    let ledger = crate::app::ledger::open_in(context)?;
    let root = context.project_root();
    // The site works without a manifest that loads (as `runs list` does);
    // with one it names the project, orders the environments, picks the model.
    let project = context.project().ok();
    let environments: Vec<String> = project
        .as_ref()
        .map(|p| {
            p.manifest
                .environments
                .iter()
                .map(|e| e.name.clone())
                .collect()
        })
        .unwrap_or_default();
    let reports_dir = request
        .reports_dir
        .clone()
        .or_else(|| kept_reports::reports_dir(&context.env));
    let reports = match &reports_dir {
        Some(dir) => kept_reports::load_reports(dir)?,
        None => Vec::new(),
    };
    let mut inputs = site::gather(&ledger, &environments, &root.join(PROFILES_DIR), reports)?;
    if let Some(project) = &project {
        inputs.project = Some(project.manifest.project.name.clone());
        inputs.model = project.manifest.model.as_ref().map(|m| m.name.clone());
    }
    let dir = Destination::chosen_or(request.output.as_deref(), &root, SITE_DIR);
    let folder = dir.prepare_dir()?;
    let mut writer = site::Writer::new(&dir);
    site::render(&inputs, &mut |page| writer.put(&page))?;
    let written = writer.written;
    let pages = written.changed.len() + written.unchanged;
    let title = format!(
        "site of {} run(s) in {}: {} page(s) written, {} unchanged",
        inputs.runs.len(),
        folder.display(),
        written.changed.len(),
        written.unchanged
    );
    Ok(
        Report::new(Step::SiteBuild.name(), Conclusion::Success, title)
            .with_output("dir", folder.display().to_string())
            .with_output("pages", pages.to_string())
            .with_output("written", written.changed.len().to_string())
            .with_data(serde_json::json!({
                "dir": folder,
                "pages": pages,
                "written": written.changed,
                "unchanged": written.unchanged,
            })),
    )
}
