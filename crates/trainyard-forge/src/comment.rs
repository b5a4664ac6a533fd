//! The sticky pull-request comment: one per project and step, found again by a
//! hidden marker and edited in place, never duplicated.

use serde_json::{Value, json};

use crate::client::GitHub;
use crate::error::ForgeError;
use crate::text::truncate_with_note;

/// GitHub rejects an issue comment body longer than this.
pub const COMMENT_BODY_LIMIT: usize = 65_536;

/// Comments per page when looking for the marker (GitHub's maximum).
const PAGE_SIZE: u32 = 100;

/// The sticky marker of `report`: its own `project` output when it has one
/// (a report names its project even when the manifest is broken), else
/// `project`, else `trainyard`.
pub fn report_marker(report: &trainyard_core::Report, project: &str) -> String {
    let project = report
        .outputs
        .get("project")
        .map_or(project, String::as_str);
    sticky_marker(
        if project.is_empty() {
            "trainyard"
        } else {
            project
        },
        &report.step,
    )
}

/// The hidden first line that identifies trainyard's comment for `project`
/// and `step`. Characters that could end the HTML comment are replaced.
pub fn sticky_marker(project: &str, step: &str) -> String {
    let clean = |s: &str| {
        s.chars()
            .map(|c| {
                if c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ' ') {
                    c
                } else {
                    '_'
                }
            })
            .collect::<String>()
    };
    format!("<!-- trainyard:{}:{} -->", clean(project), clean(step))
}

/// What publishing the sticky comment came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentPublished {
    pub id: u64,
    /// True when no comment with the marker existed yet.
    pub created: bool,
    pub html_url: Option<String>,
    pub truncated: bool,
}

impl GitHub {
    /// Puts `body` (with `marker` as its first line) in the pull request's
    /// comment that carries `marker`: edits it when there is one (the first
    /// found, pages followed), creates it otherwise.
    pub fn upsert_sticky_comment(
        &self,
        issue_number: u64,
        marker: &str,
        body: &str,
    ) -> Result<CommentPublished, ForgeError> {
        let full = format!("{marker}\n{body}");
        let (full, truncated) = truncate_with_note(
            &full,
            COMMENT_BODY_LIMIT,
            "*Cut to fit GitHub's comment limit: the whole report is in the job summary.*",
        );
        let routes = self.repository.route();
        let existing = self.find_comment(issue_number, marker)?;
        let payload = json!({"body": full});
        let (answer, created) = match existing {
            Some(id) => (
                self.send(
                    &http::Method::PATCH,
                    &format!("{routes}/issues/comments/{id}"),
                    Some(&payload),
                    "update the pull request comment",
                )?,
                false,
            ),
            None => (
                self.send(
                    &http::Method::POST,
                    &format!("{routes}/issues/{issue_number}/comments"),
                    Some(&payload),
                    "comment on the pull request",
                )?,
                true,
            ),
        };
        let value: Value = answer.json("comment on the pull request")?;
        Ok(CommentPublished {
            id: value.get("id").and_then(Value::as_u64).unwrap_or_default(),
            created,
            html_url: value
                .get("html_url")
                .and_then(Value::as_str)
                .map(str::to_owned),
            truncated,
        })
    }

    /// The id of the first comment whose body contains `marker`.
    fn find_comment(&self, issue_number: u64, marker: &str) -> Result<Option<u64>, ForgeError> {
        let action = "list the pull request's comments";
        let route = format!("{}/issues/{issue_number}/comments", self.repository.route());
        let mut page = Some(format!("{route}?per_page={PAGE_SIZE}"));
        while let Some(path) = page {
            let answer = self.send(&http::Method::GET, &path, None, action)?;
            let comments: Vec<Value> = answer.json(action)?;
            let found = comments.iter().find(|comment| {
                comment
                    .get("body")
                    .and_then(Value::as_str)
                    .is_some_and(|body| body.contains(marker))
            });
            if let Some(comment) = found {
                return Ok(comment.get("id").and_then(Value::as_u64));
            }
            // Only pages of this same list (the path may carry an API prefix).
            page = answer.next_page().filter(|next| {
                next.split('?')
                    .next()
                    .is_some_and(|path| path.ends_with(&route))
            });
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_is_an_html_comment_that_cannot_be_closed_early() {
        assert_eq!(
            sticky_marker("breast-cancer", "report"),
            "<!-- trainyard:breast-cancer:report -->"
        );
        assert_eq!(sticky_marker("a-->b", "x"), "<!-- trainyard:a--_b:x -->");
    }
}
