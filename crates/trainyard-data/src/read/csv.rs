//! CSV: chunk boundaries that respect quoted newlines, a fast path that splits a chunk
//! in place from bit masks of its quotes, delimiters and newlines (64 bytes at a time,
//! no copy), and the `csv` crate for what that path leaves (`""`, quoted newlines, bare
//! `\r`, a quote inside a field, an unclosed quote).

use std::sync::Arc;

use memchr::{memchr, memchr_iter, memrchr};
use trainyard_core::StepError;
use trainyard_core::manifest::DataFormat;
use wide::u8x16;

use super::{
    Batch, Chunk, Field, FileChunks, FileInfo, InputFile, IssueKind, ReadOptions, RowIssue,
};

/// The quoted regions of `buf` as `(open, close)` byte positions, read as csv-core
/// reads them: a quote opens a field only at the start of a field, `""` inside a
/// quoted field is an escaped quote. `buf` must start at a record start. An unclosed
/// quote gives `close == buf.len()`.
pub(crate) fn quote_spans(buf: &[u8], delimiter: u8, quote: u8) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut pos = 0;
    while let Some(found) = memchr(quote, &buf[pos..]) {
        let open = pos + found;
        let at_field_start = open == 0 || {
            let before = buf[open - 1];
            before == delimiter || before == b'\n' || before == b'\r'
        };
        if !at_field_start {
            pos = open + 1;
            continue;
        }
        let mut search = open + 1;
        loop {
            let Some(next) = memchr(quote, &buf[search..]) else {
                spans.push((open, buf.len()));
                return spans;
            };
            let close = search + next;
            if buf.get(close + 1) == Some(&quote) {
                search = close + 2;
                continue;
            }
            spans.push((open, close));
            pos = close + 1;
            break;
        }
    }
    spans
}

fn inside(spans: &[(usize, usize)], at: usize) -> Option<(usize, usize)> {
    let index = spans.partition_point(|span| span.0 < at);
    (index > 0 && spans[index - 1].1 > at).then(|| spans[index - 1])
}

/// The end (exclusive) of the last complete record of `buf`: just after the last
/// newline that is not inside a quoted field.
pub(crate) fn last_record_boundary(buf: &[u8], delimiter: u8, quote: u8) -> Option<usize> {
    if memchr(quote, buf).is_none() {
        return memrchr(b'\n', buf).map(|at| at + 1);
    }
    match masked_record_boundary(buf, delimiter, quote) {
        Ok(boundary) => boundary,
        Err(Irregular) => scanned_record_boundary(buf, delimiter, quote),
    }
}

/// [`last_record_boundary`] from the quote spans, one `memchr` per quote.
fn scanned_record_boundary(buf: &[u8], delimiter: u8, quote: u8) -> Option<usize> {
    let spans = quote_spans(buf, delimiter, quote);
    let mut limit = buf.len();
    loop {
        let newline = memrchr(b'\n', &buf[..limit])?;
        match inside(&spans, newline) {
            Some((open, _)) => limit = open,
            None => return Some(newline + 1),
        }
    }
}

/// A chunk the mask passes leave to the byte-by-byte readers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Irregular;

/// One bit per byte of a 64-byte block (bit `i` for byte `i`).
#[derive(Debug, Clone, Copy, Default)]
struct BlockMasks {
    quote: u64,
    delimiter: u64,
    newline: u64,
    carriage_return: u64,
    /// Not zero when a byte is >= 0x80: a chunk without any is ASCII, so UTF-8.
    high: u64,
    /// The block's bytes (all but the end of a zero-padded last block).
    valid: u64,
}

impl BlockMasks {
    /// Only the first `valid` bits (a zero-padded last block).
    fn keep(self, valid: u64) -> Self {
        Self {
            quote: self.quote & valid,
            delimiter: self.delimiter & valid,
            newline: self.newline & valid,
            carriage_return: self.carriage_return & valid,
            high: self.high,
            valid,
        }
    }
}

/// Compares 16 bytes at a time with each special byte (SSE2 or NEON through `wide`)
/// and gathers the results into [`BlockMasks`].
struct Classifier {
    quote: u8x16,
    delimiter: u8x16,
    newline: u8x16,
    carriage_return: u8x16,
}

impl Classifier {
    fn new(delimiter: u8, quote: u8) -> Self {
        Self {
            quote: u8x16::splat(quote),
            delimiter: u8x16::splat(delimiter),
            newline: u8x16::splat(b'\n'),
            carriage_return: u8x16::splat(b'\r'),
        }
    }

    /// The masks of a block; `CARRIAGE_RETURNS`: whether to look for `\r` at all (a
    /// chunk without any saves a compare per 16 bytes).
    #[inline]
    fn masks<const CARRIAGE_RETURNS: bool>(&self, block: &[u8; 64]) -> BlockMasks {
        let mut masks = BlockMasks::default();
        let (lanes, _) = block.as_chunks::<16>();
        let mut any = u8x16::splat(0);
        for (index, lane) in lanes.iter().enumerate() {
            let bytes = u8x16::new(*lane);
            let shift = 16 * index;
            let bits = |needle: u8x16| u64::from(bytes.simd_eq(needle).to_bitmask()) << shift;
            masks.quote |= bits(self.quote);
            masks.delimiter |= bits(self.delimiter);
            masks.newline |= bits(self.newline);
            if CARRIAGE_RETURNS {
                masks.carriage_return |= bits(self.carriage_return);
            }
            any |= bytes;
        }
        masks.high = u64::from(any.to_bitmask());
        masks
    }

