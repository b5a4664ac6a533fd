//! Content fingerprints: BLAKE3 digests per file and per dataset, the
//! committed lock file `trainyard.lock`, and a stat cache so an unchanged
//! re-run only stats files.
//!
//! A file's digest is the BLAKE3 hash of its bytes (hex). A dataset's digest
//! is BLAKE3 (in derive-key mode, context [`DATASET_DIGEST_CONTEXT`]) over its
//! files sorted by relative path, each as `path bytes, 0x00, 32-byte file
//! digest`: it changes when any byte, name, or the set of files changes, and
//! not when files are touched or listed in another order.
//!
//! Data kept in DVC is fingerprinted like any other: from its bytes, after
//! `dvc pull` or `dvc checkout` (DVC's MD5s are not BLAKE3 and are not mixed in).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::profile::write_atomic;
use crate::read::{ByteSource, InputFile};

/// The lock file's name, beside `trainyard.yaml`.
pub const LOCK_FILE: &str = "trainyard.lock";
/// The stat cache, relative to the project root (not committed).
pub const CACHE_FILE: &str = ".trainyard/cache/fingerprints.json";
/// The BLAKE3 derive-key context of dataset digests.
pub const DATASET_DIGEST_CONTEXT: &str = "trainyard 2025-01 dataset digest v1";
const LOCK_VERSION: u32 = 1;
/// Files at least this large are hashed with BLAKE3's multi-threaded mode.
const PARALLEL_HASH_BYTES: u64 = 4 << 20;
const READ_CHUNK: usize = 8 << 20;
/// A cache entry is trusted only when the file's mtime is this much older than
/// the moment it was hashed, so a write within the file system's timestamp
/// granularity after hashing cannot hide behind an unchanged mtime.
const RACY_WINDOW_NS: i128 = 1_000_000_000;

#[derive(Debug, thiserror::Error)]
pub enum FingerprintError {
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Format { path: PathBuf, message: String },
    #[error("`{pattern}` matches no files")]
    NoFiles { pattern: String },
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> FingerprintError {
    let path = path.to_owned();
    move |source| FingerprintError::Io {
        action,
        path,
        source,
    }
}

/// One file of a dataset, as recorded in the lock file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileDigest {
    /// Relative to the project root, with `/` separators.
    pub path: String,
    pub size: u64,
    /// BLAKE3 of the content, hex.
    pub blake3: String,
}

/// A dataset's digest and its files, sorted by path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetFingerprint {
    pub digest: String,
    pub files: Vec<FileDigest>,
}

impl DatasetFingerprint {
    pub fn from_files(mut files: Vec<FileDigest>) -> Self {
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Self {
            digest: dataset_digest(&files),
            files,
        }
    }

