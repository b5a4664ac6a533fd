//! After the publisher: keep the step's Report for `trainyard report`, and on
//! GitHub with a token, publish it as a check run and a commit status (plus the
//! sticky comment for `report`, and the pull request a `promote` asks for).
//!
//! A write GitHub refuses (a fork's pull request, a read-only token) leaves the
//! step's verdict as it is: the annotations and job summary the publisher
//! already wrote stand in, and the job's log says so once. GitHub not
//! answering after retries is an environment error (exit 3).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use trainyard_ci::{CiContext, Env, Host, OutputFormat, github};
use trainyard_core::{Conclusion, ExitStatus, Finding, Report, StepError};
use trainyard_forge::{
    Annotation, CheckRun, CheckRunOutput, ForgeError, GitHub, GitHubConfig, PullRequestSpec,
    Repository, RetryPolicy, Token, sticky_marker,
};

use crate::app::kept_reports::{reports_dir, save_report};
use crate::app::{ForgeEvidence, StepContext};
use crate::steps::Step;

/// Where the refusal notice was given once for this job.
const REFUSED_MARKER: &str = ".github-refused";

/// The token: `TRAINYARD_GITHUB_TOKEN`, the action's `github-token` input, or `GITHUB_TOKEN`.
pub fn token(env: &Env) -> Option<Token> {
    [
        "TRAINYARD_GITHUB_TOKEN",
        "INPUT_GITHUB_TOKEN",
        "INPUT_GITHUB-TOKEN",
        "GITHUB_TOKEN",
    ]
    .iter()
    .find_map(|name| env.get(name).and_then(Token::new))
}

/// Whether a report's step judges the change (and so gets a check run and a
/// place in the PR report): see `steps::Kind`.
fn is_judgement(step: &str) -> bool {
    Step::named(step).is_some_and(Step::judges)
}

/// Runs after the publisher printed `report`; returns how the process exits.
pub fn publish(
    report: &Report,
    context: &StepContext,
    host: Host,
    format: OutputFormat,
) -> ExitStatus {
    let status = report.exit_status();
    match keep_and_publish(report, context, host, format) {
        Forge::Done => status,
        Forge::Failed => status.max(ExitStatus::Environment),
    }
}

/// A step that could not produce a Report: kept and published as a failed
/// one (a broken trainyard.yaml then fails the pull request's check, at its
/// line). The exit code stays the error's unless GitHub did not answer.
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
    let mut report = Report::new(step.name(), Conclusion::Failure, title);
    report.push_finding(finding);
    match keep_and_publish(&report, context, host, format) {
        Forge::Done => error.exit_status(),
        Forge::Failed => ExitStatus::Environment,
    }
}

/// How publishing to GitHub ended.
enum Forge {
    /// Published, refused (and said so), or nothing to publish.
    Done,
    /// GitHub did not answer after retries, or answered what we cannot use: exit 3.
    Failed,
}

