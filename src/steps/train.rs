//! `trainyard train`: runs the project's own training command in the mode the
//! event calls for (a deterministic sample on a pull request, the full data
//! on the default branch), streams its log, captures its metrics, stops it
//! early when it does not converge, and records the run in the ledger. A full
//! training on the default branch registers the model and makes it the
//! `challenger`.
//!
//! [`execute`] (prepare the data, fill in the command, run it, read its
//! metrics) is shared with `reproduce`.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use trainyard_ci::{CiContext, Trigger};
use trainyard_core::manifest::{Direction, Manifest, TrackingBackend, Train};
use trainyard_core::{Conclusion, ConfigError, Finding, Location, Report, StepError};
use trainyard_data::fingerprint::{self, FingerprintError};
use trainyard_data::sample::{self, SampleError, SampleOptions, SampleSize};
use trainyard_ledger::{
    ArtifactRef, ArtifactStore, CiInfo, GitInfo, GitLedger, Ledger, LocalStore, ModelVersion,
    Outcome, RunId, RunMode, RunRecord, Timestamp,
};
use trainyard_runner::{
    Control, EarlyStopRule, EarlyStopper, Finish, MetricSeries, RunOptions, StopReason, Stream,
    parse_metric_line, read_metrics_file,
};

use super::{LogStream, Project, StepContext};
use crate::cli::{TrainArgs, TrainMode};

pub const STEP: &str = "train";

/// Where runs write, relative to the project root: `<RUNS_DIR>/<run id>/`.
pub const RUNS_DIR: &str = ".trainyard/runs";

/// The alias a full training on the default branch moves.
pub const CHALLENGER: &str = "challenger";

/// How many of the command's last output lines a failed run's report shows.
const TAIL_LINES: usize = 20;

pub fn run(args: &TrainArgs, context: &StepContext) -> Result<Report, StepError> {
    let project = context.project()?;
    let ci = CiContext::read(&context.env)?;
    let default_branch = default_branch(&project, &ci);
    let (mode, because) = match args.mode {
        Some(TrainMode::Sample) => (RunMode::Sample, "--mode sample".to_owned()),
        Some(TrainMode::Full) => (RunMode::Full, "--mode full".to_owned()),
        None => mode_for(&ci.trigger, &default_branch),
    };
    let train = train_section(&project)?;
    let params = merge_params(&train.params, &args.params)?;
    // Before spending compute: the run must have somewhere to be recorded.
    let ledger = open_ledger(&project)?;
    let git = git_info(&project.root, &ci);

    let plan = Plan {
        root: &project.root,
        manifest: &project.manifest,
        manifest_file: &project.manifest_file,
        mode,
        params,
    };
    let mut execution = execute(&plan, &context.log)?;

    let mut findings = std::mem::take(&mut execution.findings);
    let mut artifacts = Vec::new();
    if execution.outcome.is_success()
        && let Some(model) = &project.manifest.model
    {
        let store = LocalStore::in_project(&project.root);
        match store_model(&store, &execution.output_dir, &model.path) {
            Ok(stored) => artifacts = stored,
            Err(reason) => execution.outcome = Outcome::Failed { reason },
        }
    }

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
    };
    ledger.append_run(&record).map_err(ledger_error)?;

    let mut registered = None;
    let mut challenger = false;
    if record.outcome.is_success()
        && mode == RunMode::Full
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
                short(&git.commit),
                record.id
            );
            ledger
                .move_alias(&model.name, CHALLENGER, version.version, &actor, &reason)
                .map_err(ledger_error)?;
            challenger = true;
        }
        registered = Some(version);
    }

    let failure = failure_finding(&record.outcome, &project.manifest_file, train);
    findings.extend(failure);
    Ok(report(
        &project,
        &record,
        &execution,
        &because,
        registered.as_ref(),
        challenger,
        findings,
    ))
}

/// What one run needs besides the manifest.
#[derive(Debug)]
pub(crate) struct Plan<'a> {
    /// The project folder: the command runs here and its paths are relative to it.
    pub root: &'a Path,
    pub manifest: &'a Manifest,
    pub manifest_file: &'a str,
    pub mode: RunMode,
    pub params: BTreeMap<String, serde_json::Value>,
}

