//! A step's Report on the forge, after `trainyard-ci`'s `Publisher` wrote the
//! console text, step outputs, job summary and annotations: a check run and a
//! commit status on the commit (a pull request's head), the sticky comment for
//! the report the caller names, and the Report's forge requests (the pull
//! request a promotion asks for, the retraining a drift asks for). The ids and
//! URLs of what was published are added to the step's outputs.
//!
//! A write GitHub refuses (a fork's pull request, a read-only token) leaves
//! the step's verdict as it is: the annotations and job summary already
//! written stand in, and the job's log says so once. GitHub not answering
//! after retries is [`Outcome::Failed`] (the caller exits 3).
//!
//! On Azure Pipelines building an Azure Repos repository the same goes to
//! Azure DevOps ([`azure`]): a status on the pull request (or the commit),
//! the sticky thread, the promotion's pull request and the retraining run.
//!
//! This module knows nothing of trainyard's steps: the caller says which
//! report to publish, under which project name, and whether it is the
//! comment.

mod azure;
mod paths;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use trainyard_ci::{CiContext, Env, Host, github};
use trainyard_core::{ForgeRequest, Report, Severity};

use crate::checks::{Annotation, CheckRun, CheckRunOutput};
use crate::client::{GitHub, GitHubConfig, Repository};
use crate::comment::report_marker;
use crate::error::ForgeError;
use crate::job::token;
use crate::pulls::PullRequestSpec;

/// Where the refusal warning was given once for this job.
const REFUSED_MARKER: &str = ".github-refused";

/// What to publish.
#[derive(Debug, Clone, Copy)]
pub struct Publication<'a> {
    /// The report of a step that judges the change: it gets a check run and
    /// a commit status. (Which steps judge is the caller's to say: call this
    /// for those only.)
    pub report: &'a Report,
    /// The project's name from trainyard.yaml, empty when it could not be
    /// read: the check run and the status are `trainyard <step> (<project>)`.
    pub project: &'a str,
    /// Whether the report's summary is the pull request's sticky comment
    /// (trainyard's `report` step), found again by its project and step.
    pub sticky_comment: bool,
}

/// The job publishing it.
#[derive(Debug, Clone, Copy)]
pub struct Job<'a> {
    /// The job's environment: the token, `GITHUB_*` (repository, event, API,
    /// workspace, `GITHUB_OUTPUT`), `TRAINYARD_GITHUB_*` and the retraining
    /// settings.
    pub env: &'a Env,
    /// GitHub Actions publishes to GitHub, Azure Pipelines to Azure DevOps;
    /// in a terminal [`publish`] does nothing.
    pub host: Host,
    /// A folder of this job (the kept reports' folder) where a refusal is
    /// remembered, so the log says it once per job; `None`: every time.
    pub memory: Option<&'a Path>,
}

/// How publishing ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Outcome {
    /// Published, refused (and said so), or nothing to publish here.
    Done,
    /// GitHub did not answer after retries, or answered what trainyard cannot
    /// use (the log says which): the step ends with exit 3.
    Failed,
}