    pub fn size(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

/// The dataset digest of files already sorted by path (see the module doc).
pub fn dataset_digest(files: &[FileDigest]) -> String {
    let mut hasher = blake3::Hasher::new_derive_key(DATASET_DIGEST_CONTEXT);
    for file in files {
        hasher.update(file.path.as_bytes());
        hasher.update(&[0]);
        let digest = blake3::Hash::from_hex(&file.blake3).map_or([0; 32], |h| *h.as_bytes());
        hasher.update(&digest);
    }
    hasher.finalize().to_hex().to_string()
}

/// `trainyard.lock`: the fingerprint of every dataset, committed with the code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockFile {
    pub version: u32,
    pub datasets: BTreeMap<String, DatasetFingerprint>,
}

impl Default for LockFile {
    fn default() -> Self {
        Self {
            version: LOCK_VERSION,
            datasets: BTreeMap::new(),
        }
    }
}

impl LockFile {
    /// Reads a lock file; `Ok(None)` when there is none.
    pub fn load(path: &Path) -> Result<Option<Self>, FingerprintError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error("read", path)(e)),
        };
        trainyard_core::yaml::check_yaml(&text).map_err(|e| FingerprintError::Format {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let lock: Self = serde_yaml_ng::from_str(&text).map_err(|e| FingerprintError::Format {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        if lock.version != LOCK_VERSION {
            return Err(FingerprintError::Format {
                path: path.to_owned(),
                message: format!("unsupported lock file version {}", lock.version),
            });
        }
        Ok(Some(lock))
    }

    /// The YAML text: datasets by name, files by path; stable byte for byte.
    pub fn to_yaml(&self) -> String {
        let body = serde_yaml_ng::to_string(self).unwrap_or_default();
        format!(
            "# Written by `trainyard data fingerprint`; commit it. BLAKE3 digests of every dataset file.\n{body}"
        )
    }

    /// Writes atomically (temporary file, then rename).
    pub fn save(&self, path: &Path) -> Result<(), FingerprintError> {
        write_atomic(path, self.to_yaml().as_bytes()).map_err(io_error("write", path))
    }
}

/// What the stat cache remembers of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheEntry {
    pub size: u64,
    pub mtime_ns: i128,
    pub inode: u64,
    pub blake3: String,
    /// When the digest was computed (ns since the epoch).
    pub hashed_ns: i128,
    /// An object's version (ETag): an object in storage is read again only
    /// when its size or version changed (its mtime and inode are 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// `(path, size, mtime, inode) -> digest`, so unchanged files are not read again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatCache {
    entries: BTreeMap<String, CacheEntry>,
    /// The lock file as last written or found equal to the data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lock: Option<LockStamp>,
    #[serde(skip)]
    dirty: bool,
}

/// The lock file's stat and a digest of what it records, so a re-run on unchanged
/// data knows the lock is current without rendering or parsing it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct LockStamp {
    size: u64,
    mtime_ns: i128,
    inode: u64,
    summary: String,
}

/// A digest of a lock's content: each dataset's name and digest (a dataset digest
/// covers its files' paths and contents).
pub fn lock_summary(lock: &LockFile) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&lock.version.to_le_bytes());
    for (name, dataset) in &lock.datasets {
        hasher.update(name.as_bytes());
        hasher.update(&[0]);
        hasher.update(dataset.digest.as_bytes());
        hasher.update(&[0]);
    }
    hasher.finalize().to_hex().to_string()
}

impl StatCache {
    /// Loads the cache; a missing or unreadable cache is an empty one.
    pub fn load(path: &Path) -> Self {
        std::fs::read(path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// Writes the cache if it changed.
    pub fn save(&mut self, path: &Path) -> Result<(), FingerprintError> {
        if !self.dirty {
            return Ok(());
        }
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        write_atomic(path, &bytes).map_err(io_error("write", path))?;
        self.dirty = false;
        Ok(())
    }

    /// Whether the lock file at `path` is the one last stamped with `summary`
    /// (same size, mtime and inode): then it records exactly this content.
    pub fn lock_is_current(&self, path: &Path, summary: &str) -> bool {
        let (Some(stamp), Ok(now)) = (&self.lock, stat(path)) else {
            return false;
        };
        stamp.summary == summary
            && stamp.size == now.size
            && stamp.mtime_ns == now.mtime_ns
            && stamp.inode == now.inode
    }

    /// Remembers that the lock file at `path` records `summary`.
    pub fn stamp_lock(&mut self, path: &Path, summary: String) {
        if let Ok(now) = stat(path) {
            let stamp = LockStamp {
                size: now.size,
                mtime_ns: now.mtime_ns,
                inode: now.inode,
                summary,
            };
            if self.lock.as_ref() != Some(&stamp) {
                self.lock = Some(stamp);
                self.dirty = true;
            }
        }
    }

    /// The entry of a file, by its path relative to the root.
    pub fn get(&self, path: &str) -> Option<&CacheEntry> {
        self.entries.get(path)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn lookup(&self, key: &str, stat: &Stat) -> Option<&str> {
        let entry = self.entries.get(key)?;
        (entry.size == stat.size
            && entry.mtime_ns == stat.mtime_ns
            && entry.inode == stat.inode
            && stat.mtime_ns + RACY_WINDOW_NS <= entry.hashed_ns)
            .then_some(entry.blake3.as_str())
    }

    /// The digest of an object of `size` bytes at `version`, if remembered.
    fn lookup_version(&self, key: &str, size: u64, version: Option<&str>) -> Option<&str> {
        let entry = self.entries.get(key)?;
        (version.is_some() && entry.size == size && entry.version.as_deref() == version)
            .then_some(entry.blake3.as_str())
    }
}

#[derive(Debug, Clone, Copy)]
struct Stat {
    size: u64,
    mtime_ns: i128,
    inode: u64,
}

fn stat(path: &Path) -> std::io::Result<Stat> {
    let metadata = std::fs::metadata(path)?;
    let mtime_ns = metadata
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX));
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&metadata);
    #[cfg(not(unix))]
    let inode = 0;
    Ok(Stat {
        size: metadata.len(),
        mtime_ns,
        inode,
    })
}

