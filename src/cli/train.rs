//! `trainyard train`, `compare` and `reproduce`: the training loop's commands.

use clap::{Args, ValueEnum};

/// Which data a training run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TrainMode {
    /// A deterministic sample of each dataset (`datasets.<name>.sample`).
    Sample,
    /// All the data.
    Full,
}

#[derive(Debug, Default, Args)]
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

impl TrainArgs {
    pub fn with_mode(mode: TrainMode) -> Self {
        Self {
            mode: Some(mode),
            params: Vec::new(),
        }
    }
}

#[derive(Debug, Default, Args)]
pub struct CompareArgs {
    /// The run to judge (an id or a unique prefix); the latest run by default.
    pub run: Option<String>,
    /// What to compare against: `champion` (the model alias), `base` (the latest
    /// run on the pull request's base branch, or on the default branch outside a
    /// pull request), or a run id.
    #[arg(long, env = "TRAINYARD_AGAINST", default_value = "champion")]
    pub against: String,
}

#[derive(Debug, Args)]
pub struct ReproduceArgs {
    /// The recorded run to re-run (an id or a unique prefix).
    pub run: String,
    /// How far a reproduced metric may be from the recorded one: absolute, or
    /// relative with a `%` suffix (`0.5%`).
    #[arg(long, env = "TRAINYARD_TOLERANCE", default_value = "1e-6")]
    pub tolerance: String,
}
