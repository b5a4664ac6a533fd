//! `trainyard promote --env E`: re-evaluates E's gate (never trusts a saved
//! verdict, which could be stale or edited) and, when it passes, makes the model
//! version E's desired state: `deploy/E/release.yaml` committed with git2 on a
//! review branch `trainyard/promote/E/…` (or, with `--direct`, onto the target
//! branch), pushed with the `git` CLI, recorded in the ledger, aliases moved.

use trainyard_core::{Conclusion, Report, StepError};
use trainyard_gate::release::{Release, ReleaseKind};

use super::Step;
use crate::app::StepContext;
use crate::app::judge::{self, gate_error};
use crate::app::promotion::{Change, actor, apply};
use crate::requests::PromoteRequest;

pub fn run(request: &PromoteRequest, context: &StepContext) -> Result<Report, StepError> {
    let judged = judge::judge(&request.gate, context)?;
    let mut report = Report::new(Step::Promote.name(), Conclusion::Success, String::new());
    if !judged.verdict.passed {
        report.title = format!("not promoted: {}", judged.report.title);
        report.push_child(judged.report);
        return Ok(report.with_output("passed", "false"));
    }
    let env = &request.gate.env;
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
        reason: request.reason.clone(),
    };
    let last = judged
        .base
        .manifest
        .environments
        .last()
        .map(|last| last.name.as_str())
        == Some(env.as_str());
    let reason = request
        .reason
        .clone()
        .unwrap_or_else(|| format!("gate {env} passed ({})", judged.verdict.digest()));
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
