//! Pull requests for promotions: open one from a pushed branch, or find and
//! update the one already open for it.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::client::GitHub;
use crate::error::ForgeError;

/// The pull request to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestSpec {
    /// The branch with the change (already pushed).
    pub head: String,
    /// The branch to merge into.
    pub base: String,
    pub title: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestPublished {
    pub number: u64,
    pub html_url: Option<String>,
    /// False when a pull request for `head` was already open and was updated.
    pub created: bool,
}

impl GitHub {
    /// Opens the pull request; if one is already open from `head`, updates
    /// its title and body instead (a re-run promotes the same change).
    pub fn open_pull_request(
        &self,
        spec: &PullRequestSpec,
    ) -> Result<PullRequestPublished, ForgeError> {
        let routes = self.repository.route();
        let existing = self.send(
            &http::Method::GET,
            &format!(
                "{routes}/pulls?state=open&head={}:{}&base={}",
                self.repository.owner,
                encode(&spec.head),
                encode(&spec.base)
            ),
            None,
            "look for an open pull request",
        )?;
        let open: Vec<Value> = existing.json("look for an open pull request")?;
        let body = json!({"title": spec.title, "body": spec.body});
        let open_number = open
            .first()
            .and_then(|pr| pr.get("number"))
            .and_then(Value::as_u64);
        let (answer, created) = if let Some(number) = open_number {
            (
                self.send(
                    &http::Method::PATCH,
                    &format!("{routes}/pulls/{number}"),
                    Some(&body),
                    "update the pull request",
                )?,
                false,
            )
        } else {
            let mut create = body;
            create["head"] = json!(spec.head);
            create["base"] = json!(spec.base);
            (
                self.send(
                    &http::Method::POST,
                    &format!("{routes}/pulls"),
                    Some(&create),
                    "open a pull request",
                )?,
                true,
            )
        };
        let value: Value = answer.json("open a pull request")?;
        Ok(PullRequestPublished {
            number: value
                .get("number")
                .and_then(Value::as_u64)
                .unwrap_or_default(),
            html_url: value
                .get("html_url")
                .and_then(Value::as_str)
                .map(str::to_owned),
            created,
        })
    }
}

/// Percent-encodes a query value (branch names may hold `/`, `+`, `#`).
pub(crate) fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn branch_names_are_encoded() {
        assert_eq!(
            super::encode("promote/staging+v3"),
            "promote%2Fstaging%2Bv3"
        );
    }
}
