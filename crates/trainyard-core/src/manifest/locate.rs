//! Where a key path sits in YAML text, to point a person at a line. The
//! manifest is parsed by serde, which keeps no positions; this reads the text
//! again into an outline (mappings, lists and scalars, each key and item with
//! its position) that is used for nothing but finding keys. Block style and
//! flow style (`{ a: 1 }`, `[x, y]`) are both followed; anchors, tags and
//! multi-line scalars are not interpreted (a key inside one is not found).

use std::fmt;

use crate::diagnostic::SourceSpan;

/// One step of a [`KeyPath`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// A key of a mapping.
    Key(String),
    /// The item of a list whose `name` is this (`environments` is such a list).
    Named(String),
}

/// A path to a value of the manifest: `gates.prod.metrics`,
/// `environments[prod].rbac.readers`. It names the value in messages
/// (`Display`) and finds its line ([`locate`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPath(Vec<Segment>);

impl KeyPath {
    /// The path through these mapping keys.
    pub fn new(keys: &[&str]) -> Self {
        Self::default().keys(keys)
    }

    /// `environments[<name>]`: the environment of that name.
    pub fn environment(name: &str) -> Self {
        Self::new(&["environments"]).named(name)
    }

    /// This path, then the mapping key `key`.
    #[must_use]
    pub fn key(mut self, key: &str) -> Self {
        self.0.push(Segment::Key(key.to_owned()));
        self
    }

    /// This path, then these mapping keys.
    #[must_use]
    pub fn keys(self, keys: &[&str]) -> Self {
        keys.iter().fold(self, |path, key| path.key(key))
    }

    /// This path (a list), then its item whose `name` is `name`.
    #[must_use]
    pub fn named(mut self, name: &str) -> Self {
        self.0.push(Segment::Named(name.to_owned()));
        self
    }

    pub fn segments(&self) -> &[Segment] {
        &self.0
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if index == 0 => f.write_str(key)?,
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Named(name) => write!(f, "[{name}]")?,
            }
        }
        Ok(())
    }
}

/// The line and column of `path` in `source` (of a key: the key's first
/// character; of a named list item: its first key), or `None` when the whole
/// path is not there.
pub fn locate(source: &str, path: &KeyPath) -> Option<SourceSpan> {
    let (depth, span) = walk(source, path);
    (depth == path.0.len()).then_some(span).flatten()
}

/// [`locate`], or else the deepest enclosing key that is there.
pub fn locate_nearest(source: &str, path: &KeyPath) -> Option<SourceSpan> {
    walk(source, path).1
}

/// [`locate`] for a path of mapping keys such as `gates`, `prod`, `metrics`.
pub fn locate_key(source: &str, path: &[&str]) -> Option<SourceSpan> {
    locate(source, &KeyPath::new(path))
}

/// [`locate_nearest`] for a path of mapping keys.
pub fn locate_nearest_key(source: &str, path: &[&str]) -> Option<SourceSpan> {
    locate_nearest(source, &KeyPath::new(path))
}

/// How many segments of `path` were found, and where the last found one is.
fn walk(source: &str, path: &KeyPath) -> (usize, Option<SourceSpan>) {
    let root = Outline::new(source).root();
    let mut node = &root;
    let mut found = None;
    for (depth, segment) in path.0.iter().enumerate() {
        let next = match (segment, node) {
            (Segment::Key(key), Node::Map(entries)) => entries
                .iter()
                .find(|entry| entry.key == *key)
                .map(|entry| (entry.at, &entry.value)),
            (Segment::Named(name), Node::List(items)) => items
                .iter()
                .find(|item| item.value.name() == Some(name.as_str()))
                .map(|item| (item.at, &item.value)),
            _ => None,
        };
        match next {
            Some((at, value)) => {
                found = Some(at);
                node = value;
            }
            None => return (depth, found),
        }
    }
    (path.0.len(), found)
}

/// A YAML value, as far as finding keys needs it.
#[derive(Debug)]
enum Node {
    Map(Vec<Entry>),
    List(Vec<Item>),
    Scalar(String),
}

impl Node {
    /// The `name` of a mapping, when it has a scalar one.
    fn name(&self) -> Option<&str> {
        let Self::Map(entries) = self else {
            return None;
        };
        entries
            .iter()
            .find(|entry| entry.key == "name")
            .and_then(|entry| match &entry.value {
                Self::Scalar(name) => Some(name.as_str()),
                _ => None,
            })
    }
}

