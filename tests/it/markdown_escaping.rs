//! Data stays text in every Markdown report: a column name and a value holding
//! a backtick, a pipe and `<details>` go through `data validate`, run as on
//! GitHub Actions, into its job summary, and through `trainyard report` into
//! the pull request comment (the report's summary, the sticky comment's body)
//! and the report's job summary. Each is rendered as GitHub does (CommonMark
//! with GFM tables) and must show the name and the value as written: no code
//! span closed early, no table cell split, no `<details>` opened by the data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::path::Path;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

/// A value in the data that is not in the column's `enum`, and the pieces
/// of it that a broken rendering would show apart.
const VALUE: (&str, &[&str]) = ("Zeta`Tau|Psi<details>", &["Zeta", "Tau", "Psi"]);
/// The column's name, in the CSV header and the manifest.
const COLUMN: (&str, &[&str]) = ("diag`nosis|<details>", &["diag", "nosis"]);

#[test]
fn a_value_with_a_backtick_a_pipe_and_details_stays_text_in_the_job_summary_and_the_pr_comment() {
    let project = common::example_project();
    hostile_data(project.path());
    trainyard_testkit::git::init_and_commit_all(project.path());
    let ci = GitHubJob::new();

    let (code, _) = ci.run(project.path(), &["data", "validate"]);
    assert_eq!(code, 1, "the value is not in the enum: validation fails");
    let validate_summary = ci.summary();
    assert!(!validate_summary.is_empty(), "no job summary written");

    let (code, report) = ci.run(project.path(), &["report"]);
    assert_eq!(code, 0, "{report:#}");
    let comment = report["summary"].as_str().unwrap().to_owned();
    let report_summary = ci.summary()[validate_summary.len()..].to_owned();

    for (name, markdown) in [
        (
            "the job summary of data validate",
            validate_summary.as_str(),
        ),
        ("the pull request comment", comment.as_str()),
        ("the job summary of report", report_summary.as_str()),
    ] {
        let rendered = Rendered::parse(markdown);
        for (whole, fragments) in [VALUE, COLUMN] {
            assert!(
                rendered.in_one_cell_node(whole),
                "{name}: `{whole}` is not shown whole in any table cell; cells:\n{:#?}\n\nmarkdown:\n{markdown}",
                rendered.tables
            );
            for fragment in fragments {
                let broken = rendered.broken(fragment, whole);
                assert!(
                    broken.is_empty(),
                    "{name}: `{whole}` is cut up or became markup in {broken:#?}\n\nmarkdown:\n{markdown}"
                );
            }
        }
        let opened: Vec<&String> = rendered
            .html
            .iter()
            .filter(|html| html.to_ascii_lowercase().contains("details"))
            .collect();
        assert!(
            opened.is_empty(),
            "{name}: the data became HTML {opened:?}:\n{markdown}"
        );
        for table in &rendered.tables {
            for row in &table.rows {
                assert_eq!(
                    row.len(),
                    table.columns,
                    "{name}: a row with another number of cells than its header: {row:#?}"
                );
            }
        }
    }
}

/// The example project with the `diagnosis` column renamed to [`COLUMN`] (in
/// the CSV header and the manifest) and one row's diagnosis set to [`VALUE`].
fn hostile_data(dir: &Path) {
    let data = dir.join("data/breast_cancer.csv");
    let text = std::fs::read_to_string(&data).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[0] = lines[0].replace("diagnosis", COLUMN.0);
    let mut cells: Vec<String> = lines[3].split(',').map(str::to_owned).collect();
    VALUE.0.clone_into(cells.last_mut().unwrap());
    lines[3] = cells.join(",");
    std::fs::write(&data, lines.join("\n") + "\n").unwrap();

    let manifest = dir.join("trainyard.yaml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let quoted = format!("\"{}\"", COLUMN.0);
    let edited = text
        .replace("label: diagnosis", &format!("label: {quoted}"))
        .replace("{ name: diagnosis,", &format!("{{ name: {quoted},"));
    assert_ne!(
        edited, text,
        "the example's manifest changed: update this test"
    );
    std::fs::write(&manifest, edited).unwrap();
}

/// The files and variables GitHub Actions gives a step of a pull request's
/// job: the event payload, GITHUB_STEP_SUMMARY, and the job's reports folder.
struct GitHubJob {
    dir: tempfile::TempDir,
}

