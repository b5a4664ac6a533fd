//! The artifact store: model files kept by their BLAKE3 digest, so the same
//! bytes are stored once and a digest in the ledger always finds them.
//!
//! The trait speaks in digests and files, not paths inside a folder, so an
//! object store (Azure Blob, S3 through `object_store`) can implement it with
//! the same key layout ([`object_key`]).

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The default store folder, relative to the project root.
pub const DEFAULT_STORE_DIR: &str = ".trainyard/artifacts";

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
    #[error(
        "the stored artifact {digest} is corrupt (its content hashes to {actual}); delete {path} and store it again"
    )]
    Corrupt {
        digest: String,
        actual: String,
        path: PathBuf,
    },
    #[error("`{value}` is not a BLAKE3 digest (64 lowercase hex characters)")]
    InvalidDigest { value: String },
}

impl StoreError {
    fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }
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
}

fn collect_files(
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

/// The key of an artifact in any store: `ab/abcdef…` (two-character shards
/// keep folders and object listings small).
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

fn copy_hashing(
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

/// A content-addressed folder: `<root>/<first two hex>/<digest>`.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    /// A store in `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The default store of a project: `<project>/.trainyard/artifacts`.
    pub fn in_project(project_root: &Path) -> Self {
        Self::new(project_root.join(DEFAULT_STORE_DIR))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the artifact with `digest` is (or would be) stored.
    pub fn path_of(&self, digest: &str) -> PathBuf {
        self.root.join(object_key(digest))
    }
}

impl ArtifactStore for LocalStore {
    fn put(&self, path: &str, file: &Path) -> Result<ArtifactRef, StoreError> {
        std::fs::create_dir_all(&self.root)
            .map_err(|e| StoreError::io("creating", &self.root, e))?;
        // Copy into a temporary file while hashing, so the file is read once;
        // the temporary file is in the store, so the rename is atomic.
        let mut source = File::open(file).map_err(|e| StoreError::io("opening", file, e))?;
        let mut temporary = tempfile::Builder::new()
            .prefix(".incoming-")
            .tempfile_in(&self.root)
            .map_err(|e| StoreError::io("creating a temporary file in", &self.root, e))?;
        let mut hasher = blake3::Hasher::new();
        let size = copy_hashing(&mut source, temporary.as_file_mut(), &mut hasher)
            .map_err(|e| StoreError::io("copying", file, e))?;
        let digest = hasher.finalize().to_hex().to_string();
        let target = self.path_of(&digest);
        if !target.exists() {
            let shard = target.parent().unwrap_or(&self.root);
            std::fs::create_dir_all(shard).map_err(|e| StoreError::io("creating", shard, e))?;
            temporary
                .as_file()
                .sync_all()
                .map_err(|e| StoreError::io("writing", temporary.path(), e))?;
            // Another writer may have stored the same bytes meanwhile: same
            // content, so replacing it is harmless.
            temporary
                .persist(&target)
                .map_err(|e| StoreError::io("storing", &target, e.error))?;
        }
        Ok(ArtifactRef {
            path: path.to_owned(),
            digest,
            size,
        })
    }

    fn get(&self, digest: &str, destination: &Path) -> Result<(), StoreError> {
        validate_digest(digest)?;
        let stored = self.path_of(digest);
        let mut source = match File::open(&stored) {
            Ok(source) => source,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Err(StoreError::NotFound {
                    digest: digest.to_owned(),
                    store: self.root.display().to_string(),
                });
            }
            Err(error) => return Err(StoreError::io("opening", &stored, error)),
        };
        let folder = match destination.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&folder).map_err(|e| StoreError::io("creating", &folder, e))?;
        let mut temporary = tempfile::Builder::new()
            .prefix(".trainyard-")
            .tempfile_in(&folder)
            .map_err(|e| StoreError::io("creating a temporary file in", &folder, e))?;
        let mut hasher = blake3::Hasher::new();
        copy_hashing(&mut source, temporary.as_file_mut(), &mut hasher)
            .map_err(|e| StoreError::io("copying", &stored, e))?;
        let actual = hasher.finalize().to_hex().to_string();
        if actual != digest {
            return Err(StoreError::Corrupt {
                digest: digest.to_owned(),
                actual,
                path: stored,
            });
        }
        temporary
            .persist(destination)
            .map_err(|e| StoreError::io("writing", destination, e.error))?;
        Ok(())
    }

    fn exists(&self, digest: &str) -> Result<bool, StoreError> {
        validate_digest(digest)?;
        Ok(self.path_of(digest).is_file())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn storing_the_same_bytes_twice_stores_them_once_and_get_returns_them() {
        let temp = tempfile::tempdir().unwrap();
        let store = LocalStore::in_project(temp.path());
        let model = temp.path().join("model.bin");
        std::fs::write(&model, b"weights").unwrap();
        let copy = temp.path().join("copy.bin");
        std::fs::write(&copy, b"weights").unwrap();

        let first = store.put("model/model.bin", &model).unwrap();
        let second = store.put("model/copy.bin", &copy).unwrap();
        assert_eq!(first.digest, blake3::hash(b"weights").to_hex().to_string());
        assert_eq!(first.size, 7);
        assert_eq!(first.digest, second.digest);
        assert_eq!(second.path, "model/copy.bin");
        let stored: Vec<_> = walk(store.root());
        assert_eq!(
            stored,
            vec![object_key(&first.digest)],
            "one file, no temporaries left"
        );
        assert!(store.exists(&first.digest).unwrap());

        let restored = temp.path().join("out/restored.bin");
        store.get(&first.digest, &restored).unwrap();
        assert_eq!(std::fs::read(&restored).unwrap(), b"weights");
    }

    #[test]
    fn a_missing_or_corrupt_artifact_is_reported_and_nothing_is_written() {
        let temp = tempfile::tempdir().unwrap();
        let store = LocalStore::new(temp.path().join("store"));
        let model = temp.path().join("model.bin");
        std::fs::write(&model, b"weights").unwrap();
        let stored = store.put("model.bin", &model).unwrap();
        let missing = blake3::hash(b"other").to_hex().to_string();
        assert!(!store.exists(&missing).unwrap());
        let target = temp.path().join("restored.bin");
        assert!(matches!(
            store.get(&missing, &target),
            Err(StoreError::NotFound { .. })
        ));

        std::fs::write(store.path_of(&stored.digest), b"tampered").unwrap();
        let error = store.get(&stored.digest, &target).unwrap_err();
        assert!(matches!(error, StoreError::Corrupt { .. }), "{error}");
        assert!(!target.exists(), "a corrupt artifact is never written out");
        assert!(matches!(
            store.exists("not-a-digest"),
            Err(StoreError::InvalidDigest { .. })
        ));
    }

    #[test]
    fn put_dir_stores_every_file_under_its_relative_path_in_order() {
        let temp = tempfile::tempdir().unwrap();
        let output = temp.path().join("output");
        std::fs::create_dir_all(output.join("model")).unwrap();
        std::fs::write(output.join("model/weights.bin"), b"w").unwrap();
        std::fs::write(output.join("metrics.json"), b"{}").unwrap();
        let store = LocalStore::new(temp.path().join("store"));
        let refs = store.put_dir(&output).unwrap();
        let names: Vec<_> = refs.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(names, ["metrics.json", "model/weights.bin"]);
        assert_eq!(
            digest_file(&output.join("metrics.json")).unwrap().0,
            refs[0].digest
        );
    }

    fn walk(root: &Path) -> Vec<String> {
        let mut found = Vec::new();
        collect_files(root, root, &mut found).unwrap();
        found.into_iter().map(|(name, _)| name).collect()
    }
}
