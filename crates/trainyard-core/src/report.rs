//! The one shape every step returns. The publisher in `trainyard-ci` turns a
//! Report into console text, CI outputs, the job summary, annotations and JSON.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::exit::ExitStatus;

/// The verdict of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Conclusion {
    /// Nothing to judge (for example no datasets declared); not a failure.
    Neutral,
    /// Everything checked passed.
    Success,
    /// A check or gate failed.
    Failure,
}

impl Conclusion {
    pub fn exit_status(self) -> ExitStatus {
        match self {
            Self::Success | Self::Neutral => ExitStatus::Passed,
            Self::Failure => ExitStatus::Failed,
        }
    }

    /// The mark a summary or a PR comment shows beside a step.
    pub fn emoji(self) -> &'static str {
        match self {
            Self::Success => "✅",
            Self::Neutral => "⚪",
            Self::Failure => "❌",
        }
    }

    /// The two combined: a failure anywhere fails the whole, and a neutral
    /// part does not turn a success into neutral.
    #[must_use]
    pub fn and(self, other: Self) -> Self {
        self.max(other)
    }
}

impl fmt::Display for Conclusion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Success => "success",
            Self::Neutral => "neutral",
            Self::Failure => "failure",
        })
    }
}

/// How much a finding matters. Ordered from most to least important.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Error,
    Warning,
    Notice,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Notice => "notice",
        })
    }
}

/// Where a finding is: a file, and within it a line (1-based) and column
/// (1-based). For data files `line` is the physical line of the row, so an
/// editor and a CI annotation both land on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_line: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_column: Option<u32>,
}

impl Location {
    pub fn file(file: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            line: None,
            column: None,
            end_line: None,
            end_column: None,
        }
    }

    #[must_use]
    pub fn at(mut self, line: u32, column: Option<u32>) -> Self {
        self.line = Some(line);
        self.column = column;
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        Ok(())
    }
}

/// One thing a step found: a failed check, a suspicious value, a hint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub severity: Severity,
    /// A stable identifier of the rule or check that produced it, e.g. `unknown-key`.
    pub rule: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

impl Finding {
    pub fn new(severity: Severity, rule: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            severity,
            rule: rule.into(),
            message: message.into(),
            location: None,
        }
    }

    pub fn error(rule: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, rule, message)
    }

    pub fn warning(rule: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, rule, message)
    }

    pub fn notice(rule: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Severity::Notice, rule, message)
    }

    #[must_use]
    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }
}

/// What a step returns. Steps never print: everything a person or a machine
/// sees comes from here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The step that produced it, as typed on the command line (`config check`).
    pub step: String,
    pub conclusion: Conclusion,
    /// One line: what happened.
    pub title: String,
    /// Markdown for the job summary and the PR report; may be empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub summary: String,
    /// What the summary shows, as data for a person at a terminal: tables
    /// with a status per row, charts with their values, plain text. The
    /// console renders these (failures first, passing rows counted) instead
    /// of the Markdown summary; a step without blocks gets its summary
    /// rendered as text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocks: Vec<Block>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
    /// Step outputs (GITHUB_OUTPUT, Azure output variables), by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub outputs: BTreeMap<String, String>,
    /// Reports of sub-steps, for steps that run others (quickstart).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Report>,
    /// The step's result as data, for `--format json` (listing steps: the runs, the versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
    /// What the step asks of the forge once its report is published (a pull
    /// request to open, retraining to start); the publisher carries them out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forge: Vec<ForgeRequest>,
}

/// One part of what a person reads: the console's model of a summary. All
/// text is plain (not Markdown): the renderer escapes it for where it goes.
/// In JSON: `{"kind": "table", "rows-are": "checks", …}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Block {
    /// A paragraph.
    Text { text: String },
    /// A table; rows with a status are judged rows (checks, metrics, rules).
    Table(Table),
    /// A series of values over labels (a metric over commits).
    Chart(Chart),
}

impl Block {
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text { text: text.into() }
    }
}

impl From<Table> for Block {
    fn from(table: Table) -> Self {
        Self::Table(table)
    }
}

impl From<Chart> for Block {
    fn from(chart: Chart) -> Self {
        Self::Chart(chart)
    }
}

