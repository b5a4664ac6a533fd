//! What the gate judges: the candidate model version, the champion it is compared
//! with, and where its files are. Gathered by the caller (from the ledger).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use trainyard_core::manifest::{DataCheck, Direction};

/// The model version asking to enter an environment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Candidate {
    pub model: String,
    pub version: u64,
    pub run: String,
    /// The commit the run trained from; tag rules look here.
    pub commit: Option<String>,
    pub metrics: BTreeMap<String, f64>,
    /// The model artifact's size in bytes, when registered with one.
    pub artifact_size: Option<u64>,
    pub tags: BTreeMap<String, String>,
    /// The data checks' results, where reports were given: `Ok` passed, `Err`
    /// says why not (the check failed, or it was about other data).
    pub data_checks: BTreeMap<DataCheck, Result<(), String>>,
    /// What the forge reported on `commit`, for the `checks` rule.
    pub checks: CommitChecks,
}

/// The check runs and commit statuses on the candidate's commit, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitChecks {
    /// They could not be read: why, and how to make them readable (one line).
    Unavailable(String),
    /// Read from `source` (`GitHub octo-org/ml`): each name's results (a
    /// check run and a status may share a name; re-runs add more).
    Read {
        source: String,
        results: BTreeMap<String, Vec<CheckState>>,
    },
}

impl Default for CommitChecks {
    fn default() -> Self {
        Self::Unavailable("no forge was asked".to_owned())
    }
}

/// Where one check run or commit status stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckState {
    Succeeded,
    /// Not finished: `queued`, `in_progress`, `pending`…
    Pending(String),
    /// Finished without success: `failure`, `cancelled`, `error`, `skipped`…
    Failed(String),
}

/// The version currently holding the `champion` alias.
#[derive(Debug, Clone, PartialEq)]
pub struct Champion {
    pub version: u64,
    pub metrics: BTreeMap<String, f64>,
}

/// Where the candidate stands in the promotion order (`environments` are
/// declared in it): what it needed from the environment before this one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromotionOrder {
    /// The environment declared before the one asked for.
    pub previous: String,
    /// That environment's `min-soak`: how long a version must have been there.
    pub min_soak: Option<Duration>,
    /// The candidate's longest stay in `previous` (until the next deployment
    /// there, or until now); `None`: it was never deployed there.
    pub stayed: Option<Duration>,
    /// The order was skipped on purpose (`promote --skip-order`): why.
    pub skipped: Option<String>,
}

/// Reads a run artifact by its path in the run (`None`: the run has no such artifact).
pub type ArtifactReader<'a> = dyn Fn(&str) -> Option<Result<Vec<u8>, String>> + 'a;

/// Everything a gate looks at.
pub struct Evidence<'a> {
    pub environment: String,
    pub candidate: Candidate,
    pub champion: Option<Champion>,
    /// The promotion order's requirement; `None` for the first environment.
    pub order: Option<PromotionOrder>,
    /// Which way each metric is better (`model.metrics`), for non-regression.
    pub directions: BTreeMap<String, Direction>,
    /// The project folder: JUnit globs and fairness files are relative to it.
    pub root: PathBuf,
    /// The git repository holding the candidate's commit and the tags.
    pub repository: Option<PathBuf>,
    /// Where the policy came from, for the verdict.
    pub policy_source: String,
    /// Why the policy's branch was chosen (see `policy::BranchSource`).
    pub policy_branch: Option<String>,
    pub artifacts: &'a ArtifactReader<'a>,
}

impl fmt::Debug for Evidence<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Evidence")
            .field("environment", &self.environment)
            .field("candidate", &self.candidate)
            .field("champion", &self.champion)
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}
