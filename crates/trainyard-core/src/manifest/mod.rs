//! `trainyard.yaml`: the one file a team writes. Every section is strict
//! (`deny_unknown_fields`), so a misspelt key is an error, never a silent default.
//!
//! The JSON Schema in `schemas/trainyard.schema.json` is generated from these
//! types ([`json_schema`]) and a test fails when the committed copy drifts.

pub mod data;
mod environment;
mod gate;
mod load;
mod locate;
mod metrics;
mod train;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use environment::{
    AzuremlIac, Compute, DEFAULT_REGION, Environment, Iac, IacTarget, KubernetesIac, ModelFormat,
    NameOverrides, Network, NetworkIsolation, Predictor, Rbac, Serving, TerraformState,
};
pub use gate::{
    ByteSize, Comparison, DataCheck, FairnessRule, GatePolicy, LatencyBudget, MetricThreshold,
    NonRegression, TestsRule,
};
pub use load::{MANIFEST_FILE, load, parse};
pub use locate::{KeyPath, Segment, locate, locate_key, locate_nearest, locate_nearest_key};
pub use metrics::{UndeclaredMetric, check_declared_metrics, undeclared_metrics};
pub use train::{
    Direction, EarlyStop, MetricSpec, Model, TRACKING_URI_RULE, Tracking, TrackingBackend, Train,
    TrainRuleError, mlflow_endpoint, parse_duration,
};

/// The manifest's format version this build reads.
pub const MANIFEST_VERSION: u32 = 1;

/// The whole of `trainyard.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(title = "trainyard.yaml", extend("$id" = "https://trainyard.dev/schemas/trainyard.schema.json"))]
pub struct Manifest {
    /// Format version of this file. Only `1` exists.
    pub version: u32,
    pub project: Project,
    /// Datasets the pipeline validates, fingerprints and trains on, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub datasets: BTreeMap<String, Dataset>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train: Option<Train>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<Model>,
    #[serde(default)]
    pub tracking: Tracking,
    /// Deployment gate policy per environment name; each key must be an environment.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub gates: BTreeMap<String, GatePolicy>,
    /// Deployment environments, in promotion order (e.g. dev, staging, prod).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environments: Vec<Environment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iac: Option<Iac>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifacts: Option<Artifacts>,
}

/// Where full runs publish model files (content-addressed by BLAKE3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Artifacts {
    /// The artifact store: `az://container/prefix` (Azure Blob or ADLS Gen2),
    /// `s3://bucket/prefix` (S3 or S3-compatible), `gs://bucket/prefix`,
    /// `file:///path`, `oci://registry/repository`, or a folder in the project
    /// (default `.trainyard/artifacts`). Credentials come from the environment,
    /// never from this file (see docs/storage.md).
    #[schemars(length(min = 1))]
    pub store: String,
}

impl Artifacts {
    /// The parsed store URL (checked when the manifest is loaded).
    pub fn store_url(&self) -> Result<crate::StoreUrl, crate::StoreUrlError> {
        crate::StoreUrl::parse(&self.store)
    }
}

/// Who this project is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Project {
    /// Lower-case letters, digits and dashes; used in names of runs, models and resources.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]{0,62}$"))]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The branch whose pushes run full training and whose policy the gates read.
    #[serde(default = "default_branch")]
    pub default_branch: String,
}

/// What a project name may be, as the manifest's JSON Schema says
/// (`^[a-z][a-z0-9-]{0,62}$`): it becomes part of resource, run and model names.
pub const PROJECT_NAME_RULE: &str = "a project name is 1 to 63 characters: lower-case letters, digits and dashes, starting with a letter (it is used in resource, run and model names)";

/// The longest project name.
pub const PROJECT_NAME_MAX: usize = 63;

