//! `trainyard report`: gathers the Reports the steps of this job kept
//! (data, train, compare, gate…) into one markdown report for the pull
//! request: the verdict, metrics against the champion, a chart of the metric
//! history, data findings, the gate's table and links to the run.
//!
//! The step only writes markdown; the publisher puts it in the job summary
//! and, on GitHub with a token, in the one sticky comment of the pull request.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use trainyard_ci::CiContext;
use trainyard_core::manifest::Direction;
use trainyard_core::markdown::{self, cell, code_in_text, text};
use trainyard_core::{Conclusion, Finding, Report, Severity, StepError};
use trainyard_ledger::{CHAMPION, Ledger, Outcome, RunMode, RunRecord};

use super::Step;
use crate::app::kept_reports::{load_reports, reports_dir};
use crate::app::{Project, StepContext};
use crate::requests::ReportRequest;

const REPORT_STEP: &str = Step::Report.name();

/// Data findings listed in the comment; the rest are in the job summary.
const FINDINGS_SHOWN: usize = 20;
/// Runs drawn in the metric history chart.
const HISTORY_RUNS: usize = 20;

pub fn run(request: &ReportRequest, context: &StepContext) -> Result<Report, StepError> {
    let dir = request
        .reports_dir
        .clone()
        .or_else(|| reports_dir(&context.env))
        .ok_or_else(|| {
            StepError::Usage(
                "no reports folder: outside CI, set --reports-dir or TRAINYARD_REPORTS_DIR to the folder the steps kept their reports in".to_owned(),
            )
        })?;
    let reports: Vec<Report> = load_reports(&dir)?
        .into_iter()
        .filter(|report| report.step != REPORT_STEP)
        .collect();
    // A broken manifest is itself one of the gathered failures: report it
    // rather than fail, under the name of the project's folder.
    let project = context.project().ok();
    let name = project.as_ref().map_or_else(
        || fallback_name(&context.manifest_path),
        |project| project.manifest.project.name.clone(),
    );
    let ci = CiContext::read(&context.env)?;
    let history = project
        .as_ref()
        .and_then(|project| MetricHistory::read(context, project, &reports));
    let markdown = render(&name, &reports, history.as_ref(), &ci);

    let verdict = combined(&reports);
    let title = match verdict {
        None => format!("no step kept a report in {}", dir.display()),
        Some(_) => format!(
            "{} step{} reported: {}",
            reports.len(),
            if reports.len() == 1 { "" } else { "s" },
            verdict_words(&reports)
        ),
    };
    Ok(Report::new(
        REPORT_STEP,
        if verdict.is_some() {
            Conclusion::Success
        } else {
            Conclusion::Neutral
        },
        title,
    )
    .with_summary(markdown)
    .with_output("project", name)
    .with_output("reports", reports.len().to_string())
    .with_output(
        "verdict",
        verdict.map_or_else(|| "none".to_owned(), |v| v.to_string()),
    ))
}

