//! `trainyard train`: runs the project's own training command in the mode the
//! event calls for (a deterministic sample on a pull request, the full data
//! on the default branch), streams its log, captures its metrics, stops it
//! early when it does not converge, and records the run in the ledger. A full
//! training on the default branch registers the model and makes it the
//! `challenger`. Outside CI, only a clean work tree on the default branch
//! registers: any other terminal run is a local experiment (recorded, never
//! registered), and the report says why.
//!
//! Running the command itself is `app::training`, shared with `reproduce`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use trainyard_ci::{CiContext, Host, Trigger};
use trainyard_core::manifest::Train;
use trainyard_core::{Block, Conclusion, Finding, Location, Report, StepError, Table};
use trainyard_ledger::{
    ArtifactRef, ArtifactStore, GitInfo, Ledger, ModelVersion, Outcome, RunId, RunMode, RunRecord,
};
use trainyard_store::{ModelRelease, StoreError};

use super::Step;
use crate::app::git::{ci_info, default_branch, git_info, tool_versions};
use crate::app::ledger::{self, ProjectLedger, ledger_error};
use crate::app::store;
use crate::app::training::{Execution, Plan, execute, train_section};
use crate::app::{Project, StepContext};
use crate::requests::TrainRequest;
use trainyard_core::markdown::{self, cell, code_in_text, text};
use trainyard_ledger::CHALLENGER;

const STEP: &str = Step::Train.name();

#[allow(clippy::too_many_lines)] // the run from start to end, read top to bottom
pub fn run(request: &TrainRequest, context: &StepContext) -> Result<Report, StepError> {
    let project = context.project()?;
    let ci = CiContext::read(&context.env)?;
    let default_branch = default_branch(&project, &ci);
    let (mode, because) = match request.mode {
        Some(RunMode::Sample) => (RunMode::Sample, "--mode sample".to_owned()),
        Some(RunMode::Full) => (RunMode::Full, "--mode full".to_owned()),
        None => mode_for(&ci.trigger, &default_branch),
    };
    let train = train_section(&project)?;
    let params = merge_params(&train.params, &request.params)?;
    // Before spending compute: the run must have somewhere to be recorded.
    let ledger = ledger::open(context, &project)?;
    let git = git_info(&project.root, &ci);
    let experiment = (mode == RunMode::Full)
        .then(|| local_experiment(&ci, &git, &default_branch))
        .flatten();
    let registers = mode == RunMode::Full && experiment.is_none();

    let plan = Plan {
        root: &project.root,
        manifest: &project.manifest,
        manifest_file: &project.manifest_file,
        mode,
        params,
    };
    let mut execution = execute(&plan, &context.log)?;

    let mut findings = std::mem::take(&mut execution.findings);
    let Stored {
        artifacts,
        model_uri,
        error: upload_error,
    } = store_run_model(
        &project,
        context,
        &ledger,
        &mut execution,
        registers,
        &git.commit,
    )?;
    let record = RunRecord {
        id: execution.id.clone(),
        project: project.manifest.project.name.clone(),
        mode,
        command: execution.command.clone(),
        params: plan.params.clone(),
        metrics: execution.metrics.clone(),
        series: execution.series.clone(),
        datasets: execution.datasets.clone(),
        git: git.clone(),
        ci: ci_info(&ci),
        tools: tool_versions(&train.command),
        started_at: execution.started_at,
        duration: execution.duration,
        outcome: execution.outcome.clone(),
        artifacts: artifacts.clone(),
        store: store::recorded_url(&project),
        model_uri,
    };
    ledger.append_run(&record).map_err(ledger_error)?;
    let recovered = ledger.recoveries().into_iter();
    findings.extend(recovered.map(|note| Finding::warning("train/recovered", note)));
    if let Some(error) = upload_error {
        return Err(StepError::Environment(format!(
            "run {} is recorded as failed and nothing was registered: {error}",
            record.id
        )));
    }

    let mut registered = None;
    let mut challenger = false;
    if record.outcome.is_success()
        && registers
        && let (Some(model), Some(artifact)) = (&project.manifest.model, primary(&artifacts))
    {
        let version = ledger
            .register(&model.name, &record.id, artifact)
            .map_err(ledger_error)?;
        if on_default_branch(&ci, &git, &default_branch) {
            let actor = trainyard_ledger::detect_actor(
                |name| context.env.get(name).map(str::to_owned),
                &project.root,
            );
            let reason = format!(
                "full training on {default_branch} at {} (run {})",
                markdown::short_commit(&git.commit),
                record.id
            );
            ledger
                .move_alias(&model.name, CHALLENGER, version.version, &actor, &reason)
                .map_err(ledger_error)?;
            challenger = true;
        }
        registered = Some(version);
    }

    findings.extend(failure_finding(
        &record.outcome,
        &project.manifest_file,
        train,
    ));
    let report = report(
        &project,
        &record,
        &execution,
        &because,
        registered.as_ref(),
        challenger,
        findings,
    );
    let experiment = experiment.filter(|_| record.outcome.is_success());
    Ok(local_experiment_said(report, experiment, &default_branch))
}

