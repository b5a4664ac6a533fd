//! Why a ledger operation failed, with what a person needs to fix it.

use std::path::PathBuf;

/// A ledger operation's failure.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// `path` is not inside a git repository.
    #[error(
        "{path} is not inside a git repository; run `git init` there (the ledger lives in the project's repository)"
    )]
    NotARepository {
        path: PathBuf,
        #[source]
        source: git2::Error,
    },
    /// libgit2 failed reading or writing objects or refs.
    #[error("git: {action}: {source}")]
    Git {
        action: String,
        #[source]
        source: git2::Error,
    },
    /// A stored record could not be read back.
    #[error("the ledger record {path} in {reference} is not valid JSON of its kind: {source}")]
    Corrupt {
        reference: String,
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "no run `{id}` in the ledger; `trainyard runs list` shows the recorded runs (run `trainyard ledger pull` first if it was recorded elsewhere)"
    )]
    RunNotFound { id: String },
    #[error("`{prefix}` matches {} runs ({}); give more of the id", matches.len(), matches.join(", "))]
    AmbiguousRun {
        prefix: String,
        matches: Vec<String>,
    },
    #[error("a run with id `{id}` is already recorded")]
    RunExists { id: String },
    #[error("no model `{model}` in the registry{}", known_list(known))]
    ModelNotFound { model: String, known: Vec<String> },
    #[error(
        "model `{model}` has no version or alias `{spec}`{}",
        known_list(known)
    )]
    VersionNotFound {
        model: String,
        spec: String,
        known: Vec<String>,
    },
    /// A name that cannot be stored (it becomes part of a path in git).
    #[error(
        "invalid {what} `{value}`: use letters, digits, `.`, `-` and `_` (not starting with `.`)"
    )]
    InvalidName { what: &'static str, value: String },
    #[error(
        "`{value}` is not a BLAKE3 digest (64 lowercase hex characters); store the file with an ArtifactStore to get its reference"
    )]
    InvalidDigest { value: String },
    #[error(
        "`{alias}` cannot be an alias: `3`, `v3` and `latest` already name versions; choose a name such as `champion` or `production`"
    )]
    ReservedAlias { alias: String },
    /// Writers kept winning the race for a ref; nothing was written.
    #[error(
        "gave up updating {reference} after {attempts} attempts: other writers kept updating it; try again"
    )]
    Contended { reference: String, attempts: u32 },
    /// The ref's lock file stayed in place through every attempt.
    #[error("{reference} stayed locked: if no other trainyard or git process is running, a crashed one left {} behind; delete it and try again", lock_file.display())]
    Locked {
        reference: String,
        lock_file: PathBuf,
    },
    /// Another trainyard process kept writing the ledger for too long.
    #[error("another trainyard process has been writing the ledger for over a minute (it holds {}); wait for it to finish and try again", lock_file.display())]
    Busy { lock_file: PathBuf },
    /// The `git` command could not be started.
    #[error("could not run `git` ({source}); install git and make sure it is on PATH")]
    GitMissing {
        #[source]
        source: std::io::Error,
    },
    /// A `git` command failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    GitCommand {
        command: String,
        status: String,
        stderr: String,
    },
    /// An import would give a version another number than it had.
    #[error(
        "cannot import {model} v{version}: the next version of {model} here is v{next}; import into a ledger where {model} has exactly the versions before it"
    )]
    ImportOutOfOrder {
        model: String,
        version: u64,
        next: u64,
    },
    /// `tracking.uri` is not an http(s) URL.
    #[error("invalid MLflow tracking URI `{uri}`: {reason}")]
    MlflowUri { uri: String, reason: String },
    /// The MLflow server refused the credentials (401/403).
    #[error(
        "MLflow at {server} refused the credentials ({status}) for {action}; set MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD"
    )]
    MlflowAuth {
        server: String,
        action: String,
        status: u16,
    },
    /// The MLflow server answered a request with an error.
    #[error("MLflow at {server} failed {action}: HTTP {status} {code}: {message}")]
    Mlflow {
        server: String,
        action: String,
        status: u16,
        code: String,
        message: String,
    },
    /// The MLflow server could not be reached, or kept failing, through every attempt.
    #[error(
        "MLflow at {server} failed {action} {attempts} times (last: {message}); check `tracking.uri` and that the server is up, then try again"
    )]
    MlflowUnavailable {
        server: String,
        action: String,
        attempts: u32,
        message: String,
    },
    /// What the MLflow server holds is not what trainyard wrote there.
    #[error("MLflow at {server}: {message}")]
    MlflowCorrupt { server: String, message: String },
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        String::new()
    } else {
        format!(" (known: {})", known.join(", "))
    }
}

impl LedgerError {
    pub(crate) fn git(action: impl Into<String>, source: git2::Error) -> Self {
        Self::Git {
            action: action.into(),
            source,
        }
    }

    /// Whether the error is about something the user named that does not
    /// exist or is malformed (a usage error, exit 2) rather than the
    /// environment failing (exit 3).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Self::RunNotFound { .. }
                | Self::AmbiguousRun { .. }
                | Self::RunExists { .. }
                | Self::ModelNotFound { .. }
                | Self::VersionNotFound { .. }
                | Self::InvalidName { .. }
                | Self::InvalidDigest { .. }
                | Self::ReservedAlias { .. }
                | Self::NotARepository { .. }
                | Self::ImportOutOfOrder { .. }
                | Self::MlflowUri { .. }
                | Self::MlflowAuth { .. }
        )
    }
}
