//! What every store shares: a stored file's reference, the store trait, the
//! BLAKE3 key layout and streamed hashing.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::StoreError;

/// A stored file: where the run wrote it, and what it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ArtifactRef {
    /// The file's path relative to the run's output folder, `/`-separated (`model/model.joblib`).
    pub path: String,
    /// BLAKE3 of the content, 64 lowercase hex characters.
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
}

/// A model version to publish: its files under their names, and what it is
/// (recorded beside the files: OCI annotations, the folder's name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRelease {
    /// The registered model's name (`churn-classifier`).
    pub name: String,
    /// Its version in the registry (`3`).
    pub version: String,
    /// The run that trained it.
    pub run: String,
    /// The commit it was trained from.
    pub commit: String,
    /// `(name, file)`: the name is `/`-separated, relative to the model's folder.
    pub files: Vec<(String, PathBuf)>,
}

impl ModelRelease {
    /// A release of every file under `folder` (recursively, in path order).
    pub fn from_dir(
        name: impl Into<String>,
        version: impl Into<String>,
        run: impl Into<String>,
        commit: impl Into<String>,
        folder: &Path,
    ) -> Result<Self, StoreError> {
        let mut files = Vec::new();
        collect_files(folder, folder, &mut files)?;
        files.sort();
        Ok(Self {
            name: name.into(),
            version: version.into(),
            run: run.into(),
            commit: commit.into(),
            files,
        })
    }
}

/// Where a published model is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedModel {
    /// What a deployment downloads: a prefix holding the files under their
    /// names (KServe `storageUri`, ending in `/`) or an OCI reference pinned by
    /// digest (`oci://registry/repository@sha256:…`). `None` for a local folder.
    pub uri: Option<String>,
    /// Every file, content-addressed (what the ledger records).
    pub files: Vec<ArtifactRef>,
    /// The OCI manifest's digest, for registries.
    pub manifest_digest: Option<String>,
}

/// Where model files live, addressed by content.
pub trait ArtifactStore: fmt::Debug + Send + Sync {
    /// Stores the file at `file`, recorded under the name `path` (relative to
    /// the run's output folder). Storing the same bytes twice stores them once.
    fn put(&self, path: &str, file: &Path) -> Result<ArtifactRef, StoreError>;

    /// Writes the artifact with `digest` to `destination` (atomically: a
    /// temporary file beside it, checked against the digest, then renamed).
    fn get(&self, digest: &str, destination: &Path) -> Result<(), StoreError>;

    /// Whether an artifact with `digest` is stored.
    fn exists(&self, digest: &str) -> Result<bool, StoreError>;

    /// Stores every file under `folder` (recursively, in path order), each
    /// recorded under its path relative to `folder`.
    fn put_dir(&self, folder: &Path) -> Result<Vec<ArtifactRef>, StoreError> {
        let mut files = Vec::new();
        collect_files(folder, folder, &mut files)?;
        files.sort();
        files
            .iter()
            .map(|(name, file)| self.put(name, file))
            .collect()
    }

    /// Writes each artifact to `folder/<its path>`, verified like [`Self::get`].
    /// All are fetched into a staging folder beside `folder` first, so a
    /// corrupt or missing one leaves nothing written.
    fn get_all(&self, artifacts: &[ArtifactRef], folder: &Path) -> Result<(), StoreError> {
        std::fs::create_dir_all(folder).map_err(|e| StoreError::io("creating", folder, e))?;
        let staging = tempfile::Builder::new()
            .prefix(".trainyard-fetch-")
            .tempdir_in(folder)
            .map_err(|e| StoreError::io("creating a temporary folder in", folder, e))?;
        let mut fetched = Vec::with_capacity(artifacts.len());
        for artifact in artifacts {
            let relative = safe_relative(&artifact.path)?;
            self.get(&artifact.digest, &staging.path().join(&relative))?;
            fetched.push(relative);
        }
        for relative in fetched {
            let target = folder.join(&relative);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| StoreError::io("creating", parent, e))?;
            }
            std::fs::rename(staging.path().join(&relative), &target)
                .map_err(|e| StoreError::io("writing", &target, e))?;
        }
        Ok(())
    }

    /// The store's URL, without credentials, for messages.
    fn location(&self) -> String;

    /// The URL of one stored artifact (its content-addressed object).
    fn uri(&self, artifact: &ArtifactRef) -> String;

    /// Publishes a model version: every file content-addressed, plus what a
    /// deployment reads (see [`PublishedModel::uri`]). The default stores the
    /// files only.
    fn publish_model(&self, release: &ModelRelease) -> Result<PublishedModel, StoreError> {
        let files = release
            .files
            .iter()
            .map(|(name, file)| self.put(name, file))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PublishedModel {
            uri: None,
            files,
            manifest_digest: None,
        })
    }
}

