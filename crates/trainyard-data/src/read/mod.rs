//! Streaming readers: CSV (RFC 4180), JSON Lines and Parquet, from a file, a glob or a
//! folder of partitions, plain or `.gz` / `.zst`.
//!
//! A dataset is read as a sequence of [`Chunk`]s of about [`ReadOptions::chunk_size`]
//! bytes that each end on a record boundary, so chunks can be parsed and checked in
//! parallel while memory stays flat. Parsing a chunk gives a [`Batch`]: the fields of
//! its well-formed rows as byte ranges, and every row's physical line number. A
//! malformed row (ragged, bad quoting, bad UTF-8, bad JSON) becomes a [`RowIssue`],
//! never an error.

mod csv;
mod jsonl;
mod parquet;
pub(crate) mod source;

pub use parquet::integer_text;
pub use source::ByteSource;

use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use trainyard_core::StepError;

use crate::check::{WordTable, short_word};
use trainyard_core::manifest::DataFormat;
use trainyard_core::manifest::data::{CsvOptions, DEFAULT_NULL_VALUES};

/// How to read a dataset.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// The format; guessed from each file's extension when `None`.
    pub format: Option<DataFormat>,
    pub csv: CsvOptions,
    /// Target bytes per chunk; a chunk grows past it only to finish a record.
    pub chunk_size: usize,
    /// Read only this shard's chunks (see [`Shard`]).
    pub shard: Option<Shard>,
    /// Columns (by name) whose Parquet integers, doubles and decimals are handed
    /// over as numbers, without text ([`Batch::numbers`]). `None`: validation
    /// picks the columns it reads as numbers only, so they are not rendered as
    /// text and parsed back (`Some(vec![])` reads every column as text).
    pub numeric_columns: Option<Vec<String>>,
}

/// Shard `index` of `count` (0-based): the chunks whose position in the dataset's
/// chunk sequence is `index` modulo `count`. Chunk boundaries depend only on the
/// bytes and [`ReadOptions::chunk_size`], so `count` runners together cover every
/// row exactly once, whatever their thread counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Parses `i/n` with `1 <= i <= n` (1-based, as CI matrices count).
    pub fn parse(text: &str) -> Result<Self, String> {
        let usage =
            || format!("`{text}` is not a shard: expected `i/n` with 1 <= i <= n, e.g. `2/4`");
        let (i, n) = text.split_once('/').ok_or_else(usage)?;
        let (i, n): (u32, u32) = (
            i.trim().parse().map_err(|_| usage())?,
            n.trim().parse().map_err(|_| usage())?,
        );
        if i == 0 || n == 0 || i > n {
            return Err(usage());
        }
        Ok(Self {
            index: i - 1,
            count: n,
        })
    }

    /// Whether the chunk at this position of the sequence belongs to the shard.
    pub fn keeps(self, position: usize) -> bool {
        position % self.count as usize == self.index as usize
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index + 1, self.count)
    }
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            format: None,
            csv: CsvOptions::default(),
            chunk_size: 4 << 20,
            shard: None,
            numeric_columns: None,
        }
    }
}

/// One input file: its name as shown in findings and its columns.
#[derive(Debug, Clone, PartialEq)]
pub struct FileInfo {
    /// Position in the dataset's file list (sorted), used to order findings.
    pub index: u32,
    /// The path as shown in findings (relative to the base folder when possible).
    pub display: String,
    pub format: DataFormat,
    /// Column names in file order (the header row, the first JSON object's keys).
    pub columns: Vec<String>,
    /// Line of the header row, for findings about columns (`None` without a header).
    pub header_line: Option<u64>,
    pub(crate) nulls: NullSet,
}

/// A piece of one file that ends on a record boundary.
#[derive(Debug)]
pub struct Chunk {
    pub file: Arc<FileInfo>,
    pub data: Vec<u8>,
    /// The physical line (1-based) of the chunk's first byte.
    pub start_line: u64,
    pub(crate) delimiter: u8,
    pub(crate) quote: u8,
    pub(crate) source: Source,
}

