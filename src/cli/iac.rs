//! `trainyard iac …`: render the infrastructure of each environment, or check it for drift.

use clap::{Args, Subcommand, ValueEnum};
use trainyard_core::manifest::IacTarget;

use crate::requests::{IacCheckRequest, IacRenderRequest, IacSelection};
use crate::steps::Request;

#[derive(Debug, Subcommand)]
pub enum IacCommand {
    /// Write the infrastructure code of environments into the manifest's `iac.output-dir`.
    Render(IacRenderArgs),
    /// Render in memory and fail (exit 1) where the committed files differ; the diff is in the summary.
    Check(IacCheckArgs),
}

/// Which environments and targets to render.
#[derive(Debug, Clone, Args)]
pub struct IacSelectionArgs {
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

#[derive(Debug, Args)]
pub struct IacRenderArgs {
    #[command(flatten)]
    pub selection: IacSelectionArgs,
}

#[derive(Debug, Args)]
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

impl From<IacCommand> for Request {
    fn from(command: IacCommand) -> Self {
        match command {
            IacCommand::Render(args) => Self::IacRender(IacRenderRequest {
                selection: IacSelection {
                    environments: args.selection.environments,
                    all: args.selection.all,
                    targets: targets(args.selection.targets),
                },
            }),
            // Every environment unless some are named.
            IacCommand::Check(args) => Self::IacCheck(IacCheckRequest {
                selection: IacSelection {
                    all: args.environments.is_empty(),
                    environments: args.environments,
                    targets: targets(args.targets),
                },
            }),
        }
    }
}

fn targets(targets: Vec<TargetArg>) -> Vec<IacTarget> {
    targets.into_iter().map(IacTarget::from).collect()
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