/// The report of a successful local experiment says why it registered nothing.
fn local_experiment_said(mut report: Report, why: Option<String>, default_branch: &str) -> Report {
    let Some(why) = why else {
        return report;
    };
    report.push_finding(Finding::notice(
        "train/local-experiment",
        format!(
            "recorded as a local experiment, not registered (no version, `{CHALLENGER}` not moved): {why}; \
             commit and train on {default_branch}, or let CI train, to register a model"
        ),
    ));
    report.with_output("local-experiment", why)
}

/// Why a terminal run registers nothing: outside CI, only a clean work tree
/// on the default branch registers (what a version was trained from must be
/// a commit everyone has). `None` in CI, where the event decides as before.
fn local_experiment(ci: &CiContext, git: &GitInfo, default_branch: &str) -> Option<String> {
    if ci.host != Host::Terminal {
        return None;
    }
    let mut why = Vec::new();
    match git.branch.as_deref() {
        Some(branch) if branch == default_branch => {}
        Some(branch) => why.push(format!(
            "HEAD is on `{branch}`, not the default branch `{default_branch}`"
        )),
        None => why.push(format!(
            "HEAD is detached, not on the default branch `{default_branch}`"
        )),
    }
    if git.dirty {
        why.push("the work tree has uncommitted changes".to_owned());
    }
    (!why.is_empty()).then(|| why.join(" and "))
}

/// The mode an event calls for, and why (for the report).
pub(crate) fn mode_for(trigger: &Trigger, default_branch: &str) -> (RunMode, String) {
    match trigger {
        Trigger::PullRequest(pr) => (
            RunMode::Sample,
            format!("pull request #{} into {}", pr.number, pr.base_ref),
        ),
        Trigger::Push { branch } if branch == default_branch => (
            RunMode::Full,
            format!("push to the default branch {branch}"),
        ),
        Trigger::Push { branch } => (RunMode::Sample, format!("push to {branch}")),
        Trigger::Tag { name } => (RunMode::Full, format!("tag {name}")),
        Trigger::Schedule { .. } => (RunMode::Full, "scheduled run".to_owned()),
        Trigger::Manual => (RunMode::Full, "manual run".to_owned()),
        Trigger::Other { name } => (RunMode::Sample, format!("event {name}")),
        Trigger::Local => (RunMode::Full, "a terminal (no CI event)".to_owned()),
    }
}

/// `train.params` with `--param NAME=VALUE` overrides.
pub(crate) fn merge_params(
    declared: &BTreeMap<String, serde_json::Value>,
    overrides: &[String],
) -> Result<BTreeMap<String, serde_json::Value>, StepError> {
    let mut params = declared.clone();
    for item in overrides {
        let Some((name, value)) = item.split_once('=') else {
            return Err(StepError::Usage(format!(
                "--param `{item}` is not NAME=VALUE"
            )));
        };
        let name = name.trim();
        if name.is_empty() {
            return Err(StepError::Usage(format!("--param `{item}` has no name")));
        }
        let value = serde_json::from_str(value)
            .unwrap_or_else(|_| serde_json::Value::String(value.to_owned()));
        params.insert(name.to_owned(), value);
    }
    Ok(params)
}

/// What a run left in the artifact store.
struct Stored {
    artifacts: Vec<ArtifactRef>,
    model_uri: Option<String>,
    /// Why the store refused the model: the run is recorded as failed,
    /// nothing is registered, and the step ends with exit 3.
    error: Option<StepError>,
}

