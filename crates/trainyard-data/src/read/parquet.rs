//! Parquet, streamed by row group: each row group is one chunk, decoded on a worker
//! thread column by column in slices of [`SLICE_ROWS`] rows, so memory is bounded
//! by a slice, not by the file or the row group. Values are rendered as the text
//! the checks read (numbers shortest round-trip, dates `YYYY-MM-DD`, timestamps
//! ISO 8601, `Z` when UTC-adjusted; by logical or converted type: see `Meaning`), nulls stay nulls, except in the columns asked for as numbers
//! ([`super::ReadOptions::numeric_columns`]): their integers, doubles and decimals
//! come as a [`NumberColumn`], and their text is rendered only where a check
//! needs it ([`NumberColumn::text`]). Findings use the 1-based row number as line.
//! A file that cannot be read, or a row group that cannot be decoded, is a
//! finding (`read/bad-parquet`), never a crash.

use std::fmt::Write as _;
use std::fs::File;
use std::sync::Arc;

use parquet::basic::{LogicalType, Type as PhysicalType};
use parquet::column::reader::ColumnReader;
use parquet::data_type::{ByteArray, FixedLenByteArray, Int96};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::schema::types::ColumnDescPtr;
use trainyard_core::manifest::DataFormat;

use super::{
    Batch, Field, FileInfo, InputFile, IssueKind, NullSet, NumberColumn, Numbers, RowIssue,
};

/// Rows decoded at a time (per column), which bounds a worker's memory.
pub(crate) const SLICE_ROWS: usize = 16 * 1024;

/// An open Parquet file, shared by the workers decoding its row groups. Each
/// worker opens its own handle: `File` clones share one cursor, so concurrent
/// reads through one reader would interleave their seeks.
pub(crate) struct ParquetFile {
    path: std::path::PathBuf,
    /// The temporary copy `path` names, for an object in storage: removed
    /// when the last worker is done with the file.
    _copy: Option<Arc<super::source::LocalCopy>>,
    /// The row number (0-based) of each row group's first row.
    first_rows: Vec<u64>,
    /// Per column: read as numbers ([`NumberColumn`]) instead of text.
    numeric: Vec<bool>,
}

impl std::fmt::Debug for ParquetFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetFile")
            .field("row_groups", &self.first_rows.len())
            .finish_non_exhaustive()
    }
}

/// Opens a file: its columns (flat schemas only) and row groups. The columns
/// named in `numeric_columns` whose values are integers, doubles or decimals will
/// be read as numbers.
pub(super) fn open(
    index: u32,
    input: &InputFile,
    copy: Option<Arc<super::source::LocalCopy>>,
    numeric_columns: &[String],
) -> (Arc<FileInfo>, Result<Arc<ParquetFile>, String>) {
    let path = copy
        .as_ref()
        .map_or_else(|| input.path.clone(), |copy| copy.path().to_path_buf());
    let mut info = FileInfo {
        index,
        display: input.display.clone(),
        format: DataFormat::Parquet,
        columns: Vec::new(),
        header_line: None,
        nulls: NullSet::new::<&str>(&[]),
    };
    let opened = File::open(&path)
        .map_err(|error| error.to_string())
        .and_then(|file| {
            let length = file.metadata().map_or(u64::MAX, |m| m.len());
            guarded(|| SerializedFileReader::new(file))
                .and_then(|reader| check_ranges(&reader, length).map(|()| reader))
        });
    let reader = match opened {
        Ok(reader) => reader,
        Err(error) => {
            return (
                Arc::new(info),
                Err(format!("not a readable Parquet file: {error}")),
            );
        }
    };
    let schema = reader.metadata().file_metadata().schema_descr_ptr();
    if let Some(nested) = schema
        .columns()
        .iter()
        .find(|c| c.max_rep_level() > 0 || c.path().parts().len() > 1)
    {
        return (
            Arc::new(info),
            Err(format!(
                "column `{}` is nested (lists, maps and structs are not supported)",
                nested.path()
            )),
        );
    }
    info.columns = schema
        .columns()
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    // Checks find a column by its first occurrence: a repeated name stays text.
    let wanted: std::collections::HashSet<&str> =
        numeric_columns.iter().map(String::as_str).collect();
    let mut seen = std::collections::HashSet::new();
    let numeric = schema
        .columns()
        .iter()
        .map(|c| {
            let first = seen.insert(c.name());
            wanted.contains(c.name()) && number_form(c).is_some() && first
        })
        .collect();
    let mut first_rows = Vec::new();
    let mut row = 0u64;
    for group in reader.metadata().row_groups() {
        first_rows.push(row);
        row += u64::try_from(group.num_rows()).unwrap_or(0);
    }
    (
        Arc::new(info),
        Ok(Arc::new(ParquetFile {
            path,
            _copy: copy,
            first_rows,
            numeric,
        })),
    )
}