/// Checks a project name against [`PROJECT_NAME_RULE`]; the error says what is
/// wrong (the name itself is shown only when short).
pub fn check_project_name(name: &str) -> Result<(), String> {
    let shown = || {
        if name.chars().count() <= PROJECT_NAME_MAX {
            format!("`{name}`")
        } else {
            format!("the name ({} characters)", name.chars().count())
        }
    };
    if name.is_empty() {
        return Err("the project name is empty".to_owned());
    }
    if name.chars().count() > PROJECT_NAME_MAX {
        return Err(format!(
            "{} is longer than {PROJECT_NAME_MAX} characters",
            shown()
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(format!(
            "{} does not start with a lower-case letter",
            shown()
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!(
            "{} has `{}`, which is not a lower-case letter, a digit or a dash",
            shown(),
            bad.escape_default()
        ));
    }
    Ok(())
}

/// What a dataset name may be: it names files (`<name>.json` profiles, shards,
/// samples, inferred schemas) and template values, so it is a plain file name.
pub const DATASET_NAME_RULE: &str = "a dataset name is 1 to 64 characters: letters, digits, `_` and `-`, starting with a letter or digit (it names profile, sample and schema files)";

/// What an environment name may be, as the manifest's JSON Schema says
/// (`^[a-z][a-z0-9-]{0,15}$`): it names folders (`deploy/<env>/`,
/// `<output-dir>/<target>/<env>/`), git refs and Azure resources.
pub const ENVIRONMENT_NAME_RULE: &str = "an environment name is 1 to 16 characters: lower-case letters, digits and dashes, starting with a letter (it names folders, refs and resources)";

/// What `model.name` may be: it names store keys (`models/<name>/<version>/`),
/// an OCI repository's path and the folder `model get` writes to.
pub const MODEL_NAME_RULE: &str = "a model name is 1 to 128 characters: letters, digits, `_`, `-` and `.`, starting with a letter or digit (it names store keys and folders)";

/// What `iac.output-dir` may be: a folder inside the project.
pub const OUTPUT_DIR_RULE: &str = "`iac.output-dir` is a folder inside the project, relative to the manifest, without `..` and outside `.git` (e.g. `infra` or `ops/infra`)";

/// Checks a dataset name against [`DATASET_NAME_RULE`].
pub fn check_dataset_name(name: &str) -> Result<(), String> {
    check_plain_name(
        name,
        64,
        |c| c.is_ascii_alphanumeric(),
        |c| c.is_ascii_alphanumeric() || c == '_' || c == '-',
    )
    .map_err(|why| format!("dataset {why}"))
}

/// Checks a model name against [`MODEL_NAME_RULE`].
pub fn check_model_name(name: &str) -> Result<(), String> {
    check_plain_name(
        name,
        128,
        |c| c.is_ascii_alphanumeric(),
        |c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'),
    )
    .map_err(|why| format!("model {why}"))
}

/// Checks an environment name against [`ENVIRONMENT_NAME_RULE`].
pub fn check_environment_name(name: &str) -> Result<(), String> {
    check_plain_name(
        name,
        16,
        |c| c.is_ascii_lowercase(),
        |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-',
    )
    .map_err(|why| format!("environment {why}"))
}

/// Checks `iac.output-dir` against [`OUTPUT_DIR_RULE`]: relative, `/`-separated
/// parts that are neither `..` nor `.git`, no backslash or control character.
pub fn check_output_dir(dir: &str) -> Result<(), String> {
    let shown = format!("`{}`", dir.escape_default());
    if dir.trim().is_empty() {
        return Err("`iac.output-dir` is empty".to_owned());
    }
    if dir.starts_with('/') || dir.starts_with('~') || dir.contains(':') {
        return Err(format!("{shown} is not a folder relative to the project"));
    }
    if dir.chars().any(|c| c.is_control() || c == '\\') {
        return Err(format!("{shown} has a control character or a backslash"));
    }
    for part in dir.split('/') {
        if part == ".." {
            return Err(format!("{shown} climbs out of the project with `..`"));
        }
        if part.eq_ignore_ascii_case(".git") {
            return Err(format!("{shown} is inside `.git`, git's own folder"));
        }
    }
    Ok(())
}

/// A name made of `first` then `rest` characters, at most `max` of them; the
/// error starts with the name (shown only when short, escaped).
fn check_plain_name(
    name: &str,
    max: usize,
    first: impl Fn(char) -> bool,
    rest: impl Fn(char) -> bool,
) -> Result<(), String> {
    let count = name.chars().count();
    let shown = if count <= max {
        format!("`{}`", name.escape_default())
    } else {
        format!("name of {count} characters")
    };
    if name.is_empty() {
        return Err("name is empty".to_owned());
    }
    if count > max {
        return Err(format!("{shown} is longer than {max} characters"));
    }
    if !name.starts_with(&first) {
        return Err(format!("{shown} does not start with an allowed character"));
    }
    if let Some(bad) = name.chars().find(|c| !rest(*c)) {
        return Err(format!(
            "{shown} has `{}`, which is not allowed",
            bad.escape_default()
        ));
    }
    Ok(())
}

fn default_branch() -> String {
    "main".to_owned()
}

/// One dataset: where its files are and how to read them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Dataset {
    /// A file, a glob (`data/*.csv`) or a folder of partitions, relative to the manifest.
    pub path: String,
    /// File format; guessed from the extension when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<DataFormat>,
    /// The column that holds the label, for stratified samples and per-class checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// How pull-request builds sample this dataset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<Sample>,
    /// How the CSV files are written (delimiter, quote, header, null values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csv: Option<data::CsvOptions>,
    /// The columns and checks, declared here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<data::DataSchema>,
    /// The columns and checks, read from a file relative to the manifest: trainyard
    /// YAML, a Frictionless Table Schema (`.json` with `fields`) or a Great
    /// Expectations suite (`.json` with `expectations`). Checks of `schema` are added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_file: Option<String>,
    /// How `data drift` judges this dataset: tests, thresholds, ignored columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<data::DriftPolicy>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DataFormat {
    Csv,
    Parquet,
    Jsonl,
}

/// A deterministic sample: the same data and seed give the same rows anywhere.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Sample {
    /// Fraction of rows to keep, in (0, 1]. Give this or `rows`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub fraction: Option<f64>,
    /// Number of rows to keep. Give this or `fraction`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    #[serde(default)]
    pub seed: u64,
    /// Keep the label's class proportions (uses the dataset's `label`).
    #[serde(default)]
    pub stratify: bool,
}

impl Manifest {
    pub fn environment(&self, name: &str) -> Option<&Environment> {
        self.environments.iter().find(|env| env.name == name)
    }
}

/// The JSON Schema of `trainyard.yaml`, as committed in `schemas/`.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Manifest)).unwrap_or_default()
}

/// [`json_schema`] as the exact text committed in `schemas/trainyard.schema.json`.
pub fn json_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&json_schema()).unwrap_or_default();
    text.push('\n');
    text
}
