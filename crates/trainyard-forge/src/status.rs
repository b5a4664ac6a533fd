//! Commit statuses: the one-line verdict branch protection can require.

use serde::Serialize;
use serde_json::json;
use trainyard_core::Conclusion;

use crate::client::GitHub;
use crate::error::ForgeError;
use crate::text::truncate_with_note;

/// A commit status's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CommitState {
    Pending,
    Success,
    Failure,
    Error,
}

impl From<Conclusion> for CommitState {
    fn from(conclusion: Conclusion) -> Self {
        match conclusion {
            // Nothing to judge is not a reason to block a merge.
            Conclusion::Success | Conclusion::Neutral => Self::Success,
            Conclusion::Failure => Self::Failure,
        }
    }
}

/// GitHub keeps at most this many characters of a status description.
const DESCRIPTION_LIMIT: usize = 140;

impl GitHub {
    /// Sets the status `context` on commit `sha`.
    pub fn set_commit_status(
        &self,
        sha: &str,
        state: CommitState,
        context: &str,
        description: &str,
        target_url: Option<&str>,
    ) -> Result<(), ForgeError> {
        let mut body = json!({
            "state": state,
            "context": context,
            "description": truncate_with_note(description, DESCRIPTION_LIMIT, "…").0.replace("\n\n…", "…"),
        });
        if let Some(url) = target_url {
            body["target_url"] = json!(url);
        }
        self.send(
            &http::Method::POST,
            &format!("{}/statuses/{sha}", self.repository.route()),
            Some(&body),
            "set a commit status",
        )?;
        Ok(())
    }
}
