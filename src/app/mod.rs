//! What steps share: the context a step runs in, the project it reads, and the
//! services more than one step uses (the ledger, git, atomic writes, paths
//! under `.trainyard/`, the live log, judging a version, promotion commits,
//! IaC planning, dataset validation). A helper two steps need lives here,
//! never in a step file; steps never import each other.

pub mod datasets;
pub mod fs;
pub mod git;
pub mod iac_plan;
pub mod interrupt;
pub mod judge;
pub mod kept_reports;
pub mod ledger;
pub mod log;
pub mod paths;
pub mod promotion;
pub mod sampling;
pub mod site;
pub mod store;
pub mod training;
pub mod transfer;
pub mod validation;

use std::path::{Path, PathBuf};

use trainyard_ci::Env;
use trainyard_core::manifest::{self, Dataset, Manifest};
use trainyard_core::{ConfigError, StepError};

pub use log::{LogSink, LogStream};

/// What every step may read besides its own request.
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

/// What a step may ask of the forge. The publishing side answers, so a step
/// never builds a client or sends a request itself.
pub trait ForgeEvidence: std::fmt::Debug {
    /// The check runs and commit statuses on `commit`, or why they cannot be read.
    fn commit_checks(&self, commit: &str) -> Result<trainyard_gate::CommitChecks, StepError>;

    /// The same forge, reading credentials from `env` instead.
    fn with_env(&self, env: &Env) -> Box<dyn ForgeEvidence>;
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
    /// A context whose live log goes nowhere and whose forge is `forge`.
    pub fn new(env: Env, manifest_path: PathBuf, forge: Box<dyn ForgeEvidence>) -> Self {
        Self {
            manifest_path,
            forge,
            env,
            log: LogStream::discard(),
        }
    }

    /// A context for another manifest with `env` and no live log, asking the
    /// same forge (quickstart runs its inner steps so).
    pub fn for_manifest(&self, manifest_path: PathBuf, env: Env) -> Self {
        let forge = self.forge.with_env(&env);
        Self::new(env, manifest_path, forge)
    }

    pub fn project(&self) -> Result<Project, StepError> {
        let manifest = manifest::load(&self.manifest_path)?;
        Ok(Project {
            manifest,
            root: self.project_root(),
            manifest_file: self.manifest_path.display().to_string(),
        })
    }

    /// The manifest's folder, without reading the manifest.
    pub fn project_root(&self) -> PathBuf {
        project_root(&self.manifest_path)
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

/// A dataset path that matches no file: the same configuration error (exit 2)
/// in every step, at the path's line in the manifest.
pub fn dataset_missing(manifest_file: &str, dataset: &str, pattern: &str) -> StepError {
    // Only for pointing at the line; the manifest itself was already parsed.
    let source = std::fs::read_to_string(manifest_file).unwrap_or_default();
    StepError::from(
        ConfigError::new(
            manifest_file,
            "dataset-missing",
            format!(
                "dataset `{dataset}`: `{pattern}` matches no {}",
                if datasets::is_store_url(pattern) { "object" } else { "file" }
            ),
        )
        .at_key(&source, &manifest::KeyPath::new(&["datasets", dataset, "path"]))
        .with_help(if datasets::is_store_url(pattern) {
            "a store URL names an object, a prefix of objects or a glob such as `s3://bucket/sales/*.parquet`, read with the credentials in the environment (docs/storage.md)"
        } else {
            "the path is relative to the manifest's folder: a file, a folder of files or a glob such as `data/*.csv`"
        }),
    )
}

fn project_root(manifest_path: &Path) -> PathBuf {
    match manifest_path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}