/// `path` as a relative path that stays below its folder (no `..`, not absolute).
pub(crate) fn safe_relative(path: &str) -> Result<PathBuf, StoreError> {
    let mut relative = PathBuf::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                return Err(StoreError::Config {
                    store: String::new(),
                    message: format!("the artifact path `{path}` leaves its folder (`..`)"),
                });
            }
            part => relative.push(part),
        }
    }
    if relative.as_os_str().is_empty() || path.starts_with('/') || path.contains('\\') {
        return Err(StoreError::Config {
            store: String::new(),
            message: format!("`{path}` is not a relative artifact path"),
        });
    }
    Ok(relative)
}

pub(crate) fn collect_files(
    root: &Path,
    folder: &Path,
    files: &mut Vec<(String, PathBuf)>,
) -> Result<(), StoreError> {
    let entries = std::fs::read_dir(folder).map_err(|e| StoreError::io("reading", folder, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io("reading", folder, e))?;
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(|e| StoreError::io("reading", &path, e))?;
        if kind.is_dir() {
            collect_files(root, &path, files)?;
        } else if kind.is_file() {
            let relative = path.strip_prefix(root).unwrap_or(&path);
            let name = relative
                .components()
                .map(|part| part.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            files.push((name, path));
        }
    }
    Ok(())
}

/// The key of an artifact below a store's root: `ab/abcdef…` (two-character
/// shards keep folders and object listings small).
pub fn object_key(digest: &str) -> String {
    format!("{}/{digest}", &digest[..2])
}

/// Checks that `digest` is 64 lowercase hex characters.
pub fn validate_digest(digest: &str) -> Result<(), StoreError> {
    if digest.len() == 64
        && digest
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        Ok(())
    } else {
        Err(StoreError::InvalidDigest {
            value: digest.to_owned(),
        })
    }
}

/// BLAKE3 of a file, streamed.
pub fn digest_file(file: &Path) -> Result<(String, u64), StoreError> {
    let mut reader = File::open(file).map_err(|e| StoreError::io("opening", file, e))?;
    let mut hasher = blake3::Hasher::new();
    let size = copy_hashing(&mut reader, &mut io::sink(), &mut hasher)
        .map_err(|e| StoreError::io("reading", file, e))?;
    Ok((hasher.finalize().to_hex().to_string(), size))
}

pub(crate) fn copy_hashing(
    reader: &mut impl Read,
    writer: &mut impl Write,
    hasher: &mut blake3::Hasher,
) -> io::Result<u64> {
    let mut buffer = vec![0_u8; 1 << 16];
    let mut total = 0_u64;
    loop {
        let read = match reader.read(&mut buffer) {
            Ok(0) => return Ok(total),
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        hasher.update(&buffer[..read]);
        writer.write_all(&buffer[..read])?;
        total += read as u64;
    }
}

/// A temporary file beside `destination` (so the final rename is atomic),
/// creating its folder.
pub(crate) fn temporary_beside(destination: &Path) -> Result<tempfile::NamedTempFile, StoreError> {
    let folder = match destination.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&folder).map_err(|e| StoreError::io("creating", &folder, e))?;
    // A fetched model file gets the umask's mode, as any downloaded file does.
    trainyard_core::fs::temporary_for(destination)
        .map_err(|e| StoreError::io("creating a temporary file in", &folder, e))
}

/// Flushes `temporary` to disk and renames it to `destination`.
pub(crate) fn persist(
    temporary: tempfile::NamedTempFile,
    destination: &Path,
) -> Result<(), StoreError> {
    temporary
        .as_file()
        .sync_all()
        .map_err(|e| StoreError::io("writing", temporary.path(), e))?;
    temporary
        .persist(destination)
        .map_err(|e| StoreError::io("writing", destination, e.error))?;
    Ok(())
}
