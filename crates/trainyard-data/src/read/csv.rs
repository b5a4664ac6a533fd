//! CSV: chunk boundaries that respect quoted newlines, a fast path for chunks without
//! quotes (memchr over byte slices, no copy) and the `csv` crate for the rest.

use std::sync::Arc;

use memchr::{memchr, memchr_iter, memrchr};
use trainyard_core::StepError;
use trainyard_core::manifest::DataFormat;

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
        reader: super::open(&input.path)?,
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
}
