//! DVC's metadata: `.dvc` files and `dvc.lock`, as DVC 2 and 3 write them.
//!
//! DVC identifies data by MD5 (`md5: ...`, with `.dir` appended for a folder,
//! whose listing is itself a JSON file in the cache). trainyard reports these
//! as they are and can find the cached objects, but its own fingerprints are
//! BLAKE3 of the bytes (see [`super`]): an MD5 is never compared with a BLAKE3.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::FingerprintError;

/// One output (or dependency) DVC tracks.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DvcOut {
    /// As written: relative to the `.dvc` file's folder (or the `dvc.lock` one).
    pub path: String,
    #[serde(default)]
    pub md5: Option<String>,
    #[serde(default)]
    pub size: Option<u64>,
    /// Files in a tracked folder.
    #[serde(default)]
    pub nfiles: Option<u64>,
    /// `md5` in DVC 3 files; absent in DVC 2 (whose cache layout differs).
    #[serde(default)]
    pub hash: Option<String>,
}

impl DvcOut {
    /// A tracked folder (its md5 ends in `.dir`).
    pub fn is_dir(&self) -> bool {
        self.md5
            .as_deref()
            .is_some_and(|m| m.to_ascii_lowercase().ends_with(".dir"))
    }

    /// The md5 without the `.dir` suffix.
    pub fn md5_hex(&self) -> Option<&str> {
        self.md5.as_deref().map(|m| m.trim_end_matches(".dir"))
    }

    /// Where DVC keeps the object in a cache folder (`.dvc/cache`):
    /// `files/md5/ab/cdef...` for DVC 3, `ab/cdef...` for DVC 2.
    pub fn cache_path(&self, cache_dir: &Path) -> Option<PathBuf> {
        let md5 = self.md5.as_deref()?;
        if md5.len() < 3 {
            return None;
        }
        let (head, tail) = md5.split_at(2);
        Some(if self.hash.as_deref() == Some("md5") {
            cache_dir.join("files").join("md5").join(head).join(tail)
        } else {
            cache_dir.join(head).join(tail)
        })
    }
}

#[derive(Deserialize)]
struct DvcFile {
    #[serde(default)]
    outs: Vec<DvcOut>,
}

/// Reads a `.dvc` file's outputs.
pub fn read_dvc_file(path: &Path) -> Result<Vec<DvcOut>, FingerprintError> {
    let text = read(path)?;
    let file: DvcFile = parse(path, &text)?;
    Ok(file.outs)
}

/// One stage of `dvc.lock`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DvcStage {
    pub name: String,
    pub deps: Vec<DvcOut>,
    pub outs: Vec<DvcOut>,
}

#[derive(Deserialize)]
struct DvcLock {
    #[serde(default)]
    stages: BTreeMap<String, LockStage>,
}

#[derive(Deserialize)]
struct LockStage {
    #[serde(default)]
    deps: Vec<DvcOut>,
    #[serde(default)]
    outs: Vec<DvcOut>,
}

/// Reads `dvc.lock`: every stage's dependencies and outputs, by stage name.
pub fn read_dvc_lock(path: &Path) -> Result<Vec<DvcStage>, FingerprintError> {
    let text = read(path)?;
    let lock: DvcLock = parse(path, &text)?;
    Ok(lock
        .stages
        .into_iter()
        .map(|(name, stage)| DvcStage {
            name,
            deps: stage.deps,
            outs: stage.outs,
        })
        .collect())
}

fn read(path: &Path) -> Result<String, FingerprintError> {
    std::fs::read_to_string(path).map_err(|source| FingerprintError::Io {
        action: "read",
        path: path.to_owned(),
        source,
    })
}

fn parse<T: for<'de> Deserialize<'de>>(path: &Path, text: &str) -> Result<T, FingerprintError> {
    trainyard_core::yaml::check_yaml(text).map_err(|e| FingerprintError::Format {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    serde_yaml_ng::from_str(text).map_err(|e| FingerprintError::Format {
        path: path.to_owned(),
        message: e.to_string(),
    })
}
