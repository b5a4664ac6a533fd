//! Deterministic samples of a CSV file: the same input and seed give the
//! same bytes on any machine, with any number of threads.
//!
//! Each row gets a 64-bit key: BLAKE3 in keyed mode (key derived from the
//! seed) over the row's parsed fields, each length-prefixed. The key depends
//! on the row's **content**, not on its position, so a sample is stable when
//! rows are appended, removed or reordered elsewhere in the file (a PR that
//! adds data keeps the old sampled rows, and reviewers see the same sample),
//! and quoting or line endings do not matter. Equal rows get equal keys;
//! among them the earlier row wins (ties broken by row index). BLAKE3 is
//! specified and portable, so no platform or library version changes a key.
//!
//! - fraction: one streaming pass keeps rows whose key is below
//!   `fraction * 2^64` (each row independently, so the count is
//!   `fraction * n` on average);
//! - rows: the `k` rows with the smallest keys (a bounded heap, memory O(k)),
//!   then a second pass writes them;
//! - stratified (either size): a first pass counts each class of the label
//!   column; the total is split proportionally with largest-remainder
//!   rounding (ties by class name), and each class keeps its smallest keys.
//!
//! Output keeps the header and the input order; it is written to a
//! temporary file and renamed.

use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// How big a sample is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SampleSize {
    /// A fraction of rows in (0, 1].
    Fraction(f64),
    /// A number of rows (all rows when the input has fewer).
    Rows(u64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SampleOptions {
    pub size: SampleSize,
    pub seed: u64,
    /// Keep the class proportions of this column.
    pub stratify_by: Option<String>,
    pub delimiter: u8,
}

impl SampleOptions {
    pub fn new(size: SampleSize, seed: u64) -> Self {
        Self {
            size,
            seed,
            stratify_by: None,
            delimiter: b',',
        }
    }

    #[must_use]
    pub fn stratified(mut self, column: impl Into<String>) -> Self {
        self.stratify_by = Some(column.into());
        self
    }
}

/// What a sampling run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleSummary {
    pub input_rows: u64,
    pub output_rows: u64,
    /// Per class of the stratification column: (rows in input, rows kept).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub classes: BTreeMap<String, (u64, u64)>,
}

#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Csv {
        path: PathBuf,
        #[source]
        source: csv::Error,
    },
    #[error("{0}")]
    Usage(String),
}

