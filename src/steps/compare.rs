//! `trainyard compare [RUN] [--against champion|base|RUN]`: a run's metrics
//! next to another's — the champion's, the base branch's latest full-data run
//! (on a pull request, its base), or any run — with the delta and whether it is better by each
//! metric's declared direction, and a mermaid `xychart-beta` chart of each
//! metric's history on the default branch (GitHub renders it in summaries
//! and comments).
//!
//! The verdict: better or the same everywhere is a success; a regression is
//! neutral and named; a regression against the champion (same data) beyond a
//! gate's `non-regression` tolerance is a failure.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use trainyard_ci::CiContext;
use trainyard_core::manifest::{Direction, Manifest, MetricSpec};
use trainyard_core::markdown::{self, cell, code_in_text, text};
use trainyard_core::{Block, Chart, Conclusion, Finding, Report, RowStatus, StepError, Table};
use trainyard_ledger::{CHAMPION, Ledger, LedgerError, RunMode, RunRecord};

use super::Step;
use crate::app::git::default_branch;
use crate::app::ledger::{self, ledger_error};
use crate::app::{Project, StepContext};
use crate::requests::CompareRequest;

const STEP: &str = Step::Compare.name();

/// The most runs a history chart shows (the latest ones).
const HISTORY_POINTS: usize = 20;

pub fn run(request: &CompareRequest, context: &StepContext) -> Result<Report, StepError> {
    let project = context.project()?;
    let ci = CiContext::read(&context.env)?;
    let ledger = ledger::open(context, &project)?;
    let runs: Vec<RunRecord> = ledger
        .runs()
        .map_err(ledger_error)?
        .into_iter()
        .filter(|run| run.project == project.manifest.project.name)
        .collect();
    let run = match &request.run {
        Some(id) => ledger.run(id).map_err(ledger_error)?,
        None => runs.last().cloned().ok_or_else(|| {
            StepError::Usage(format!(
                "no run of `{}` is recorded in this clone yet: run `trainyard train` first, or `trainyard ledger pull` if runs were recorded elsewhere",
                project.manifest.project.name
            ))
        })?,
    };
    let default_branch = default_branch(&project, &ci);

    let against = match request.against.as_str() {
        CHAMPION => champion(&project, &ledger)?,
        "base" => {
            let branch = ci
                .pull_request()
                .map_or_else(|| default_branch.clone(), |pr| pr.base_ref.clone());
            // The base's model is what its full runs trained: a sampled run on
            // the base (`train --mode sample` there) is never the reference.
            let latest = runs
                .iter()
                .rev()
                .find(|other| {
                    other.id != run.id
                        && other.outcome.is_success()
                        && other.mode == RunMode::Full
                        && other.git.branch.as_deref() == Some(branch.as_str())
                })
                .cloned();
            Against {
                label: format!("latest on {branch}"),
                run: latest,
                is_champion: false,
                missing: format!("no successful full-data run on `{branch}` is recorded yet"),
                missing_markdown: format!(
                    "no successful full-data run on {} is recorded yet",
                    code_in_text(&branch)
                ),
            }
        }
        id => {
            let other = ledger.run(id).map_err(ledger_error)?;
            Against {
                label: format!("run {}", other.id),
                run: Some(other),
                is_champion: false,
                missing: String::new(),
                missing_markdown: String::new(),
            }
        }
    };
    Ok(build_report(
        &project,
        &run,
        &against,
        &runs,
        &default_branch,
    ))
}

/// What a run is compared with.
struct Against {
    /// The column heading: `champion (version 3)`, `latest on main`, `run …`.
    label: String,
    run: Option<RunRecord>,
    /// Whether `run` is the champion's (the gates' non-regression rules compare with it).
    is_champion: bool,
    /// Why there is nothing to compare with, when `run` is `None`.
    missing: String,
    /// The same, in Markdown.
    missing_markdown: String,
}

