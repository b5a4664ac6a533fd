//! Console text for a person at a terminal: aligned tables, failures first
//! and in full, passing rows counted in one line (all of them with
//! `verbose`), no Markdown, HTML or mermaid. CI logs keep `console::render`.
//!
//! A step's `Report::blocks` (tables with a status per row, charts, text)
//! are rendered as they are; a step without blocks has its Markdown summary
//! read with pulldown-cmark and shown as text: `<details>` folded to its
//! `<summary>` (unfolded with `verbose` or when the step failed, since then
//! it holds why: a diff, a log's tail), mermaid charts dropped, tables
//! aligned.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};
use comfy_table::{CellAlignment, ContentArrangement, LineStyle, TableStyle};
use pulldown_cmark::{BlockQuoteKind, CodeBlockKind, Event, Options, Parser, Tag, TagEnd};
use trainyard_core::{Block, Chart, Conclusion, Report, RowStatus, Table};

use crate::console::{finding_line, one_line, paint, push_block};
use crate::escape::visible;

/// How the terminal text is drawn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TerminalOptions {
    /// ANSI colours (the binary decides: `--color`, a TTY, `NO_COLOR`).
    pub color: bool,
    /// Every row, every output and every folded section.
    pub verbose: bool,
}

/// The report for a person: the first line (symbol, step, conclusion,
/// title); its findings, errors first; its blocks (or its summary as text);
/// its outputs when verbose; then each child indented. A child (a phase of
/// `quickstart`, the gate inside `promote`) shows its first line and its
/// findings, its blocks or summary only when verbose, so each phase stays a
/// line or a few.
pub fn render(report: &Report, options: TerminalOptions) -> String {
    let mut out = String::new();
    render_at(report, options, "", 0, &mut out);
    out
}

fn render_at(
    report: &Report,
    options: TerminalOptions,
    indent: &str,
    depth: usize,
    out: &mut String,
) {
    let color = options.color;
    let (symbol, style) = conclusion_style(report.conclusion);
    let _ = writeln!(
        out,
        "{indent}{} {} ({}): {}",
        paint(symbol, style, color),
        paint(&one_line(&report.step), Style::new().bold(), color),
        paint(&report.conclusion.to_string(), style, color),
        one_line(&report.title),
    );
    let inner = format!("{indent}  ");
    let mut findings: Vec<_> = report.findings.iter().collect();
    findings.sort_by_key(|finding| finding.severity);
    for finding in findings {
        out.push_str(&finding_line(finding, color, &inner));
    }
    let mut body: Vec<Vec<String>> = Vec::new();
    let shown = depth == 0 || options.verbose;
    if !report.blocks.is_empty() && shown {
        let mut previous: Option<&Block> = None;
        for block in &report.blocks {
            let lines = block_lines(block, options);
            // Charts one under the other, as one paragraph.
            match (previous, block, body.last_mut()) {
                (Some(Block::Chart(_)), Block::Chart(_), Some(last)) => last.extend(lines),
                _ => body.push(lines),
            }
            previous = Some(block);
        }
    } else if report.blocks.is_empty() && !report.summary.trim().is_empty() && shown {
        // A failed step's folded sections hold why (a diff, a log's tail).
        let unfold = TerminalOptions {
            verbose: options.verbose || report.conclusion == Conclusion::Failure,
            ..options
        };
        body.push(markdown_lines(&report.summary, unfold));
    }
    for lines in body.into_iter().filter(|lines| !lines.is_empty()) {
        out.push('\n');
        for line in lines {
            if line.is_empty() {
                out.push('\n');
            } else {
                let _ = writeln!(out, "{inner}{line}");
            }
        }
    }
    if options.verbose && !report.outputs.is_empty() {
        out.push('\n');
        for (name, value) in &report.outputs {
            let head = format!(
                "{inner}{} = ",
                paint(&one_line(name), Style::new().dimmed(), color)
            );
            push_block(out, &head, &format!("{inner}    "), value);
        }
    }
    if depth == 0 && (!report.blocks.is_empty() || !report.summary.trim().is_empty()) {
        out.push('\n');
    }
    for child in &report.children {
        render_at(child, options, &inner, depth + 1, out);
    }
}

fn conclusion_style(conclusion: Conclusion) -> (&'static str, Style) {
    match conclusion {
        Conclusion::Success => ("✔", AnsiColor::Green.on_default().bold()),
        Conclusion::Failure => ("✖", AnsiColor::Red.on_default().bold()),
        Conclusion::Neutral => ("–", AnsiColor::BrightBlack.on_default().bold()),
    }
}