/// What a chunk's rows come from.
#[derive(Debug)]
pub(crate) enum Source {
    /// `data` holds CSV or JSON Lines text.
    Text,
    /// A row group of a Parquet file, decoded by the worker that parses the chunk.
    Parquet(Arc<parquet::ParquetFile>, usize),
    /// A file that could not be opened as its format: one issue, no rows.
    Broken(String),
}

/// A field: a byte range of [`Batch::bytes`], or null (JSON `null`, a missing key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    start: u32,
    end: u32,
}

impl Field {
    pub const NULL: Self = Self {
        start: u32::MAX,
        end: u32::MAX,
    };

    pub(crate) fn new(start: usize, end: usize) -> Self {
        Self {
            start: u32::try_from(start).unwrap_or(u32::MAX - 1),
            end: u32::try_from(end).unwrap_or(u32::MAX - 1),
        }
    }

    /// The field's bytes, or `None` for an explicit null.
    pub fn get<'a>(&self, bytes: &'a [u8]) -> Option<&'a [u8]> {
        if self.start == u32::MAX {
            None
        } else {
            bytes.get(self.start as usize..self.end as usize)
        }
    }
}

/// The parsed rows of one chunk: fields row-major, `columns` per row.
#[derive(Debug)]
pub struct Batch {
    pub file: Arc<FileInfo>,
    pub bytes: Vec<u8>,
    pub fields: Vec<Field>,
    /// The physical line where each row starts.
    pub lines: Vec<u64>,
    pub columns: usize,
    /// Rows read, malformed ones included.
    pub rows_read: u64,
    pub issues: Vec<RowIssue>,
    /// Columns read as numbers (see [`ReadOptions::numeric_columns`]); their
    /// `fields` are null placeholders.
    pub numbers: Vec<NumberColumn>,
}

/// One column of a [`Batch`] read as numbers: a value per row.
#[derive(Debug, Clone, PartialEq)]
pub struct NumberColumn {
    /// The column's index in the row.
    pub column: usize,
    pub values: Numbers,
    /// `false` where the row's value is null (its slot in `values` is 0); empty
    /// when no value is null.
    pub present: Vec<bool>,
}

/// The values of a [`NumberColumn`], as the file stores them. Their text, where
/// a check needs it, is the one the reader gives other columns of the same type.
#[derive(Debug, Clone, PartialEq)]
pub enum Numbers {
    /// Whole numbers; their text is their digits.
    Integers(Vec<i64>),
    /// Doubles; their text is the shortest that reads back the same (`Display`).
    Doubles(Vec<f64>),
    /// Decimals `unscaled / 10^scale` (`scale` >= 1); text with `scale` decimals.
    Decimals { unscaled: Vec<i64>, scale: u32 },
}

impl Batch {
    pub fn rows(&self) -> usize {
        self.lines.len()
    }

    /// The field at `row`, `column`, or `None` for an explicit null.
    pub fn field(&self, row: usize, column: usize) -> Option<&[u8]> {
        self.fields[row * self.columns + column].get(&self.bytes)
    }
}

/// A row that could not be read as a row of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowIssue {
    pub line: u64,
    /// 1-based field index, when the problem is in one field.
    pub column: Option<u32>,
    pub kind: IssueKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssueKind {
    /// The row has a different number of fields than the header.
    Ragged { expected: usize, found: usize },
    /// A quoted field is never closed.
    UnclosedQuote,
    /// A field is not valid UTF-8.
    NotUtf8,
    /// A JSON Lines row is not a JSON object; the parser's message.
    Json(String),
    /// A Parquet file or row group that cannot be decoded; the reader's message.
    Parquet(String),
}

impl IssueKind {
    /// The rule id of the finding.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::Ragged { .. } => "read/ragged-row",
            Self::UnclosedQuote => "read/unclosed-quote",
            Self::NotUtf8 => "read/not-utf8",
            Self::Json(_) => "read/bad-json",
            Self::Parquet(_) => "read/bad-parquet",
        }
    }
}

impl fmt::Display for IssueKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ragged { expected, found } => {
                write!(f, "row has {found} fields, the header has {expected}")
            }
            Self::UnclosedQuote => f.write_str("a quoted field is never closed"),
            Self::NotUtf8 => f.write_str("field is not valid UTF-8"),
            Self::Json(message) => write!(f, "not a JSON object: {message}"),
            Self::Parquet(message) => f.write_str(message),
        }
    }
}