#[derive(Debug)]
struct Entry {
    key: String,
    at: SourceSpan,
    value: Node,
}

#[derive(Debug)]
struct Item {
    at: SourceSpan,
    value: Node,
}

/// The source's lines, read as block-style YAML; flow collections are read by [`Flow`].
struct Outline<'a> {
    lines: Vec<&'a str>,
}

impl<'a> Outline<'a> {
    fn new(source: &'a str) -> Self {
        Self {
            lines: source.lines().collect(),
        }
    }

    fn root(&self) -> Node {
        match self.next_content(0) {
            Some((line, indent)) => self.block(line, indent).0,
            None => Node::Map(Vec::new()),
        }
    }

    /// The first line at or after `from` with content (not blank, not only a
    /// comment, not a document marker), and its indentation.
    fn next_content(&self, from: usize) -> Option<(usize, usize)> {
        (from..self.lines.len()).find_map(|index| {
            let line = self.lines[index];
            let trimmed = line.trim_start_matches(' ');
            let marker =
                line.starts_with("---") || line.starts_with("...") || line.starts_with('%');
            (!(trimmed.is_empty() || trimmed.starts_with('#') || marker))
                .then_some((index, line.len() - trimmed.len()))
        })
    }

    /// The first line at or after `from` with content indented `indent` or less.
    fn next_at_most(&self, from: usize, indent: usize) -> Option<(usize, usize)> {
        let mut from = from;
        loop {
            match self.next_content(from)? {
                (line, deeper) if deeper > indent => from = line + 1,
                found => return Some(found),
            }
        }
    }

    fn text(&self, line: usize, column: usize) -> &'a str {
        self.lines[line].get(column..).unwrap_or("")
    }

    fn span(&self, line: usize, column: usize) -> SourceSpan {
        let before = self.lines[line].get(..column).unwrap_or("");
        SourceSpan {
            line: u32::try_from(line + 1).unwrap_or(u32::MAX),
            column: u32::try_from(before.chars().count() + 1).unwrap_or(u32::MAX),
        }
    }

    /// The node whose first character is at `line`, `column`; returns it and
    /// the first line after it.
    fn block(&self, line: usize, column: usize) -> (Node, usize) {
        let text = self.text(line, column);
        if is_dash(text) {
            self.block_list(line, column)
        } else if text.starts_with(['{', '[']) {
            let mut flow = Flow::new(&self.lines, line, column);
            let node = flow.value();
            (node, flow.line + 1)
        } else if mapping_key(text).is_some() {
            self.block_map(line, column)
        } else {
            (Node::Scalar(scalar(text)), line + 1)
        }
    }

    /// A block mapping whose keys start at `column`; the first is on `line`
    /// (after a list item's `- `, it may not start the line).
    fn block_map(&self, line: usize, column: usize) -> (Node, usize) {
        let mut entries = Vec::new();
        let mut line = line;
        loop {
            let text = self.text(line, column);
            let Some((key, after)) = mapping_key(text) else {
                return (Node::Map(entries), line + 1);
            };
            let rest = &text[after..];
            let value_column = column + after + (rest.len() - rest.trim_start().len());
            let rest = rest.trim_start();
            let (value, next) = if rest.is_empty() || rest.starts_with('#') {
                match self.next_content(line + 1) {
                    Some((child, indent)) if indent > column => self.block(child, indent),
                    // A list may sit at its key's own indentation.
                    Some((child, indent))
                        if indent == column && is_dash(self.text(child, indent)) =>
                    {
                        self.block_list(child, indent)
                    }
                    _ => (Node::Scalar(String::new()), line + 1),
                }
            } else if rest.starts_with(['{', '[']) {
                let mut flow = Flow::new(&self.lines, line, value_column);
                let node = flow.value();
                (node, flow.line + 1)
            } else {
                // A scalar; a block scalar's (`|`, `>`) lines are deeper and skipped below.
                (Node::Scalar(scalar(rest)), line + 1)
            };
            entries.push(Entry {
                key,
                at: self.span(line, column),
                value,
            });
            match self.next_at_most(next, column) {
                Some((following, indent))
                    if indent == column && !is_dash(self.text(following, indent)) =>
                {
                    line = following;
                }
                Some((following, _)) => return (Node::Map(entries), following),
                None => return (Node::Map(entries), self.lines.len()),
            }
        }
    }

    /// A block list whose dashes are at `column`; the first is on `line`.
    fn block_list(&self, line: usize, column: usize) -> (Node, usize) {
        let mut items = Vec::new();
        let mut line = line;
        loop {
            let rest = self.text(line, column + 1);
            let content = column + 1 + (rest.len() - rest.trim_start().len());
            let rest = rest.trim_start();
            let (at, (value, next)) = if rest.is_empty() || rest.starts_with('#') {
                match self.next_content(line + 1) {
                    Some((child, indent)) if indent > column => {
                        (self.span(child, indent), self.block(child, indent))
                    }
                    _ => (
                        self.span(line, column),
                        (Node::Scalar(String::new()), line + 1),
                    ),
                }
            } else {
                (self.span(line, content), self.block(line, content))
            };
            items.push(Item { at, value });
            match self.next_at_most(next, column) {
                Some((following, indent))
                    if indent == column && is_dash(self.text(following, indent)) =>
                {
                    line = following;
                }
                Some((following, _)) => return (Node::List(items), following),
                None => return (Node::List(items), self.lines.len()),
            }
        }
    }
}