/// Publishes `publication` to the job's forge: GitHub when the job is on
/// GitHub Actions with a token and a repository, Azure DevOps on Azure
/// Pipelines ([`azure`]). Workflow or logging commands (the token's mask
/// first, then warnings and errors) go to `log`: the job's log, which is
/// stdout with console text and stderr when stdout carries the JSON document.
pub fn publish(publication: &Publication<'_>, job: &Job<'_>, log: &mut dyn Write) -> Outcome {
    let mut log = Log {
        out: log,
        host: job.host,
    };
    match job.host {
        Host::GitHubActions => {}
        Host::AzurePipelines => return azure::publish(publication, job, &mut log),
        Host::Terminal => return Outcome::Done,
    }
    let env = job.env;
    let Some(token) = token(env) else {
        return Outcome::Done;
    };
    log.mask(token.expose());
    let ci = match CiContext::read(env) {
        Ok(ci) => ci,
        Err(error) => {
            log.warning(&format!("not publishing to GitHub: {error}"));
            return Outcome::Done;
        }
    };
    let Some(repository) = ci.repository.as_deref().and_then(Repository::parse) else {
        log.warning("not publishing to GitHub: GITHUB_REPOSITORY is not set to owner/name");
        return Outcome::Done;
    };
    let github = match GitHub::new(GitHubConfig::from_env(env, token, repository)) {
        Ok(github) => github,
        Err(error) => {
            log.error(&error.to_string());
            return Outcome::Failed;
        }
    };
    let mut outputs = BTreeMap::new();
    match publish_to(&github, publication, &ci, env, &mut outputs) {
        Ok(()) => {}
        Err(error) if error.is_refused() => {
            if job
                .memory
                .is_none_or(|dir| first_refusal(dir, REFUSED_MARKER))
            {
                log.warning(&format!(
                    "{error}. The results are in this job's annotations and summary instead; the step's own verdict stands."
                ));
            }
        }
        Err(error) => {
            log.error(&error.to_string());
            return Outcome::Failed;
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
    Outcome::Done
}

fn publish_to(
    github: &GitHub,
    publication: &Publication<'_>,
    ci: &CiContext,
    env: &Env,
    outputs: &mut BTreeMap<String, String>,
) -> Result<(), ForgeError> {
    let Publication {
        report, project, ..
    } = *publication;
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
        let published = github.publish_check_run(&CheckRun {
            name: name.clone(),
            head_sha: sha.clone(),
            conclusion: report.conclusion.into(),
            details_url: ci.run_url.clone(),
            output: CheckRunOutput {
                title: report.title.clone(),
                summary: trainyard_ci::summary::render(report),
                text: None,
                annotations: annotations(report, env.get("GITHUB_WORKSPACE").map(Path::new)),
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
    if publication.sticky_comment
        && let Some(pr) = ci.pull_request()
    {
        let marker = report_marker(report, project);
        let comment = github.upsert_sticky_comment(pr.number, &marker, &report.summary)?;
        outputs.insert("comment-id".to_owned(), comment.id.to_string());
        if let Some(url) = comment.html_url {
            outputs.insert("comment-url".to_owned(), url);
        }
    }
    for request in &report.forge {
        match request {
            ForgeRequest::OpenPullRequest {
                head,
                base,
                title,
                body,
            } => {
                let pr = github.open_pull_request(&PullRequestSpec {
                    head: head.clone(),
                    base: base.clone(),
                    title: title.clone(),
                    body: body.clone(),
                })?;
                outputs.insert("pull-request-number".to_owned(), pr.number.to_string());
                if let Some(url) = pr.html_url {
                    outputs.insert("pull-request-url".to_owned(), url);
                }
            }
            ForgeRequest::DispatchRetraining { reason } => {
                if retrain(github, reason, ci, project, env)? {
                    outputs.insert("retrain-dispatched".to_owned(), "true".to_owned());
                }
            }
        }
    }
    Ok(())
}

/// The report's findings with a file, as check-run annotations on paths from
/// the repository root. A file outside the repository (`--current
/// /data/x.csv`) has no line to annotate; it stays in the summary.
fn annotations(report: &Report, workspace: Option<&Path>) -> Vec<Annotation> {
    report
        .all_findings()
        .into_iter()
        .filter_map(|finding| {
            Annotation::from_finding(finding, |file| paths::repository_path(file, workspace))
        })
        .filter(|annotation| paths::in_repository(&annotation.path))
        .collect()
}

/// Starts the retraining pipeline the user named: a `repository_dispatch`
/// event type (the `retrain-event` input, `TRAINYARD_RETRAIN_EVENT`) and/or a
/// workflow file run by `workflow_dispatch` on the default branch
/// (`retrain-workflow`, `TRAINYARD_RETRAIN_WORKFLOW`). True when it sent
/// either.
fn retrain(
    github: &GitHub,
    reason: &str,
    ci: &CiContext,
    project: &str,
    env: &Env,
) -> Result<bool, ForgeError> {
    let mut dispatched = false;
    if let Some(event) = trainyard_ci::input(env, "retrain-event") {
        github.repository_dispatch(
            &event,
            &serde_json::json!({
                "project": project,
                "reason": reason,
                "run_url": ci.run_url,
            }),
        )?;
        dispatched = true;
    }
    if let Some(workflow) = trainyard_ci::input(env, "retrain-workflow") {
        let git_ref = ci
            .default_branch
            .clone()
            .unwrap_or_else(|| "main".to_owned());
        let mut inputs = serde_json::Map::new();
        inputs.insert(
            "reason".to_owned(),
            serde_json::Value::String(reason.to_owned()),
        );
        github.workflow_dispatch(&workflow, &git_ref, &inputs)?;
        dispatched = true;
    }
    Ok(dispatched)
}

/// True the first time in this job (the `marker` file is created); false after.
fn first_refusal(dir: &Path, marker: &str) -> bool {
    let _ = std::fs::create_dir_all(dir);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dir.join(marker))
        .is_ok()
}

/// Commands about publishing in the host's syntax (GitHub's workflow
/// commands, Azure's `##vso` logging commands), written by `trainyard-ci`.
struct Log<'a> {
    out: &'a mut dyn Write,
    host: Host,
}

impl Log<'_> {
    fn line(&mut self, line: &str) {
        let _ = writeln!(self.out, "{line}");
    }

    fn warning(&mut self, message: &str) {
        self.issue(Severity::Warning, message);
    }

    fn error(&mut self, message: &str) {
        self.issue(Severity::Error, message);
    }

    fn issue(&mut self, severity: Severity, message: &str) {
        let line = match self.host {
            Host::AzurePipelines => {
                let kind = if severity == Severity::Error {
                    "error"
                } else {
                    "warning"
                };
                trainyard_ci::azure::command("task.logissue", &[("type", kind.to_owned())], message)
            }
            _ => github::message(severity, message),
        };
        self.line(&line);
    }

    fn mask(&mut self, secret: &str) {
        let lines = match self.host {
            Host::AzurePipelines => trainyard_ci::azure::mask_commands(secret),
            _ => github::mask_commands(secret),
        };
        for line in lines {
            self.line(&line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trainyard_core::Conclusion;

    fn job(env: &Env, host: Host) -> Job<'_> {
        Job {
            env,
            host,
            memory: None,
        }
    }

    #[test]
    fn nothing_is_published_off_github_or_without_a_token() {
        let report = Report::new("gate", Conclusion::Success, "passed");
        let publication = Publication {
            report: &report,
            project: "demo",
            sticky_comment: false,
        };
        let env = Env::from_pairs([("GITHUB_TOKEN", "ghs_secret")]);
        let mut log = Vec::new();
        assert_eq!(
            publish(&publication, &job(&env, Host::Terminal), &mut log),
            Outcome::Done
        );
        assert_eq!(
            publish(
                &publication,
                &job(&Env::default(), Host::GitHubActions),
                &mut log
            ),
            Outcome::Done
        );
        assert!(log.is_empty(), "{}", String::from_utf8_lossy(&log));
    }

    #[test]
    fn the_token_is_masked_before_anything_is_said() {
        let report = Report::new("gate", Conclusion::Success, "passed");
        let publication = Publication {
            report: &report,
            project: "demo",
            sticky_comment: false,
        };
        let env = Env::from_pairs([("GITHUB_TOKEN", "ghs_secret"), ("GITHUB_ACTIONS", "true")]);
        let mut log = Vec::new();
        assert_eq!(
            publish(&publication, &job(&env, Host::GitHubActions), &mut log),
            Outcome::Done
        );
        let log = String::from_utf8(log).unwrap();
        assert!(log.starts_with("::add-mask::ghs_secret\n"), "{log}");
        assert!(
            log.contains("::warning title=trainyard::not publishing to GitHub: "),
            "{log}"
        );
    }

    #[test]
    fn a_refusal_is_said_once_per_job() {
        let dir = tempfile::tempdir().unwrap();
        assert!(first_refusal(dir.path(), REFUSED_MARKER));
        assert!(!first_refusal(dir.path(), REFUSED_MARKER));
    }
}
