//! Changing an environment's desired state: `deploy/<env>/release.yaml`
//! committed with git2 on a review branch (or onto the target branch),
//! pushed with the `git` CLI, retried on a lost race, recorded in the ledger,
//! aliases moved. `promote` and `rollback` make changes; `status --record`
//! records the ones merged since.
//!
//! The commit-and-retry loop is `trainyard_gate::promotion::commit_release`;
//! this keeps the ledger recording and the Report.

use trainyard_core::{Conclusion, Finding, ForgeRequest, Report, StepError};
use trainyard_gate::gitops;
use trainyard_gate::promotion::{
    Destination, Outcome, PromotionError, ReleaseChange, commit_release, review_branch, title,
};
use trainyard_gate::release::{Release, ReleaseKind};
use trainyard_gate::verdict::short;
use trainyard_ledger::{CHAMPION, Deployment, DeploymentKind, Ledger, RunId, detect_actor};

use super::StepContext;
use super::judge::gate_error;
use super::ledger::{ProjectLedger, ledger_error};
use crate::requests::ChangeRequest;
use crate::steps::Step;

/// Serialises recording deployments in one clone (`status --record`, and a
/// promotion catching up): two at once record once.
pub const RECORD_LOCK: &str = "refs/trainyard-locks/status-record";

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
    ledger: &ProjectLedger,
    change: &Change<'_>,
    how: &ChangeRequest,
) -> Result<Report, StepError> {
    // A signal waits for the commit and its ledger records: never one without the other.
    let _deferred = super::interrupt::defer();
    let release = change.release;
    let env = &release.environment;
    let content = release.to_yaml();
    let destination = if how.direct {
        Destination::Direct
    } else {
        Destination::Review(review_branch(release))
    };
    let outcome = commit_release(
        repo,
        &ReleaseChange {
            release,
            path: &change.path,
            target: change.target,
            destination,
            reason: change.reason,
            remote: &how.remote,
            push: !how.no_push,
        },
    )
    .map_err(promotion_error)?;
    let written = match outcome {
        Outcome::Written(written) => written,
        Outcome::Already { current, recovered } => {
            return already(repo, ledger, change, how, &current, &recovered);
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
    for note in &written.recovered {
        report.push_finding(Finding::warning("recovered", note.clone()));
    }
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
        ledger.git().push(&how.remote).map_err(ledger_error)?;
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

    for note in ledger.recoveries() {
        report.push_finding(Finding::warning("recovered", note));
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

/// A change that could not be written, as a step error.
fn promotion_error(error: PromotionError) -> StepError {
    match error {
        PromotionError::NowhereToWrite {
            target,
            remote,
            tip,
        } => StepError::Usage(format!(
            "--direct needs branch `{target}` in this clone or a remote `{remote}` to push it to; \
             create it (`git branch {target} {tip}`) or drop --no-push"
        )),
        error @ (PromotionError::Behind { .. } | PromotionError::GaveUp { .. }) => {
            StepError::Environment(error.to_string())
        }
        PromotionError::Gate(error) => gate_error(error),
    }
}

/// The report when the environment already has this version: nothing to
/// commit. What an interrupted earlier run left undone is finished here: the
/// ledger records the release the target holds (and moves the aliases) when
/// it had not, so the ledger never disagrees with the branch.
fn already(
    repo: &git2::Repository,
    ledger: &ProjectLedger,
    change: &Change<'_>,
    how: &ChangeRequest,
    current: &Release,
    recovered: &[String],
) -> Result<Report, StepError> {
    let release = change.release;
    let env = &release.environment;
    let verb = match release.kind {
        ReleaseKind::Promote => "promote",
        ReleaseKind::Rollback => "roll back",
    };
    let tip = gitops::tip(repo, change.target, &how.remote).map_err(gate_error)?;
    let record_lock = gitops::lock(repo, RECORD_LOCK).map_err(gate_error)?;
    let caught_up = catch_up(
        repo,
        ledger,
        env,
        &change.path,
        tip.commit,
        change.champion,
        change.target,
    )?;
    drop(record_lock);
    let pushed = caught_up.is_some() && !how.no_push && gitops::has_remote(repo, &how.remote);
    if pushed {
        ledger.git().push(&how.remote).map_err(ledger_error)?;
    }
    let mut report = Report::new(
        step_of(release.kind),
        Conclusion::Neutral,
        format!(
            "{} already has {} v{} as its desired state on `{}` (since {}); nothing to {verb}",
            release.environment, current.model, current.version, change.target, current.at
        ),
    );
    for note in recovered.iter().chain(&ledger.recoveries()) {
        report.push_finding(Finding::warning("recovered", note.clone()));
    }
    if let Some(line) = &caught_up {
        report.push_finding(Finding::warning(
            "recovered",
            format!("the ledger had not recorded it (an interrupted run): {line}"),
        ));
    }
    Ok(report
        .with_output("changed", "false")
        .with_output("recorded", caught_up.is_some().to_string()))
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
    ledger: &ProjectLedger,
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
    ledger: &ProjectLedger,
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

/// Brings the ledger in line with git for `env`: when `path` on the
/// target's tip `tip` is not the ledger's last deployment of `env`, records
/// it (made by the commit that last changed it: its author and time) and
/// moves the environment's alias (and `champion` for the last environment);
/// when it is, moves the aliases that did not follow (an interrupted run).
/// Returns what it did, if anything. `status --record` runs it for every
/// environment; `promote` and `rollback` for theirs, when the target already
/// holds the release (a run killed after the commit, before the ledger).
pub fn catch_up(
    repo: &git2::Repository,
    ledger: &ProjectLedger,
    env: &str,
    path: &str,
    tip: git2::Oid,
    champion: bool,
    target: &str,
) -> Result<Option<String>, StepError> {
    let Some(change) = gitops::last_change(repo, tip, path).map_err(gate_error)? else {
        return Ok(None);
    };
    let Some(release) = gitops::read_file(repo, tip, path)
        .map_err(gate_error)?
        .map(|bytes| Release::parse(&String::from_utf8_lossy(&bytes), path))
        .transpose()
        .map_err(gate_error)?
    else {
        return Ok(None);
    };
    let history = ledger.deployments(env).map_err(ledger_error)?;
    let commit = change.id().to_string();
    let latest = history.last().filter(|latest| {
        latest.commit == commit
            || (latest.model == release.model
                && latest.version == release.version
                && latest.digest == release.digest)
    });
    if let Some(latest) = latest {
        // Recorded already; the aliases may not have followed (an interrupted run).
        let moved = follow(ledger, env, latest, champion)?;
        if !moved.is_empty() {
            return Ok(Some(format!(
                "{env}: moved {} to {} v{}",
                aliases(&moved),
                latest.model,
                latest.version
            )));
        }
        return Ok(None);
    }
    if let Err(error) = ledger.resolve(&release.model, &release.version.to_string()) {
        return Err(StepError::Usage(format!(
            "{path} on `{}` names {} v{}, which this clone's ledger does not have ({error}); \
             fetch it first: `trainyard ledger pull`",
            target, release.model, release.version
        )));
    }
    let author = change.author();
    let actor = match (author.name(), author.email()) {
        (Some(name), Some(email)) => format!("{name} <{email}>"),
        (Some(name), None) => name.to_owned(),
        _ => release.by.clone(),
    };
    let at = chrono::DateTime::from_timestamp(change.time().seconds(), 0)
        .unwrap_or_else(chrono::Utc::now);
    let merged = format!(
        "merged in {}: {}",
        short(&commit),
        change.summary().unwrap_or_default()
    );
    let reason = match &release.reason {
        Some(reason) => format!("{reason} ({merged})"),
        None => merged,
    };
    let deployment = deployment_of(&release, change.id(), &actor, at, &reason)?;
    let moved = record(ledger, env, &deployment, champion)?;
    Ok(Some(format!(
        "{env}: recorded {} {} v{} ({}) by {actor}{}",
        release.kind_name(),
        release.model,
        release.version,
        short(&commit),
        if moved.is_empty() {
            String::new()
        } else {
            format!("; moved {}", aliases(&moved))
        }
    )))
}

fn aliases(names: &[String]) -> String {
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(" and ")
}

fn step_of(kind: ReleaseKind) -> &'static str {
    match kind {
        ReleaseKind::Promote => Step::Promote.name(),
        ReleaseKind::Rollback => Step::Rollback.name(),
    }
}
