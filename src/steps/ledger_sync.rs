//! `trainyard ledger push|pull`: sync `refs/trainyard/*` with a remote through
//! the `git` command line (so CI tokens in `http.extraheader` and credential
//! helpers work). Git only: with `tracking.backend: mlflow` this syncs what
//! stays in git (every alias move, deployments), and the report says so.

use std::fmt::Write;

use trainyard_core::{Conclusion, Finding, Report, StepError, markdown};
use trainyard_ledger::SyncReport;

use super::Step;
use crate::app::StepContext;
use crate::app::ledger::{self, ledger_error};
use crate::requests::LedgerSyncRequest;

pub fn push(request: &LedgerSyncRequest, context: &StepContext) -> Result<Report, StepError> {
    let ledger = ledger::open_git(context)?;
    let sync = ledger.push(&request.remote).map_err(ledger_error)?;
    Ok(with_backend(
        report(Step::LedgerPush.name(), &sync, true),
        context,
    ))
}

pub fn pull(request: &LedgerSyncRequest, context: &StepContext) -> Result<Report, StepError> {
    let ledger = ledger::open_git(context)?;
    let sync = ledger.pull(&request.remote).map_err(ledger_error)?;
    Ok(with_backend(
        report(Step::LedgerPull.name(), &sync, false),
        context,
    ))
}

/// With MLflow, what was synced is only what stays in git: said in the report.
fn with_backend(mut report: Report, context: &StepContext) -> Report {
    if let Some(uri) = ledger::mlflow_uri(context) {
        report.push_finding(Finding::notice(
            "ledger/git-only",
            format!(
                "runs, model versions, aliases and tags are recorded on the MLflow server \
                 ({uri}) and need no sync; this synced what stays in git: every alias move \
                 and each environment's deployments"
            ),
        ));
    }
    report
}

/// A ref's commit, short, or [`markdown::MISSING`] when the ref is absent.
fn short(oid: Option<&String>) -> String {
    oid.map_or_else(
        || markdown::MISSING.to_owned(),
        |oid| format!("`{}`", markdown::short_commit(oid)),
    )
}

fn report(step: &str, sync: &SyncReport, pushing: bool) -> Report {
    let changed = sync
        .refs
        .iter()
        .filter(|r| {
            if pushing {
                r.pushed
            } else {
                r.local_before != r.local_after
            }
        })
        .count();
    let title = match (pushing, changed) {
        (true, 0) => format!("the ledger on {} is up to date", sync.remote),
        (true, n) => format!("pushed {n} ledger ref(s) to {}", sync.remote),
        (false, 0) => format!("the local ledger already has everything on {}", sync.remote),
        (false, n) => format!("pulled {n} ledger ref(s) from {}", sync.remote),
    };
    let mut report = Report::new(step, Conclusion::Success, title);
    let mut summary = String::from(
        "| ref | local before | remote | local after | replayed commits | pushed |\n|---|---|---|---|---|---|\n",
    );
    for entry in &sync.refs {
        let _ = writeln!(
            summary,
            "| {} | {} | {} | {} | {} | {} |",
            markdown::code(&entry.reference),
            short(entry.local_before.as_ref()),
            short(entry.remote.as_ref()),
            short(entry.local_after.as_ref()),
            entry.replayed,
            if entry.pushed { "yes" } else { "no" },
        );
        if let Some(tip) = &entry.local_after {
            let name = entry.reference.trim_start_matches("refs/trainyard/");
            report.outputs.insert(format!("{name}-tip"), tip.clone());
        }
        for path in &entry.kept_remote {
            report.push_finding(Finding::warning(
                "ledger/conflict",
                format!(
                    "`{path}` was recorded on {} with different content; the remote's record was kept and the local one dropped",
                    sync.remote
                ),
            ));
        }
        for (model, from, to) in &entry.renumbered {
            report.push_finding(Finding::warning(
                "ledger/renumbered",
                format!(
                    "model `{model}`: version {from} was registered on {} meanwhile, so the local version {from} is now version {to} (its aliases, tags and deployments follow)",
                    sync.remote
                ),
            ));
        }
    }
    if sync.attempts > 1 {
        let _ = writeln!(
            summary,
            "\nOthers pushed meanwhile: merged and retried, {} attempts.",
            sync.attempts
        );
    }
    report.summary = summary;
    report.data = serde_json::to_value(sync).ok();
    report
}