    /// For cutting: the quotes, the newlines, and the bytes after which a field
    /// starts (delimiter, `\n`, `\r`), three masks instead of five.
    #[inline]
    fn cut_masks(&self, block: &[u8; 64]) -> CutMasks {
        let mut masks = CutMasks::default();
        let (lanes, _) = block.as_chunks::<16>();
        for (index, lane) in lanes.iter().enumerate() {
            let bytes = u8x16::new(*lane);
            let shift = 16 * index;
            let newline = bytes.simd_eq(self.newline);
            let field_end =
                newline | bytes.simd_eq(self.delimiter) | bytes.simd_eq(self.carriage_return);
            masks.quote |= u64::from(bytes.simd_eq(self.quote).to_bitmask()) << shift;
            masks.newline |= u64::from(newline.to_bitmask()) << shift;
            masks.field_end |= u64::from(field_end.to_bitmask()) << shift;
        }
        masks
    }
}

/// The masks `masks` gives for every 64-byte block of `data` in order, with the
/// block's offset and the bits of its bytes: the last block is zero-padded.
fn masked_blocks<'a, M: 'a>(
    data: &'a [u8],
    masks: impl Fn(&[u8; 64]) -> M + 'a,
) -> impl Iterator<Item = (usize, M, u64)> + 'a {
    let (blocks, tail) = data.as_chunks::<64>();
    let last = (!tail.is_empty()).then(|| {
        let mut block = [0; 64];
        block[..tail.len()].copy_from_slice(tail);
        (64 * blocks.len(), masks(&block), (1u64 << tail.len()) - 1)
    });
    let full = blocks
        .iter()
        .enumerate()
        .map(move |(index, block)| (64 * index, masks(block), u64::MAX));
    full.chain(last)
}

/// What the cutter needs of a block (see [`Classifier::cut_masks`]).
#[derive(Debug, Clone, Copy, Default)]
struct CutMasks {
    quote: u64,
    newline: u64,
    field_end: u64,
}

/// Bit `i` set when an odd number of bits `0..=i` of `bits` are set: with `bits`
/// the quotes, the bytes inside quoted fields (opening quote included).
#[inline]
fn prefix_xor(mut bits: u64) -> u64 {
    bits ^= bits << 1;
    bits ^= bits << 2;
    bits ^= bits << 4;
    bits ^= bits << 8;
    bits ^= bits << 16;
    bits ^= bits << 32;
    bits
}

/// `0` or all ones, from bit 63: what carries over to the next block.
#[inline]
fn carry_out(bits: u64) -> u64 {
    0u64.wrapping_sub(bits >> 63)
}

/// The quoted regions of a chunk, block after block, read by quote parity: every
/// quote toggles. That is how csv-core reads a chunk as long as every quote that
/// opens a region stands at a field start or right after a quote (`""`); a block
/// with any other opening quote is [`Irregular`].
#[derive(Debug, Clone, Copy)]
struct QuoteParity {
    /// All ones when the previous block ended inside quotes.
    inside: u64,
    /// Bit 0: the previous byte was a quote / a delimiter, `\n` or `\r` (the chunk
    /// starts at a field start).
    after_quote: u64,
    after_separator: u64,
}

impl QuoteParity {
    fn new() -> Self {
        Self {
            inside: 0,
            after_quote: 0,
            after_separator: 1,
        }
    }

    /// The block's bytes inside quotes, or `Irregular`.
    #[inline]
    fn inside(&mut self, masks: &CutMasks) -> Result<u64, Irregular> {
        let inside = prefix_xor(masks.quote) ^ self.inside;
        let opening = masks.quote & inside;
        let after_separator = (masks.field_end << 1) | self.after_separator;
        let after_quote = (masks.quote << 1) | self.after_quote;
        if opening & !(after_separator | after_quote) != 0 {
            return Err(Irregular);
        }
        self.inside = carry_out(inside);
        self.after_quote = masks.quote >> 63;
        self.after_separator = masks.field_end >> 63;
        Ok(inside)
    }
}

/// [`last_record_boundary`] from block masks: the last newline outside quotes, or
/// `Irregular` when quote parity may not be how csv-core reads `buf`.
fn masked_record_boundary(
    buf: &[u8],
    delimiter: u8,
    quote: u8,
) -> Result<Option<usize>, Irregular> {
    if quote == delimiter || quote == b'\n' || quote == b'\r' {
        return Err(Irregular);
    }
    let mut parity = QuoteParity::new();
    // The last block with a newline outside quotes, and those newlines: kept by
    // selects, not branches (about one block in three has one, at random).
    let (mut last_offset, mut last_newlines) = (0, 0);
    let classifier = Classifier::new(delimiter, quote);
    // Padding bytes are no quote nor newline: the last block needs no cut.
    for (offset, masks, _) in masked_blocks(buf, |block| classifier.cut_masks(block)) {
        let newlines = masks.newline & !parity.inside(&masks)?;
        let found = newlines != 0;
        last_offset = if found { offset } else { last_offset };
        last_newlines = if found { newlines } else { last_newlines };
    }
    Ok((last_newlines != 0).then(|| last_offset + 64 - last_newlines.leading_zeros() as usize))
}

