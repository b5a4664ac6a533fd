//! Pull requests in Azure Repos: statuses (on a pull request or a commit),
//! the sticky thread, and pull requests for promotions. Shapes as in
//! Microsoft's REST reference, api-version 7.1 (`GitPullRequestStatus`,
//! `GitPullRequestCommentThread`, `GitPullRequest`).

use serde_json::{Value, json};
use trainyard_core::Conclusion;

use super::{AZURE, AzureDevOps, segment};
use crate::error::ForgeError;
use crate::pulls::PullRequestSpec;
use crate::text::truncate_with_note;

/// A status's state (`GitStatusState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusState {
    Succeeded,
    Failed,
    Pending,
}

impl StatusState {
    fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Pending => "pending",
        }
    }
}

impl From<Conclusion> for StatusState {
    fn from(conclusion: Conclusion) -> Self {
        match conclusion {
            // Nothing to judge is not a reason to block a merge.
            Conclusion::Success | Conclusion::Neutral => Self::Succeeded,
            Conclusion::Failure => Self::Failed,
        }
    }
}

/// The genre of every status trainyard posts: a branch policy requires
/// `trainyard/<name>`.
pub const STATUS_GENRE: &str = "trainyard";

/// A status's name for `step` of `project`: `gate`, or `gate (breast-cancer)`
/// when the project is named (a repository may hold several).
pub fn status_name(step: &str, project: &str) -> String {
    if project.is_empty() {
        step.to_owned()
    } else {
        format!("{step} ({project})")
    }
}

/// Azure DevOps keeps at most this many characters of a comment.
const COMMENT_LIMIT: usize = 150_000;
/// …and of a pull request's description.
const DESCRIPTION_LIMIT: usize = 4_000;
/// …and of its title.
const TITLE_LIMIT: usize = 400;

/// What publishing the sticky thread came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadPublished {
    pub thread_id: u64,
    /// True when no thread with the marker existed yet.
    pub created: bool,
    pub truncated: bool,
}

/// A pull request opened or updated in Azure Repos.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzurePullRequest {
    pub id: u64,
    /// Its page, when the answer names the repository's web URL.
    pub web_url: Option<String>,
    /// False when one was already open from the branch and was updated.
    pub created: bool,
}

fn status_body(
    state: StatusState,
    name: &str,
    description: &str,
    target_url: Option<&str>,
) -> Value {
    let mut body = json!({
        "state": state.as_str(),
        "description": one_line(description),
        "context": {"genre": STATUS_GENRE, "name": name},
    });
    if let Some(url) = target_url {
        body["targetUrl"] = json!(url);
    }
    body
}

/// The description on one line (Azure shows one), cut with an ellipsis.
fn one_line(description: &str) -> String {
    let flat = description.split_whitespace().collect::<Vec<_>>().join(" ");
    truncate_with_note(&flat, 1024, "…").0.replace("\n\n", " ")
}

impl AzureDevOps {
    /// Posts a status `trainyard/<name>` on pull request `pull_request` (its
    /// latest iteration): what a branch policy's status check requires.
    pub fn set_pull_request_status(
        &self,
        pull_request: u64,
        state: StatusState,
        name: &str,
        description: &str,
        target_url: Option<&str>,
    ) -> Result<(), ForgeError> {
        self.send(
            &http::Method::POST,
            &self.repository_route(&format!("pullRequests/{pull_request}/statuses")),
            Some(&status_body(state, name, description, target_url)),
            "post a pull request status",
        )?;
        Ok(())
    }

    /// Posts a status `trainyard/<name>` on commit `sha`.
    pub fn set_commit_status(
        &self,
        sha: &str,
        state: StatusState,
        name: &str,
        description: &str,
        target_url: Option<&str>,
    ) -> Result<(), ForgeError> {
        self.send(
            &http::Method::POST,
            &self.repository_route(&format!("commits/{}/statuses", segment(sha))),
            Some(&status_body(state, name, description, target_url)),
            "post a commit status",
        )?;
        Ok(())
    }

    /// Puts `body` (with `marker` as its first line) in the pull request's
    /// thread whose first comment carries `marker`: that comment is edited in
    /// place when there is one, a thread is created otherwise. The thread is
    /// `active` while `failing` (a comment-resolution policy then holds the
    /// merge) and `closed` otherwise.
    pub fn upsert_sticky_thread(
        &self,
        pull_request: u64,
        marker: &str,
        body: &str,
        failing: bool,
    ) -> Result<ThreadPublished, ForgeError> {
        let full = format!("{marker}\n{body}");
        let (content, truncated) = truncate_with_note(
            &full,
            COMMENT_LIMIT,
            "*Cut to fit Azure DevOps' comment limit: the whole report is in the job summary.*",
        );
        let status = if failing { "active" } else { "closed" };
        let threads = self.repository_route(&format!("pullRequests/{pull_request}/threads"));
        let action = "list the pull request's threads";
        let listed: Value = self
            .send(&http::Method::GET, &threads, None, action)?
            .json_of(AZURE, action)?;
        if let Some((thread_id, comment_id, current)) = find_thread(&listed, marker) {
            self.send(
                &http::Method::PATCH,
                &format!("{threads}/{thread_id}/comments/{comment_id}"),
                Some(&json!({"content": content})),
                "update the pull request thread",
            )?;
            if current.as_deref() != Some(status) {
                self.send(
                    &http::Method::PATCH,
                    &format!("{threads}/{thread_id}"),
                    Some(&json!({"status": status})),
                    "update the pull request thread",
                )?;
            }
            return Ok(ThreadPublished {
                thread_id,
                created: false,
                truncated,
            });
        }
        let action = "start a pull request thread";
        let created: Value = self
            .send(
                &http::Method::POST,
                &threads,
                Some(&json!({
                    "comments": [{"parentCommentId": 0, "content": content, "commentType": "text"}],
                    "status": status,
                })),
                action,
            )?
            .json_of(AZURE, action)?;
        Ok(ThreadPublished {
            thread_id: id_of(&created, "id", action)?,
            created: true,
            truncated,
        })
    }

