//! `trainyard.yaml`: the one file a team writes. Every section is strict
//! (`deny_unknown_fields`), so a misspelt key is an error, never a silent default.
//!
//! The JSON Schema in `schemas/trainyard.schema.json` is generated from these
//! types ([`json_schema`]) and a test fails when the committed copy drifts.

pub mod data;
mod load;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use load::{MANIFEST_FILE, load, parse};

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

/// The project's own training command; trainyard runs it, it does not train.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Train {
    /// The command line, run without a shell. Placeholders like `{{ datasets.train.path }}`
    /// and `{{ output_dir }}` are filled in per run.
    pub command: Vec<String>,
    /// Where the command writes its metrics (JSON, YAML or CSV), relative to the output folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_file: Option<String>,
    /// Parameters passed to the command as `TRAINYARD_PARAM_<NAME>` and placeholders.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, serde_json::Value>,
    /// Longest a run may take, e.g. `30m`, `2h`; the process tree is killed after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
}

/// The model the training produces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Model {
    /// The registered model's name.
    pub name: String,
    /// The model file(s) the command writes, relative to the output folder.
    pub path: String,
    /// Metrics and which way is better, by metric name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metrics: BTreeMap<String, MetricSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MetricSpec {
    pub direction: Direction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    Maximize,
    Minimize,
}

/// Where runs, model versions and aliases are recorded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Tracking {
    #[serde(default)]
    pub backend: TrackingBackend,
    /// The MLflow tracking URI, for `backend: mlflow`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TrackingBackend {
    /// Runs recorded in this repository under `refs/trainyard/`; nothing to host.
    #[default]
    Git,
    Mlflow,
}

/// What a model must show before it may enter an environment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct GatePolicy {
    /// Metric thresholds, each `NAME OP VALUE` with OP one of `>=`, `>`, `<=`, `<`, e.g. `accuracy >= 0.9`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<String>,
    /// The deployed commit must carry a tag matching this glob, e.g. `v*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_tag: Option<String>,
}

/// A deployment environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Environment {
    /// Lower-case letters, digits and dashes, e.g. `staging`.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]{0,15}$"))]
    pub name: String,
    /// Cloud region, e.g. `westeurope`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Tags put on every resource of this environment.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// Infrastructure as code generated for the environments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Iac {
    pub targets: Vec<IacTarget>,
    /// Folder the generated files are written to, relative to the manifest.
    #[serde(default = "default_iac_dir")]
    pub output_dir: String,
}

fn default_iac_dir() -> String {
    "infra".to_owned()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum IacTarget {
    Terraform,
    Bicep,
    Kubernetes,
    Azureml,
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

/// A parsed gate metric rule such as `accuracy >= 0.9`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricThreshold {
    pub metric: String,
    pub comparison: Comparison,
    pub value: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    AtLeast,
    Above,
    AtMost,
    Below,
}

impl Comparison {
    pub fn holds(self, observed: f64, required: f64) -> bool {
        match self {
            Self::AtLeast => observed >= required,
            Self::Above => observed > required,
            Self::AtMost => observed <= required,
            Self::Below => observed < required,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Self::AtLeast => ">=",
            Self::Above => ">",
            Self::AtMost => "<=",
            Self::Below => "<",
        }
    }
}

impl MetricThreshold {
    /// Parses `NAME OP VALUE`; the error says what is wrong in words.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = text.split_whitespace();
        let (Some(metric), Some(op), Some(value), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("expected `NAME OP VALUE`, e.g. `accuracy >= 0.9`".to_owned());
        };
        let comparison = match op {
            ">=" => Comparison::AtLeast,
            ">" => Comparison::Above,
            "<=" => Comparison::AtMost,
            "<" => Comparison::Below,
            other => {
                return Err(format!(
                    "`{other}` is not a comparison; use one of >=, >, <=, <"
                ));
            }
        };
        let value: f64 = value
            .parse()
            .ok()
            .filter(|value: &f64| value.is_finite())
            .ok_or_else(|| format!("`{value}` is not a number"))?;
        Ok(Self {
            metric: metric.to_owned(),
            comparison,
            value,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_thresholds_parse_and_hold() {
        let rule = MetricThreshold::parse("accuracy >= 0.9").unwrap();
        assert_eq!(rule.metric, "accuracy");
        assert!(rule.comparison.holds(0.9, rule.value));
        assert!(!rule.comparison.holds(0.89, rule.value));
        assert!(
            MetricThreshold::parse("accuracy => 0.9")
                .unwrap_err()
                .contains("`=>`")
        );
        assert!(
            MetricThreshold::parse("accuracy >= high")
                .unwrap_err()
                .contains("`high`")
        );
        assert!(MetricThreshold::parse("accuracy").is_err());
    }
}