/// Keeps `report` for `trainyard report` and publishes it to GitHub.
fn keep_and_publish(
    report: &Report,
    context: &StepContext,
    host: Host,
    format: OutputFormat,
) -> Forge {
    if !is_judgement(&report.step) {
        return Forge::Done;
    }
    let env = &context.env;
    let mut log = Log { format };
    let reports_dir = reports_dir(env);
    if report.step != Step::Report.name()
        && let Some(dir) = &reports_dir
        && let Err(error) = save_report(dir, report)
    {
        log.warning(&format!(
            "could not keep this step's report for `trainyard report` in {}: {error}",
            dir.display()
        ));
    }
    if host != Host::GitHubActions {
        return Forge::Done;
    }
    let Some(token) = token(env) else {
        return Forge::Done;
    };
    log.mask(token.expose());
    let ci = match CiContext::read(env) {
        Ok(ci) => ci,
        Err(error) => {
            log.warning(&format!("not publishing to GitHub: {error}"));
            return Forge::Done;
        }
    };
    let Some(repository) = ci.repository.as_deref().and_then(Repository::parse) else {
        log.warning("not publishing to GitHub: GITHUB_REPOSITORY is not set to owner/name");
        return Forge::Done;
    };
    let github = match GitHub::new(github_config(env, token, repository)) {
        Ok(github) => github,
        Err(error) => {
            log.error(&error.to_string());
            return Forge::Failed;
        }
    };
    let project = trainyard_core::manifest::load(&context.manifest_path)
        .map_or_else(|_| String::new(), |manifest| manifest.project.name);
    let mut outputs = BTreeMap::new();
    match publish_to(&github, report, &ci, &project, env, &mut outputs) {
        Ok(()) => {}
        Err(error) if error.is_refused() => {
            let first = reports_dir.as_deref().is_none_or(first_refusal);
            if first {
                log.warning(&format!(
                    "{error}. The results are in this job's annotations and summary instead; the step's own verdict stands."
                ));
            }
        }
        Err(error) => {
            log.error(&error.to_string());
            return Forge::Failed;
        }
    }
    if !outputs.is_empty()
        && let Some(path) = env.get("GITHUB_OUTPUT")
        && let Err(error) = github::write_outputs(Path::new(path), &outputs)
    {
        log.warning(&format!(
            "could not write the GitHub outputs to {path}: {error}"
        ));
    }
    Forge::Done
}

fn publish_to(
    github: &GitHub,
    report: &Report,
    ci: &CiContext,
    project: &str,
    env: &Env,
    outputs: &mut BTreeMap<String, String>,
) -> Result<(), ForgeError> {
    let name = if project.is_empty() {
        format!("trainyard {}", report.step)
    } else {
        format!("trainyard {} ({project})", report.step)
    };
    // On a pull request the checks belong on its head, not on the merge commit GITHUB_SHA names.
    let head_sha = ci
        .pull_request()
        .and_then(|pr| pr.head_sha.clone())
        .or_else(|| ci.sha.clone());
    if let Some(sha) = &head_sha {
        let workspace = env.get("GITHUB_WORKSPACE").map(Path::new);
        let annotations = report
            .all_findings()
            .into_iter()
            .filter_map(|finding| {
                Annotation::from_finding(finding, |file| repository_path(file, workspace))
            })
            // A file outside the repository (`--current /data/x.csv`) has no
            // line to annotate; it stays in the summary.
            .filter(|annotation| in_repository(&annotation.path))
            .collect();
        let published = github.publish_check_run(&CheckRun {
            name: name.clone(),
            head_sha: sha.clone(),
            conclusion: report.conclusion.into(),
            details_url: ci.run_url.clone(),
            output: CheckRunOutput {
                title: report.title.clone(),
                summary: trainyard_ci::summary::render(report),
                text: None,
                annotations,
            },
        })?;
        outputs.insert("check-run-id".to_owned(), published.id.to_string());
        if let Some(url) = published.html_url {
            outputs.insert("check-run-url".to_owned(), url);
        }
        github.set_commit_status(
            sha,
            report.conclusion.into(),
            &name,
            &report.title,
            ci.run_url.as_deref(),
        )?;
    }
    if report.step == Step::Report.name()
        && let Some(pr) = ci.pull_request()
    {
        // The report names its project even when the manifest is broken.
        let project = report
            .outputs
            .get("project")
            .map_or(project, String::as_str);
        let marker = sticky_marker(
            if project.is_empty() {
                "trainyard"
            } else {
                project
            },
            &report.step,
        );
        let comment = github.upsert_sticky_comment(pr.number, &marker, &report.summary)?;
        outputs.insert("comment-id".to_owned(), comment.id.to_string());
        if let Some(url) = comment.html_url {
            outputs.insert("comment-url".to_owned(), url);
        }
    }
    if report.step == Step::DataDrift.name()
        && drifted(report)
        && retrain(github, report, ci, project, env)?
    {
        outputs.insert("retrain-dispatched".to_owned(), "true".to_owned());
    }
    if let Some(spec) = promotion_pull_request(report) {
        let pr = github.open_pull_request(&spec)?;
        outputs.insert("pull-request-number".to_owned(), pr.number.to_string());
        if let Some(url) = pr.html_url {
            outputs.insert("pull-request-url".to_owned(), url);
        }
    }
    Ok(())
}

