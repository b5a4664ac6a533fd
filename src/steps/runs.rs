//! `trainyard runs list|show`: the runs recorded in the ledger.

use std::fmt::Write;

use trainyard_core::markdown::{self, MISSING, cell, code};
use trainyard_core::{Conclusion, Report, StepError};
use trainyard_ledger::{Ledger, RunRecord};

use super::Step;
use crate::app::StepContext;
use crate::app::ledger::{self, ledger_error};
use crate::requests::{RunsListRequest, RunsShowRequest};

pub fn list(request: &RunsListRequest, context: &StepContext) -> Result<Report, StepError> {
    const STEP: &str = Step::RunsList.name();
    let ledger = ledger::open_in(context)?;
    let ids = ledger.run_ids().map_err(ledger_error)?;
    if ids.is_empty() {
        return Ok(Report::new(
            STEP,
            Conclusion::Neutral,
            "no runs recorded yet (run `trainyard train`, or `trainyard ledger pull` to fetch the remote's)",
        )
        .with_data(serde_json::json!([])));
    }
    // Newest first; only the shown runs are read.
    let shown: Vec<RunRecord> = ids
        .iter()
        .rev()
        .take(request.limit)
        .map(|id| ledger.run(id.as_str()))
        .collect::<Result<_, _>>()
        .map_err(ledger_error)?;
    let mut summary = String::from(
        "| run | mode | outcome | metrics | commit | branch | event | duration |\n|---|---|---|---|---|---|---|---|\n",
    );
    for run in &shown {
        let _ = writeln!(
            summary,
            "| `{}` | {} | {} | {} | `{}`{} | {} | {} | {} |",
            run.id,
            run.mode,
            cell(&run.outcome.to_string()),
            markdown::or_missing(cell(&metrics_line(run))),
            markdown::short_commit(&run.git.commit),
            if run.git.dirty { " (dirty)" } else { "" },
            run.git
                .branch
                .as_deref()
                .map_or_else(|| MISSING.to_owned(), cell),
            run.ci
                .event
                .as_deref()
                .map_or_else(|| MISSING.to_owned(), cell),
            seconds(run),
        );
    }
    let title = if shown.len() < ids.len() {
        format!("the newest {} of {} recorded runs", shown.len(), ids.len())
    } else {
        format!("{} recorded run(s)", ids.len())
    };
    // The listing's data leaves out the per-step series: `runs show` has them.
    let data: Vec<RunRecord> = shown
        .iter()
        .map(|run| RunRecord {
            series: std::collections::BTreeMap::default(),
            ..run.clone()
        })
        .collect();
    Ok(Report::new(STEP, Conclusion::Success, title)
        .with_summary(summary)
        .with_output("runs", ids.len().to_string())
        .with_output("latest-run", shown[0].id.to_string())
        .with_data(serde_json::to_value(data).unwrap_or_default()))
}

pub fn show(request: &RunsShowRequest, context: &StepContext) -> Result<Report, StepError> {
    let ledger = ledger::open_in(context)?;
    let run = ledger.run(&request.id).map_err(ledger_error)?;
    let mut summary = String::new();
    let _ = writeln!(summary, "| field | value |\n|---|---|");
    // Each value as Markdown: code spans for ids and the command, cells for text.
    let rows: [(&str, String); 11] = [
        ("run", format!("`{}`", run.id)),
        ("project", cell(&run.project)),
        ("mode", run.mode.to_string()),
        ("outcome", cell(&run.outcome.to_string())),
        ("command", code(&run.command.join(" "))),
        (
            "commit",
            format!(
                "`{}`{}",
                run.git.commit,
                if run.git.dirty {
                    " (dirty work tree)"
                } else {
                    ""
                }
            ),
        ),
        (
            "branch",
            run.git
                .branch
                .as_deref()
                .map_or_else(|| MISSING.to_owned(), cell),
        ),
        (
            "CI",
            cell(
                format!(
                    "{} {}",
                    run.ci.host,
                    run.ci.event.as_deref().unwrap_or_default()
                )
                .trim(),
            ),
        ),
        (
            "CI run",
            run.ci
                .url
                .as_deref()
                .map_or_else(|| MISSING.to_owned(), cell),
        ),
        (
            "started",
            run.started_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        ),
        ("duration", seconds(&run)),
    ];
    for (field, value) in rows {
        let _ = writeln!(summary, "| {field} | {value} |");
    }
    detail_tables(&run, &mut summary);
    let conclusion = if run.outcome.is_success() {
        Conclusion::Success
    } else {
        // Showing a failed run is not itself a failure.
        Conclusion::Neutral
    };
    Ok(Report::new(
        Step::RunsShow.name(),
        conclusion,
        format!("run {} ({}, {})", run.id, run.mode, run.outcome),
    )
    .with_summary(summary)
    .with_output("run", run.id.to_string())
    .with_output("commit", run.git.commit.clone())
    .with_data(serde_json::to_value(&run).unwrap_or_default()))
}

/// The tables below the run's fields: metrics, params, datasets, artifacts, tools.
fn detail_tables(run: &RunRecord, summary: &mut String) {
    if !run.metrics.is_empty() || !run.series.is_empty() {
        summary.push_str("\n| metric | final | steps | min | max |\n|---|---|---|---|---|\n");
        let names: std::collections::BTreeSet<&String> =
            run.metrics.keys().chain(run.series.keys()).collect();
        for name in names {
            let points = run.series.get(name).map_or(&[][..], Vec::as_slice);
            let values = points.iter().map(|(_, value)| *value);
            let min = values.clone().reduce(f64::min);
            let max = values.reduce(f64::max);
            let _ = writeln!(
                summary,
                "| {} | {} | {} | {} | {} |",
                cell(name),
                markdown::metric_or_missing(run.metrics.get(name).copied()),
                points.len(),
                markdown::metric_or_missing(min),
                markdown::metric_or_missing(max),
            );
        }
    }
    if !run.params.is_empty() {
        summary.push_str("\n| param | value |\n|---|---|\n");
        for (name, value) in &run.params {
            let _ = writeln!(summary, "| {} | {} |", cell(name), code(&value.to_string()));
        }
    }
    if !run.datasets.is_empty() {
        summary.push_str("\n| dataset | fingerprint (BLAKE3) |\n|---|---|\n");
        for (name, digest) in &run.datasets {
            let _ = writeln!(summary, "| {} | `{digest}` |", cell(name));
        }
    }
    if !run.artifacts.is_empty() {
        summary.push_str("\n| artifact | bytes | BLAKE3 |\n|---|---|---|\n");
        for artifact in &run.artifacts {
            let _ = writeln!(
                summary,
                "| {} | {} | `{}` |",
                cell(&artifact.path),
                artifact.size,
                artifact.digest
            );
        }
    }
    if !run.tools.is_empty() {
        summary.push_str("\n| tool | version |\n|---|---|\n");
        for (tool, version) in &run.tools {
            let _ = writeln!(summary, "| {} | {} |", cell(tool), cell(version));
        }
    }
}

/// Up to four final metrics, `name=value`.
fn metrics_line(run: &RunRecord) -> String {
    let mut line: Vec<String> = run
        .metrics
        .iter()
        .take(4)
        .map(|(name, value)| format!("{name}={}", markdown::metric(*value)))
        .collect();
    if run.metrics.len() > 4 {
        line.push(format!("+{}", run.metrics.len() - 4));
    }
    line.join(", ")
}

fn seconds(run: &RunRecord) -> String {
    format!("{:.1} s", run.duration.as_secs_f64())
}
