//! Exit codes, the contract with every CI system that runs trainyard.

use std::fmt;
use std::path::PathBuf;

use crate::diagnostic::ConfigError;

/// How a trainyard process ends. The numbers are documented in the README
/// and never change meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExitStatus {
    /// Every check passed.
    Passed = 0,
    /// A check or a gate failed: the input was understood and judged bad.
    Failed = 1,
    /// Usage or configuration error: a flag, an input or the manifest is wrong.
    Usage = 2,
    /// The environment failed: I/O, network, a missing tool.
    Environment = 3,
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// Why a step could not produce a [`crate::Report`]. A step that ran and found
/// problems returns a failing Report instead; this is for when it could not judge.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The manifest or another configuration file is wrong (exit 2).
    #[error(transparent)]
    Config(#[from] Box<ConfigError>),
    /// A flag or input is wrong (exit 2).
    #[error("{0}")]
    Usage(String),
    /// Reading or writing a file failed (exit 3).
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Anything else outside trainyard's control: a tool, the network (exit 3).
    #[error("{0}")]
    Environment(String),
}

impl StepError {
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }

    pub fn exit_status(&self) -> ExitStatus {
        match self {
            Self::Config(_) | Self::Usage(_) => ExitStatus::Usage,
            Self::Io { .. } | Self::Environment(_) => ExitStatus::Environment,
        }
    }
}

impl From<ConfigError> for StepError {
    fn from(error: ConfigError) -> Self {
        Self::Config(Box::new(error))
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Self::Passed => "passed",
            Self::Failed => "failed",
            Self::Usage => "usage or configuration error",
            Self::Environment => "environment error",
        };
        f.write_str(text)
    }
}
