//! Changing an environment's desired state: `deploy/<env>/release.yaml`
//! committed with git2 on a review branch (or onto the target branch),
//! pushed with the `git` CLI, retried on a lost race, recorded in the ledger,
//! aliases moved. `promote` and `rollback` make changes; `status --record`
//! records the ones merged since.

use std::fmt::Write as _;

use trainyard_core::{Conclusion, Finding, ForgeRequest, Report, StepError};
use trainyard_gate::release::{Release, ReleaseKind};
use trainyard_gate::{GateError, gitops, verdict::short};
use trainyard_ledger::{
    CHAMPION, Deployment, DeploymentKind, GitLedger, Ledger, RunId, detect_actor,
};

use super::StepContext;
use super::judge::gate_error;
use super::ledger::ledger_error;
use crate::requests::ChangeRequest;
use crate::steps::Step;

/// Who acts: the CI's user, else git's identity.
pub fn actor(context: &StepContext, root: &std::path::Path) -> String {
    detect_actor(|name| context.env.get(name).map(str::to_owned), root)
}

/// One desired-state change: the release to write and where.
#[derive(Debug)]
pub struct Change<'a> {
    pub release: &'a Release,
    /// `deploy/<env>/release.yaml` as a path in the repository.
    pub path: String,
    /// The branch that holds the environments' desired state.
    pub target: &'a str,
    /// Markdown for the PR body (the verdict table for a promotion).
    pub summary: String,
    pub reason: &'a str,
    /// Also move `champion` (the last environment).
    pub champion: bool,
}

/// Commits the release, pushes it, records the deployment and moves the aliases.
pub fn apply(
    repo: &git2::Repository,
    ledger: &GitLedger,
    change: &Change<'_>,
    how: &ChangeRequest,
) -> Result<Report, StepError> {
    let release = change.release;
    let env = &release.environment;
    let content = release.to_yaml();
    let mut attempt = 1;
    let written = loop {
        let tip = gitops::tip(repo, change.target, &how.remote).map_err(gate_error)?;
        let current = current_release(repo, tip.commit, &change.path)?;
        if let Some(current) = current
            .as_ref()
            .filter(|current| current.model == release.model && current.version == release.version)
        {
            return Ok(already(change, current));
        }
        match write(repo, change, how, &tip, current.as_ref(), &content) {
            Ok(written) => break written,
            // Someone else moved the branch meanwhile: build again on the new tip.
            Err(Lost::Race { fetch, .. }) if attempt < MAX_ATTEMPTS => {
                // A short, growing pause lets the other writer finish.
                std::thread::sleep(std::time::Duration::from_millis(25 * u64::from(attempt)));
                attempt += 1;
                if fetch {
                    let workdir = repo.workdir().unwrap_or_else(|| repo.path());
                    gitops::fetch(workdir, &how.remote, change.target).map_err(gate_error)?;
                }
            }
            Err(Lost::Race { why, .. }) => {
                return Err(StepError::Environment(format!(
                    "{why} (gave up after {MAX_ATTEMPTS} attempts: others keep moving `{}`)",
                    change.target
                )));
            }
            Err(Lost::Failed(error)) => return Err(error),
        }
    };
    let title = title(release);
    let (commit, branch, can_push) = (written.commit, written.branch, written.pushed);

    let mut report = Report::new(
        step_of(release.kind),
        Conclusion::Success,
        format!(
            "{title}: {} {} on `{branch}`",
            if how.direct { "committed" } else { "proposed" },
            short(&commit.to_string())
        ),
    );
    if !can_push {
        report.push_finding(Finding::warning(
            "not-pushed",
            format!(
                "nothing was pushed ({}); push it yourself: git push {} {branch}",
                if how.no_push {
                    "--no-push".to_owned()
                } else {
                    format!("no remote `{}`", how.remote)
                },
                how.remote
            ),
        ));
    }

    if how.direct {
        let deployment = deployment_of(release, commit, &release.by, release.at, change.reason)?;
        record(ledger, env, &deployment, change.champion)?;
    }
    if can_push {
        // The version's run and registration must reach the remote: the
        // reconcile after the merge may run in another clone.
        ledger.push(&how.remote).map_err(ledger_error)?;
    }
    if !how.direct {
        // Git is the source of truth: the move counts once it is merged.
        report.push_finding(Finding::notice(
            "recorded-on-merge",
            format!(
                "the ledger records this {kind} and moves `{env}`{champion} once `{branch}` is merged into `{target}` \
                 and `trainyard status --record` runs on `{target}`",
                kind = release.kind_name(),
                champion = if change.champion { " and `champion`" } else { "" },
                target = change.target
            ),
        ));
    }

    if !how.direct && can_push {
        report.forge.push(pull_request(title, &branch, change));
    }
    report.summary = format!(
        "`{path}` on `{branch}`:\n\n```yaml\n{content}```\n",
        path = change.path
    );
    report.data = serde_json::to_value(release).ok();
    Ok(report
        .with_output("passed", "true")
        .with_output("changed", "true")
        .with_output("environment", env.clone())
        .with_output("model", release.model.clone())
        .with_output("version", release.version.to_string())
        .with_output("commit", commit.to_string())
        .with_output("branch", branch)
        .with_output("direct", how.direct.to_string())
        .with_output("recorded", how.direct.to_string())
        .with_output("pushed", can_push.to_string())
        .with_output("release", change.path.clone()))
}

