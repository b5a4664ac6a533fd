//! Guards for the YAML and JSON documents trainyard reads from people and from
//! training commands (the manifest, schema files, metrics files, profiles, lock
//! files), run before a parser builds anything:
//!
//! - **Nesting**: at most [`NESTING_LIMIT`] levels of lists and mappings.
//!   libyaml's scanner (under `serde_yaml_ng`) does work proportional to the flow
//!   depth (`[`, `{`) for every token, so a small file of nested `[` took
//!   minutes; JSON parsers recurse. A linear scan refuses such text first.
//! - **Strict** documents (the manifest and trainyard's YAML schema files): no
//!   key twice in a mapping (serde keeps the last silently), and no tags other
//!   than YAML's core ones (`!!binary`, `!foo` were ignored silently).
//!
//! Every refusal names the line and column (1-based) where it happens.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser, Tag};

use crate::diagnostic::{ConfigError, SourceSpan};

/// The deepest nesting of lists and mappings accepted in any document. Real
/// manifests, schemas and metrics files stay below 10.
pub const NESTING_LIMIT: usize = 64;

/// The tags a strict document may use: YAML's core schema, which only says
/// what plain YAML already says (`!!str 10` is the text `10`).
const CORE_TAGS: &[&str] = &["str", "int", "float", "bool", "null", "seq", "map"];

/// Why a document was refused before parsing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error(
        "nested deeper than {limit} levels at line {line}, column {column} (the limit of lists and mappings inside one another)"
    )]
    TooDeep {
        line: u32,
        column: u32,
        limit: usize,
    },
    #[error(
        "key `{key}` appears twice in one mapping, at line {first_line} and at line {line}, column {column}"
    )]
    DuplicateKey {
        key: String,
        line: u32,
        column: u32,
        first_line: u32,
    },
    #[error("YAML tag `{tag}` at line {line}, column {column} is not accepted")]
    Tag { tag: String, line: u32, column: u32 },
}

impl DocumentError {
    /// Where in the document (1-based).
    pub fn span(&self) -> SourceSpan {
        let (Self::TooDeep { line, column, .. }
        | Self::DuplicateKey { line, column, .. }
        | Self::Tag { line, column, .. }) = self;
        SourceSpan {
            line: *line,
            column: *column,
        }
    }

    /// A stable rule id.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::TooDeep { .. } => "too-deep",
            Self::DuplicateKey { .. } => "duplicate-key",
            Self::Tag { .. } => "yaml-tag",
        }
    }

    /// What is wrong, without the place (a [`ConfigError`] shows it).
    pub fn message(&self) -> String {
        match self {
            Self::TooDeep { limit, .. } => {
                format!("lists and mappings are nested deeper than {limit} levels (the limit)")
            }
            Self::DuplicateKey {
                key, first_line, ..
            } => format!("key `{key}` is given twice in one mapping (first at line {first_line})"),
            Self::Tag { tag, .. } => format!("YAML tag `{tag}` is not accepted"),
        }
    }

    /// What to do about it.
    pub fn help(&self) -> &'static str {
        match self {
            Self::TooDeep { .. } => "flatten the document",
            Self::DuplicateKey { .. } => "give each key once; remove or rename the other",
            Self::Tag { .. } => {
                "write plain YAML values (quote a value to make it text); only YAML's core tags (`!!str`, `!!int`, `!!float`, `!!bool`, `!!null`, `!!seq`, `!!map`) are accepted"
            }
        }
    }

    /// As a configuration error of `file` (whose text is `source`).
    pub fn to_config_error(&self, file: &str, source: &str) -> ConfigError {
        ConfigError::new(file, self.rule(), self.message())
            .with_help(self.help())
            .at(source, self.span())
    }
}

/// Checks a JSON document's nesting (exact: brackets outside strings).
pub fn check_json(text: &str) -> Result<(), DocumentError> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut position = Position::default();
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'"' => {
                // To the closing quote; `\x` skips x.
                at += 1;
                while at < bytes.len() && bytes[at] != b'"' {
                    at += if bytes[at] == b'\\' { 2 } else { 1 };
                }
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > NESTING_LIMIT {
                    return Err(position.too_deep(text, at));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        at += 1;
    }
    Ok(())
}

