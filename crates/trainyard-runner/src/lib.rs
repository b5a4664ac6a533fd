//! Runs a project's own training command and watches it. trainyard does not
//! train models: this crate starts the command (no shell) in its own process
//! group, streams its output line by line, reads the metrics it reports (the
//! `trainyard:metric` line protocol on stdout and a metrics file), stops it
//! early when a rule says the model does not converge or when the timeout
//! passes, and always ends the whole process tree.

pub mod early_stop;
pub mod metrics_file;
pub mod process;
pub mod protocol;
pub mod series;

pub use early_stop::{EarlyStopRule, EarlyStopper, StopReason};
pub use metrics_file::{MetricsFile, MetricsFileError, read_metrics_file};
pub use process::{
    Control, Finish, OutputLine, RunError, RunOptions, RunSummary, Stream, run_command,
};
pub use protocol::{MetricLine, parse_metric_line};
pub use series::{MAX_POINTS, MetricSeries, thin};
