//! `environments` and `iac`: where models are deployed and the infrastructure generated for them.
//!
//! Every per-environment value has a default, so `- name: dev` alone renders a
//! complete, secure environment; the values exist so that environments can
//! differ on purpose (sizes, scale, isolation) and never by accident.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The region used when an environment names none.
pub const DEFAULT_REGION: &str = "westeurope";

/// A deployment environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Environment {
    /// Lower-case letters, digits and dashes, e.g. `staging`.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]{0,15}$"))]
    pub name: String,
    /// Cloud region, e.g. `westeurope`; `westeurope` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Tags put on every resource of this environment (besides `project`, `environment`, `managed-by`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// The training cluster: VM size and scale.
    #[serde(default)]
    pub compute: Compute,
    /// The model server: Azure ML online deployment size and Kubernetes replicas.
    #[serde(default)]
    pub serving: Serving,
    /// Network isolation of the environment's resources.
    #[serde(default)]
    pub network: Network,
    /// Who may do what, by Microsoft Entra object id.
    #[serde(default)]
    pub rbac: Rbac,
    /// Resource names that replace the computed ones (validated against Azure's rules all the same).
    #[serde(default)]
    pub names: NameOverrides,
    /// How long a version must have been deployed here before it may enter
    /// the next environment, e.g. `24h`, `2d`, `1h30m` (the duration syntax of
    /// `train.timeout`); without it, having been deployed here is enough.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_soak: Option<String>,
}

impl Environment {
    pub fn region(&self) -> &str {
        self.region.as_deref().unwrap_or(DEFAULT_REGION)
    }

    /// `min-soak`, parsed (checked when the manifest is loaded).
    pub fn min_soak_duration(&self) -> Result<Option<std::time::Duration>, String> {
        self.min_soak
            .as_deref()
            .map(super::parse_duration)
            .transpose()
    }
}

/// The Azure ML training cluster of an environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Compute {
    /// VM size of the cluster's nodes; pick one your subscription has quota for.
    #[serde(default = "default_vm_size")]
    pub vm_size: String,
    /// Nodes kept running when idle; 0 costs nothing when no job runs.
    #[serde(default)]
    pub min_nodes: u32,
    /// Most nodes the cluster scales out to.
    #[serde(default = "default_max_nodes")]
    #[schemars(range(min = 1))]
    pub max_nodes: u32,
    /// Low-priority (spot) nodes: cheaper, may be pre-empted.
    #[serde(default)]
    pub low_priority: bool,
}

impl Default for Compute {
    fn default() -> Self {
        Self {
            vm_size: default_vm_size(),
            min_nodes: 0,
            max_nodes: default_max_nodes(),
            low_priority: false,
        }
    }
}

fn default_vm_size() -> String {
    "Standard_DS3_v2".to_owned()
}

fn default_max_nodes() -> u32 {
    2
}

/// The model server of an environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Serving {
    /// VM size of the Azure ML managed online deployment.
    #[serde(default = "default_instance_type")]
    pub instance_type: String,
    /// Instances of the Azure ML online deployment.
    #[serde(default = "one")]
    #[schemars(range(min = 1))]
    pub instance_count: u32,
    /// Kubernetes replicas kept at all times (the autoscaler's minimum).
    #[serde(default = "one")]
    #[schemars(range(min = 1))]
    pub replicas: u32,
    /// Kubernetes replicas the autoscaler may add up to.
    #[serde(default = "default_max_replicas")]
    #[schemars(range(min = 1))]
    pub max_replicas: u32,
    /// CPU requested (and limited to) per Kubernetes replica, e.g. `500m`.
    #[serde(default = "default_cpu")]
    pub cpu: String,
    /// Memory requested (and limited to) per Kubernetes replica, e.g. `1Gi`.
    #[serde(default = "default_memory")]
    pub memory: String,
}

impl Default for Serving {
    fn default() -> Self {
        Self {
            instance_type: default_instance_type(),
            instance_count: 1,
            replicas: 1,
            max_replicas: default_max_replicas(),
            cpu: default_cpu(),
            memory: default_memory(),
        }
    }
}