/// The set of field values read as null, tested without allocating.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NullSet {
    /// Null values of up to 7 bytes as [`crate::check::short_word`]s in a
    /// collision-free table: one word compare per field, no `memcmp` call.
    words: WordTable,
    /// Longer null values (and short ones, should no table spread them).
    longer: Vec<Vec<u8>>,
    /// Bit `n` set when a null value is `n` bytes long (`n` < 64): most fields are
    /// rejected by their length alone.
    lengths: u64,
    /// Some null value is 64 bytes or longer.
    long: bool,
}

impl Default for NullSet {
    fn default() -> Self {
        Self::new::<&str>(&[])
    }
}

impl NullSet {
    pub(crate) fn new<S: AsRef<str>>(values: &[S]) -> Self {
        let values: Vec<&[u8]> = values
            .iter()
            .map(|value| value.as_ref().as_bytes())
            .collect();
        let short: Vec<u64> = values
            .iter()
            .filter_map(|value| short_word(value))
            .collect();
        let table = WordTable::new(&short);
        let in_table = |value: &[u8]| table.is_some() && short_word(value).is_some();
        let longer = values
            .iter()
            .filter(|value| !in_table(value))
            .map(|value| value.to_vec())
            .collect();
        Self {
            words: table.unwrap_or_default(),
            longer,
            lengths: values
                .iter()
                .filter(|value| value.len() < 64)
                .fold(0, |mask, value| mask | (1 << value.len())),
            long: values.iter().any(|value| value.len() >= 64),
        }
    }

    #[inline]
    pub(crate) fn contains(&self, field: &[u8]) -> bool {
        let possible = if field.len() < 64 {
            self.lengths & (1 << field.len()) != 0
        } else {
            self.long
        };
        if !possible {
            return false;
        }
        if let Some(word) = short_word(field)
            && self.words.contains(word)
        {
            return true;
        }
        !self.longer.is_empty() && self.longer_contains(field)
    }

    /// Out of line, so the word test above stays small enough to inline.
    #[inline(never)]
    fn longer_contains(&self, field: &[u8]) -> bool {
        self.longer.iter().any(|value| value.as_slice() == field)
    }
}

/// One input file: a local file found by [`resolve`], or an object some
/// [`ByteSource`] streams (a dataset in object storage).
#[derive(Debug, Clone)]
pub struct InputFile {
    /// The local file; for a [`ByteSource`], its name as a path (the format and
    /// compression come from its extension either way).
    pub path: PathBuf,
    /// The name findings show: relative to the base folder, or the object's URL.
    pub display: String,
    /// Where the bytes come from when they are not the local file at `path`.
    pub source: Option<Arc<dyn ByteSource>>,
}

impl InputFile {
    /// A local file, shown in findings as `display`.
    pub fn local(path: impl Into<PathBuf>, display: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            display: display.into(),
            source: None,
        }
    }

    /// Bytes from a source (an object in storage), shown by its name.
    pub fn from_source(source: Arc<dyn ByteSource>) -> Self {
        Self {
            path: PathBuf::from(source.name()),
            display: source.name().to_owned(),
            source: Some(source),
        }
    }

    /// A fresh stream of the raw (still compressed) bytes.
    pub fn open_raw(&self) -> Result<Box<dyn Read + Send>, StepError> {
        match &self.source {
            Some(source) => source
                .open()
                .map_err(|error| StepError::io("opening", &self.path, error)),
            None => File::open(&self.path)
                .map(|file| Box::new(file) as Box<dyn Read + Send>)
                .map_err(|error| StepError::io("opening", &self.path, error)),
        }
    }

    /// A fresh stream of the bytes, `.gz` / `.zst` decompressed.
    pub fn open(&self) -> Result<Box<dyn Read + Send>, StepError> {
        let raw = self.open_raw()?;
        let (_, compression) = split_compression(&self.path);
        Ok(match compression {
            Compression::None => raw,
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(raw))),
            Compression::Zstd => Box::new(
                zstd::stream::read::Decoder::new(raw)
                    .map_err(|error| StepError::io("decompressing", &self.path, error))?,
            ),
        })
    }
}

