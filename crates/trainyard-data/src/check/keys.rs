//! Uniqueness across shards. Each shard of `data validate --shard i/n` keeps, for
//! every `unique` and `unique-together` check, its distinct 64-bit value hashes
//! with the earliest place of each (file, line), sorted, in a `.keys` file beside
//! its profile; `data merge` reads the shards' files side by side (a k-way merge
//! of sorted runs: a buffer per shard, memory flat in the dataset's size) and
//! reports every value that more than one shard holds, naming both places.
//!
//! A match is by 64-bit hash (XXH3, as within a shard): two distinct values
//! share one with probability about n^2 / 2^65 for n values, so a reported
//! duplicate names both rows to look at, and a real duplicate is never missed.
//!
//! The file: the magic line, the header's length (u64, little-endian) and the
//! header as JSON (dataset, shard, files, and per check its name, rule, column
//! and the entries of each of the [`PARTS`] hash parts), then the entries, check
//! after check and part after part: `hash` and packed place, u64 little-endian
//! each, sorted by hash within a part.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::unique::{ENTRY_BYTES, PARTS, Place, Run, unpack};
use super::{CheckResult, MAX_OFFENDERS, Offense};

const MAGIC: &[u8] = b"trainyard unique keys 1\n";

/// The `.keys` file beside a shard's profile (`x.shard-1-of-4.json` ->
/// `x.shard-1-of-4.keys`).
pub fn keys_path_for(profile: &Path) -> PathBuf {
    profile.with_extension("keys")
}

/// Errors reading or writing a keys file.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("{} is not a keys file `data validate --shard` wrote: {message}", path.display())]
    Format { path: PathBuf, message: String },
    #[error("{message}")]
    Mismatch { message: String },
}

/// One unique check's distinct keys in a shard.
#[derive(Debug)]
pub(super) struct CheckKeys {
    pub(super) name: String,
    pub(super) rule: &'static str,
    pub(super) column: Option<String>,
    pub(super) run: Run,
}

/// What a shard keeps of its unique checks' values, to be written beside its profile.
#[derive(Debug)]
pub struct ShardKeys {
    pub(super) files: Vec<String>,
    pub(super) checks: Vec<CheckKeys>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dataset: Option<String>,
    shard: String,
    files: Vec<String>,
    checks: Vec<HeaderCheck>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct HeaderCheck {
    name: String,
    rule: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    column: Option<String>,
    /// Entries in each part.
    parts: Vec<u64>,
}

impl ShardKeys {
    /// Whether there is anything to keep (the schema has a unique check).
    pub fn is_empty(&self) -> bool {
        self.checks.is_empty()
    }

    /// Distinct keys kept, over all checks.
    pub fn entries(&self) -> u64 {
        self.checks
            .iter()
            .flat_map(|check| check.run.parts.iter().map(|part| part.1))
            .sum()
    }