/// Whether `text` starts a block list item.
fn is_dash(text: &str) -> bool {
    text == "-" || text.starts_with("- ") || text.starts_with("-\t")
}

/// The key `text` starts with (`key:` followed by a space or the line's end,
/// plain or quoted) and the offset just after its colon.
fn mapping_key(text: &str) -> Option<(String, usize)> {
    if text.starts_with(['"', '\'']) {
        let (key, length) = quoted(text)?;
        let rest = &text[length..];
        let colon = length + (rest.len() - rest.trim_start().len());
        return (text[colon..].starts_with(':') && ends_key(&text[colon + 1..]))
            .then_some((key, colon + 1));
    }
    if text.starts_with(['-', '?', '#', '{', '[', '|', '>', '&', '*', '!']) {
        return None;
    }
    let mut search = 0;
    while let Some(offset) = text[search..].find(':') {
        let colon = search + offset;
        if text[..colon].contains(" #") {
            return None;
        }
        if ends_key(&text[colon + 1..]) {
            return Some((text[..colon].trim_end().to_owned(), colon + 1));
        }
        search = colon + 1;
    }
    None
}

/// Whether what follows a colon makes it a key's colon.
fn ends_key(after: &str) -> bool {
    after.is_empty() || after.starts_with([' ', '\t'])
}

/// A quoted scalar at the start of `text`: its value and its length with the quotes.
fn quoted(text: &str) -> Option<(String, usize)> {
    let quote = text.chars().next()?;
    let mut value = String::new();
    let mut chars = text.char_indices().skip(1);
    while let Some((index, c)) = chars.next() {
        match c {
            '\\' if quote == '"' => {
                if let Some((_, escaped)) = chars.next() {
                    value.push(escaped);
                }
            }
            c if c == quote => {
                // '' is a quote inside a single-quoted scalar.
                if quote == '\'' && text[index + 1..].starts_with('\'') {
                    chars.next();
                    value.push('\'');
                } else {
                    return Some((value, index + 1));
                }
            }
            c => value.push(c),
        }
    }
    None
}

/// A block scalar's value: quoted, or plain up to a comment.
fn scalar(text: &str) -> String {
    if let Some((value, _)) = quoted(text) {
        return value;
    }
    text.split(" #").next().unwrap_or("").trim().to_owned()
}

/// Reads a flow collection, which may span lines, character by character.
struct Flow<'s, 'a> {
    lines: &'s [&'a str],
    line: usize,
    byte: usize,
}

