//! What the forge reports on a commit, as the gate's `checks:` rule reads it.
//! On GitHub: each check run's and commit status's state, by name, from the
//! job's GitHub (token, `GITHUB_REPOSITORY`, `GITHUB_API_URL`). On Azure
//! Pipelines with an Azure Repos repository: the statuses on the pull request
//! (in a pull-request build) and on the commit, by `genre/name`, and the
//! latest build of the commit by each pipeline, by the pipeline's name.

use std::collections::BTreeMap;

use trainyard_ci::{Env, Host};

use crate::azure::{self, AzureConfig, AzureDevOps, BuildState};
use crate::client::{GitHub, GitHubConfig, Repository};
use crate::commit_checks::{CheckRunState, StatusState};
use crate::error::ForgeError;
use crate::job::token;

/// Where one check run or commit status stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckState {
    Succeeded,
    /// Not finished: `queued`, `in_progress`, `pending`…
    Pending(String),
    /// Finished without success: `failure`, `cancelled`, `error`, `skipped`…
    Failed(String),
}

/// A commit's check runs and statuses, or why they could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckStates {
    /// They could not be read: why, and how to make them readable (one line).
    Unavailable(String),
    /// Read from `source` (`GitHub octo-org/ml`): each name's states (a check
    /// run and a status may share a name; re-runs add more).
    Read {
        source: String,
        results: BTreeMap<String, Vec<CheckState>>,
    },
}

impl CheckRunState {
    /// Completed with `success`: succeeded; completed otherwise: failed with
    /// its conclusion; else pending with its status.
    pub fn state(&self) -> CheckState {
        match (self.status.as_str(), self.conclusion.as_deref()) {
            ("completed", Some("success")) => CheckState::Succeeded,
            ("completed", conclusion) => {
                CheckState::Failed(conclusion.unwrap_or("none").to_owned())
            }
            (status, _) => CheckState::Pending(status.to_owned()),
        }
    }
}

impl StatusState {
    /// `success`, `pending`, or failed (`failure`, `error`).
    pub fn state(&self) -> CheckState {
        match self.state.as_str() {
            "success" => CheckState::Succeeded,
            "pending" => CheckState::Pending(self.state.clone()),
            _ => CheckState::Failed(self.state.clone()),
        }
    }
}

/// The check runs and statuses on `commit`, read from GitHub when the job has
/// a token and a repository; otherwise, or when GitHub refuses to show them,
/// why not, in a line that says how to fix it. An error only when GitHub does
/// not answer (or answers what cannot be read).
///
/// On Azure Pipelines (`TF_BUILD`, or `TRAINYARD_HOST=azure`) the same is
/// read from Azure DevOps ([`azure_checks`]).
pub fn commit_checks(env: &Env, commit: &str) -> Result<CheckStates, ForgeError> {
    if Host::detect(env) == Host::AzurePipelines {
        return azure_checks(env, commit);
    }
    let Some(token) = token(env) else {
        return Ok(CheckStates::Unavailable(
            "no GitHub token; set GITHUB_TOKEN (in a workflow: `env: { GITHUB_TOKEN: ${{ github.token }} }` \
             or the action's `github-token` input) with `checks: read` and `statuses: read` permissions"
                .to_owned(),
        ));
    };
    let Some(repository) = env.get("GITHUB_REPOSITORY").and_then(Repository::parse) else {
        return Ok(CheckStates::Unavailable(
            "GITHUB_REPOSITORY is not set to owner/name, so there is no GitHub repository to ask; \
             set it (GitHub Actions does)"
                .to_owned(),
        ));
    };
    let source = format!("GitHub {repository}");
    let github = GitHub::new(GitHubConfig::from_env(env, token, repository))?;
    let refused = |error: ForgeError| match error {
        ForgeError::Refused { status, .. } => Ok(CheckStates::Unavailable(format!(
            "GitHub refused to show them (HTTP {status}); give the job's token `checks: read` and `statuses: read` permissions"
        ))),
        error => Err(error),
    };
    let runs = match github.check_runs_for_ref(commit) {
        Ok(runs) => runs,
        Err(error) => return refused(error),
    };
    let statuses = match github.combined_status(commit) {
        Ok(combined) => combined.statuses,
        Err(error) => return refused(error),
    };
    let mut results: BTreeMap<String, Vec<CheckState>> = BTreeMap::new();
    for run in runs {
        let state = run.state();
        results.entry(run.name).or_default().push(state);
    }
    for status in statuses {
        let state = status.state();
        results.entry(status.context).or_default().push(state);
    }
    Ok(CheckStates::Read { source, results })
}