impl ParquetFile {
    pub(crate) fn row_groups(&self) -> usize {
        self.first_rows.len()
    }
}

/// Decodes row group `group`, calling `each` with batches of at most [`SLICE_ROWS`] rows.
pub(crate) fn decode(
    file: &Arc<FileInfo>,
    parquet: &ParquetFile,
    group: usize,
    each: &mut dyn FnMut(Batch),
) {
    let first_line = parquet.first_rows[group] + 1;
    if let Err(error) = decode_group(file, parquet, group, first_line, each) {
        each(Batch {
            file: Arc::clone(file),
            bytes: Vec::new(),
            fields: Vec::new(),
            lines: Vec::new(),
            columns: file.columns.len(),
            rows_read: 0,
            issues: vec![RowIssue {
                line: first_line,
                column: None,
                kind: IssueKind::Parquet(format!("row group {group}: {error}")),
            }],
            numbers: Vec::new(),
        });
    }
}

/// Runs a call into the Parquet decoder, whose checks on a damaged file are
/// sometimes assertions: a panic becomes the error it should have been (a
/// `read/bad-parquet` finding), not the end of the process. A cold path: once
/// per file opened and per row group.
fn guarded<T, E: std::fmt::Display>(call: impl FnOnce() -> Result<T, E>) -> Result<T, String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(call)) {
        Ok(result) => result.map_err(|error| error.to_string()),
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|text| (*text).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "the decoder failed".to_owned());
            Err(format!("damaged file ({message})"))
        }
    }
}

/// The byte range of every column chunk is inside the file (the decoder asserts
/// they are not negative, and reads past the end of the file otherwise).
fn check_ranges(reader: &SerializedFileReader<File>, length: u64) -> Result<(), String> {
    for (group, metadata) in reader.metadata().row_groups().iter().enumerate() {
        if metadata.num_rows() < 0 {
            return Err(format!(
                "row group {group} has a negative row count ({})",
                metadata.num_rows()
            ));
        }
        for column in metadata.columns() {
            let start = column
                .dictionary_page_offset()
                .unwrap_or_else(|| column.data_page_offset());
            let size = column.compressed_size();
            let inside = u64::try_from(start)
                .ok()
                .zip(u64::try_from(size).ok())
                .and_then(|(start, size)| start.checked_add(size))
                .is_some_and(|end| end <= length);
            if !inside {
                return Err(format!(
                    "row group {group}, column `{}`: its bytes ({size} from offset {start}) are not inside the file ({length} bytes)",
                    column.column_path()
                ));
            }
        }
    }
    Ok(())
}

