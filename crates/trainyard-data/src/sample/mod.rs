//! Deterministic samples of a CSV, JSON Lines or Parquet file, written in the
//! input's own format: the same input and seed give the same bytes on any
//! machine, with any number of threads.
//!
//! Each row gets a 64-bit key: BLAKE3 in keyed mode (key derived from the
//! seed) over the row's parsed fields, each length-prefixed (CSV: its fields;
//! JSON Lines: the line as one field; Parquet: each value as the readers
//! render it, a null marked apart from any text). The key depends
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
//! Output keeps the header (CSV), the schema and key-value metadata
//! (Parquet, one row group per input row group that keeps a row) and the
//! input order; it is written to a temporary file and renamed. A compressed
//! input (`.csv.gz`) gives a plain sample. A malformed row (ragged CSV, a
//! line that is not a JSON object, a damaged Parquet file) is
//! [`SampleError::Malformed`] at its line.

mod parquet_rows;

use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use trainyard_core::manifest::DataFormat;

use crate::read::{InputFile, format_of};

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
    /// The input is not well-formed at `line` (`data validate` lists every
    /// such row): the input's fault, not the environment's.
    #[error("{file}:{line}: {message}")]
    Malformed {
        file: String,
        line: u64,
        message: String,
    },
    #[error("{0}")]
    Usage(String),
}

/// Writes a deterministic sample of the CSV file `input` to `output` (see
/// the module doc).
pub fn sample_csv(
    input: &Path,
    output: &Path,
    options: &SampleOptions,
) -> Result<SampleSummary, SampleError> {
    let input = InputFile::local(input, input.display().to_string());
    sample_file(&input, DataFormat::Csv, output, options)
}

/// The format a sample of `input` is read and written in: `format` when the
/// dataset declares one, else the file's extension, else CSV (as the readers
/// decide).
pub fn sample_format(input: &InputFile, format: Option<DataFormat>) -> DataFormat {
    format
        .or_else(|| format_of(&input.path))
        .unwrap_or(DataFormat::Csv)
}

/// The file extension of a sample in `format`.
pub fn extension(format: DataFormat) -> &'static str {
    match format {
        DataFormat::Csv => "csv",
        DataFormat::Jsonl => "jsonl",
        DataFormat::Parquet => "parquet",
    }
}

/// Writes a deterministic sample of `input`, read as `format`, to `output` in
/// the same format (see the module doc).
pub fn sample_file(
    input: &InputFile,
    format: DataFormat,
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
    match format {
        DataFormat::Csv => sample_rows(&CsvRows { input, options }, output, options),
        DataFormat::Jsonl => sample_rows(&JsonRows { input }, output, options),
        DataFormat::Parquet => {
            let rows = parquet_rows::ParquetRows::open(input)?;
            sample_rows(&rows, output, options)
        }
    }
}

/// Called with each row's index, key and class (see [`Rows::scan`]).
type EachRow<'a> = dyn FnMut(u64, RowKey, Option<&[u8]>) + 'a;

/// Called with each JSON Lines row's index, line and parsed object.
type EachLine<'a> = dyn FnMut(
        u64,
        &[u8],
        Option<&serde_json::Map<String, serde_json::Value>>,
    ) -> Result<(), SampleError>
    + 'a;

/// A format's rows, read as often as the sample needs passes.
trait Rows {
    /// The name of the input, for messages.
    fn name(&self) -> &str;
    /// Calls `each` with every row's index, key and, when `label` names a
    /// column, the row's class (its value as bytes; null or missing: empty).
    fn scan(
        &self,
        hasher: &blake3::Hasher,
        label: Option<&str>,
        each: &mut EachRow<'_>,
    ) -> Result<(), SampleError>;
    /// Writes the rows `keep` accepts, in input order, to `out`; the number
    /// of rows read and kept.
    fn write(
        &self,
        hasher: &blake3::Hasher,
        out: &std::fs::File,
        keep: &mut dyn FnMut(u64, RowKey) -> bool,
    ) -> Result<(u64, u64), SampleError>;
}

