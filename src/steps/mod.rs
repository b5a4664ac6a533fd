//! One file per step. A step reads the manifest and the CI context, calls the
//! domain crates and returns a [`Report`]; it never prints and never talks to
//! a forge. The publisher shows the Report.

mod config_check;
mod quickstart;

use std::path::PathBuf;

use trainyard_ci::Env;
use trainyard_core::{Report, StepError};

use crate::cli::{Command, ConfigCommand};

/// What every step may read besides its own arguments.
#[derive(Debug)]
pub struct StepContext {
    /// The environment variables, captured once (tests inject their own).
    pub env: Env,
    /// The manifest as the user named it (flag, `TRAINYARD_MANIFEST` or `INPUT_MANIFEST`).
    pub manifest_path: PathBuf,
}

/// Runs the step a command names.
pub fn run(command: &Command, context: &StepContext) -> Result<Report, StepError> {
    match command {
        Command::Config(ConfigCommand::Check) => config_check::run(&context.manifest_path),
        Command::Config(ConfigCommand::Schema) => Err(StepError::Usage(
            "`config schema` prints a document, not a report".to_owned(),
        )),
        Command::Quickstart(args) => quickstart::run(args),
    }
}