/// The end (exclusive) of the first record of `buf`.
fn first_record_boundary(buf: &[u8], delimiter: u8, quote: u8) -> Option<usize> {
    let spans = quote_spans(buf, delimiter, quote);
    let mut from = 0;
    loop {
        let newline = from + memchr(b'\n', &buf[from..])?;
        match inside(&spans, newline) {
            Some((_, close)) => from = close.min(buf.len()),
            None => return Some(newline + 1),
        }
    }
}

fn reader_for(bytes: &[u8], delimiter: u8, quote: u8) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .quote(quote)
        .from_reader(bytes)
}

pub(super) fn open(
    index: u32,
    input: &InputFile,
    options: &ReadOptions,
) -> Result<FileChunks, StepError> {
    let usage = |why: String| StepError::Usage(format!("{}: {why}", input.display));
    let delimiter = options
        .csv
        .delimiter_byte()
        .map_err(usage)?
        .unwrap_or_else(|| {
            let (name, _) = super::split_compression(&input.path);
            let tsv = std::path::Path::new(&name)
                .extension()
                .is_some_and(|ext| ext.eq_ignore_ascii_case("tsv"));
            if tsv { b'\t' } else { b',' }
        });
    let quote = options.csv.quote_byte().map_err(usage)?;
    let mut chunks = FileChunks {
        file: Arc::new(FileInfo {
            index,
            display: input.display.clone(),
            format: DataFormat::Csv,
            columns: Vec::new(),
            header_line: None,
            nulls: super::null_set(&options.csv),
        }),
        path: input.path.clone(),
        reader: input.open()?,
        carry: Vec::new(),
        next_line: 1,
        eof: false,
        chunk_size: options.chunk_size.max(64),
        delimiter,
        quote: Some(quote),
    };
    // The first record: the header, or a sample of the field count.
    let mut buf = Vec::new();
    let mut want = options.chunk_size.max(64);
    let end = loop {
        chunks.fill(&mut buf, want)?;
        if let Some(end) = first_record_boundary(&buf, delimiter, quote) {
            break end;
        }
        if chunks.eof {
            break buf.len();
        }
        want *= 2;
    };
    let body = buf.strip_prefix(b"\xEF\xBB\xBF".as_slice()).unwrap_or(&buf);
    let bom = buf.len() - body.len();
    let mut record = csv::ByteRecord::new();
    let has_record = reader_for(&body[..end - bom], delimiter, quote)
        .read_byte_record(&mut record)
        .unwrap_or(false);
    let mut info = FileInfo::clone(&chunks.file);
    if options.csv.header {
        if has_record {
            info.columns = record
                .iter()
                .map(|name| String::from_utf8_lossy(name).into_owned())
                .collect();
            info.header_line = Some(1);
        }
        chunks.next_line = 1 + super::count_newlines(&buf[..end]);
        chunks.carry = buf[end..].to_vec();
    } else {
        info.columns = (1..=record.len()).map(|n| format!("column_{n}")).collect();
        chunks.carry = body.to_vec();
    }
    chunks.file = Arc::new(info);
    Ok(chunks)
}

/// The 1-based index of the first field of `fields` that is not UTF-8.
fn bad_utf8<'a>(fields: impl Iterator<Item = &'a [u8]>) -> Option<u32> {
    fields
        .enumerate()
        .find(|(_, field)| std::str::from_utf8(field).is_err())
        .map(|(index, _)| u32::try_from(index + 1).unwrap_or(u32::MAX))
}

pub(super) fn parse(chunk: Chunk) -> Batch {
    // Read as UTF-8 first: an ASCII chunk needs no other check, and a chunk that
    // turns out not to be UTF-8 is read again with a check per row.
    if let Ok((rows, ascii)) = parse_masked(&chunk, true) {
        if ascii || std::str::from_utf8(&chunk.data).is_ok() {
            return rows.into_batch(chunk.file, chunk.data);
        }
        if let Ok((rows, _)) = parse_masked(&chunk, false) {
            return rows.into_batch(chunk.file, chunk.data);
        }
    }
    parse_bytewise(chunk)
}

/// The chunk read with a search per field, or by the `csv` crate: what
/// [`parse_masked`] leaves.
fn parse_bytewise(chunk: Chunk) -> Batch {
    let utf8 = std::str::from_utf8(&chunk.data).is_ok();
    if memchr(chunk.quote, &chunk.data).is_none() {
        parse_unquoted(chunk, utf8)
    } else if let Some(rows) = parse_simply_quoted(&chunk, utf8) {
        rows.into_batch(chunk.file, chunk.data)
    } else {
        parse_quoted(&chunk, utf8)
    }
}