fn champion(project: &Project, ledger: &dyn Ledger) -> Result<Against, StepError> {
    let Some(model) = &project.manifest.model else {
        return Err(StepError::Usage(format!(
            "{} declares no `model`, so there is no champion; compare with `--against base` or a run id",
            project.manifest_file
        )));
    };
    match ledger.resolve(&model.name, CHAMPION) {
        Ok(version) => {
            let run = ledger.run(version.run_id.as_str()).map_err(ledger_error)?;
            Ok(Against {
                label: format!("{CHAMPION} (version {})", version.version),
                run: Some(run),
                is_champion: true,
                missing: String::new(),
                missing_markdown: String::new(),
            })
        }
        Err(LedgerError::ModelNotFound { .. } | LedgerError::VersionNotFound { .. }) => {
            Ok(Against {
                label: CHAMPION.to_owned(),
                run: None,
                is_champion: true,
                missing: format!(
                    "`{}` has no {CHAMPION} yet (a promotion sets it)",
                    model.name
                ),
                missing_markdown: format!(
                    "{} has no {CHAMPION} yet (a promotion sets it)",
                    code_in_text(&model.name)
                ),
            })
        }
        Err(error) => Err(ledger_error(error)),
    }
}

/// How one metric moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Better,
    Worse,
    Same,
    /// No direction declared, or a value is missing or not finite.
    Unknown,
}

fn verdict(direction: Option<Direction>, value: f64, other: f64) -> Verdict {
    let delta = value - other;
    if !delta.is_finite() {
        return Verdict::Unknown;
    }
    match direction {
        _ if delta == 0.0 => Verdict::Same,
        Some(Direction::Maximize) if delta > 0.0 => Verdict::Better,
        Some(Direction::Minimize) if delta < 0.0 => Verdict::Better,
        Some(_) => Verdict::Worse,
        None => Verdict::Unknown,
    }
}

fn build_report(
    project: &Project,
    run: &RunRecord,
    against: &Against,
    runs: &[RunRecord],
    default_branch: &str,
) -> Report {
    let declared = project
        .manifest
        .model
        .as_ref()
        .map(|model| model.metrics.clone())
        .unwrap_or_default();
    // Declared metrics first (in the manifest's order), then the others.
    let mut names: Vec<String> = declared.keys().cloned().collect();
    let mut others: BTreeSet<&String> = run.metrics.keys().collect();
    if let Some(other) = &against.run {
        others.extend(other.metrics.keys());
    }
    names.extend(
        others
            .into_iter()
            .filter(|name| !declared.contains_key(*name))
            .cloned(),
    );

    let mut md = String::new();
    let (better, worse) = if let Some(other) = &against.run {
        comparison_table(&mut md, run, other, &against.label, &names, &declared)
    } else {
        alone_table(&mut md, run, &against.missing_markdown, &names);
        (Vec::new(), Vec::new())
    };

    let chart_metrics: Vec<&String> = if declared.is_empty() {
        run.metrics.keys().collect()
    } else {
        declared.keys().collect()
    };

    let (conclusion, title, findings) = match &against.run {
        Some(other) => verdict_of(project, run, other, against, &better, &worse, &mut md),
        None => (Conclusion::Neutral, against.missing.clone(), Vec::new()),
    };
    let history = history(runs, &chart_metrics, default_branch);
    md.push_str(&history_charts(&history, default_branch));

    let mut report = Report::new(STEP, conclusion, title)
        .with_output("run-id", run.id.to_string())
        .with_output("better", better.join(","))
        .with_output(
            "worse",
            worse
                .iter()
                .map(|regression| regression.metric.as_str())
                .collect::<Vec<_>>()
                .join(","),
        )
        .with_summary(md);
    for finding in findings {
        report.push_finding(finding);
    }
    report.data = Some(comparison_data(run, against, &names, &declared, conclusion));
    report.blocks = comparison_blocks(run, against, &names, &declared, &history, default_branch);
    if let Some(other) = &against.run {
        report = report.with_output("against-run-id", other.id.to_string());
        for name in &names {
            if let (Some(value), Some(reference)) = (run.metrics.get(name), other.metrics.get(name))
            {
                report =
                    report.with_output(format!("delta-{name}"), (value - reference).to_string());
            }
        }
    }
    report
}

