//! `trainyard ledger push|pull`: sync `refs/trainyard/*` with a remote through
//! the `git` command line (so CI tokens in `http.extraheader` and credential
//! helpers work). Also the ledger helpers every step that records or reads
//! runs uses: [`open`], [`actor`], [`ledger_error`].

use std::fmt::Write;

use trainyard_core::{Conclusion, Finding, Report, StepError};
use trainyard_ledger::{GitLedger, LedgerError, SyncReport};

use super::StepContext;
use crate::cli::LedgerCommand;

/// The ledger of the repository holding the project (the manifest's folder).
pub(crate) fn open(context: &StepContext) -> Result<GitLedger, StepError> {
    let root = super::project_root(&context.manifest_path);
    // Absolute, so a "not a repository" message names a real folder, not `.`.
    let root = std::path::absolute(&root).unwrap_or(root);
    GitLedger::open(root).map_err(ledger_error)
}

/// Who is acting: `GITHUB_ACTOR`, `BUILD_REQUESTEDFOR`, else git's user.
pub(crate) fn actor(context: &StepContext, ledger: &GitLedger) -> String {
    trainyard_ledger::detect_actor(
        |name| context.env.get(name).map(str::to_owned),
        ledger.root(),
    )
}

/// A ledger failure as a step error: something the user named that does not
/// exist is a usage error (exit 2), the rest is the environment (exit 3).
#[allow(clippy::needless_pass_by_value)] // by value, so it reads `.map_err(ledger_error)`
pub(crate) fn ledger_error(error: LedgerError) -> StepError {
    if error.is_usage() {
        StepError::Usage(error.to_string())
    } else {
        StepError::Environment(error.to_string())
    }
}

pub fn run(command: &LedgerCommand, context: &StepContext) -> Result<Report, StepError> {
    let ledger = open(context)?;
    let (sync, pushing) = match command {
        LedgerCommand::Push(args) => (ledger.push(&args.remote), true),
        LedgerCommand::Pull(args) => (ledger.pull(&args.remote), false),
    };
    let sync = sync.map_err(ledger_error)?;
    Ok(report(command.step_name(), &sync, pushing))
}

fn short(oid: Option<&String>) -> String {
    oid.map_or_else(
        || "—".to_owned(),
        |oid| format!("`{}`", &oid[..oid.len().min(10)]),
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
            "| `{}` | {} | {} | {} | {} | {} |",
            entry.reference,
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