/// The rows of a chunk parsed in place: fields are ranges of the chunk's bytes.
struct InPlace {
    fields: Vec<Field>,
    lines: Vec<u64>,
    columns: usize,
    rows_read: u64,
    issues: Vec<RowIssue>,
}

impl InPlace {
    fn with_capacity(bytes: usize, columns: usize) -> Self {
        Self {
            fields: Vec::with_capacity(bytes / 6),
            lines: Vec::with_capacity(bytes / (columns.max(1) * 6)),
            columns,
            rows_read: 0,
            issues: Vec::new(),
        }
    }

    /// Ends the record whose fields were just pushed (`fields[first..]`, at
    /// `line`): kept as a row, or dropped and reported when it is ragged or a
    /// field is not UTF-8 (`utf8`: the whole chunk is known to be).
    fn end_record(&mut self, data: &[u8], first: usize, utf8: bool, line: u64) {
        self.rows_read += 1;
        let found = self.fields.len() - first;
        let issue = if found == self.columns {
            (!utf8)
                .then(|| bad_utf8(self.fields[first..].iter().filter_map(|f| f.get(data))))
                .flatten()
                .map(|column| (Some(column), IssueKind::NotUtf8))
        } else {
            Some((
                None,
                IssueKind::Ragged {
                    expected: self.columns,
                    found,
                },
            ))
        };
        match issue {
            Some((column, kind)) => {
                self.fields.truncate(first);
                self.issues.push(RowIssue { line, column, kind });
            }
            None => self.lines.push(line),
        }
    }

    fn into_batch(self, file: Arc<FileInfo>, bytes: Vec<u8>) -> Batch {
        Batch {
            file,
            bytes,
            fields: self.fields,
            lines: self.lines,
            columns: self.columns,
            rows_read: self.rows_read,
            issues: self.issues,
            numbers: Vec::new(),
        }
    }
}

/// What [`parse_masked`] carries from one block to the next.
#[derive(Debug, Clone, Copy)]
struct SplitState {
    /// All ones when the previous block ended inside quotes.
    inside: u64,
    /// Bit 0: the previous byte was a delimiter or `\n` (the chunk starts at a
    /// field start) / a closing quote / a `\r`.
    after_separator: u64,
    after_closing: u64,
    after_carriage_return: u64,
}

impl SplitState {
    fn new() -> Self {
        Self {
            inside: 0,
            after_separator: 1,
            after_closing: 0,
            after_carriage_return: 0,
        }
    }

    /// The block's delimiters and newlines outside quotes, or `Irregular` when the
    /// block has what [`parse_simply_quoted`] leaves to the `csv` crate: a quote
    /// that opens anywhere but at a field start (in an unquoted field, or `""`), a
    /// closing quote followed by anything but a delimiter or the record's end, a
    /// `\n` or `\r` inside quotes, or a `\r` not followed by `\n`.
    #[inline]
    fn separators(&mut self, masks: &BlockMasks) -> Result<u64, Irregular> {
        let inside = prefix_xor(masks.quote) ^ self.inside;
        let separator = masks.delimiter | masks.newline;
        let opening = masks.quote & inside;
        let closing = masks.quote & !inside;
        let after_separator = (separator << 1) | self.after_separator;
        let after_closing = (closing << 1) | self.after_closing;
        let after_carriage_return = (masks.carriage_return << 1) | self.after_carriage_return;
        let irregular = (opening & !after_separator)
            | (after_closing & !(separator | masks.carriage_return))
            | ((masks.newline | masks.carriage_return) & inside)
            | (after_carriage_return & !masks.newline);
        if irregular & masks.valid != 0 {
            return Err(Irregular);
        }
        self.inside = carry_out(inside);
        self.after_separator = separator >> 63;
        self.after_closing = closing >> 63;
        self.after_carriage_return = masks.carriage_return >> 63;
        Ok(separator & !inside)
    }
}

/// A field from its raw bytes `start..end` (delimiters and `\r\n` excluded), `start`
/// within `data`: the text between the quotes of a quoted field. Branch-free, since
/// whether a field is quoted follows the columns.
#[inline]
fn unquoted_field(data: &[u8], start: usize, end: usize, quote: u8) -> Field {
    let quoted = usize::from(data[start] == quote);
    Field::new(start + quoted, end - quoted)
}

/// The chunk split in place from block masks, as [`parse_simply_quoted`] (or, without
/// quotes, [`parse_unquoted`]) reads it: the separators outside quotes, found 64
/// bytes at a time, end the fields and records, with no search per field. `utf8`:
/// the chunk is taken to be UTF-8 (no check per row). Also says whether the chunk
/// is ASCII. `Irregular` for anything those parsers would not read in place.
fn parse_masked(chunk: &Chunk, utf8: bool) -> Result<(InPlace, bool), Irregular> {
    let data = chunk.data.as_slice();
    let (delimiter, quote) = (chunk.delimiter, chunk.quote);
    if [delimiter, quote]
        .iter()
        .any(|&byte| byte == b'\n' || byte == b'\r')
        || delimiter == quote
        || data.last() == Some(&b'\r')
    {
        return Err(Irregular);
    }
    if memchr(b'\r', data).is_some() {
        split_masked::<true>(chunk, utf8)
    } else {
        split_masked::<false>(chunk, utf8)
    }
}

