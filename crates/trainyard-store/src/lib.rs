//! Where trainyard keeps bytes: model files content-addressed by BLAKE3 in a
//! local folder, object storage (Azure Blob/ADLS Gen2, S3, GCS, `file:///`)
//! or an OCI registry, and datasets read from object storage.
//!
//! Storage sits below data and ledger. Everything here is blocking: each
//! remote store owns a private current-thread tokio runtime. Nothing prints.
//!
//! ```no_run
//! # fn main() -> Result<(), trainyard_store::StoreError> {
//! use std::path::Path;
//! use trainyard_store::{ArtifactStore, Env, ModelRelease};
//!
//! let store = trainyard_store::open("az://models/churn", Path::new("."), &Env::process())?;
//! let release = ModelRelease::from_dir("churn", "3", "run-1", "abc123", Path::new("out/model"))?;
//! let published = store.publish_model(&release)?;
//! // published.uri: https://<account>.blob.core.windows.net/models/churn/models/churn/3/
//! store.get_all(&published.files, Path::new("fetched"))?;
//! # Ok(()) }
//! ```
//!
//! See `docs/storage.md` for the URL forms, key layouts and credentials.

mod artifact;
mod dataset;
mod env;
mod error;
mod local;
mod object;
mod oci;
mod remote;
mod runtime;

use std::path::Path;

pub use artifact::{
    ArtifactRef, ArtifactStore, ModelRelease, PublishedModel, digest_file, object_key,
    validate_digest,
};
pub use dataset::{ObjectReader, RemoteDataset, RemoteObject};
pub use env::Env;
pub use error::StoreError;
pub use local::{DEFAULT_STORE_DIR, LocalStore};
pub use object::{ObjectStoreArtifacts, PART_SIZE, Transfers};
pub use oci::{BLAKE3_ANNOTATION, FILE_ARTIFACT_TYPE, MODEL_ARTIFACT_TYPE, OciArtifacts};
pub use runtime::install_crypto_provider;
pub use trainyard_core::store_url::{StoreUrl, StoreUrlError, redact};

/// Opens the store `url` names (`artifacts.store` in trainyard.yaml; `None`
/// for the default, `.trainyard/artifacts` in the project). A folder path is
/// relative to `project_root`. Credentials and endpoints come from `env`
/// ([`Env::process`] in the binary).
pub fn open(
    url: &str,
    project_root: &Path,
    env: &Env,
) -> Result<Box<dyn ArtifactStore>, StoreError> {
    open_url(&StoreUrl::parse(url)?, project_root, env)
}

/// [`open`] for a parsed URL.
pub fn open_url(
    url: &StoreUrl,
    project_root: &Path,
    env: &Env,
) -> Result<Box<dyn ArtifactStore>, StoreError> {
    Ok(match url {
        StoreUrl::Local { path } if path.is_relative() => Box::new(local_in(project_root, path)?),
        StoreUrl::Oci { .. } => Box::new(OciArtifacts::open(url, env)?),
        _ => Box::new(ObjectStoreArtifacts::open(url, env)?),
    })
}

/// The project's store: `artifacts.store` when given, else the local default.
pub fn open_default(
    store: Option<&str>,
    project_root: &Path,
    env: &Env,
) -> Result<Box<dyn ArtifactStore>, StoreError> {
    match store {
        Some(url) => open(url, project_root, env),
        None => Ok(Box::new(local_in(
            project_root,
            Path::new(local::DEFAULT_STORE_DIR),
        )?)),
    }
}

/// A folder store in the project: its path stays there and passes no
/// symbolic link, so a committed link cannot send model files elsewhere on
/// the runner (docs/security.md).
fn local_in(project_root: &Path, relative: &Path) -> Result<LocalStore, StoreError> {
    trainyard_core::fs::resolve_within(project_root, relative)
        .map(LocalStore::new)
        .map_err(|refused| StoreError::Config {
            store: relative.display().to_string(),
            message: refused.to_string(),
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use trainyard_core::{ExitStatus, StepError};

    #[cfg(unix)]
    #[test]
    fn a_local_store_behind_a_link_is_refused() {
        let temp = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir(temp.path().join(".trainyard")).unwrap();
        std::os::unix::fs::symlink(outside.path(), temp.path().join(".trainyard/artifacts"))
            .unwrap();
        std::os::unix::fs::symlink(outside.path(), temp.path().join("models")).unwrap();
        let env = Env::empty();
        for store in [None, Some("models")] {
            let error = open_default(store, temp.path(), &env).err().unwrap();
            assert!(matches!(error, StoreError::Config { .. }), "{error}");
            assert!(error.to_string().contains("link"), "{error}");
        }
    }

    #[test]
    fn open_picks_the_store_the_url_names() {
        let temp = tempfile::tempdir().unwrap();
        let env = Env::empty();
        let local = open_default(None, temp.path(), &env).unwrap();
        assert!(local.location().ends_with(".trainyard/artifacts"));
        let folder = open("models", temp.path(), &env).unwrap();
        assert_eq!(
            folder.location(),
            temp.path().join("models").display().to_string()
        );
        let url = format!("file://{}/bucket/team", temp.path().display());
        let file = open(&url, temp.path(), &env).unwrap();
        assert_eq!(file.location(), url);
        let oci = open("oci://127.0.0.1:5000/acme/models", temp.path(), &env).unwrap();
        assert_eq!(oci.location(), "oci://127.0.0.1:5000/acme/models");
        // Azure needs an account: a configuration error (exit 2) that says so.
        let error = open("az://models", temp.path(), &env).unwrap_err();
        assert!(
            error.to_string().contains("AZURE_STORAGE_ACCOUNT_NAME"),
            "{error}"
        );
        assert_eq!(StepError::from(error).exit_status(), ExitStatus::Usage);
        let error = open("s3://b/x?sig=SECRET", temp.path(), &env).unwrap_err();
        assert!(!error.to_string().contains("SECRET"));
    }

    #[test]
    fn a_corrupt_artifact_is_an_environment_failure() {
        let error = StoreError::Corrupt {
            digest: "a".repeat(64),
            actual: "b".repeat(64),
            location: "s3://b/x".to_owned(),
        };
        assert_eq!(
            StepError::from(error).exit_status(),
            ExitStatus::Environment
        );
    }
}