fn now_ns() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX))
}

/// BLAKE3 of a file's content, streamed in 8 MiB chunks. A large file is read
/// on one thread while the previous chunk is hashed on all cores
/// (`update_rayon`), so copying from the page cache and hashing overlap instead
/// of taking turns. Memory stays bounded (two chunks).
pub fn hash_file(path: &Path) -> Result<blake3::Hash, FingerprintError> {
    let mut file = File::open(path).map_err(io_error("open", path))?;
    let size = file.metadata().map_or(0, |m| m.len());
    let mut hasher = blake3::Hasher::new();
    if size < PARALLEL_HASH_BYTES {
        let capacity = usize::try_from(size)
            .unwrap_or(READ_CHUNK)
            .clamp(1, READ_CHUNK);
        let mut buffer = vec![0u8; capacity];
        loop {
            let filled = fill(&mut file, &mut buffer).map_err(io_error("read", path))?;
            hasher.update(&buffer[..filled]);
            if filled < buffer.len() {
                return Ok(hasher.finalize());
            }
        }
    }
    let (full_sender, full) = std::sync::mpsc::sync_channel::<(Vec<u8>, usize)>(1);
    let (empty_sender, empty) = std::sync::mpsc::channel::<Vec<u8>>();
    for _ in 0..2 {
        let _ = empty_sender.send(vec![0u8; READ_CHUNK]);
    }
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || -> std::io::Result<()> {
            // Ends at the end of the file; dropping `full_sender` ends the hashing loop.
            while let Ok(mut buffer) = empty.recv() {
                let filled = fill(&mut file, &mut buffer)?;
                let last = filled < buffer.len();
                if filled > 0 && full_sender.send((buffer, filled)).is_err() {
                    break;
                }
                if last {
                    break;
                }
            }
            Ok(())
        });
        for (buffer, filled) in &full {
            hasher.update_rayon(&buffer[..filled]);
            let _ = empty_sender.send(buffer);
        }
        reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
    .map_err(io_error("read", path))?;
    Ok(hasher.finalize())
}