fn status_mark(status: RowStatus) -> (&'static str, Style) {
    match status {
        RowStatus::Fail => ("✖", AnsiColor::Red.on_default().bold()),
        RowStatus::Warn => ("!", AnsiColor::Yellow.on_default().bold()),
        RowStatus::Pass => ("✔", AnsiColor::Green.on_default()),
        RowStatus::Skip => ("–", AnsiColor::BrightBlack.on_default()),
    }
}

/// A block as lines (without the indent).
fn block_lines(block: &Block, options: TerminalOptions) -> Vec<String> {
    match block {
        Block::Text { text } => visible(text).lines().map(str::to_owned).collect(),
        Block::Table(table) => table_block_lines(table, options),
        Block::Chart(chart) => chart_lines(chart),
    }
}

/// A judged table: failing and warning rows first, then (verbose) the
/// others, or one line counting the rows that passed.
fn table_block_lines(table: &Table, options: TerminalOptions) -> Vec<String> {
    let judged = table.rows.iter().any(|row| row.status.is_some());
    let mut rows: Vec<_> = table.rows.iter().collect();
    if judged {
        // Stable: within a status, the step's order.
        rows.sort_by_key(|row| row.status.unwrap_or(RowStatus::Skip));
    }
    let passed = rows
        .iter()
        .filter(|row| row.status == Some(RowStatus::Pass))
        .count();
    let folded = judged && !options.verbose && passed > 0;
    if folded {
        rows.retain(|row| row.status != Some(RowStatus::Pass));
    }
    let mut header: Vec<String> = Vec::new();
    let mut numeric: Vec<bool> = Vec::new();
    if judged {
        header.push(String::new());
        numeric.push(false);
    }
    for column in &table.columns {
        header.push(one_line(&column.name));
        numeric.push(column.numeric);
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            let mut cells = Vec::with_capacity(header.len());
            if judged {
                cells.push(
                    row.status
                        .map_or("", |status| status_mark(status).0)
                        .to_owned(),
                );
            }
            cells.extend(row.cells.iter().map(|cell| one_line(cell)));
            cells
        })
        .collect();
    let mut lines = if cells.is_empty() {
        Vec::new()
    } else {
        aligned(&header, &cells, &numeric)
    };
    if options.color && judged {
        // The mark is the first cell of each row's one line (cells never wrap).
        for (line, row) in lines.iter_mut().skip(2).zip(&rows) {
            if let Some(status) = row.status {
                let (mark, style) = status_mark(status);
                *line = line.replacen(mark, &paint(mark, style, true), 1);
            }
        }
    }
    if folded {
        let count = format!(
            "{} {passed} {} passed",
            status_mark(RowStatus::Pass).0,
            one_line(&table.rows_are)
        );
        lines.push(paint(&count, status_mark(RowStatus::Pass).1, options.color));
    }
    lines
}

/// A chart in one line: the title, a sparkline of its values, the first and
/// the last value with their labels.
fn chart_lines(chart: &Chart) -> Vec<String> {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let (Some(first), Some(last)) = (chart.points.first(), chart.points.last()) else {
        return vec![format!("{}: no values", one_line(&chart.title))];
    };
    let min = chart
        .points
        .iter()
        .map(|(_, v)| *v)
        .fold(f64::INFINITY, f64::min);
    let max = chart
        .points
        .iter()
        .map(|(_, v)| *v)
        .fold(f64::NEG_INFINITY, f64::max);
    let spark: String = chart
        .points
        .iter()
        .map(|(_, value)| {
            if max > min {
                let step = ((value - min) / (max - min) * 7.0).round();
                // In 0..=7 by construction.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                BARS[(step as usize).min(7)]
            } else {
                BARS[3]
            }
        })
        .collect();
    let metric = trainyard_core::markdown::metric;
    let ends = if chart.points.len() == 1 {
        format!("{} ({})", metric(first.1), one_line(&first.0))
    } else {
        format!(
            "{} ({}) → {} ({})",
            metric(first.1),
            one_line(&first.0),
            metric(last.1),
            one_line(&last.0)
        )
    };
    vec![format!("{}  {spark}  {ends}", one_line(&chart.title))]
}

