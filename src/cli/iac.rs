//! `trainyard iac …`: render the infrastructure of each environment, or check it for drift.

use clap::{Args, Subcommand, ValueEnum};
use trainyard_core::manifest::IacTarget;

#[derive(Debug, Subcommand)]
pub enum IacCommand {
    /// Write the infrastructure code of environments into the manifest's `iac.output-dir`.
    Render(IacRenderArgs),
    /// Render in memory and fail (exit 1) where the committed files differ; the diff is in the summary.
    Check(IacCheckArgs),
}

/// Which environments and targets to render.
#[derive(Debug, Default, Clone, Args)]
pub struct IacSelection {
    /// The environment to render (repeatable); give this or `--all`.
    #[arg(long = "env", env = "TRAINYARD_ENV", value_delimiter = ',')]
    pub environments: Vec<String>,
    /// Every environment declared under `environments` (wins over `--env`).
    #[arg(long, env = "TRAINYARD_ALL")]
    pub all: bool,
    /// Only this target (repeatable); the manifest's `iac.targets` by default.
    #[arg(
        long = "target",
        env = "TRAINYARD_TARGET",
        value_enum,
        value_delimiter = ','
    )]
    pub targets: Vec<TargetArg>,
}

#[derive(Debug, Default, Args)]
pub struct IacRenderArgs {
    #[command(flatten)]
    pub selection: IacSelection,
}

#[derive(Debug, Default, Args)]
pub struct IacCheckArgs {
    /// The environment to check (repeatable); every environment by default.
    #[arg(long = "env", env = "TRAINYARD_ENV", value_delimiter = ',')]
    pub environments: Vec<String>,
    /// Only this target (repeatable); the manifest's `iac.targets` by default.
    #[arg(
        long = "target",
        env = "TRAINYARD_TARGET",
        value_enum,
        value_delimiter = ','
    )]
    pub targets: Vec<TargetArg>,
}

impl IacCheckArgs {
    pub fn selection(&self) -> IacSelection {
        IacSelection {
            all: self.environments.is_empty(),
            environments: self.environments.clone(),
            targets: self.targets.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TargetArg {
    Terraform,
    Bicep,
    Kubernetes,
    Azureml,
}

impl From<TargetArg> for IacTarget {
    fn from(target: TargetArg) -> Self {
        match target {
            TargetArg::Terraform => Self::Terraform,
            TargetArg::Bicep => Self::Bicep,
            TargetArg::Kubernetes => Self::Kubernetes,
            TargetArg::Azureml => Self::Azureml,
        }
    }
}
