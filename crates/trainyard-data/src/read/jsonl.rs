//! JSON Lines: one JSON object per line. The columns are the keys of the first
//! object, in its order; a missing key or `null` is a null; nested values are kept
//! as JSON text.

use std::fmt;
use std::sync::Arc;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use trainyard_core::StepError;
use trainyard_core::manifest::DataFormat;

use super::{
    Batch, Chunk, Field, FileChunks, FileInfo, InputFile, IssueKind, NullSet, ReadOptions, RowIssue,
};

/// The keys of a JSON object in document order (serde_json's map sorts them).
struct Keys(Vec<String>);

impl<'de> Deserialize<'de> for Keys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeysVisitor;
        impl<'de> Visitor<'de> for KeysVisitor {
            type Value = Keys;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Keys, A::Error> {
                let mut keys = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    map.next_value::<IgnoredAny>()?;
                    keys.push(key);
                }
                Ok(Keys(keys))
            }
        }
        deserializer.deserialize_map(KeysVisitor)
    }
}

pub(super) fn open(
    index: u32,
    input: &InputFile,
    options: &ReadOptions,
) -> Result<FileChunks, StepError> {
    let mut chunks = FileChunks {
        file: Arc::new(FileInfo {
            index,
            display: input.display.clone(),
            format: DataFormat::Jsonl,
            columns: Vec::new(),
            header_line: None,
            nulls: NullSet::new::<&str>(&[]),
        }),
        path: input.path.clone(),
        reader: input.open()?,
        carry: Vec::new(),
        next_line: 1,
        eof: false,
        chunk_size: options.chunk_size.max(64),
        delimiter: b'\n',
        quote: None,
    };
    // The first non-blank line names the columns; it stays in the data.
    let mut buf = Vec::new();
    let mut want = options.chunk_size.max(64);
    loop {
        chunks.fill(&mut buf, want)?;
        if chunks.eof || buf.contains(&b'\n') {
            break;
        }
        want *= 2;
    }
    let mut info = FileInfo::clone(&chunks.file);
    let mut line_number = 1;
    for line in buf.split(|&byte| byte == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            line_number += 1;
            continue;
        }
        if let Ok(Keys(keys)) = serde_json::from_slice::<Keys>(line) {
            info.columns = keys;
            info.header_line = Some(line_number);
        }
        break;
    }
    chunks.file = Arc::new(info);
    chunks.carry = buf;
    Ok(chunks)
}

pub(super) fn parse(chunk: Chunk) -> Batch {
    let columns = chunk.file.columns.len();
    let mut bytes = Vec::with_capacity(chunk.data.len() / 2);
    let mut fields = Vec::new();
    let mut lines = Vec::new();
    let mut issues = Vec::new();
    let mut rows_read = 0;
    for (offset, line) in (0..).zip(chunk.data.split(|&byte| byte == b'\n')) {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let line_number = chunk.start_line + offset;
        rows_read += 1;
        let object = match serde_json::from_slice::<serde_json::Value>(line) {
            Ok(serde_json::Value::Object(object)) => object,
            Ok(other) => {
                let kind = match other {
                    serde_json::Value::Array(_) => "an array",
                    serde_json::Value::String(_) => "a string",
                    serde_json::Value::Number(_) => "a number",
                    serde_json::Value::Bool(_) => "a boolean",
                    _ => "null",
                };
                issues.push(RowIssue {
                    line: line_number,
                    column: None,
                    kind: IssueKind::Json(format!("the line is {kind}")),
                });
                continue;
            }
            Err(error) => {
                issues.push(RowIssue {
                    line: line_number,
                    column: u32::try_from(error.column()).ok(),
                    kind: IssueKind::Json(error.to_string()),
                });
                continue;
            }
        };
        for name in &chunk.file.columns {
            let start = bytes.len();
            match object.get(name) {
                None | Some(serde_json::Value::Null) => {
                    fields.push(Field::NULL);
                    continue;
                }
                Some(serde_json::Value::String(text)) => bytes.extend_from_slice(text.as_bytes()),
                Some(serde_json::Value::Bool(true)) => bytes.extend_from_slice(b"true"),
                Some(serde_json::Value::Bool(false)) => bytes.extend_from_slice(b"false"),
                Some(other) => bytes.extend_from_slice(other.to_string().as_bytes()),
            }
            fields.push(Field::new(start, bytes.len()));
        }
        lines.push(line_number);
    }
    Batch {
        file: chunk.file,
        bytes,
        fields,
        lines,
        columns,
        rows_read,
        issues,
        numbers: Vec::new(),
    }
}
