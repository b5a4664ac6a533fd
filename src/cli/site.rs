//! Arguments of `trainyard site build`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::requests::SiteBuildRequest;
use crate::steps::Request;

#[derive(Debug, Subcommand)]
pub enum SiteCommand {
    /// Render the ledger, kept reports and data profiles as a static web site
    /// (no server, nothing fetched from another host).
    Build(SiteBuildArgs),
}

#[derive(Debug, Args)]
pub struct SiteBuildArgs {
    /// The folder to write the site to; `.trainyard/site` beside the manifest by default.
    #[arg(long, short, env = "TRAINYARD_OUTPUT")]
    pub output: Option<PathBuf>,
    /// Kept step reports to show (gate verdicts, drift checks); on GitHub and
    /// Azure the job's folder under the runner's temporary folder by default.
    #[arg(long, env = "TRAINYARD_REPORTS_DIR")]
    pub reports_dir: Option<PathBuf>,
}

impl From<SiteCommand> for Request {
    fn from(command: SiteCommand) -> Self {
        match command {
            SiteCommand::Build(args) => Self::SiteBuild(SiteBuildRequest {
                output: args.output,
                reports_dir: args.reports_dir,
            }),
        }
    }
}