    /// Writes the file atomically (a temporary file beside `path`, renamed).
    pub fn save(&self, path: &Path, dataset: Option<&str>, shard: &str) -> Result<(), KeysError> {
        let io_error = |source| KeysError::Io {
            action: "write",
            path: path.to_owned(),
            source,
        };
        let header = Header {
            dataset: dataset.map(str::to_owned),
            shard: shard.to_owned(),
            files: self.files.clone(),
            checks: self
                .checks
                .iter()
                .map(|check| HeaderCheck {
                    name: check.name.clone(),
                    rule: check.rule.to_owned(),
                    column: check.column.clone(),
                    parts: check.run.parts.iter().map(|part| part.1).collect(),
                })
                .collect(),
        };
        let header = serde_json::to_vec(&header).map_err(|error| io_error(error.into()))?;
        let mut temporary = trainyard_core::fs::temporary_for(path).map_err(io_error)?;
        {
            let mut out = io::BufWriter::with_capacity(1 << 16, temporary.as_file_mut());
            out.write_all(MAGIC).map_err(io_error)?;
            out.write_all(&(header.len() as u64).to_le_bytes())
                .map_err(io_error)?;
            out.write_all(&header).map_err(io_error)?;
            for check in &self.checks {
                let mut file = &check.run.file;
                for &(offset, count) in &check.run.parts {
                    file.seek(SeekFrom::Start(offset)).map_err(io_error)?;
                    let copied = io::copy(&mut file.take(count * ENTRY_BYTES), &mut out)
                        .map_err(io_error)?;
                    if copied != count * ENTRY_BYTES {
                        return Err(io_error(io::ErrorKind::UnexpectedEof.into()));
                    }
                }
            }
            out.flush().map_err(io_error)?;
        }
        temporary.as_file().sync_all().map_err(io_error)?;
        temporary
            .persist(path)
            .map_err(|error| io_error(error.error))?;
        Ok(())
    }
}

/// A keys file opened for reading.
#[derive(Debug)]
pub struct KeysFile {
    path: PathBuf,
    file: File,
    header: Header,
    /// Where the entries start.
    data: u64,
}

impl KeysFile {
    /// Opens `path` and reads its header; its length must match the header's counts.
    pub fn open(path: &Path) -> Result<Self, KeysError> {
        let io_error = |source| KeysError::Io {
            action: "read",
            path: path.to_owned(),
            source,
        };
        let format = |message: String| KeysError::Format {
            path: path.to_owned(),
            message,
        };
        let mut file = File::open(path).map_err(io_error)?;
        let length = file.metadata().map_err(io_error)?.len();
        let mut magic = vec![0; MAGIC.len()];
        let mut size = [0; 8];
        if file.read_exact(&mut magic).is_err()
            || magic != MAGIC
            || file.read_exact(&mut size).is_err()
        {
            return Err(format("it does not start as one".to_owned()));
        }
        let size = u64::from_le_bytes(size);
        let data = (MAGIC.len() as u64 + 8).saturating_add(size);
        if data > length {
            return Err(format("it is cut short in its header".to_owned()));
        }
        let mut header = vec![0; usize::try_from(size).unwrap_or(usize::MAX)];
        file.read_exact(&mut header).map_err(io_error)?;
        let header: Header = serde_json::from_slice(&header)
            .map_err(|error| format(format!("its header does not parse: {error}")))?;
        let mut entries: u64 = 0;
        for check in &header.checks {
            if check.parts.len() != PARTS {
                return Err(format(format!(
                    "check `{}` has {} parts, not {PARTS}",
                    check.name,
                    check.parts.len()
                )));
            }
            entries = check
                .parts
                .iter()
                .fold(entries, |sum, count| sum.saturating_add(*count));
        }
        let expected = entries
            .checked_mul(ENTRY_BYTES)
            .and_then(|bytes| bytes.checked_add(data));
        if expected != Some(length) {
            return Err(format(format!(
                "it holds {} bytes of entries where its header counts {entries} entries of {ENTRY_BYTES} bytes",
                length - data
            )));
        }
        Ok(Self {
            path: path.to_owned(),
            file,
            header,
            data,
        })
    }

    /// The shard label it was written by (`2/4`).
    pub fn shard(&self) -> &str {
        &self.header.shard
    }

    /// The dataset it was written for, if named.
    pub fn dataset(&self) -> Option<&str> {
        self.header.dataset.as_deref()
    }

    /// Where part `part` of check `check` starts, and its entry count.
    fn part(&self, check: usize, part: usize) -> (u64, u64) {
        let mut offset = self.data;
        for (index, entry) in self.header.checks.iter().enumerate() {
            for (at, &count) in entry.parts.iter().enumerate() {
                if (index, at) == (check, part) {
                    return (offset, count);
                }
                offset += count * ENTRY_BYTES;
            }
        }
        (offset, 0)
    }
}

/// The sorted entries of one part of one shard's file.
struct Entries<'a> {
    reader: BufReader<io::Take<&'a File>>,
    path: &'a Path,
}

impl Entries<'_> {
    fn next(&mut self) -> Result<Option<(u64, u64)>, KeysError> {
        let mut entry = [0; 16];
        match self.reader.read_exact(&mut entry) {
            Ok(()) => {
                let (hash, place) = entry.split_at(8);
                let word = |bytes: &[u8]| u64::from_le_bytes(bytes.try_into().unwrap_or_default());
                Ok(Some((word(hash), word(place))))
            }
            Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
            Err(source) => Err(KeysError::Io {
                action: "read",
                path: self.path.to_owned(),
                source,
            }),
        }
    }
}