/// How many times a promotion is rebuilt on a branch tip that moved meanwhile.
const MAX_ATTEMPTS: u32 = 5;

/// Why [`write`] did not write.
enum Lost {
    /// The branch moved under us (locally, or the remote refused a push that
    /// was not a fast-forward); `fetch`: the remote's tip must be fetched first.
    Race {
        why: String,
        fetch: bool,
    },
    Failed(StepError),
}

impl From<StepError> for Lost {
    fn from(error: StepError) -> Self {
        Self::Failed(error)
    }
}

/// The environment's release file on the target branch, if it has one.
fn current_release(
    repo: &git2::Repository,
    tip: git2::Oid,
    path: &str,
) -> Result<Option<Release>, StepError> {
    gitops::read_file(repo, tip, path)
        .map_err(gate_error)?
        .map(|bytes| Release::parse(&String::from_utf8_lossy(&bytes), path))
        .transpose()
        .map_err(gate_error)
}

/// The report when the environment already has this version: nothing to do.
fn already(change: &Change<'_>, current: &Release) -> Report {
    let release = change.release;
    let verb = match release.kind {
        ReleaseKind::Promote => "promote",
        ReleaseKind::Rollback => "roll back",
    };
    Report::new(
        step_of(release.kind),
        Conclusion::Neutral,
        format!(
            "{} already has {} v{} as its desired state on `{}` (since {}); nothing to {verb}",
            release.environment, current.model, current.version, change.target, current.at
        ),
    )
    .with_output("changed", "false")
}

/// What [`write`] did.
struct Written {
    commit: git2::Oid,
    branch: String,
    pushed: bool,
}

/// The commit on top of the target's tip, pushed (when there is a remote), then
/// the review branch made or the target moved (and the checkout's file with it).
fn write(
    repo: &git2::Repository,
    change: &Change<'_>,
    how: &ChangeRequest,
    tip: &gitops::Tip,
    current: Option<&Release>,
    content: &str,
) -> Result<Written, Lost> {
    let release = change.release;
    let path = change.path.as_str();
    let title = title(release);
    let message = commit_message(&title, release, current, change.reason);

    let local_target = tip.reference == format!("refs/heads/{}", change.target);
    let can_push = !how.no_push && gitops::has_remote(repo, &how.remote);
    if how.direct && !local_target && !can_push {
        return Err(Lost::Failed(StepError::Usage(format!(
            "--direct needs branch `{target}` in this clone or a remote `{remote}` to push it to; \
             create it (`git branch {target} {tip}`) or drop --no-push",
            target = change.target,
            remote = how.remote,
            tip = tip.reference
        ))));
    }
    let direct_on_checkout = how.direct
        && gitops::checked_out_and_clean(repo, change.target, tip.commit, path)
            .map_err(gate_error)?;
    let commit = gitops::commit_file(repo, tip.commit, path, content.as_bytes(), &message)
        .map_err(gate_error)?;
    let branch = if how.direct {
        change.target.to_owned()
    } else {
        review_branch(release)
    };
    // Push first: when the remote refuses (someone pushed meanwhile), nothing local has moved.
    if can_push {
        let workdir = repo.workdir().unwrap_or_else(|| repo.path());
        match gitops::push(workdir, &how.remote, commit, &branch, !how.direct) {
            Ok(()) => {}
            // Built on the remote's tip: fetch it and build again.
            Err(GateError::Rejected(why)) if !local_target => {
                return Err(Lost::Race { why, fetch: true });
            }
            Err(GateError::Rejected(why)) => {
                return Err(Lost::Failed(StepError::Environment(format!(
                    "{why}\n`{}` moved on `{}`: bring your branch up to date (`git pull`), then promote again",
                    change.target, how.remote
                ))));
            }
            Err(error) => return Err(Lost::Failed(gate_error(error))),
        }
    }
    if !how.direct {
        // Our own namespace: a retried promotion replaces its earlier attempt.
        repo.reference(&format!("refs/heads/{branch}"), commit, true, &title)
            .map_err(|error| {
                StepError::Environment(format!("creating branch {branch}: {error}"))
            })?;
    } else if local_target {
        match gitops::move_branch(repo, change.target, commit, Some(tip.commit), &title) {
            Ok(()) => {}
            Err(GateError::Conflict(why)) => return Err(Lost::Race { why, fetch: false }),
            Err(error) => return Err(Lost::Failed(gate_error(error))),
        }
        if direct_on_checkout {
            gitops::follow_in_work_tree(repo, path, content.as_bytes()).map_err(gate_error)?;
        }
    }
    Ok(Written {
        commit,
        branch,
        pushed: can_push,
    })
}

