//! `trainyard promote --env E`: re-evaluates E's gate (never trusts a saved
//! verdict, which could be stale or edited) and, when it passes, makes the model
//! version E's desired state: `deploy/E/release.yaml` committed with git2 on a
//! review branch `trainyard/promote/E/…` (or, with `--direct`, onto the target
//! branch), pushed with the `git` CLI, recorded in the ledger, aliases moved.
//! The gate includes the promotion order (the environment before E first);
//! `--skip-order --reason` passes it on purpose, and the reason is recorded.

use trainyard_core::{Conclusion, Report, StepError};
use trainyard_gate::release::{Release, ReleaseKind};

use super::Step;
use crate::app::StepContext;
use crate::app::judge::{self, gate_error};
use crate::app::promotion::{Change, actor, apply};
use crate::requests::PromoteRequest;

pub fn run(request: &PromoteRequest, context: &StepContext) -> Result<Report, StepError> {
    let reason = request
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|reason| !reason.is_empty());
    let mut gate = request.gate.clone();
    if request.skip_order {
        let Some(reason) = reason else {
            return Err(StepError::Usage(
                "--skip-order needs --reason: say why this version skips the environments before it (it is recorded)"
                    .to_owned(),
            ));
        };
        gate.skip_order = Some(reason.to_owned());
    }
    let judged = judge::judge(&gate, context)?;
    let mut report = Report::new(Step::Promote.name(), Conclusion::Success, String::new());
    if !judged.verdict.passed {
        report.title = format!("not promoted: {}", judged.report.title);
        report.push_child(judged.report);
        return Ok(report.with_output("passed", "false"));
    }
    let env = &request.gate.env;
    // A skipped order says so wherever the reason goes: the ledger, release.yaml, the PR.
    let recorded = reason.map(|reason| {
        if request.skip_order {
            format!("promotion order skipped: {reason}")
        } else {
            reason.to_owned()
        }
    });
    let target = judged.base.manifest.project.default_branch.clone();
    let actor = actor(context, &judged.project.root);
    let release = Release {
        environment: env.clone(),
        model: judged.version.model.clone(),
        version: judged.version.version,
        digest: judged.version.artifact.digest.clone(),
        uri: judged.run.model_uri.clone(),
        run: judged.run.id.to_string(),
        commit: Some(judged.run.git.commit.clone()).filter(|commit| !commit.is_empty()),
        verdict: Some(judged.verdict.digest()),
        at: chrono::Utc::now(),
        by: actor.clone(),
        kind: ReleaseKind::Promote,
        reason: recorded.clone(),
    };
    let last = judged
        .base
        .manifest
        .environments
        .last()
        .map(|last| last.name.as_str())
        == Some(env.as_str());
    let reason =
        recorded.unwrap_or_else(|| format!("gate {env} passed ({})", judged.verdict.digest()));
    let repo = trainyard_gate::policy::discover(&judged.project.root).map_err(gate_error)?;
    let change = Change {
        release: &release,
        path: judge::release_path(&repo, &context.manifest_path, env)?,
        target: &target,
        summary: judged.report.summary.clone(),
        reason: &reason,
        champion: last,
    };
    let mut outcome = apply(&repo, &judged.ledger, &change, &request.change)?;
    let conclusion = outcome.conclusion;
    outcome.push_child(judged.report);
    // "Already there" stays neutral although its gate passed.
    outcome.conclusion = conclusion;
    Ok(outcome)
}