fn default_instance_type() -> String {
    "Standard_DS3_v2".to_owned()
}

fn one() -> u32 {
    1
}

fn default_max_replicas() -> u32 {
    3
}

fn default_cpu() -> String {
    "500m".to_owned()
}

fn default_memory() -> String {
    "1Gi".to_owned()
}

/// How an environment's resources are reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Network {
    /// `private` (the default): public access off, private endpoints in a virtual
    /// network. `public`: reachable from the internet, limited to `allowed-ips`.
    #[serde(default)]
    pub isolation: NetworkIsolation,
    /// Address space of the environment's virtual network (private isolation).
    #[serde(default = "default_address_space")]
    pub address_space: String,
    /// Addresses or CIDR ranges let through the firewalls of storage, key vault and registry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_ips: Vec<String>,
}

impl Default for Network {
    fn default() -> Self {
        Self {
            isolation: NetworkIsolation::default(),
            address_space: default_address_space(),
            allowed_ips: Vec::new(),
        }
    }
}

fn default_address_space() -> String {
    "10.0.0.0/16".to_owned()
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum NetworkIsolation {
    #[default]
    Private,
    Public,
}

/// Role assignments, by Microsoft Entra object id (a GUID).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Rbac {
    /// Get the `AzureML Data Scientist` role on the workspace.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_scientists: Vec<String>,
    /// Get the `Reader` role on the environment's resource group.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub readers: Vec<String>,
    /// The pipeline's identity: `Contributor` on the resource group and `AcrPush` on the registry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deployers: Vec<String>,
}

/// Names that replace the computed ones. Each is checked against its Azure rule at render time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NameOverrides {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_vault: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_registry: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub online_endpoint: Option<String>,
}

/// Infrastructure as code generated for the environments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Iac {
    pub targets: Vec<IacTarget>,
    /// Folder the generated files are written to, relative to the manifest.
    #[serde(default = "default_iac_dir")]
    pub output_dir: String,
    /// Replaces the suffix that makes globally unique names unique (by default
    /// derived from the project and environment names). 4 to 6 lower-case letters or digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z0-9]{4,6}$"))]
    pub name_suffix: Option<String>,
    /// Where Terraform keeps its state: one state file per environment in this storage account.
    #[serde(default)]
    pub terraform_state: TerraformState,
    /// The model server on Kubernetes and the GitOps controllers that deploy it.
    #[serde(default)]
    pub kubernetes: KubernetesIac,
    /// The Azure ML job and deployment definitions.
    #[serde(default)]
    pub azureml: AzuremlIac,
}

fn default_iac_dir() -> String {
    "infra".to_owned()
}

/// The `azurerm` remote state backend, created once outside the environments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TerraformState {
    /// Resource group of the state storage account.
    #[serde(default = "default_state_group")]
    pub resource_group: String,
    /// Storage account holding the state; computed (`sttfstate<suffix>`) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_account: Option<String>,
    /// Blob container of the state files.
    #[serde(default = "default_state_container")]
    pub container: String,
}

impl Default for TerraformState {
    fn default() -> Self {
        Self {
            resource_group: default_state_group(),
            storage_account: None,
            container: default_state_container(),
        }
    }
}

fn default_state_group() -> String {
    "rg-terraform-state".to_owned()
}

fn default_state_container() -> String {
    "tfstate".to_owned()
}

/// The model server on Kubernetes (a KServe `InferenceService`) and its GitOps wiring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct KubernetesIac {
    /// How KServe serves the model: a built-in runtime for its format, or a
    /// custom container. Required by the `kubernetes` target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predictor: Option<Predictor>,
    /// Namespace of the model server; `<project>-<env>` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Git URL Argo CD and Flux clone to watch `deploy/<env>/`. Required by
    /// the `kubernetes` target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub repo_url: Option<String>,
    /// Namespace Argo CD runs in.
    #[serde(default = "default_argocd_namespace")]
    pub argocd_namespace: String,
    /// The Flux `GitRepository` (in `flux-system`) that holds this repository.
    #[serde(default = "default_flux_source")]
    pub flux_source: String,
}