impl PartialEq for InputFile {
    fn eq(&self, other: &Self) -> bool {
        let version = |input: &Self| {
            input
                .source
                .as_ref()
                .map(|source| source.version().map(str::to_owned))
        };
        self.path == other.path && self.display == other.display && version(self) == version(other)
    }
}

/// The files of a dataset path relative to `base`: a file, a glob (`data/*.csv`,
/// `data/**/*.parquet`) or a folder, read recursively (partitions like
/// `year=2024/part-0.parquet`; hidden files and `_SUCCESS` markers skipped). Sorted.
pub fn resolve(base: &Path, pattern: &str) -> Result<Vec<InputFile>, StepError> {
    let joined = base.join(pattern);
    let display = |path: &Path| {
        path.strip_prefix(base)
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/")
    };
    let mut paths = Vec::new();
    if pattern.contains(['*', '?', '[']) {
        let text = joined.to_string_lossy().into_owned();
        let entries = glob::glob(&text).map_err(|error| {
            StepError::Usage(format!("`{pattern}` is not a valid glob: {error}"))
        })?;
        for entry in entries {
            let path = entry.map_err(|error| {
                let path = error.path().to_path_buf();
                StepError::io("reading", path, std::io::Error::from(error))
            })?;
            if path.is_file() {
                paths.push(path);
            } else if path.is_dir() {
                walk(&path, &mut paths)?;
            }
        }
    } else if joined.is_dir() {
        walk(&joined, &mut paths)?;
    } else if joined.is_file() {
        paths.push(joined);
    } else {
        return Err(StepError::io(
            "reading",
            joined,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder"),
        ));
    }
    paths.sort();
    paths.dedup();
    if paths.is_empty() {
        return Err(StepError::Usage(format!("`{pattern}` matches no file")));
    }
    Ok(paths
        .into_iter()
        .map(|path| InputFile::local(path.clone(), display(&path)))
        .collect())
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), StepError> {
    let entries = std::fs::read_dir(dir).map_err(|error| StepError::io("reading", dir, error))?;
    for entry in entries {
        let entry = entry.map_err(|error| StepError::io("reading", dir, error))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(['.', '_']) {
            continue;
        }
        let path = entry.path();
        // The directory entry's type needs no `stat` (10,000 files: 10,000 fewer
        // system calls); only symbolic links are followed to what they name.
        let kind = entry
            .file_type()
            .map_err(|error| StepError::io("reading", &path, error))?;
        let is_dir = if kind.is_symlink() {
            path.is_dir()
        } else {
            kind.is_dir()
        };
        if is_dir {
            walk(&path, out)?;
        } else if format_of(&path).is_some() {
            out.push(path);
        }
    }
    Ok(())
}

/// Compression of a file, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    None,
    Gzip,
    Zstd,
}

fn split_compression(path: &Path) -> (String, Compression) {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if let Some(stem) = name.strip_suffix(".gz") {
        (stem.to_owned(), Compression::Gzip)
    } else if let Some(stem) = name.strip_suffix(".zst") {
        (stem.to_owned(), Compression::Zstd)
    } else {
        (name, Compression::None)
    }
}

/// The format of a file from its extension (`.csv`, `.tsv`, `.jsonl`, `.ndjson`,
/// `.parquet`, each optionally `.gz` / `.zst`).
pub fn format_of(path: &Path) -> Option<DataFormat> {
    let (name, _) = split_compression(path);
    let extension = name.rsplit_once('.').map(|(_, ext)| ext)?;
    match extension {
        "csv" | "tsv" | "txt" => Some(DataFormat::Csv),
        "jsonl" | "ndjson" | "json" => Some(DataFormat::Jsonl),
        "parquet" | "pq" => Some(DataFormat::Parquet),
        _ => None,
    }
}

/// The chunks of a list of files, one file after the other. Every file opened is
/// recorded in [`Chunks::files`] (also those with no rows), for column checks.
#[derive(Debug)]
pub struct Chunks {
    inputs: std::vec::IntoIter<(u32, InputFile)>,
    options: ReadOptions,
    current: Option<FileChunks>,
    /// The Parquet file being read and its next row group.
    parquet: Option<(Arc<FileInfo>, Arc<parquet::ParquetFile>, usize)>,
    /// A chunk to hand out before reading on (a file that could not be opened).
    pending: Option<Chunk>,
    files: Arc<Mutex<Vec<Arc<FileInfo>>>>,
}