/// Whether a drift report found drift: its `drifted` output, else its verdict.
fn drifted(report: &Report) -> bool {
    match report.outputs.get("drifted").map(String::as_str) {
        Some(value) => value == "true",
        None => report.conclusion == Conclusion::Failure,
    }
}

/// Starts the retraining pipeline the user named: a `repository_dispatch`
/// event type (`TRAINYARD_RETRAIN_EVENT`) and/or a workflow file run by
/// `workflow_dispatch` on the default branch (`TRAINYARD_RETRAIN_WORKFLOW`).
/// True when it sent either.
fn retrain(
    github: &GitHub,
    report: &Report,
    ci: &CiContext,
    project: &str,
    env: &Env,
) -> Result<bool, ForgeError> {
    let reason = format!("data drift: {}", report.title);
    let mut dispatched = false;
    if let Some(event) = env
        .get("TRAINYARD_RETRAIN_EVENT")
        .or_else(|| env.get("INPUT_RETRAIN_EVENT"))
    {
        github.repository_dispatch(
            event,
            &serde_json::json!({
                "project": project,
                "reason": reason,
                "run_url": ci.run_url,
            }),
        )?;
        dispatched = true;
    }
    if let Some(workflow) = env
        .get("TRAINYARD_RETRAIN_WORKFLOW")
        .or_else(|| env.get("INPUT_RETRAIN_WORKFLOW"))
    {
        let git_ref = ci
            .default_branch
            .clone()
            .unwrap_or_else(|| "main".to_owned());
        let mut inputs = serde_json::Map::new();
        inputs.insert("reason".to_owned(), serde_json::Value::String(reason));
        github.workflow_dispatch(workflow, &git_ref, &inputs)?;
        dispatched = true;
    }
    Ok(dispatched)
}

/// The pull request a `promote` or `rollback` asks for: it pushed a branch
/// (not a direct commit) and named the base, title and body.
fn promotion_pull_request(report: &Report) -> Option<PullRequestSpec> {
    let output = |name: &str| report.outputs.get(name).filter(|v| !v.is_empty());
    if ![Step::Promote.name(), Step::Rollback.name()].contains(&report.step.as_str())
        || output("direct").map(String::as_str) != Some("false")
        || output("pushed").map(String::as_str) != Some("true")
    {
        return None;
    }
    Some(PullRequestSpec {
        head: output("branch")?.clone(),
        base: output("pr-base")?.clone(),
        title: output("pr-title")?.clone(),
        body: output("pr-body").cloned().unwrap_or_default(),
    })
}

/// A finding's file as a path from the repository root (check-run
/// annotations need that): relative paths are relative to the working
/// directory, which may be a project folder inside the repository.
fn repository_path(file: &str, workspace: Option<&Path>) -> String {
    let path = Path::new(file);
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        match std::env::current_dir() {
            Ok(dir) => dir.join(path),
            Err(_) => return file.replace('\\', "/"),
        }
    };
    workspace
        .and_then(|root| {
            let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
            let absolute = absolute.canonicalize().unwrap_or_else(|_| absolute.clone());
            absolute.strip_prefix(root).ok().map(Path::to_path_buf)
        })
        .map_or_else(
            || file.replace('\\', "/"),
            |relative| relative.to_string_lossy().replace('\\', "/"),
        )
}

/// Whether a path from `repository_path` is inside the repository.
fn in_repository(path: &str) -> bool {
    !path.is_empty()
        && !Path::new(path).has_root()
        && !path.contains(':')
        && !Path::new(path)
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
}

