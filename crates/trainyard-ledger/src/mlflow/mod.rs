//! The ledger on an MLflow tracking server (`tracking.backend: mlflow`),
//! over MLflow's REST API 2.0; no Python at run time.
//!
//! What lives where:
//!
//! - **Runs**: one MLflow run per trainyard run, in the experiment named after
//!   the project, found by its `trainyard.run_id` tag. Params, metrics (the
//!   final values and every streamed series with its steps) and system tags
//!   (`mlflow.source.git.commit`, `mlflow.source.git.branch`,
//!   `mlflow.source.name`, `mlflow.source.type`, …) are MLflow's own, so its
//!   UI and clients show them. The rest of the [`RunRecord`] (command,
//!   outcome, artifacts, exact times, typed params…) is its JSON without the
//!   series, in tags `trainyard.record.<n>` (MLflow caps a tag at 8000
//!   characters); `trainyard.record.chunks`, written last, marks the run
//!   complete, so a run cut off midway is finished by the next append of the
//!   same id rather than read half-written.
//! - **Model versions and aliases**: MLflow's registry (registered models,
//!   model versions waited for until `READY`, aliases, version tags); a
//!   version's run, artifact digest and registration time are version tags.
//! - **Alias moves, tag changes and deployments**: their history is kept in
//!   git by the [`GitLedger`] given to [`MlflowLedger::connect`] (MLflow keeps
//!   no alias history, its issue #2169), so `status` and rollback read the
//!   same history on both backends.
//!
//! Appends are idempotent by run id, and every request is retried with
//! backoff on a busy server (5xx, SQLite's "database is locked") or a dropped
//! connection. Two writers creating the same run at once both end up writing
//! the MLflow run with the smallest id; the other one is deleted.

mod client;

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub use client::MlflowCredentials;
use client::{Client, Retry, is_code};

use crate::git::{validate_alias, validate_name};
use crate::record::{AliasMove, Deployment, ModelVersion, RunId, RunRecord, TagChange, Timestamp};
use crate::{GitLedger, Ledger, LedgerError, Outcome};
use trainyard_store::ArtifactRef;

// MLflow's limits (mlflow/utils/validation.py).
const MAX_METRICS_PER_BATCH: usize = 1000;
const MAX_PARAMS_PER_BATCH: usize = 100;
const MAX_TAGS_PER_BATCH: usize = 100;
const MAX_PARAM_VALUE_LENGTH: usize = 6000;
const MAX_TAG_VALUE_LENGTH: usize = 8000;
const MAX_KEY_LENGTH: usize = 250;
/// Record chunks per `log-batch` call: 50 × 8000 characters keeps the
/// request under MLflow's 1 MB limit even with JSON escapes.
const RECORD_CHUNKS_PER_BATCH: usize = 50;
/// Runs per `runs/search` page.
const SEARCH_PAGE: u32 = 500;
/// How long a new model version may stay `PENDING_REGISTRATION`.
const READY_WAIT: Duration = Duration::from_mins(2);

// trainyard's tags.
const RUN_ID_TAG: &str = "trainyard.run_id";
const RECORD_TAG: &str = "trainyard.record";
const CHUNKS_TAG: &str = "trainyard.record.chunks";
const PROJECT_TAG: &str = "trainyard.project";
const VERSION_RUN_TAG: &str = "trainyard.run_id";
const VERSION_ARTIFACT_TAG: &str = "trainyard.artifact";
const VERSION_REGISTERED_TAG: &str = "trainyard.registered_at";
const VERSION_NONCE_TAG: &str = "trainyard.registration";
/// Version tags trainyard keeps for itself (not the version's user tags).
const VERSION_OWN_TAGS: [&str; 4] = [
    VERSION_RUN_TAG,
    VERSION_ARTIFACT_TAG,
    VERSION_REGISTERED_TAG,
    VERSION_NONCE_TAG,
];
/// The field of the stored record naming the series kept as MLflow metrics
/// and how many points each has.
const SERIES_POINTS_FIELD: &str = "series_points";

/// The ledger on an MLflow tracking server (see the module documentation).
pub struct MlflowLedger {
    client: Client,
    history: GitLedger,
    project: Option<String>,
    experiment: OnceLock<String>,
    search_page: u32,
}

impl std::fmt::Debug for MlflowLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MlflowLedger")
            .field("client", &self.client)
            .field("project", &self.project)
            .field("history", &self.history)
            .finish_non_exhaustive()
    }
}

impl MlflowLedger {
    /// The ledger on the MLflow server at `uri` (`http(s)://host[:port][/prefix]`),
    /// keeping alias and tag histories and deployments in `history`. Nothing
    /// is sent until the first operation; set the project (the experiment's
    /// name) with [`Self::with_project`].
    pub fn connect(
        uri: &str,
        credentials: MlflowCredentials,
        history: GitLedger,
    ) -> Result<Self, LedgerError> {
        Ok(Self {
            client: Client::new(uri, credentials)?,
            history,
            project: None,
            experiment: OnceLock::new(),
            search_page: SEARCH_PAGE,
        })
    }

    /// Records runs in the experiment named `project` (trainyard.yaml's
    /// `project`), created on first use, and lists only the registered
    /// models this project registered.
    #[must_use]
    pub fn with_project(mut self, project: &str) -> Self {
        self.project = Some(project.to_owned());
        self.experiment = OnceLock::new();
        self
    }

    /// Asks `runs/search` for `runs` runs per page (500 by default): for a
    /// server capping pages lower, and for tests of paging.
    #[must_use]
    pub fn with_search_page_size(mut self, runs: u32) -> Self {
        self.search_page = runs.max(1);
        self
    }

    /// The server's address, without credentials.
    pub fn server(&self) -> &str {
        self.client.server()
    }

    /// The git ledger keeping the histories and deployments.
    pub fn history(&self) -> &GitLedger {
        &self.history
    }