/// Finds the values that more than one shard holds, per unique check: one result
/// per check the shards kept, failed when any value is in two shards, with the
/// first [`MAX_OFFENDERS`] later places (in file and line order), each naming the
/// earliest place of its value. The shards must have read the same files with the
/// same unique checks.
pub fn duplicates_across(shards: &[KeysFile]) -> Result<Vec<CheckResult>, KeysError> {
    let Some(first) = shards.first() else {
        return Ok(Vec::new());
    };
    for other in &shards[1..] {
        if other.header.files != first.header.files {
            return Err(KeysError::Mismatch {
                message: format!(
                    "{} and {} were written by shards that read different files; validate every shard of one dataset at one commit",
                    first.path.display(),
                    other.path.display()
                ),
            });
        }
        let names = |file: &KeysFile| {
            file.header
                .checks
                .iter()
                .map(|check| (check.name.clone(), check.rule.clone()))
                .collect::<Vec<_>>()
        };
        if names(other) != names(first) {
            return Err(KeysError::Mismatch {
                message: format!(
                    "{} and {} hold different unique checks; validate every shard with one schema",
                    first.path.display(),
                    other.path.display()
                ),
            });
        }
    }
    let files = &first.header.files;
    let file_name = |index: u32| {
        files
            .get(index as usize)
            .cloned()
            .unwrap_or_else(|| format!("file #{index}"))
    };
    let mut results = Vec::new();
    for (index, check) in first.header.checks.iter().enumerate() {
        let (evaluated, failed, kept) = merge_check(shards, index)?;
        let offenders = kept
            .into_iter()
            .map(|(later, earliest, shard, first_shard)| Offense {
                file: file_name(later.0),
                line: later.1,
                column: None,
                value: None,
                detail: Some(format!(
                    "shard {}: same value as {}:{} in shard {} (by 64-bit hash)",
                    shards[shard].shard(),
                    file_name(earliest.0),
                    earliest.1,
                    shards[first_shard].shard()
                )),
                rule: None,
            })
            .collect();
        let rule = match check.rule.as_str() {
            "check/unique" => "check/unique",
            _ => "check/unique-together",
        };
        results.push(CheckResult {
            name: format!("{} across shards", check.name),
            rule,
            column: check.column.clone(),
            passed: failed == 0,
            observed: if failed == 0 {
                format!(
                    "no value in two of {} shards ({evaluated} distinct per shard)",
                    shards.len()
                )
            } else {
                format!(
                    "{failed} duplicate(s) across {} shards ({evaluated} distinct values per shard, summed)",
                    shards.len()
                )
            },
            evaluated,
            failed,
            offenders,
        });
    }
    Ok(results)
}

/// A later place, the earliest place of its value, and their shards' positions.
type Duplicate = (Place, Place, usize, usize);

/// The k-way merge of check `index` over the shards, part by part: the entries
/// read, the duplicates, and the first [`MAX_OFFENDERS`] of them by later place.
fn merge_check(shards: &[KeysFile], index: usize) -> Result<(u64, u64, Vec<Duplicate>), KeysError> {
    let mut evaluated: u64 = 0;
    let mut failed: u64 = 0;
    // The first offenders by later place: a max-heap of the smallest.
    let mut kept: BinaryHeap<Duplicate> = BinaryHeap::new();
    for part in 0..PARTS {
        let mut sources = Vec::with_capacity(shards.len());
        for shard in shards {
            let (offset, count) = shard.part(index, part);
            let mut file = &shard.file;
            file.seek(SeekFrom::Start(offset))
                .map_err(|source| KeysError::Io {
                    action: "read",
                    path: shard.path.clone(),
                    source,
                })?;
            sources.push(Entries {
                reader: BufReader::with_capacity(1 << 16, file.take(count * ENTRY_BYTES)),
                path: &shard.path,
            });
        }
        let mut heap = BinaryHeap::with_capacity(sources.len());
        for (position, source) in sources.iter_mut().enumerate() {
            if let Some((hash, place)) = source.next()? {
                heap.push(Reverse((hash, place, position)));
            }
        }
        let mut group: Option<(u64, u64, usize)> = None;
        while let Some(Reverse((hash, place, position))) = heap.pop() {
            evaluated += 1;
            match group {
                Some((group_hash, earliest, from)) if group_hash == hash => {
                    failed += 1;
                    let entry = (unpack(place), unpack(earliest), position, from);
                    if kept.len() < MAX_OFFENDERS {
                        kept.push(entry);
                    } else if kept.peek().is_some_and(|top| entry < *top) {
                        kept.pop();
                        kept.push(entry);
                    }
                }
                _ => group = Some((hash, place, position)),
            }
            if let Some((hash, place)) = sources[position].next()? {
                heap.push(Reverse((hash, place, position)));
            }
        }
    }
    Ok((evaluated, failed, kept.into_sorted_vec()))
}