/// Checks a YAML document's nesting: a linear scan of its flow collections
/// (which libyaml's cost grows with), then the exact depth of the parsed events.
pub fn check_yaml(text: &str) -> Result<(), DocumentError> {
    scan_flow_depth(text)?;
    walk_events(text, false)
}

/// [`check_yaml`], plus no key twice in a mapping and only YAML's core tags.
pub fn check_strict_yaml(text: &str) -> Result<(), DocumentError> {
    scan_flow_depth(text)?;
    walk_events(text, true)
}

/// Line and column of byte offsets, computed forwards only (linear overall).
#[derive(Debug, Default)]
struct Position {
    offset: usize,
    line: u32,
    line_start: usize,
}

impl Position {
    fn span(&mut self, text: &str, at: usize) -> SourceSpan {
        if self.line == 0 || at < self.offset {
            *self = Self {
                offset: 0,
                line: 1,
                line_start: 0,
            };
        }
        let bytes = text.as_bytes();
        for (index, &byte) in bytes.iter().enumerate().take(at).skip(self.offset) {
            if byte == b'\n' {
                self.line += 1;
                self.line_start = index + 1;
            }
        }
        self.offset = at;
        let column = text
            .get(self.line_start..at)
            .map_or(at - self.line_start, |prefix| prefix.chars().count());
        SourceSpan {
            line: self.line,
            column: u32::try_from(column + 1).unwrap_or(u32::MAX),
        }
    }

    fn too_deep(&mut self, text: &str, at: usize) -> DocumentError {
        let span = self.span(text, at);
        DocumentError::TooDeep {
            line: span.line,
            column: span.column,
            limit: NESTING_LIMIT,
        }
    }
}