    fn project(&self) -> Result<&str, LedgerError> {
        self.project.as_deref().ok_or_else(|| LedgerError::MlflowUri {
            uri: self.client.server().to_owned(),
            reason: "no project set (MlflowLedger::with_project): runs are kept in the experiment named after the project".to_owned(),
        })
    }

    fn corrupt(&self, message: impl Into<String>) -> LedgerError {
        LedgerError::MlflowCorrupt {
            server: self.client.server().to_owned(),
            message: message.into(),
        }
    }

    // ---- experiments and runs ----------------------------------------------

    /// The id of the project's experiment, created when missing.
    fn experiment_id(&self) -> Result<String, LedgerError> {
        if let Some(id) = self.experiment.get() {
            return Ok(id.clone());
        }
        let name = self.project()?;
        let id = if let Some(id) = self.find_experiment(name)? {
            id
        } else {
            let created = self.client.post(
                "experiments/create",
                &json!({ "name": name, "tags": [{ "key": PROJECT_TAG, "value": name }] }),
                Retry::Transient,
            );
            match created {
                Ok(answer) => string_field(&answer, "experiment_id")
                    .ok_or_else(|| self.corrupt("experiments/create answered no id"))?,
                // Another writer created it first.
                Err(error) if is_code(&error, "RESOURCE_ALREADY_EXISTS") => self
                    .find_experiment(name)?
                    .ok_or_else(|| self.corrupt(format!("experiment `{name}` vanished")))?,
                Err(error) => return Err(error),
            }
        };
        Ok(self.experiment.get_or_init(|| id).clone())
    }