/// Writes a deterministic sample of `input` to `output` (see the module doc).
#[allow(clippy::too_many_lines)] // three passes, read top to bottom
pub fn sample_csv(
    input: &Path,
    output: &Path,
    options: &SampleOptions,
) -> Result<SampleSummary, SampleError> {
    if let SampleSize::Fraction(f) = options.size
        && !(f > 0.0 && f <= 1.0)
    {
        return Err(SampleError::Usage(format!(
            "fraction must be in (0, 1], got {f}"
        )));
    }
    let hasher = keyed_hasher(options.seed);
    let label = match &options.stratify_by {
        Some(column) => {
            let headers = open(input, options)?
                .byte_headers()
                .map_err(csv_error(input))?
                .clone();
            let index = headers
                .iter()
                .position(|h| h == column.as_bytes())
                .ok_or_else(|| {
                    SampleError::Usage(format!(
                        "{}: no column `{column}` to stratify by",
                        input.display()
                    ))
                })?;
            Some(index)
        }
        None => None,
    };

    let mut summary = SampleSummary {
        input_rows: 0,
        output_rows: 0,
        classes: BTreeMap::new(),
    };
    let selected: Selection = match (label, options.size) {
        (None, SampleSize::Fraction(fraction)) => {
            let threshold = fraction_threshold(fraction);
            Selection::Threshold(threshold)
        }
        (None, SampleSize::Rows(k)) => {
            let mut heap = BoundedHeap::new(k);
            for_each_record(input, options, |index, record| {
                heap.push(row_key(&hasher, record), index);
                Ok(())
            })?;
            Selection::Indices(heap.into_sorted_indices())
        }
        (Some(label), size) => {
            let mut counts: HashMap<Vec<u8>, u64> = HashMap::new();
            let mut total = 0u64;
            for_each_record(input, options, |_, record| {
                *counts
                    .entry(record.get(label).unwrap_or_default().to_vec())
                    .or_insert(0) += 1;
                total += 1;
                Ok(())
            })?;
            let target = match size {
                SampleSize::Rows(k) => k.min(total),
                #[allow(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    clippy::cast_precision_loss
                )]
                SampleSize::Fraction(f) => ((f * total as f64).round() as u64).min(total),
            };
            let quotas = allocate(&counts, total, target);
            let mut heaps: HashMap<Vec<u8>, BoundedHeap> = quotas
                .iter()
                .map(|(class, k)| (class.clone(), BoundedHeap::new(*k)))
                .collect();
            for_each_record(input, options, |index, record| {
                let class = record.get(label).unwrap_or_default();
                if let Some(heap) = heaps.get_mut(class) {
                    heap.push(row_key(&hasher, record), index);
                }
                Ok(())
            })?;
            let mut indices: Vec<u64> = Vec::new();
            for (class, heap) in heaps {
                let kept = heap.len();
                let name = String::from_utf8_lossy(&class).into_owned();
                summary
                    .classes
                    .insert(name, (counts.get(&class).copied().unwrap_or(0), kept));
                indices.extend(heap.into_sorted_indices());
            }
            indices.sort_unstable();
            Selection::Indices(indices)
        }
    };

    // The writing pass: header, then the selected rows in input order.
    let dir = match output.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|source| SampleError::Io {
        action: "create",
        path: dir.clone(),
        source,
    })?;
    let temp = tempfile::NamedTempFile::new_in(&dir).map_err(|source| SampleError::Io {
        action: "create",
        path: dir.clone(),
        source,
    })?;
    {
        let mut writer = csv::WriterBuilder::new()
            .delimiter(options.delimiter)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(BufWriter::new(temp.as_file()));
        let mut reader = open(input, options)?;
        writer
            .write_byte_record(reader.byte_headers().map_err(csv_error(input))?)
            .map_err(csv_error(output))?;
        let mut next = 0usize;
        let mut record = csv::ByteRecord::new();
        let mut index = 0u64;
        while reader
            .read_byte_record(&mut record)
            .map_err(csv_error(input))?
        {
            let keep = match &selected {
                Selection::Threshold(t) => row_key(&hasher, &record).0 < *t,
                Selection::Indices(indices) => {
                    if indices.get(next) == Some(&index) {
                        next += 1;
                        true
                    } else {
                        false
                    }
                }
            };
            if keep {
                writer
                    .write_byte_record(&record)
                    .map_err(csv_error(output))?;
                summary.output_rows += 1;
            }
            index += 1;
        }
        summary.input_rows = index;
        writer.flush().map_err(|source| SampleError::Io {
            action: "write",
            path: output.to_owned(),
            source,
        })?;
    }
    temp.persist(output).map_err(|e| SampleError::Io {
        action: "write",
        path: output.to_owned(),
        source: e.error,
    })?;
    Ok(summary)
}

enum Selection {
    Threshold(u64),
    Indices(Vec<u64>),
}

fn csv_error(path: &Path) -> impl Fn(csv::Error) -> SampleError + '_ {
    move |source| SampleError::Csv {
        path: path.to_owned(),
        source,
    }
}

fn open(
    input: &Path,
    options: &SampleOptions,
) -> Result<csv::Reader<BufReader<File>>, SampleError> {
    let file = File::open(input).map_err(|source| SampleError::Io {
        action: "open",
        path: input.to_owned(),
        source,
    })?;
    Ok(csv::ReaderBuilder::new()
        .delimiter(options.delimiter)
        .has_headers(true)
        .from_reader(BufReader::with_capacity(1 << 20, file)))
}

