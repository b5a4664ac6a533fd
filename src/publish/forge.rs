//! After the publisher: keep a judging step's Report for `trainyard report`
//! (`app::kept_reports`), then hand it to `trainyard_forge::publish` with what
//! only the binary knows (whether the step judges, whether it is `report`, the
//! project's name); and answer the steps' questions to the forge
//! ([`CiForgeEvidence`]).

use std::io::Write;

use trainyard_ci::{Host, OutputFormat, github};
use trainyard_core::{ExitStatus, Finding, Report, Severity, StepError};
use trainyard_forge::evidence::{self, CheckStates};
use trainyard_forge::publish::{Job, Outcome, Publication};

use crate::app::kept_reports::{reports_dir, save_report};
use crate::app::{ForgeEvidence, StepContext};
use crate::steps::Step;

/// Runs after the publisher printed `report`; returns how the process exits.
pub fn publish(
    report: &Report,
    context: &StepContext,
    host: Host,
    format: OutputFormat,
) -> ExitStatus {
    let status = report.exit_status();
    match keep_and_publish(report, context, host, format) {
        Outcome::Done => status,
        Outcome::Failed => status.max(ExitStatus::Environment),
    }
}

/// A step that could not produce a Report: kept and published as a failed
/// one (a broken trainyard.yaml then fails the pull request's check, at its
/// line). The exit code stays the error's unless the forge did not answer.
pub fn publish_error(
    step: Step,
    error: &StepError,
    context: &StepContext,
    host: Host,
    format: OutputFormat,
) -> ExitStatus {
    let finding = match error {
        StepError::Config(config) => config.to_finding(),
        other => Finding::error(trainyard_ci::publish::error_rule(other), other.to_string()),
    };
    let message = error.to_string();
    let title = message.lines().next().unwrap_or("failed").to_owned();
    let mut report = Report::new(step.name(), trainyard_core::Conclusion::Failure, title);
    report.push_finding(finding);
    match keep_and_publish(&report, context, host, format) {
        Outcome::Done => error.exit_status(),
        Outcome::Failed => ExitStatus::Environment,
    }
}

/// Keeps `report` for `trainyard report` and publishes it to the forge, when its
/// step judges the change (see `steps::Kind`).
fn keep_and_publish(
    report: &Report,
    context: &StepContext,
    host: Host,
    format: OutputFormat,
) -> Outcome {
    let Some(step) = Step::named(&report.step).filter(|step| step.judges()) else {
        return Outcome::Done;
    };
    let env = &context.env;
    // Workflow commands: on stdout with console text, on stderr when stdout
    // carries the one JSON document (the runner reads both).
    let mut log: Box<dyn Write> = match format {
        OutputFormat::Text => Box::new(std::io::stdout()),
        OutputFormat::Json => Box::new(std::io::stderr()),
    };
    let reports_dir = reports_dir(env);
    if step != Step::Report
        && let Some(dir) = &reports_dir
        && let Err(error) = save_report(dir, report)
    {
        let message = format!(
            "could not keep this step's report for `trainyard report` in {}: {error}",
            dir.display()
        );
        let line = match host {
            Host::AzurePipelines => trainyard_ci::azure::command(
                "task.logissue",
                &[("type", "warning".to_owned())],
                &message,
            ),
            _ => github::message(Severity::Warning, &message),
        };
        let _ = writeln!(log, "{line}");
    }
    let project = if matches!(host, Host::GitHubActions | Host::AzurePipelines) {
        trainyard_core::manifest::load(&context.manifest_path)
            .map_or_else(|_| String::new(), |manifest| manifest.project.name)
    } else {
        String::new()
    };
    trainyard_forge::publish::publish(
        &Publication {
            report,
            project: &project,
            sticky_comment: step == Step::Report,
        },
        &Job {
            env,
            host,
            memory: reports_dir.as_deref(),
        },
        &mut log,
    )
}

/// The forge as the steps may ask it for evidence (see [`ForgeEvidence`]):
/// GitHub from the job's token, repository and API URL, or, on Azure
/// Pipelines, Azure DevOps from the build's token and predefined variables
/// (`trainyard_forge::evidence` chooses by the host).
#[derive(Debug, Clone, Default)]
pub struct CiForgeEvidence {
    env: trainyard_ci::Env,
}

impl CiForgeEvidence {
    pub fn new(env: &trainyard_ci::Env) -> Self {
        Self { env: env.clone() }
    }
}

impl ForgeEvidence for CiForgeEvidence {
    fn with_env(&self, env: &trainyard_ci::Env) -> Box<dyn ForgeEvidence> {
        Box::new(Self::new(env))
    }

    /// Read from the forge when the job has a token; otherwise why not, in a line
    /// that says how to provide it (the rule then fails: it never passes unread).
    fn commit_checks(&self, commit: &str) -> Result<trainyard_gate::CommitChecks, StepError> {
        use trainyard_gate::CommitChecks;
        let checks = evidence::commit_checks(&self.env, commit)
            .map_err(|error| StepError::Environment(error.to_string()))?;
        Ok(match checks {
            CheckStates::Unavailable(why) => CommitChecks::Unavailable(why),
            CheckStates::Read { source, results } => CommitChecks::Read {
                source,
                results: results
                    .into_iter()
                    .map(|(name, states)| (name, states.into_iter().map(gate_state).collect()))
                    .collect(),
            },
        })
    }
}

/// The forge's reading of one check as the gate's (the gate does not depend on the forge).
fn gate_state(state: evidence::CheckState) -> trainyard_gate::CheckState {
    use trainyard_gate::CheckState;
    match state {
        evidence::CheckState::Succeeded => CheckState::Succeeded,
        evidence::CheckState::Pending(status) => CheckState::Pending(status),
        evidence::CheckState::Failed(conclusion) => CheckState::Failed(conclusion),
    }
}
