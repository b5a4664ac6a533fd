//! Pipelines: queuing the retraining run (`pipelines/{id}/runs`), and what
//! the gate's `checks` rule reads — the statuses on a pull request or a
//! commit and the results of the builds of a commit. Shapes as in
//! Microsoft's REST reference, api-version 7.1 (`RunPipelineParameters`,
//! `Run`, `GitStatus`, `Build`).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{AZURE, AzureDevOps, segment};
use crate::error::ForgeError;

/// A queued pipeline run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineRun {
    pub id: u64,
    pub web_url: Option<String>,
}

/// Builds of a commit looked at: the most recent ones of the repository.
const BUILDS_PER_QUERY: u32 = 200;

/// Where a status or a build stands, as Azure DevOps says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildState {
    Succeeded,
    Pending(String),
    Failed(String),
}

impl AzureDevOps {
    /// Queues a run of `pipeline` (its id, or its name as the Pipelines page
    /// shows it) on its default branch.
    pub fn queue_pipeline_run(&self, pipeline: &str) -> Result<PipelineRun, ForgeError> {
        let id = match pipeline.trim().parse::<u64>() {
            Ok(id) => id,
            Err(_) => self.pipeline_id(pipeline.trim())?,
        };
        let action = "queue the retraining pipeline run";
        let run: Value = self
            .send(
                &http::Method::POST,
                &self.project_route(&format!("pipelines/{id}/runs")),
                // No resources: the pipeline's default branch, as a schedule would run it.
                Some(&json!({})),
                action,
            )?
            .json_of(AZURE, action)?;
        Ok(PipelineRun {
            id: run.get("id").and_then(Value::as_u64).unwrap_or_default(),
            web_url: run
                .pointer("/_links/web/href")
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
    }

    /// The id of the pipeline called `name` (`folder\name` also matches).
    fn pipeline_id(&self, name: &str) -> Result<u64, ForgeError> {
        let action = "list the pipelines";
        let listed: Value = self
            .send(
                &http::Method::GET,
                &self.project_route("pipelines?$top=1000"),
                None,
                action,
            )?
            .json_of(AZURE, action)?;
        listed
            .get("value")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|pipeline| {
                let own = pipeline.get("name").and_then(Value::as_str);
                let folder = pipeline
                    .get("folder")
                    .and_then(Value::as_str)
                    .unwrap_or("\\")
                    .trim_matches('\\');
                own.is_some_and(|own| {
                    own.eq_ignore_ascii_case(name)
                        || format!("{folder}\\{own}").eq_ignore_ascii_case(name)
                })
            })
            .and_then(|pipeline| pipeline.get("id").and_then(Value::as_u64))
            .ok_or_else(|| ForgeError::Rejected {
                forge: AZURE,
                action: "queue the retraining pipeline run".to_owned(),
                status: 404,
                message: format!(
                    "no pipeline is called {name:?} in this project; give its id (its URL ends in definitionId=<id>) or its exact name"
                ),
            })
    }

    /// The latest status of each `genre/name` on pull request `pull_request`.
    pub fn pull_request_statuses(
        &self,
        pull_request: u64,
    ) -> Result<BTreeMap<String, BuildState>, ForgeError> {
        let action = format!("read the statuses of pull request {pull_request}");
        let listed: Value = self
            .send(
                &http::Method::GET,
                &self.repository_route(&format!("pullRequests/{pull_request}/statuses")),
                None,
                &action,
            )?
            .json_of(AZURE, &action)?;
        Ok(latest_statuses(&listed))
    }

    /// The latest status of each `genre/name` on commit `sha`.
    pub fn commit_statuses(&self, sha: &str) -> Result<BTreeMap<String, BuildState>, ForgeError> {
        let action = format!("read the statuses of {sha}");
        let listed: Value = self
            .send(
                &http::Method::GET,
                &self.repository_route(&format!(
                    "commits/{}/statuses?latestOnly=true",
                    segment(sha)
                )),
                None,
                &action,
            )?
            .json_of(AZURE, &action)?;
        Ok(latest_statuses(&listed))
    }

    /// The latest build of each pipeline (by its name) that built `sha` in
    /// this repository, among the most recent builds.
    pub fn builds_of_commit(&self, sha: &str) -> Result<BTreeMap<String, BuildState>, ForgeError> {
        let action = format!("read the builds of {sha}");
        let repository = &self.repository_id;
        let listed: Value = self
            .send(
                &http::Method::GET,
                &self.project_route(&format!(
                    "build/builds?repositoryId={repository}&repositoryType=TfsGit&queryOrder=queueTimeDescending&$top={BUILDS_PER_QUERY}"
                )),
                None,
                &action,
            )?
            .json_of(AZURE, &action)?;
        let mut builds = BTreeMap::new();
        for build in listed
            .get("value")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|build| build.get("sourceVersion").and_then(Value::as_str) == Some(sha))
        {
            let Some(name) = build.pointer("/definition/name").and_then(Value::as_str) else {
                continue;
            };
            // Newest first: the first of each pipeline is its latest.
            builds
                .entry(name.to_owned())
                .or_insert_with(|| build_state(build));
        }
        Ok(builds)
    }
}