fn decode_group(
    file: &Arc<FileInfo>,
    parquet: &ParquetFile,
    group: usize,
    first_line: u64,
    each: &mut dyn FnMut(Batch),
) -> Result<(), parquet::errors::ParquetError> {
    use parquet::errors::ParquetError;
    let damaged = ParquetError::General;
    let handle =
        File::open(&parquet.path).map_err(|error| ParquetError::External(Box::new(error)))?;
    let own = guarded(|| SerializedFileReader::new(handle)).map_err(damaged)?;
    let reader = guarded(|| own.get_row_group(group)).map_err(damaged)?;
    let rows = usize::try_from(reader.metadata().num_rows()).unwrap_or(0);
    let width = file.columns.len();
    if reader.num_columns() != width {
        return Err(damaged(format!(
            "{} columns where the file has {width}",
            reader.num_columns()
        )));
    }
    let mut columns = Vec::with_capacity(width);
    for index in 0..width {
        let descr = reader.metadata().column(index).column_descr_ptr();
        columns.push((
            guarded(|| reader.get_column_reader(index)).map_err(damaged)?,
            descr,
        ));
    }
    let mut done = 0;
    let mut levels: Vec<i16> = Vec::new();
    let mut cells: Vec<Field> = Vec::with_capacity(SLICE_ROWS);
    while done < rows {
        let take = SLICE_ROWS.min(rows - done);
        let mut bytes = Vec::with_capacity(take * width * 8);
        // Row-major, as batches are: each text column's cells are put in place;
        // the columns read as numbers keep null placeholders.
        let mut fields = vec![Field::NULL; take * width];
        let mut numbers = Vec::new();
        for (index, (reader, descr)) in columns.iter_mut().enumerate() {
            levels.clear();
            let form = number_form(descr).filter(|_| parquet.numeric[index]);
            let read = if let Some(form) = form {
                let (values, present, read) =
                    guarded(|| read_numbers(reader, descr, form, take, &mut levels))
                        .map_err(damaged)?;
                numbers.push(NumberColumn {
                    column: index,
                    values,
                    present,
                });
                read
            } else {
                cells.clear();
                guarded(|| read_column(reader, descr, take, &mut levels, &mut bytes, &mut cells))
                    .map_err(damaged)?;
                for (slot, cell) in fields.iter_mut().skip(index).step_by(width).zip(&cells) {
                    *slot = *cell;
                }
                cells.len()
            };
            if read != take {
                return Err(parquet::errors::ParquetError::General(format!(
                    "column `{}` has {read} values where the row group has {take} more rows",
                    descr.name(),
                )));
            }
        }
        let start = first_line + done as u64;
        each(Batch {
            file: Arc::clone(file),
            bytes,
            fields,
            lines: (start..start + take as u64).collect(),
            columns: width,
            rows_read: take as u64,
            issues: Vec::new(),
            numbers,
        });
        done += take;
    }
    Ok(())
}

/// How a column's values are read as numbers; `None` for the columns read as text
/// (dates, timestamps, floats: a float's shortest text is not a double's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NumberForm {
    Integers,
    Doubles,
    /// Decimals with this many digits after the point (>= 1).
    Decimals(u32),
}

fn number_form(descr: &ColumnDescPtr) -> Option<NumberForm> {
    let decimal = |scale: i32| match u32::try_from(scale) {
        // Shown as the unscaled integer's digits, as integers are.
        Ok(0) | Err(_) => NumberForm::Integers,
        Ok(scale) => NumberForm::Decimals(scale),
    };
    match (descr.physical_type(), meaning(descr)) {
        (PhysicalType::INT32 | PhysicalType::INT64, Meaning::Plain) => Some(NumberForm::Integers),
        (PhysicalType::INT32 | PhysicalType::INT64, Meaning::Decimal(scale)) => {
            Some(decimal(scale))
        }
        (PhysicalType::DOUBLE, _) => Some(NumberForm::Doubles),
        // Dates, times, timestamps and unsigned integers are read as their text.
        _ => None,
    }
}

