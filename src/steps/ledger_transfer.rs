//! `trainyard ledger export|import`: the project's git ledger copied into an
//! MLflow tracking server or another repository's ledger, or back, through
//! the `Ledger` trait (`app::transfer::copy`, one function both ways).

use std::fmt::Write;
use std::path::{Path, PathBuf};

use trainyard_core::{Conclusion, Finding, Report, StepError, markdown};
use trainyard_ledger::{GitLedger, Ledger};

use super::Step;
use crate::app::StepContext;
use crate::app::ledger::{self, ledger_error};
use crate::app::transfer::{self, Copied};
use crate::requests::{LedgerExportRequest, LedgerImportRequest};

pub fn export(request: &LedgerExportRequest, context: &StepContext) -> Result<Report, StepError> {
    let ours = ledger::open_git(context)?;
    let other = Other::parse(&request.to, "--to")?;
    // MLflow keeps no history: this repository keeps it, where the MLflow
    // backend reads it. The moves replayed into MLflow (to set its aliases
    // and version tags as they are here) go to a scratch history.
    let scratch = match other {
        Other::Mlflow { .. } => Some(scratch_history()?),
        Other::Git(_) => None,
    };
    let history = scratch
        .as_ref()
        .map(|(_, ledger)| ledger.root().to_path_buf());
    let theirs = other.open(context, &ours, history.as_deref())?;
    let copied = transfer::copy(&ours, theirs.as_ref())?;
    let mut report = report(Step::LedgerExport, &copied, &other, true);
    if scratch.is_some() {
        report.push_finding(Finding::notice(
            "ledger/history-in-git",
            "MLflow keeps no history of alias moves and tag changes, nor deployments: they stay \
             in this repository, where `tracking.backend: mlflow` reads them (push them with \
             `trainyard ledger push`); MLflow's aliases and version tags were set as they are here",
        ));
    }
    Ok(report)
}

pub fn import(request: &LedgerImportRequest, context: &StepContext) -> Result<Report, StepError> {
    let ours = ledger::open_git(context)?;
    let other = Other::parse(&request.from, "--from")?;
    let history = match (&other, &request.history) {
        (Other::Mlflow { .. }, Some(path)) => Some(path.clone()),
        (Other::Mlflow { .. }, None) => Some(ours.root().to_path_buf()),
        (Other::Git(_), Some(_)) => {
            return Err(StepError::Usage(
                "--history is for an import from MLflow (which keeps no history); \
                 a git ledger brings its own"
                    .to_owned(),
            ));
        }
        (Other::Git(_), None) => None,
    };
    let theirs = other.open(context, &ours, history.as_deref())?;
    let copied = transfer::copy(theirs.as_ref(), &ours)?;
    Ok(report(Step::LedgerImport, &copied, &other, false))
}

/// An empty repository for the histories MLflow's side writes and nobody reads.
fn scratch_history() -> Result<(tempfile::TempDir, GitLedger), StepError> {
    let dir = tempfile::tempdir()
        .map_err(|error| StepError::io("creating", std::env::temp_dir(), error))?;
    git2::Repository::init(dir.path()).map_err(|error| {
        StepError::Environment(format!("git init {}: {error}", dir.path().display()))
    })?;
    let ledger = GitLedger::open(dir.path()).map_err(ledger_error)?;
    Ok((dir, ledger))
}

/// The ledger on the other side.
#[derive(Debug)]
enum Other {
    /// An MLflow tracking server at this REST endpoint.
    Mlflow { endpoint: String },
    /// Another git repository's ledger.
    Git(PathBuf),
}

impl Other {
    fn parse(text: &str, flag: &str) -> Result<Self, StepError> {
        let text = text.trim();
        let usage = |why: String| {
            StepError::Usage(format!(
                "{flag} {why}: write `mlflow+http(s)://HOST[:PORT][/PATH]` for an MLflow tracking \
                 server, `mlflow+azureml://…` for an Azure ML workspace, or another git \
                 repository's folder (`git+file:///PATH` or a path)"
            ))
        };
        if text.is_empty() {
            return Err(usage("is empty".to_owned()));
        }
        if let Some(uri) = text.strip_prefix("mlflow+") {
            let endpoint = trainyard_core::manifest::mlflow_endpoint(uri).map_err(|why| {
                usage(format!(
                    "names no MLflow server trainyard can reach ({why})"
                ))
            })?;
            return Ok(Self::Mlflow { endpoint });
        }
        let path = text
            .strip_prefix("git+file://")
            .or_else(|| text.strip_prefix("file://"))
            .unwrap_or(text);
        if path.contains("://") {
            return Err(usage(format!(
                "`{}` is not a ledger trainyard can copy to or from",
                trainyard_core::store_url::redact_urls(text)
            )));
        }
        Ok(Self::Git(PathBuf::from(path)))
    }

