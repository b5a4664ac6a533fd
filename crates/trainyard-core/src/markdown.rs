//! The one Markdown builder every report uses (job summaries, the PR
//! comment, check-run summaries): table cells and code spans that stay text
//! whatever the data holds, and the one way numbers and commits are shown.

use std::fmt::Write as _;

/// Text for a table cell: `|` cannot end the cell, a newline cannot end the
/// row, and HTML (`<details>`, `<img>`) stays text.
pub fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\r' => {}
            '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// `text` as an inline code span that nothing inside can close: the fence is
/// one backtick longer than the longest run of backticks in it (CommonMark),
/// and a cell's pipes are escaped (GitHub splits table rows before it parses
/// code spans). Newlines become spaces, as inside any code span.
pub fn code(text: &str) -> String {
    let text = text.replace(['\r', '\n'], " ").replace('|', "\\|");
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest + 1);
    // A span that starts or ends with a backtick needs a space to be read.
    if text.starts_with('`') || text.ends_with('`') || text.is_empty() {
        format!("{fence} {text} {fence}")
    } else {
        format!("{fence}{text}{fence}")
    }
}

/// A metric for people: up to 4 decimals, no trailing zeros; NaN and
/// infinities as Rust writes them.
pub fn metric(value: f64) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    let text = format!("{value:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

/// A commit as people see it: its first 7 hex digits, as git and GitHub abbreviate.
pub fn short_commit(commit: &str) -> &str {
    commit.get(..7).unwrap_or(commit)
}

/// A Markdown table: a header row and rows of cells, each cell written as
/// given (use [`cell`] or [`code`] for values that come from data).
#[derive(Debug, Clone, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new<I, S>(header: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            header: header.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (cells already escaped).
    pub fn row<I, S>(&mut self, cells: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.rows.push(cells.into_iter().map(Into::into).collect());
        self
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table, ending with a newline.
    pub fn render(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(md, "| {} |", self.header.join(" | "));
        let _ = writeln!(
            md,
            "|{}|",
            self.header
                .iter()
                .map(|_| "---")
                .collect::<Vec<_>>()
                .join("|")
        );
        for row in &self.rows {
            let _ = writeln!(md, "| {} |", row.join(" | "));
        }
        md
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_stay_in_their_cell_and_html_stays_text() {
        assert_eq!(cell("a|b"), "a\\|b");
        assert_eq!(
            cell("<details>x</details>"),
            "&lt;details&gt;x&lt;/details&gt;"
        );
        assert_eq!(cell("two\nlines"), "two lines");
    }

    #[test]
    fn code_spans_cannot_be_closed_by_their_content() {
        assert_eq!(code("plain"), "`plain`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x"), "`` `x ``");
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(code("x``y`"), "``` x``y` ```");
    }

    #[test]
    fn metrics_are_short_for_people() {
        assert_eq!(metric(0.912_345_6), "0.9123");
        assert_eq!(metric(2.0), "2");
        assert_eq!(metric(-0.000_01), "0");
        assert_eq!(metric(f64::NAN), "NaN");
        assert_eq!(metric(f64::INFINITY), "inf");
    }

    #[test]
    fn tables_render_rows_under_their_header() {
        let mut table = Table::new(["metric", "value"]);
        table.row(["auc", "0.9"]);
        assert_eq!(
            table.render(),
            "| metric | value |\n|---|---|\n| auc | 0.9 |\n"
        );
    }
}
