//! Artifacts in object storage (Azure Blob and ADLS Gen2, S3 and
//! S3-compatible services, Google Cloud Storage, a local folder) through the
//! `object_store` crate.
//!
//! Keys below the store's prefix:
//! - `blake3/<ab>/<digest>`: every file, content-addressed (what the ledger's
//!   digests find; stored once however many runs produce it);
//! - `models/<name>/<version>/<path>`: a published model's files under their
//!   own names, server-side copies of the above (what KServe's `storageUri`
//!   downloads: it fetches a prefix, not a digest).
//!
//! Every object appears whole or not at all: a small file is one PUT, a large
//! one a multipart upload that is completed only after the last part (and
//! aborted on any failure); a killed process leaves an incomplete upload the
//! service never lists.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::StreamExt;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use trainyard_core::StoreUrl;

use crate::StoreError;
use crate::artifact::{
    ArtifactRef, ArtifactStore, ModelRelease, PublishedModel, digest_file, persist,
    temporary_beside, validate_digest,
};
use crate::env::Env;
use crate::remote::Remote;

/// Files up to this size go up in one PUT; larger ones in parts of this size
/// (S3's minimum part is 5 MiB). At most [`UPLOAD_CONCURRENCY`] parts are in
/// memory at once, so memory stays flat whatever the file's size.
pub const PART_SIZE: usize = 8 << 20;
const UPLOAD_CONCURRENCY: usize = 2;
/// How much is read from disk at a time.
const READ_CHUNK: usize = 1 << 20;

/// What one store has moved since it was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Transfers {
    /// Files uploaded.
    pub uploaded: u64,
    /// Bytes uploaded.
    pub uploaded_bytes: u64,
    /// Files already stored, so not uploaded again.
    pub reused: u64,
}

#[derive(Debug, Default)]
struct Counters {
    uploaded: AtomicU64,
    uploaded_bytes: AtomicU64,
    reused: AtomicU64,
}

/// An [`ArtifactStore`] in object storage; see the module documentation for
/// the key layout.
#[derive(Debug)]
pub struct ObjectStoreArtifacts {
    remote: Remote,
    counters: Counters,
}

impl ObjectStoreArtifacts {
    /// Opens the store at `url` (`az://`, `s3://`, `gs://` or `file:///`),
    /// with credentials and endpoints from `env` (see docs/storage.md).
    pub fn open(url: &StoreUrl, env: &Env) -> Result<Self, StoreError> {
        Ok(Self {
            remote: Remote::connect(url, env)?,
            counters: Counters::default(),
        })
    }

    /// What this store has uploaded and reused so far.
    pub fn transfers(&self) -> Transfers {
        Transfers {
            uploaded: self.counters.uploaded.load(Ordering::Relaxed),
            uploaded_bytes: self.counters.uploaded_bytes.load(Ordering::Relaxed),
            reused: self.counters.reused.load(Ordering::Relaxed),
        }
    }

    /// The key of the artifact with `digest`, from the bucket's root
    /// (`<prefix>/blake3/ab/abcdef…`).
    pub fn key_of(&self, digest: &str) -> String {
        self.remote.key(&blake3_key(digest)).to_string()
    }

    /// The underlying client and the store's root key, for tools and tests
    /// that look at the raw objects. Drive its futures with [`Self::block_on`]:
    /// its pooled connections belong to this store's runtime.
    pub fn raw(&self) -> (Arc<dyn ObjectStore>, String) {
        (Arc::clone(&self.remote.store), self.remote.root.to_string())
    }

    /// Runs `future` on this store's runtime (see [`Self::raw`]).
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.remote.runtime.block_on(future)
    }

    /// The URL of the folder holding a published model's files
    /// (`<store>/models/<name>/<version>/`).
    pub fn model_uri(&self, name: &str, version: &str) -> String {
        format!("{}/models/{name}/{version}/", self.remote.base_uri)
    }

    /// Stores bytes read from `source`, which the caller says hash to `digest`
    /// (BLAKE3) and are `size` bytes long: a copy from another store, say.
    /// They are checked as they stream; on a mismatch or a read error the
    /// upload is abandoned and nothing is stored.
    pub fn put_verified(
        &self,
        path: &str,
        source: &mut dyn Read,
        digest: &str,
        size: u64,
    ) -> Result<ArtifactRef, StoreError> {
        validate_digest(digest)?;
        let key = self.remote.key(&blake3_key(digest));
        self.remote.runtime.block_on(async {
            // Same key and size: the same bytes (a damaged object of another
            // size is replaced; one of the same size is caught by `get`).
            if self.remote.size_of(&key).await? == Some(size) {
                self.counters.reused.fetch_add(1, Ordering::Relaxed);
            } else {
                self.upload(&key, source, digest, size, path).await?;
            }
            Ok(ArtifactRef {
                path: path.to_owned(),
                digest: digest.to_owned(),
                size,
            })
        })
    }

    async fn upload(
        &self,
        key: &Key,
        source: &mut dyn Read,
        digest: &str,
        size: u64,
        label: &str,
    ) -> Result<(), StoreError> {
        let mut hasher = blake3::Hasher::new();
        let read_error = |error| StoreError::io("reading", label, error);
        if size <= PART_SIZE as u64 {
            let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
            source
                .take(PART_SIZE as u64 + 1)
                .read_to_end(&mut bytes)
                .map_err(read_error)?;
            hasher.update(&bytes);
            check_same(label, digest, &hasher)?;
            let length = bytes.len() as u64;
            self.remote
                .store
                .put(key, PutPayload::from(bytes))
                .await
                .map_err(|error| self.remote.error("uploading to", key, error))?;
            self.count_upload(length);
            return Ok(());
        }
        let upload = self
            .remote
            .store
            .put_multipart(key)
            .await
            .map_err(|error| self.remote.error("starting an upload to", key, error))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut buffer = vec![0_u8; READ_CHUNK];
        let mut total = 0_u64;
        loop {
            let read = match source.read(&mut buffer) {
                Ok(0) => break,
                Ok(read) => read,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    // Best effort: an upload never completed is never visible anyway.
                    let _ = writer.abort().await;
                    return Err(read_error(error));
                }
            };
            hasher.update(&buffer[..read]);
            total += read as u64;
            writer.write(&buffer[..read]);
            if let Err(error) = writer.wait_for_capacity(UPLOAD_CONCURRENCY).await {
                let _ = writer.abort().await;
                return Err(self.remote.error("uploading to", key, error));
            }
        }
        if let Err(error) = check_same(label, digest, &hasher) {
            let _ = writer.abort().await;
            return Err(error);
        }
        writer
            .finish()
            .await
            .map_err(|error| self.remote.error("completing the upload to", key, error))?;
        self.count_upload(total);
        Ok(())
    }

    fn count_upload(&self, bytes: u64) {
        self.counters.uploaded.fetch_add(1, Ordering::Relaxed);
        self.counters
            .uploaded_bytes
            .fetch_add(bytes, Ordering::Relaxed);
    }
}