/// [`parse_masked`]'s pass, for a chunk with `\r` or without.
fn split_masked<const CARRIAGE_RETURNS: bool>(
    chunk: &Chunk,
    utf8: bool,
) -> Result<(InPlace, bool), Irregular> {
    let data = chunk.data.as_slice();
    let quote = chunk.quote;
    let mut rows = InPlace::with_capacity(data.len(), chunk.file.columns.len());
    let mut state = SplitState::new();
    let mut high = 0;
    let mut line = chunk.start_line;
    let (mut field_start, mut record_first) = (0, 0);
    let classifier = Classifier::new(chunk.delimiter, quote);
    let masks_of = |block: &[u8; 64]| classifier.masks::<CARRIAGE_RETURNS>(block);
    for (offset, masks, valid) in masked_blocks(data, masks_of) {
        let masks = masks.keep(valid);
        high |= masks.high;
        let mut separators = state.separators(&masks)?;
        while separators != 0 {
            let bit = separators.trailing_zeros();
            separators &= separators - 1;
            let at = offset + bit as usize;
            if masks.newline & (1 << bit) == 0 {
                rows.fields
                    .push(unquoted_field(data, field_start, at, quote));
            } else {
                let mut end = at;
                if CARRIAGE_RETURNS && end > field_start && data[end - 1] == b'\r' {
                    end -= 1;
                }
                // A blank line (`\n` or `\r\n`) is no record.
                if end > field_start || rows.fields.len() > record_first {
                    rows.fields
                        .push(unquoted_field(data, field_start, end, quote));
                    rows.end_record(data, record_first, utf8, line);
                    record_first = rows.fields.len();
                }
                line += 1;
            }
            field_start = at + 1;
        }
    }
    if state.inside != 0 {
        return Err(Irregular);
    }
    // The last record, without a newline; after a last delimiter, its empty field.
    if field_start < data.len() {
        rows.fields
            .push(unquoted_field(data, field_start, data.len(), quote));
        rows.end_record(data, record_first, utf8, line);
    } else if rows.fields.len() > record_first {
        rows.fields.push(Field::new(field_start, field_start));
        rows.end_record(data, record_first, utf8, line);
    }
    Ok((rows, high == 0))
}

/// The common quoted CSV (every quoted field is `"text"` with no `""`, no newline
/// inside, followed by a delimiter or the end of the record; no quote inside an
/// unquoted field; `\r` only before `\n`), parsed in place without copying: a
/// quoted field is the range between its quotes. `None` as soon as anything else
/// is met: the chunk is then parsed by the `csv` crate, which reads it the same way.
fn parse_simply_quoted(chunk: &Chunk, utf8: bool) -> Option<InPlace> {
    let data = chunk.data.as_slice();
    let (delimiter, quote) = (chunk.delimiter, chunk.quote);
    if delimiter == b'\n' || delimiter == b'\r' || quote == b'\n' || quote == b'\r' {
        return None;
    }
    if memchr_iter(b'\r', data).any(|at| data.get(at + 1) != Some(&b'\n')) {
        return None;
    }
    let mut rows = InPlace::with_capacity(data.len(), chunk.file.columns.len());
    let mut line = chunk.start_line;
    let mut pos = 0;
    let len = data.len();
    while pos < len {
        // A blank line (`\n` or `\r\n`) is no record.
        if data[pos] == b'\n' {
            pos += 1;
            line += 1;
            continue;
        }
        if data[pos] == b'\r' {
            pos += 2;
            line += 1;
            continue;
        }
        let first = rows.fields.len();
        pos = scan_record(data, pos, delimiter, quote, &mut rows.fields)?;
        rows.end_record(data, first, utf8, line);
        line += 1;
    }
    Some(rows)
}