/// The conclusion, the title and the findings of a comparison with `other`:
/// success when nothing is worse, neutral with each regression named, a
/// failure when a gate's non-regression rule would refuse a regression
/// against the champion (both runs on the same data).
fn verdict_of(
    project: &Project,
    run: &RunRecord,
    other: &RunRecord,
    against: &Against,
    better: &[String],
    worse: &[Regression],
    md: &mut String,
) -> (Conclusion, String, Vec<Finding>) {
    let breaches = if against.is_champion && run.mode == other.mode {
        non_regression_breaches(&project.manifest, worse)
    } else {
        Vec::new()
    };
    let mut findings = Vec::new();
    for regression in worse {
        findings.push(Finding::warning(
            "regression",
            format!(
                "`{}` is worse than the {}: {} against {} ({})",
                regression.metric,
                against.label,
                markdown::metric(regression.value),
                markdown::metric(regression.reference),
                markdown::delta(regression.value - regression.reference),
            ),
        ));
    }
    for breach in &breaches {
        findings.push(Finding::error("non-regression", breach.clone()));
    }
    let mut title = format!(
        "against the {}: {} better, {} worse",
        against.label,
        better.len(),
        worse.len()
    );
    if !worse.is_empty() {
        let listed: Vec<String> = worse
            .iter()
            .map(|regression| {
                format!(
                    "{} {}",
                    regression.metric,
                    markdown::delta(regression.value - regression.reference)
                )
            })
            .collect();
        let _ = write!(title, " ({})", listed.join(", "));
    }
    let conclusion = if !breaches.is_empty() {
        let _ = write!(title, "; {}", breaches.join("; "));
        Conclusion::Failure
    } else if worse.is_empty() {
        Conclusion::Success
    } else {
        Conclusion::Neutral
    };
    if against.is_champion && !worse.is_empty() && run.mode != other.mode {
        md.push_str("> [!NOTE]\n> A regression between a sample and a full run is shown, not judged: the gates' non-regression rules compare full runs with the champion.\n\n");
    }
    (conclusion, title, findings)
}

/// The comparison as JSON values for `--format json`: each metric with both
/// values (numbers; `null` when missing or not finite), its delta, direction
/// and verdict.
fn comparison_data(
    run: &RunRecord,
    against: &Against,
    names: &[String],
    declared: &BTreeMap<String, MetricSpec>,
    conclusion: Conclusion,
) -> serde_json::Value {
    let other = against.run.as_ref();
    let number = |value: Option<f64>| {
        value
            .filter(|value| value.is_finite())
            .map_or(serde_json::Value::Null, serde_json::Value::from)
    };
    let metrics: Vec<serde_json::Value> = names
        .iter()
        .map(|name| {
            let value = run.metrics.get(name).copied();
            let reference = other.and_then(|other| other.metrics.get(name).copied());
            let direction = declared.get(name).map(|spec| spec.direction);
            let (delta, judged) = match (value, reference) {
                (Some(value), Some(reference)) => (
                    Some(value - reference),
                    match verdict(direction, value, reference) {
                        Verdict::Better => "better",
                        Verdict::Worse => "worse",
                        Verdict::Same => "same",
                        Verdict::Unknown => "unknown",
                    },
                ),
                _ => (None, "unknown"),
            };
            serde_json::json!({
                "metric": name,
                "value": number(value),
                "reference": number(reference),
                "delta": number(delta),
                "direction": direction,
                "verdict": judged,
            })
        })
        .collect();
    serde_json::json!({
        "run": run.id.to_string(),
        "mode": run.mode.to_string(),
        "against": {
            "label": against.label,
            "run": other.map(|other| other.id.to_string()),
            "mode": other.map(|other| other.mode.to_string()),
            "champion": against.is_champion,
        },
        "conclusion": conclusion,
        "metrics": metrics,
    })
}

/// A metric worse than the reference's, by its declared direction.
#[derive(Debug, Clone, PartialEq)]
struct Regression {
    metric: String,
    value: f64,
    reference: f64,
}

/// The regressions a gate's `non-regression` rule would refuse: worse than
/// the champion by more than the rule's tolerance, in any environment's gate.
fn non_regression_breaches(manifest: &Manifest, worse: &[Regression]) -> Vec<String> {
    let mut breaches = Vec::new();
    for regression in worse {
        let direction = manifest
            .model
            .as_ref()
            .and_then(|model| model.metrics.get(&regression.metric))
            .map(|spec| spec.direction);
        for (environment, policy) in &manifest.gates {
            for rule in policy
                .non_regression
                .iter()
                .filter(|rule| rule.metric == regression.metric)
            {
                let refused = match direction {
                    Some(Direction::Maximize) => {
                        regression.value < regression.reference - rule.tolerance
                    }
                    Some(Direction::Minimize) => {
                        regression.value > regression.reference + rule.tolerance
                    }
                    None => false,
                };
                if refused {
                    breaches.push(format!(
                        "`{}` regressed by more than the {environment} gate's non-regression tolerance ({})",
                        regression.metric,
                        markdown::metric(rule.tolerance)
                    ));
                }
            }
        }
    }
    breaches
}

