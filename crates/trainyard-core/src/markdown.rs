//! The one Markdown builder every report uses (job summaries, the PR
//! comment, check-run summaries): table cells and code spans that stay text
//! whatever the data holds, and the one way numbers and commits are shown.

use std::fmt::Write as _;

/// What a table shows for a value that is missing or empty.
pub const MISSING: &str = "—";

/// Plain text inside Markdown (within a paragraph, a heading, emphasis; not
/// at the start of a line): what could end a table cell or row, open a code
/// span, a link, an image or an HTML element, or escape the next character
/// (`|`, `` ` ``, `[`, `]`, `\`) is backslash-escaped, `<` and `&` become
/// entities, and line breaks become spaces, so the text renders as written.
/// Emphasis markers (`*`, `_`, `~`) are left as they are: they can only style
/// the text's own words, and names like `log_loss` stay readable.
pub fn text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_text(&mut out, text);
    out
}

/// Plain text in a table cell: as [`text`] (which escapes `|`, so it cannot
/// end the cell), with line breaks kept as `<br>`. An empty text stays empty
/// (see [`or_missing`]).
pub fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (index, line) in text.split('\n').enumerate() {
        if index > 0 {
            out.push_str("<br>");
        }
        push_text(&mut out, line);
    }
    out
}

fn push_text(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '\\' | '`' | '[' | ']' | '|' => {
                out.push('\\');
                out.push(c);
            }
            '\r' => {}
            '\n' => out.push(' '),
            c => out.push(c),
        }
    }
}

/// `text`, or [`MISSING`] when it is empty.
pub fn or_missing(text: String) -> String {
    if text.is_empty() {
        MISSING.to_owned()
    } else {
        text
    }
}

/// `text` as an inline code span in a table cell that nothing inside can
/// close: the fence is one backtick longer than the longest run of backticks
/// in it (CommonMark), and pipes are escaped (GitHub splits table rows before
/// it parses code spans). Newlines become spaces, as inside any code span.
/// Outside a table, where a code span would show that escape as `\|`, use
/// [`code_in_text`].
pub fn code(text: &str) -> String {
    code_span(&text.replace('|', "\\|"))
}

/// `text` as an inline code span in running text (a paragraph, a heading, a
/// list item): as [`code`], with pipes left as they are.
pub fn code_in_text(text: &str) -> String {
    code_span(text)
}

fn code_span(text: &str) -> String {
    let text = text.replace("\r\n", " ").replace(['\r', '\n'], " ");
    let fence = "`".repeat(longest_backtick_run(&text) + 1);
    // A span that starts or ends with a backtick needs a space to be read.
    if text.starts_with('`') || text.ends_with('`') || text.is_empty() {
        format!("{fence} {text} {fence}")
    } else {
        format!("{fence}{text}{fence}")
    }
}

/// `text` as a fenced code block (` ```info `) that no line of it can close:
/// the fence is longer than any run of backticks inside. Ends with a newline.
pub fn fenced(info: &str, text: &str) -> String {
    let fence = "`".repeat(longest_backtick_run(text).max(2) + 1);
    let newline = if text.is_empty() || text.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    format!("{fence}{info}\n{text}{newline}{fence}\n")
}

/// Text for a quoted string of a mermaid chart (a title, an axis label)
/// inside a ```` ```mermaid ```` block: mermaid strings cannot escape a double
/// quote, and a backtick or a line break could end the block, so `"` and
/// `` ` `` become `'` and line breaks become spaces.
pub fn chart_text(text: &str) -> String {
    text.replace("\r\n", " ")
        .replace(['"', '`'], "'")
        .replace(['\r', '\n'], " ")
}

fn longest_backtick_run(text: &str) -> usize {
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
    longest
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

/// A metric that may be missing: [`metric`], or [`MISSING`].
pub fn metric_or_missing(value: Option<f64>) -> String {
    value.map_or_else(|| MISSING.to_owned(), metric)
}

/// A change of a metric: [`metric`] with a `+` when it grew.
pub fn delta(value: f64) -> String {
    let text = metric(value);
    if value > 0.0 && value.is_finite() && text != "0" {
        format!("+{text}")
    } else {
        text
    }
}

/// A commit as people see it: its first 7 hex digits, as git and GitHub abbreviate.
pub fn short_commit(commit: &str) -> &str {
    commit.get(..7).unwrap_or(commit)
}

/// A content digest (BLAKE3 of an artifact or a dataset) as people see it:
/// its first 12 hex digits. The full digest is in the step's outputs and data.
pub fn short_digest(digest: &str) -> &str {
    digest.get(..12).unwrap_or(digest)
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
        assert_eq!(cell("<details>x</details>"), "&lt;details>x&lt;/details>");
        assert_eq!(cell("two\nlines\r\nthree"), "two<br>lines<br>three");
        assert_eq!(cell("a`b [d](e) \\"), "a\\`b \\[d\\](e) \\\\");
        assert_eq!(cell("log_loss >= 0.9 & *x*"), "log_loss >= 0.9 &amp; *x*");
        assert_eq!(text("two\nlines"), "two lines");
        assert_eq!(or_missing(String::new()), MISSING);
        assert_eq!(or_missing("x".to_owned()), "x");
    }

    #[test]
    fn chart_text_cannot_end_its_string_or_its_block() {
        assert_eq!(chart_text("a\"b```c\nd"), "a'b'''c d");
    }

    #[test]
    fn fenced_blocks_cannot_be_closed_by_their_content() {
        assert_eq!(fenced("yaml", "a: 1\n"), "```yaml\na: 1\n```\n");
        assert_eq!(fenced("text", "```\nx"), "````text\n```\nx\n````\n");
    }

    #[test]
    fn code_spans_cannot_be_closed_by_their_content() {
        assert_eq!(code("plain"), "`plain`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x"), "`` `x ``");
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(code("x``y`"), "``` x``y` ```");
        assert_eq!(code_in_text("a | b`c"), "``a | b`c``");
    }

    #[test]
    fn metrics_are_short_for_people() {
        assert_eq!(metric(0.912_345_6), "0.9123");
        assert_eq!(metric(2.0), "2");
        assert_eq!(metric(-0.000_01), "0");
        assert_eq!(metric(f64::NAN), "NaN");
        assert_eq!(metric(f64::INFINITY), "inf");
        assert_eq!(metric_or_missing(None), "—");
        assert_eq!(delta(0.012_34), "+0.0123");
        assert_eq!(delta(-0.5), "-0.5");
        assert_eq!(delta(0.000_01), "0");
    }

    #[test]
    fn commits_and_digests_are_shortened_one_way() {
        assert_eq!(short_commit("0123456789abcdef"), "0123456");
        assert_eq!(short_commit("abc"), "abc");
        assert_eq!(short_digest("0123456789abcdef"), "0123456789ab");
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
