//! Why a store could not put or get a file, with what a person needs to fix it.

use std::io;
use std::path::PathBuf;

use trainyard_core::{StepError, StoreUrlError};

/// Why the store could not put or get a file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("no artifact with digest {digest} in the store at {store}")]
    NotFound { digest: String, store: String },
    /// The stored bytes do not hash to their digest; nothing was written.
    #[error(
        "the stored artifact {digest} at {location} is corrupt (its content hashes to {actual}); nothing was written; delete it and store it again"
    )]
    Corrupt {
        digest: String,
        actual: String,
        location: String,
    },
    #[error("`{value}` is not a BLAKE3 digest (64 lowercase hex characters)")]
    InvalidDigest { value: String },
    /// The store URL is malformed.
    #[error("{0}")]
    Url(#[from] StoreUrlError),
    /// The store cannot be opened as configured (a missing account, a bad variable).
    #[error("cannot open the store {store}: {message}")]
    Config { store: String, message: String },
    /// The object store answered with an error or could not be reached.
    #[error("{action} {location}: {source}")]
    Remote {
        action: &'static str,
        location: String,
        #[source]
        source: object_store::Error,
    },
    /// The registry answered with an error or could not be reached.
    #[error("{action} {location}: {source}")]
    Registry {
        action: &'static str,
        location: String,
        #[source]
        source: oci_client::errors::OciDistributionError,
    },
    /// The registry holds something that is not a trainyard artifact, or is malformed.
    #[error("{location} is not a trainyard model artifact: {reason}")]
    NotAnArtifact { location: String, reason: String },
    /// The file changed while it was being stored; the upload was abandoned.
    #[error(
        "{path} changed while it was being stored (it hashed to {expected}, then to {actual}); nothing was stored; try again once it is complete"
    )]
    Changed {
        path: String,
        expected: String,
        actual: String,
    },
}

impl StoreError {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// Whether the configuration is at fault (exit 2) rather than the
    /// environment: the network, a server, a disk, corrupt data (exit 3).
    pub fn is_configuration(&self) -> bool {
        matches!(
            self,
            Self::Url(_) | Self::Config { .. } | Self::InvalidDigest { .. }
        )
    }
}

impl From<StoreError> for StepError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Io {
                action,
                path,
                source,
            } => Self::Io {
                action,
                path,
                source,
            },
            other if other.is_configuration() => Self::Usage(other.to_string()),
            other => Self::Environment(other.to_string()),
        }
    }
}