fn for_each_record(
    input: &Path,
    options: &SampleOptions,
    mut f: impl FnMut(u64, &csv::ByteRecord) -> Result<(), SampleError>,
) -> Result<(), SampleError> {
    let mut reader = open(input, options)?;
    let mut record = csv::ByteRecord::new();
    let mut index = 0u64;
    while reader
        .read_byte_record(&mut record)
        .map_err(csv_error(input))?
    {
        f(index, &record)?;
        index += 1;
    }
    Ok(())
}

fn keyed_hasher(seed: u64) -> blake3::Hasher {
    let key = blake3::derive_key("trainyard 2025-01 sample row key v1", &seed.to_le_bytes());
    blake3::Hasher::new_keyed(&key)
}

/// The row's sort key: (keyed hash of its fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct RowKey(u64);

fn row_key(hasher: &blake3::Hasher, record: &csv::ByteRecord) -> RowKey {
    let mut hasher = hasher.clone();
    for field in record {
        hasher.update(&(field.len() as u64).to_le_bytes());
        hasher.update(field);
    }
    let mut first = [0u8; 8];
    first.copy_from_slice(&hasher.finalize().as_bytes()[..8]);
    RowKey(u64::from_le_bytes(first))
}

/// `fraction * 2^64`, the key threshold of a fraction sample.
fn fraction_threshold(fraction: f64) -> u64 {
    if fraction >= 1.0 {
        return u64::MAX;
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let t = (fraction * 18_446_744_073_709_551_616.0) as u64;
    t
}

/// The `k` smallest (key, index) pairs.
struct BoundedHeap {
    capacity: u64,
    heap: BinaryHeap<(RowKey, u64)>,
}

impl BoundedHeap {
    fn new(capacity: u64) -> Self {
        Self {
            capacity,
            heap: BinaryHeap::new(),
        }
    }

    fn push(&mut self, key: RowKey, index: u64) {
        if self.capacity == 0 {
            return;
        }
        if (self.heap.len() as u64) < self.capacity {
            self.heap.push((key, index));
        } else if let Some(top) = self.heap.peek()
            && (key, index) < *top
        {
            self.heap.pop();
            self.heap.push((key, index));
        }
    }

    fn len(&self) -> u64 {
        self.heap.len() as u64
    }

    fn into_sorted_indices(self) -> Vec<u64> {
        let mut indices: Vec<u64> = self.heap.into_iter().map(|(_, i)| i).collect();
        indices.sort_unstable();
        indices
    }
}

/// Proportional allocation of `target` rows over classes with largest-remainder
/// rounding; ties go to the class whose name sorts first.
fn allocate(counts: &HashMap<Vec<u8>, u64>, total: u64, target: u64) -> BTreeMap<Vec<u8>, u64> {
    let mut quotas = BTreeMap::new();
    if total == 0 {
        return quotas;
    }
    let mut remainders: Vec<(u128, &Vec<u8>)> = Vec::new();
    let mut assigned = 0u64;
    for (class, &count) in counts {
        let exact = u128::from(target) * u128::from(count);
        let floor = u64::try_from(exact / u128::from(total)).unwrap_or(count);
        assigned += floor;
        quotas.insert(class.clone(), floor);
        remainders.push((exact % u128::from(total), class));
    }
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    for (_, class) in remainders
        .into_iter()
        .take(usize::try_from(target - assigned).unwrap_or(0))
    {
        if let Some(q) = quotas.get_mut(class) {
            *q += 1;
        }
    }
    quotas
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_remainder_allocation_sums_to_target() {
        let counts: HashMap<Vec<u8>, u64> = [
            (b"a".to_vec(), 59),
            (b"b".to_vec(), 71),
            (b"c".to_vec(), 48),
        ]
        .into_iter()
        .collect();
        let quotas = allocate(&counts, 178, 50);
        // 16.57, 19.94, 13.48 -> floors 16, 19, 13 (48); remainders .94, .57 get the 2 extra.
        assert_eq!(quotas[b"a".as_slice()], 17);
        assert_eq!(quotas[b"b".as_slice()], 20);
        assert_eq!(quotas[b"c".as_slice()], 13);
    }
}