fn title(release: &Release) -> String {
    format!(
        "{}: {} v{} to {}",
        match release.kind {
            ReleaseKind::Promote => "Promote",
            ReleaseKind::Rollback => "Roll back",
        },
        release.model,
        release.version,
        release.environment
    )
}

/// `trainyard/promote/<env>/<model>-v<version>` (`…/rollback-<model>-v<version>` for a rollback).
fn review_branch(release: &Release) -> String {
    format!(
        "trainyard/promote/{}/{}{}-v{}",
        release.environment,
        match release.kind {
            ReleaseKind::Promote => "",
            ReleaseKind::Rollback => "rollback-",
        },
        release.model,
        release.version
    )
}

/// What a pushed review branch asks of the forge: its pull request into the
/// target, whose body carries the verdict table (the gate's own report has it too).
fn pull_request(title: String, branch: &str, change: &Change<'_>) -> ForgeRequest {
    ForgeRequest::OpenPullRequest {
        head: branch.to_owned(),
        base: change.target.to_owned(),
        body: pr_body(&title, change),
        title,
    }
}

/// The pull request's body: what moves where, then the verdict (or the rollback's note).
fn pr_body(title: &str, change: &Change<'_>) -> String {
    let release = change.release;
    format!(
        "{title}\n\n| | |\n|---|---|\n| model | {} v{} |\n| digest | `{}` |\n| run | `{}` |\n\
         | trained from | `{}` |\n| reason | {} |\n\n{}",
        release.model,
        release.version,
        release.digest,
        release.run,
        release.commit.as_deref().unwrap_or("-"),
        change.reason.replace('\n', " "),
        change.summary
    )
}

fn commit_message(
    title: &str,
    release: &Release,
    replaces: Option<&Release>,
    reason: &str,
) -> String {
    let mut message = format!("{title}\n\n");
    let _ = writeln!(message, "Run: {}", release.run);
    if let Some(commit) = &release.commit {
        let _ = writeln!(message, "Trained from: {commit}");
    }
    if let Some(verdict) = &release.verdict {
        let _ = writeln!(message, "Gate verdict: {verdict}");
    }
    if let Some(current) = replaces {
        let _ = writeln!(message, "Replaces: {} v{}", current.model, current.version);
    }
    let _ = writeln!(message, "Reason: {reason}");
    message
}

/// The deployment a release stands for, made by the commit `commit`.
pub fn deployment_of(
    release: &Release,
    commit: git2::Oid,
    actor: &str,
    at: chrono::DateTime<chrono::Utc>,
    reason: &str,
) -> Result<Deployment, StepError> {
    Ok(Deployment {
        model: release.model.clone(),
        version: release.version,
        digest: release.digest.clone(),
        run_id: RunId::parse(&release.run).map_err(ledger_error)?,
        commit: commit.to_string(),
        verdict_digest: release.verdict.clone(),
        at,
        actor: actor.to_owned(),
        reason: reason.to_owned(),
        kind: match release.kind {
            ReleaseKind::Promote => DeploymentKind::Promote,
            ReleaseKind::Rollback => DeploymentKind::Rollback,
        },
    })
}

/// The move in the ledger: the environment's history, its alias, and
/// `champion` for the last one.
pub fn record(
    ledger: &GitLedger,
    env: &str,
    deployment: &Deployment,
    champion: bool,
) -> Result<Vec<String>, StepError> {
    ledger
        .record_deployment(env, deployment)
        .map_err(ledger_error)?;
    follow(ledger, env, deployment, champion)
}

/// Points the aliases that follow `env` (its own, and `champion` for the last
/// environment) at the deployment's version, each only when it points
/// elsewhere; returns the aliases moved.
pub fn follow(
    ledger: &GitLedger,
    env: &str,
    deployment: &Deployment,
    champion: bool,
) -> Result<Vec<String>, StepError> {
    let current = ledger.aliases(&deployment.model).map_err(ledger_error)?;
    let mut moved = Vec::new();
    for alias in std::iter::once(env).chain(champion.then_some(CHAMPION)) {
        if current.get(alias) == Some(&deployment.version) {
            continue;
        }
        ledger
            .move_alias(
                &deployment.model,
                alias,
                deployment.version,
                &deployment.actor,
                &deployment.reason,
            )
            .map_err(ledger_error)?;
        moved.push(alias.to_owned());
    }
    Ok(moved)
}

fn step_of(kind: ReleaseKind) -> &'static str {
    match kind {
        ReleaseKind::Promote => Step::Promote.name(),
        ReleaseKind::Rollback => Step::Rollback.name(),
    }
}