/// A finished run, before it is recorded.
#[derive(Debug)]
pub(crate) struct Execution {
    pub id: RunId,
    pub started_at: Timestamp,
    /// The command as run (placeholders filled in).
    pub command: Vec<String>,
    pub run_dir: PathBuf,
    pub output_dir: PathBuf,
    /// Dataset name -> BLAKE3 digest of all its data; `<name>.sample` -> the sample's.
    pub datasets: BTreeMap<String, String>,
    /// Dataset name -> (path given to the command, rows) for sampled datasets.
    pub samples: BTreeMap<String, (String, u64)>,
    pub metrics: BTreeMap<String, f64>,
    pub series: BTreeMap<String, Vec<(u64, f64)>>,
    pub outcome: Outcome,
    pub duration: Duration,
    pub findings: Vec<Finding>,
    /// The command's last lines of output.
    pub tail: Vec<String>,
}

/// The manifest's `train` section, or a usage error that says how to add one.
pub(crate) fn train_section(project: &Project) -> Result<&Train, StepError> {
    project.manifest.train.as_ref().ok_or_else(|| {
        StepError::from(
            ConfigError::new(
                project.manifest_file.clone(),
                "no-train",
                "trainyard.yaml has no `train` section, so there is no command to run",
            )
            .with_help("add `train: { command: [python3, train.py, --out, \"{{ output_dir }}\"] }` (see docs/steps/train.md)"),
        )
    })
}

