//! `trainyard rollback --env E [--to VERSION] --reason …`: the entry of E's
//! history before the current one (or the newest entry with VERSION) becomes
//! E's desired state again, the same way a promotion does it. No gate runs:
//! that version passed E's gate when it was promoted, and its verdict digest
//! is carried over; a version never deployed to E must be promoted instead.

use trainyard_core::{Report, StepError, markdown};
use trainyard_gate::release::{Release, ReleaseKind};
use trainyard_ledger::{Deployment, Ledger};

use crate::app::StepContext;
use crate::app::judge::release_path;
use crate::app::ledger::ledger_error;
use crate::app::promotion::{self, Change};
use crate::requests::RollbackRequest;

pub fn run(request: &RollbackRequest, context: &StepContext) -> Result<Report, StepError> {
    let project = context.project()?;
    let manifest = &project.manifest;
    if manifest.environment(&request.env).is_none() {
        return Err(StepError::Usage(format!(
            "no environment `{}` is declared under `environments` in {}",
            request.env, project.manifest_file
        )));
    }
    if request.reason.trim().is_empty() {
        return Err(StepError::Usage(
            "--reason is empty; say why the environment goes back (it is recorded)".to_owned(),
        ));
    }
    let repo = crate::app::git::repository(&project.root)?;
    let ledger = crate::app::ledger::open(context, &project)?;
    let history = ledger.deployments(&request.env).map_err(ledger_error)?;
    let entry = choose(&history, request.to, &request.env)?;
    let run = ledger.run(entry.run_id.as_str()).map_err(ledger_error)?;
    let actor = promotion::actor(context, &project.root);
    let release = Release {
        environment: request.env.clone(),
        model: entry.model.clone(),
        version: entry.version,
        digest: entry.digest.clone(),
        uri: run.model_uri.clone(),
        run: entry.run_id.to_string(),
        commit: Some(run.git.commit.clone()).filter(|commit| !commit.is_empty()),
        verdict: entry.verdict_digest.clone(),
        at: chrono::Utc::now(),
        by: actor,
        kind: ReleaseKind::Rollback,
        reason: Some(request.reason.clone()),
    };
    let last =
        manifest.environments.last().map(|last| last.name.as_str()) == Some(request.env.as_str());
    let change = Change {
        release: &release,
        path: release_path(&repo, &context.manifest_path, &request.env)?,
        target: &manifest.project.default_branch,
        summary: format!(
            "Rolls {} back to v{} (deployed {} by {}, {}).",
            request.env,
            entry.version,
            entry.at,
            markdown::text(&entry.actor),
            entry.kind
        ),
        reason: &request.reason,
        champion: last,
    };
    promotion::apply(&repo, &ledger, &change, &request.change)
}

/// The entry to return to: the newest with `to`, or the newest before the
/// current one with a different version.
fn choose<'a>(
    history: &'a [Deployment],
    to: Option<u64>,
    env: &str,
) -> Result<&'a Deployment, StepError> {
    let Some(current) = history.last() else {
        return Err(StepError::Usage(format!(
            "{env} has no deployment history in the ledger, so there is nothing to roll back to \
             (run `trainyard ledger pull` if it was recorded elsewhere, or `trainyard status --record` \
             on the default branch after merging a promotion)"
        )));
    };
    match to {
        Some(version) => history.iter().rev().find(|entry| entry.version == version).ok_or_else(|| {
            let seen: Vec<String> = history.iter().map(|entry| format!("v{}", entry.version)).collect();
            StepError::Usage(format!(
                "v{version} was never deployed to {env} (its history: {}); a new version goes through `trainyard promote`",
                seen.join(", ")
            ))
        }),
        None => history
            .iter()
            .rev()
            .find(|entry| entry.version != current.version || entry.model != current.model)
            .ok_or_else(|| {
                StepError::Usage(format!(
                    "{env} has only ever had {} v{}; there is no earlier version to roll back to",
                    current.model, current.version
                ))
            }),
    }
}