/// How a judged row came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RowStatus {
    /// Failed: shown first and in full.
    Fail,
    /// Worth a look (a regression shown, not judged; a drifted column).
    Warn,
    /// Passed: counted in one line unless the reader asks for all.
    Pass,
    /// Not judged (no direction, not tested).
    Skip,
}

/// A table with named columns and a status per row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Table {
    /// What a row is, in the plural (`checks`): "12 checks passed".
    pub rows_are: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Column {
    pub name: String,
    /// Numbers, aligned right.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub numeric: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<RowStatus>,
    pub cells: Vec<String>,
}

impl Table {
    /// A table of `rows_are` with these columns; a column named with a
    /// leading `>` holds numbers (`">value"`).
    pub fn new<I, S>(rows_are: impl Into<String>, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let columns = columns
            .into_iter()
            .map(|name| {
                let name = name.as_ref();
                match name.strip_prefix('>') {
                    Some(name) => Column {
                        name: name.to_owned(),
                        numeric: true,
                    },
                    None => Column {
                        name: name.to_owned(),
                        numeric: false,
                    },
                }
            })
            .collect();
        Self {
            rows_are: rows_are.into(),
            columns,
            rows: Vec::new(),
        }
    }

    /// Adds a row (cells past the columns are dropped, missing ones empty).
    pub fn row<I, S>(&mut self, status: Option<RowStatus>, cells: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut cells: Vec<String> = cells.into_iter().map(Into::into).collect();
        cells.resize(self.columns.len(), String::new());
        self.rows.push(Row { status, cells });
        self
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// Values over labels, e.g. a metric over the commits of the default branch.
/// Only finite values are kept (JSON has no NaN).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chart {
    pub title: String,
    pub points: Vec<(String, f64)>,
}

impl Chart {
    pub fn new(title: impl Into<String>, points: impl IntoIterator<Item = (String, f64)>) -> Self {
        Self {
            title: title.into(),
            points: points
                .into_iter()
                .filter(|(_, value)| value.is_finite())
                .collect(),
        }
    }
}

/// Something a step asks the forge (GitHub) to do. Steps never talk to the
/// forge: they put the request in their Report, and the publisher sends it
/// after the check run, where the job has a token (`trainyard_forge::publish`).
/// In JSON: `{"kind": "open-pull-request", "head": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ForgeRequest {
    /// Open a pull request from `head` (a branch already pushed) into
    /// `base`, or update the one already open from `head`.
    OpenPullRequest {
        head: String,
        base: String,
        title: String,
        /// Markdown.
        body: String,
    },
    /// Start the retraining pipeline the user configured (a
    /// `repository_dispatch` event type and/or a workflow to run), saying why;
    /// nothing is sent when none is configured.
    DispatchRetraining { reason: String },
}

impl Report {
    pub fn new(step: impl Into<String>, conclusion: Conclusion, title: impl Into<String>) -> Self {
        Self {
            step: step.into(),
            conclusion,
            title: title.into(),
            summary: String::new(),
            blocks: Vec::new(),
            findings: Vec::new(),
            outputs: BTreeMap::new(),
            children: Vec::new(),
            data: None,
            forge: Vec::new(),
        }
    }

    /// Attaches the step's result as data (shown by `--format json`).
    #[must_use]
    pub fn with_data(mut self, data: serde_json::Value) -> Self {
        self.data = Some(data);
        self
    }

    #[must_use]
    pub fn with_summary(mut self, summary: impl Into<String>) -> Self {
        self.summary = summary.into();
        self
    }

    /// Adds a block to what a person reads at a terminal.
    #[must_use]
    pub fn with_block(mut self, block: impl Into<Block>) -> Self {
        self.blocks.push(block.into());
        self
    }

    /// Asks the forge for `request` once the report is published.
    #[must_use]
    pub fn with_forge_request(mut self, request: ForgeRequest) -> Self {
        self.forge.push(request);
        self
    }

    #[must_use]
    pub fn with_output(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.outputs.insert(name.into(), value.into());
        self
    }

    /// Adds a finding; an error finding turns the conclusion into a failure.
    pub fn push_finding(&mut self, finding: Finding) {
        if finding.severity == Severity::Error {
            self.conclusion = self.conclusion.and(Conclusion::Failure);
        }
        self.findings.push(finding);
    }

    /// Adds a sub-step's report; its failure fails this one.
    pub fn push_child(&mut self, child: Report) {
        self.conclusion = self.conclusion.and(child.conclusion);
        self.children.push(child);
    }