/// The project's name when the manifest cannot be read: its folder's name.
fn fallback_name(manifest_path: &Path) -> String {
    std::fs::canonicalize(manifest_path)
        .ok()
        .and_then(|path| {
            path.parent()?
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "trainyard".to_owned())
}

/// The gathered steps' verdict: a failure anywhere fails it, and a neutral
/// step makes it neutral (a success alongside does not hide it).
fn combined(reports: &[Report]) -> Option<Conclusion> {
    let conclusions = reports.iter().map(|report| report.conclusion);
    if reports.is_empty() {
        None
    } else if conclusions.clone().any(|c| c == Conclusion::Failure) {
        Some(Conclusion::Failure)
    } else if conclusions.clone().any(|c| c == Conclusion::Neutral) {
        Some(Conclusion::Neutral)
    } else {
        Some(Conclusion::Success)
    }
}

/// The verdict in words: "all passed" only when every step passed; otherwise
/// how many failed and were neutral, naming them, then how many passed.
fn verdict_words(reports: &[Report]) -> String {
    let named = |conclusion: Conclusion| -> Vec<&str> {
        reports
            .iter()
            .filter(|report| report.conclusion == conclusion)
            .map(|report| report.step.as_str())
            .collect()
    };
    let (failed, neutral) = (named(Conclusion::Failure), named(Conclusion::Neutral));
    let passed = reports.len() - failed.len() - neutral.len();
    if failed.is_empty() && neutral.is_empty() {
        return "all passed".to_owned();
    }
    let mut parts = Vec::new();
    if !failed.is_empty() {
        parts.push(format!("{} failed ({})", failed.len(), failed.join(", ")));
    }
    if !neutral.is_empty() {
        parts.push(format!(
            "{} neutral ({})",
            neutral.len(),
            neutral.join(", ")
        ));
    }
    if passed > 0 {
        parts.push(format!("{passed} passed"));
    }
    parts.join(", ")
}

/// The runs the comment compares and charts, from the ledger.
#[derive(Debug)]
struct MetricHistory {
    /// This job's run (the train report's `run-id`, else the newest run).
    current: RunRecord,
    /// The champion's run and version, when there is a champion.
    champion: Option<(u64, RunRecord)>,
    /// Succeeded full runs, oldest first, ending with `current`.
    runs: Vec<RunRecord>,
    directions: BTreeMap<String, Direction>,
}

impl MetricHistory {
    /// `None` when there is no ledger or no run yet: the comment then leaves
    /// the metrics out and says why in the summary of the train step.
    fn read(context: &StepContext, project: &Project, reports: &[Report]) -> Option<Self> {
        let ledger = crate::app::ledger::open(context, project).ok()?;
        let name = &project.manifest.project.name;
        let runs: Vec<RunRecord> = ledger
            .runs()
            .ok()?
            .into_iter()
            .filter(|run| &run.project == name && run.outcome == Outcome::Succeeded)
            .collect();
        let wanted = reports
            .iter()
            .rev()
            .find_map(|r| r.outputs.get("run-id").or_else(|| r.outputs.get("run")));
        let current = match wanted {
            Some(id) => runs.iter().find(|run| run.id.to_string() == *id).cloned(),
            None => runs.last().cloned(),
        }?;
        let model = project.manifest.model.as_ref();
        let champion = model.and_then(|model| {
            let version = ledger.resolve(&model.name, CHAMPION).ok()?;
            let run = ledger.run(&version.run_id.to_string()).ok()?;
            Some((version.version, run))
        });
        let mut history: Vec<RunRecord> = runs
            .into_iter()
            .filter(|run| run.mode == RunMode::Full && run.id != current.id)
            .collect();
        history.push(current.clone());
        let skip = history.len().saturating_sub(HISTORY_RUNS);
        let directions = model
            .map(|model| {
                model
                    .metrics
                    .iter()
                    .map(|(name, spec)| (name.clone(), spec.direction))
                    .collect()
            })
            .unwrap_or_default();
        Some(Self {
            current,
            champion,
            runs: history.into_iter().skip(skip).collect(),
            directions,
        })
    }

    /// The metrics to show: the declared ones in order, else the run's own.
    fn metric_names(&self) -> Vec<String> {
        if self.directions.is_empty() {
            self.current.metrics.keys().cloned().collect()
        } else {
            self.directions.keys().cloned().collect()
        }
    }
}

/// The whole comment, markdown.
fn render(
    name: &str,
    reports: &[Report],
    history: Option<&MetricHistory>,
    ci: &CiContext,
) -> String {
    let mut out = String::new();
    match combined(reports) {
        Some(verdict) => {
            let _ = writeln!(
                out,
                "## {} trainyard · {}: {}\n",
                verdict.emoji(),
                text(name),
                text(&verdict_words(reports))
            );
        }
        None => {
            let _ = writeln!(
                out,
                "## ⚪ trainyard · {}: no step reported\n\nNo step of this job kept a report; run `trainyard report` after the other steps, in the same job.\n",
                text(name)
            );
        }
    }
    if !reports.is_empty() {
        out.push_str("| | Step | Result |\n|---|---|---|\n");
        for report in reports {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                report.conclusion.emoji(),
                cell(&report.step),
                cell(&report.title)
            );
        }
        out.push('\n');
    }

    // compare's own summary is the metrics table and history charts; without
    // a compare step, both come from the ledger.
    let compare = reports
        .iter()
        .rev()
        .find(|r| r.step == "compare" && !r.summary.trim().is_empty());
    if let Some(compare) = compare {
        out.push_str("### Metrics vs champion\n\n");
        out.push_str(compare.summary.trim_end());
        out.push_str("\n\n");
    } else if let Some(history) = history {
        render_metrics_table(history, &mut out);
        render_chart(history, &mut out);
    }
    render_data_findings(reports, &mut out);
    for gate in reports.iter().filter(|r| r.step == "gate") {
        if gate.summary.trim().is_empty() {
            let environment = gate.outputs.get("environment").map_or("", String::as_str);
            let _ = writeln!(
                out,
                "### {} Gate {}\n\n{}\n",
                gate.conclusion.emoji(),
                code_in_text(environment),
                text(&gate.title)
            );
        } else {
            out.push_str(gate.summary.trim_end());
            out.push_str("\n\n");
        }
    }

    out.push_str("---\n");
    let mut links = Vec::new();
    if let Some(url) = &ci.run_url {
        links.push(format!("[this run]({url})"));
    }
    if let Some(sha) = ci
        .pull_request()
        .and_then(|pr| pr.head_sha.as_deref())
        .or(ci.sha.as_deref())
    {
        links.push(format!(
            "commit {}",
            code_in_text(markdown::short_commit(sha))
        ));
    }
    links.push(format!("trainyard {}", env!("CARGO_PKG_VERSION")));
    let _ = writeln!(out, "<sub>{}</sub>", links.join(" · "));
    out
}