/// What a column's stored values mean: its logical type, or for files that
/// write only the older converted type (DuckDB's dates, for one), that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Meaning {
    Plain,
    /// Days since 1970-01-01.
    Date,
    /// Units per second since midnight.
    Time(i64),
    /// Units per second since 1970-01-01; `utc`: an instant (written with `Z`),
    /// otherwise a local date and time (written without an offset).
    Timestamp {
        per_second: i64,
        utc: bool,
    },
    /// Digits after the point of the unscaled integer.
    Decimal(i32),
    /// An unsigned integer stored in a signed one's bits.
    Unsigned,
}

fn meaning(descr: &ColumnDescPtr) -> Meaning {
    use parquet::basic::{ConvertedType, TimeUnit};
    let per_second = |unit: &TimeUnit| match unit {
        TimeUnit::MILLIS => 1_000,
        TimeUnit::MICROS => 1_000_000,
        TimeUnit::NANOS => 1_000_000_000,
    };
    match descr.logical_type_ref() {
        Some(LogicalType::Date) => return Meaning::Date,
        Some(LogicalType::Time(time)) => return Meaning::Time(per_second(&time.unit)),
        Some(LogicalType::Timestamp(timestamp)) => {
            return Meaning::Timestamp {
                per_second: per_second(&timestamp.unit),
                utc: timestamp.is_adjusted_to_u_t_c,
            };
        }
        Some(LogicalType::Decimal(_)) => return Meaning::Decimal(descr.type_scale()),
        Some(LogicalType::Integer(integer)) if !integer.is_signed => return Meaning::Unsigned,
        Some(_) => return Meaning::Plain,
        None => {}
    }
    // Converted types predate the UTC flag: their timestamps are instants.
    match descr.converted_type() {
        ConvertedType::DATE => Meaning::Date,
        ConvertedType::TIME_MILLIS => Meaning::Time(1_000),
        ConvertedType::TIME_MICROS => Meaning::Time(1_000_000),
        ConvertedType::TIMESTAMP_MILLIS => Meaning::Timestamp {
            per_second: 1_000,
            utc: true,
        },
        ConvertedType::TIMESTAMP_MICROS => Meaning::Timestamp {
            per_second: 1_000_000,
            utc: true,
        },
        ConvertedType::DECIMAL => Meaning::Decimal(descr.type_scale()),
        ConvertedType::UINT_8
        | ConvertedType::UINT_16
        | ConvertedType::UINT_32
        | ConvertedType::UINT_64 => Meaning::Unsigned,
        _ => Meaning::Plain,
    }
}

/// Reads `take` records of a column as numbers: the values, one per record (0
/// where null), which are present (empty when all are), and the records read.
fn read_numbers(
    reader: &mut ColumnReader,
    descr: &ColumnDescPtr,
    form: NumberForm,
    take: usize,
    levels: &mut Vec<i16>,
) -> Result<(Numbers, Vec<bool>, usize), parquet::errors::ParquetError> {
    let max_def = descr.max_def_level();
    let defs = if max_def > 0 {
        Some(&mut *levels)
    } else {
        None
    };
    let (mut integers, mut doubles) = (Vec::new(), Vec::new());
    let (records, count) = match reader {
        ColumnReader::Int32ColumnReader(typed) => {
            let mut values: Vec<i32> = Vec::with_capacity(take);
            let (records, count, _) = typed.read_records(take, defs, None, &mut values)?;
            integers = values.into_iter().map(i64::from).collect();
            (records, count)
        }
        ColumnReader::Int64ColumnReader(typed) => {
            integers.reserve(take);
            let (records, count, _) = typed.read_records(take, defs, None, &mut integers)?;
            (records, count)
        }
        ColumnReader::DoubleColumnReader(typed) => {
            doubles.reserve(take);
            let (records, count, _) = typed.read_records(take, defs, None, &mut doubles)?;
            (records, count)
        }
        _ => {
            return Err(parquet::errors::ParquetError::General(format!(
                "column `{}` cannot be read as numbers",
                descr.name()
            )));
        }
    };
    let present = if max_def > 0 && count < records {
        let levels = levels.get(..records).ok_or_else(|| {
            parquet::errors::ParquetError::General(format!(
                "column `{}` has fewer levels than records",
                descr.name()
            ))
        })?;
        let present: Vec<bool> = levels.iter().map(|&l| l == max_def).collect();
        if form == NumberForm::Doubles {
            spread(&mut doubles, &present);
        } else {
            spread(&mut integers, &present);
        }
        present
    } else {
        Vec::new()
    };
    let values_read = if form == NumberForm::Doubles {
        doubles.len()
    } else {
        integers.len()
    };
    if values_read != records {
        // One value (or placeholder) per row, which the checks index by row.
        return Err(parquet::errors::ParquetError::General(format!(
            "column `{}` has {values_read} values for {records} rows",
            descr.name()
        )));
    }
    let values = match form {
        NumberForm::Integers => Numbers::Integers(integers),
        NumberForm::Doubles => Numbers::Doubles(doubles),
        NumberForm::Decimals(scale) => Numbers::Decimals {
            unscaled: integers,
            scale,
        },
    };
    Ok((values, present, records))
}