/// The table of both runs' metrics; returns the better metrics and the regressions.
fn comparison_table(
    md: &mut String,
    run: &RunRecord,
    other: &RunRecord,
    label: &str,
    names: &[String],
    declared: &BTreeMap<String, MetricSpec>,
) -> (Vec<String>, Vec<Regression>) {
    let mut better = Vec::new();
    let mut worse = Vec::new();
    let _ = writeln!(
        md,
        "Run `{}` ({} data, {}) against the {} — run `{}` ({} data, {}).\n",
        run.id,
        run.mode,
        describe_commit(run),
        text(label),
        other.id,
        other.mode,
        describe_commit(other)
    );
    if run.mode != other.mode {
        md.push_str("> [!NOTE]\n> The runs trained on different data (a sample and the full data): expect a difference.\n\n");
    }
    let _ = writeln!(
        md,
        "| metric | this run | {} | Δ | |\n|---|---:|---:|---:|---|",
        cell(label)
    );
    for name in names {
        let value = run.metrics.get(name).copied();
        let reference = other.metrics.get(name).copied();
        let direction = declared.get(name).map(|spec| spec.direction);
        let (delta, judged) = match (value, reference) {
            (Some(value), Some(reference)) => (
                markdown::delta(value - reference),
                verdict(direction, value, reference),
            ),
            _ => (String::new(), Verdict::Unknown),
        };
        let mark = match judged {
            Verdict::Better => {
                better.push(name.clone());
                "better"
            }
            Verdict::Worse => {
                if let (Some(value), Some(reference)) = (value, reference) {
                    worse.push(Regression {
                        metric: name.clone(),
                        value,
                        reference,
                    });
                }
                "worse"
            }
            Verdict::Same => "same",
            Verdict::Unknown => "",
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {delta} | {mark} |",
            cell(name),
            markdown::metric_or_missing(value),
            markdown::metric_or_missing(reference),
        );
    }
    md.push('\n');
    (better, worse)
}

/// The run's metrics alone, when there is nothing to compare with.
fn alone_table(md: &mut String, run: &RunRecord, missing: &str, names: &[String]) {
    // `missing` is Markdown already.
    let _ = writeln!(
        md,
        "Run `{}` ({} data, {}): {missing}; its metrics alone.\n",
        run.id,
        run.mode,
        describe_commit(run),
    );
    md.push_str("| metric | this run |\n|---|---:|\n");
    for name in names {
        if let Some(value) = run.metrics.get(name) {
            let _ = writeln!(md, "| {} | {} |", cell(name), markdown::metric(*value));
        }
    }
    md.push('\n');
}

/// The run's commit and branch, in Markdown.
fn describe_commit(run: &RunRecord) -> String {
    let commit = code_in_text(markdown::short_commit(&run.git.commit));
    match &run.git.branch {
        Some(branch) => format!("{commit} on {}", text(branch)),
        None => commit,
    }
}

/// Each metric's values over the successful full runs on the default
/// branch, oldest to newest, labelled by commit (unique labels).
fn history(
    runs: &[RunRecord],
    metrics: &[&String],
    default_branch: &str,
) -> Vec<(String, Vec<(String, f64)>)> {
    let history: Vec<&RunRecord> = runs
        .iter()
        .filter(|run| {
            run.mode == RunMode::Full
                && run.outcome.is_success()
                && run.git.branch.as_deref() == Some(default_branch)
        })
        .collect();
    let mut out = Vec::new();
    for metric in metrics {
        let points: Vec<(&RunRecord, f64)> = history
            .iter()
            .filter_map(|run| {
                run.metrics
                    .get(*metric)
                    .filter(|value| value.is_finite())
                    .map(|value| (*run, *value))
            })
            .collect();
        let points = &points[points.len().saturating_sub(HISTORY_POINTS)..];
        if points.is_empty() {
            continue;
        }
        let mut seen = BTreeSet::new();
        let labelled = points
            .iter()
            .map(|(run, value)| {
                let mut label = markdown::short_commit(&run.git.commit).to_owned();
                let mut n = 2;
                while !seen.insert(label.clone()) {
                    label = format!("{}-{n}", markdown::short_commit(&run.git.commit));
                    n += 1;
                }
                (label, *value)
            })
            .collect();
        out.push(((*metric).clone(), labelled));
    }
    out
}

