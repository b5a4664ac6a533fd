//! `trainyard status`: per environment, what is deployed (the desired state on
//! the target branch), since when, from which run and commit, what the ledger
//! has proposed but is not merged yet, and which version waits at which gate.

use std::fmt::Write as _;

use trainyard_core::{Conclusion, Report, StepError};
use trainyard_gate::release::Release;
use trainyard_gate::{gitops, policy, verdict::short};
use trainyard_ledger::{Deployment, GitLedger, Ledger, LedgerError};

use super::StepContext;
use super::gate::{DEFAULT_ALIAS, gate_error, ledger_error};
use crate::cli::{GateArgs, StatusArgs};

pub const STEP: &str = "status";

pub fn run(_args: &StatusArgs, context: &StepContext) -> Result<Report, StepError> {
    let project = context.project()?;
    let manifest = &project.manifest;
    let target = &manifest.project.default_branch;
    let repo = policy::discover(&project.root).map_err(gate_error)?;
    let ledger = GitLedger::open(&project.root).map_err(ledger_error)?;
    let tip = gitops::tip(&repo, target, "origin").map_err(gate_error)?;
    let model = manifest.model.as_ref().map(|model| model.name.clone());
    // What the first environment's gate waits for: the challenger.
    let mut upstream = match &model {
        Some(model) => match ledger.resolve(model, DEFAULT_ALIAS) {
            Ok(version) => Some(version.version),
            Err(LedgerError::VersionNotFound { .. } | LedgerError::ModelNotFound { .. }) => None,
            Err(error) => return Err(ledger_error(error)),
        },
        None => None,
    };

    let mut report = Report::new(STEP, Conclusion::Success, String::new());
    let mut table = String::from(
        "| environment | deployed | since | by | run | trained from | waiting |\n|---|---|---|---|---|---|---|\n",
    );
    let mut lines = Vec::new();
    let mut environments = Vec::new();
    for environment in &manifest.environments {
        let env = &environment.name;
        let path = super::gate::release_path(&repo, &context.manifest_path, env)?;
        let deployed = gitops::read_file(&repo, tip.commit, &path)
            .map_err(gate_error)?
            .map(|bytes| Release::parse(&String::from_utf8_lossy(&bytes), &path))
            .transpose()
            .map_err(gate_error)?;
        let history = ledger.deployments(env).map_err(ledger_error)?;
        let waiting = waiting(deployed.as_ref(), history.last(), upstream, env, target);
        // Whether the version waiting at this gate would get through it now.
        let outlook = match (&model, upstream) {
            (Some(model), Some(candidate))
                if deployed
                    .as_ref()
                    .is_none_or(|deployed| deployed.version != candidate) =>
            {
                Some(outlook(context, model, candidate, env))
            }
            _ => None,
        };
        let _ = writeln!(
            table,
            "{}",
            row(env, deployed.as_ref(), &waiting, outlook.as_deref())
        );
        lines.push(format!(
            "{env}: {}{}",
            deployed.as_ref().map_or_else(
                || "nothing deployed".to_owned(),
                |release| format!("v{}", release.version)
            ),
            if waiting.is_empty() {
                String::new()
            } else {
                format!(" ({})", waiting.join("; "))
            }
        ));
        report.outputs.insert(
            format!("{env}-version"),
            deployed
                .as_ref()
                .map(|release| release.version.to_string())
                .unwrap_or_default(),
        );
        environments.push(serde_json::json!({
            "environment": env,
            "deployed": deployed,
            "history": history.len(),
            "waiting": waiting,
            "gate": outlook,
        }));
        upstream = deployed.map(|release| release.version);
    }
    report.data = Some(serde_json::Value::Array(environments));
    report.title = if lines.is_empty() {
        "no environments are declared".to_owned()
    } else {
        lines.join(", ")
    };
    report.conclusion = if lines.is_empty() {
        Conclusion::Neutral
    } else {
        Conclusion::Success
    };
    report.summary = format!(
        "### Environments of `{}` (desired state on `{target}` at `{}`)\n\n{table}",
        manifest.project.name,
        short(&tip.commit.to_string())
    );
    Ok(report)
}

/// What waits for `env`: a proposal the ledger has that the branch does not
/// (an unmerged review branch), and the upstream version not yet let in.
fn waiting(
    deployed: Option<&Release>,
    proposed: Option<&Deployment>,
    upstream: Option<u64>,
    env: &str,
    target: &str,
) -> Vec<String> {
    let mut waiting = Vec::new();
    if let Some(proposed) = proposed
        .filter(|proposed| deployed.is_none_or(|deployed| deployed.version != proposed.version))
    {
        waiting.push(format!(
            "v{} {} ({}), not yet on `{target}`",
            proposed.version,
            proposed.kind,
            short(&proposed.commit)
        ));
    }
    if let Some(candidate) =
        upstream.filter(|candidate| deployed.is_none_or(|deployed| deployed.version != *candidate))
    {
        waiting.push(format!("v{candidate} waits at the {env} gate"));
    }
    waiting
}

/// One row of the environments table.
fn row(env: &str, deployed: Option<&Release>, waiting: &[String], outlook: Option<&str>) -> String {
    let cells = cells(deployed);
    let waiting = if waiting.is_empty() {
        "-".to_owned()
    } else {
        waiting.join("; ")
            + &outlook
                .map(|outlook| format!(" — {outlook}"))
                .unwrap_or_default()
    };
    format!(
        "| {env} | {} | {} | {} | {} | {} | {waiting} |",
        cells[0], cells[1], cells[2], cells[3], cells[4]
    )
}

/// The table's cells for what is deployed: model and version, since, by, run, commit.
fn cells(deployed: Option<&Release>) -> [String; 5] {
    match deployed {
        Some(release) => [
            format!("{} v{}", release.model, release.version),
            release.at.format("%Y-%m-%d %H:%M UTC").to_string(),
            release.by.clone(),
            format!("`{}`", release.run),
            release
                .commit
                .as_deref()
                .map_or_else(|| "-".to_owned(), |commit| format!("`{}`", short(commit))),
        ],
        None => [
            "nothing".to_owned(),
            "-".into(),
            "-".into(),
            "-".into(),
            "-".into(),
        ],
    }
}

/// The gate's answer for `model@version` entering `env` now: "would pass", or
/// the first reason it would refuse.
fn outlook(context: &StepContext, model: &str, version: u64, env: &str) -> String {
    let args = GateArgs {
        env: env.to_owned(),
        model: Some(format!("{model}@{version}")),
        ..GateArgs::default()
    };
    match super::gate::judge(&args, context) {
        Ok(judged) if judged.verdict.passed => "would pass".to_owned(),
        Ok(judged) => {
            let failed = judged.verdict.failures().count();
            let first = judged
                .verdict
                .failures()
                .next()
                .and_then(|rule| rule.reason.clone())
                .unwrap_or_default();
            format!("would be refused ({failed} rule(s)): {first}")
        }
        Err(error) => format!("cannot be judged: {error}"),
    }
}
