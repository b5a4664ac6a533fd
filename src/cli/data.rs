//! `trainyard data …`: validate, merge, drift, infer-schema, fingerprint, sample.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::requests::{
    DataDriftRequest, DataFingerprintRequest, DataInferSchemaRequest, DataMergeRequest,
    DataSampleRequest, DataValidateRequest,
};
use crate::steps::Request;

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Check datasets against their schema and checks; findings at file:line.
    Validate(DataValidateArgs),
    /// Write BLAKE3 digests of every dataset into trainyard.lock (commit it).
    Fingerprint(DataFingerprintArgs),
    /// Write a deterministic sample of a dataset: same data and seed, same bytes.
    Sample(DataSampleArgs),
    /// Merge the profiles of `data validate --shard` runs and check the whole dataset.
    Merge(DataMergeArgs),
    /// Compare a current dataset to a reference, column by column; exit 1 on drift.
    Drift(DataDriftArgs),
    /// Write a starting schema inferred from a dataset's data.
    InferSchema(DataInferSchemaArgs),
}

#[derive(Debug, Args)]
pub struct DataValidateArgs {
    /// Datasets to validate, by name, or data paths (a file, a folder, a glob) checked
    /// against `--schema`; all declared datasets by default. A declared name wins over a path.
    pub datasets: Vec<String>,
    /// The schema of the data paths: trainyard YAML, a Frictionless Table Schema (JSON)
    /// or a Great Expectations suite (JSON). Not needed for declared datasets.
    #[arg(long, value_name = "FILE")]
    pub schema: Option<PathBuf>,
    /// Also write the results as JUnit XML (one test case per check) to this file.
    #[arg(long, env = "TRAINYARD_JUNIT")]
    pub junit: Option<PathBuf>,
    /// Validate only shard `i/n` of each dataset's chunks (1-based, e.g. `2/4`), for a
    /// CI matrix; `data merge` then combines the shards' profiles.
    #[arg(long, env = "TRAINYARD_SHARD", value_name = "I/N")]
    pub shard: Option<String>,
    /// Folder for the profiles; `.trainyard/profiles` beside the manifest by default
    /// (data paths write a profile only when this is given).
    #[arg(long, env = "TRAINYARD_PROFILES", value_name = "DIR")]
    pub profiles: Option<PathBuf>,
    /// Worker threads for the pass (and the fingerprint); one per core by default.
    #[arg(long, env = "TRAINYARD_THREADS", value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
}

#[derive(Debug, Args)]
pub struct DataMergeArgs {
    /// Profile files written by `data validate --shard i/n` (all n shards).
    #[arg(required = true, value_name = "PROFILE")]
    pub profiles: Vec<PathBuf>,
    /// Where to write the merged profile; `.trainyard/profiles/<dataset>.json` by default.
    #[arg(long, short, env = "TRAINYARD_OUTPUT")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DataDriftArgs {
    /// The reference: a dataset's name in trainyard.yaml, a data path, or a saved profile (.json).
    #[arg(long, env = "TRAINYARD_REFERENCE")]
    pub reference: String,
    /// The current data: a dataset's name, a data path, or a saved profile (.json).
    #[arg(long, env = "TRAINYARD_CURRENT")]
    pub current: String,
    /// Use this test for every column without its own in the manifest (ks, wasserstein,
    /// chi-square, z-test, jensen-shannon, psi).
    #[arg(long, env = "TRAINYARD_DRIFT_TEST")]
    pub test: Option<String>,
    /// Use this threshold for every column without its own in the manifest.
    #[arg(long, env = "TRAINYARD_DRIFT_THRESHOLD")]
    pub threshold: Option<f64>,
    /// The dataset drifts when at least this share of its columns drift (default 0.5).
    #[arg(long, env = "TRAINYARD_DRIFT_SHARE")]
    pub drift_share: Option<f64>,
}

#[derive(Debug, Args)]
pub struct DataInferSchemaArgs {
    /// The dataset's name in trainyard.yaml, or a data path.
    #[arg(env = "TRAINYARD_DATASET")]
    pub dataset: String,
    /// Where to write the schema (YAML); `.trainyard/schemas/<dataset>.yaml` by default.
    #[arg(long, short, env = "TRAINYARD_OUTPUT")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
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

impl From<DataCommand> for Request {
    fn from(command: DataCommand) -> Self {
        match command {
            DataCommand::Validate(args) => Self::DataValidate(DataValidateRequest {
                datasets: args.datasets,
                schema: args.schema,
                junit: args.junit,
                shard: args.shard,
                profiles: args.profiles,
                threads: args.threads.map(usize::from),
            }),
            DataCommand::Fingerprint(args) => {
                Self::DataFingerprint(DataFingerprintRequest { check: args.check })
            }
            DataCommand::Sample(args) => Self::DataSample(DataSampleRequest {
                dataset: args.dataset,
                fraction: args.fraction,
                rows: args.rows,
                seed: args.seed,
                stratify: args.stratify,
                output: args.output,
            }),
            DataCommand::Merge(args) => Self::DataMerge(DataMergeRequest {
                profiles: args.profiles,
                output: args.output,
            }),
            DataCommand::Drift(args) => Self::DataDrift(DataDriftRequest {
                reference: args.reference,
                current: args.current,
                test: args.test,
                threshold: args.threshold,
                drift_share: args.drift_share,
            }),
            DataCommand::InferSchema(args) => Self::DataInferSchema(DataInferSchemaRequest {
                dataset: args.dataset,
                output: args.output,
            }),
        }
    }
}