/// Columns aligned by comfy-table: a header, a rule under it, one line per
/// row (cells never wrap), columns two spaces apart, numbers to the right.
fn aligned(header: &[String], rows: &[Vec<String>], numeric: &[bool]) -> Vec<String> {
    let mut table = comfy_table::Table::new();
    // Only the line under the header: no borders, no column separators.
    table
        .load_style(TableStyle::new().header_separator(LineStyle::none().fill('─')))
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.iter().map(String::as_str));
    for row in rows {
        table.add_row(row.iter().map(String::as_str));
    }
    for (index, column) in table.column_iter_mut().enumerate() {
        column.set_padding((0, 2));
        if numeric.get(index).copied().unwrap_or(false) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    table
        .lines()
        .map(|line| line.trim_end().to_owned())
        .collect()
}

/// What a Markdown summary says, as text lines: paragraphs, headings, lists,
/// notes, code blocks indented, tables aligned; HTML dropped, `<details>`
/// folded to its `<summary>` (all of it when verbose), mermaid left out.
fn markdown_lines(markdown: &str, options: TerminalOptions) -> Vec<String> {
    let mut reader = MarkdownText::new(options);
    let parser = Parser::new_ext(
        markdown,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_GFM,
    );
    for event in parser {
        reader.event(event);
    }
    reader.finish()
}

/// `<code>a</code> b` as `a b`.
fn without_tags(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.trim().to_owned()
}

#[derive(Default)]
struct TableText {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    numeric: Vec<bool>,
    row: Vec<String>,
    cell: String,
}

struct MarkdownText {
    options: TerminalOptions,
    lines: Vec<String>,
    line: String,
    /// The prefix of the next line (`- `, `note: `).
    prefix: String,
    table: Option<TableText>,
    /// Inside a fenced block: its text, and whether it is shown.
    code: Option<(String, bool)>,
    /// How deep inside `<details>` the reader is; hidden when not verbose.
    details: usize,
    heading: bool,
    list_depth: usize,
}

impl MarkdownText {
    fn new(options: TerminalOptions) -> Self {
        Self {
            options,
            lines: Vec::new(),
            line: String::new(),
            prefix: String::new(),
            table: None,
            code: None,
            details: 0,
            heading: false,
            list_depth: 0,
        }
    }

    fn hidden(&self) -> bool {
        self.details > 0 && !self.options.verbose
    }

    fn push_text(&mut self, text: &str) {
        if self.hidden() {
            return;
        }
        if let Some((code, _)) = &mut self.code {
            code.push_str(text);
        } else if let Some(table) = &mut self.table {
            table.cell.push_str(text);
        } else {
            if self.line.is_empty() {
                self.line.push_str(&std::mem::take(&mut self.prefix));
            }
            self.line.push_str(text);
        }
    }

    fn flush(&mut self) {
        if self.line.trim().is_empty() {
            self.line.clear();
            return;
        }
        let line = visible(&std::mem::take(&mut self.line));
        let line = if self.heading {
            paint(&line, Style::new().bold(), self.options.color)
        } else {
            line
        };
        self.lines.push(line);
    }

    fn blank(&mut self) {
        if self.lines.last().is_some_and(|line| !line.is_empty()) {
            self.lines.push(String::new());
        }
    }