/// The selection shared by every format (see the module doc), then the
/// writing pass.
fn sample_rows(
    rows: &dyn Rows,
    output: &Path,
    options: &SampleOptions,
) -> Result<SampleSummary, SampleError> {
    let hasher = keyed_hasher(options.seed);
    let mut summary = SampleSummary {
        input_rows: 0,
        output_rows: 0,
        classes: BTreeMap::new(),
    };
    let selected: Selection = match (&options.stratify_by, options.size) {
        (None, SampleSize::Fraction(fraction)) => {
            Selection::Threshold(fraction_threshold(fraction))
        }
        (None, SampleSize::Rows(k)) => {
            let mut heap = BoundedHeap::new(k);
            rows.scan(&hasher, None, &mut |index, key, _| heap.push(key, index))?;
            Selection::Indices(heap.into_sorted_indices())
        }
        (Some(label), size) => {
            let mut counts: HashMap<Vec<u8>, u64> = HashMap::new();
            let mut total = 0u64;
            rows.scan(&hasher, Some(label), &mut |_, _, class| {
                *counts
                    .entry(class.unwrap_or_default().to_vec())
                    .or_insert(0) += 1;
                total += 1;
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
            rows.scan(&hasher, Some(label), &mut |index, key, class| {
                if let Some(heap) = heaps.get_mut(class.unwrap_or_default()) {
                    heap.push(key, index);
                }
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

    let dir = match output.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|source| SampleError::Io {
        action: "create",
        path: dir.clone(),
        source,
    })?;
    // The mode a plain write would give (the umask's), not tempfile's 0600.
    let temp = trainyard_core::fs::temporary_for(output).map_err(|source| SampleError::Io {
        action: "create",
        path: dir.clone(),
        source,
    })?;
    let mut next = 0usize;
    let (read, kept) = rows.write(&hasher, temp.as_file(), &mut |index, key| match &selected {
        Selection::Threshold(t) => key.0 < *t,
        Selection::Indices(indices) => {
            if indices.get(next) == Some(&index) {
                next += 1;
                true
            } else {
                false
            }
        }
    })?;
    summary.input_rows = read;
    summary.output_rows = kept;
    temp.as_file()
        .sync_all()
        .map_err(|source| SampleError::Io {
            action: "write",
            path: output.to_owned(),
            source,
        })?;
    temp.persist(output).map_err(|e| SampleError::Io {
        action: "write",
        path: output.to_owned(),
        source: e.error,
    })?;
    Ok(summary)
}

/// CSV rows, parsed by the `csv` crate (RFC 4180, the header first).
struct CsvRows<'a> {
    input: &'a InputFile,
    options: &'a SampleOptions,
}

impl CsvRows<'_> {
    fn reader(&self) -> Result<csv::Reader<BufReader<Box<dyn std::io::Read + Send>>>, SampleError> {
        let stream = self
            .input
            .open()
            .map_err(|error| step_io(&self.input.path, error))?;
        Ok(csv::ReaderBuilder::new()
            .delimiter(self.options.delimiter)
            .has_headers(true)
            .from_reader(BufReader::with_capacity(1 << 20, stream)))
    }

    fn error(&self, error: csv::Error) -> SampleError {
        csv_error(&self.input.display, &self.input.path, error)
    }
}

impl Rows for CsvRows<'_> {
    fn name(&self) -> &str {
        &self.input.display
    }

    fn scan(
        &self,
        hasher: &blake3::Hasher,
        label: Option<&str>,
        each: &mut EachRow<'_>,
    ) -> Result<(), SampleError> {
        let mut reader = self.reader()?;
        let label = match label {
            Some(column) => {
                let headers = reader.byte_headers().map_err(|e| self.error(e))?;
                Some(
                    headers
                        .iter()
                        .position(|h| h == column.as_bytes())
                        .ok_or_else(|| {
                            SampleError::Usage(format!(
                                "{}: no column `{column}` to stratify by",
                                self.name()
                            ))
                        })?,
                )
            }
            None => None,
        };
        let mut record = csv::ByteRecord::new();
        let mut index = 0u64;
        while reader
            .read_byte_record(&mut record)
            .map_err(|e| self.error(e))?
        {
            let class = label.map(|label| record.get(label).unwrap_or_default());
            each(index, row_key(hasher, record.iter()), class);
            index += 1;
        }
        Ok(())
    }

    fn write(
        &self,
        hasher: &blake3::Hasher,
        out: &std::fs::File,
        keep: &mut dyn FnMut(u64, RowKey) -> bool,
    ) -> Result<(u64, u64), SampleError> {
        let written = |source: csv::Error| SampleError::Io {
            action: "write",
            path: PathBuf::from("the sample"),
            source: source.into(),
        };
        let mut writer = csv::WriterBuilder::new()
            .delimiter(self.options.delimiter)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(BufWriter::new(out));
        let mut reader = self.reader()?;
        writer
            .write_byte_record(reader.byte_headers().map_err(|e| self.error(e))?)
            .map_err(written)?;
        let mut record = csv::ByteRecord::new();
        let (mut index, mut kept) = (0u64, 0u64);
        while reader
            .read_byte_record(&mut record)
            .map_err(|e| self.error(e))?
        {
            if keep(index, row_key(hasher, record.iter())) {
                writer.write_byte_record(&record).map_err(written)?;
                kept += 1;
            }
            index += 1;
        }
        writer.flush().map_err(|source| SampleError::Io {
            action: "write",
            path: PathBuf::from("the sample"),
            source,
        })?;
        Ok((index, kept))
    }
}

/// JSON Lines rows: each non-blank line, which must be a JSON object; the
/// sample keeps kept lines byte for byte.
struct JsonRows<'a> {
    input: &'a InputFile,
}

impl JsonRows<'_> {
    /// Calls `each` with every row's index, line bytes and parsed object.
    fn lines(&self, parse: bool, each: &mut EachLine<'_>) -> Result<u64, SampleError> {
        let stream = self
            .input
            .open()
            .map_err(|error| step_io(&self.input.path, error))?;
        let mut reader = BufReader::with_capacity(1 << 20, stream);
        let mut line = Vec::new();
        let (mut number, mut index) = (0u64, 0u64);
        loop {
            line.clear();
            let read = reader
                .read_until(b'\n', &mut line)
                .map_err(|source| SampleError::Io {
                    action: "read",
                    path: self.input.path.clone(),
                    source,
                })?;
            if read == 0 {
                return Ok(index);
            }
            number += 1;
            let text = line.strip_suffix(b"\n").unwrap_or(&line);
            let text = text.strip_suffix(b"\r").unwrap_or(text);
            if text.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            // Every line is checked, so a sample never copies a broken one.
            let object: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(text).map_err(|error| SampleError::Malformed {
                    file: self.input.display.clone(),
                    line: number,
                    message: format!("not a JSON object: {error}"),
                })?;
            each(index, text, parse.then_some(&object))?;
            index += 1;
        }
    }
}