    /// Opens the pull request from `spec.head` into `spec.base`; if one is
    /// already active between them, updates its title and description.
    pub fn open_pull_request(
        &self,
        spec: &PullRequestSpec,
    ) -> Result<AzurePullRequest, ForgeError> {
        let source = format!("refs/heads/{}", spec.head);
        let target = format!("refs/heads/{}", spec.base);
        let route = self.repository_route("pullrequests");
        let action = "look for an active pull request";
        let found: Value = self
            .send(
                &http::Method::GET,
                &format!(
                    "{route}?searchCriteria.sourceRefName={}&searchCriteria.targetRefName={}&searchCriteria.status=active",
                    segment(&source),
                    segment(&target)
                ),
                None,
                action,
            )?
            .json_of(AZURE, action)?;
        let title = truncate_with_note(&spec.title, TITLE_LIMIT, "…").0;
        let description = truncate_with_note(
            &spec.body,
            DESCRIPTION_LIMIT,
            "*Cut to fit Azure DevOps' description limit: the whole report is in the job summary.*",
        )
        .0;
        let existing = found
            .get("value")
            .and_then(Value::as_array)
            .and_then(|list| list.first())
            .and_then(|pr| pr.get("pullRequestId"))
            .and_then(Value::as_u64);
        let (answer, created, action) = match existing {
            Some(id) => (
                self.send(
                    &http::Method::PATCH,
                    &format!("{route}/{id}"),
                    Some(&json!({"title": title, "description": description})),
                    "update the pull request",
                )?,
                false,
                "update the pull request",
            ),
            None => (
                self.send(
                    &http::Method::POST,
                    &route,
                    Some(&json!({
                        "sourceRefName": source,
                        "targetRefName": target,
                        "title": title,
                        "description": description,
                    })),
                    "open a pull request",
                )?,
                true,
                "open a pull request",
            ),
        };
        let value: Value = answer.json_of(AZURE, action)?;
        let id = id_of(&value, "pullRequestId", action)?;
        let web_url = value
            .pointer("/repository/webUrl")
            .and_then(Value::as_str)
            .map(|repository| format!("{}/pullrequest/{id}", repository.trim_end_matches('/')));
        Ok(AzurePullRequest {
            id,
            web_url,
            created,
        })
    }
}

/// The thread whose first comment carries `marker`: its id, that comment's
/// id and the thread's status. Deleted threads and comments are skipped.
fn find_thread(listed: &Value, marker: &str) -> Option<(u64, u64, Option<String>)> {
    listed
        .get("value")?
        .as_array()?
        .iter()
        .filter(|thread| thread.get("isDeleted").and_then(Value::as_bool) != Some(true))
        .find_map(|thread| {
            let first = thread
                .get("comments")?
                .as_array()?
                .iter()
                .filter(|c| c.get("isDeleted").and_then(Value::as_bool) != Some(true))
                .min_by_key(|c| c.get("id").and_then(Value::as_u64).unwrap_or(u64::MAX))?;
            if !first
                .get("content")
                .and_then(Value::as_str)
                .is_some_and(|content| content.starts_with(marker))
            {
                return None;
            }
            Some((
                thread.get("id")?.as_u64()?,
                first.get("id")?.as_u64()?,
                thread
                    .get("status")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            ))
        })
}

fn id_of(value: &Value, key: &str, action: &str) -> Result<u64, ForgeError> {
    value
        .get(key)
        .and_then(Value::as_u64)
        .ok_or_else(|| ForgeError::Decode {
            forge: AZURE,
            action: action.to_owned(),
            message: format!("no `{key}` in the answer"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_thread_is_found_by_its_first_comment_only() {
        let marker = "<!-- trainyard:demo:report -->";
        let listed = json!({"value": [
            {"id": 1, "status": "active", "comments": [
                {"id": 1, "content": "a reviewer quoting <!-- trainyard:demo:report -->"}]},
            {"id": 2, "status": "closed", "isDeleted": true, "comments": [
                {"id": 1, "content": format!("{marker}\nold")}]},
            {"id": 3, "status": "closed", "comments": [
                {"id": 2, "content": "a reply"},
                {"id": 1, "content": format!("{marker}\nreport")}]},
        ]});
        // Thread 1 is someone else's; thread 2 is deleted.
        let listed_first = json!({"value": [listed["value"][0].clone()]});
        assert_eq!(find_thread(&listed_first, marker), None);
        assert_eq!(
            find_thread(&listed, marker),
            Some((3, 1, Some("closed".to_owned())))
        );
    }

    #[test]
    fn statuses_and_names() {
        assert_eq!(
            StatusState::from(Conclusion::Neutral),
            StatusState::Succeeded
        );
        assert_eq!(status_name("gate", ""), "gate");
        assert_eq!(status_name("gate", "demo"), "gate (demo)");
        assert_eq!(
            status_body(StatusState::Failed, "gate", "a\nb", None),
            json!({"state": "failed", "description": "a b",
                   "context": {"genre": "trainyard", "name": "gate"}})
        );
    }
}