fn render_metrics_table(history: &MetricHistory, out: &mut String) {
    let names = history.metric_names();
    if names.is_empty() {
        return;
    }
    let sampled = if history.current.mode == RunMode::Sample {
        " (this run trained on a sample)"
    } else {
        ""
    };
    let _ = writeln!(out, "### Metrics vs champion{sampled}\n");
    match &history.champion {
        Some((version, _)) => {
            let _ = writeln!(
                out,
                "| Metric | This run | Champion (v{version}) | Change |\n|---|---:|---:|---|"
            );
        }
        None => out.push_str("| Metric | This run | Champion | Change |\n|---|---:|---:|---|\n"),
    }
    for name in names {
        let current = history.current.metrics.get(&name).copied();
        let champion = history
            .champion
            .as_ref()
            .and_then(|(_, run)| run.metrics.get(&name).copied());
        let direction = history.directions.get(&name).copied();
        let arrow = match direction {
            Some(Direction::Maximize) => " ↑",
            Some(Direction::Minimize) => " ↓",
            None => "",
        };
        let change = match (current, champion) {
            (Some(now), Some(then)) => {
                let delta = now - then;
                let better = match direction {
                    Some(Direction::Maximize) => delta > 0.0,
                    Some(Direction::Minimize) => delta < 0.0,
                    None => false,
                };
                let mark = if delta == 0.0 {
                    "="
                } else if direction.is_none() {
                    ""
                } else if better {
                    "🟢"
                } else {
                    "🔴"
                };
                format!("{} {mark}", markdown::delta(delta))
            }
            (Some(_), None) => "no champion yet".to_owned(),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "| {}{arrow} | {} | {} | {} |",
            cell(&name),
            markdown::metric_or_missing(current),
            markdown::metric_or_missing(champion),
            change.trim_end()
        );
    }
    out.push('\n');
}

/// A mermaid line chart of the first metric over the recent full runs.
fn render_chart(history: &MetricHistory, out: &mut String) {
    let Some(metric) = history.metric_names().into_iter().next() else {
        return;
    };
    let points: Vec<f64> = history
        .runs
        .iter()
        .filter_map(|run| run.metrics.get(&metric).copied())
        .filter(|value| value.is_finite())
        .collect();
    if points.len() < 2 {
        return;
    }
    let (low, high) = points
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        });
    let pad = ((high - low) * 0.1).max(1e-3);
    let labels: Vec<String> = (1..=points.len()).map(|n| format!("\"{n}\"")).collect();
    let values: Vec<String> = points.iter().map(|v| markdown::metric(*v)).collect();
    let label = markdown::chart_text(&metric);
    let _ = writeln!(
        out,
        "### {} over the last {} runs\n\n```mermaid\nxychart-beta\n    title \"{label}\"\n    x-axis \"run\" [{}]\n    y-axis \"{label}\" {} --> {}\n    line [{}]\n```\n",
        text(&metric),
        points.len(),
        labels.join(", "),
        markdown::metric(low - pad),
        markdown::metric(high + pad),
        values.join(", ")
    );
}

fn render_data_findings(reports: &[Report], out: &mut String) {
    let findings: Vec<(&str, &Finding)> = reports
        .iter()
        .filter(|r| r.step.starts_with("data "))
        .flat_map(|r| {
            r.all_findings()
                .into_iter()
                .map(move |f| (r.step.as_str(), f))
        })
        .collect();
    if findings.is_empty() {
        return;
    }
    let _ = writeln!(out, "### Data findings ({})\n", findings.len());
    out.push_str("| | Where | Rule | Message |\n|---|---|---|---|\n");
    for (_, finding) in findings.iter().take(FINDINGS_SHOWN) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            match finding.severity {
                Severity::Error => "❌",
                Severity::Warning => "⚠️",
                Severity::Notice => "ℹ️",
            },
            finding
                .location
                .as_ref()
                .map_or_else(String::new, |l| cell(&l.to_string())),
            cell(&finding.rule),
            cell(&finding.message)
        );
    }
    if findings.len() > FINDINGS_SHOWN {
        let _ = writeln!(
            out,
            "\n{} more in the job summary of this run.",
            findings.len() - FINDINGS_SHOWN
        );
    }
    out.push('\n');
}
