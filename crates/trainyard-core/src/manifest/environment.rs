//! `environments` and `iac`: where models are deployed and the infrastructure generated for them.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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
