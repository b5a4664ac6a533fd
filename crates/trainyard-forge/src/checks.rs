//! Check runs: created in progress, then updated with the remaining
//! annotations (GitHub takes at most 50 per request) and the conclusion.

use serde::Serialize;
use serde_json::{Value, json};
use trainyard_core::{Conclusion, Finding, Severity};

use crate::client::GitHub;
use crate::error::ForgeError;
use crate::text::{CHECK_TEXT_LIMIT, truncate_with_note};

/// GitHub accepts at most this many annotations in one create or update.
pub const ANNOTATIONS_PER_REQUEST: usize = 50;

/// A check run's conclusion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckConclusion {
    Success,
    Failure,
    Neutral,
}

impl From<Conclusion> for CheckConclusion {
    fn from(conclusion: Conclusion) -> Self {
        match conclusion {
            Conclusion::Success => Self::Success,
            Conclusion::Failure => Self::Failure,
            Conclusion::Neutral => Self::Neutral,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnnotationLevel {
    Notice,
    Warning,
    Failure,
}

/// One check-run annotation: a message on lines of a file in the repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Annotation {
    /// Relative to the repository root.
    pub path: String,
    pub start_line: u32,
    pub end_line: u32,
    /// Only allowed when the annotation is on one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_column: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_column: Option<u32>,
    pub annotation_level: AnnotationLevel,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

impl Annotation {
    /// The finding as an annotation, its file path passed through `path`
    /// (which makes it relative to the repository root). `None` for a
    /// finding without a file: a check run cannot show it on a line.
    pub fn from_finding(finding: &Finding, path: impl Fn(&str) -> String) -> Option<Self> {
        let location = finding.location.as_ref()?;
        if location.file.is_empty() {
            return None;
        }
        // A file-level finding goes on the first line.
        let start_line = location.line.filter(|&l| l > 0).unwrap_or(1);
        let end_line = location
            .end_line
            .filter(|&l| l >= start_line)
            .unwrap_or(start_line);
        let one_line = start_line == end_line;
        let start_column = location.column.filter(|&c| c > 0 && one_line);
        let end_column = start_column.map(|start| {
            location
                .end_column
                .filter(|&end| end >= start)
                .unwrap_or(start)
        });
        Some(Self {
            path: path(&location.file),
            start_line,
            end_line,
            start_column,
            end_column,
            annotation_level: match finding.severity {
                Severity::Error => AnnotationLevel::Failure,
                Severity::Warning => AnnotationLevel::Warning,
                Severity::Notice => AnnotationLevel::Notice,
            },
            message: truncate_with_note(&finding.message, 64 * 1024 - 1, "…").0,
            title: (!finding.rule.is_empty()).then(|| finding.rule.clone()),
        })
    }
}

/// The text of a check run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRunOutput {
    pub title: String,
    /// Markdown; cut to 65,535 characters with a pointer to the job summary.
    pub summary: String,
    /// More markdown below the summary; same limit.
    pub text: Option<String>,
    pub annotations: Vec<Annotation>,
}

/// A check run to publish on a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRun {
    pub name: String,
    pub head_sha: String,
    pub conclusion: CheckConclusion,
    /// The run's page, shown as "Details".
    pub details_url: Option<String>,
    pub output: CheckRunOutput,
}

/// What publishing a check run came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRunPublished {
    pub id: u64,
    pub html_url: Option<String>,
    /// Requests sent: the create and each update.
    pub requests: usize,
    /// Whether the summary or text had to be cut (the full text is in the job summary).
    pub truncated: bool,
}

const TRUNCATED_NOTE: &str = "*The rest is in the job summary of this run.*";

impl GitHub {
    /// Creates the check run in progress with the first 50 annotations, then
    /// sends the rest 50 at a time and completes it with its conclusion.
    pub fn publish_check_run(&self, run: &CheckRun) -> Result<CheckRunPublished, ForgeError> {
        let (summary, summary_cut) =
            truncate_with_note(&run.output.summary, CHECK_TEXT_LIMIT, TRUNCATED_NOTE);
        let (text, text_cut) = match &run.output.text {
            Some(text) => {
                let (text, cut) = truncate_with_note(text, CHECK_TEXT_LIMIT, TRUNCATED_NOTE);
                (Some(text), cut)
            }
            None => (None, false),
        };
        let title = truncate_with_note(&run.output.title, 1000, "…").0;
        let output = |annotations: &[Annotation]| {
            let mut output = json!({"title": title, "summary": summary});
            if let Some(text) = &text {
                output["text"] = json!(text);
            }
            if !annotations.is_empty() {
                output["annotations"] = json!(annotations);
            }
            output
        };
        let mut batches = run.output.annotations.chunks(ANNOTATIONS_PER_REQUEST);
        let first = batches.next().unwrap_or(&[]);

        let mut create = json!({
            "name": run.name,
            "head_sha": run.head_sha,
            "status": "in_progress",
            "output": output(first),
        });
        if let Some(url) = &run.details_url {
            create["details_url"] = json!(url);
        }
        let routes = self.repository.route();
        let created = self.send(
            &http::Method::POST,
            &format!("{routes}/check-runs"),
            Some(&create),
            "create a check run",
        )?;
        let created: Value = created.json("create a check run")?;
        let id = created
            .get("id")
            .and_then(Value::as_u64)
            .ok_or_else(|| ForgeError::Decode {
                forge: crate::client::GITHUB,
                action: "create a check run".to_owned(),
                message: "no `id` in the answer".to_owned(),
            })?;
        let mut html_url = created
            .get("html_url")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let mut requests = 1;
        let update_route = format!("{routes}/check-runs/{id}");
        let mut batches = batches.peekable();
        loop {
            let batch = batches.next();
            let last = batches.peek().is_none();
            let mut update = json!({"output": output(batch.unwrap_or(&[]))});
            if last {
                update["status"] = json!("completed");
                update["conclusion"] = json!(run.conclusion);
            }
            let answer = self.send(
                &http::Method::PATCH,
                &update_route,
                Some(&update),
                "update a check run",
            )?;
            requests += 1;
            if let Ok(value) = answer.json::<Value>("update a check run")
                && let Some(url) = value.get("html_url").and_then(Value::as_str)
            {
                html_url = Some(url.to_owned());
            }
            if last {
                break;
            }
        }
        Ok(CheckRunPublished {
            id,
            html_url,
            requests,
            truncated: summary_cut || text_cut,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trainyard_core::Location;

    #[test]
    fn findings_become_annotations_on_lines() {
        let finding = Finding::error("range", "mean_radius 80 is above 50")
            .at(Location::file("data/a.csv").at(12, Some(3)));
        let annotation = Annotation::from_finding(&finding, |p| format!("ml/{p}")).unwrap();
        assert_eq!(
            serde_json::to_value(&annotation).unwrap(),
            json!({"path": "ml/data/a.csv", "start_line": 12, "end_line": 12, "start_column": 3,
                   "end_column": 3, "annotation_level": "failure", "message": "mean_radius 80 is above 50",
                   "title": "range"})
        );
        let file_only = Finding::warning("w", "m").at(Location::file("a.yaml"));
        let annotation = Annotation::from_finding(&file_only, str::to_owned).unwrap();
        assert_eq!((annotation.start_line, annotation.end_line), (1, 1));
        assert!(Annotation::from_finding(&Finding::notice("n", "m"), str::to_owned).is_none());
    }
}