/// Moves the non-null values (packed at the front) to their rows, 0 elsewhere.
fn spread<T: Copy + Default>(values: &mut Vec<T>, present: &[bool]) {
    let mut next = values.len();
    values.resize(present.len(), T::default());
    // Backwards, so a value is read before its slot is written (`next` <= `row`).
    for (row, &here) in present.iter().enumerate().rev() {
        if here && next > 0 {
            next -= 1;
            values[row] = values[next];
        } else {
            values[row] = T::default();
        }
    }
}

impl NumberColumn {
    /// Rows in the column.
    pub fn len(&self) -> usize {
        match &self.values {
            Numbers::Integers(values) => values.len(),
            Numbers::Doubles(values) => values.len(),
            Numbers::Decimals { unscaled, .. } => unscaled.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the value at `row` is not null.
    #[inline]
    pub fn is_present(&self, row: usize) -> bool {
        self.present.get(row).is_none_or(|&present| present)
    }

    /// Appends the value at `row` as the text the reader gives such values in
    /// other columns (what a CSV of the same data holds).
    pub fn text(&self, row: usize, out: &mut Vec<u8>) {
        match &self.values {
            Numbers::Integers(values) => push_integer(out, values[row]),
            Numbers::Doubles(values) => push_display(out, &values[row]),
            Numbers::Decimals { unscaled, scale } => {
                push_decimal(
                    out,
                    i128::from(unscaled[row]),
                    i32::try_from(*scale).unwrap_or(0),
                );
            }
        }
    }

    /// Appends the rows of another slice of the same column.
    pub(super) fn append(&mut self, other: Self) {
        let rows = self.len();
        let other_rows = other.len();
        if !self.present.is_empty() || !other.present.is_empty() {
            if self.present.is_empty() {
                self.present = vec![true; rows];
            }
            if other.present.is_empty() {
                self.present.resize(rows + other_rows, true);
            } else {
                self.present.extend(other.present);
            }
        }
        match (&mut self.values, other.values) {
            (Numbers::Integers(mine), Numbers::Integers(theirs))
            | (
                Numbers::Decimals { unscaled: mine, .. },
                Numbers::Decimals {
                    unscaled: theirs, ..
                },
            ) => mine.extend(theirs),
            (Numbers::Doubles(mine), Numbers::Doubles(theirs)) => mine.extend(theirs),
            _ => {}
        }
    }
}

/// Reads `take` records of one column as text cells appended to `bytes`.
#[allow(clippy::too_many_lines)] // one arm per physical and logical type
fn read_column(
    reader: &mut ColumnReader,
    descr: &ColumnDescPtr,
    take: usize,
    levels: &mut Vec<i16>,
    bytes: &mut Vec<u8>,
    cells: &mut Vec<Field>,
) -> Result<(), parquet::errors::ParquetError> {
    let max_def = descr.max_def_level();
    let meaning = meaning(descr);
    macro_rules! read {
        ($typed:expr, $values:ty, $render:expr) => {{
            let mut values: Vec<$values> = Vec::with_capacity(take);
            let defs = if max_def > 0 {
                Some(&mut *levels)
            } else {
                None
            };
            let (records, _, _) = $typed.read_records(take, defs, None, &mut values)?;
            let mut next = values.iter();
            for record in 0..records {
                let present = max_def == 0 || levels.get(record) == Some(&max_def);
                if !present {
                    cells.push(Field::NULL);
                    continue;
                }
                let Some(value) = next.next() else {
                    cells.push(Field::NULL);
                    continue;
                };
                let start = bytes.len();
                #[allow(clippy::redundant_closure_call)]
                ($render)(value, &mut *bytes);
                cells.push(Field::new(start, bytes.len()));
            }
        }};
    }
    match reader {
        ColumnReader::BoolColumnReader(typed) => {
            read!(typed, bool, |v: &bool, out: &mut Vec<u8>| out
                .extend_from_slice(if *v { b"true" } else { b"false" }));
        }
        ColumnReader::Int32ColumnReader(typed) => match meaning {
            Meaning::Date => {
                read!(typed, i32, |v: &i32, out: &mut Vec<u8>| push_date(
                    out,
                    i64::from(*v)
                ));
            }
            Meaning::Time(per_second) => {
                read!(typed, i32, |v: &i32, out: &mut Vec<u8>| push_time(
                    out,
                    i64::from(*v),
                    per_second
                ));
            }
            Meaning::Decimal(scale) => {
                read!(typed, i32, |v: &i32, out: &mut Vec<u8>| push_decimal(
                    out,
                    i128::from(*v),
                    scale
                ));
            }
            Meaning::Unsigned => {
                #[allow(clippy::cast_sign_loss)] // the bits are an unsigned integer's
                let unsigned = |v: &i32, out: &mut Vec<u8>| push_display(out, &(*v as u32));
                read!(typed, i32, unsigned);
            }
            _ => read!(typed, i32, |v: &i32, out: &mut Vec<u8>| push_integer(
                out,
                i64::from(*v)
            )),
        },
        ColumnReader::Int64ColumnReader(typed) => match meaning {
            Meaning::Timestamp { per_second, utc } => {
                read!(typed, i64, |v: &i64, out: &mut Vec<u8>| push_timestamp(
                    out, *v, per_second, utc
                ));
            }
            Meaning::Time(per_second) => {
                read!(typed, i64, |v: &i64, out: &mut Vec<u8>| push_time(
                    out, *v, per_second
                ));
            }
            Meaning::Decimal(scale) => {
                read!(typed, i64, |v: &i64, out: &mut Vec<u8>| push_decimal(
                    out,
                    i128::from(*v),
                    scale
                ));
            }
            Meaning::Unsigned => {
                #[allow(clippy::cast_sign_loss)] // the bits are an unsigned integer's
                let unsigned = |v: &i64, out: &mut Vec<u8>| push_display(out, &(*v as u64));
                read!(typed, i64, unsigned);
            }
            _ => read!(typed, i64, |v: &i64, out: &mut Vec<u8>| push_integer(
                out, *v
            )),
        },
        ColumnReader::Int96ColumnReader(typed) => {
            read!(typed, Int96, |v: &Int96, out: &mut Vec<u8>| {
                // Impala's and Spark's timestamps: instants, in nanoseconds.
                push_timestamp(out, v.to_nanos(), 1_000_000_000, true);
            });
        }
        ColumnReader::FloatColumnReader(typed) => {
            read!(typed, f32, |v: &f32, out: &mut Vec<u8>| push_display(
                out, v
            ));
        }
        ColumnReader::DoubleColumnReader(typed) => {
            read!(typed, f64, |v: &f64, out: &mut Vec<u8>| push_display(
                out, v
            ));
        }
        ColumnReader::ByteArrayColumnReader(typed) => {
            if let Meaning::Decimal(scale) = meaning {
                read!(typed, ByteArray, |v: &ByteArray, out: &mut Vec<u8>| {
                    push_big_endian_decimal(out, v.data(), scale);
                });
            } else {
                // Dictionary-encoded or plain, the decoder gives the strings.
                read!(typed, ByteArray, |v: &ByteArray, out: &mut Vec<u8>| out
                    .extend_from_slice(v.data()));
            }
        }
        ColumnReader::FixedLenByteArrayColumnReader(typed) => {
            if let Meaning::Decimal(scale) = meaning {
                // pyarrow's decimals.
                read!(
                    typed,
                    FixedLenByteArray,
                    |v: &FixedLenByteArray, out: &mut Vec<u8>| {
                        push_big_endian_decimal(out, v.data(), scale);
                    }
                );
            } else {
                read!(
                    typed,
                    FixedLenByteArray,
                    |v: &FixedLenByteArray, out: &mut Vec<u8>| {
                        for byte in v.data() {
                            let _ = write!(Hex(out), "{byte:02x}");
                        }
                    }
                );
            }
        }
    }
    Ok(())
}

/// `fmt::Write` into a byte vector.
struct Hex<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Hex<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// An integer's digits, as `Display` writes them (without its formatting machinery).
pub(crate) fn push_integer(out: &mut Vec<u8>, value: i64) {
    out.extend_from_slice(integer_text(value, &mut [0; 20]));
}

/// An integer's text, as `Display` writes it, in `buffer` (`i64::MIN` takes all 20 bytes).
#[inline]
pub fn integer_text(value: i64, buffer: &mut [u8; 20]) -> &[u8] {
    let mut at = buffer.len();
    let mut rest = value.unsigned_abs();
    loop {
        at -= 1;
        buffer[at] = b'0' + u8::try_from(rest % 10).unwrap_or(0);
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if value < 0 {
        at -= 1;
        buffer[at] = b'-';
    }
    &buffer[at..]
}

fn push_display(out: &mut Vec<u8>, value: &impl std::fmt::Display) {
    let _ = write!(Hex(out), "{value}");
}

fn push_decimal(out: &mut Vec<u8>, unscaled: i128, scale: i32) {
    if scale <= 0 {
        push_display(out, &unscaled);
        return;
    }
    let divisor = 10i128.pow(scale.unsigned_abs());
    let sign = if unscaled < 0 { "-" } else { "" };
    let magnitude = unscaled.unsigned_abs();
    let divisor = divisor.unsigned_abs();
    let _ = write!(
        Hex(out),
        "{sign}{}.{:0width$}",
        magnitude / divisor,
        magnitude % divisor,
        width = scale.unsigned_abs() as usize
    );
}

/// Days since 1970-01-01 as `YYYY-MM-DD` (proleptic Gregorian; Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn push_date(out: &mut Vec<u8>, days: i64) {
    let (year, month, day) = civil(days);
    match u32::try_from(year) {
        Ok(year) if year <= 9999 => {
            let two = |n: u32| [b'0' + (n / 10 % 10) as u8, b'0' + (n % 10) as u8];
            let (high, low) = (two(year / 100), two(year % 100));
            let (month, day) = (two(month), two(day));
            out.extend_from_slice(&[
                high[0], high[1], low[0], low[1], b'-', month[0], month[1], b'-', day[0], day[1],
            ]);
        }
        _ => {
            let _ = write!(Hex(out), "{year:04}-{month:02}-{day:02}");
        }
    }
}

/// A decimal stored as a big-endian two's complement integer (up to 16 bytes;
/// longer ones are written as their hex bytes, which no check reads as a number).
fn push_big_endian_decimal(out: &mut Vec<u8>, bytes: &[u8], scale: i32) {
    if bytes.is_empty() || bytes.len() > 16 {
        for byte in bytes {
            let _ = write!(Hex(out), "{byte:02x}");
        }
        return;
    }
    let negative = bytes[0] & 0x80 != 0;
    let mut wide = [if negative { 0xff } else { 0 }; 16];
    wide[16 - bytes.len()..].copy_from_slice(bytes);
    push_decimal(out, i128::from_be_bytes(wide), scale);
}

/// Time of day `HH:MM:SS[.fraction]`.
fn push_time(out: &mut Vec<u8>, value: i64, per_second: i64) {
    let seconds = value.div_euclid(per_second).rem_euclid(86_400);
    let fraction = value.rem_euclid(per_second);
    let _ = write!(
        Hex(out),
        "{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds % 3600 / 60,
        seconds % 60
    );
    if fraction != 0 {
        let digits = per_second.ilog10() as usize;
        let _ = write!(Hex(out), ".{fraction:0digits$}");
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction]`, with `Z` for an instant (`utc`).
fn push_timestamp(out: &mut Vec<u8>, value: i64, per_second: i64, utc: bool) {
    let seconds = value.div_euclid(per_second);
    let fraction = value.rem_euclid(per_second);
    let (days, in_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    push_date(out, days);
    let _ = write!(
        Hex(out),
        "T{:02}:{:02}:{:02}",
        in_day / 3600,
        in_day % 3600 / 60,
        in_day % 60
    );
    if fraction != 0 {
        let digits = per_second.ilog10() as usize;
        let _ = write!(Hex(out), ".{fraction:0digits$}");
    }
    if utc {
        out.push(b'Z');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_timestamps_render_as_iso() {
        let mut out = Vec::new();
        push_date(&mut out, 19_723);
        assert_eq!(out, b"2024-01-01");
        out.clear();
        push_date(&mut out, -1);
        assert_eq!(out, b"1969-12-31");
        out.clear();
        push_timestamp(&mut out, 1_704_067_200_123, 1_000, true);
        assert_eq!(out, b"2024-01-01T00:00:00.123Z");
        out.clear();
        push_timestamp(&mut out, 1_704_067_200_123_456, 1_000_000, false);
        assert_eq!(out, b"2024-01-01T00:00:00.123456");
        out.clear();
        push_time(&mut out, 45_296_789, 1_000);
        assert_eq!(out, b"12:34:56.789");
        out.clear();
        push_big_endian_decimal(&mut out, &[0xff, 0xff, 0xff, 0xfb, 0x2e], 2);
        assert_eq!(out, b"-12.34");
        out.clear();
        push_big_endian_decimal(&mut out, &[0x00, 0x00, 0x00, 0x04, 0xd2], 2);
        assert_eq!(out, b"12.34");
        out.clear();
        push_decimal(&mut out, -12_345, 2);
        assert_eq!(out, b"-123.45");
    }

    #[test]
    fn texts_written_by_hand_are_the_formatted_ones() {
        let mut out = Vec::new();
        // Years 0 to 9999 by hand, the others through `write!`.
        for days in (-800_000..3_000_000)
            .step_by(997)
            .chain([-719_528, 2_932_896])
        {
            out.clear();
            push_date(&mut out, days);
            let (year, month, day) = civil(days);
            assert_eq!(out, format!("{year:04}-{month:02}-{day:02}").as_bytes());
        }
        let mut buffer = [0; 20];
        for value in [0, 7, -7, 10, -10, 1 << 53, i64::MAX, i64::MIN, i64::MIN + 1] {
            assert_eq!(
                integer_text(value, &mut buffer),
                value.to_string().as_bytes()
            );
        }
    }
}
