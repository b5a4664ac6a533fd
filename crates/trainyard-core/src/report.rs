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