/// Stores a successful run's model in the project's store; a full run also
/// publishes the deployable copy (the folder a deployment downloads) under
/// the version it will be registered as.
fn store_run_model(
    project: &Project,
    context: &StepContext,
    ledger: &ProjectLedger,
    execution: &mut Execution,
    registers: bool,
    commit: &str,
) -> Result<Stored, StepError> {
    let mut stored = Stored {
        artifacts: Vec::new(),
        model_uri: None,
        error: None,
    };
    let Some(model) = project
        .manifest
        .model
        .as_ref()
        .filter(|_| execution.outcome.is_success())
    else {
        return Ok(stored);
    };
    let publish_as = registers
        .then(|| next_version(ledger, &model.name))
        .transpose()?;
    let result = store::open(project, context).and_then(|store| {
        store_model(
            store.as_ref(),
            &execution.output_dir,
            &model.path,
            publish_as.map(|version| (model.name.as_str(), version, &execution.id, commit)),
        )
        .map_err(|error| {
            StepError::Environment(format!(
                "storing the model in {}: {error}",
                store.location()
            ))
        })
    });
    match result {
        Ok((artifacts, uri)) => {
            stored.artifacts = artifacts;
            stored.model_uri = uri;
        }
        Err(error) => {
            execution.outcome = Outcome::Failed {
                reason: error.to_string(),
            };
            stored.error = Some(error);
        }
    }
    Ok(stored)
}

/// Stores `model.path` (a file, or every file of a folder) content-addressed;
/// with `publish` (model name, version, run, commit), also publishes the
/// deployable copy and returns its URI. Paths are recorded relative to the
/// run's output folder, as the training command wrote them.
fn store_model(
    store: &dyn ArtifactStore,
    output_dir: &Path,
    model_path: &str,
    publish: Option<(&str, u64, &RunId, &str)>,
) -> Result<(Vec<ArtifactRef>, Option<String>), StoreError> {
    let source = output_dir.join(model_path);
    let folder = model_path.trim_end_matches('/');
    let release = if source.is_dir() {
        ModelRelease::from_dir("", "", "", "", &source)?
    } else {
        let name = Path::new(folder).file_name().map_or_else(
            || folder.to_owned(),
            |name| name.to_string_lossy().into_owned(),
        );
        ModelRelease {
            name: String::new(),
            version: String::new(),
            run: String::new(),
            commit: String::new(),
            files: vec![(name, source.clone())],
        }
    };
    // The record names each file as the run wrote it (`model/x.joblib`); the
    // published copy holds the model's files at its top (what servers load).
    let recorded_path = |name: &str| {
        if source.is_dir() {
            format!("{folder}/{name}")
        } else {
            folder.to_owned()
        }
    };
    let (stored, uri) = match publish {
        Some((model, version, run, commit)) => {
            let published = store.publish_model(&ModelRelease {
                name: model.to_owned(),
                version: version.to_string(),
                run: run.to_string(),
                commit: commit.to_owned(),
                ..release
            })?;
            (published.files, published.uri)
        }
        None => (
            release
                .files
                .iter()
                .map(|(name, file)| store.put(name, file))
                .collect::<Result<Vec<_>, _>>()?,
            None,
        ),
    };
    let stored = stored
        .into_iter()
        .map(|mut artifact| {
            artifact.path = recorded_path(&artifact.path);
            artifact
        })
        .collect();
    Ok((stored, uri))
}

/// The version the next registration of `model` gets (the deployable copy is
/// published under it before the registry is written).
fn next_version(ledger: &ProjectLedger, model: &str) -> Result<u64, StepError> {
    match ledger.versions(model) {
        Ok(versions) => Ok(versions.last().map_or(1, |version| version.version + 1)),
        Err(trainyard_ledger::LedgerError::ModelNotFound { .. }) => Ok(1),
        Err(error) => Err(ledger_error(error)),
    }
}

/// The artifact a model version points at: the model file, or a folder's first file.
fn primary(artifacts: &[ArtifactRef]) -> Option<&ArtifactRef> {
    artifacts.first()
}

fn on_default_branch(ci: &CiContext, git: &GitInfo, default_branch: &str) -> bool {
    match &ci.trigger {
        Trigger::Push { branch } => branch == default_branch,
        Trigger::PullRequest(_) | Trigger::Tag { .. } | Trigger::Other { .. } => false,
        Trigger::Local | Trigger::Manual | Trigger::Schedule { .. } => {
            git.branch.as_deref() == Some(default_branch)
        }
    }
}

