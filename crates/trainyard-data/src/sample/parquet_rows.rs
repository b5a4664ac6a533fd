//! Parquet rows for samples: keys from the values as the readers render them
//! (the same pass `data validate` makes), and the kept rows copied column by
//! column into a file with the input's schema, physical types and key-value
//! metadata (pandas and Arrow read it back with the same dtypes). An object
//! in storage is copied to a temporary file once: Parquet needs random access.

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

use parquet::basic::Compression;
use parquet::column::reader::ColumnReader;
use parquet::column::writer::ColumnWriter;
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::writer::SerializedFileWriter;
use trainyard_core::manifest::DataFormat;

use super::{RowKey, Rows, SampleError};
use crate::read::source::LocalCopy;
use crate::read::{Chunks, InputFile, ReadOptions, parse_each};

/// Rows copied per call, per column.
const SLICE_ROWS: usize = 16 * 1024;

pub(super) struct ParquetRows {
    /// A local file: the input, or its temporary copy.
    input: InputFile,
    _copy: Option<LocalCopy>,
}

impl ParquetRows {
    pub(super) fn open(input: &InputFile) -> Result<Self, SampleError> {
        let Some(source) = &input.source else {
            return Ok(Self {
                input: input.clone(),
                _copy: None,
            });
        };
        let copy = LocalCopy::of(source.as_ref()).map_err(|source| SampleError::Io {
            action: "download",
            path: input.path.clone(),
            source,
        })?;
        Ok(Self {
            input: InputFile::local(copy.path(), input.display.clone()),
            _copy: Some(copy),
        })
    }

    fn damaged(&self, message: impl std::fmt::Display) -> SampleError {
        SampleError::Malformed {
            file: self.input.display.clone(),
            line: 1,
            message: format!("not a readable Parquet file: {message}"),
        }
    }
}

/// A row's key over its values; a null is marked apart from every text.
fn key_of<'a>(hasher: &blake3::Hasher, fields: impl Iterator<Item = Option<&'a [u8]>>) -> RowKey {
    let mut hasher = hasher.clone();
    for field in fields {
        match field {
            Some(bytes) => {
                hasher.update(&(bytes.len() as u64).to_le_bytes());
                hasher.update(bytes);
            }
            None => {
                hasher.update(&u64::MAX.to_le_bytes());
            }
        }
    }
    let mut first = [0u8; 8];
    first.copy_from_slice(&hasher.finalize().as_bytes()[..8]);
    RowKey(u64::from_le_bytes(first))
}

impl Rows for ParquetRows {
    fn name(&self) -> &str {
        &self.input.display
    }

    fn scan(
        &self,
        hasher: &blake3::Hasher,
        label: Option<&str>,
        each: &mut super::EachRow<'_>,
    ) -> Result<(), SampleError> {
        let options = ReadOptions {
            format: Some(DataFormat::Parquet),
            numeric_columns: Some(Vec::new()),
            ..ReadOptions::default()
        };
        let mut failure = None;
        for chunk in Chunks::new(vec![self.input.clone()], options) {
            let chunk = chunk.map_err(|error| self.damaged(error))?;
            parse_each(chunk, &mut |batch| {
                if failure.is_some() {
                    return;
                }
                if let Some(issue) = batch.issues.first() {
                    failure = Some(SampleError::Malformed {
                        file: self.input.display.clone(),
                        line: issue.line,
                        message: issue.kind.to_string(),
                    });
                    return;
                }
                let column = label.map(|label| batch.file.columns.iter().position(|c| c == label));
                if let Some(None) = column {
                    failure = Some(SampleError::Usage(format!(
                        "{}: no column `{}` to stratify by",
                        self.input.display,
                        label.unwrap_or_default()
                    )));
                    return;
                }
                for row in 0..batch.rows() {
                    let key = key_of(hasher, (0..batch.columns).map(|c| batch.field(row, c)));
                    let class = column
                        .flatten()
                        .map(|c| batch.field(row, c).unwrap_or_default());
                    each(batch.lines[row] - 1, key, class);
                }
            });
            if let Some(failure) = failure.take() {
                return Err(failure);
            }
        }
        Ok(())
    }

    fn write(
        &self,
        hasher: &blake3::Hasher,
        out: &File,
        keep: &mut dyn FnMut(u64, RowKey) -> bool,
    ) -> Result<(u64, u64), SampleError> {
        // The rows to keep (memory in proportion to the sample), then the copy.
        let mut kept: Vec<u64> = Vec::new();
        let mut read = 0u64;
        self.scan(hasher, None, &mut |index, key, _| {
            read += 1;
            if keep(index, key) {
                kept.push(index);
            }
        })?;
        kept.sort_unstable();
        self.copy(out, &kept).map_err(|error| SampleError::Io {
            action: "write",
            path: PathBuf::from("the sample"),
            source: std::io::Error::other(error.to_string()),
        })?;
        Ok((read, kept.len() as u64))
    }
}

