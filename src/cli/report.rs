//! Arguments of `trainyard report`.

use std::path::PathBuf;

use clap::Args;

use crate::requests::ReportRequest;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The folder the job's steps kept their reports in; on GitHub and Azure a
    /// folder for this job under the runner's temporary folder by default.
    #[arg(long, env = "TRAINYARD_REPORTS_DIR")]
    pub reports_dir: Option<PathBuf>,
}

impl From<ReportArgs> for ReportRequest {
    fn from(args: ReportArgs) -> Self {
        Self {
            reports_dir: args.reports_dir,
        }
    }
}