fn failure_finding(outcome: &Outcome, manifest_file: &str, train: &Train) -> Option<Finding> {
    let (rule, message) = match outcome {
        Outcome::Succeeded => return None,
        Outcome::Converged { reason } => {
            return Some(
                Finding::notice(
                    "train/converged",
                    format!("training converged and was stopped: {reason}"),
                )
                .at(Location::file(manifest_file)),
            );
        }
        Outcome::Stopped { reason } => (
            "train/early-stop",
            format!("training stopped early: {reason}"),
        ),
        Outcome::TimedOut => (
            "train/timeout",
            format!(
                "training ran past its timeout of {} (`train.timeout`); its process tree was killed",
                train.timeout.as_deref().unwrap_or("?")
            ),
        ),
        Outcome::Failed { reason } => ("train/failed", format!("training failed: {reason}")),
        Outcome::Cancelled { signal } => (
            "train/cancelled",
            format!(
                "trainyard received {signal} and passed it on to the training command's process group; \
                 the run is recorded as cancelled and nothing was registered"
            ),
        ),
    };
    Some(Finding::error(rule, message).at(Location::file(manifest_file)))
}

fn report(
    project: &Project,
    record: &RunRecord,
    execution: &Execution,
    because: &str,
    version: Option<&ModelVersion>,
    challenger: bool,
    findings: Vec<Finding>,
) -> Report {
    let data = match record.mode {
        RunMode::Sample => "a sample",
        RunMode::Full => "the full data",
    };
    let headline = headline_metrics(project, &record.metrics);
    let title = match &record.outcome {
        Outcome::Succeeded | Outcome::Converged { .. } => {
            let mut title = format!("trained on {data}");
            if !headline.is_empty() {
                let _ = write!(title, ": {headline}");
            }
            if let Some(version) = version {
                let _ = write!(title, " (version {})", version.version);
            }
            if matches!(record.outcome, Outcome::Converged { .. }) {
                title.push_str("; stopped once it converged");
            }
            title
        }
        Outcome::Stopped { reason } => format!("training stopped early: {reason}"),
        Outcome::TimedOut => "training timed out; its process tree was killed".to_owned(),
        Outcome::Cancelled { signal } => {
            format!("training was cancelled ({signal}); its process tree was ended")
        }
        Outcome::Failed { reason } => format!("training failed: {reason}"),
    };
    let conclusion = if record.outcome.is_success() {
        Conclusion::Success
    } else {
        Conclusion::Failure
    };
    let mut report = Report::new(STEP, conclusion, title)
        .with_output("run-id", record.id.to_string())
        .with_output("mode", record.mode.to_string())
        .with_output("outcome", outcome_name(&record.outcome))
        .with_output("run-dir", execution.run_dir.display().to_string())
        .with_output("output-dir", execution.output_dir.display().to_string())
        .with_output("metrics", trainyard_ledger_metrics_json(&record.metrics));
    if let Some(version) = version {
        report = report
            .with_output("model-version", version.version.to_string())
            .with_output(CHALLENGER, challenger.to_string());
    }
    for (name, value) in &record.metrics {
        report = report.with_output(format!("metric-{name}"), value.to_string());
    }
    for finding in findings {
        report.push_finding(finding);
    }
    report.summary = summary_markdown(project, record, execution, because, version, challenger);
    report.blocks = summary_blocks(project, record, execution, because, version, challenger);
    report.data = Some(train_data(project, record, execution, version, challenger));
    report
}

/// A metric as a JSON value: a number, or NaN and the infinities as strings
/// (JSON has no number for them), as in the ledger.
fn metric_value(value: f64) -> serde_json::Value {
    serde_json::Number::from_f64(value).map_or_else(
        || serde_json::Value::String(value.to_string()),
        serde_json::Value::Number,
    )
}

