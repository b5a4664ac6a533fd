//! `train`, `model` and `tracking`: what trains, what it produces, where runs are recorded.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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