impl Rows for JsonRows<'_> {
    fn name(&self) -> &str {
        &self.input.display
    }

    fn scan(
        &self,
        hasher: &blake3::Hasher,
        label: Option<&str>,
        each: &mut EachRow<'_>,
    ) -> Result<(), SampleError> {
        self.lines(label.is_some(), &mut |index, text, object| {
            let class = label.map(|label| match object.and_then(|object| object.get(label)) {
                None | Some(serde_json::Value::Null) => Vec::new(),
                Some(serde_json::Value::String(text)) => text.as_bytes().to_vec(),
                Some(other) => other.to_string().into_bytes(),
            });
            each(
                index,
                row_key(hasher, std::iter::once(text)),
                class.as_deref(),
            );
            Ok(())
        })?;
        Ok(())
    }

    fn write(
        &self,
        hasher: &blake3::Hasher,
        out: &std::fs::File,
        keep: &mut dyn FnMut(u64, RowKey) -> bool,
    ) -> Result<(u64, u64), SampleError> {
        let mut writer = BufWriter::new(out);
        let mut kept = 0u64;
        let failed = |source| SampleError::Io {
            action: "write",
            path: PathBuf::from("the sample"),
            source,
        };
        let read = self.lines(false, &mut |index, text, _| {
            if keep(index, row_key(hasher, std::iter::once(text))) {
                writer.write_all(text).map_err(failed)?;
                writer.write_all(b"\n").map_err(failed)?;
                kept += 1;
            }
            Ok(())
        })?;
        writer.flush().map_err(failed)?;
        Ok((read, kept))
    }
}

fn step_io(path: &Path, error: trainyard_core::StepError) -> SampleError {
    match error {
        trainyard_core::StepError::Io {
            action,
            path,
            source,
        } => SampleError::Io {
            action,
            path,
            source,
        },
        other => SampleError::Io {
            action: "read",
            path: path.to_owned(),
            source: std::io::Error::other(other.to_string()),
        },
    }
}

/// A CSV error: a row the parser refuses is the input's fault, at its line.
fn csv_error(name: &str, path: &Path, error: csv::Error) -> SampleError {
    let line = error.position().map(csv::Position::line);
    match (error.kind(), line) {
        (
            csv::ErrorKind::UnequalLengths {
                expected_len,
                len,
                pos,
            },
            _,
        ) => SampleError::Malformed {
            file: name.to_owned(),
            line: pos.as_ref().map_or(0, csv::Position::line),
            message: format!("row has {len} fields, the header has {expected_len}"),
        },
        (csv::ErrorKind::Utf8 { .. } | csv::ErrorKind::Deserialize { .. }, Some(line)) => {
            SampleError::Malformed {
                file: name.to_owned(),
                line,
                message: error.to_string(),
            }
        }
        _ => match error.into_kind() {
            csv::ErrorKind::Io(source) => SampleError::Io {
                action: "read",
                path: path.to_owned(),
                source,
            },
            other => SampleError::Malformed {
                file: name.to_owned(),
                line: line.unwrap_or(0),
                message: format!("{other:?}"),
            },
        },
    }
}

enum Selection {
    Threshold(u64),
    Indices(Vec<u64>),
}

fn keyed_hasher(seed: u64) -> blake3::Hasher {
    let key = blake3::derive_key("trainyard 2025-01 sample row key v1", &seed.to_le_bytes());
    blake3::Hasher::new_keyed(&key)
}

/// The row's sort key: (keyed hash of its fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct RowKey(u64);

fn row_key<'a>(hasher: &blake3::Hasher, fields: impl Iterator<Item = &'a [u8]>) -> RowKey {
    let mut hasher = hasher.clone();
    for field in fields {
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
