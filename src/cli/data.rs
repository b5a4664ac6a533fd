//! `trainyard data …`: validate, fingerprint, sample.

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Check datasets against their schema and checks; findings at file:line.
    Validate(DataValidateArgs),
    /// Write BLAKE3 digests of every dataset into trainyard.lock (commit it).
    Fingerprint(DataFingerprintArgs),
    /// Write a deterministic sample of a dataset: same data and seed, same bytes.
    Sample(DataSampleArgs),
}

#[derive(Debug, Default, Args)]
pub struct DataValidateArgs {
    /// Datasets to validate, by name; all declared ones by default.
    pub datasets: Vec<String>,
    /// Also write the results as JUnit XML (one test case per check) to this file.
    #[arg(long, env = "TRAINYARD_JUNIT")]
    pub junit: Option<PathBuf>,
}

#[derive(Debug, Default, Args)]
pub struct DataFingerprintArgs {
    /// Do not write the lock file; fail (exit 1) if the data no longer matches it.
    #[arg(long, env = "TRAINYARD_CHECK")]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct DataSampleArgs {
    /// The dataset's name in trainyard.yaml.
    #[arg(env = "TRAINYARD_DATASET")]
    pub dataset: String,
    /// Fraction of rows to keep, in (0, 1]; overrides the manifest's `sample`.
    #[arg(long, env = "TRAINYARD_FRACTION", conflicts_with = "rows")]
    pub fraction: Option<f64>,
    /// Number of rows to keep; overrides the manifest's `sample`.
    #[arg(long, env = "TRAINYARD_ROWS")]
    pub rows: Option<u64>,
    /// Seed of the selection; overrides the manifest's `sample.seed`.
    #[arg(long, env = "TRAINYARD_SEED")]
    pub seed: Option<u64>,
    /// Keep the class proportions of the dataset's `label` column.
    #[arg(long, env = "TRAINYARD_STRATIFY")]
    pub stratify: bool,
    /// Where to write the sample; `.trainyard/samples/<dataset>.csv` beside the manifest by default.
    #[arg(long, short, env = "TRAINYARD_OUTPUT")]
    pub output: Option<PathBuf>,
}

impl DataSampleArgs {
    /// The manifest's sample of `dataset`, written to the default place.
    pub fn for_dataset(dataset: String) -> Self {
        Self {
            dataset,
            fraction: None,
            rows: None,
            seed: None,
            stratify: false,
            output: None,
        }
    }
}