/// True the first time in this job (the marker file is created); false after.
fn first_refusal(dir: &Path) -> bool {
    let _ = std::fs::create_dir_all(dir);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dir.join(REFUSED_MARKER))
        .is_ok()
}

/// `TRAINYARD_GITHUB_ATTEMPTS` (default 5) tries per request.
/// The job's GitHub: its API (GitHub Enterprise through GITHUB_API_URL), the
/// token and repository, and the retry policy.
fn github_config(env: &Env, token: Token, repository: Repository) -> GitHubConfig {
    GitHubConfig {
        api_url: env
            .get("GITHUB_API_URL")
            .unwrap_or("https://api.github.com")
            .to_owned(),
        token,
        repository,
        retry: retry_policy(env),
    }
}

pub fn retry_policy(env: &Env) -> RetryPolicy {
    let mut policy = RetryPolicy::default();
    if let Some(attempts) = env
        .get("TRAINYARD_GITHUB_ATTEMPTS")
        .and_then(|v| v.trim().parse::<u32>().ok())
        .filter(|&n| n > 0)
    {
        policy.attempts = attempts;
    }
    if let Some(seconds) = env
        .get("TRAINYARD_GITHUB_TIMEOUT")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|&n| n > 0)
    {
        policy.timeout = Duration::from_secs(seconds);
    }
    policy
}

/// Workflow commands about publishing: on stdout with console text, on
/// stderr when stdout carries the one JSON document (the runner reads both).
struct Log {
    format: OutputFormat,
}

impl Log {
    fn line(&mut self, line: &str) {
        let _ = match self.format {
            OutputFormat::Text => writeln!(std::io::stdout(), "{line}"),
            OutputFormat::Json => writeln!(std::io::stderr(), "{line}"),
        };
    }

    fn warning(&mut self, message: &str) {
        self.line(&github::command(
            "warning",
            &[("title", "trainyard".to_owned())],
            message,
        ));
    }

    fn error(&mut self, message: &str) {
        self.line(&github::command(
            "error",
            &[("title", "trainyard".to_owned())],
            message,
        ));
    }