/// The run for `--format json`: its outcome, each metric as a value (with
/// its declared direction), each dataset with what it trained on, and the
/// version registered, if any.
fn train_data(
    project: &Project,
    record: &RunRecord,
    execution: &Execution,
    version: Option<&ModelVersion>,
    challenger: bool,
) -> serde_json::Value {
    let declared = project
        .manifest
        .model
        .as_ref()
        .map(|model| model.metrics.clone())
        .unwrap_or_default();
    let metrics: Vec<serde_json::Value> = record
        .metrics
        .iter()
        .map(|(name, value)| {
            serde_json::json!({
                "metric": name,
                "value": metric_value(*value),
                "direction": declared.get(name).map(|spec| spec.direction),
            })
        })
        .collect();
    let datasets: Vec<serde_json::Value> = project
        .manifest
        .datasets
        .keys()
        .map(|name| {
            serde_json::json!({
                "dataset": name,
                "digest": record.datasets.get(name),
                "sample-rows": execution.samples.get(name).map(|(_, rows)| rows),
            })
        })
        .collect();
    serde_json::json!({
        "run": record.id.to_string(),
        "mode": record.mode.to_string(),
        "outcome": outcome_name(&record.outcome),
        "reason": record.outcome.to_string(),
        "duration-seconds": record.duration.as_secs_f64(),
        "command": execution.command,
        "metrics": metrics,
        "datasets": datasets,
        "registered": version.map(|version| serde_json::json!({
            "model": project.manifest.model.as_ref().map(|model| model.name.clone()),
            "version": version.version,
            "artifact": version.artifact.path,
            "digest": version.artifact.digest,
            CHALLENGER: challenger,
        })),
    })
}

/// What the terminal shows of a run: the same facts as the Markdown summary.
fn summary_blocks(
    project: &Project,
    record: &RunRecord,
    execution: &Execution,
    because: &str,
    version: Option<&ModelVersion>,
    challenger: bool,
) -> Vec<Block> {
    let mut blocks = vec![Block::text(format!(
        "run {}: {} data ({because}), {}, {:.1} s\ncommand: {}",
        record.id,
        record.mode,
        record.outcome,
        record.duration.as_secs_f64(),
        execution.command.join(" ")
    ))];
    if !record.metrics.is_empty() {
        let mut table = Table::new("metrics", ["metric", ">value"]);
        for (name, value) in &record.metrics {
            table.row(None, [name.clone(), markdown::metric(*value)]);
        }
        blocks.push(table.into());
    }
    if !project.manifest.datasets.is_empty() {
        let mut table = Table::new("datasets", ["dataset", "trained on", "BLAKE3 of the data"]);
        for name in project.manifest.datasets.keys() {
            let digest = record.datasets.get(name).map_or("", String::as_str);
            let used = execution.samples.get(name).map_or_else(
                || "all rows".to_owned(),
                |(_, rows)| format!("a sample of {rows} rows"),
            );
            table.row(
                None,
                [
                    name.clone(),
                    used,
                    markdown::short_digest(digest).to_owned(),
                ],
            );
        }
        blocks.push(table.into());
    }
    if let (Some(model), Some(version)) = (&project.manifest.model, version) {
        blocks.push(Block::text(format!(
            "registered {} version {}{} ({}, BLAKE3 {})",
            model.name,
            version.version,
            if challenger {
                format!(" as the {CHALLENGER}")
            } else {
                String::new()
            },
            version.artifact.path,
            markdown::short_digest(&version.artifact.digest),
        )));
    } else if record.outcome.is_success() && record.mode == RunMode::Sample {
        blocks.push(Block::text("A sampled run is recorded, not registered: full training on the default branch registers the model."));
    }
    if !record.outcome.is_success() && !execution.tail.is_empty() {
        let tail: Vec<String> = execution
            .tail
            .iter()
            .map(|line| format!("    {line}"))
            .collect();
        blocks.push(Block::text(format!(
            "the command's last lines:\n{}",
            tail.join("\n")
        )));
    }
    blocks
}

pub(crate) fn outcome_name(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Succeeded => "succeeded",
        Outcome::Failed { .. } => "failed",
        Outcome::Stopped { .. } => "stopped",
        Outcome::Converged { .. } => "converged",
        Outcome::TimedOut => "timed-out",
        Outcome::Cancelled { .. } => "cancelled",
    }
    .to_owned()
}

/// Metrics as one JSON object; NaN and infinities as strings, as in the ledger.
fn trainyard_ledger_metrics_json(metrics: &BTreeMap<String, f64>) -> String {
    let object: serde_json::Map<String, serde_json::Value> = metrics
        .iter()
        .map(|(name, value)| {
            let value = serde_json::Number::from_f64(*value).map_or_else(
                || serde_json::Value::String(value.to_string()),
                serde_json::Value::Number,
            );
            (name.clone(), value)
        })
        .collect();
    serde_json::Value::Object(object).to_string()
}