/// One `xychart-beta` per metric of the history.
fn history_charts(history: &[(String, Vec<(String, f64)>)], default_branch: &str) -> String {
    let mut md = String::new();
    for (metric, points) in history {
        let labels: Vec<String> = points
            .iter()
            .map(|(label, _)| format!("\"{label}\""))
            .collect();
        let values: Vec<String> = points.iter().map(|(_, value)| value.to_string()).collect();
        let metric = markdown::chart_text(metric);
        let _ = write!(
            md,
            "```mermaid\nxychart-beta\n    title \"{metric} on {}\"\n    x-axis [{}]\n    y-axis \"{metric}\"\n    line [{}]\n```\n\n",
            markdown::chart_text(default_branch),
            labels.join(", "),
            values.join(", ")
        );
    }
    if md.is_empty() {
        return String::new();
    }
    format!(
        "History on {} (full training runs, by commit):\n\n{md}",
        code_in_text(default_branch)
    )
}

/// What the terminal shows: a line saying what is compared, each metric with
/// both values, its delta and a status (better or same pass, worse warns,
/// unjudged is skipped), and the history as charts.
fn comparison_blocks(
    run: &RunRecord,
    against: &Against,
    names: &[String],
    declared: &BTreeMap<String, MetricSpec>,
    history: &[(String, Vec<(String, f64)>)],
    default_branch: &str,
) -> Vec<Block> {
    let mut blocks = Vec::new();
    let describe = |run: &RunRecord| {
        let commit = markdown::short_commit(&run.git.commit);
        match &run.git.branch {
            Some(branch) => format!("{} data, {commit} on {branch}", run.mode),
            None => format!("{} data, {commit}", run.mode),
        }
    };
    if let Some(other) = &against.run {
        blocks.push(Block::text(format!(
            "run {} ({}) against the {}: run {} ({})",
            run.id,
            describe(run),
            against.label,
            other.id,
            describe(other)
        )));
        let mut table = Table::new(
            "metrics",
            [
                "metric",
                ">this run",
                &format!(">{}", against.label),
                ">Δ",
                "verdict",
            ],
        );
        for name in names {
            let value = run.metrics.get(name).copied();
            let reference = other.metrics.get(name).copied();
            let direction = declared.get(name).map(|spec| spec.direction);
            let (delta, judged) = match (value, reference) {
                (Some(value), Some(reference)) => (
                    markdown::delta(value - reference),
                    verdict(direction, value, reference),
                ),
                _ => (String::new(), Verdict::Unknown),
            };
            let (status, word) = match judged {
                Verdict::Better => (RowStatus::Pass, "better"),
                Verdict::Same => (RowStatus::Pass, "same"),
                Verdict::Worse => (RowStatus::Warn, "worse"),
                Verdict::Unknown => (RowStatus::Skip, "not judged"),
            };
            table.row(
                Some(status),
                [
                    name.clone(),
                    markdown::metric_or_missing(value),
                    markdown::metric_or_missing(reference),
                    delta,
                    word.to_owned(),
                ],
            );
        }
        blocks.push(table.into());
    } else {
        blocks.push(Block::text(format!(
            "run {} ({}): {}; its metrics alone",
            run.id,
            describe(run),
            against.missing
        )));
        let mut table = Table::new("metrics", ["metric", ">this run"]);
        for name in names {
            if let Some(value) = run.metrics.get(name) {
                table.row(None, [name.clone(), markdown::metric(*value)]);
            }
        }
        blocks.push(table.into());
    }
    for (metric, points) in history {
        blocks.push(Chart::new(format!("{metric} on {default_branch}"), points.clone()).into());
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_follow_the_direction() {
        assert_eq!(
            verdict(Some(Direction::Maximize), 0.9, 0.8),
            Verdict::Better
        );
        assert_eq!(verdict(Some(Direction::Minimize), 0.9, 0.8), Verdict::Worse);
        assert_eq!(verdict(Some(Direction::Minimize), 0.5, 0.5), Verdict::Same);
        assert_eq!(verdict(None, 0.9, 0.8), Verdict::Unknown);
        assert_eq!(
            verdict(Some(Direction::Maximize), f64::NAN, 0.8),
            Verdict::Unknown
        );
    }
}
