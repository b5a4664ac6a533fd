//! Reading what other CI jobs reported on a commit: its check runs (every
//! page) and its combined commit status (every page of statuses). The gate's
//! `checks` rule judges these.

use serde::Deserialize;

use crate::client::GitHub;
use crate::error::ForgeError;

/// Items per page (GitHub's maximum).
const PAGE_SIZE: u32 = 100;

/// One check run on a commit.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CheckRunState {
    pub name: String,
    /// `queued`, `in_progress`, `completed` (or `waiting`, `requested`, `pending`).
    pub status: String,
    /// When completed: `success`, `failure`, `neutral`, `cancelled`, `skipped`,
    /// `timed_out`, `action_required`, `stale`.
    #[serde(default)]
    pub conclusion: Option<String>,
    #[serde(default)]
    pub html_url: Option<String>,
}

/// One commit status (the latest for its context).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StatusState {
    pub context: String,
    /// `success`, `pending`, `failure` or `error`.
    pub state: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub target_url: Option<String>,
}

/// A commit's combined status: the overall state and the latest status per context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CombinedStatus {
    /// `success`, `pending` or `failure` (GitHub's summary of every context).
    pub state: String,
    pub statuses: Vec<StatusState>,
}

#[derive(Deserialize)]
struct CheckRunsPage {
    check_runs: Vec<CheckRunState>,
}

#[derive(Deserialize)]
struct StatusPage {
    state: String,
    #[serde(default)]
    statuses: Vec<StatusState>,
}

impl GitHub {
    /// Every check run on `reference` (a commit SHA, branch or tag), the
    /// latest of each name per app (`filter=latest`), all pages followed.
    pub fn check_runs_for_ref(&self, reference: &str) -> Result<Vec<CheckRunState>, ForgeError> {
        let action = format!("list the check runs of {reference}");
        let route = format!("{}/commits/{reference}/check-runs", self.repository.route());
        let mut runs = Vec::new();
        let mut page = Some(format!("{route}?filter=latest&per_page={PAGE_SIZE}"));
        while let Some(path) = page {
            let answer = self.send(&http::Method::GET, &path, None, &action)?;
            let found: CheckRunsPage = answer.json(&action)?;
            runs.extend(found.check_runs);
            page = next_of(&answer, &route);
        }
        Ok(runs)
    }

    /// The combined status of `reference`, every page of statuses followed.
    pub fn combined_status(&self, reference: &str) -> Result<CombinedStatus, ForgeError> {
        let action = format!("read the commit status of {reference}");
        let route = format!("{}/commits/{reference}/status", self.repository.route());
        let mut combined: Option<CombinedStatus> = None;
        let mut page = Some(format!("{route}?per_page={PAGE_SIZE}"));
        while let Some(path) = page {
            let answer = self.send(&http::Method::GET, &path, None, &action)?;
            let found: StatusPage = answer.json(&action)?;
            match &mut combined {
                Some(combined) => combined.statuses.extend(found.statuses),
                None => {
                    combined = Some(CombinedStatus {
                        state: found.state,
                        statuses: found.statuses,
                    });
                }
            }
            page = next_of(&answer, &route);
        }
        Ok(combined.unwrap_or(CombinedStatus {
            state: "pending".to_owned(),
            statuses: Vec::new(),
        }))
    }
}

/// The next page, only if it is a page of this same list (the path may carry an API prefix).
fn next_of(answer: &crate::client::Answer, route: &str) -> Option<String> {
    answer.next_page().filter(|next| {
        next.split('?')
            .next()
            .is_some_and(|path| path.ends_with(route))
    })
}