    /// This report's findings and its children's, depth first.
    pub fn all_findings(&self) -> Vec<&Finding> {
        let mut all: Vec<&Finding> = self.findings.iter().collect();
        for child in &self.children {
            all.extend(child.all_findings());
        }
        all
    }

    pub fn exit_status(&self) -> ExitStatus {
        self.conclusion.exit_status()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_finding_fails_the_report() {
        let mut report = Report::new("data validate", Conclusion::Success, "ok");
        report.push_finding(Finding::warning("w", "just a warning"));
        assert_eq!(report.conclusion, Conclusion::Success);
        report.push_finding(Finding::error("e", "broken"));
        assert_eq!(report.conclusion, Conclusion::Failure);
        assert_eq!(report.exit_status(), ExitStatus::Failed);
    }

    #[test]
    fn a_failing_child_fails_the_parent_and_its_findings_are_reachable() {
        let mut child = Report::new("config check", Conclusion::Success, "child");
        child.push_finding(
            Finding::error("unknown-key", "bad").at(Location::file("a.yaml").at(3, Some(1))),
        );
        let mut parent = Report::new("quickstart", Conclusion::Success, "parent");
        parent.push_child(child);
        assert_eq!(parent.conclusion, Conclusion::Failure);
        assert_eq!(parent.all_findings().len(), 1);
        assert_eq!(
            parent.all_findings()[0]
                .location
                .as_ref()
                .unwrap()
                .to_string(),
            "a.yaml:3:1"
        );
    }

    #[test]
    fn blocks_round_trip_through_json() {
        let mut table = Table::new("checks", ["check", ">rows"]);
        table.row(Some(RowStatus::Fail), ["unique id", "3"]);
        table.row(None, ["extra"]);
        let report = Report::new("data validate", Conclusion::Failure, "t")
            .with_block(Block::text("plain"))
            .with_block(table)
            .with_block(Chart::new(
                "f1",
                [("a".to_owned(), 0.5), ("b".to_owned(), f64::NAN)],
            ));
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["blocks"][1]["kind"], "table");
        assert_eq!(json["blocks"][1]["rows-are"], "checks");
        assert_eq!(
            json["blocks"][1]["columns"][1],
            serde_json::json!({"name": "rows", "numeric": true})
        );
        assert_eq!(
            json["blocks"][1]["rows"][1]["cells"],
            serde_json::json!(["extra", ""])
        );
        assert_eq!(json["blocks"][2]["points"], serde_json::json!([["a", 0.5]]));
        assert_eq!(serde_json::from_value::<Report>(json).unwrap(), report);
    }

    #[test]
    fn json_shape_is_stable() {
        let report =
            Report::new("config check", Conclusion::Success, "valid").with_output("datasets", "2");
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"step": "config check", "conclusion": "success", "title": "valid", "outputs": {"datasets": "2"}})
        );
    }

    #[test]
    fn forge_requests_are_tagged_by_kind_and_absent_when_there_are_none() {
        let report = Report::new("promote", Conclusion::Success, "proposed").with_forge_request(
            ForgeRequest::OpenPullRequest {
                head: "trainyard/promote/staging/clf-v1".into(),
                base: "main".into(),
                title: "Promote: clf v1 to staging".into(),
                body: "| ✅ |".into(),
            },
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(
            json["forge"],
            serde_json::json!([{"kind": "open-pull-request", "head": "trainyard/promote/staging/clf-v1",
                                "base": "main", "title": "Promote: clf v1 to staging", "body": "| ✅ |"}])
        );
        assert_eq!(serde_json::from_value::<Report>(json).unwrap(), report);
        let drift = serde_json::json!({"kind": "dispatch-retraining", "reason": "data drift: 4 of 30 columns drifted"});
        assert_eq!(
            serde_json::from_value::<ForgeRequest>(drift).unwrap(),
            ForgeRequest::DispatchRetraining {
                reason: "data drift: 4 of 30 columns drifted".into()
            }
        );
        // A report kept before forge requests existed still reads.
        let old = serde_json::json!({"step": "gate", "conclusion": "success", "title": "passed"});
        assert!(
            serde_json::from_value::<Report>(old)
                .unwrap()
                .forge
                .is_empty()
        );
    }
}