/// The KServe predictor: which runtime loads the model from its `storageUri`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Predictor {
    /// The model's format, as KServe names it (`spec.predictor.model.modelFormat.name`):
    /// `sklearn`, `xgboost`, `lightgbm`, `onnx`; or `custom` for your own
    /// serving container (then `image` is required).
    pub format: ModelFormat,
    /// The custom container's image (`format: custom` only); pin it by digest
    /// (`…@sha256:…`). KServe downloads the model to `/mnt/models` and sets
    /// `STORAGE_URI`; the container serves HTTP on port 8080.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub image: Option<String>,
}

/// A model format KServe has a serving runtime for, or `custom`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ModelFormat {
    Sklearn,
    Xgboost,
    Lightgbm,
    Onnx,
    Custom,
}

impl ModelFormat {
    /// The name as written in the manifest (and as KServe's `modelFormat.name`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sklearn => "sklearn",
            Self::Xgboost => "xgboost",
            Self::Lightgbm => "lightgbm",
            Self::Onnx => "onnx",
            Self::Custom => "custom",
        }
    }
}

impl Default for KubernetesIac {
    fn default() -> Self {
        Self {
            predictor: None,
            namespace: None,
            repo_url: None,
            argocd_namespace: default_argocd_namespace(),
            flux_source: default_flux_source(),
        }
    }
}

fn default_argocd_namespace() -> String {
    "argocd".to_owned()
}

fn default_flux_source() -> String {
    "flux-system".to_owned()
}

/// The Azure ML CLI v2 definitions a training or deploy pipeline submits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AzuremlIac {
    /// The job's environment (image and packages), an Azure ML environment reference.
    #[serde(default = "default_azureml_environment")]
    pub environment: String,
    /// The folder uploaded as the job's code, relative to the manifest.
    #[serde(default = "default_code")]
    pub code: String,
}

impl Default for AzuremlIac {
    fn default() -> Self {
        Self {
            environment: default_azureml_environment(),
            code: default_code(),
        }
    }
}

fn default_azureml_environment() -> String {
    "azureml://registries/azureml/environments/sklearn-1.5/labels/latest".to_owned()
}

fn default_code() -> String {
    ".".to_owned()
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum IacTarget {
    Terraform,
    Bicep,
    Kubernetes,
    Azureml,
}

impl IacTarget {
    pub const ALL: [Self; 4] = [
        Self::Terraform,
        Self::Bicep,
        Self::Kubernetes,
        Self::Azureml,
    ];

    /// The name as written in the manifest and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Terraform => "terraform",
            Self::Bicep => "bicep",
            Self::Kubernetes => "kubernetes",
            Self::Azureml => "azureml",
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::manifest::{NetworkIsolation, parse};

    #[test]
    fn a_bare_environment_gets_secure_small_defaults() {
        let manifest = parse(
            "version: 1\nproject:\n  name: demo\nenvironments:\n  - name: dev\n",
            "trainyard.yaml",
        )
        .unwrap();
        let dev = &manifest.environments[0];
        assert_eq!(dev.region(), "westeurope");
        assert_eq!(dev.network.isolation, NetworkIsolation::Private);
        assert_eq!(dev.compute.min_nodes, 0);
        assert_eq!(dev.compute.vm_size, "Standard_DS3_v2");
        assert_eq!((dev.serving.replicas, dev.serving.max_replicas), (1, 3));
        assert!(dev.rbac.readers.is_empty() && dev.names.storage_account.is_none());
    }

    #[test]
    fn a_misspelt_per_environment_key_is_refused_with_the_nearest() {
        let source = "version: 1\nproject:\n  name: demo\nenvironments:\n  - name: dev\n    compute: { vm-sise: Standard_D2 }\n";
        let error = parse(source, "trainyard.yaml").unwrap_err();
        assert_eq!(error.rule, "unknown-key");
        assert!(error.help.unwrap().starts_with("did you mean `vm-size`?"));
    }
}