impl ParquetRows {
    /// Copies the rows at `kept` (sorted indices) into `out`.
    fn copy(&self, out: &File, kept: &[u64]) -> parquet::errors::Result<()> {
        let file = File::open(&self.input.path)?;
        let reader = SerializedFileReader::new(file)?;
        let metadata = reader.metadata();
        let schema = metadata.file_metadata().schema_descr().root_schema_ptr();
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_key_value_metadata(metadata.file_metadata().key_value_metadata().cloned())
            .build();
        let mut writer = SerializedFileWriter::new(out, schema, Arc::new(properties))?;
        let mut first = 0u64;
        let mut next = 0usize;
        for group in 0..reader.num_row_groups() {
            let rows = u64::try_from(metadata.row_group(group).num_rows()).unwrap_or(0);
            let start = next;
            while next < kept.len() && kept[next] < first + rows {
                next += 1;
            }
            // Row positions inside this group.
            let mask: Vec<bool> = {
                let mut mask = vec![false; usize::try_from(rows).unwrap_or(0)];
                for &index in &kept[start..next] {
                    if let Some(slot) = usize::try_from(index - first)
                        .ok()
                        .and_then(|at| mask.get_mut(at))
                    {
                        *slot = true;
                    }
                }
                mask
            };
            first += rows;
            if start == next {
                continue;
            }
            let row_group = reader.get_row_group(group)?;
            let mut group_writer = writer.next_row_group()?;
            let mut column = 0;
            while let Some(mut column_writer) = group_writer.next_column()? {
                let max_def = metadata
                    .row_group(group)
                    .column(column)
                    .column_descr()
                    .max_def_level();
                let column_reader = row_group.get_column_reader(column)?;
                copy_column(column_reader, column_writer.untyped(), &mask, max_def)?;
                column_writer.close()?;
                column += 1;
            }
            group_writer.close()?;
        }
        writer.close()?;
        Ok(())
    }
}

/// Copies one column chunk's values at the rows `mask` keeps (flat columns:
/// one definition level per row, a value where it is the maximum).
fn copy_column(
    reader: ColumnReader,
    writer: &mut ColumnWriter<'_>,
    mask: &[bool],
    max_def: i16,
) -> parquet::errors::Result<()> {
    macro_rules! copy {
        ($reader:ident, $writer:ident) => {{
            let mut values = Vec::new();
            let mut defs: Vec<i16> = Vec::new();
            let mut row = 0usize;
            loop {
                values.clear();
                defs.clear();
                let (records, _, _) =
                    $reader.read_records(SLICE_ROWS, Some(&mut defs), None, &mut values)?;
                if records == 0 {
                    break;
                }
                let mut kept_values = Vec::new();
                let mut kept_defs = Vec::new();
                let mut value = 0usize;
                for at in 0..records {
                    let present = max_def == 0 || defs.get(at) == Some(&max_def);
                    if mask.get(row + at).copied().unwrap_or(false) {
                        if max_def > 0 {
                            kept_defs.push(defs[at]);
                        }
                        if present {
                            kept_values.push(values[value].clone());
                        }
                    }
                    if present {
                        value += 1;
                    }
                }
                row += records;
                let defs = (max_def > 0).then_some(kept_defs.as_slice());
                $writer.write_batch(&kept_values, defs, None)?;
            }
        }};
    }
    match (reader, writer) {
        (ColumnReader::BoolColumnReader(mut r), ColumnWriter::BoolColumnWriter(w)) => copy!(r, w),
        (ColumnReader::Int32ColumnReader(mut r), ColumnWriter::Int32ColumnWriter(w)) => copy!(r, w),
        (ColumnReader::Int64ColumnReader(mut r), ColumnWriter::Int64ColumnWriter(w)) => copy!(r, w),
        (ColumnReader::Int96ColumnReader(mut r), ColumnWriter::Int96ColumnWriter(w)) => copy!(r, w),
        (ColumnReader::FloatColumnReader(mut r), ColumnWriter::FloatColumnWriter(w)) => copy!(r, w),
        (ColumnReader::DoubleColumnReader(mut r), ColumnWriter::DoubleColumnWriter(w)) => {
            copy!(r, w);
        }
        (ColumnReader::ByteArrayColumnReader(mut r), ColumnWriter::ByteArrayColumnWriter(w)) => {
            copy!(r, w);
        }
        (
            ColumnReader::FixedLenByteArrayColumnReader(mut r),
            ColumnWriter::FixedLenByteArrayColumnWriter(w),
        ) => copy!(r, w),
        _ => {
            return Err(parquet::errors::ParquetError::General(
                "a column's reader and writer types differ".to_owned(),
            ));
        }
    }
    Ok(())
}
