//! What the ledger stores: runs, model versions, alias moves, tag changes and
//! deployments. Every type here is serialised as one JSON blob in git.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use trainyard_store::ArtifactRef;

/// A point in time, always UTC (RFC 3339 in JSON).
pub type Timestamp = chrono::DateTime<chrono::Utc>;

/// The identifier of a run: `20261125T121449.123Z-3fa9c1`, the UTC start time
/// to the millisecond then a random suffix, so ids sort by time and two runs
/// started in the same millisecond on different machines do not collide.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(String);

impl RunId {
    /// A new id for a run started at `started_at`.
    pub fn new(started_at: Timestamp) -> Self {
        let suffix = crate::id::random_hex(6);
        Self(format!(
            "{}-{suffix}",
            started_at.format("%Y%m%dT%H%M%S%.3fZ")
        ))
    }

    /// An id as written elsewhere (a flag, a JSON file). Checks only that it
    /// can name a file: ASCII letters, digits, `.`, `-`, `_`.
    pub fn parse(text: &str) -> Result<Self, crate::LedgerError> {
        let valid = !text.is_empty()
            && text.len() <= 128
            && !text.starts_with('.')
            && text
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'-' | b'_'));
        if valid {
            Ok(Self(text.to_owned()))
        } else {
            Err(crate::LedgerError::InvalidName {
                what: "run id",
                value: text.to_owned(),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which data a run trained on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunMode {
    /// A deterministic sample of each dataset (pull requests).
    Sample,
    /// All the data (the default branch, tags).
    Full,
}

impl fmt::Display for RunMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sample => "sample",
            Self::Full => "full",
        })
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Outcome {
    Succeeded,
    /// The command failed (non-zero exit, missing metrics…).
    Failed {
        reason: String,
    },
    /// trainyard ended it early (an early-stop rule fired).
    Stopped {
        reason: String,
    },
    /// trainyard ended it because it stopped improving (an early-stop
    /// `patience` rule): a success, with the model the command last wrote.
    Converged {
        reason: String,
    },
    /// It ran past its timeout and its process tree was killed.
    TimedOut,
    /// trainyard was told to stop (the CI cancelled the job, Ctrl-C): the
    /// signal (`SIGINT`, `SIGTERM`) was passed on to the command's process
    /// group, which was killed after the grace period if it did not end.
    Cancelled {
        signal: String,
    },
}

impl Outcome {
    pub fn is_success(&self) -> bool {
        matches!(self, Self::Succeeded | Self::Converged { .. })
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Succeeded => f.write_str("succeeded"),
            Self::Failed { reason } => write!(f, "failed: {reason}"),
            Self::Stopped { reason } => write!(f, "stopped: {reason}"),
            Self::Converged { reason } => write!(f, "converged: {reason}"),
            Self::TimedOut => f.write_str("timed out"),
            Self::Cancelled { signal } => write!(f, "cancelled by {signal}"),
        }
    }
}

/// The source the run trained from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitInfo {
    /// The full commit hash of HEAD.
    pub commit: String,
    /// The branch, when HEAD is on one (CI checkouts are often detached).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Whether the work tree had uncommitted changes.
    pub dirty: bool,
}

