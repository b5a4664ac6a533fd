//! Datasets in object storage (`az://…/*.parquet`, `s3://`, `gs://`): the
//! objects a glob matches, with the size and ETag/version a stat cache keys
//! on, and each object as a streaming [`Read`].

use std::io::{self, Read};

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use object_store::{GetOptions, ObjectStore, ObjectStoreExt};
use trainyard_core::StoreUrl;

use crate::StoreError;
use crate::env::Env;
use crate::remote::Remote;
use crate::runtime::Runtime;

/// One object a dataset's glob matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteObject {
    /// The key below the dataset's root (`2024/sales-01.parquet`); empty
    /// when the dataset's URL names this one object.
    pub key: String,
    /// The dataset's URL and the key (`az://data/sales/2024.csv`), for
    /// messages and findings.
    pub url: String,
    pub size: u64,
    /// The service's ETag: changes whenever the content does.
    pub etag: Option<String>,
    /// The object's version, where the bucket keeps versions.
    pub version: Option<String>,
    /// Last modified, RFC 3339.
    pub last_modified: String,
}

/// The objects of a dataset URL such as `az://data/sales/*.parquet`.
#[derive(Debug)]
pub struct RemoteDataset {
    remote: Remote,
    pattern: Option<glob::Pattern>,
    /// The root as the manifest names it (`az://data/sales`), which object
    /// URLs start from: findings name `az://data/sales/2024.csv`, not the
    /// endpoint the client happens to reach.
    shown: String,
}

impl RemoteDataset {
    /// Opens a dataset URL: one object, a prefix (every object below it) or
    /// a prefix and a glob (`*` stays within one `/` segment, `**` crosses them).
    pub fn open(url: &str, env: &Env) -> Result<Self, StoreError> {
        let (store, glob) = StoreUrl::parse_with_glob(url)?;
        if matches!(store, StoreUrl::Oci { .. } | StoreUrl::Local { .. }) {
            return Err(StoreError::Config {
                store: store.to_string(),
                message:
                    "datasets are read from az://, s3:// or gs:// (local files are read directly)"
                        .to_owned(),
            });
        }
        let pattern = glob
            .map(|glob| {
                glob::Pattern::new(&glob).map_err(|error| StoreError::Config {
                    store: store.to_string(),
                    message: format!("`{glob}` is not a glob: {error}"),
                })
            })
            .transpose()?;
        Ok(Self {
            remote: Remote::connect(&store, env)?,
            pattern,
            shown: store.to_string(),
        })
    }

    /// The matching objects, sorted by key.
    pub fn list(&self) -> Result<Vec<RemoteObject>, StoreError> {
        let options = glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: true,
            require_literal_leading_dot: false,
        };
        let root = self.remote.root.clone();
        self.remote.runtime.block_on(async {
            let mut listing = self.remote.store.list(Some(&root));
            let mut found = Vec::new();
            while let Some(meta) = listing.next().await {
                let meta = meta.map_err(|error| self.remote.error("listing", &root, error))?;
                let key = meta
                    .location
                    .as_ref()
                    .strip_prefix(root.as_ref())
                    .unwrap_or(meta.location.as_ref())
                    .trim_start_matches('/')
                    .to_owned();
                if self
                    .pattern
                    .as_ref()
                    .is_none_or(|pattern| pattern.matches_with(&key, options))
                {
                    found.push(RemoteObject {
                        url: format!("{}/{key}", self.shown),
                        key,
                        size: meta.size,
                        etag: meta.e_tag,
                        version: meta.version,
                        last_modified: meta.last_modified.to_rfc3339(),
                    });
                }
            }
            // A URL without a glob may name one object rather than a prefix
            // (services list `prefix/` as a folder, which holds nothing then).
            if found.is_empty() && self.pattern.is_none() && !root.as_ref().is_empty() {
                match self.remote.store.head(&root).await {
                    Ok(meta) => found.push(RemoteObject {
                        key: String::new(),
                        url: self.shown.clone(),
                        size: meta.size,
                        etag: meta.e_tag,
                        version: meta.version,
                        last_modified: meta.last_modified.to_rfc3339(),
                    }),
                    Err(object_store::Error::NotFound { .. }) => {}
                    Err(error) => return Err(self.remote.error("checking", &root, error)),
                }
            }
            found.sort_by(|a, b| a.key.cmp(&b.key));
            Ok(found)
        })
    }

    /// Streams `object`'s content. If it changed since it was listed (another
    /// ETag), opening fails rather than mixing two versions.
    pub fn reader(&self, object: &RemoteObject) -> Result<ObjectReader, StoreError> {
        let key = self.remote.key(&object.key);
        let options = GetOptions {
            if_match: object.etag.clone(),
            ..GetOptions::default()
        };
        let result = self
            .remote
            .runtime
            .block_on(self.remote.store.get_opts(&key, options))
            .map_err(|error| self.remote.error("reading", &key, error))?;
        Ok(ObjectReader {
            stream: result.into_stream(),
            chunk: bytes::Bytes::new(),
            runtime: self.remote.runtime.clone(),
            url: object.url.clone(),
        })
    }
}

/// A blocking [`Read`] over an object's byte stream: one chunk is held at a
/// time, so memory stays flat however large the object.
pub struct ObjectReader {
    stream: BoxStream<'static, object_store::Result<bytes::Bytes>>,
    chunk: bytes::Bytes,
    runtime: Runtime,
    url: String,
}

impl std::fmt::Debug for ObjectReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectReader")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl ObjectReader {
    /// Where the bytes come from, for messages.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Read for ObjectReader {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            match self.runtime.block_on(self.stream.next()) {
                None => return Ok(0),
                Some(Ok(chunk)) => self.chunk = chunk,
                Some(Err(error)) => {
                    return Err(io::Error::other(format!("reading {}: {error}", self.url)));
                }
            }
        }
        let count = buffer.len().min(self.chunk.len());
        buffer[..count].copy_from_slice(&self.chunk.split_to(count));
        Ok(count)
    }
}