    fn mask(&mut self, secret: &str) {
        for line in github::mask_commands(secret) {
            self.line(&line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_comes_from_trainyard_then_the_input_then_github_token() {
        let env = Env::from_pairs([("GITHUB_TOKEN", "a"), ("INPUT_GITHUB-TOKEN", "b")]);
        assert_eq!(token(&env).unwrap().expose(), "b");
        let env = Env::from_pairs([("GITHUB_TOKEN", "a"), ("INPUT_GITHUB-TOKEN", "")]);
        assert_eq!(token(&env).unwrap().expose(), "a");
        assert!(token(&Env::default()).is_none());
    }

    #[test]
    fn a_pushed_promotion_branch_asks_for_a_pull_request_and_a_direct_commit_does_not() {
        let report = Report::new("promote", trainyard_core::Conclusion::Success, "promoted")
            .with_output("direct", "false")
            .with_output("pushed", "true")
            .with_output("branch", "trainyard/promote-staging")
            .with_output("pr-base", "main")
            .with_output("pr-title", "Promote v3 to staging")
            .with_output("pr-body", "body");
        let spec = promotion_pull_request(&report).unwrap();
        assert_eq!(
            (spec.head.as_str(), spec.base.as_str()),
            ("trainyard/promote-staging", "main")
        );
        let direct = report.clone().with_output("direct", "true");
        assert!(promotion_pull_request(&direct).is_none());
        let gate = Report {
            step: "gate".into(),
            ..report
        };
        assert!(promotion_pull_request(&gate).is_none());
    }

    #[test]
    fn only_paths_inside_the_repository_are_annotated() {
        assert!(in_repository("data/a.csv"));
        assert!(in_repository("trainyard.yaml"));
        assert!(!in_repository("/tmp/production.csv"));
        assert!(!in_repository("../other/a.csv"));
        assert!(!in_repository("C:/data/a.csv"));
        assert!(!in_repository(""));
    }

    #[test]
    fn paths_become_relative_to_the_repository_root() {
        let root = std::env::current_dir().unwrap();
        assert_eq!(repository_path("Cargo.toml", Some(&root)), "Cargo.toml");
        let parent = root.parent().unwrap();
        let name = root.file_name().unwrap().to_string_lossy();
        assert_eq!(
            repository_path("Cargo.toml", Some(parent)),
            format!("{name}/Cargo.toml")
        );
        assert_eq!(repository_path("data/x.csv", None), "data/x.csv");
    }
}

/// The forge as the steps may ask it for evidence (see [`ForgeEvidence`]):
/// GitHub, from the job's token, repository and API URL.
#[derive(Debug, Clone, Default)]
pub struct GitHubEvidence {
    env: Env,
}

impl GitHubEvidence {
    pub fn new(env: &Env) -> Self {
        Self { env: env.clone() }
    }
}

impl ForgeEvidence for GitHubEvidence {
    /// Read from GitHub when the job has a token; otherwise why not, in a line
    /// that says how to provide it (the rule then fails: it never passes unread).
    fn with_env(&self, env: &Env) -> Box<dyn ForgeEvidence> {
        Box::new(Self::new(env))
    }

    fn commit_checks(&self, commit: &str) -> Result<trainyard_gate::CommitChecks, StepError> {
        use trainyard_gate::{CheckState, CommitChecks};
        let env = &self.env;
        let Some(token) = token(env) else {
            return Ok(CommitChecks::Unavailable(
                "no GitHub token; set GITHUB_TOKEN (in a workflow: `env: { GITHUB_TOKEN: ${{ github.token }} }` \
                 or the action's `github-token` input) with `checks: read` and `statuses: read` permissions"
                    .to_owned(),
            ));
        };
        let Some(repository) = env.get("GITHUB_REPOSITORY").and_then(Repository::parse) else {
            return Ok(CommitChecks::Unavailable(
                "GITHUB_REPOSITORY is not set to owner/name, so there is no GitHub repository to ask; \
                 set it (GitHub Actions does)"
                    .to_owned(),
            ));
        };
        let source = format!("GitHub {repository}");
        let github = GitHub::new(github_config(env, token, repository))
            .map_err(|error| StepError::Environment(error.to_string()))?;
        let refused = |error: ForgeError| match error {
            ForgeError::Refused { status, .. } => Ok(CommitChecks::Unavailable(format!(
                "GitHub refused to show them (HTTP {status}); give the job's token `checks: read` and `statuses: read` permissions"
            ))),
            error => Err(StepError::Environment(error.to_string())),
        };
        let runs = match github.check_runs_for_ref(commit) {
            Ok(runs) => runs,
            Err(error) => return refused(error),
        };
        let statuses = match github.combined_status(commit) {
            Ok(combined) => combined.statuses,
            Err(error) => return refused(error),
        };
        let mut results: BTreeMap<String, Vec<CheckState>> = BTreeMap::new();
        for run in runs {
            let state = match (run.status.as_str(), run.conclusion.as_deref()) {
                ("completed", Some("success")) => CheckState::Succeeded,
                ("completed", conclusion) => {
                    CheckState::Failed(conclusion.unwrap_or("none").to_owned())
                }
                (status, _) => CheckState::Pending(status.to_owned()),
            };
            results.entry(run.name).or_default().push(state);
        }
        for status in statuses {
            let state = match status.state.as_str() {
                "success" => CheckState::Succeeded,
                "pending" => CheckState::Pending(status.state.clone()),
                _ => CheckState::Failed(status.state.clone()),
            };
            results.entry(status.context).or_default().push(state);
        }
        Ok(CommitChecks::Read { source, results })
    }
}
