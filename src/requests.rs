//! What each step is asked to do: plain data, no clap. The CLI builds these
//! from parsed arguments (`src/cli`); a step that runs another step (quickstart)
//! builds them directly. `Default` is what the command line does with no
//! flags, so a request built in code behaves like the bare command.

use std::path::PathBuf;

use trainyard_core::manifest::IacTarget;
pub use trainyard_ledger::RunMode;

/// The git remote a step pushes to when none is named.
pub const DEFAULT_REMOTE: &str = "origin";
/// What `compare` judges against when nothing else is named.
pub const DEFAULT_AGAINST: &str = trainyard_ledger::CHAMPION;
/// How far a reproduced metric may be from the recorded one by default.
pub const DEFAULT_TOLERANCE: &str = "1e-6";
/// How many runs `runs list` shows by default.
pub const DEFAULT_RUNS_LIMIT: usize = 20;

/// `config check`: the manifest comes from the context.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigCheckRequest;

/// `data validate`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DataValidateRequest {
    /// Datasets by name, or data paths (a file, a folder, a glob); every
    /// declared dataset when empty.
    pub datasets: Vec<String>,
    /// The schema of the data paths (trainyard YAML, Frictionless, GX).
    pub schema: Option<PathBuf>,
    /// Also write JUnit XML here.
    pub junit: Option<PathBuf>,
    /// `i/n`: validate one shard of each dataset's chunks.
    pub shard: Option<String>,
    /// Folder for the profiles; `.trainyard/profiles` beside the manifest when unset.
    pub profiles: Option<PathBuf>,
    /// Worker threads; one per core when unset.
    pub threads: Option<usize>,
}

/// `data fingerprint`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DataFingerprintRequest {
    /// Compare with the lock file instead of writing it.
    pub check: bool,
}

/// `data sample DATASET`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DataSampleRequest {
    pub dataset: String,
    pub fraction: Option<f64>,
    pub rows: Option<u64>,
    pub seed: Option<u64>,
    pub stratify: bool,
    /// Where to write; `.trainyard/samples/<dataset>.csv` when unset.
    pub output: Option<PathBuf>,
}

impl DataSampleRequest {
    /// The manifest's sample of `dataset`, written to the default place.
    pub fn of(dataset: impl Into<String>) -> Self {
        Self {
            dataset: dataset.into(),
            ..Self::default()
        }
    }
}

/// `data merge PROFILE...`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DataMergeRequest {
    pub profiles: Vec<PathBuf>,
    pub output: Option<PathBuf>,
}

/// `data drift --reference R --current C`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DataDriftRequest {
    /// A dataset's name, a data path, or a saved profile.
    pub reference: String,
    /// A dataset's name, a data path, or a saved profile.
    pub current: String,
    /// The test for every column without its own in the manifest.
    pub test: Option<String>,
    /// The threshold for every column without its own in the manifest.
    pub threshold: Option<f64>,
    /// The share of drifted columns at which the dataset drifts.
    pub drift_share: Option<f64>,
}

/// `data infer-schema DATASET`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DataInferSchemaRequest {
    /// A dataset's name or a data path.
    pub dataset: String,
    pub output: Option<PathBuf>,
}

/// Which environments and targets an IaC step covers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IacSelection {
    pub environments: Vec<String>,
    /// Every declared environment (wins over `environments`).
    pub all: bool,
    /// Only these targets; the manifest's `iac.targets` when empty.
    pub targets: Vec<IacTarget>,
}

impl IacSelection {
    /// Every environment, the manifest's targets.
    pub fn everything() -> Self {
        Self {
            all: true,
            ..Self::default()
        }
    }
}

/// `iac render`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IacRenderRequest {
    pub selection: IacSelection,
}

/// `iac check`: every environment unless the selection names some.
#[derive(Debug, Clone, PartialEq)]
pub struct IacCheckRequest {
    pub selection: IacSelection,
}

impl Default for IacCheckRequest {
    fn default() -> Self {
        Self {
            selection: IacSelection::everything(),
        }
    }
}

/// `quickstart [DIR]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QuickstartRequest {
    /// An empty or absent folder; a new temporary folder when unset.
    pub dir: Option<PathBuf>,
}

/// `init [--template NAME | --template-dir DIR] [--define key=value …] [--list] [DIR]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InitRequest {
    /// The new project's folder (new, empty, or without any of the template's files).
    pub dir: Option<PathBuf>,
    /// A template compiled into the binary, by name; the default one when unset.
    pub template: Option<String>,
    /// A cargo-generate template folder on disk instead of a compiled-in one.
    pub template_dir: Option<PathBuf>,
    /// `key=value` placeholder values (`project-name=` names the project).
    pub defines: Vec<String>,
    /// List the templates and their placeholders instead of rendering one.
    pub list: bool,
}

/// `train`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrainRequest {
    /// Sample or full data; from the CI event when unset.
    pub mode: Option<RunMode>,
    /// `NAME=VALUE` overrides of `train.params`.
    pub params: Vec<String>,
}

impl TrainRequest {
    pub fn with_mode(mode: RunMode) -> Self {
        Self {
            mode: Some(mode),
            params: Vec::new(),
        }
    }
}

/// `compare [RUN] [--against ...]`.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareRequest {
    /// A run id or unique prefix; the latest run when unset.
    pub run: Option<String>,
    /// `champion`, `base`, or a run id.
    pub against: String,
}