    fn find_experiment(&self, name: &str) -> Result<Option<String>, LedgerError> {
        match self
            .client
            .get("experiments/get-by-name", &[("experiment_name", name)])
        {
            Ok(answer) => {
                let experiment = &answer["experiment"];
                if experiment["lifecycle_stage"].as_str() == Some("deleted") {
                    return Err(self.corrupt(format!(
                        "the experiment `{name}` is deleted; restore it (`mlflow experiments restore`) or delete it for good (`mlflow gc`)"
                    )));
                }
                Ok(string_field(experiment, "experiment_id"))
            }
            Err(error) if is_code(&error, "RESOURCE_DOES_NOT_EXIST") => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Every active MLflow run of the project matching `filter`, as returned
    /// by `runs/search`, every page.
    fn search_runs(&self, filter: &str) -> Result<Vec<MlflowRun>, LedgerError> {
        // Reading creates nothing: no experiment yet means no runs.
        let experiment = match self.experiment.get() {
            Some(id) => id.clone(),
            None => match self.find_experiment(self.project()?)? {
                Some(id) => self.experiment.get_or_init(|| id).clone(),
                None => return Ok(Vec::new()),
            },
        };
        let mut runs = Vec::new();
        let mut page_token: Option<String> = None;
        loop {
            let mut body = json!({
                "experiment_ids": [experiment],
                "filter": filter,
                "max_results": self.search_page,
                "run_view_type": "ACTIVE_ONLY",
            });
            if let Some(token) = &page_token {
                body["page_token"] = json!(token);
            }
            let answer = self.client.post("runs/search", &body, Retry::Transient)?;
            for run in answer["runs"].as_array().into_iter().flatten() {
                runs.push(MlflowRun::from_json(run).ok_or_else(|| {
                    self.corrupt(format!("runs/search answered a run without an id: {run}"))
                })?);
            }
            page_token = string_field(&answer, "next_page_token").filter(|t| !t.is_empty());
            if page_token.is_none() {
                return Ok(runs);
            }
        }
    }

    /// The MLflow runs tagged with trainyard run id `id`, smallest MLflow id first.
    fn runs_tagged(&self, id: &RunId) -> Result<Vec<MlflowRun>, LedgerError> {
        let mut runs = self.search_runs(&format!("tags.`{RUN_ID_TAG}` = '{id}'"))?;
        runs.retain(|run| run.tags.get(RUN_ID_TAG).map(String::as_str) == Some(id.as_str()));
        runs.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(runs)
    }

    /// The complete record of each trainyard run among `runs` (the one in
    /// the smallest MLflow id when a run was written twice), by trainyard id.
    fn complete_records(
        &self,
        runs: Vec<MlflowRun>,
        with_series: bool,
    ) -> Result<BTreeMap<RunId, RunRecord>, LedgerError> {
        let mut chosen: BTreeMap<String, MlflowRun> = BTreeMap::new();
        for run in runs {
            let Some(id) = run.tags.get(RUN_ID_TAG).cloned() else {
                continue;
            };
            if !run.tags.contains_key(CHUNKS_TAG) {
                continue;
            }
            match chosen.get(&id) {
                Some(kept) if kept.id <= run.id => {}
                _ => {
                    chosen.insert(id, run);
                }
            }
        }
        chosen
            .into_values()
            .map(|run| {
                let record = self.read_record(&run, with_series)?;
                Ok((record.id.clone(), record))
            })
            .collect()
    }

    /// The trainyard record stored in a complete MLflow run.
    fn read_record(&self, run: &MlflowRun, with_series: bool) -> Result<RunRecord, LedgerError> {
        let mut stored = self.stored_record(run)?;
        let points: BTreeMap<String, usize> = match stored
            .as_object_mut()
            .and_then(|object| object.remove(SERIES_POINTS_FIELD))
        {
            Some(points) => serde_json::from_value(points).map_err(|error| {
                self.corrupt(format!("run {}: {SERIES_POINTS_FIELD}: {error}", run.id))
            })?,
            None => BTreeMap::new(),
        };
        if with_series && !points.is_empty() {
            let series = stored
                .as_object_mut()
                .ok_or_else(|| {
                    self.corrupt(format!("run {}: the record is not an object", run.id))
                })?
                .entry("series")
                .or_insert_with(|| json!({}));
            for (name, count) in points {
                let values = self.metric_history(&run.id, &name, count)?;
                series[name.as_str()] = Value::Array(values);
            }
        }
        serde_json::from_value(stored).map_err(|error| {
            self.corrupt(format!(
                "the trainyard record of MLflow run {} is not a run record: {error}",
                run.id
            ))
        })
    }

    fn stored_record(&self, run: &MlflowRun) -> Result<Value, LedgerError> {
        let chunks: usize = run
            .tags
            .get(CHUNKS_TAG)
            .and_then(|count| count.parse().ok())
            .ok_or_else(|| self.corrupt(format!("run {}: bad {CHUNKS_TAG}", run.id)))?;
        let mut text = String::new();
        for chunk in 0..chunks {
            text.push_str(
                run.tags
                    .get(&format!("{RECORD_TAG}.{chunk}"))
                    .ok_or_else(|| {
                        self.corrupt(format!(
                            "run {}: tag {RECORD_TAG}.{chunk} is missing",
                            run.id
                        ))
                    })?,
            );
        }
        serde_json::from_str(&text).map_err(|error| {
            self.corrupt(format!(
                "run {}: the trainyard record is not JSON: {error}",
                run.id
            ))
        })
    }

    /// The first `count` points of metric `key` in the order they were
    /// logged (their timestamps), as the record's `[step, value]` pairs.
    fn metric_history(
        &self,
        run_id: &str,
        key: &str,
        count: usize,
    ) -> Result<Vec<Value>, LedgerError> {
        let mut points: Vec<(i64, u64, Value)> = Vec::new();
        let mut page_token: Option<String> = None;
        loop {
            let mut query = vec![
                ("run_id", run_id),
                ("metric_key", key),
                ("max_results", "25000"),
            ];
            if let Some(token) = &page_token {
                query.push(("page_token", token));
            }
            let answer = self.client.get("metrics/get-history", &query)?;
            for metric in answer["metrics"].as_array().into_iter().flatten() {
                let timestamp = metric["timestamp"].as_i64().unwrap_or_default();
                let step = metric["step"].as_u64().unwrap_or_default();
                points.push((timestamp, step, stored_float(&metric["value"])));
            }
            page_token = string_field(&answer, "next_page_token").filter(|t| !t.is_empty());
            if page_token.is_none() {
                break;
            }
        }
        points.sort_by_key(|(timestamp, _, _)| *timestamp);
        if points.len() < count {
            return Err(self.corrupt(format!(
                "run {run_id}: metric `{key}` has {} points, the record says {count}",
                points.len()
            )));
        }
        Ok(points
            .into_iter()
            .take(count)
            .map(|(_, step, value)| json!([step, value]))
            .collect())
    }

    /// Writes `run` into MLflow run `mlflow_id`: params, metrics, tags, status, then the
    /// completion mark. Every write is idempotent, so a cut-off append is resumed.
    fn write_run(&self, mlflow_id: &str, run: &RunRecord) -> Result<(), LedgerError> {
        let layout = Layout::of(run)?;
        for params in layout.params.chunks(MAX_PARAMS_PER_BATCH) {
            self.log_batch(mlflow_id, params, &[], &[])?;
        }
        for metrics in layout.metrics.chunks(MAX_METRICS_PER_BATCH) {
            self.log_batch(mlflow_id, &[], metrics, &[])?;
        }
        for tags in layout.tags.chunks(MAX_TAGS_PER_BATCH) {
            self.log_batch(mlflow_id, &[], &[], tags)?;
        }
        for chunks in layout.record_chunks.chunks(RECORD_CHUNKS_PER_BATCH) {
            self.log_batch(mlflow_id, &[], &[], chunks)?;
        }
        let end_time = layout.start_ms + millis(run.duration);
        self.client.post(
            "runs/update",
            &json!({
                "run_id": mlflow_id,
                "status": mlflow_status(&run.outcome),
                "end_time": end_time,
                "run_name": run.id.as_str(),
            }),
            Retry::Transient,
        )?;
        self.log_batch(
            mlflow_id,
            &[],
            &[],
            &[json!({ "key": CHUNKS_TAG, "value": layout.record_chunks.len().to_string() })],
        )
    }

    fn log_batch(
        &self,
        mlflow_id: &str,
        params: &[Value],
        metrics: &[Value],
        tags: &[Value],
    ) -> Result<(), LedgerError> {
        self.client
            .post(
                "runs/log-batch",
                &json!({ "run_id": mlflow_id, "params": params, "metrics": metrics, "tags": tags }),
                Retry::Transient,
            )
            .map(drop)
    }

    /// The MLflow run to write trainyard run `run` into: one already started
    /// for it (cut off midway), else a new one. When two writers created
    /// one each, both continue in the smallest id and the other is deleted.
    fn start_run(&self, run: &RunRecord, existing: &[MlflowRun]) -> Result<String, LedgerError> {
        if let Some(first) = existing.first() {
            return Ok(first.id.clone());
        }
        let experiment = self.experiment_id()?;
        let layout_start = start_millis(run.started_at);
        let answer = self.client.post(
            "runs/create",
            &json!({
                "experiment_id": experiment,
                "run_name": run.id.as_str(),
                "start_time": layout_start,
                "tags": [{ "key": RUN_ID_TAG, "value": run.id.as_str() }],
            }),
            Retry::Transient,
        )?;
        let created = string_field(&answer["run"]["info"], "run_id")
            .ok_or_else(|| self.corrupt("runs/create answered no run id"))?;
        let tagged = self.runs_tagged(&run.id)?;
        let keep = tagged
            .first()
            .map_or_else(|| created.clone(), |first| first.id.clone());
        if keep != created {
            self.client.post(
                "runs/delete",
                &json!({ "run_id": created }),
                Retry::Transient,
            )?;
        }
        Ok(keep)
    }

    /// Keeps one complete MLflow run for trainyard run `id`, the smallest
    /// id: two writers that created a run each at once both complete theirs
    /// (with the same record), and the last to finish deletes the other.
    /// Incomplete runs are left to their writers.
    fn remove_duplicates(&self, id: &RunId) -> Result<(), LedgerError> {
        let complete: Vec<MlflowRun> = self
            .runs_tagged(id)?
            .into_iter()
            .filter(|run| run.tags.contains_key(CHUNKS_TAG))
            .collect();
        for duplicate in complete.iter().skip(1) {
            match self.client.post(
                "runs/delete",
                &json!({ "run_id": duplicate.id }),
                Retry::Transient,
            ) {
                // Deleted by the other writer meanwhile.
                Err(error) if is_code(&error, "RESOURCE_DOES_NOT_EXIST") => {}
                other => drop(other?),
            }
        }
        Ok(())
    }

    // ---- registry -------------------------------------------------------------

    /// The registered model `model` (its `registered_model` object), or `None`.
    fn registered_model(&self, model: &str) -> Result<Option<Value>, LedgerError> {
        match self.client.get("registered-models/get", &[("name", model)]) {
            Ok(mut answer) => Ok(Some(answer["registered_model"].take())),
            Err(error) if is_code(&error, "RESOURCE_DOES_NOT_EXIST") => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Creates registered model `model` unless it exists, tagged with the project.
    fn ensure_model(&self, model: &str) -> Result<(), LedgerError> {
        let project = self.project()?;
        let created = self.client.post(
            "registered-models/create",
            &json!({ "name": model, "tags": [{ "key": PROJECT_TAG, "value": project }] }),
            Retry::Transient,
        );
        match created {
            Ok(_) => Ok(()),
            Err(error) if is_code(&error, "RESOURCE_ALREADY_EXISTS") => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Every version of `model` MLflow holds (trainyard's or not), by number.
    fn raw_versions(&self, model: &str) -> Result<Vec<Value>, LedgerError> {
        let filter = format!("name='{}'", model.replace('\'', "\\'"));
        let mut versions = Vec::new();
        let mut page_token: Option<String> = None;
        loop {
            let mut query = vec![("filter", filter.as_str()), ("max_results", "1000")];
            if let Some(token) = &page_token {
                query.push(("page_token", token));
            }
            let answer = self.client.get("model-versions/search", &query)?;
            versions.extend(
                answer["model_versions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .cloned(),
            );
            page_token = string_field(&answer, "next_page_token").filter(|t| !t.is_empty());
            if page_token.is_none() {
                break;
            }
        }
        versions.sort_by_key(version_number);
        Ok(versions)
    }

    /// The model's trainyard versions (with tags and aliases) and aliases;
    /// [`LedgerError::ModelNotFound`] when it has none.
    fn model_state(
        &self,
        model: &str,
    ) -> Result<(Vec<ModelVersion>, BTreeMap<String, u64>), LedgerError> {
        validate_name("model name", model)?;
        let not_found = || -> Result<_, LedgerError> {
            Err(LedgerError::ModelNotFound {
                model: model.to_owned(),
                known: self.models()?,
            })
        };
        let Some(registered) = self.registered_model(model)? else {
            return not_found();
        };
        let aliases: BTreeMap<String, u64> = registered["aliases"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|alias| {
                let name = alias["alias"].as_str()?;
                let version = alias["version"].as_str()?.parse().ok()?;
                Some((name.to_owned(), version))
            })
            .collect();
        let mut versions = Vec::new();
        for raw in self.raw_versions(model)? {
            // Some servers leave tags out of search answers: then read the version itself.
            let raw = if tag_map(&raw["tags"]).contains_key(VERSION_ARTIFACT_TAG) {
                raw
            } else {
                let number = version_number(&raw);
                self.client.get(
                    "model-versions/get",
                    &[("name", model), ("version", &number.to_string())],
                )?["model_version"]
                    .take()
            };
            if let Some(mut version) = self.version_of(model, &raw)? {
                version.aliases = aliases
                    .iter()
                    .filter(|(_, v)| **v == version.version)
                    .map(|(alias, _)| alias.clone())
                    .collect();
                versions.push(version);
            }
        }
        if versions.is_empty() {
            return not_found();
        }
        let known: Vec<u64> = versions.iter().map(|v| v.version).collect();
        let aliases = aliases
            .into_iter()
            .filter(|(_, version)| known.contains(version))
            .collect();
        Ok((versions, aliases))
    }

    /// A trainyard model version from MLflow's, or `None` for a version
    /// trainyard did not register (no artifact digest).
    fn version_of(&self, model: &str, raw: &Value) -> Result<Option<ModelVersion>, LedgerError> {
        let tags = tag_map(&raw["tags"]);
        let Some(artifact) = tags.get(VERSION_ARTIFACT_TAG) else {
            return Ok(None);
        };
        let number = version_number(raw);
        let bad = |what: &str| self.corrupt(format!("{model} v{number}: {what}"));
        let artifact: ArtifactRef = serde_json::from_str(artifact)
            .map_err(|e| bad(&format!("{VERSION_ARTIFACT_TAG}: {e}")))?;
        let run_id = RunId::parse(tags.get(VERSION_RUN_TAG).map_or("", String::as_str))
            .map_err(|_| bad(&format!("no valid {VERSION_RUN_TAG} tag")))?;
        let registered_at = match tags.get(VERSION_REGISTERED_TAG) {
            Some(at) => at
                .parse::<Timestamp>()
                .map_err(|e| bad(&format!("{VERSION_REGISTERED_TAG}: {e}")))?,
            None => from_millis(raw["creation_timestamp"].as_i64().unwrap_or_default()),
        };
        Ok(Some(ModelVersion {
            model: model.to_owned(),
            version: number,
            run_id,
            artifact,
            registered_at,
            tags: tags
                .into_iter()
                .filter(|(key, _)| !VERSION_OWN_TAGS.contains(&key.as_str()))
                .collect(),
            aliases: Vec::new(),
        }))
    }

    /// Creates a version of `model` (registered first when new) with
    /// trainyard's tags, then waits until it is `READY`. A creation that
    /// failed on the way is retried only after checking it did not happen.
    fn create_version(
        &self,
        model: &str,
        run_id: &RunId,
        artifact: &ArtifactRef,
        registered_at: Timestamp,
        expected: Option<u64>,
    ) -> Result<ModelVersion, LedgerError> {
        validate_name("model name", model)?;
        trainyard_store::validate_digest(&artifact.digest).map_err(|_| {
            LedgerError::InvalidDigest {
                value: artifact.digest.clone(),
            }
        })?;
        self.ensure_model(model)?;
        if let Some(version) = expected {
            let next = self
                .raw_versions(model)?
                .last()
                .map_or(1, |last| version_number(last) + 1);
            if next != version {
                return Err(LedgerError::ImportOutOfOrder {
                    model: model.to_owned(),
                    version,
                    next,
                });
            }
        }
        let mlflow_run = self.runs_tagged(run_id)?.into_iter().next();
        let nonce = crate::id::random_hex(32);
        let artifact_json = serde_json::to_string(artifact)
            .map_err(|e| self.corrupt(format!("encoding the artifact reference: {e}")))?;
        let mut body = json!({
            "name": model,
            "source": match &mlflow_run {
                Some(run) => format!("runs:/{}/{}", run.id, artifact.path),
                None => format!("trainyard:/{run_id}/{}", artifact.path),
            },
            "tags": [
                { "key": VERSION_RUN_TAG, "value": run_id.as_str() },
                { "key": VERSION_ARTIFACT_TAG, "value": artifact_json },
                { "key": VERSION_REGISTERED_TAG, "value": registered_at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true) },
                { "key": VERSION_NONCE_TAG, "value": nonce },
            ],
        });
        if let Some(run) = &mlflow_run {
            body["run_id"] = json!(run.id);
        }
        let mut attempt = 0;
        let created = loop {
            attempt += 1;
            match self
                .client
                .post("model-versions/create", &body, Retry::Never)
            {
                Ok(answer) => break answer["model_version"].clone(),
                Err(
                    error @ (LedgerError::MlflowUnavailable { .. } | LedgerError::Mlflow { .. }),
                ) if attempt < 6 && is_transient(&error) => {
                    client::backoff(attempt);
                    // It may have been created before the answer was lost.
                    if let Some(found) = self.raw_versions(model)?.into_iter().find(|raw| {
                        self.version_tag(model, raw, VERSION_NONCE_TAG)
                            .ok()
                            .flatten()
                            .as_deref()
                            == Some(nonce.as_str())
                    }) {
                        break found;
                    }
                }
                Err(error) => return Err(error),
            }
        };
        let number = version_number(&created);
        let ready = self.wait_ready(model, number)?;
        self.version_of(model, &ready)?
            .ok_or_else(|| self.corrupt(format!("{model} v{number} lost its trainyard tags")))
    }

    fn version_tag(
        &self,
        model: &str,
        raw: &Value,
        key: &str,
    ) -> Result<Option<String>, LedgerError> {
        if let Some(value) = tag_map(&raw["tags"]).remove(key) {
            return Ok(Some(value));
        }
        let full = self.client.get(
            "model-versions/get",
            &[
                ("name", model),
                ("version", &version_number(raw).to_string()),
            ],
        )?;
        Ok(tag_map(&full["model_version"]["tags"]).remove(key))
    }

    /// Polls version `number` of `model` until MLflow says it is `READY`.
    fn wait_ready(&self, model: &str, number: u64) -> Result<Value, LedgerError> {
        let deadline = Instant::now() + READY_WAIT;
        let mut attempt = 0;
        loop {
            let mut answer = self.client.get(
                "model-versions/get",
                &[("name", model), ("version", &number.to_string())],
            )?;
            let version = answer["model_version"].take();
            match version["status"].as_str() {
                Some("READY") | None => return Ok(version),
                Some("FAILED_REGISTRATION") => {
                    return Err(self.corrupt(format!(
                        "{model} v{number} failed to register: {}",
                        version["status_message"]
                            .as_str()
                            .unwrap_or("no reason given")
                    )));
                }
                Some(_) if Instant::now() < deadline => {
                    attempt += 1;
                    client::backoff(attempt.min(5));
                }
                Some(status) => {
                    return Err(self.corrupt(format!(
                        "{model} v{number} is still {status} after {} s",
                        READY_WAIT.as_secs()
                    )));
                }
            }
        }
    }

    /// The version `version` of `model` must exist (a trainyard one).
    fn require_version(
        &self,
        model: &str,
        version: u64,
    ) -> Result<BTreeMap<String, u64>, LedgerError> {
        let (versions, aliases) = self.model_state(model)?;
        if versions.iter().any(|v| v.version == version) {
            return Ok(aliases);
        }
        let mut known: Vec<String> = versions.iter().map(|v| v.version.to_string()).collect();
        known.extend(aliases.into_keys());
        Err(LedgerError::VersionNotFound {
            model: model.to_owned(),
            spec: version.to_string(),
            known,
        })
    }

    fn set_alias(&self, model: &str, alias: &str, version: u64) -> Result<(), LedgerError> {
        self.client
            .post(
                "registered-models/alias",
                &json!({ "name": model, "alias": alias, "version": version.to_string() }),
                Retry::Transient,
            )
            .map(drop)
    }

    fn set_version_tag(
        &self,
        model: &str,
        version: u64,
        key: &str,
        value: &str,
    ) -> Result<(), LedgerError> {
        self.client
            .post(
                "model-versions/set-tag",
                &json!({ "name": model, "version": version.to_string(), "key": key, "value": value }),
                Retry::Transient,
            )
            .map(drop)
    }
}

impl Ledger for MlflowLedger {
    fn append_run(&self, run: &RunRecord) -> Result<(), LedgerError> {
        let wanted = serde_json::to_value(run)
            .map_err(|e| self.corrupt(format!("encoding run {}: {e}", run.id)))?;
        let existing = self.runs_tagged(&run.id)?;
        let complete: Vec<MlflowRun> = existing
            .iter()
            .filter(|r| r.tags.contains_key(CHUNKS_TAG))
            .cloned()
            .collect();
        if !complete.is_empty() {
            let recorded = self
                .complete_records(complete, true)?
                .remove(&run.id)
                .ok_or_else(|| self.corrupt(format!("run {} vanished while read", run.id)))?;
            let recorded = serde_json::to_value(&recorded)
                .map_err(|e| self.corrupt(format!("encoding run {}: {e}", run.id)))?;
            if recorded == wanted {
                // The same record written twice (a retried CI step): nothing to do.
                return Ok(());
            }
            return Err(LedgerError::RunExists {
                id: run.id.to_string(),
            });
        }
        let mlflow_id = self.start_run(run, &existing)?;
        self.write_run(&mlflow_id, run)?;
        self.remove_duplicates(&run.id)
    }

    fn run(&self, id: &str) -> Result<RunRecord, LedgerError> {
        if let Ok(exact) = RunId::parse(id) {
            let runs = self.runs_tagged(&exact)?;
            if let Some(record) = self.complete_records(runs, true)?.remove(&exact) {
                return Ok(record);
            }
        }
        let safe = id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
        if id.is_empty() || !safe {
            return Err(LedgerError::RunNotFound { id: id.to_owned() });
        }
        let runs = self.search_runs(&format!("tags.`{RUN_ID_TAG}` LIKE '{id}%'"))?;
        let mut matches: Vec<RunId> = Vec::new();
        let mut candidates = Vec::new();
        for run in runs {
            if run.tags.contains_key(CHUNKS_TAG)
                && let Some(run_id) = run.tags.get(RUN_ID_TAG)
                && run_id.starts_with(id)
                && let Ok(run_id) = RunId::parse(run_id)
            {
                if !matches.contains(&run_id) {
                    matches.push(run_id);
                }
                candidates.push(run);
            }
        }
        matches.sort();
        match matches.as_slice() {
            [only] => {
                let only = only.clone();
                self.complete_records(candidates, true)?
                    .remove(&only)
                    .ok_or(LedgerError::RunNotFound { id: id.to_owned() })
            }
            [] => Err(LedgerError::RunNotFound { id: id.to_owned() }),
            many => Err(LedgerError::AmbiguousRun {
                prefix: id.to_owned(),
                matches: many.iter().map(ToString::to_string).collect(),
            }),
        }
    }

    fn run_ids(&self) -> Result<Vec<RunId>, LedgerError> {
        let runs = self.search_runs(&format!("tags.`{CHUNKS_TAG}` != ''"))?;
        let mut ids: Vec<RunId> = runs
            .iter()
            .filter(|run| run.tags.contains_key(CHUNKS_TAG))
            .filter_map(|run| RunId::parse(run.tags.get(RUN_ID_TAG)?).ok())
            .collect();
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    fn runs(&self) -> Result<Vec<RunRecord>, LedgerError> {
        let runs = self.search_runs(&format!("tags.`{CHUNKS_TAG}` != ''"))?;
        Ok(self.complete_records(runs, true)?.into_values().collect())
    }

    fn register(
        &self,
        model: &str,
        run_id: &RunId,
        artifact: &ArtifactRef,
    ) -> Result<ModelVersion, LedgerError> {
        self.create_version(model, run_id, artifact, chrono::Utc::now(), None)
    }

    fn models(&self) -> Result<Vec<String>, LedgerError> {
        let project = self.project()?;
        let mut models = Vec::new();
        let mut page_token: Option<String> = None;
        loop {
            let mut query = vec![("max_results", "1000")];
            if let Some(token) = &page_token {
                query.push(("page_token", token));
            }
            let answer = self.client.get("registered-models/search", &query)?;
            for model in answer["registered_models"].as_array().into_iter().flatten() {
                if tag_map(&model["tags"]).get(PROJECT_TAG).map(String::as_str) == Some(project)
                    && let Some(name) = model["name"].as_str()
                {
                    models.push(name.to_owned());
                }
            }
            page_token = string_field(&answer, "next_page_token").filter(|t| !t.is_empty());
            if page_token.is_none() {
                break;
            }
        }
        models.sort();
        Ok(models)
    }

    fn versions(&self, model: &str) -> Result<Vec<ModelVersion>, LedgerError> {
        Ok(self.model_state(model)?.0)
    }

    fn resolve(&self, model: &str, spec: &str) -> Result<ModelVersion, LedgerError> {
        let (versions, aliases) = self.model_state(model)?;
        let number = spec
            .strip_prefix(['v', 'V'])
            .unwrap_or(spec)
            .parse::<u64>()
            .ok();
        let wanted = number.or_else(|| aliases.get(spec).copied()).or_else(|| {
            (spec == "latest")
                .then(|| versions.last().map(|v| v.version))
                .flatten()
        });
        let mut known: Vec<String> = versions.iter().map(|v| v.version.to_string()).collect();
        known.extend(aliases.keys().cloned());
        wanted
            .and_then(|wanted| versions.into_iter().find(|v| v.version == wanted))
            .ok_or_else(|| LedgerError::VersionNotFound {
                model: model.to_owned(),
                spec: spec.to_owned(),
                known,
            })
    }

    fn aliases(&self, model: &str) -> Result<BTreeMap<String, u64>, LedgerError> {
        Ok(self.model_state(model)?.1)
    }

    fn move_alias(
        &self,
        model: &str,
        alias: &str,
        version: u64,
        actor: &str,
        reason: &str,
    ) -> Result<AliasMove, LedgerError> {
        validate_alias(alias)?;
        let aliases = self.require_version(model, version)?;
        let moved = AliasMove {
            model: model.to_owned(),
            alias: alias.to_owned(),
            version,
            previous: aliases.get(alias).copied(),
            actor: actor.to_owned(),
            at: chrono::Utc::now(),
            reason: reason.to_owned(),
        };
        self.set_alias(model, alias, version)?;
        self.history.append_alias_move(&moved, false)?;
        Ok(moved)
    }

    fn alias_history(
        &self,
        model: &str,
        alias: Option<&str>,
    ) -> Result<Vec<AliasMove>, LedgerError> {
        self.model_state(model)?;
        let (moves, _) = self.history.histories(model)?;
        Ok(match alias {
            Some(alias) => moves.into_iter().filter(|m| m.alias == alias).collect(),
            None => moves,
        })
    }

    fn set_tag(
        &self,
        model: &str,
        version: u64,
        key: &str,
        value: &str,
        actor: &str,
        reason: &str,
    ) -> Result<TagChange, LedgerError> {
        validate_name("tag key", key)?;
        self.require_version(model, version)?;
        let change = TagChange {
            model: model.to_owned(),
            version,
            key: key.to_owned(),
            value: value.to_owned(),
            actor: actor.to_owned(),
            at: chrono::Utc::now(),
            reason: reason.to_owned(),
        };
        self.set_version_tag(model, version, key, value)?;
        self.history.append_tag_change(&change, false)?;
        Ok(change)
    }

    fn tag_history(&self, model: &str) -> Result<Vec<TagChange>, LedgerError> {
        self.model_state(model)?;
        Ok(self.history.histories(model)?.1)
    }

    fn record_deployment(&self, env: &str, deployment: &Deployment) -> Result<(), LedgerError> {
        self.history.record_deployment(env, deployment)
    }

    fn deployments(&self, env: &str) -> Result<Vec<Deployment>, LedgerError> {
        self.history.deployments(env)
    }

    fn environments(&self) -> Result<Vec<String>, LedgerError> {
        self.history.environments()
    }

    fn import_version(&self, version: &ModelVersion) -> Result<(), LedgerError> {
        let model = &version.model;
        let existing = match self.registered_model(model)? {
            Some(_) => self.raw_versions(model)?,
            None => Vec::new(),
        };
        if let Some(raw) = existing
            .iter()
            .find(|raw| version_number(raw) == version.version)
        {
            // Imported before (a re-run import) if it is the same version.
            let full = self.client.get(
                "model-versions/get",
                &[
                    ("name", model),
                    ("version", &version_number(raw).to_string()),
                ],
            )?;
            let same = self
                .version_of(model, &full["model_version"])?
                .is_some_and(|existing| {
                    existing.run_id == version.run_id
                        && existing.artifact == version.artifact
                        && existing.registered_at == version.registered_at
                });
            if same {
                return Ok(());
            }
            return Err(LedgerError::ImportOutOfOrder {
                model: model.clone(),
                version: version.version,
                next: existing.last().map_or(1, |last| version_number(last) + 1),
            });
        }
        self.create_version(
            &version.model,
            &version.run_id,
            &version.artifact,
            version.registered_at,
            Some(version.version),
        )
        .map(drop)
    }

    fn import_alias_move(&self, moved: &AliasMove) -> Result<(), LedgerError> {
        validate_name("alias", &moved.alias)?;
        self.require_version(&moved.model, moved.version)?;
        self.set_alias(&moved.model, &moved.alias, moved.version)?;
        self.history.append_alias_move(moved, false)
    }

    fn import_tag_change(&self, change: &TagChange) -> Result<(), LedgerError> {
        validate_name("tag key", &change.key)?;
        self.require_version(&change.model, change.version)?;
        self.set_version_tag(&change.model, change.version, &change.key, &change.value)?;
        self.history.append_tag_change(change, false)
    }
}

// ---- how a run is laid out in MLflow -------------------------------------------

/// A run as `runs/search` answers it: its MLflow id and tags.
#[derive(Debug, Clone)]
struct MlflowRun {
    id: String,
    tags: BTreeMap<String, String>,
}

impl MlflowRun {
    fn from_json(run: &Value) -> Option<Self> {
        Some(Self {
            id: string_field(&run["info"], "run_id")?,
            tags: tag_map(&run["data"]["tags"]),
        })
    }
}

/// What one trainyard run writes into its MLflow run.
struct Layout {
    start_ms: i64,
    params: Vec<Value>,
    metrics: Vec<Value>,
    tags: Vec<Value>,
    record_chunks: Vec<Value>,
}

impl Layout {
    fn of(run: &RunRecord) -> Result<Self, LedgerError> {
        let start_ms = start_millis(run.started_at);
        let params = run
            .params
            .iter()
            .filter_map(|(key, value)| {
                let text = match value {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                (valid_key(key) && text.chars().count() <= MAX_PARAM_VALUE_LENGTH)
                    .then(|| json!({ "key": key, "value": text }))
            })
            .collect();

        // Series as metric history (timestamps count the points, so their
        // order is kept); series MLflow cannot name stay in the record.
        let mut metrics = Vec::new();
        let mut series_points: BTreeMap<&str, usize> = BTreeMap::new();
        let mut kept_series = serde_json::Map::new();
        for (name, points) in &run.series {
            if valid_key(name) {
                for (index, (step, value)) in points.iter().enumerate() {
                    metrics.push(metric(name, *value, start_ms + index_millis(index), *step));
                }
                series_points.insert(name, points.len());
            } else {
                kept_series.insert(
                    name.clone(),
                    Value::Array(
                        points
                            .iter()
                            .map(|(s, v)| json!([s, float_json(*v)]))
                            .collect(),
                    ),
                );
            }
        }
        // Final values after their series (MLflow shows the point with the
        // largest step, then time, as the metric's value).
        for (name, value) in &run.metrics {
            if !valid_key(name) {
                continue;
            }
            let (step, count) =
                run.series
                    .get(name)
                    .filter(|_| valid_key(name))
                    .map_or((0, 0), |points| {
                        (
                            points.iter().map(|(s, _)| *s).max().unwrap_or(0),
                            points.len(),
                        )
                    });
            metrics.push(metric(name, *value, start_ms + index_millis(count), step));
        }

        let tags = system_tags(run);

        let mut stored = serde_json::to_value(run).map_err(|error| LedgerError::Corrupt {
            reference: String::new(),
            path: format!("(run {})", run.id),
            source: error,
        })?;
        stored["series"] = Value::Object(kept_series);
        stored[SERIES_POINTS_FIELD] = json!(series_points);
        let text = stored.to_string();
        let record_chunks = split_chars(&text, MAX_TAG_VALUE_LENGTH)
            .into_iter()
            .enumerate()
            .map(|(index, chunk)| json!({ "key": format!("{RECORD_TAG}.{index}"), "value": chunk }))
            .collect();
        Ok(Self {
            start_ms,
            params,
            metrics,
            tags,
            record_chunks,
        })
    }
}

/// The tags MLflow's UI shows (its system tags) and trainyard's searchable ones.
fn system_tags(run: &RunRecord) -> Vec<Value> {
    let mut tags = vec![
        ("mlflow.runName", run.id.to_string()),
        ("mlflow.source.git.commit", run.git.commit.clone()),
        ("mlflow.source.git.dirty", run.git.dirty.to_string()),
        ("mlflow.source.name", run.command.join(" ")),
        (
            "mlflow.source.type",
            if run.ci.host == "terminal" {
                "LOCAL"
            } else {
                "JOB"
            }
            .to_owned(),
        ),
        (PROJECT_TAG, run.project.clone()),
        ("trainyard.mode", run.mode.to_string()),
        ("trainyard.outcome", run.outcome.to_string()),
        ("trainyard.ci.host", run.ci.host.clone()),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value))
    .collect::<Vec<_>>();
    if let Some(branch) = &run.git.branch {
        tags.push(("mlflow.source.git.branch".to_owned(), branch.clone()));
    }
    if let Some(event) = &run.ci.event {
        tags.push(("trainyard.ci.event".to_owned(), event.clone()));
    }
    if let Some(url) = &run.ci.url {
        tags.push(("trainyard.ci.url".to_owned(), url.clone()));
    }
    for (dataset, digest) in &run.datasets {
        tags.push((format!("trainyard.dataset.{dataset}"), digest.clone()));
    }
    tags.into_iter()
        .filter(|(key, _)| valid_key(key))
        .map(|(key, value)| json!({ "key": key, "value": truncate(&value, MAX_TAG_VALUE_LENGTH) }))
        .collect()
}

fn metric(key: &str, value: f64, timestamp: i64, step: u64) -> Value {
    json!({ "key": key, "value": float_json(value), "timestamp": timestamp, "step": step })
}

/// A float as MLflow's protobuf JSON takes it (`NaN`, `Infinity` as strings).
fn float_json(value: f64) -> Value {
    if value.is_nan() {
        json!("NaN")
    } else if value == f64::INFINITY {
        json!("Infinity")
    } else if value == f64::NEG_INFINITY {
        json!("-Infinity")
    } else {
        json!(value)
    }
}

/// A metric value MLflow answered, as the record's float JSON (NaN and
/// infinities as strings). MLflow's SQL store keeps ±infinity as ±`f64::MAX`.
fn stored_float(value: &Value) -> Value {
    match value {
        Value::Number(number) => match number.as_f64() {
            Some(f64::MAX) => json!("inf"),
            Some(f) if f.to_bits() == f64::MIN.to_bits() => json!("-inf"),
            _ => value.clone(),
        },
        Value::String(text) => match text.as_str() {
            "Infinity" | "inf" => json!("inf"),
            "-Infinity" | "-inf" => json!("-inf"),
            _ => json!("NaN"),
        },
        _ => json!("NaN"),
    }
}

/// MLflow's key alphabet: letters, digits, `_ - . / :` and spaces, 250 at most.
fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_KEY_LENGTH
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | ':' | ' '))
        && !key.contains("..")
        && !key.starts_with('/')
}

fn mlflow_status(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Succeeded | Outcome::Converged { .. } => "FINISHED",
        Outcome::Failed { .. } | Outcome::TimedOut => "FAILED",
        Outcome::Stopped { .. } | Outcome::Cancelled { .. } => "KILLED",
    }
}

fn start_millis(at: Timestamp) -> i64 {
    at.timestamp_millis()
}

fn from_millis(millis: i64) -> Timestamp {
    chrono::DateTime::from_timestamp_millis(millis).unwrap_or_default()
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn index_millis(index: usize) -> i64 {
    i64::try_from(index).unwrap_or(i64::MAX)
}

/// `text` in pieces of at most `limit` characters.
fn split_chars(text: &str, limit: usize) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut current = String::new();
    let mut count = 0;
    for c in text.chars() {
        if count == limit {
            chunks.push(std::mem::take(&mut current));
            count = 0;
        }
        current.push(c);
        count += 1;
    }
    chunks.push(current);
    chunks
}

fn truncate(text: &str, limit: usize) -> String {
    text.chars().take(limit).collect()
}

fn string_field(value: &Value, name: &str) -> Option<String> {
    value.get(name)?.as_str().map(str::to_owned)
}

/// MLflow's `[{key, value}]` as a map.
fn tag_map(tags: &Value) -> BTreeMap<String, String> {
    tags.as_array()
        .into_iter()
        .flatten()
        .filter_map(|tag| {
            Some((
                tag["key"].as_str()?.to_owned(),
                tag["value"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

fn version_number(version: &Value) -> u64 {
    version["version"]
        .as_str()
        .and_then(|number| number.parse().ok())
        .or_else(|| version["version"].as_u64())
        .unwrap_or(0)
}

fn is_transient(error: &LedgerError) -> bool {
    match error {
        LedgerError::MlflowUnavailable { .. } => true,
        LedgerError::Mlflow {
            status,
            code,
            message,
            ..
        } => {
            code != "RESOURCE_ALREADY_EXISTS"
                && (*status >= 500 || *status == 429 || client::is_conflict(message))
        }
        _ => false,
    }
}