/// The fields of the record starting at `pos`, pushed to `fields`; returns where the
/// next record starts, or `None` for anything [`parse_simply_quoted`] leaves to the
/// `csv` crate.
fn scan_record(
    data: &[u8],
    mut pos: usize,
    delimiter: u8,
    quote: u8,
    fields: &mut Vec<Field>,
) -> Option<usize> {
    let len = data.len();
    // Each field; `pos` is at its first byte. Ends at the record's terminator.
    loop {
        let ended_at;
        if data.get(pos) == Some(&quote) {
            let open = pos;
            let close = open + 1 + memchr(quote, &data[open + 1..])?;
            let content = &data[open + 1..close];
            if memchr::memchr2(b'\n', b'\r', content).is_some() {
                return None;
            }
            fields.push(Field::new(open + 1, close));
            ended_at = close + 1;
            match data.get(ended_at) {
                None => {
                    pos = len;
                    break;
                }
                Some(&byte) if byte == delimiter => {}
                Some(b'\n') => {
                    pos = ended_at + 1;
                    break;
                }
                Some(b'\r') => {
                    pos = ended_at + 2;
                    break;
                }
                Some(_) => return None,
            }
        } else {
            let end =
                memchr::memchr3(delimiter, b'\n', quote, &data[pos..]).map_or(len, |at| pos + at);
            match data.get(end) {
                None => {
                    fields.push(Field::new(pos, end));
                    pos = len;
                    break;
                }
                Some(&byte) if byte == quote => return None,
                Some(&byte) if byte == delimiter => {
                    fields.push(Field::new(pos, end));
                }
                Some(_) => {
                    // `\n`, with a `\r` before it that ends the field.
                    let field_end = if end > pos && data[end - 1] == b'\r' {
                        end - 1
                    } else {
                        end
                    };
                    fields.push(Field::new(pos, field_end));
                    pos = end + 1;
                    break;
                }
            }
            ended_at = end;
        }
        // After a delimiter: the next field starts (maybe empty, at the end).
        pos = ended_at + 1;
        if pos >= len {
            fields.push(Field::new(len, len));
            break;
        }
    }
    Some(pos)
}

/// No quote in the chunk: every newline ends a record and every delimiter a field.
/// The batch keeps the chunk's bytes; fields are ranges into them.
fn parse_unquoted(chunk: Chunk, utf8: bool) -> Batch {
    let data = chunk.data;
    let delimiter = chunk.delimiter;
    let mut rows = InPlace::with_capacity(data.len(), chunk.file.columns.len());
    let mut line = chunk.start_line;
    let mut start = 0;
    while start < data.len() {
        let newline = memchr(b'\n', &data[start..]).map_or(data.len(), |at| start + at);
        let mut end = newline;
        if end > start && data[end - 1] == b'\r' {
            end -= 1;
        }
        if end > start {
            let first = rows.fields.len();
            let mut field_start = start;
            for at in memchr_iter(delimiter, &data[start..end]) {
                rows.fields.push(Field::new(field_start, start + at));
                field_start = start + at + 1;
            }
            rows.fields.push(Field::new(field_start, end));
            rows.end_record(&data, first, utf8, line);
        }
        line += 1;
        start = newline + 1;
    }
    rows.into_batch(chunk.file, data)
}