impl Default for CompareRequest {
    fn default() -> Self {
        Self {
            run: None,
            against: DEFAULT_AGAINST.to_owned(),
        }
    }
}

/// `reproduce RUN`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReproduceRequest {
    pub run: String,
    /// Absolute, or relative with a `%` suffix.
    pub tolerance: String,
}

/// `gate --env E`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GateRequest {
    pub env: String,
    /// `NAME@VERSION`, `NAME@ALIAS`, or a bare version or alias; the challenger when unset.
    pub model: Option<String>,
    /// JSON reports of `data validate` / `data drift` for the `require-data` rule.
    pub data_reports: Vec<PathBuf>,
    /// Also write the verdict as JSON here.
    pub verdict: Option<PathBuf>,
    /// Judge as if the version had gone through the environments before this
    /// one, for this recorded reason (`promote --skip-order --reason`).
    pub skip_order: Option<String>,
}

impl GateRequest {
    pub fn for_env(env: impl Into<String>) -> Self {
        Self {
            env: env.into(),
            ..Self::default()
        }
    }
}

/// How a desired-state change reaches the target branch.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeRequest {
    /// Commit onto the target branch instead of a review branch.
    pub direct: bool,
    pub remote: String,
    /// Commit locally, push nothing.
    pub no_push: bool,
}

impl Default for ChangeRequest {
    fn default() -> Self {
        Self {
            direct: false,
            remote: DEFAULT_REMOTE.to_owned(),
            no_push: false,
        }
    }
}

/// `promote --env E`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PromoteRequest {
    pub gate: GateRequest,
    pub change: ChangeRequest,
    pub reason: Option<String>,
    /// Enter the environment without having gone through the one before it
    /// (a hotfix); needs `reason`, which is recorded.
    pub skip_order: bool,
}

/// `rollback --env E --reason WHY`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RollbackRequest {
    pub env: String,
    /// The version to return to; the entry before the current one when unset.
    pub to: Option<u64>,
    pub reason: String,
    pub change: ChangeRequest,
}

/// `status`.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusRequest {
    /// Record merged promotions in the ledger.
    pub record: bool,
    pub remote: String,
    pub no_push: bool,
}

impl Default for StatusRequest {
    fn default() -> Self {
        Self {
            record: false,
            remote: DEFAULT_REMOTE.to_owned(),
            no_push: false,
        }
    }
}

/// `report`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportRequest {
    /// Where the job's steps kept their reports; the CI's per-job folder when unset.
    pub reports_dir: Option<PathBuf>,
}

/// `ledger push` / `ledger pull`.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerSyncRequest {
    /// A remote's name or URL.
    pub remote: String,
}

impl Default for LedgerSyncRequest {
    fn default() -> Self {
        Self {
            remote: DEFAULT_REMOTE.to_owned(),
        }
    }
}

/// `ledger export`: the project's git ledger copied into another ledger.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LedgerExportRequest {
    /// Where to: `mlflow+http(s)://…` (an MLflow tracking server),
    /// `mlflow+azureml://…`, or a git repository's folder (`git+file:///…` or a path).
    pub to: String,
}

/// `ledger import`: another ledger copied into the project's git ledger.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LedgerImportRequest {
    /// Where from: as [`LedgerExportRequest::to`].
    pub from: String,
    /// From MLflow: the repository holding its alias and tag histories and
    /// deployments (the one whose steps recorded there); this one when unset.
    pub history: Option<PathBuf>,
}

/// `runs list`.
#[derive(Debug, Clone, PartialEq)]
pub struct RunsListRequest {
    pub limit: usize,
}

impl Default for RunsListRequest {
    fn default() -> Self {
        Self {
            limit: DEFAULT_RUNS_LIMIT,
        }
    }
}

/// `runs show ID`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunsShowRequest {
    /// A run id or a prefix naming one run.
    pub id: String,
}

/// `model list`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelListRequest;

/// `model show NAME[@VERSION|@ALIAS]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelShowRequest {
    pub target: String,
}

/// `model alias MODEL VERSION ALIAS --reason WHY`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelAliasRequest {
    pub model: String,
    pub version: String,
    pub alias: String,
    pub reason: String,
}

/// `model tag NAME@VERSION KEY=VALUE...`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelTagRequest {
    pub target: String,
    pub tags: Vec<String>,
    pub reason: String,
}

/// `model get [NAME[@VERSION|@ALIAS]] [--env E] [-o DIR]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelGetRequest {
    /// `NAME@VERSION`, `NAME@ALIAS`, a bare version or alias of the
    /// manifest's model; the champion when unset.
    pub target: Option<String>,
    /// The version this environment runs (its alias) instead of a version.
    pub env: Option<String>,
    /// Where to write the files; `.trainyard/models/<model>/<version>` when unset.
    pub output: Option<PathBuf>,
}

/// `site build [-o DIR] [--reports-dir DIR]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SiteBuildRequest {
    /// Where the site is written; `.trainyard/site` beside the manifest when unset.
    pub output: Option<PathBuf>,
    /// Kept step reports to show (gate verdicts, drift checks); the job's
    /// folder on GitHub and Azure (see `app::kept_reports`) when unset.
    pub reports_dir: Option<PathBuf>,
}
