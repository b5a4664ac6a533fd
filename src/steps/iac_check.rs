//! `trainyard iac check`: renders in memory and compares with what is
//! committed. Every drifted, missing or stale file is a finding; the unified
//! diffs are in the summary; any drift exits 1.

use std::fmt::Write;

use trainyard_core::{Conclusion, Finding, Location, Report, StepError};
use trainyard_render::DriftKind;

use super::Step;
use crate::app::StepContext;
use crate::app::iac_plan::{self, summary, targets};
use crate::requests::IacCheckRequest;

pub fn run(request: &IacCheckRequest, context: &StepContext) -> Result<Report, StepError> {
    let project = context.project()?;
    let plan = iac_plan::plan(&project, &request.selection)?;
    let drifts = trainyard_render::compare(&project.root, &plan.files, &plan.scan_dirs)
        .map_err(|error| StepError::io("reading", &project.root, error))?;

    let mut report = Report::new(
        Step::IacCheck.name(),
        Conclusion::Success,
        if drifts.is_empty() {
            format!(
                "{} file(s) for {} ({}) match the manifest",
                plan.files.len(),
                plan.environments.join(", "),
                targets(&plan)
            )
        } else {
            format!(
                "{} of {} generated file(s) drifted from the manifest; run `trainyard iac render --all` and commit the result",
                drifts.len(),
                plan.files.len()
            )
        },
    )
    .with_output("drifted", drifts.len().to_string());

    let mut diffs = String::new();
    for drift in &drifts {
        let (rule, message) = match drift.kind {
            DriftKind::Changed => (
                "iac/drift",
                "differs from what trainyard.yaml renders: edited by hand, or the manifest changed since the last render".to_owned(),
            ),
            DriftKind::Missing => (
                "iac/missing",
                "missing: trainyard.yaml renders this file".to_owned(),
            ),
            DriftKind::Extra => (
                "iac/extra",
                "generated earlier, but trainyard.yaml no longer renders it; delete it".to_owned(),
            ),
        };
        let location = Location::file(drift.path.clone());
        let location = match drift.line {
            Some(line) => location.at(line, None),
            None => location,
        };
        report.push_finding(Finding::error(rule, message).at(location));
        let _ = write!(
            diffs,
            "\n<details><summary><code>{}</code></summary>\n\n```diff\n{}```\n\n</details>\n",
            drift.path,
            capped(&drift.diff)
        );
    }
    report.summary = summary(&plan);
    if !diffs.is_empty() {
        report.summary.push_str("\n### Drift\n");
        report.summary.push_str(&diffs);
    }
    Ok(report)
}

/// Lines of one file's diff shown in the summary: enough to see what changed,
/// while a first `check` (every file missing) stays within CI summary limits.
const DIFF_LINES: usize = 120;

fn capped(diff: &str) -> String {
    let total = diff.lines().count();
    if total <= DIFF_LINES {
        return diff.to_owned();
    }
    let mut shown: String = diff
        .lines()
        .take(DIFF_LINES)
        .flat_map(|line| [line, "\n"])
        .collect();
    let _ = writeln!(
        shown,
        "… {} more line(s); `trainyard iac render` then `git diff` shows them all",
        total - DIFF_LINES
    );
    shown
}