    fn html(&mut self, html: &str) {
        let opens = html.matches("<details").count();
        let closes = html.matches("</details>").count();
        if opens > 0 && self.details == 0 && !self.options.verbose {
            let summary = html
                .split_once("<summary>")
                .and_then(|(_, rest)| rest.split_once("</summary>"))
                .map(|(summary, _)| without_tags(summary))
                .filter(|summary| !summary.is_empty());
            self.flush();
            self.lines.push(format!(
                "▸ {} (--verbose shows it)",
                visible(&summary.unwrap_or_else(|| "more".to_owned()))
            ));
            self.lines.push(String::new());
        } else if opens > 0 && self.options.verbose {
            // The summary line stays as a heading of what follows.
            if let Some((summary, _)) = html
                .split_once("<summary>")
                .and_then(|(_, rest)| rest.split_once("</summary>"))
            {
                self.flush();
                self.lines.push(visible(&without_tags(summary)));
            }
        }
        self.details = (self.details + opens).saturating_sub(closes);
    }

    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Html(html) | Event::InlineHtml(html) => self.html(&html),
            _ if self.hidden() => {}
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text) | Event::Code(text) => self.push_text(&text),
            Event::SoftBreak => self.push_text(" "),
            Event::HardBreak => self.flush(),
            Event::Rule => self.blank(),
            Event::TaskListMarker(done) => self.push_text(if done { "[x] " } else { "[ ] " }),
            Event::FootnoteReference(_) | Event::InlineMath(_) | Event::DisplayMath(_) => {}
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Heading { .. } => {
                self.flush();
                self.heading = true;
            }
            Tag::BlockQuote(kind) => {
                self.flush();
                let label = match kind {
                    Some(BlockQuoteKind::Note) => "note: ",
                    Some(BlockQuoteKind::Tip) => "tip: ",
                    Some(BlockQuoteKind::Important) => "important: ",
                    Some(BlockQuoteKind::Warning) => "warning: ",
                    Some(BlockQuoteKind::Caution) => "caution: ",
                    None => "",
                };
                label.clone_into(&mut self.prefix);
            }
            Tag::CodeBlock(kind) => {
                self.flush();
                let shown =
                    !matches!(&kind, CodeBlockKind::Fenced(info) if info.trim() == "mermaid");
                self.code = Some((String::new(), shown));
            }
            Tag::List(_) => {
                self.flush();
                self.list_depth += 1;
            }
            Tag::Item => {
                self.flush();
                self.prefix = format!("{}- ", "  ".repeat(self.list_depth.saturating_sub(1)));
            }
            Tag::Table(alignments) => {
                self.flush();
                self.table = Some(TableText {
                    numeric: alignments
                        .iter()
                        .map(|alignment| *alignment == pulldown_cmark::Alignment::Right)
                        .collect(),
                    ..TableText::default()
                });
            }
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph => {
                self.flush();
                if self.list_depth == 0 {
                    self.blank();
                }
            }
            TagEnd::Heading(_) => {
                self.flush();
                self.heading = false;
                self.blank();
            }
            TagEnd::BlockQuote(_) => {
                self.flush();
                self.prefix.clear();
                self.blank();
            }
            TagEnd::CodeBlock => {
                if let Some((code, shown)) = self.code.take()
                    && shown
                {
                    for line in visible(code.trim_end()).lines() {
                        self.lines.push(format!("    {line}"));
                    }
                    self.blank();
                }
            }
            TagEnd::Item => self.flush(),
            TagEnd::List(_) => {
                self.flush();
                self.list_depth = self.list_depth.saturating_sub(1);
                if self.list_depth == 0 {
                    self.blank();
                }
            }
            TagEnd::TableCell => {
                if let Some(table) = &mut self.table {
                    let cell = one_line(std::mem::take(&mut table.cell).trim());
                    table.row.push(cell);
                }
            }
            TagEnd::TableHead => {
                if let Some(table) = &mut self.table {
                    table.header = std::mem::take(&mut table.row);
                }
            }
            TagEnd::TableRow => {
                if let Some(table) = &mut self.table {
                    let row = std::mem::take(&mut table.row);
                    table.rows.push(row);
                }
            }
            TagEnd::Table => {
                if let Some(table) = self.table.take() {
                    self.lines
                        .extend(aligned(&table.header, &table.rows, &table.numeric));
                    self.blank();
                }
            }
            _ => {}
        }
    }

    fn finish(mut self) -> Vec<String> {
        self.flush();
        while self.lines.last().is_some_and(String::is_empty) {
            self.lines.pop();
        }
        self.lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trainyard_core::{Finding, Location};

    const PLAIN: TerminalOptions = TerminalOptions {
        color: false,
        verbose: false,
    };

    fn checks() -> Table {
        let mut table = Table::new("checks", ["check", "observed"]);
        for index in 0..12 {
            table.row(
                Some(RowStatus::Pass),
                [format!("check {index}"), "ok".to_owned()],
            );
        }
        table.row(
            Some(RowStatus::Fail),
            ["unique `id`".to_owned(), "3 duplicates".to_owned()],
        );
        table
    }

    #[test]
    fn failures_first_and_passing_rows_in_one_line() {
        let mut report = Report::new(
            "data validate",
            Conclusion::Failure,
            "0 of 1 dataset(s) valid",
        )
        .with_block(Block::text("train: 569 rows in 1 file(s)"))
        .with_block(checks());
        report.push_finding(Finding::warning("null-ratio", "column `x` is 12% null"));
        report.push_finding(
            Finding::error("unique", "`id`: value `7`").at(Location::file("d.csv").at(9, None)),
        );
        let text = render(&report, PLAIN);
        assert_eq!(
            text,
            "✖ data validate (failure): 0 of 1 dataset(s) valid\n  \
             error[unique] d.csv:9: `id`: value `7`\n  \
             warning[null-ratio] column `x` is 12% null\n\n  \
             train: 569 rows in 1 file(s)\n\n  \
             \x20  check        observed\n  \
             ──────────────────────────────\n  \
             ✖  unique `id`  3 duplicates\n  \
             ✔ 12 checks passed\n\n"
        );
        let verbose = render(
            &report,
            TerminalOptions {
                verbose: true,
                ..PLAIN
            },
        );
        assert!(verbose.contains("✔  check 11     ok"), "{verbose}");
        assert!(verbose.contains("conclusion") || !verbose.contains(" = "));
    }

    #[test]
    fn markdown_without_html_mermaid_or_pipes() {
        let summary = "## Heading\n\nSome **bold** text with `code`.\n\n\
            | metric | value |\n|---|---:|\n| accuracy | 0.9 |\n| f1 | 0.88 |\n\n\
            > [!NOTE]\n> Read this.\n\n\
            ```mermaid\nxychart-beta\n```\n\n\
            <details><summary><code>Full</code> profile</summary>\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n</details>\n\n\
            - one\n- two\n";
        let report = Report::new("runs list", Conclusion::Success, "t").with_summary(summary);
        let text = render(&report, PLAIN);
        for raw in [
            "<details", "<summary", "mermaid", "xychart", "|", "**", "[!NOTE]",
        ] {
            assert!(!text.contains(raw), "{raw} in\n{text}");
        }
        assert_eq!(
            text,
            "✔ runs list (success): t\n\n  Heading\n\n  Some bold text with code.\n\n  \
             metric    value\n  ─────────────────\n  accuracy    0.9\n  f1         0.88\n\n  \
             note: Read this.\n\n  ▸ Full profile (--verbose shows it)\n\n  - one\n  - two\n\n"
        );
        let verbose = render(
            &report,
            TerminalOptions {
                verbose: true,
                ..PLAIN
            },
        );
        assert!(verbose.contains("Full profile\n"), "{verbose}");
        assert!(verbose.contains("  1  2\n"), "{verbose}");
        assert!(!verbose.contains("<details"), "{verbose}");
        let failed = Report::new("iac check", Conclusion::Failure, "t").with_summary(summary);
        assert_eq!(
            render(&failed, PLAIN),
            verbose.replace("✔ runs list (success)", "✖ iac check (failure)")
        );
    }

    #[test]
    fn colour_only_when_asked() {
        let report = Report::new("s", Conclusion::Failure, "t").with_block(checks());
        assert!(!render(&report, PLAIN).contains('\u{1b}'));
        let coloured = render(
            &report,
            TerminalOptions {
                color: true,
                ..PLAIN
            },
        );
        assert!(coloured.contains("\u{1b}["), "{coloured}");
    }

    #[test]
    fn control_characters_cannot_reach_the_terminal() {
        let mut table = Table::new("rows", ["value\x1b[2J"]);
        table.row(Some(RowStatus::Fail), ["a\x1b]0;title\x07\nb"]);
        let report = Report::new("s", Conclusion::Failure, "t")
            .with_block(Block::text("x\x1b[31m"))
            .with_block(table)
            .with_block(Chart::new("c\x1b[1m", [("l\r".to_owned(), 1.0)]));
        let markdown = Report::new("s", Conclusion::Failure, "t")
            .with_summary("# h\x1b[2J\n\n| a |\n|---|\n| \x1b[31m |\n\n```\n\x1b[2J\n```\n");
        for report in [report, markdown] {
            let text = render(
                &report,
                TerminalOptions {
                    verbose: true,
                    ..PLAIN
                },
            );
            assert!(!text.contains('\u{1b}'), "{text}");
            assert!(!text.contains('\r') && !text.contains('\x07'), "{text}");
        }
    }

    #[test]
    fn a_chart_is_one_line() {
        let chart = Chart::new(
            "accuracy on main",
            [("aaaaaaa", 0.91), ("bbbbbbb", 0.94), ("ccccccc", 0.95)]
                .map(|(label, value)| (label.to_owned(), value)),
        );
        assert_eq!(
            chart_lines(&chart),
            ["accuracy on main  ▁▆█  0.91 (aaaaaaa) → 0.95 (ccccccc)"]
        );
    }
}
