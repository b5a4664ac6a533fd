//! The local store: a content-addressed folder, the default for a terminal
//! (`.trainyard/artifacts` in the project).

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use crate::StoreError;
use crate::artifact::{
    ArtifactRef, ArtifactStore, copy_hashing, object_key, persist, temporary_beside,
    validate_digest,
};

/// The default store folder, relative to the project root.
pub const DEFAULT_STORE_DIR: &str = ".trainyard/artifacts";

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
        let mut temporary = temporary_beside(destination)?;
        let mut hasher = blake3::Hasher::new();
        copy_hashing(&mut source, temporary.as_file_mut(), &mut hasher)
            .map_err(|e| StoreError::io("copying", &stored, e))?;
        let actual = hasher.finalize().to_hex().to_string();
        if actual != digest {
            return Err(StoreError::Corrupt {
                digest: digest.to_owned(),
                actual,
                location: stored.display().to_string(),
            });
        }
        persist(temporary, destination)
    }

    fn exists(&self, digest: &str) -> Result<bool, StoreError> {
        validate_digest(digest)?;
        Ok(self.path_of(digest).is_file())
    }

    fn location(&self) -> String {
        self.root.display().to_string()
    }

    fn uri(&self, artifact: &ArtifactRef) -> String {
        let path = self.path_of(&artifact.digest);
        let absolute = std::path::absolute(&path).unwrap_or(path);
        format!("file://{}", absolute.display())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::artifact::{collect_files, digest_file};

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
