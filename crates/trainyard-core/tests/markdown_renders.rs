//! The Markdown builder's promise, checked with a CommonMark parser with GFM
//! tables (pulldown-cmark): whatever a value holds, `cell`, `text` and `code`
//! render it as written, in its one cell, and `fenced` keeps a block whole.
#![allow(clippy::unwrap_used)]

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};
use trainyard_core::markdown::{Table, cell, code, code_in_text, fenced, text};

const NASTY: &[&str] = &[
    "plain",
    "a`b|c<details>",
    "`leading and trailing`",
    "``double`` and ```triple```",
    "pipe | and escaped \\| pipe \\\\| and trailing \\",
    "<details><summary>open</summary>",
    "log_loss mean_radius snake_case_name",
    "[link](https://example.com) ![image](x.png) <https://example.com>",
    "# heading-like > quote-like - list-like >= 0.9",
    "&amp; &lt; entity-like &#124;",
    "back\\slash\\`tick",
    "",
];

/// What a reader sees in each cell of the first table: its text (code spans
/// included, `<br>` as a line break), and how many text or code nodes show it.
fn cells(markdown: &str) -> Vec<Vec<(String, usize)>> {
    let mut rows: Vec<Vec<(String, usize)>> = Vec::new();
    let mut current: Option<(String, usize)> = None;
    let mut last_was_text = false;
    for event in Parser::new_ext(markdown, Options::ENABLE_TABLES) {
        // A line break inside a cell continues its text.
        let is_text = match &event {
            Event::Text(_) => true,
            Event::InlineHtml(html) => html.as_ref() == "<br>",
            _ => false,
        };
        match event {
            Event::Start(Tag::TableHead | Tag::TableRow) => rows.push(Vec::new()),
            Event::Start(Tag::TableCell) => current = Some((String::new(), 0)),
            Event::End(TagEnd::TableCell) => rows.last_mut().unwrap().push(current.take().unwrap()),
            Event::Text(shown) => {
                let (text, nodes) = current.as_mut().unwrap();
                if !last_was_text {
                    *nodes += 1;
                }
                text.push_str(&shown);
            }
            Event::Code(shown) => {
                let (text, nodes) = current.as_mut().unwrap();
                *nodes += 1;
                text.push_str(&shown);
            }
            Event::InlineHtml(html) if html.as_ref() == "<br>" => {
                current.as_mut().unwrap().0.push('\n');
            }
            other @ (Event::Html(_) | Event::InlineHtml(_)) => {
                panic!("HTML {other:?} in:\n{markdown}")
            }
            Event::Start(tag) if !matches!(tag, Tag::Table(_)) => {
                panic!("markup {tag:?} in:\n{markdown}")
            }
            _ => {}
        }
        last_was_text = is_text;
    }
    rows
}

#[test]
fn cells_and_code_spans_show_any_value_as_written_in_one_cell() {
    for value in NASTY.iter().copied().chain(["two\nlines", "crlf\r\nline"]) {
        let mut table = Table::new(["code", "cell", "after"]);
        table.row([code(value), cell(value), "end".to_owned()]);
        let markdown = table.render();
        let rows = cells(&markdown);
        assert_eq!(rows.len(), 2, "{markdown}");
        let row = &rows[1];
        assert_eq!(row.len(), 3, "{markdown}");
        let flat = value.replace("\r\n", "\n");
        // An empty code span is its padding: blank either way.
        let code_shown = if value.is_empty() {
            row[0].0.trim()
        } else {
            &row[0].0
        };
        assert_eq!(code_shown, flat.replace('\n', " "), "code: {markdown}");
        assert_eq!(row[1].0, flat, "cell: {markdown}");
        assert!(
            row[0].1 <= 1 && row[1].1 <= 1,
            "split into nodes: {markdown}"
        );
        assert_eq!(row[2].0, "end", "{markdown}");
    }
}

#[test]
fn text_shows_any_value_as_written() {
    for value in NASTY {
        let markdown = format!("**Dataset** {} here.\n", text(value));
        let mut shown = String::new();
        for event in Parser::new_ext(&markdown, Options::ENABLE_TABLES) {
            match event {
                Event::Text(text) => shown.push_str(&text),
                Event::Start(Tag::Paragraph | Tag::Strong) | Event::End(_) => {}
                other => panic!("{other:?} in:\n{markdown}"),
            }
        }
        assert_eq!(shown, format!("Dataset {value} here."), "{markdown}");
    }
}

#[test]
fn fenced_blocks_keep_any_text_whole() {
    for value in ["a: 1\n", "```\nnot the end\n```\n", "````", "no newline"] {
        let markdown = format!("{}after\n", fenced("text", value));
        let mut events = Parser::new(&markdown);
        assert!(matches!(
            events.next(),
            Some(Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info)))) if info.as_ref() == "text"
        ));
        let mut inside = String::new();
        for event in events.by_ref() {
            match event {
                Event::Text(text) => inside.push_str(&text),
                Event::End(TagEnd::CodeBlock) => break,
                other => panic!("{other:?} in:\n{markdown}"),
            }
        }
        let expected = if value.ends_with('\n') {
            value.to_owned()
        } else {
            format!("{value}\n")
        };
        assert_eq!(inside, expected, "{markdown}");
    }
}

#[test]
fn code_in_text_shows_any_value_as_one_code_span() {
    for value in NASTY.iter().filter(|value| !value.is_empty()) {
        let markdown = format!("Command: {} here.\n", code_in_text(value));
        let spans: Vec<String> = Parser::new_ext(&markdown, Options::ENABLE_TABLES)
            .filter_map(|event| match event {
                Event::Code(code) => Some(code.to_string()),
                Event::Html(_) | Event::InlineHtml(_) => panic!("HTML in:\n{markdown}"),
                _ => None,
            })
            .collect();
        assert_eq!(spans, [*value], "{markdown}");
    }
}