/// The branch whose pushes train on the full data: the event payload's
/// repository default branch when known, else the manifest's.
pub(crate) fn default_branch(project: &Project, ci: &CiContext) -> String {
    ci.default_branch
        .clone()
        .unwrap_or_else(|| project.manifest.project.default_branch.clone())
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

/// The project's ledger: its git repository's `refs/trainyard/*`.
pub(crate) fn open_ledger(project: &Project) -> Result<GitLedger, StepError> {
    if project.manifest.tracking.backend == TrackingBackend::Mlflow {
        return Err(StepError::from(
            ConfigError::new(
                project.manifest_file.clone(),
                "unsupported-tracking",
                "`tracking.backend: mlflow` is not supported yet: runs are recorded in git",
            )
            .with_key_path("tracking.backend")
            .with_help("remove `tracking` (or set `backend: git`) to record runs under refs/trainyard/ in this repository"),
        ));
    }
    GitLedger::open(&project.root).map_err(ledger_error)
}

pub(crate) fn ledger_error(error: trainyard_ledger::LedgerError) -> StepError {
    super::ledger_sync::ledger_error(error)
}

/// Prepares the data, runs the command and reads what it reported.
#[allow(clippy::too_many_lines)] // the run from start to end, read top to bottom
pub(crate) fn execute(plan: &Plan<'_>, log: &LogStream) -> Result<Execution, StepError> {
    let manifest = plan.manifest;
    let train = manifest.train.as_ref().ok_or_else(|| {
        StepError::Usage(format!("{} has no `train` section", plan.manifest_file))
    })?;
    let timeout = train.timeout_duration().map_err(|why| {
        StepError::from(
            ConfigError::new(plan.manifest_file, "bad-timeout", why).with_key_path("train.timeout"),
        )
    })?;

    let started_at = chrono::Utc::now();
    let id = RunId::new(started_at);
    let run_dir_relative = format!("{RUNS_DIR}/{id}");
    let output_relative = format!("{run_dir_relative}/out");
    let run_dir = plan.root.join(&run_dir_relative);
    let output_dir = plan.root.join(&output_relative);
    std::fs::create_dir_all(&output_dir)
        .map_err(|error| StepError::io("creating", &output_dir, error))?;

    // Data: every dataset's full fingerprint, and a sample when the mode asks.
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    let mut env: Vec<(String, String)> = Vec::new();
    let mut datasets = BTreeMap::new();
    let mut samples = BTreeMap::new();
    for (name, dataset) in &manifest.datasets {
        let full = fingerprint::fingerprint_dataset(plan.root, &dataset.path, None)
            .map_err(|error| fingerprint_error(plan.manifest_file, name, error))?;
        datasets.insert(name.clone(), full.digest.clone());
        let path = match (&dataset.sample, plan.mode) {
            (Some(declared), RunMode::Sample) => {
                let relative = format!("{run_dir_relative}/data/{name}.csv");
                let target = plan.root.join(&relative);
                let rows = sample_dataset(plan, name, dataset, declared, &target)?;
                let digest = fingerprint::hash_file(&target)
                    .map_err(|error| StepError::Environment(error.to_string()))?;
                datasets.insert(format!("{name}.sample"), digest.to_hex().to_string());
                samples.insert(name.clone(), (relative.clone(), rows));
                relative
            }
            _ => dataset.path.clone(),
        };
        vars.insert(format!("datasets.{name}.path"), path.clone());
        vars.insert(format!("datasets.{name}.digest"), full.digest.clone());
        env.push((format!("TRAINYARD_DATASET_{}_PATH", env_name(name)), path));
    }
    let mode = plan.mode.to_string();
    for (key, value) in [
        ("output_dir", output_relative.clone()),
        ("run_dir", run_dir_relative.clone()),
        ("run_id", id.to_string()),
        ("mode", mode.clone()),
        ("seed", train.seed.to_string()),
        ("project", manifest.project.name.clone()),
    ] {
        env.push((
            format!("TRAINYARD_{}", key.to_ascii_uppercase()),
            value.clone(),
        ));
        vars.insert(key.to_owned(), value);
    }
    for (name, value) in &plan.params {
        let text = match value {
            serde_json::Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        env.push((format!("TRAINYARD_PARAM_{}", env_name(name)), text.clone()));
        vars.insert(format!("params.{name}"), text);
    }
    let command = train
        .command
        .iter()
        .map(|part| fill(part, &vars))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|why| {
            StepError::from(
                ConfigError::new(plan.manifest_file, "bad-placeholder", why)
                    .with_key_path("train.command")
                    .with_help(format!(
                        "known placeholders: {}",
                        vars.keys()
                            .map(|key| format!("{{{{ {key} }}}}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
            )
        })?;

    let mut options = RunOptions::new(&command, plan.root);
    // `./train.sh` means the project's, whatever folder trainyard was started from.
    if let Some(program) = command.first()
        && program.contains('/')
        && Path::new(program).is_relative()
    {
        let path = plan.root.join(program);
        options.program = std::path::absolute(&path).unwrap_or(path).into_os_string();
    }
    options.env = env.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
    options.timeout = timeout;

    let mut stopper = EarlyStopper::new(stop_rules(manifest));
    let mut series = MetricSeries::default();
    let mut stop: Option<StopReason> = None;
    let mut protocol_problems = Vec::new();
    let mut tail: VecDeque<String> = VecDeque::with_capacity(TAIL_LINES);
    let group = log.group(&format!("train ({mode}): {}", command.join(" ")));
    let summary = trainyard_runner::run_command(&options, |line| {
        group.line(line.text);
        if tail.len() == TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(line.text.to_owned());
        if line.stream != Stream::Stdout {
            return Control::Continue;
        }
        match parse_metric_line(line.text) {
            Some(Ok(parsed)) => {
                for (name, step, value) in series.push(&parsed) {
                    if stop.is_none()
                        && let Some(reason) = stopper.observe(&name, step, value)
                    {
                        stop = Some(reason);
                        return Control::Stop;
                    }
                }
            }
            Some(Err(problem)) => protocol_problems.push(format!("{problem}: `{}`", line.text)),
            None => {}
        }
        Control::Continue
    });
    drop(group);
    let summary = summary.map_err(|error| match error {
        trainyard_runner::RunError::Empty => StepError::from(
            ConfigError::new(plan.manifest_file, "empty-command", error.to_string())
                .with_key_path("train.command"),
        ),
        other => StepError::Environment(other.to_string()),
    })?;

    let mut findings: Vec<Finding> = protocol_problems
        .iter()
        .take(5)
        .map(|problem| Finding::warning("train/metric-line", problem.clone()))
        .collect();
    let mut outcome = match summary.finish {
        Finish::Stopped => Outcome::Stopped {
            reason: stop.as_ref().map_or_else(
                || "an early-stop rule fired".to_owned(),
                ToString::to_string,
            ),
        },
        Finish::TimedOut => Outcome::TimedOut,
        Finish::Exited {
            code: Some(0),
            signal: None,
        } => Outcome::Succeeded,
        Finish::Exited {
            code: Some(code), ..
        } => Outcome::Failed {
            reason: format!("the command exited with code {code}"),
        },
        Finish::Exited {
            signal: Some(signal),
            ..
        } => Outcome::Failed {
            reason: format!("the command was ended by signal {signal}"),
        },
        Finish::Exited { .. } => Outcome::Failed {
            reason: "the command ended without an exit code".to_owned(),
        },
    };

    let mut metrics = series.last_values();
    let mut series = series.into_map();
    if let Some(file) = &train.metrics_file {
        match read_metrics_file(&output_dir.join(file)) {
            Ok(read) => {
                metrics.extend(read.values);
                for (name, points) in read.series {
                    series.entry(name).or_insert_with(|| {
                        trainyard_runner::thin(points, trainyard_runner::MAX_POINTS)
                    });
                }
            }
            // A run that did not finish may not have written it; that is not news.
            Err(error) if outcome.is_success() => {
                outcome = Outcome::Failed {
                    reason: format!("{error} (`train.metrics-file`)"),
                };
            }
            Err(_) => {}
        }
    }
    if outcome.is_success()
        && let Some(model) = &manifest.model
        && !output_dir.join(&model.path).exists()
    {
        outcome = Outcome::Failed {
            reason: format!(
                "the command did not write the model `{}` (`model.path`) in its output folder {output_relative}",
                model.path
            ),
        };
    }
    if protocol_problems.len() > 5 {
        findings.push(Finding::warning(
            "train/metric-line",
            format!(
                "{} more malformed `trainyard:metric` lines",
                protocol_problems.len() - 5
            ),
        ));
    }

    Ok(Execution {
        id,
        started_at,
        command,
        run_dir,
        output_dir,
        datasets,
        samples,
        metrics,
        series,
        outcome,
        duration: summary.duration,
        findings,
        tail: tail.into(),
    })
}

/// `{{ name }}` placeholders filled from `vars`; an unknown name is an error.
pub(crate) fn fill(template: &str, vars: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err(format!(
                "`{template}` opens a `{{{{` placeholder it never closes"
            ));
        };
        let name = after[..end].trim();
        let value = vars.get(name).ok_or_else(|| {
            format!("`{template}` uses the unknown placeholder `{{{{ {name} }}}}`")
        })?;
        out.push_str(value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `my-data.v2` -> `MY_DATA_V2`, for variable names.
fn env_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

fn stop_rules(manifest: &Manifest) -> Vec<EarlyStopRule> {
    let Some(train) = &manifest.train else {
        return Vec::new();
    };
    train
        .early_stop
        .iter()
        .map(|rule| {
            let declared = manifest
                .model
                .as_ref()
                .and_then(|model| model.metrics.get(&rule.metric))
                .map(|spec| spec.direction);
            EarlyStopRule {
                metric: rule.metric.clone(),
                non_finite: rule.non_finite,
                above: rule.above,
                below: rule.below,
                patience: rule.patience,
                min_delta: rule.min_delta,
                minimize: rule.direction.or(declared) != Some(Direction::Maximize),
            }
        })
        .collect()
}

fn sample_dataset(
    plan: &Plan<'_>,
    name: &str,
    dataset: &trainyard_core::manifest::Dataset,
    declared: &trainyard_core::manifest::Sample,
    target: &Path,
) -> Result<u64, StepError> {
    let size = declared
        .fraction
        .map(SampleSize::Fraction)
        .or(declared.rows.map(SampleSize::Rows))
        .unwrap_or(SampleSize::Fraction(1.0));
    let mut options = SampleOptions::new(size, declared.seed);
    if declared.stratify
        && let Some(label) = &dataset.label
    {
        options = options.stratified(label.clone());
    }
    let files = fingerprint::list_files(plan.root, &dataset.path)
        .map_err(|error| fingerprint_error(plan.manifest_file, name, error))?;
    let [input] = files.as_slice() else {
        return Err(StepError::Usage(format!(
            "dataset `{name}` has {} files; sampled training takes a single CSV file for now (or remove `datasets.{name}.sample` to train on all of it)",
            files.len()
        )));
    };
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|error| StepError::io("creating", parent, error))?;
    }
    let summary = sample::sample_csv(input, target, &options).map_err(|error| match error {
        SampleError::Io {
            action,
            path,
            source,
        } => StepError::io(action, path, source),
        SampleError::Usage(message) => StepError::Usage(format!("dataset `{name}`: {message}")),
        csv @ SampleError::Csv { .. } => StepError::Environment(csv.to_string()),
    })?;
    Ok(summary.output_rows)
}

fn fingerprint_error(manifest_file: &str, dataset: &str, error: FingerprintError) -> StepError {
    match error {
        FingerprintError::NoFiles { pattern } => StepError::from(
            ConfigError::new(
                manifest_file,
                "dataset-missing",
                format!("dataset `{dataset}`: `{pattern}` matches no files"),
            )
            .with_key_path(format!("datasets.{dataset}.path")),
        ),
        FingerprintError::Io {
            action,
            path,
            source,
        } => StepError::io(action, path, source),
        other @ FingerprintError::Format { .. } => StepError::Environment(other.to_string()),
    }
}

/// Stores `model.path` (a file, or every file of a folder) content-addressed.
fn store_model(
    store: &dyn ArtifactStore,
    output_dir: &Path,
    model_path: &str,
) -> Result<Vec<ArtifactRef>, String> {
    let source = output_dir.join(model_path);
    let stored = if source.is_dir() {
        store.put_dir(&source).map(|refs| {
            refs.into_iter()
                .map(|mut artifact| {
                    artifact.path =
                        format!("{}/{}", model_path.trim_end_matches('/'), artifact.path);
                    artifact
                })
                .collect()
        })
    } else {
        store
            .put(model_path, &source)
            .map(|artifact| vec![artifact])
    };
    stored.map_err(|error| format!("storing the model: {error}"))
}

/// The artifact a model version points at: the model file, or a folder's first file.
fn primary(artifacts: &[ArtifactRef]) -> Option<&ArtifactRef> {
    artifacts.first()
}

/// HEAD's commit, branch (CI's when detached) and whether tracked files changed.
pub(crate) fn git_info(root: &Path, ci: &CiContext) -> GitInfo {
    let commit = git(root, &["rev-parse", "HEAD"])
        .or_else(|| ci.sha.clone())
        .unwrap_or_default();
    let branch =
        git(root, &["symbolic-ref", "--short", "-q", "HEAD"]).or_else(|| match &ci.trigger {
            Trigger::Push { branch } => Some(branch.clone()),
            Trigger::PullRequest(pr) => Some(pr.head_ref.clone()),
            _ => None,
        });
    // Untracked files (the run's own outputs among them) do not make a commit dirty.
    let dirty = git(root, &["status", "--porcelain", "--untracked-files=no"])
        .is_some_and(|status| !status.is_empty());
    GitInfo {
        commit,
        branch,
        dirty,
    }
}

/// A git command's trimmed stdout, `None` when it fails or prints nothing.
pub(crate) fn git(root: &Path, args: &[&str]) -> Option<String> {
    let output = std::process::Command::new("git")
        .args(args)
        .current_dir(root)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    (output.status.success() && !text.is_empty()).then_some(text)
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

pub(crate) fn ci_info(ci: &CiContext) -> CiInfo {
    CiInfo {
        host: ci.host.as_str().to_owned(),
        event: match ci.trigger {
            Trigger::Local => None,
            _ => Some(ci.trigger.kind().to_owned()),
        },
        url: ci.run_url.clone(),
    }
}

/// trainyard's version, and the interpreter's when the command starts with a known one.
pub(crate) fn tool_versions(command: &[String]) -> BTreeMap<String, String> {
    let mut tools =
        BTreeMap::from([("trainyard".to_owned(), env!("CARGO_PKG_VERSION").to_owned())]);
    let Some(program) = command.first() else {
        return tools;
    };
    let name = Path::new(program)
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let known = name.starts_with("python")
        || ["node", "Rscript", "julia", "cargo", "dotnet", "uv"].contains(&name.as_str());
    if known
        && let Ok(output) = std::process::Command::new(program)
            .arg("--version")
            .stdin(std::process::Stdio::null())
            .output()
    {
        // Python 2 wrote its version on stderr.
        let text = if output.stdout.is_empty() {
            output.stderr
        } else {
            output.stdout
        };
        if let Some(line) = String::from_utf8_lossy(&text).lines().next() {
            tools.insert(name, line.trim().to_owned());
        }
    }
    tools
}

pub(crate) fn short(commit: &str) -> &str {
    commit.get(..7).unwrap_or(commit)
}

fn failure_finding(outcome: &Outcome, manifest_file: &str, train: &Train) -> Option<Finding> {
    let (rule, message) = match outcome {
        Outcome::Succeeded => return None,
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
        Outcome::Succeeded => {
            let mut title = format!("trained on {data}");
            if !headline.is_empty() {
                let _ = write!(title, ": {headline}");
            }
            if let Some(version) = version {
                let _ = write!(title, " (version {})", version.version);
            }
            title
        }
        Outcome::Stopped { reason } => format!("training stopped early: {reason}"),
        Outcome::TimedOut => "training timed out; its process tree was killed".to_owned(),
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
            .with_output("challenger", challenger.to_string());
    }
    for (name, value) in &record.metrics {
        report = report.with_output(format!("metric-{name}"), value.to_string());
    }
    for finding in findings {
        report.push_finding(finding);
    }
    report.summary = summary_markdown(project, record, execution, because, version, challenger);
    report
}

pub(crate) fn outcome_name(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Succeeded => "succeeded",
        Outcome::Failed { .. } => "failed",
        Outcome::Stopped { .. } => "stopped",
        Outcome::TimedOut => "timed-out",
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
                .map(|value| format!("{name} {}", format_value(*value)))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A metric for people: up to 4 decimals, no trailing zeros.
pub(crate) fn format_value(value: f64) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    let text = format!("{value:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_owned()
    } else {
        text.to_owned()
    }
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
        "Run `{}`: {} data ({because}), {}, {:.1} s.\n",
        record.id,
        record.mode,
        record.outcome,
        record.duration.as_secs_f64()
    );
    let _ = writeln!(md, "Command: `{}`\n", execution.command.join(" "));
    if !record.metrics.is_empty() {
        md.push_str("| metric | value |\n|---|---|\n");
        for (name, value) in &record.metrics {
            let _ = writeln!(md, "| {name} | {} |", format_value(*value));
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
                "| {name} | {used} | `{}` |",
                digest.get(..16).unwrap_or(digest)
            );
        }
        md.push('\n');
    }
    if let (Some(model), Some(version)) = (&project.manifest.model, version) {
        let _ = writeln!(
            md,
            "Registered `{}` version {}{} (`{}`, BLAKE3 `{}`).\n",
            model.name,
            version.version,
            if challenger {
                " as the `challenger`"
            } else {
                ""
            },
            version.artifact.path,
            version
                .artifact
                .digest
                .get(..16)
                .unwrap_or(&version.artifact.digest),
        );
    } else if record.outcome.is_success() && record.mode == RunMode::Sample {
        md.push_str("A sampled run is recorded, not registered: full training on the default branch registers the model.\n\n");
    }
    if !record.outcome.is_success() && !execution.tail.is_empty() {
        md.push_str("The command's last lines:\n\n```text\n");
        for line in &execution.tail {
            md.push_str(line);
            md.push('\n');
        }
        md.push_str("```\n");
    }
    md
}

/// quickstart's training phase: a sampled training as on a pull request, a
/// comparison with the champion, a full training as after the merge (the
/// model becomes the challenger), and the ledger's runs. The example folder
/// becomes its own git repository first: the ledger lives in it.
pub(crate) fn quickstart_phase(context: &StepContext) -> Result<Vec<Report>, StepError> {
    let project = context.project()?;
    ensure_repository(&project.root, &project.manifest.project.default_branch)?;
    let mut reports = Vec::new();

    let mut sampled = run(&TrainArgs::with_mode(TrainMode::Sample), context)?;
    sampled.title = format!("as on a pull request, {}", sampled.title);
    reports.push(sampled);
    reports.push(super::compare::run(
        &crate::cli::CompareArgs {
            run: None,
            against: "champion".to_owned(),
        },
        context,
    )?);
    let mut full = run(&TrainArgs::with_mode(TrainMode::Full), context)?;
    full.title = format!("as after the merge, {}", full.title);
    reports.push(full);
    reports.push(super::runs::run(
        &crate::cli::RunsCommand::List(crate::cli::RunsListArgs { limit: 20 }),
        context,
    )?);
    Ok(reports)
}

/// Makes `root` a git repository with everything committed on `branch`,
/// unless it already is the top of one.
fn ensure_repository(root: &Path, branch: &str) -> Result<(), StepError> {
    let top = git(root, &["rev-parse", "--show-toplevel"]).map(PathBuf::from);
    if let (Some(top), Ok(root)) = (top, root.canonicalize())
        && top.canonicalize().is_ok_and(|top| top == root)
    {
        return Ok(());
    }
    let ignore = root.join(".gitignore");
    if !ignore.exists() {
        std::fs::write(&ignore, ".trainyard/\n")
            .map_err(|error| StepError::io("writing", &ignore, error))?;
    }
    // Someone trying trainyard may have no git identity yet.
    let identity: &[&str] = if git(root, &["config", "user.email"]).is_some() {
        &[]
    } else {
        &[
            "-c",
            "user.name=trainyard quickstart",
            "-c",
            "user.email=quickstart@trainyard.invalid",
        ]
    };
    let initial_branch = format!("--initial-branch={branch}");
    for args in [
        vec!["init", "--quiet", initial_branch.as_str()],
        vec!["add", "--all"],
        [
            identity,
            &["commit", "--quiet", "-m", "The example project"],
        ]
        .concat(),
    ] {
        let status = std::process::Command::new("git")
            .args(&args)
            .current_dir(root)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .output()
            .map_err(|error| {
                StepError::Environment(format!(
                    "could not run `git` ({error}); the ledger lives in git: install it"
                ))
            })?;
        if !status.status.success() {
            return Err(StepError::Environment(format!(
                "`git {}` failed in {}: {}",
                args.join(" "),
                root.display(),
                String::from_utf8_lossy(&status.stderr).trim()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_and_unknown_ones_named() {
        let vars = BTreeMap::from([
            ("output_dir".to_owned(), "out".to_owned()),
            ("params.lr".to_owned(), "0.1".to_owned()),
        ]);
        assert_eq!(fill("--out={{ output_dir }}", &vars).unwrap(), "--out=out");
        assert_eq!(
            fill("{{params.lr}}/{{ output_dir}}", &vars).unwrap(),
            "0.1/out"
        );
        assert_eq!(fill("plain", &vars).unwrap(), "plain");
        let error = fill("{{ datasets.x.path }}", &vars).unwrap_err();
        assert!(
            error.contains("unknown placeholder `{{ datasets.x.path }}`"),
            "{error}"
        );
        assert!(
            fill("{{ output_dir", &vars)
                .unwrap_err()
                .contains("never closes")
        );
    }

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

    #[test]
    fn values_are_short_for_people() {
        assert_eq!(format_value(0.956_140_35), "0.9561");
        assert_eq!(format_value(2.0), "2");
        assert_eq!(format_value(f64::NAN), "NaN");
    }
}
