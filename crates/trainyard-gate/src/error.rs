use std::path::PathBuf;

/// Why the gate or a promotion could not be carried out (not: why a gate refused).
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// A git operation through libgit2 failed.
    #[error("{action}: {source}")]
    Git {
        action: String,
        #[source]
        source: git2::Error,
    },
    /// The `git` command line failed or could not start.
    #[error("{0}")]
    GitCli(String),
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The base branch's manifest does not parse.
    #[error(transparent)]
    Manifest(Box<trainyard_core::ConfigError>),
    /// The policy or a release file is wrong in a way the user must fix.
    #[error("{0}")]
    Config(String),
    /// The branch tip moved while we wrote: someone else promoted at the same time.
    #[error("{0}")]
    Conflict(String),
    /// The remote refused the push because its branch moved (not a fast-forward).
    #[error("{0}")]
    Rejected(String),
}

impl GateError {
    pub(crate) fn git(action: impl Into<String>) -> impl FnOnce(git2::Error) -> Self {
        let action = action.into();
        move |source| Self::Git { action, source }
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io {
            action,
            path,
            source,
        }
    }
}