/// Quotes in the chunk: the `csv` crate parses it (RFC 4180, quoted newlines, `""`).
fn parse_quoted(chunk: &Chunk, utf8: bool) -> Batch {
    let data = &chunk.data;
    let columns = chunk.file.columns.len();
    let mut issues = Vec::new();
    let mut rows_read = 0;
    // A quote never closed: the rows before it parse; its row is reported.
    let spans = quote_spans(data, chunk.delimiter, chunk.quote);
    let mut parse_end = data.len();
    if let Some(&(open, close)) = spans.last()
        && close == data.len()
    {
        let start = last_record_boundary(&data[..open], chunk.delimiter, chunk.quote).unwrap_or(0);
        parse_end = start;
        rows_read += 1;
        issues.push(RowIssue {
            line: chunk.start_line + super::count_newlines(&data[..start]),
            column: None,
            kind: IssueKind::UnclosedQuote,
        });
    }
    let mut bytes = Vec::with_capacity(parse_end);
    let mut fields = Vec::with_capacity(parse_end / 6);
    let mut lines = Vec::new();
    let mut reader = reader_for(&data[..parse_end], chunk.delimiter, chunk.quote);
    let mut record = csv::ByteRecord::new();
    let (mut line, mut counted_to) = (chunk.start_line, 0);
    while let Ok(true) = reader.read_byte_record(&mut record) {
        // The csv crate's position can sit on the previous terminator or a blank line:
        // the record starts at the first byte after them.
        let reported = record
            .position()
            .and_then(|p| usize::try_from(p.byte()).ok())
            .unwrap_or(counted_to);
        let start = reported.max(counted_to)
            + data[reported.max(counted_to)..parse_end]
                .iter()
                .take_while(|&&b| b == b'\n' || b == b'\r')
                .count();
        line += super::count_newlines(&data[counted_to..start]);
        counted_to = start;
        rows_read += 1;
        if record.len() != columns {
            issues.push(RowIssue {
                line,
                column: None,
                kind: IssueKind::Ragged {
                    expected: columns,
                    found: record.len(),
                },
            });
            continue;
        }
        if !utf8 && let Some(column) = bad_utf8(record.iter()) {
            issues.push(RowIssue {
                line,
                column: Some(column),
                kind: IssueKind::NotUtf8,
            });
            continue;
        }
        for field in &record {
            let start = bytes.len();
            bytes.extend_from_slice(field);
            fields.push(Field::new(start, bytes.len()));
        }
        lines.push(line);
    }
    Batch {
        file: Arc::clone(&chunk.file),
        bytes,
        fields,
        lines,
        columns,
        rows_read,
        issues,
        numbers: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_skip_quoted_newlines() {
        let buf = b"a,b\n1,\"x\ny\"\n2,\"p\nq";
        assert_eq!(last_record_boundary(buf, b',', b'"'), Some(12));
        assert_eq!(
            first_record_boundary(b"\"h\n1\",b\nrest", b',', b'"'),
            Some(8)
        );
        // A quote inside an unquoted field is a literal, not an opening quote.
        assert_eq!(
            last_record_boundary(b"5\" tv,1\n2,3\n", b',', b'"'),
            Some(12)
        );
        assert_eq!(quote_spans(b"\"a\"\"b\",c", b',', b'"'), vec![(0, 5)]);
    }

    fn chunk(data: &[u8], columns: usize) -> Chunk {
        Chunk {
            file: Arc::new(FileInfo {
                index: 0,
                display: "t.csv".to_owned(),
                format: DataFormat::Csv,
                columns: (0..columns).map(|c| format!("c{c}")).collect(),
                header_line: Some(1),
                nulls: super::super::NullSet::default(),
            }),
            data: data.to_vec(),
            start_line: 2,
            delimiter: b',',
            quote: b'"',
            source: super::super::Source::Text,
        }
    }

    fn rows(batch: &Batch) -> Vec<(u64, Vec<Vec<u8>>)> {
        (0..batch.rows())
            .map(|row| {
                let values = (0..batch.columns)
                    .map(|column| batch.field(row, column).unwrap_or_default().to_vec())
                    .collect();
                (batch.lines[row], values)
            })
            .collect()
    }

    #[test]
    fn the_in_place_parser_reads_as_the_csv_crate_does() {
        let cases: [&[u8]; 8] = [
            b"1,\"a\",x\n2,\"\",\n\n3,\"c d\",\"z\"",
            b"1,\"a\",x\r\n\r\n2,\"b\",y\r\n",
            b"1,\"a\"\n2,\"b\",y,z\n3,\"c\",w\n",
            b"\"1\",\"2\",\"3\"\n,,\n4,5,",
            b"1,\"a\xff\",x\n2,\"b\",y\n",
            b"1,\"x\"\"y\",z\n",
            b"1,\"x\ny\",z\n",
            b"1,5\" tv,z\n",
        ];
        for (index, data) in cases.iter().enumerate() {
            let utf8 = std::str::from_utf8(data).is_ok();
            let fast = parse_simply_quoted(&chunk(data, 3), utf8);
            // The last three need the csv crate: the fast path must decline them.
            assert_eq!(fast.is_none(), index >= 5, "case {index}");
            let Some(fast) = fast else { continue };
            let slow = parse_quoted(&chunk(data, 3), utf8);
            let fast = Batch {
                file: Arc::clone(&slow.file),
                bytes: data.to_vec(),
                fields: fast.fields,
                lines: fast.lines,
                columns: fast.columns,
                rows_read: fast.rows_read,
                issues: fast.issues,
                numbers: Vec::new(),
            };
            assert_eq!(rows(&fast), rows(&slow), "case {index}");
            assert_eq!(fast.issues, slow.issues, "case {index}");
            assert_eq!(fast.rows_read, slow.rows_read, "case {index}");
        }
    }

    /// The same rows, lines and issues, and the same field ranges (both in place).
    fn assert_same(masked: &Batch, reference: &Batch, what: &str) {
        assert_eq!(rows(masked), rows(reference), "{what}");
        assert_eq!(masked.issues, reference.issues, "{what}");
        assert_eq!(masked.rows_read, reference.rows_read, "{what}");
    }

    /// Random CSV meant to hit the mask logic's edges: quoted and unquoted fields of
    /// lengths that put quotes, delimiters and `\r\n` on both sides of 64-byte block
    /// edges, empty fields, blank lines, ragged rows, non-UTF-8 bytes and, now and
    /// then, what only the `csv` crate reads (`""`, quoted newlines, a quote inside
    /// a field, bare `\r`, an unclosed quote).
    fn tricky_csv(seed: u64, delimiter: u8, quote: u8) -> Vec<u8> {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = move |below: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % below
        };
        let irregular = next(4) == 0;
        let mut out = Vec::new();
        let records = 1 + next(12);
        for record in 0..records {
            let fields = if next(8) == 0 { 1 + next(5) } else { 3 };
            for field in 0..fields {
                if field > 0 {
                    out.push(delimiter);
                }
                let len = match next(4) {
                    0 => 0,
                    1 => next(4),
                    2 => next(70),
                    _ => 55 + next(15),
                };
                let text: Vec<u8> = (0..len)
                    .map(|_| match next(40) {
                        0 => 0xff,
                        1 => 0xc3,
                        2 => 0xa9,
                        _ => b'a' + u8::try_from(next(26)).unwrap_or(0),
                    })
                    .collect();
                if next(3) == 0 {
                    out.push(quote);
                    for (at, &byte) in text.iter().enumerate() {
                        out.push(byte);
                        if at % 7 == 3 && next(3) == 0 {
                            out.push(delimiter);
                        }
                        let escaped = [quote, quote];
                        if irregular && next(30) == 0 {
                            out.extend_from_slice(match next(4) {
                                0 => &escaped[..],
                                1 => b"\n",
                                2 => b"\r\n",
                                _ => b"\r",
                            });
                        }
                    }
                    if !(irregular && record + 1 == records && field + 1 == fields && next(2) == 0)
                    {
                        out.push(quote);
                    }
                    if irregular && next(20) == 0 {
                        out.push(b'x');
                    }
                } else {
                    out.extend_from_slice(&text);
                    if irregular && next(20) == 0 {
                        out.push(quote);
                    }
                }
            }
            if record + 1 < records || next(2) == 0 {
                out.extend_from_slice(match next(6) {
                    0 => b"\r\n",
                    1 => b"\n\n",
                    2 if irregular => b"\r",
                    3 => b"\r\n\r\n",
                    _ => b"\n",
                });
            }
        }
        out
    }

    fn chunk_with(data: &[u8], delimiter: u8, quote: u8) -> Chunk {
        Chunk {
            delimiter,
            quote,
            ..chunk(data, 3)
        }
    }

    #[test]
    fn the_mask_parser_reads_as_the_bytewise_parsers_do() {
        let mut masked_count = 0;
        for (delimiter, quote) in [(b',', b'"'), (b'\t', b'\''), (b';', b'"')] {
            for seed in 0..4000 {
                let data = tricky_csv(seed, delimiter, quote);
                let what = format!("seed {seed}: {:?}", String::from_utf8_lossy(&data));
                let reference = parse_bytewise(chunk_with(&data, delimiter, quote));
                let read = parse(chunk_with(&data, delimiter, quote));
                assert_same(&read, &reference, &what);
                let utf8 = std::str::from_utf8(&data).is_ok();
                if let Ok((rows, ascii)) = parse_masked(&chunk_with(&data, delimiter, quote), utf8)
                {
                    masked_count += 1;
                    assert_eq!(ascii, data.is_ascii(), "{what}");
                    // In place both: the same ranges of the chunk.
                    assert_eq!(rows.fields, reference.fields, "{what}");
                    assert_eq!(rows.lines, reference.lines, "{what}");
                    // And what the csv crate reads.
                    let csv_crate = parse_quoted(&chunk_with(&data, delimiter, quote), utf8);
                    assert_same(&read, &csv_crate, &what);
                }
            }
        }
        // Most inputs are regular: the comparison is not vacuous.
        assert!(masked_count > 6000, "{masked_count} read by masks");
    }

    #[test]
    fn mask_boundaries_are_the_scanned_ones() {
        let mut masked_count = 0;
        for (delimiter, quote) in [(b',', b'"'), (b'\t', b'\'')] {
            for seed in 0..4000 {
                let data = tricky_csv(seed, delimiter, quote);
                let what = format!("seed {seed}: {:?}", String::from_utf8_lossy(&data));
                let scanned = scanned_record_boundary(&data, delimiter, quote);
                assert_eq!(
                    last_record_boundary(&data, delimiter, quote),
                    scanned,
                    "{what}"
                );
                if let Ok(masked) = masked_record_boundary(&data, delimiter, quote) {
                    masked_count += 1;
                    assert_eq!(masked, scanned, "{what}");
                }
            }
        }
        assert!(masked_count > 6000, "{masked_count} cut by masks");
    }

    #[test]
    fn block_edges_split_nothing() {
        // A quoted field, a delimiter or `\r\n` at every position around the
        // 64-byte edges, in rows of three fields.
        for pad in 0..140 {
            let filler = "p".repeat(pad);
            let inputs = [
                format!("{filler},\"q,1\",z\n2,\"\",\n"),
                format!("{filler},x,y\r\n\"a\",b,\"c\"\r\n"),
                format!("{filler},,\r\n,,"),
                format!("1,\"{filler}\",\"{filler}\"\n2,3,"),
                format!("\"{filler}\",2,3"),
                format!("{filler},\"a\nb\",3\n4,5,6\n"),
                format!("{filler},\"a\"\"b\",3\n4,5,6\r\n"),
                format!("{filler},5\" tv,3\n4,\"5\",6\n"),
                format!("{filler},2,3\r4,5,6\n"),
                format!("{filler},2,\"3\n4,5,6\n"),
                format!("{filler},a\u{e9},\"b\"\n4,\"5\",6"),
            ];
            for (index, text) in inputs.iter().enumerate() {
                let mut data = text.clone().into_bytes();
                let what = format!("pad {pad} input {index}: {text:?}");
                let reference = parse_bytewise(chunk(&data, 3));
                assert_same(&parse(chunk(&data, 3)), &reference, &what);
                // The regular ones are read by masks.
                let masked = parse_masked(&chunk(&data, 3), true);
                assert_eq!(masked.is_ok(), index < 5 || index == 10, "{what}");
                assert_eq!(
                    last_record_boundary(&data, b',', b'"'),
                    scanned_record_boundary(&data, b',', b'"'),
                    "{what}"
                );
                // The same bytes with one not UTF-8, where the filler ends.
                if pad > 0 {
                    data[pad - 1] = 0xff;
                    let reference = parse_bytewise(chunk(&data, 3));
                    assert!(!reference.issues.is_empty(), "{what}");
                    assert_same(&parse(chunk(&data, 3)), &reference, &what);
                }
            }
        }
    }
}
