//! One connection to a bucket or container: the `object_store` client built
//! from a [`StoreUrl`] and an [`Env`], the key prefix, and the runtime.

use std::sync::Arc;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt};
use trainyard_core::StoreUrl;

use crate::StoreError;
use crate::env::Env;
use crate::runtime::Runtime;

#[derive(Debug)]
pub(crate) struct Remote {
    pub(crate) store: Arc<dyn ObjectStore>,
    /// The prefix every key starts with (empty for the bucket's root).
    pub(crate) root: Key,
    /// The store's URL without credentials; keys are appended to it.
    pub(crate) base_uri: String,
    pub(crate) runtime: Runtime,
}

impl Remote {
    pub(crate) fn connect(url: &StoreUrl, env: &Env) -> Result<Self, StoreError> {
        // Builders create their HTTP client in `build`.
        crate::runtime::install_crypto_provider();
        let shown = url.to_string();
        let config = |message: String| StoreError::Config {
            store: shown.clone(),
            message,
        };
        // Builders only read the variables of their own cloud, and only the
        // keys they know (others are ignored as `from_env` does).
        let (store, base): (Arc<dyn ObjectStore>, String) = match url {
            StoreUrl::Azure {
                account, container, ..
            } => azure(account.as_deref(), container, env).map_err(config)?,
            StoreUrl::S3 { bucket, .. } => {
                let mut builder = AmazonS3Builder::new();
                for (key, value) in env.with_prefix("AWS_") {
                    if let Ok(key) = key.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
                        builder = builder.with_config(key, value);
                    }
                }
                let store = builder
                    .with_bucket_name(bucket)
                    .build()
                    .map_err(|error| config(error.to_string()))?;
                (Arc::new(store), format!("s3://{bucket}"))
            }
            StoreUrl::Gcs { bucket, .. } => {
                let mut builder = GoogleCloudStorageBuilder::new();
                for (key, value) in env.with_prefix("GOOGLE_") {
                    if let Ok(key) = key.to_ascii_lowercase().parse::<GoogleConfigKey>() {
                        builder = builder.with_config(key, value);
                    }
                }
                if let Some(path) = env.get("SERVICE_ACCOUNT") {
                    builder = builder.with_service_account_path(path);
                }
                let store = builder
                    .with_bucket_name(bucket)
                    .build()
                    .map_err(|error| config(error.to_string()))?;
                (Arc::new(store), format!("gs://{bucket}"))
            }
            StoreUrl::Local { path } => {
                if !path.is_absolute() {
                    return Err(config(
                        "object storage needs an absolute file:/// URL; a folder in the project is a LocalStore".to_owned(),
                    ));
                }
                std::fs::create_dir_all(path)
                    .map_err(|error| StoreError::io("creating", path, error))?;
                let store = LocalFileSystem::new_with_prefix(path)
                    .map_err(|error| config(error.to_string()))?;
                (Arc::new(store), format!("file://{}", path.display()))
            }
            StoreUrl::Oci { .. } => {
                return Err(config(
                    "an OCI registry is not object storage; open it with OciArtifacts".to_owned(),
                ));
            }
        };
        let prefix = url.prefix().unwrap_or("");
        let root = Key::parse(prefix).map_err(|error| config(error.to_string()))?;
        let base_uri = if prefix.is_empty() {
            base
        } else {
            format!("{base}/{prefix}")
        };
        Ok(Self {
            store,
            root,
            base_uri,
            runtime: Runtime::new(&shown)?,
        })
    }

    /// The key of `relative` (`/`-separated, already checked) below the root.
    pub(crate) fn key(&self, relative: &str) -> Key {
        relative
            .split('/')
            .filter(|part| !part.is_empty())
            .fold(self.root.clone(), Key::join)
    }

    /// The full URL of `key`, for messages.
    pub(crate) fn uri_of(&self, key: &Key) -> String {
        let root = self.root.as_ref();
        let relative = key
            .as_ref()
            .strip_prefix(root)
            .unwrap_or(key.as_ref())
            .trim_start_matches('/');
        format!("{}/{relative}", self.base_uri)
    }

    /// The size of the object at `key`, if there is one.
    pub(crate) async fn size_of(&self, key: &Key) -> Result<Option<u64>, StoreError> {
        match self.store.head(key).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(self.error("checking", key, error)),
        }
    }

    pub(crate) async fn exists(&self, key: &Key) -> Result<bool, StoreError> {
        match self.store.head(key).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(error) => Err(self.error("checking", key, error)),
        }
    }

    pub(crate) fn error(
        &self,
        action: &'static str,
        key: &Key,
        source: object_store::Error,
    ) -> StoreError {
        StoreError::Remote {
            action,
            location: self.uri_of(key),
            source,
        }
    }
}

/// An Azure Blob client and the container's URL: a custom endpoint (Azurite,
/// a private or sovereign cloud) is where the objects really are.
fn azure(
    account: Option<&str>,
    container: &str,
    env: &Env,
) -> Result<(Arc<dyn ObjectStore>, String), String> {
    let mut builder = MicrosoftAzureBuilder::new();
    for (key, value) in env.with_prefix("AZURE_") {
        if let Ok(key) = key.to_ascii_lowercase().parse::<AzureConfigKey>() {
            builder = builder.with_config(key, value);
        }
    }
    if let Some(endpoint) = env.get("IDENTITY_ENDPOINT").or(env.get("MSI_ENDPOINT")) {
        builder = builder.with_msi_endpoint(endpoint);
    }
    if let Some(account) = account {
        builder = builder.with_account(account);
    }
    let account = account
        .or(env.get("AZURE_STORAGE_ACCOUNT_NAME"))
        .ok_or("no storage account: set AZURE_STORAGE_ACCOUNT_NAME, or write https://<account>.blob.core.windows.net/<container>/<prefix>")?;
    let endpoint = env
        .get("AZURE_STORAGE_ENDPOINT")
        .or(env.get("AZURE_ENDPOINT"))
        .map_or_else(
            || format!("https://{account}.blob.core.windows.net"),
            |endpoint| endpoint.trim_end_matches('/').to_owned(),
        );
    let store = builder
        .with_container_name(container)
        .build()
        .map_err(|error| error.to_string())?;
    Ok((Arc::new(store), format!("{endpoint}/{container}")))
}