/// The statuses and build results of `commit` in the job's Azure Repos
/// repository (and of its pull request, in a pull-request build of that
/// commit), from
/// `SYSTEM_ACCESSTOKEN`, `SYSTEM_COLLECTIONURI`, `SYSTEM_TEAMPROJECT` and
/// `BUILD_REPOSITORY_ID`; otherwise, or when Azure DevOps refuses to show
/// them, why not, in a line that says how to fix it.
pub fn azure_checks(env: &Env, commit: &str) -> Result<CheckStates, ForgeError> {
    if !azure::is_azure_repos(env) {
        return Ok(CheckStates::Unavailable(format!(
            "the repository is on {}, not Azure Repos; trainyard reads checks from Azure Repos or GitHub Actions",
            env.get("BUILD_REPOSITORY_PROVIDER").unwrap_or_default()
        )));
    }
    let config = match AzureConfig::from_env(env) {
        Ok(config) => config,
        Err(why) => return Ok(CheckStates::Unavailable(why)),
    };
    let source = format!(
        "Azure DevOps {}/{}",
        config.project,
        env.get("BUILD_REPOSITORY_NAME")
            .unwrap_or(&config.repository_id)
    );
    let client = AzureDevOps::new(config)?;
    let refused = |error: ForgeError| match error {
        ForgeError::Refused { status, .. } => Ok(CheckStates::Unavailable(format!(
            "Azure DevOps refused to show them (HTTP {status}); give the project's build service \
             Read on the repository and View builds on the pipelines"
        ))),
        error => Err(error),
    };
    let mut read = Vec::new();
    // A pull request's statuses are about its latest iteration: they count
    // for the commit this build is of (its merge or its head), no other.
    let of_this_build = ["BUILD_SOURCEVERSION", "SYSTEM_PULLREQUEST_SOURCECOMMITID"]
        .iter()
        .any(|name| env.get(name).is_some_and(|sha| sha.trim() == commit));
    if of_this_build
        && let Some(pull_request) = env
            .get("SYSTEM_PULLREQUEST_PULLREQUESTID")
            .and_then(|id| id.trim().parse::<u64>().ok())
    {
        match client.pull_request_statuses(pull_request) {
            Ok(statuses) => read.push(statuses),
            Err(error) => return refused(error),
        }
    }
    for result in [
        client.commit_statuses(commit),
        client.builds_of_commit(commit),
    ] {
        match result {
            Ok(states) => read.push(states),
            Err(error) => return refused(error),
        }
    }
    let mut results: BTreeMap<String, Vec<CheckState>> = BTreeMap::new();
    for (name, state) in read.into_iter().flatten() {
        let state = match state {
            BuildState::Succeeded => CheckState::Succeeded,
            BuildState::Pending(status) => CheckState::Pending(status),
            BuildState::Failed(result) => CheckState::Failed(result),
        };
        results.entry(name).or_default().push(state);
    }
    Ok(CheckStates::Read { source, results })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(status: &str, conclusion: Option<&str>) -> CheckState {
        CheckRunState {
            name: "ci".into(),
            status: status.into(),
            conclusion: conclusion.map(str::to_owned),
            html_url: None,
        }
        .state()
    }

    fn status(state: &str) -> CheckState {
        StatusState {
            context: "ci".into(),
            state: state.into(),
            description: None,
            target_url: None,
        }
        .state()
    }

    #[test]
    fn states_of_check_runs_and_statuses() {
        assert_eq!(run("completed", Some("success")), CheckState::Succeeded);
        assert_eq!(
            run("completed", Some("cancelled")),
            CheckState::Failed("cancelled".into())
        );
        assert_eq!(run("completed", None), CheckState::Failed("none".into()));
        assert_eq!(
            run("in_progress", None),
            CheckState::Pending("in_progress".into())
        );
        assert_eq!(status("success"), CheckState::Succeeded);
        assert_eq!(status("pending"), CheckState::Pending("pending".into()));
        assert_eq!(status("error"), CheckState::Failed("error".into()));
    }

    #[test]
    fn without_a_token_or_a_repository_says_how_to_provide_them() {
        let Ok(CheckStates::Unavailable(why)) = commit_checks(&Env::default(), "abc") else {
            panic!("read without a token")
        };
        assert!(
            why.starts_with("no GitHub token; set GITHUB_TOKEN"),
            "{why}"
        );
        let env = Env::from_pairs([("GITHUB_TOKEN", "t")]);
        let Ok(CheckStates::Unavailable(why)) = commit_checks(&env, "abc") else {
            panic!("read without a repository")
        };
        assert!(why.starts_with("GITHUB_REPOSITORY is not set"), "{why}");
    }
}
