//! `trainyard train`, `compare` and `reproduce`: the training loop's commands.

use clap::{Args, ValueEnum};

use crate::requests::{
    CompareRequest, DEFAULT_AGAINST, DEFAULT_TOLERANCE, ReproduceRequest, RunMode, TrainRequest,
};

/// Which data a training run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TrainMode {
    /// A deterministic sample of each dataset (`datasets.<name>.sample`).
    Sample,
    /// All the data.
    Full,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Train on a sample or the full data. By default from the CI event: a pull
    /// request samples; a push to the default branch, a tag, a schedule, a manual
    /// run and a terminal train on the full data.
    #[arg(long, env = "TRAINYARD_TRAIN_MODE", value_enum)]
    pub mode: Option<TrainMode>,
    /// Override a parameter of `train.params` (repeatable): `--param epochs=50`.
    /// Values are read as JSON when they parse (numbers, booleans), else as text.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The run to judge (an id or a unique prefix); the latest run by default.
    pub run: Option<String>,
    /// What to compare against: `champion` (the model alias), `base` (the latest
    /// run on the pull request's base branch, or on the default branch outside a
    /// pull request), or a run id.
    #[arg(long, env = "TRAINYARD_AGAINST", default_value = DEFAULT_AGAINST)]
    pub against: String,
}

#[derive(Debug, Args)]
pub struct ReproduceArgs {
    /// The recorded run to re-run (an id or a unique prefix).
    pub run: String,
    /// How far a reproduced metric may be from the recorded one: absolute, or
    /// relative with a `%` suffix (`0.5%`).
    #[arg(long, env = "TRAINYARD_TOLERANCE", default_value = DEFAULT_TOLERANCE)]
    pub tolerance: String,
}

impl From<TrainMode> for RunMode {
    fn from(mode: TrainMode) -> Self {
        match mode {
            TrainMode::Sample => Self::Sample,
            TrainMode::Full => Self::Full,
        }
    }
}

impl From<TrainArgs> for TrainRequest {
    fn from(args: TrainArgs) -> Self {
        Self {
            mode: args.mode.map(RunMode::from),
            params: args.params,
        }
    }
}

impl From<CompareArgs> for CompareRequest {
    fn from(args: CompareArgs) -> Self {
        Self {
            run: args.run,
            against: args.against,
        }
    }
}

impl From<ReproduceArgs> for ReproduceRequest {
    fn from(args: ReproduceArgs) -> Self {
        Self {
            run: args.run,
            tolerance: args.tolerance,
        }
    }
}
