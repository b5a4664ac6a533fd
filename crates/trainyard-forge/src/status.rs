//! Commit statuses: the one-line verdict branch protection can require.

use serde::Serialize;
use serde_json::json;
use trainyard_core::Conclusion;

use crate::client::GitHub;
use crate::error::ForgeError;

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

/// The description on one line, cut to GitHub's limit with an ellipsis.
fn one_line(description: &str) -> String {
    let flat = description.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= DESCRIPTION_LIMIT {
        return flat;
    }
    let mut cut: String = flat.chars().take(DESCRIPTION_LIMIT - 1).collect();
    cut.push('…');
    cut
}

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
            "description": one_line(description),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_one_line_within_140_characters() {
        assert_eq!(one_line("a\nb  c"), "a b c");
        let long = one_line(&"é".repeat(200));
        assert_eq!(long.chars().count(), 140);
        assert!(long.ends_with('…'));
    }
}
