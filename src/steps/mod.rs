//! One file per step. A step reads the manifest and the CI context, calls the
//! domain crates and returns a [`Report`]; it never prints and never talks to
//! a forge. The publisher shows the Report.

mod compare;
mod config_check;
mod data_drift;
mod data_fingerprint;
mod data_infer_schema;
mod data_merge;
mod data_sample;
mod data_validate;
mod gate;
mod iac_check;
mod iac_plan;
mod iac_render;
mod ledger_sync;
mod log;
mod model;
mod promote;
mod quickstart;
mod report;
mod reproduce;
mod rollback;
mod runs;
mod status;
mod train;

use std::path::{Path, PathBuf};

use trainyard_ci::Env;
use trainyard_core::manifest::{self, Dataset, Manifest};
use trainyard_core::{ConfigError, Report, StepError};

pub use log::{LogSink, LogStream};
pub use report::{REPORT_STEP, reports_dir, save_report};

use crate::cli::{Command, ConfigCommand, DataCommand, IacCommand};

/// What every step may read besides its own arguments.
#[derive(Debug)]
pub struct StepContext {
    /// The environment variables, captured once (tests inject their own).
    pub env: Env,
    /// The manifest as the user named it (flag, `TRAINYARD_MANIFEST` or `INPUT_MANIFEST`).
    pub manifest_path: PathBuf,
    /// The live log of long-running steps (a command's output while it runs).
    pub log: LogStream,
    /// Evidence only the forge holds (GitHub's check runs on a commit).
    pub forge: Box<dyn ForgeEvidence>,
}

/// What a step may ask of the forge. The CLI's forge layer answers, so a step
/// never builds a client or sends a request itself.
pub trait ForgeEvidence: std::fmt::Debug {
    /// The check runs and commit statuses on `commit`, or why they cannot be read.
    fn commit_checks(&self, commit: &str) -> Result<trainyard_gate::CommitChecks, StepError>;
}

/// A loaded manifest and the folder its relative paths start from.
#[derive(Debug)]
pub struct Project {
    pub manifest: Manifest,
    /// The manifest's folder: dataset paths, the lock file and outputs are relative to it.
    pub root: PathBuf,
    /// The manifest's path as the user gave it, for messages.
    pub manifest_file: String,
}

impl StepContext {
    /// A context whose live log goes nowhere.
    pub fn new(env: Env, manifest_path: PathBuf) -> Self {
        Self {
            manifest_path,
            forge: Box::new(crate::cli::forge::GitHubEvidence::new(&env)),
            env,
            log: LogStream::discard(),
        }
    }

    pub fn project(&self) -> Result<Project, StepError> {
        let manifest = manifest::load(&self.manifest_path)?;
        Ok(Project {
            manifest,
            root: project_root(&self.manifest_path),
            manifest_file: self.manifest_path.display().to_string(),
        })
    }
}

impl Project {
    /// A declared dataset by name; an unknown name suggests the nearest one.
    pub fn dataset(&self, name: &str) -> Result<&Dataset, StepError> {
        self.manifest.datasets.get(name).ok_or_else(|| {
            let names = self.manifest.datasets.keys().map(String::as_str);
            let error = ConfigError::new(
                self.manifest_file.clone(),
                "unknown-dataset",
                format!("no dataset `{name}` is declared under `datasets`"),
            );
            StepError::from(match trainyard_core::diagnostic::nearest(name, names) {
                Some(near) => error.with_help(format!("did you mean `{near}`?")),
                None => error.with_help(format!(
                    "declared datasets: {}",
                    self.manifest
                        .datasets
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            })
        })
    }
}

fn project_root(manifest_path: &Path) -> PathBuf {
    match manifest_path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Runs the step a command names.
pub fn run(command: &Command, context: &StepContext) -> Result<Report, StepError> {
    match command {
        Command::Config(ConfigCommand::Check) => config_check::run(&context.manifest_path),
        Command::Config(ConfigCommand::Schema) => Err(StepError::Usage(
            "`config schema` prints a document, not a report".to_owned(),
        )),
        Command::Data(DataCommand::Validate(args)) => data_validate::run(args, context),
        Command::Data(DataCommand::Fingerprint(args)) => data_fingerprint::run(args, context),
        Command::Data(DataCommand::Sample(args)) => data_sample::run(args, context),
        Command::Data(DataCommand::Merge(args)) => data_merge::run(args, context),
        Command::Data(DataCommand::Drift(args)) => data_drift::run(args, context),
        Command::Data(DataCommand::InferSchema(args)) => data_infer_schema::run(args, context),
        Command::Iac(IacCommand::Render(args)) => iac_render::run(args, context),
        Command::Iac(IacCommand::Check(args)) => iac_check::run(args, context),
        Command::Quickstart(args) => quickstart::run(args),
        Command::Train(args) => train::run(args, context),
        Command::Compare(args) => compare::run(args, context),
        Command::Reproduce(args) => reproduce::run(args, context),
        Command::Gate(args) => gate::run(args, context),
        Command::Promote(args) => promote::run(args, context),
        Command::Rollback(args) => rollback::run(args, context),
        Command::Status(args) => status::run(args, context),
        Command::Report(args) => report::run(args, context),
        Command::Ledger(command) => ledger_sync::run(command, context),
        Command::Runs(command) => runs::run(command, context),
        Command::Model(command) => model::run(command, context),
    }
}