impl Chunks {
    pub fn new(inputs: Vec<InputFile>, options: ReadOptions) -> Self {
        let numbered: Vec<(u32, InputFile)> = inputs
            .into_iter()
            .enumerate()
            .map(|(index, input)| (u32::try_from(index).unwrap_or(u32::MAX), input))
            .collect();
        Self {
            inputs: numbered.into_iter(),
            options,
            current: None,
            parquet: None,
            pending: None,
            files: Arc::default(),
        }
    }

    /// The files opened so far, shared: read it after the chunks are consumed.
    pub fn files(&self) -> Arc<Mutex<Vec<Arc<FileInfo>>>> {
        Arc::clone(&self.files)
    }

    fn open_next(&mut self) -> Option<Result<(), StepError>> {
        let (index, input) = self.inputs.next()?;
        let format = self
            .options
            .format
            .or_else(|| format_of(&input.path))
            .unwrap_or(DataFormat::Csv);
        let opened = match format {
            DataFormat::Csv => csv::open(index, &input, &self.options),
            DataFormat::Jsonl => jsonl::open(index, &input, &self.options),
            DataFormat::Parquet => {
                // Parquet needs random access: an object is copied to a
                // temporary file first (streamed; see `source::LocalCopy`).
                let copy = match &input.source {
                    Some(source) => match source::LocalCopy::of(source.as_ref()) {
                        Ok(copy) => Some(Arc::new(copy)),
                        Err(error) => {
                            return Some(Err(StepError::io("downloading", &input.path, error)));
                        }
                    },
                    None => None,
                };
                let (info, opened) = parquet::open(
                    index,
                    &input,
                    copy,
                    self.options.numeric_columns.as_deref().unwrap_or_default(),
                );
                if let Ok(mut files) = self.files.lock() {
                    files.push(Arc::clone(&info));
                }
                match opened {
                    Ok(file) => self.parquet = Some((info, file, 0)),
                    Err(message) => {
                        self.pending = Some(Chunk {
                            file: info,
                            data: Vec::new(),
                            start_line: 1,
                            delimiter: b',',
                            quote: b'"',
                            source: Source::Broken(message),
                        });
                    }
                }
                return Some(Ok(()));
            }
        };
        Some(opened.map(|file_chunks| {
            if let Ok(mut files) = self.files.lock() {
                files.push(Arc::clone(&file_chunks.file));
            }
            self.current = Some(file_chunks);
        }))
    }
}

impl Iterator for Chunks {
    type Item = Result<Chunk, StepError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(chunk) = self.pending.take() {
                return Some(Ok(chunk));
            }
            if let Some((info, file, group)) = &mut self.parquet {
                if *group < file.row_groups() {
                    *group += 1;
                    return Some(Ok(Chunk {
                        file: Arc::clone(info),
                        data: Vec::new(),
                        start_line: 1,
                        delimiter: b',',
                        quote: b'"',
                        source: Source::Parquet(Arc::clone(file), *group - 1),
                    }));
                }
                self.parquet = None;
            }
            if let Some(current) = &mut self.current {
                match current.next_chunk() {
                    Ok(Some(chunk)) => return Some(Ok(chunk)),
                    Ok(None) => self.current = None,
                    Err(error) => {
                        self.current = None;
                        return Some(Err(error));
                    }
                }
            }
            match self.open_next()? {
                Ok(()) => {}
                Err(error) => return Some(Err(error)),
            }
        }
    }
}

/// Cuts one decompressed byte stream into chunks that end on record boundaries.
pub(crate) struct FileChunks {
    pub(crate) file: Arc<FileInfo>,
    path: PathBuf,
    reader: Box<dyn Read + Send>,
    carry: Vec<u8>,
    next_line: u64,
    eof: bool,
    chunk_size: usize,
    delimiter: u8,
    /// `None` for formats without quoting (JSON Lines: any newline ends a record).
    quote: Option<u8>,
}