impl<'s, 'a> Flow<'s, 'a> {
    fn new(lines: &'s [&'a str], line: usize, byte: usize) -> Self {
        Self { lines, line, byte }
    }

    fn rest(&self) -> &'a str {
        self.lines
            .get(self.line)
            .and_then(|line| line.get(self.byte..))
            .unwrap_or("")
    }

    fn span(&self) -> SourceSpan {
        let before = self
            .lines
            .get(self.line)
            .and_then(|line| line.get(..self.byte))
            .unwrap_or("");
        SourceSpan {
            line: u32::try_from(self.line + 1).unwrap_or(u32::MAX),
            column: u32::try_from(before.chars().count() + 1).unwrap_or(u32::MAX),
        }
    }

    /// The next character; a line's end reads as `\n`; `None` at the end of the text.
    fn peek(&self) -> Option<char> {
        match self.rest().chars().next() {
            Some(c) => Some(c),
            None if self.line + 1 < self.lines.len() => Some('\n'),
            None => None,
        }
    }

    fn bump(&mut self) {
        if let Some(c) = self.rest().chars().next() {
            self.byte += c.len_utf8();
        } else {
            self.line += 1;
            self.byte = 0;
        }
    }

    /// Skips spaces, line ends and comments.
    fn skip_space(&mut self) {
        while let Some(c) = self.peek() {
            match c {
                ' ' | '\t' | '\n' | '\r' => self.bump(),
                '#' => self.byte += self.rest().len(),
                _ => return,
            }
        }
    }

    fn value(&mut self) -> Node {
        self.skip_space();
        match self.peek() {
            Some('{') => self.map(),
            Some('[') => self.list(),
            _ => Node::Scalar(self.scalar(false)),
        }
    }

    fn map(&mut self) -> Node {
        self.bump();
        let mut entries = Vec::new();
        loop {
            self.skip_space();
            let at = self.span();
            match self.peek() {
                None => break,
                Some('}' | ']') => {
                    self.bump();
                    break;
                }
                Some(',') => self.bump(),
                Some(_) => {
                    let start = (self.line, self.byte);
                    let key = self.scalar(true);
                    self.skip_space();
                    let value = if self.peek() == Some(':') {
                        self.bump();
                        self.value()
                    } else {
                        Node::Scalar(String::new())
                    };
                    entries.push(Entry { key, at, value });
                    if (self.line, self.byte) == start {
                        self.bump();
                    }
                }
            }
        }
        Node::Map(entries)
    }

    fn list(&mut self) -> Node {
        self.bump();
        let mut items = Vec::new();
        loop {
            self.skip_space();
            let at = self.span();
            match self.peek() {
                None => break,
                Some(']' | '}') => {
                    self.bump();
                    break;
                }
                Some(',') => self.bump(),
                Some(_) => {
                    let start = (self.line, self.byte);
                    let value = self.value();
                    items.push(Item { at, value });
                    if (self.line, self.byte) == start {
                        self.bump();
                    }
                }
            }
        }
        Node::List(items)
    }

    /// A quoted or plain scalar; a `key` also ends at a colon that ends a key.
    fn scalar(&mut self, key: bool) -> String {
        let rest = self.rest();
        if rest.starts_with(['"', '\'']) {
            if let Some((value, length)) = quoted(rest) {
                self.byte += length;
                return value;
            }
            self.byte += rest.len();
            return rest.to_owned();
        }
        let mut end = rest.len();
        for (index, c) in rest.char_indices() {
            let ends = match c {
                ',' | '[' | ']' | '{' | '}' => true,
                '#' => rest[..index].ends_with([' ', '\t']),
                ':' => {
                    key && rest[index + 1..]
                        .chars()
                        .next()
                        .is_none_or(|next| " \t,[]{}".contains(next))
                }
                _ => false,
            };
            if ends {
                end = index;
                break;
            }
        }
        self.byte += end;
        rest[..end].trim().to_owned()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const GATES: &str = "version: 1\ngates:\n  staging:\n    metrics: [a]\n  prod:\n    # why\n    metrics: [b]\n    require-tag: \"v*\"\nenvironments: []\n";

    fn line(path: &[&str]) -> Option<u32> {
        locate_key(GATES, path).map(|span| span.line)
    }

    fn at(source: &str, path: &KeyPath) -> Option<(u32, u32)> {
        locate(source, path).map(|span| (span.line, span.column))
    }

    #[test]
    fn finds_keys_under_their_parent_only() {
        assert_eq!(line(&["gates", "prod", "metrics"]), Some(7));
        assert_eq!(line(&["gates", "staging", "metrics"]), Some(4));
        assert_eq!(line(&["gates", "prod", "require-tag"]), Some(8));
        assert_eq!(line(&["gates", "staging", "require-tag"]), None);
        assert_eq!(line(&["gates", "dev"]), None);
        assert_eq!(line(&["gates", "metrics"]), None, "not a grandchild");
    }

    #[test]
    fn the_nearest_key_is_the_deepest_that_exists() {
        let span = locate_nearest_key(GATES, &["gates", "staging", "require-tag"]).unwrap();
        assert_eq!((span.line, span.column), (3, 3));
        assert_eq!(locate_nearest_key(GATES, &["nothing"]), None);
    }

    const ENVIRONMENTS: &str = "version: 1\nenvironments:\n  - name: dev\n    region: westeurope\n  - name: prod\n    names: { key-vault: kv--x, \"storage-account\": st }\n    rbac:\n      readers: [x]\n    network:\n      # comment\n      address-space: 10.0.0.0/26   # too small\n";

    #[test]
    fn list_items_are_found_by_name_in_block_and_flow_style() {
        let prod = KeyPath::environment("prod");
        assert_eq!(at(ENVIRONMENTS, &prod), Some((5, 5)));
        assert_eq!(
            at(ENVIRONMENTS, &prod.clone().keys(&["names", "key-vault"])),
            Some((6, 14))
        );
        assert_eq!(
            at(
                ENVIRONMENTS,
                &prod.clone().keys(&["names", "storage-account"])
            ),
            Some((6, 32))
        );
        assert_eq!(
            at(ENVIRONMENTS, &prod.clone().keys(&["rbac", "readers"])),
            Some((8, 7))
        );
        assert_eq!(
            at(
                ENVIRONMENTS,
                &prod.clone().keys(&["network", "address-space"])
            ),
            Some((11, 7))
        );
        let dev_names = KeyPath::environment("dev").keys(&["names", "storage-account"]);
        assert_eq!(at(ENVIRONMENTS, &dev_names), None);
        let nearest = locate_nearest(ENVIRONMENTS, &dev_names).unwrap();
        assert_eq!(
            (nearest.line, nearest.column),
            (3, 5),
            "falls back to the environment's entry"
        );
        assert_eq!(at(ENVIRONMENTS, &KeyPath::environment("staging")), None);
    }

    #[test]
    fn lists_at_their_keys_indentation_and_flow_lists_of_mappings() {
        let source = "environments:\n- name: dev\n  rbac:\n    readers:\n    - a\n- {name: prod, region: x}\niac:\n  targets: [terraform]\n";
        assert_eq!(
            at(
                source,
                &KeyPath::environment("dev").keys(&["rbac", "readers"])
            ),
            Some((4, 5))
        );
        assert_eq!(
            at(source, &KeyPath::environment("prod").key("region")),
            Some((6, 16))
        );
        assert_eq!(at(source, &KeyPath::new(&["iac", "targets"])), Some((8, 3)));

        let flow = "environments: [{ name: dev }, { name: prod, names: {key-vault: x} }]\n";
        assert_eq!(
            at(
                flow,
                &KeyPath::environment("prod").keys(&["names", "key-vault"])
            ),
            Some((1, 53))
        );
    }

    #[test]
    fn values_that_look_like_keys_are_not_keys() {
        let source = "project:\n  name: demo\n  description: \"a: b # c\"\niac:\n  kubernetes:\n    repo-url: https://example.com/x.git\n    image: x  # name: y\n  output-dir: infra\n";
        assert_eq!(
            at(source, &KeyPath::new(&["iac", "output-dir"])),
            Some((8, 3))
        );
        assert_eq!(
            at(source, &KeyPath::new(&["iac", "kubernetes", "name"])),
            None
        );
        assert_eq!(at(source, &KeyPath::new(&["project", "a"])), None);
    }

    #[test]
    fn block_scalars_and_multi_line_flow_are_skipped_over() {
        let source = "train:\n  command: [\n    python, train.py,\n  ]\n  notes: |\n    timeout: no\n  timeout: 1h\n";
        assert_eq!(
            at(source, &KeyPath::new(&["train", "timeout"])),
            Some((7, 3))
        );
    }

    #[test]
    fn paths_read_like_the_manifest() {
        assert_eq!(
            KeyPath::environment("prod")
                .keys(&["rbac", "readers"])
                .to_string(),
            "environments[prod].rbac.readers"
        );
        assert_eq!(KeyPath::new(&["gates", "prod"]).to_string(), "gates.prod");
    }

    #[test]
    fn odd_text_finds_nothing_and_does_not_hang() {
        for source in [
            "",
            "# only\n",
            "a: {b: [c, {d: }",
            "- - -\n",
            "a: ]\n",
            "{: x}\n",
            "\"a\n",
        ] {
            let _ = locate_nearest(source, &KeyPath::new(&["a", "b", "d"]));
        }
    }
}