/// The declared metrics (`model.metrics`) as `name value`, else every metric.
fn headline_metrics(project: &Project, metrics: &BTreeMap<String, f64>) -> String {
    let declared: Vec<&String> = project
        .manifest
        .model
        .as_ref()
        .map(|model| model.metrics.keys().collect())
        .unwrap_or_default();
    let names: Vec<&String> = if declared.is_empty() {
        metrics.keys().take(4).collect()
    } else {
        declared
    };
    names
        .into_iter()
        .filter_map(|name| {
            metrics
                .get(name)
                .map(|value| format!("{name} {}", markdown::metric(*value)))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn summary_markdown(
    project: &Project,
    record: &RunRecord,
    execution: &Execution,
    because: &str,
    version: Option<&ModelVersion>,
    challenger: bool,
) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "Run `{}`: {} data ({}), {}, {:.1} s.\n",
        record.id,
        record.mode,
        text(because),
        text(&record.outcome.to_string()),
        record.duration.as_secs_f64()
    );
    let _ = writeln!(
        md,
        "Command: {}\n",
        code_in_text(&execution.command.join(" "))
    );
    if !record.metrics.is_empty() {
        md.push_str("| metric | value |\n|---|---|\n");
        for (name, value) in &record.metrics {
            let _ = writeln!(md, "| {} | {} |", cell(name), markdown::metric(*value));
        }
        md.push('\n');
    }
    if !project.manifest.datasets.is_empty() {
        md.push_str("| dataset | trained on | BLAKE3 of the data |\n|---|---|---|\n");
        for name in project.manifest.datasets.keys() {
            let digest = record.datasets.get(name).map_or("", String::as_str);
            let used = execution.samples.get(name).map_or_else(
                || "all rows".to_owned(),
                |(_, rows)| format!("a sample of {rows} rows"),
            );
            let _ = writeln!(
                md,
                "| {} | {used} | `{}` |",
                cell(name),
                markdown::short_digest(digest)
            );
        }
        md.push('\n');
    }
    if let (Some(model), Some(version)) = (&project.manifest.model, version) {
        let _ = writeln!(
            md,
            "Registered {} version {}{} ({}, BLAKE3 `{}`).\n",
            code_in_text(&model.name),
            version.version,
            if challenger {
                format!(" as the `{CHALLENGER}`")
            } else {
                String::new()
            },
            code_in_text(&version.artifact.path),
            markdown::short_digest(&version.artifact.digest),
        );
    } else if record.outcome.is_success() && record.mode == RunMode::Sample {
        md.push_str("A sampled run is recorded, not registered: full training on the default branch registers the model.\n\n");
    } else if record.outcome.is_success()
        && project.manifest.model.is_some()
        && record.ci.host == Host::Terminal.as_str()
    {
        md.push_str("A local experiment is recorded, not registered: outside CI, only a clean work tree on the default branch registers the model.\n\n");
    }
    if !record.outcome.is_success() && !execution.tail.is_empty() {
        md.push_str("The command's last lines:\n\n");
        md.push_str(&markdown::fenced("text", &execution.tail.join("\n")));
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_override_with_json_or_text() {
        let declared = BTreeMap::from([("epochs".to_owned(), serde_json::json!(200))]);
        let params = merge_params(
            &declared,
            &["epochs=50".to_owned(), "optimizer=adam".to_owned()],
        )
        .unwrap();
        assert_eq!(params["epochs"], serde_json::json!(50));
        assert_eq!(params["optimizer"], serde_json::json!("adam"));
        assert!(merge_params(&declared, &["epochs".to_owned()]).is_err());
    }

    #[test]
    fn the_event_chooses_the_mode() {
        let push = |branch: &str| Trigger::Push {
            branch: branch.to_owned(),
        };
        assert_eq!(mode_for(&push("main"), "main").0, RunMode::Full);
        assert_eq!(mode_for(&push("feature"), "main").0, RunMode::Sample);
        assert_eq!(
            mode_for(
                &Trigger::Tag {
                    name: "v1".to_owned()
                },
                "main"
            )
            .0,
            RunMode::Full
        );
        assert_eq!(mode_for(&Trigger::Local, "main").0, RunMode::Full);
    }
}