/// Reads until `buffer` is full or the stream ends; the bytes read.
fn fill(file: &mut impl Read, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The files a dataset path names, relative to `root`: a file, a folder or a
/// glob, resolved exactly as the readers resolve it ([`crate::read::resolve`]),
/// so validation and fingerprints always see the same files. Sorted by path.
pub fn list_files(root: &Path, pattern: &str) -> Result<Vec<PathBuf>, FingerprintError> {
    crate::read::resolve(root, pattern)
        .map(|files| files.into_iter().map(|file| file.path).collect())
        .map_err(|error| match error {
            trainyard_core::StepError::Io {
                action,
                path,
                source,
            } if source.kind() != std::io::ErrorKind::NotFound => FingerprintError::Io {
                action,
                path,
                source,
            },
            _ => FingerprintError::NoFiles {
                pattern: pattern.to_owned(),
            },
        })
}

/// `path` relative to `root`, with `/` separators.
fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Fingerprints files (in parallel), consulting and updating the stat cache:
/// a file whose size, mtime and inode are unchanged is not read.
pub fn fingerprint_files(
    root: &Path,
    files: &[PathBuf],
    cache: Option<&mut StatCache>,
) -> Result<DatasetFingerprint, FingerprintError> {
    let inputs: Vec<InputFile> = files
        .iter()
        .map(|path| InputFile::local(path.clone(), relative(root, path)))
        .collect();
    fingerprint_inputs(root, &inputs, cache)
}

/// Fingerprints input files, local or not (in parallel), consulting and
/// updating the stat cache: a local file whose size, mtime and inode are
/// unchanged is not read, nor an object whose size and version (ETag) are.
/// A local file is recorded by its path relative to `root`, an object by its
/// URL.
pub fn fingerprint_inputs(
    root: &Path,
    inputs: &[InputFile],
    mut cache: Option<&mut StatCache>,
) -> Result<DatasetFingerprint, FingerprintError> {
    let shared: Option<&StatCache> = cache.as_deref();
    let results = inputs
        .par_iter()
        .map(|input| match &input.source {
            None => digest_local(root, &input.path, shared),
            Some(source) => digest_source(source.as_ref(), shared),
        })
        .collect::<Result<Vec<_>, FingerprintError>>()?;
    let mut digests = Vec::with_capacity(results.len());
    for (digest, entry) in results {
        if let (Some(cache), Some((key, entry))) = (cache.as_deref_mut(), entry) {
            cache.entries.insert(key, entry);
            cache.dirty = true;
        }
        digests.push(digest);
    }
    Ok(DatasetFingerprint::from_files(digests))
}

type Digested = (FileDigest, Option<(String, CacheEntry)>);

fn digest_local(
    root: &Path,
    path: &Path,
    cache: Option<&StatCache>,
) -> Result<Digested, FingerprintError> {
    let key = relative(root, path);
    let before = stat(path).map_err(io_error("stat", path))?;
    if let Some(digest) = cache.and_then(|c| c.lookup(&key, &before)) {
        return Ok((
            FileDigest {
                path: key,
                size: before.size,
                blake3: digest.to_owned(),
            },
            None,
        ));
    }
    let hashed_ns = now_ns();
    let digest = hash_file(path)?.to_hex().to_string();
    let entry = CacheEntry {
        size: before.size,
        mtime_ns: before.mtime_ns,
        inode: before.inode,
        blake3: digest.clone(),
        hashed_ns,
        version: None,
    };
    Ok((
        FileDigest {
            path: key.clone(),
            size: before.size,
            blake3: digest,
        },
        Some((key, entry)),
    ))
}

/// An object's digest: from the cache when its size and version are the
/// ones hashed, else by streaming its bytes once.
fn digest_source(
    source: &dyn ByteSource,
    cache: Option<&StatCache>,
) -> Result<Digested, FingerprintError> {
    let key = source.name().to_owned();
    let size = source.size();
    if let Some(digest) = cache.and_then(|c| c.lookup_version(&key, size, source.version())) {
        return Ok((
            FileDigest {
                path: key,
                size,
                blake3: digest.to_owned(),
            },
            None,
        ));
    }
    let hashed_ns = now_ns();
    let path = PathBuf::from(&key);
    let mut reader = source.open().map_err(io_error("open", &path))?;
    let mut hasher = blake3::Hasher::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut read = 0u64;
    loop {
        let filled = fill(&mut reader, &mut buffer).map_err(io_error("read", &path))?;
        hasher.update(&buffer[..filled]);
        read += filled as u64;
        if filled < buffer.len() {
            break;
        }
    }
    if read != size {
        return Err(FingerprintError::Io {
            action: "read",
            path,
            source: std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("read {read} bytes of {size} (the object changed or the transfer broke)"),
            ),
        });
    }
    let digest = hasher.finalize().to_hex().to_string();
    let entry = CacheEntry {
        size,
        mtime_ns: 0,
        inode: 0,
        blake3: digest.clone(),
        hashed_ns,
        version: source.version().map(str::to_owned),
    };
    Ok((
        FileDigest {
            path: key.clone(),
            size,
            blake3: digest,
        },
        Some((key, entry)),
    ))
}

/// Lists and fingerprints one dataset path (file, folder or glob) under `root`.
pub fn fingerprint_dataset(
    root: &Path,
    pattern: &str,
    cache: Option<&mut StatCache>,
) -> Result<DatasetFingerprint, FingerprintError> {
    let files = list_files(root, pattern)?;
    fingerprint_files(root, &files, cache)
}