impl fmt::Debug for FileChunks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileChunks")
            .field("file", &self.file.display)
            .field("next_line", &self.next_line)
            .finish_non_exhaustive()
    }
}

impl FileChunks {
    /// Reads until `buf` holds at least `want` bytes or the stream ends, into its
    /// spare capacity (not zeroed first).
    fn fill(&mut self, buf: &mut Vec<u8>, want: usize) -> Result<(), StepError> {
        if buf.len() >= want || self.eof {
            return Ok(());
        }
        let missing = want - buf.len();
        buf.reserve_exact(missing);
        let read = (&mut self.reader)
            .take(missing as u64)
            .read_to_end(buf)
            .map_err(|error| StepError::io("reading", &self.path, error))?;
        if read < missing {
            self.eof = true;
        }
        Ok(())
    }

    pub(crate) fn next_chunk(&mut self) -> Result<Option<Chunk>, StepError> {
        let mut buf = std::mem::take(&mut self.carry);
        let mut want = self.chunk_size.max(buf.len() + 1);
        let cut = loop {
            self.fill(&mut buf, want)?;
            if self.eof {
                break buf.len();
            }
            let boundary = match self.quote {
                Some(quote) => csv::last_record_boundary(&buf, self.delimiter, quote),
                None => memchr::memrchr(b'\n', &buf).map(|at| at + 1),
            };
            match boundary {
                Some(cut) => break cut,
                // A record longer than the chunk (or a quote never closed): read more,
                // up to 16 chunks, then cut anyway and let the parser report it.
                None if want >= self.chunk_size * 16 => break buf.len(),
                None => want *= 2,
            }
        };
        if buf.is_empty() {
            return Ok(None);
        }
        self.carry = buf[cut..].to_vec();
        buf.truncate(cut);
        let start_line = self.next_line;
        self.next_line += count_newlines(&buf);
        Ok(Some(Chunk {
            file: Arc::clone(&self.file),
            data: buf,
            start_line,
            delimiter: self.delimiter,
            quote: self.quote.unwrap_or(b'"'),
            source: Source::Text,
        }))
    }
}

fn count_newlines(bytes: &[u8]) -> u64 {
    use wide::u8x16;
    // 16 counters of one byte each (a match is -1 as a byte), summed before they
    // can wrap: 255 lanes of 16 bytes at most.
    let newline = u8x16::splat(b'\n');
    let (lanes, tail) = bytes.as_chunks::<16>();
    let counted: u64 = lanes
        .chunks(255)
        .map(|group| {
            let counts = group.iter().fold(u8x16::splat(0), |counts, lane| {
                counts - u8x16::new(*lane).simd_eq(newline)
            });
            counts
                .to_array()
                .iter()
                .map(|&count| u64::from(count))
                .sum::<u64>()
        })
        .sum();
    counted
        + tail
            .iter()
            .map(|&byte| u64::from(byte == b'\n'))
            .sum::<u64>()
}

/// Parses a chunk into a batch of rows (on the calling thread). A Parquet row
/// group comes as one batch here; [`parse_each`] keeps memory bounded instead.
pub fn parse(chunk: Chunk) -> Batch {
    let mut batches = Vec::new();
    parse_each(chunk, &mut |batch| batches.push(batch));
    let mut batches = batches.into_iter();
    let mut first = batches.next().unwrap_or_else(|| Batch {
        file: Arc::new(FileInfo {
            index: 0,
            display: String::new(),
            format: DataFormat::Csv,
            columns: Vec::new(),
            header_line: None,
            nulls: NullSet::default(),
        }),
        bytes: Vec::new(),
        fields: Vec::new(),
        lines: Vec::new(),
        columns: 0,
        rows_read: 0,
        issues: Vec::new(),
        numbers: Vec::new(),
    });
    for batch in batches {
        let offset = first.bytes.len();
        first.bytes.extend_from_slice(&batch.bytes);
        first.fields.extend(
            batch
                .fields
                .iter()
                .map(|field| match field.get(&batch.bytes) {
                    None => Field::NULL,
                    Some(_) => {
                        Field::new(field.start as usize + offset, field.end as usize + offset)
                    }
                }),
        );
        first.lines.extend(batch.lines);
        first.rows_read += batch.rows_read;
        first.issues.extend(batch.issues);
        for (mine, theirs) in first.numbers.iter_mut().zip(batch.numbers) {
            mine.append(theirs);
        }
    }
    first
}