    fn describe(&self) -> String {
        match self {
            Self::Mlflow { endpoint } => format!("MLflow at {endpoint}"),
            Self::Git(path) => format!("the git ledger in {}", path.display()),
        }
    }

    /// The other ledger; MLflow's keeps its histories in `history`'s repository.
    fn open(
        &self,
        context: &StepContext,
        ours: &GitLedger,
        history: Option<&Path>,
    ) -> Result<Box<dyn Ledger>, StepError> {
        match self {
            Self::Mlflow { endpoint } => {
                let history = history.unwrap_or_else(|| ours.root());
                let history = GitLedger::open(history).map_err(ledger_error)?;
                let project = context.project().map_err(|error| {
                    StepError::Usage(format!(
                        "MLflow keeps a project's runs in the experiment named after it: \
                         the manifest must load ({error})"
                    ))
                })?;
                ledger::connect_mlflow(context, endpoint, history, &project.manifest.project.name)
            }
            Self::Git(path) => {
                let path = std::path::absolute(path).unwrap_or_else(|_| path.clone());
                let theirs = GitLedger::open(&path).map_err(ledger_error)?;
                if same_folder(theirs.root(), ours.root()) {
                    return Err(StepError::Usage(format!(
                        "{} is this project's own repository: name another one",
                        path.display()
                    )));
                }
                Ok(Box::new(theirs))
            }
        }
    }
}

fn same_folder(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

fn report(step: Step, copied: &Copied, other: &Other, exporting: bool) -> Report {
    let (verb, direction) = if exporting {
        ("exported", "to")
    } else {
        ("imported", "from")
    };
    let title = if copied.is_empty() {
        format!(
            "nothing new to copy {direction} {}: both ledgers hold the same history",
            other.describe()
        )
    } else {
        format!(
            "{verb} {} run(s), {} version(s), {} alias move(s), {} tag change(s) and {} deployment(s) {direction} {}",
            copied.runs,
            copied.versions,
            copied.alias_moves,
            copied.tag_changes,
            copied.deployments,
            other.describe()
        )
    };
    let mut report = Report::new(step.name(), Conclusion::Success, title);
    let mut summary = String::from("| records | copied |\n|---|---|\n");
    for (what, count) in [
        ("runs", copied.runs),
        ("runs already there", copied.runs_already_there),
        ("model versions", copied.versions),
        ("alias moves", copied.alias_moves),
        ("tag changes", copied.tag_changes),
        ("deployments", copied.deployments),
    ] {
        let _ = writeln!(summary, "| {} | {count} |", markdown::cell(what));
    }
    report.summary = summary;
    report.data = serde_json::to_value(copied).ok();
    report
        .with_output("runs", copied.runs.to_string())
        .with_output("versions", copied.versions.to_string())
        .with_output("alias-moves", copied.alias_moves.to_string())
        .with_output("tag-changes", copied.tag_changes.to_string())
        .with_output("deployments", copied.deployments.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_other_ledger_is_named_by_a_url_or_a_folder() {
        assert!(matches!(
            Other::parse("mlflow+http://127.0.0.1:5000", "--to").unwrap(),
            Other::Mlflow { endpoint } if endpoint == "http://127.0.0.1:5000"
        ));
        assert!(matches!(
            Other::parse("git+file:///tmp/other", "--to").unwrap(),
            Other::Git(path) if path == std::path::Path::new("/tmp/other")
        ));
        assert!(matches!(
            Other::parse("../other", "--to").unwrap(),
            Other::Git(path) if path == std::path::Path::new("../other")
        ));
        let error = Other::parse("s3://bucket/x", "--to").unwrap_err();
        assert_eq!(error.exit_status(), trainyard_core::ExitStatus::Usage);
        let error = Other::parse("mlflow+https://me:s3cret@host", "--from").unwrap_err();
        assert!(!error.to_string().contains("s3cret"), "{error}");
    }
}