/// `completed` + `succeeded`: succeeded; completed otherwise: failed with its
/// result (`partiallySucceeded` too: a task failed); else pending.
fn build_state(build: &Value) -> BuildState {
    let text = |key: &str| build.get(key).and_then(Value::as_str).unwrap_or("none");
    match (text("status"), text("result")) {
        ("completed", "succeeded") => BuildState::Succeeded,
        ("completed", result) => BuildState::Failed(result.to_owned()),
        (status, _) => BuildState::Pending(status.to_owned()),
    }
}

/// Statuses by `genre/name` (or `name` without a genre), the latest (highest
/// id) of each.
fn latest_statuses(listed: &Value) -> BTreeMap<String, BuildState> {
    let mut latest: BTreeMap<String, (u64, BuildState)> = BTreeMap::new();
    for status in listed
        .get("value")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(name) = status.pointer("/context/name").and_then(Value::as_str) else {
            continue;
        };
        let key = match status.pointer("/context/genre").and_then(Value::as_str) {
            Some(genre) if !genre.is_empty() => format!("{genre}/{name}"),
            _ => name.to_owned(),
        };
        let id = status.get("id").and_then(Value::as_u64).unwrap_or_default();
        let state = match status
            .get("state")
            .and_then(Value::as_str)
            .unwrap_or("notSet")
        {
            "succeeded" => BuildState::Succeeded,
            state @ ("pending" | "notSet") => BuildState::Pending(state.to_owned()),
            state => BuildState::Failed(state.to_owned()),
        };
        if latest.get(&key).is_none_or(|(seen, _)| id >= *seen) {
            latest.insert(key, (id, state));
        }
    }
    latest
        .into_iter()
        .map(|(key, (_, state))| (key, state))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_status_of_each_context_counts() {
        let listed = json!({"value": [
            {"id": 1, "state": "failed", "context": {"genre": "trainyard", "name": "gate"}},
            {"id": 3, "state": "succeeded", "context": {"genre": "trainyard", "name": "gate"}},
            {"id": 2, "state": "pending", "context": {"name": "lint"}},
            {"id": 4, "state": "notApplicable", "context": {"genre": "ci", "name": "x"}},
        ]});
        let statuses = latest_statuses(&listed);
        assert_eq!(statuses["trainyard/gate"], BuildState::Succeeded);
        assert_eq!(statuses["lint"], BuildState::Pending("pending".into()));
        assert_eq!(statuses["ci/x"], BuildState::Failed("notApplicable".into()));
    }

    #[test]
    fn build_results() {
        let build = |status: &str, result: Option<&str>| {
            build_state(&json!({"status": status, "result": result}))
        };
        assert_eq!(build("completed", Some("succeeded")), BuildState::Succeeded);
        assert_eq!(
            build("completed", Some("partiallySucceeded")),
            BuildState::Failed("partiallySucceeded".into())
        );
        assert_eq!(
            build("inProgress", None),
            BuildState::Pending("inProgress".into())
        );
    }
}