fn blake3_key(digest: &str) -> String {
    format!("blake3/{}/{digest}", &digest[..2])
}

fn check_same(label: &str, expected: &str, hasher: &blake3::Hasher) -> Result<(), StoreError> {
    let actual = hasher.finalize().to_hex().to_string();
    if actual == expected {
        Ok(())
    } else {
        Err(StoreError::Changed {
            path: label.to_owned(),
            expected: expected.to_owned(),
            actual,
        })
    }
}

impl ArtifactStore for ObjectStoreArtifacts {
    fn put(&self, path: &str, file: &Path) -> Result<ArtifactRef, StoreError> {
        // Hashed first for the key, hashed again while uploading: a file that
        // changes in between is refused rather than stored under a wrong key.
        let (digest, size) = digest_file(file)?;
        let mut source = File::open(file).map_err(|e| StoreError::io("opening", file, e))?;
        let label = file.display().to_string();
        let stored = self.put_verified(&label, &mut source, &digest, size)?;
        Ok(ArtifactRef {
            path: path.to_owned(),
            ..stored
        })
    }

    fn get(&self, digest: &str, destination: &Path) -> Result<(), StoreError> {
        validate_digest(digest)?;
        let key = self.remote.key(&blake3_key(digest));
        self.remote.runtime.block_on(async {
            let result = match self.remote.store.get(&key).await {
                Ok(result) => result,
                Err(object_store::Error::NotFound { .. }) => {
                    return Err(StoreError::NotFound {
                        digest: digest.to_owned(),
                        store: self.remote.base_uri.clone(),
                    });
                }
                Err(error) => return Err(self.remote.error("downloading", &key, error)),
            };
            let mut temporary = temporary_beside(destination)?;
            let mut hasher = blake3::Hasher::new();
            let mut stream = result.into_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|error| self.remote.error("downloading", &key, error))?;
                hasher.update(&chunk);
                temporary
                    .write_all(&chunk)
                    .map_err(|e| StoreError::io("writing", temporary.path(), e))?;
            }
            let actual = hasher.finalize().to_hex().to_string();
            if actual != digest {
                // The temporary file is removed when dropped: nothing is written.
                return Err(StoreError::Corrupt {
                    digest: digest.to_owned(),
                    actual,
                    location: self.remote.uri_of(&key),
                });
            }
            persist(temporary, destination)
        })
    }

    fn exists(&self, digest: &str) -> Result<bool, StoreError> {
        validate_digest(digest)?;
        let key = self.remote.key(&blake3_key(digest));
        self.remote.runtime.block_on(self.remote.exists(&key))
    }

    fn location(&self) -> String {
        self.remote.base_uri.clone()
    }

    fn uri(&self, artifact: &ArtifactRef) -> String {
        format!("{}/{}", self.remote.base_uri, blake3_key(&artifact.digest))
    }

    /// Stores every file content-addressed, then copies each (server-side: no
    /// byte goes up twice) to `models/<name>/<version>/<path>`, the prefix a
    /// deployment downloads. A file already there with the same size is kept.
    fn publish_model(&self, release: &ModelRelease) -> Result<PublishedModel, StoreError> {
        for (what, value) in [("model name", &release.name), ("version", &release.version)] {
            let plain = !value.is_empty()
                && !value.starts_with('.')
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
            if !plain {
                return Err(StoreError::Config {
                    store: self.location(),
                    message: format!(
                        "the {what} `{value}` cannot be a folder name: use letters, digits, `.`, `-` and `_`"
                    ),
                });
            }
        }
        let mut files = Vec::with_capacity(release.files.len());
        for (name, file) in &release.files {
            crate::artifact::safe_relative(name)?;
            files.push(self.put(name, file)?);
        }
        let folder = format!("models/{}/{}", release.name, release.version);
        self.remote.runtime.block_on(async {
            for artifact in &files {
                let from = self.remote.key(&blake3_key(&artifact.digest));
                let to = self.remote.key(&format!("{folder}/{}", artifact.path));
                match self.remote.store.head(&to).await {
                    Ok(meta) if meta.size == artifact.size => continue,
                    Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(error) => return Err(self.remote.error("checking", &to, error)),
                }
                self.remote
                    .store
                    .copy(&from, &to)
                    .await
                    .map_err(|error| self.remote.error("copying to", &to, error))?;
            }
            Ok(())
        })?;
        Ok(PublishedModel {
            uri: Some(self.model_uri(&release.name, &release.version)),
            files,
            manifest_digest: None,
        })
    }
}