impl GitHubJob {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let event = serde_json::json!({
            "action": "opened",
            "number": 7,
            "pull_request": {
                "number": 7,
                "head": { "ref": "feature", "sha": "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
                          "repo": { "full_name": "octo-org/breast-cancer" } },
                "base": { "ref": "main", "sha": "0123456789abcdef0123456789abcdef01234567",
                          "repo": { "full_name": "octo-org/breast-cancer" } }
            },
            "repository": { "full_name": "octo-org/breast-cancer", "default_branch": "main" }
        });
        std::fs::write(
            dir.path().join("event.json"),
            serde_json::to_vec(&event).unwrap(),
        )
        .unwrap();
        std::fs::write(dir.path().join("summary.md"), "").unwrap();
        Self { dir }
    }

    /// `trainyard --format json <args>` in `project` as a step of this job.
    fn run(&self, project: &Path, args: &[&str]) -> (i32, serde_json::Value) {
        let output = common::trainyard()
            .current_dir(project)
            .env("GITHUB_ACTIONS", "true")
            .env("CI", "true")
            .env("GITHUB_EVENT_NAME", "pull_request")
            .env("GITHUB_EVENT_PATH", self.dir.path().join("event.json"))
            .env("GITHUB_REPOSITORY", "octo-org/breast-cancer")
            .env("GITHUB_STEP_SUMMARY", self.dir.path().join("summary.md"))
            .env("GITHUB_OUTPUT", self.dir.path().join("output"))
            .env("TRAINYARD_REPORTS_DIR", self.dir.path().join("reports"))
            .args(["--format", "json"])
            .args(args)
            .output()
            .unwrap();
        let report = common::json_document(&output, &format!("trainyard {args:?}"));
        (output.status.code().unwrap(), report)
    }

    /// Everything the job's steps wrote to GITHUB_STEP_SUMMARY so far.
    fn summary(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("summary.md")).unwrap()
    }
}

/// One piece of rendered inline content: a run of plain text, or a code span.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Code(String),
}

impl Node {
    fn text(&self) -> &str {
        match self {
            Self::Text(text) | Self::Code(text) => text,
        }
    }
}

#[derive(Debug, Default)]
struct Table {
    /// Cells of the header row.
    columns: usize,
    /// Every row (the header first), each cell as its inline nodes.
    rows: Vec<Vec<Vec<Node>>>,
}

/// A Markdown document as GitHub shows it: its tables, the inline nodes of
/// every block (paragraph, heading, table cell…), and every piece of raw HTML.
#[derive(Debug, Default)]
struct Rendered {
    tables: Vec<Table>,
    blocks: Vec<Vec<Node>>,
    html: Vec<String>,
}

impl Rendered {
    fn parse(markdown: &str) -> Self {
        let mut rendered = Self::default();
        let mut block: Vec<Node> = Vec::new();
        // A text run goes on until any other event (an escape or an entity
        // splits the parser's text events, not what a reader sees).
        let mut text_open = false;
        for event in Parser::new_ext(markdown, Options::ENABLE_TABLES) {
            let continues_text = matches!(event, Event::Text(_));
            match event {
                Event::Start(Tag::Table(alignments)) => rendered.tables.push(Table {
                    columns: alignments.len(),
                    rows: Vec::new(),
                }),
                Event::Start(Tag::TableHead | Tag::TableRow) => {
                    if let Some(table) = rendered.tables.last_mut() {
                        table.rows.push(Vec::new());
                    }
                }
                Event::End(TagEnd::TableCell) => {
                    let nodes = std::mem::take(&mut block);
                    if let Some(row) = rendered
                        .tables
                        .last_mut()
                        .and_then(|table| table.rows.last_mut())
                    {
                        row.push(nodes.clone());
                    }
                    rendered.blocks.push(nodes);
                }
                Event::Start(tag) if is_block(&tag) => {
                    rendered.blocks.push(std::mem::take(&mut block));
                }
                Event::End(tag) if is_block_end(tag) => {
                    rendered.blocks.push(std::mem::take(&mut block));
                }
                Event::Text(text) => match block.last_mut() {
                    Some(Node::Text(run)) if text_open => run.push_str(&text),
                    _ => block.push(Node::Text(text.to_string())),
                },
                Event::Code(code) => block.push(Node::Code(code.to_string())),
                Event::Html(html) | Event::InlineHtml(html) => rendered.html.push(html.to_string()),
                _ => {}
            }
            text_open = continues_text;
        }
        rendered.blocks.push(block);
        rendered.blocks.retain(|nodes| !nodes.is_empty());
        rendered
    }

    /// Whether `wanted` is shown whole inside one text run or one code span of
    /// some table cell.
    fn in_one_cell_node(&self, wanted: &str) -> bool {
        self.tables
            .iter()
            .flat_map(|table| &table.rows)
            .flatten()
            .flatten()
            .any(|node| node.text().contains(wanted))
    }

    /// The blocks that show `fragment` (of `whole`) but not `whole` inside one
    /// text run or code span: where the data was cut up or turned into markup.
    fn broken(&self, fragment: &str, whole: &str) -> Vec<&Vec<Node>> {
        self.blocks
            .iter()
            .filter(|nodes| {
                let shown: String = nodes.iter().map(Node::text).collect();
                shown.contains(fragment) && !nodes.iter().any(|node| node.text().contains(whole))
            })
            .collect()
    }
}

fn is_block(tag: &Tag<'_>) -> bool {
    matches!(
        tag,
        Tag::Paragraph
            | Tag::Heading { .. }
            | Tag::TableCell
            | Tag::Item
            | Tag::BlockQuote(_)
            | Tag::CodeBlock(_)
    )
}

fn is_block_end(tag: TagEnd) -> bool {
    matches!(
        tag,
        TagEnd::Paragraph
            | TagEnd::Heading(_)
            | TagEnd::Item
            | TagEnd::BlockQuote(_)
            | TagEnd::CodeBlock
    )
}
