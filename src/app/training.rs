//! Running the project's training command once: sampling and fingerprinting
//! the data, filling the command's placeholders, running it under the
//! runner's early-stop rules and timeout, and reading what it reported.
//! `train` records the result; `reproduce` compares it with a recorded run.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::time::Duration;

use trainyard_core::manifest::{Direction, Manifest, Train};
use trainyard_core::{ConfigError, Finding, StepError};
use trainyard_data::fingerprint::{self, FingerprintError};
use trainyard_data::sample::{self, SampleOptions, SampleSize};
use trainyard_ledger::{Outcome, RunId, RunMode, Timestamp};
use trainyard_runner::{
    Control, EarlyStopRule, EarlyStopper, Finish, MetricSeries, RunOptions, StopReason, Stream,
    parse_metric_line, read_metrics_file,
};

use super::paths::RUNS_DIR;
use super::{LogStream, Project};

/// How many of the command's last output lines a failed run's report shows.
const TAIL_LINES: usize = 20;

/// What one run needs besides the manifest.
#[derive(Debug)]
pub struct Plan<'a> {
    /// The project folder: the command runs here and its paths are relative to it.
    pub root: &'a Path,
    pub manifest: &'a Manifest,
    pub manifest_file: &'a str,
    pub mode: RunMode,
    pub params: BTreeMap<String, serde_json::Value>,
}

/// A finished run, before it is recorded.
#[derive(Debug)]
pub struct Execution {
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
pub fn train_section(project: &Project) -> Result<&Train, StepError> {
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

/// Prepares the data, runs the command and reads what it reported.
#[allow(clippy::too_many_lines)] // the run from start to end, read top to bottom
pub fn execute(plan: &Plan<'_>, log: &LogStream) -> Result<Execution, StepError> {
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
    super::paths::create_dir(plan.root, Path::new(&output_relative))?;

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
                // The sample keeps the dataset's format (and its extension).
                let (relative, rows) =
                    sample_dataset(plan, name, dataset, declared, &run_dir_relative)?;
                let target = plan.root.join(&relative);
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
    // The command is the project's code (on a pull request, its author's): not the CI's tokens.
    // Every spelling the runner exported (`INPUT_GITHUB-TOKEN`, `System.AccessToken`) goes too.
    options.remove_env = trainyard_ci::CREDENTIAL_VARIABLES
        .iter()
        .map(Into::into)
        .chain(
            std::env::vars_os()
                .map(|(name, _)| name)
                .filter(|name| name.to_str().is_some_and(trainyard_ci::is_credential)),
        )
        .collect();
    options.timeout = timeout;
    // From here a signal is passed on to the command's group and the run is
    // recorded as cancelled, not left running as an orphan.
    options.cancel = Some(super::interrupt::received_flag());
    super::interrupt::take_over();

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
        // No improvement for `patience` values is convergence, not a failure.
        Finish::Stopped if stop.as_ref().is_some_and(StopReason::is_convergence) => {
            Outcome::Converged {
                reason: stop.as_ref().map(ToString::to_string).unwrap_or_default(),
            }
        }
        Finish::Stopped => Outcome::Stopped {
            reason: stop.as_ref().map_or_else(
                || "an early-stop rule fired".to_owned(),
                ToString::to_string,
            ),
        },
        Finish::TimedOut => Outcome::TimedOut,
        Finish::Cancelled { signal } => Outcome::Cancelled {
            signal: super::interrupt::signal_name(signal),
        },
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
            // A run that did not finish (or was stopped once converged) may
            // not have written it; that is not news.
            Err(error) if outcome == Outcome::Succeeded => {
                outcome = Outcome::Failed {
                    reason: format!("{error} (`train.metrics-file`)"),
                };
            }
            Err(_) => {}
        }
    }
    if outcome.is_success()
        && let Some(reason) = non_finite(manifest, &metrics)
    {
        outcome = Outcome::Failed { reason };
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
pub fn fill(template: &str, vars: &BTreeMap<String, String>) -> Result<String, String> {
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

/// Why the run fails when a declared metric (under `model.metrics`, or
/// watched by an early-stop rule with `non-finite` on) ended NaN or infinite:
/// such a model is not one to register, whatever the command's exit code.
fn non_finite(manifest: &Manifest, metrics: &BTreeMap<String, f64>) -> Option<String> {
    let declared = manifest
        .model
        .iter()
        .flat_map(|model| model.metrics.keys())
        .map(|name| (name.as_str(), "`model.metrics`"));
    let watched = manifest
        .train
        .iter()
        .flat_map(|train| &train.early_stop)
        .filter(|rule| rule.non_finite)
        .map(|rule| (rule.metric.as_str(), "`train.early-stop`"));
    let broken: Vec<String> = declared
        .chain(watched)
        .filter_map(|(name, section)| {
            let value = metrics.get(name)?;
            (!value.is_finite()).then(|| format!("`{name}` is {value} (declared in {section})"))
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    (!broken.is_empty()).then(|| {
        format!(
            "{}: a run whose declared metrics are not finite numbers registers no model",
            broken.join(", ")
        )
    })
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

/// Samples a dataset into `<run dir>/data/<name>.<ext>`: the path relative
/// to the project and the rows kept.
fn sample_dataset(
    plan: &Plan<'_>,
    name: &str,
    dataset: &trainyard_core::manifest::Dataset,
    declared: &trainyard_core::manifest::Sample,
    run_dir_relative: &str,
) -> Result<(String, u64), StepError> {
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
    let files = super::datasets::DatasetFiles::local(plan.root, plan.manifest_file);
    let mut relative = String::new();
    let sampled = super::sampling::sample_dataset(&files, name, dataset, options, |format| {
        relative = format!(
            "{run_dir_relative}/data/{name}.{}",
            sample::extension(format)
        );
        super::paths::Destination::in_project(plan.root, &relative)
    })?;
    Ok((relative, sampled.summary.output_rows))
}

fn fingerprint_error(manifest_file: &str, dataset: &str, error: FingerprintError) -> StepError {
    match error {
        FingerprintError::NoFiles { pattern } => {
            super::dataset_missing(manifest_file, dataset, &pattern)
        }
        FingerprintError::Io {
            action,
            path,
            source,
        } => StepError::io(action, path, source),
        other @ FingerprintError::Format { .. } => StepError::Environment(other.to_string()),
    }
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
}