/// The depth of YAML flow collections (`[`, `{`), bounded before libyaml scans
/// them. Inside a flow collection every bracket outside quotes is structure; in
/// block context a bracket opens a collection only where a node starts (after
/// `- `, `: `, `? `, indentation, an anchor or a tag), not inside a plain
/// scalar, a comment or a block scalar (`|`, `>`).
#[allow(clippy::too_many_lines)] // one state machine
fn scan_flow_depth(text: &str) -> Result<(), DocumentError> {
    let bytes = text.as_bytes();
    let blank = |at: usize| {
        bytes
            .get(at)
            .is_none_or(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
    };
    let mut depth = 0usize;
    let mut position = Position::default();
    // The next non-blank character starts a node.
    let mut node = true;
    // Indentation of the current line (block context), for block scalars.
    let mut indent = 0usize;
    let mut at = 0usize;
    while at < bytes.len() {
        let byte = bytes[at];
        match byte {
            b'\n' => {
                indent = bytes[at + 1..].iter().take_while(|&&b| b == b' ').count();
                if depth == 0 {
                    node = true;
                }
            }
            b' ' | b'\t' | b'\r' => {}
            b'#' if at == 0 || blank(at - 1) => {
                at += memchr_newline(&bytes[at..]);
                continue;
            }
            b'"' if node => {
                at += 1;
                while at < bytes.len() && bytes[at] != b'"' {
                    at += if bytes[at] == b'\\' { 2 } else { 1 };
                }
                node = false;
            }
            b'\'' if node => {
                at += 1;
                while at < bytes.len() {
                    if bytes[at] == b'\'' {
                        if bytes.get(at + 1) == Some(&b'\'') {
                            at += 2;
                            continue;
                        }
                        break;
                    }
                    at += 1;
                }
                node = false;
            }
            b'[' | b'{' if node || depth > 0 => {
                depth += 1;
                if depth > NESTING_LIMIT {
                    return Err(position.too_deep(text, at));
                }
                node = true;
            }
            b']' | b'}' if depth > 0 => {
                depth -= 1;
                node = false;
            }
            b',' if depth > 0 => node = true,
            b'-' | b'?' | b':' if blank(at + 1) || (byte == b':' && depth > 0) => node = true,
            b'&' | b'!' if node => {
                // An anchor or a tag: the node follows it.
                while at < bytes.len() && !blank(at) {
                    at += 1;
                }
                continue;
            }
            b'|' | b'>' if node && depth == 0 => {
                // A block scalar: its lines are those indented deeper than this one.
                at += memchr_newline(&bytes[at..]);
                while at < bytes.len() {
                    let next = at + 1;
                    let spaces = bytes[next..].iter().take_while(|&&b| b == b' ').count();
                    let rest = next + spaces;
                    let empty = bytes.get(rest).is_none_or(|&b| b == b'\n' || b == b'\r');
                    if !empty && spaces <= indent {
                        break;
                    }
                    at = rest + memchr_newline(&bytes[rest..]);
                }
                continue;
            }
            _ => node = false,
        }
        at += 1;
    }
    Ok(())
}

/// Bytes before the next newline (all when there is none).
fn memchr_newline(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(bytes.len())
}

/// One open collection while walking the events.
enum Frame {
    Sequence,
    /// A mapping: its scalar keys (with their line), and whether the next node is a key.
    Mapping {
        keys: HashMap<String, u32>,
        key_next: bool,
    },
}

/// The exact nesting of the parsed events; when `strict`, duplicate keys and tags.
/// Text the parser cannot read passes: the document's own parser reports it.
fn walk_events(text: &str, strict: bool) -> Result<(), DocumentError> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    loop {
        let Ok((event, marker)) = parser.next_token() else {
            return Ok(());
        };
        let line = u32::try_from(marker.line()).unwrap_or(u32::MAX);
        let column = u32::try_from(marker.col() + 1).unwrap_or(u32::MAX);
        let tag = match &event {
            Event::Scalar(_, _, _, tag)
            | Event::SequenceStart(_, tag)
            | Event::MappingStart(_, tag) => tag.as_ref(),
            _ => None,
        };
        if strict
            && let Some(tag) = tag
            && !is_core_tag(tag)
        {
            let handle = match tag.handle.as_str() {
                "tag:yaml.org,2002:" => "!!",
                other => other,
            };
            return Err(DocumentError::Tag {
                tag: format!("{handle}{}", tag.suffix),
                line,
                column,
            });
        }
        let starts_node = matches!(
            event,
            Event::Scalar(..)
                | Event::Alias(_)
                | Event::SequenceStart(..)
                | Event::MappingStart(..)
        );
        // Whether this node is a key of the enclosing mapping.
        let mut is_key = false;
        if starts_node && let Some(Frame::Mapping { key_next, .. }) = stack.last_mut() {
            is_key = *key_next;
            *key_next = !*key_next;
        }
        match event {
            Event::StreamEnd => return Ok(()),
            Event::Scalar(value, ..) if strict && is_key => {
                if let Some(Frame::Mapping { keys, .. }) = stack.last_mut()
                    && let Some(&first_line) = keys.get(&value)
                {
                    return Err(DocumentError::DuplicateKey {
                        key: value,
                        line,
                        column,
                        first_line,
                    });
                } else if let Some(Frame::Mapping { keys, .. }) = stack.last_mut() {
                    keys.insert(value, line);
                }
            }
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                if stack.len() >= NESTING_LIMIT {
                    return Err(DocumentError::TooDeep {
                        line,
                        column,
                        limit: NESTING_LIMIT,
                    });
                }
                stack.push(if matches!(event, Event::MappingStart(..)) {
                    Frame::Mapping {
                        keys: HashMap::new(),
                        key_next: true,
                    }
                } else {
                    Frame::Sequence
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                stack.pop();
            }
            _ => {}
        }
    }
}

fn is_core_tag(tag: &Tag) -> bool {
    matches!(tag.handle.as_str(), "!!" | "tag:yaml.org,2002:")
        && CORE_TAGS.contains(&tag.suffix.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deep(depth: usize, open: &str, close: &str) -> String {
        format!("{}1{}", open.repeat(depth), close.repeat(depth))
    }

    #[test]
    fn nesting_up_to_the_limit_passes_and_beyond_it_is_refused_at_its_place() {
        for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
            let json = deep(NESTING_LIMIT, open, close);
            assert_eq!(check_json(&json), Ok(()));
            let error =
                check_json(&format!("\n  {}", deep(NESTING_LIMIT + 1, open, close))).unwrap_err();
            assert_eq!(error.rule(), "too-deep");
            assert_eq!(error.span().line, 2);
            assert!(error.to_string().contains("64 levels"), "{error}");
        }
        assert_eq!(check_yaml(&deep(NESTING_LIMIT, "[", "]")), Ok(()));
        let error = check_yaml(&format!("a: 1\nb: {}", deep(100_000, "[", "]"))).unwrap_err();
        assert_eq!(
            error.span(),
            SourceSpan {
                line: 2,
                column: 68
            }
        );
        let error = check_yaml(&format!("a: {}", deep(40_000, "{x: ", "}"))).unwrap_err();
        assert_eq!(error.rule(), "too-deep");
        // Block nesting, one line per level or compact on one line.
        let mut block = String::new();
        for level in 0..=NESTING_LIMIT {
            block.push_str(&" ".repeat(level));
            block.push_str("k:\n");
        }
        assert_eq!(check_yaml(&block).unwrap_err().rule(), "too-deep");
        let compact = format!("{}x\n", "- ".repeat(100_000));
        assert_eq!(check_yaml(&compact).unwrap_err().rule(), "too-deep");
    }

    #[test]
    fn brackets_in_text_comments_and_block_scalars_are_not_nesting() {
        let many = "[".repeat(200);
        let text = format!(
            "a: '{many}'\nb: \"{many}\"\nc: x{many}\n# {many}\nd: |\n  {many}\n  {many}\ne: [1, '{many}']\n"
        );
        assert_eq!(check_strict_yaml(&text), Ok(()));
        assert_eq!(check_json(&format!("{{\"a\": \"{many}\"}}")), Ok(()));
    }

    #[test]
    fn a_key_given_twice_is_refused_at_the_second() {
        let text = "version: 1\ndatasets:\n  train:\n    path: a.csv\n  train:\n    path: b.csv\n";
        let error = check_strict_yaml(text).unwrap_err();
        assert_eq!(
            error,
            DocumentError::DuplicateKey {
                key: "train".to_owned(),
                line: 5,
                column: 3,
                first_line: 3
            }
        );
        // The same key in different mappings, or as a value, is fine.
        assert_eq!(
            check_strict_yaml("a: {x: 1}\nb: {x: 1}\nc: [x, x]\nx: x\n"),
            Ok(())
        );
        assert_eq!(check_yaml(text), Ok(()));
        let error = check_strict_yaml("a: {x: 1, x: 2}").unwrap_err();
        assert_eq!(error.rule(), "duplicate-key");
    }

    #[test]
    fn tags_other_than_the_core_ones_are_refused_at_their_line() {
        let error = check_strict_yaml("project:\n  name: !!binary aGVsbG8=\n").unwrap_err();
        assert!(
            matches!(&error, DocumentError::Tag { tag, line: 2, .. } if tag == "!!binary"),
            "{error:?}"
        );
        let error = check_strict_yaml("a:\n  - !foo {x: 1}\n").unwrap_err();
        assert_eq!((error.rule(), error.span().line), ("yaml-tag", 2));
        assert_eq!(check_strict_yaml("a: !!str 10\nb: !!int 3\n"), Ok(()));
        assert_eq!(check_yaml("a: !foo 1\n"), Ok(()));
    }

    #[test]
    fn text_the_parser_cannot_read_is_left_to_the_document_parser() {
        assert_eq!(check_strict_yaml("a: [\n"), Ok(()));
        assert_eq!(check_json("{\"a\": "), Ok(()));
    }
}