/// Where the run ran.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CiInfo {
    /// `github`, `azure` or `terminal`.
    pub host: String,
    /// The triggering event (`pull_request`, `push`, …), when in CI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// The URL of the CI run, when in CI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// One recorded training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: RunId,
    /// The project's name (the manifest's `project`).
    pub project: String,
    pub mode: RunMode,
    /// The command as run, one argument per element.
    pub command: Vec<String>,
    /// The parameters passed to the command.
    #[serde(default)]
    pub params: BTreeMap<String, serde_json::Value>,
    /// Final metric values. NaN and infinities are kept (stored as strings).
    #[serde(default, with = "crate::float::map")]
    pub metrics: BTreeMap<String, f64>,
    /// Per-step values of each streamed metric, in the order they came: `(step, value)`.
    #[serde(default, with = "crate::float::series")]
    pub series: BTreeMap<String, Vec<(u64, f64)>>,
    /// Dataset name -> fingerprint digest (BLAKE3 hex) of the data trained on.
    #[serde(default)]
    pub datasets: BTreeMap<String, String>,
    pub git: GitInfo,
    pub ci: CiInfo,
    /// Tool name -> version (python, scikit-learn, trainyard, …).
    #[serde(default)]
    pub tools: BTreeMap<String, String>,
    pub started_at: Timestamp,
    /// Wall-clock time from start to end, in seconds in JSON.
    #[serde(with = "crate::float::duration")]
    pub duration: Duration,
    pub outcome: Outcome,
    /// The files the run produced, stored in the artifact store.
    #[serde(default)]
    pub artifacts: Vec<ArtifactRef>,
    /// The artifact store holding them (`az://…`, `s3://…`, `oci://…`), as
    /// `artifacts.store` named it without credentials; `None` for the
    /// project's local folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    /// What a deployment downloads: the model's folder in the store (KServe's
    /// `storageUri`) or its OCI reference pinned by digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_uri: Option<String>,
}

/// A registered model version: a run's artifact under a model name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelVersion {
    pub model: String,
    /// 1, 2, 3… in order of registration, per model.
    pub version: u64,
    pub run_id: RunId,
    pub artifact: ArtifactRef,
    pub registered_at: Timestamp,
    /// The tags currently set on this version (derived from the tag history).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// The aliases currently pointing at this version (derived from the alias history).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
}

/// One move of an alias (`champion`, `challenger`, an environment name…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AliasMove {
    pub model: String,
    pub alias: String,
    /// The version the alias points at after the move.
    pub version: u64,
    /// The version it pointed at before, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<u64>,
    pub actor: String,
    pub at: Timestamp,
    pub reason: String,
}

/// One change of a tag on a model version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagChange {
    pub model: String,
    pub version: u64,
    pub key: String,
    pub value: String,
    pub actor: String,
    pub at: Timestamp,
    pub reason: String,
}

/// Whether a deployment moved an environment forward or back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeploymentKind {
    Promote,
    Rollback,
}

impl fmt::Display for DeploymentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Promote => "promote",
            Self::Rollback => "rollback",
        })
    }
}

/// One entry of an environment's history: which model version went there, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    pub model: String,
    pub version: u64,
    /// The artifact's BLAKE3 digest.
    pub digest: String,
    pub run_id: RunId,
    /// The commit of the desired-state change (`deploy/<env>/release.yaml`).
    pub commit: String,
    /// The digest of the gate verdict that allowed it, if a gate ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict_digest: Option<String>,
    pub at: Timestamp,
    pub actor: String,
    pub reason: String,
    pub kind: DeploymentKind,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn run_ids_carry_the_start_time_and_sort_by_it() {
        let early: Timestamp = "2026-11-25T09:59:59.999Z".parse().unwrap();
        let late: Timestamp = "2026-11-25T10:00:00.000Z".parse().unwrap();
        let (a, b) = (RunId::new(early), RunId::new(late));
        assert!(a.as_str().starts_with("20261125T095959.999Z-"), "{a}");
        assert_eq!(a.as_str().len(), "20261125T095959.999Z-".len() + 6);
        assert!(a < b);
        assert_ne!(
            RunId::new(late),
            RunId::new(late),
            "same millisecond, different ids"
        );
    }

    #[test]
    fn run_ids_that_could_escape_a_folder_are_refused() {
        for bad in ["", "../x", ".hidden", "a/b", "a b"] {
            assert!(RunId::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(RunId::parse("my-run_1.2").unwrap().as_str(), "my-run_1.2");
    }

    #[test]
    fn outcomes_serialise_with_a_status_tag() {
        let stopped = Outcome::Stopped {
            reason: "no improvement in 5 steps".to_owned(),
        };
        assert_eq!(
            serde_json::to_value(&stopped).unwrap(),
            serde_json::json!({"status": "stopped", "reason": "no improvement in 5 steps"})
        );
        assert_eq!(
            serde_json::to_value(Outcome::TimedOut).unwrap(),
            serde_json::json!({"status": "timed-out"})
        );
    }
}