/// Parses a chunk on the calling thread, giving its rows to `each` in one or more
/// batches (a Parquet row group in slices of 64k rows).
pub fn parse_each(chunk: Chunk, each: &mut dyn FnMut(Batch)) {
    match &chunk.source {
        Source::Parquet(file, group) => parquet::decode(&chunk.file, file, *group, each),
        Source::Broken(message) => each(Batch {
            file: Arc::clone(&chunk.file),
            bytes: Vec::new(),
            fields: Vec::new(),
            lines: Vec::new(),
            columns: chunk.file.columns.len(),
            rows_read: 0,
            issues: vec![RowIssue {
                line: chunk.start_line,
                column: None,
                kind: IssueKind::Parquet(message.clone()),
            }],
            numbers: Vec::new(),
        }),
        Source::Text => each(match chunk.file.format {
            DataFormat::Jsonl => jsonl::parse(chunk),
            DataFormat::Csv | DataFormat::Parquet => csv::parse(chunk),
        }),
    }
}

pub(crate) fn null_set(options: &CsvOptions) -> NullSet {
    match &options.null_values {
        Some(values) => NullSet::new(values),
        None => NullSet::new(DEFAULT_NULL_VALUES),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_sets_match_whole_fields() {
        let nulls = NullSet::new(&["", "NA"]);
        assert!(nulls.contains(b""));
        assert!(nulls.contains(b"NA"));
        assert!(!nulls.contains(b"NAN"));
        assert!(!NullSet::new(&["NA"]).contains(b""));
        assert!(!nulls.contains(b"N"));
        let long = "x".repeat(70);
        assert!(NullSet::new(&[long.as_str()]).contains(long.as_bytes()));
    }

    #[test]
    fn null_sets_agree_with_a_linear_search() {
        let nulls = [
            "", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "missing", "12345678", "-",
        ];
        let set = NullSet::new(&nulls);
        let probes = [
            "",
            "N",
            "NA",
            "NA\0",
            "N/A",
            "NaN",
            "NAN",
            "nan",
            "null",
            "nul",
            "nulls",
            "NULL",
            "None",
            "none",
            "missing",
            "missinG",
            "12345678",
            "1234567",
            "123456789",
            "-",
            "--",
            "x",
            "0",
        ];
        for probe in probes {
            assert_eq!(
                set.contains(probe.as_bytes()),
                nulls.contains(&probe),
                "{probe:?}"
            );
        }
        let defaults = NullSet::new(DEFAULT_NULL_VALUES);
        for probe in probes {
            assert_eq!(
                defaults.contains(probe.as_bytes()),
                DEFAULT_NULL_VALUES.contains(&probe),
                "{probe:?}"
            );
        }
    }

    #[test]
    #[allow(clippy::naive_bytecount)] // the reference count
    fn newlines_are_counted_past_every_lane_and_group() {
        // All newlines fill each one-byte counter to 255; 4080 bytes is one group.
        for (len, every) in [
            (0, 1),
            (15, 1),
            (4080, 1),
            (4081, 1),
            (10_000, 1),
            (9_999, 7),
        ] {
            let bytes: Vec<u8> = (0..len)
                .map(|at| if at % every == 0 { b'\n' } else { b'x' })
                .collect();
            let naive = bytes.iter().filter(|&&byte| byte == b'\n').count() as u64;
            assert_eq!(count_newlines(&bytes), naive, "{len} bytes");
        }
    }

    #[test]
    fn formats_come_from_extensions() {
        assert_eq!(format_of(Path::new("a/b.csv.gz")), Some(DataFormat::Csv));
        assert_eq!(format_of(Path::new("b.JSONL.zst")), Some(DataFormat::Jsonl));
        assert_eq!(format_of(Path::new("p.parquet")), Some(DataFormat::Parquet));
        assert_eq!(format_of(Path::new("README")), None);
    }
}
