//! An Azure DevOps stand-in on 127.0.0.1 for the forge's Azure side. Every
//! request is checked against the shapes of Microsoft's REST reference for
//! api-version 7.1 — the OpenAPI files of MicrosoftDocs/vsts-rest-api-specs,
//! `specification/git/7.1/git.json` (`GitPullRequestStatus`,
//! `GitPullRequestCommentThread`, `Comment`, `GitPullRequest`),
//! `specification/pipelines/7.1/pipelines.json` (`RunPipelineParameters`,
//! `Run`) and `specification/build/7.1/build.json` (`Build`), commit
//! adb28786a3e9349d5b3deb43eb2134b682c33bb2: the method and route, the
//! `api-version` query, a bearer token, and the body's keys and enums. A
//! request that does not fit is answered 400 and kept in
//! [`AzureDevOpsServer::violations`], which a test asserts empty.
//!
//! It keeps the state trainyard depends on: statuses on pull requests and
//! commits, threads and their comments, pull requests, pipelines and their
//! runs, builds. Faults are scripted as for the GitHub stand-in.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

pub use crate::recording::Fault;
use crate::wire::{Answer, Incoming};

/// The organization and project every route is under: the collection URL is
/// `{url}/contoso/` and the project `ML Platform`.
pub const ORGANIZATION: &str = "contoso";
pub const PROJECT: &str = "ML Platform";
/// The repository's id (`BUILD_REPOSITORY_ID`) and name.
pub const REPOSITORY_ID: &str = "4c1e2f4e-7d4b-4a43-9a26-2d1f0c6b9a01";
pub const REPOSITORY_NAME: &str = "ml";

const STATUS_KEYS: &[&str] = &[
    "_links",
    "context",
    "createdBy",
    "creationDate",
    "description",
    "id",
    "state",
    "targetUrl",
    "updatedDate",
    "iterationId",
    "properties",
];
const STATUS_STATES: &[&str] = &[
    "notSet",
    "pending",
    "succeeded",
    "failed",
    "error",
    "notApplicable",
];
const THREAD_KEYS: &[&str] = &[
    "_links",
    "comments",
    "id",
    "identities",
    "isDeleted",
    "lastUpdatedDate",
    "properties",
    "publishedDate",
    "status",
    "threadContext",
    "pullRequestThreadContext",
];
const THREAD_STATUSES: &[&str] = &[
    "unknown", "active", "fixed", "wontFix", "closed", "byDesign", "pending",
];
const COMMENT_KEYS: &[&str] = &[
    "_links",
    "author",
    "commentType",
    "content",
    "id",
    "isDeleted",
    "lastContentUpdatedDate",
    "lastUpdatedDate",
    "parentCommentId",
    "publishedDate",
    "usersLiked",
];
const COMMENT_TYPES: &[&str] = &["unknown", "text", "codeChange", "system"];
const PULL_REQUEST_KEYS: &[&str] = &[
    "_links",
    "artifactId",
    "autoCompleteSetBy",
    "closedBy",
    "closedDate",
    "codeReviewId",
    "commits",
    "completionOptions",
    "completionQueueTime",
    "createdBy",
    "creationDate",
    "description",
    "forkSource",
    "hasMultipleMergeBases",
    "isDraft",
    "labels",
    "lastMergeCommit",
    "lastMergeSourceCommit",
    "lastMergeTargetCommit",
    "mergeFailureMessage",
    "mergeFailureType",
    "mergeId",
    "mergeOptions",
    "mergeStatus",
    "pullRequestId",
    "remoteUrl",
    "repository",
    "reviewers",
    "sourceRefName",
    "status",
    "supportsIterations",
    "targetRefName",
    "title",
    "url",
    "workItemRefs",
];
const RUN_KEYS: &[&str] = &[
    "previewRun",
    "resources",
    "stagesToSkip",
    "templateParameters",
    "variables",
    "yamlOverride",
];
/// Azure DevOps refuses a longer pull request description.
pub const DESCRIPTION_LIMIT: usize = 4000;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path and query, as sent.
    pub path: String,
    pub authorization: Option<String>,
    pub body: Value,
    pub status: u16,
}

#[derive(Debug, Default)]
struct State {
    requests: Vec<Recorded>,
    violations: Vec<String>,
    faults: VecDeque<Fault>,
    read_only: bool,
    next_id: u64,
    /// (target: `pr:<id>` or `commit:<sha>`, status).
    statuses: Vec<(String, Value)>,
    /// (pull request id, thread).
    threads: Vec<(u64, Value)>,
    pull_requests: Vec<Value>,
    pipelines: Vec<(u64, String)>,
    runs: Vec<Value>,
    builds: Vec<Value>,
}

/// The running server; its thread ends with the process.
#[derive(Debug, Clone)]
pub struct AzureDevOpsServer {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl AzureDevOpsServer {
    pub fn start() -> Self {
        let state = Arc::new(Mutex::new(State {
            next_id: 100,
            ..State::default()
        }));
        let shared = Arc::clone(&state);
        let url = crate::wire::listen(move |incoming| {
            let mut state = shared.lock().unwrap();
            let answer = respond(&mut state, incoming);
            state.requests.push(Recorded {
                method: incoming.method.clone(),
                path: incoming.path.clone(),
                authorization: incoming.authorization.clone(),
                body: incoming.body.clone(),
                status: answer.0,
            });
            answer
        });
        Self { url, state }
    }

    /// `SYSTEM_COLLECTIONURI` for this server.
    pub fn collection_url(&self) -> String {
        format!("{}/{ORGANIZATION}/", self.url)
    }

    /// The next requests answer with these, in order.
    pub fn fail_next(&self, faults: impl IntoIterator<Item = Fault>) {
        self.state.lock().unwrap().faults.extend(faults);
    }

    /// Every write answers 403, as for a build identity without
    /// *Contribute to pull requests*.
    pub fn read_only(&self) {
        self.state.lock().unwrap().read_only = true;
    }

    /// A pipeline the project has.
    pub fn add_pipeline(&self, id: u64, name: &str) {
        self.state
            .lock()
            .unwrap()
            .pipelines
            .push((id, name.to_owned()));
    }

    /// A build of `sha` by pipeline `pipeline` (`status`: `completed`,
    /// `inProgress`…; `result`: `succeeded`, `failed`…).
    pub fn add_build(&self, sha: &str, pipeline: &str, status: &str, result: Option<&str>) {
        let mut state = self.state.lock().unwrap();
        state.next_id += 1;
        let build = json!({
            "id": state.next_id,
            "status": status,
            "result": result,
            "sourceVersion": sha,
            "definition": {"id": 1, "name": pipeline},
            "repository": {"id": REPOSITORY_ID, "type": "TfsGit"},
        });
        // Newest first, as `queryOrder=queueTimeDescending` lists them.
        state.builds.insert(0, build);
    }

    /// A status another tool posted on pull request `pull_request`.
    pub fn add_pull_request_status(
        &self,
        pull_request: u64,
        genre: &str,
        name: &str,
        status: &str,
    ) {
        let mut state = self.state.lock().unwrap();
        state.next_id += 1;
        let entry = json!({"id": state.next_id, "state": status,
                           "context": {"genre": genre, "name": name}});
        state.statuses.push((format!("pr:{pull_request}"), entry));
    }

    /// A status another tool posted on commit `sha`.
    pub fn add_commit_status(&self, sha: &str, genre: &str, name: &str, status: &str) {
        let mut state = self.state.lock().unwrap();
        state.next_id += 1;
        let entry = json!({"id": state.next_id, "state": status,
                           "context": {"genre": genre, "name": name}});
        state.statuses.push((format!("commit:{sha}"), entry));
    }

    /// Statuses on pull request `pull_request`, oldest first.
    pub fn pull_request_statuses(&self, pull_request: u64) -> Vec<Value> {
        self.statuses_of(&format!("pr:{pull_request}"))
    }

    /// Statuses on commit `sha`, oldest first.
    pub fn commit_statuses(&self, sha: &str) -> Vec<Value> {
        self.statuses_of(&format!("commit:{sha}"))
    }

    fn statuses_of(&self, target: &str) -> Vec<Value> {
        self.state
            .lock()
            .unwrap()
            .statuses
            .iter()
            .filter(|(of, _)| of == target)
            .map(|(_, status)| status.clone())
            .collect()
    }

    /// The threads of pull request `pull_request`.
    pub fn threads(&self, pull_request: u64) -> Vec<Value> {
        self.state
            .lock()
            .unwrap()
            .threads
            .iter()
            .filter(|(of, _)| *of == pull_request)
            .map(|(_, thread)| thread.clone())
            .collect()
    }

    /// Adds a thread someone else started.
    pub fn add_thread(&self, pull_request: u64, content: &str) {
        let mut state = self.state.lock().unwrap();
        state.next_id += 1;
        let thread = json!({"id": state.next_id, "status": "active",
                            "comments": [{"id": 1, "parentCommentId": 0, "content": content, "commentType": "text"}]});
        state.threads.push((pull_request, thread));
    }

    pub fn pull_requests(&self) -> Vec<Value> {
        self.state.lock().unwrap().pull_requests.clone()
    }

    pub fn runs(&self) -> Vec<Value> {
        self.state.lock().unwrap().runs.clone()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Requests that did not fit the REST reference: empty when all did.
    pub fn violations(&self) -> Vec<String> {
        self.state.lock().unwrap().violations.clone()
    }

    /// `METHOD route` of every request below the project's `_apis/`, query
    /// left off (`POST git/repositories/<id>/pullRequests/7/statuses`).
    pub fn routes(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| {
                let path = r.path.split('?').next().unwrap_or_default();
                let route = path.split_once("/_apis/").map_or(path, |(_, route)| route);
                format!("{} {route}", r.method)
            })
            .collect()
    }
}

fn error(status: u16, message: &str) -> Answer {
    (
        status,
        Vec::new(),
        json!({"$id": "1", "innerException": null, "message": message,
               "typeName": "Microsoft.VisualStudio.Services.WebApi.VssServiceException", "errorCode": 0})
        .to_string(),
    )
}

fn respond(state: &mut State, incoming: &Incoming) -> Answer {
    if let Some(fault) = state.faults.pop_front() {
        return (fault.status, fault.headers, fault.body);
    }
    let (path, query) = incoming
        .path
        .split_once('?')
        .unwrap_or((incoming.path.as_str(), ""));
    let mut violation = |message: String| {
        state
            .violations
            .push(format!("{} {}: {message}", incoming.method, incoming.path));
        error(400, &message)
    };
    if param(query, "api-version").as_deref() != Some("7.1") {
        return violation("api-version=7.1 is missing from the query".to_owned());
    }
    if !incoming
        .authorization
        .as_deref()
        .is_some_and(|auth| auth.starts_with("Bearer ") && auth.len() > 7)
    {
        return error(401, "no bearer token");
    }
    if incoming.method != "GET"
        && !incoming
            .content_type
            .as_deref()
            .is_some_and(|c| c.starts_with("application/json"))
    {
        return violation("a body must be sent as application/json".to_owned());
    }
    let segments: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(decode)
        .collect();
    let [organization, project, apis, route @ ..] = segments.as_slice() else {
        return error(404, "no such route");
    };
    if organization != ORGANIZATION || project != PROJECT || apis != "_apis" {
        return error(404, &format!("no project {organization}/{project}"));
    }
    let route: Vec<String> = route.iter().map(|s| s.to_ascii_lowercase()).collect();
    let route: Vec<&str> = route.iter().map(String::as_str).collect();
    if state.read_only && incoming.method != "GET" {
        return error(
            403,
            "TF401027: You need the Git 'PullRequestContribute' permission to perform this action.",
        );
    }
    let body = &incoming.body;
    let shape = check_shape(&incoming.method, &route, body);
    if let Err(message) = shape {
        return violation(message);
    }
    let (method, query) = (incoming.method.as_str(), query);
    if route.get(3) == Some(&"pullrequests") && route.get(5) == Some(&"threads") {
        threads_route(state, method, &route, body)
    } else if route.get(3) == Some(&"pullrequests") && route.len() > 5 {
        pull_request_route(state, method, &route, body)
    } else if route.first() == Some(&"git") {
        repository_route(state, method, &route, query, body)
    } else {
        pipelines_route(state, method, &route, query, body)
    }
}

/// Routes below one pull request: its statuses and threads.
fn pull_request_route(state: &mut State, method: &str, route: &[&str], body: &Value) -> Answer {
    let ok = |value: Value| (200, Vec::new(), value.to_string());
    match (method, route) {
        (
            "POST",
            [
                "git",
                "repositories",
                REPOSITORY_ID,
                "pullrequests",
                id,
                "statuses",
            ],
        ) => post_status(state, format!("pr:{id}"), body),
        (
            "GET",
            [
                "git",
                "repositories",
                REPOSITORY_ID,
                "pullrequests",
                id,
                "statuses",
            ],
        ) => {
            let value = statuses(state, &format!("pr:{id}"), false);
            ok(json!({"count": value.len(), "value": value}))
        }
        _ => error(404, "no such route in the stand-in"),
    }
}

/// Routes below the repository: pull requests, commit statuses.
fn repository_route(
    state: &mut State,
    method: &str,
    route: &[&str],
    query: &str,
    body: &Value,
) -> Answer {
    let ok = |value: Value| (200, Vec::new(), value.to_string());
    match (method, route) {
        ("GET", ["git", "repositories", REPOSITORY_ID, "pullrequests"]) => {
            let wanted = |key: &str| param(query, &format!("searchCriteria.{key}"));
            let (source, target, status) = (
                wanted("sourceRefName"),
                wanted("targetRefName"),
                wanted("status"),
            );
            let value: Vec<Value> = state
                .pull_requests
                .iter()
                .filter(|pr| source.as_ref().is_none_or(|s| pr["sourceRefName"] == *s))
                .filter(|pr| target.as_ref().is_none_or(|t| pr["targetRefName"] == *t))
                .filter(|pr| status.as_ref().is_none_or(|s| pr["status"] == *s))
                .cloned()
                .collect();
            ok(json!({"count": value.len(), "value": value}))
        }
        ("POST", ["git", "repositories", REPOSITORY_ID, "pullrequests"]) => {
            state.next_id += 1;
            let mut pr = body.clone();
            pr["pullRequestId"] = json!(state.next_id);
            pr["status"] = json!("active");
            pr["repository"] = json!({
                "id": REPOSITORY_ID,
                "name": REPOSITORY_NAME,
                "webUrl": format!("https://dev.azure.test/{ORGANIZATION}/ML%20Platform/_git/{REPOSITORY_NAME}"),
            });
            state.pull_requests.push(pr.clone());
            (201, Vec::new(), pr.to_string())
        }
        ("PATCH", ["git", "repositories", REPOSITORY_ID, "pullrequests", id]) => {
            let id: u64 = id.parse().unwrap_or(0);
            match state
                .pull_requests
                .iter_mut()
                .find(|pr| pr["pullRequestId"] == id)
            {
                Some(pr) => {
                    for (key, value) in body.as_object().into_iter().flatten() {
                        pr[key] = value.clone();
                    }
                    ok(pr.clone())
                }
                None => error(404, "TF401180: The requested pull request was not found."),
            }
        }
        (
            "POST",
            [
                "git",
                "repositories",
                REPOSITORY_ID,
                "commits",
                sha,
                "statuses",
            ],
        ) => post_status(state, format!("commit:{sha}"), body),
        (
            "GET",
            [
                "git",
                "repositories",
                REPOSITORY_ID,
                "commits",
                sha,
                "statuses",
            ],
        ) => {
            let latest = param(query, "latestOnly").as_deref() == Some("true");
            let value = statuses(state, &format!("commit:{sha}"), latest);
            ok(json!({"count": value.len(), "value": value}))
        }
        _ => error(404, "no such route in the stand-in"),
    }
}

/// Routes below one pull request's threads.
fn threads_route(state: &mut State, method: &str, route: &[&str], body: &Value) -> Answer {
    let ok = |value: Value| (200, Vec::new(), value.to_string());
    match (method, route) {
        (
            "GET",
            [
                "git",
                "repositories",
                REPOSITORY_ID,
                "pullrequests",
                id,
                "threads",
            ],
        ) => {
            let id: u64 = id.parse().unwrap_or(0);
            let value: Vec<Value> = state
                .threads
                .iter()
                .filter(|(of, _)| *of == id)
                .map(|(_, thread)| thread.clone())
                .collect();
            ok(json!({"count": value.len(), "value": value}))
        }
        (
            "POST",
            [
                "git",
                "repositories",
                REPOSITORY_ID,
                "pullrequests",
                id,
                "threads",
            ],
        ) => {
            state.next_id += 1;
            let mut thread = body.clone();
            thread["id"] = json!(state.next_id);
            for (index, comment) in thread["comments"]
                .as_array_mut()
                .into_iter()
                .flatten()
                .enumerate()
            {
                comment["id"] = json!(index + 1);
            }
            state
                .threads
                .push((id.parse().unwrap_or(0), thread.clone()));
            ok(thread)
        }
        (
            "PATCH",
            [
                "git",
                "repositories",
                REPOSITORY_ID,
                "pullrequests",
                id,
                "threads",
                thread,
            ],
        ) => match find_thread(state, id, thread) {
            Some(found) => {
                if let Some(status) = body.get("status") {
                    found["status"] = status.clone();
                }
                ok(found.clone())
            }
            None => error(404, "TF401180: The requested thread was not found."),
        },
        (
            "PATCH",
            [
                "git",
                "repositories",
                REPOSITORY_ID,
                "pullrequests",
                id,
                "threads",
                thread,
                "comments",
                comment,
            ],
        ) => {
            let comment: u64 = comment.parse().unwrap_or(0);
            let found = find_thread(state, id, thread).and_then(|thread| {
                thread["comments"]
                    .as_array_mut()?
                    .iter_mut()
                    .find(|c| c["id"] == comment)
            });
            match found {
                Some(found) => {
                    found["content"] = body["content"].clone();
                    ok(found.clone())
                }
                None => error(404, "TF401181: The requested comment was not found."),
            }
        }
        _ => error(404, "no such route in the stand-in"),
    }
}

/// Pipelines and builds.
fn pipelines_route(
    state: &mut State,
    method: &str,
    route: &[&str],
    query: &str,
    body: &Value,
) -> Answer {
    let ok = |value: Value| (200, Vec::new(), value.to_string());
    match (method, route) {
        ("GET", ["pipelines"]) => {
            let value: Vec<Value> = state
                .pipelines
                .iter()
                .map(|(id, name)| json!({"id": id, "name": name, "folder": "\\"}))
                .collect();
            ok(json!({"count": value.len(), "value": value}))
        }
        ("POST", ["pipelines", id, "runs"]) => {
            let id: u64 = id.parse().unwrap_or(0);
            let Some((_, name)) = state.pipelines.iter().find(|(p, _)| *p == id).cloned() else {
                return error(404, &format!("Pipeline with id {id} not found."));
            };
            state.next_id += 1;
            let run = json!({
                "id": state.next_id,
                "name": format!("20261203.{}", state.next_id),
                "state": "inProgress",
                "pipeline": {"id": id, "name": name},
                "requested": body.clone(),
                "_links": {"web": {"href": format!("https://dev.azure.test/{ORGANIZATION}/ML%20Platform/_build/results?buildId={}", state.next_id)}},
            });
            state.runs.push(run.clone());
            ok(run)
        }
        ("GET", ["build", "builds"]) => {
            let repository = param(query, "repositoryId");
            let value: Vec<Value> = state
                .builds
                .iter()
                .filter(|b| {
                    repository
                        .as_ref()
                        .is_none_or(|r| b["repository"]["id"] == *r)
                })
                .cloned()
                .collect();
            ok(json!({"count": value.len(), "value": value}))
        }
        _ => error(404, "no such route in the stand-in"),
    }
}

fn post_status(state: &mut State, target: String, body: &Value) -> Answer {
    state.next_id += 1;
    let mut status = body.clone();
    status["id"] = json!(state.next_id);
    status["createdBy"] = json!({"displayName": "ML Platform Build Service (contoso)"});
    state.statuses.push((target, status.clone()));
    (200, Vec::new(), status.to_string())
}

fn statuses(state: &State, target: &str, latest_only: bool) -> Vec<Value> {
    let mut all: Vec<Value> = state
        .statuses
        .iter()
        .filter(|(of, _)| of == target)
        .map(|(_, status)| status.clone())
        .collect();
    if latest_only {
        let mut seen = Vec::new();
        all.reverse();
        all.retain(|status| {
            let context = status["context"].clone();
            let new = !seen.contains(&context);
            seen.push(context);
            new
        });
    }
    all
}

fn find_thread<'s>(
    state: &'s mut State,
    pull_request: &str,
    thread: &str,
) -> Option<&'s mut Value> {
    let pull_request: u64 = pull_request.parse().ok()?;
    let thread: u64 = thread.parse().ok()?;
    state
        .threads
        .iter_mut()
        .find(|(of, t)| *of == pull_request && t["id"] == thread)
        .map(|(_, t)| t)
}

/// The body's shape for the routes with one, as the REST reference gives it.
fn check_shape(method: &str, route: &[&str], body: &Value) -> Result<(), String> {
    match (method, route) {
        ("POST", [.., "statuses"]) => {
            keys(body, STATUS_KEYS, "GitStatus")?;
            one_of(body, "state", STATUS_STATES)?;
            let name = body.pointer("/context/name").and_then(Value::as_str);
            if name.is_none_or(str::is_empty) {
                return Err("context.name is required".to_owned());
            }
            if body
                .pointer("/context/genre")
                .is_some_and(|g| !g.is_string())
            {
                return Err("context.genre must be a string".to_owned());
            }
            string(body, "description")?;
            string(body, "targetUrl")
        }
        ("POST", [.., "threads"]) => {
            keys(body, THREAD_KEYS, "GitPullRequestCommentThread")?;
            one_of(body, "status", THREAD_STATUSES)?;
            let comments = body
                .get("comments")
                .and_then(Value::as_array)
                .filter(|c| !c.is_empty())
                .ok_or("a thread needs at least one comment")?;
            for comment in comments {
                comment_shape(comment)?;
            }
            Ok(())
        }
        ("PATCH", [.., "threads", _]) => {
            keys(body, THREAD_KEYS, "GitPullRequestCommentThread")?;
            one_of(body, "status", THREAD_STATUSES)
        }
        ("PATCH", [.., "comments", _]) => comment_shape(body),
        ("POST", [.., "pullrequests"]) => {
            keys(body, PULL_REQUEST_KEYS, "GitPullRequest")?;
            for key in ["sourceRefName", "targetRefName"] {
                if !body
                    .get(key)
                    .and_then(Value::as_str)
                    .is_some_and(|r| r.starts_with("refs/heads/"))
                {
                    return Err(format!("{key} must be a full ref (refs/heads/…)"));
                }
            }
            pull_request_text(body)
        }
        ("PATCH", [.., "pullrequests", _]) => {
            keys(body, PULL_REQUEST_KEYS, "GitPullRequest")?;
            pull_request_text(body)
        }
        ("POST", ["pipelines", _, "runs"]) => keys(body, RUN_KEYS, "RunPipelineParameters"),
        _ => Ok(()),
    }
}

fn comment_shape(comment: &Value) -> Result<(), String> {
    keys(comment, COMMENT_KEYS, "Comment")?;
    one_of(comment, "commentType", COMMENT_TYPES)?;
    if !comment.get("content").is_some_and(Value::is_string) {
        return Err("a comment's content must be a string".to_owned());
    }
    Ok(())
}

fn pull_request_text(body: &Value) -> Result<(), String> {
    string(body, "title")?;
    string(body, "description")?;
    match body.get("description").and_then(Value::as_str) {
        Some(text) if text.chars().count() > DESCRIPTION_LIMIT => Err(format!(
            "the description is {} characters; the limit is {DESCRIPTION_LIMIT}",
            text.chars().count()
        )),
        _ => Ok(()),
    }
}

fn keys(body: &Value, allowed: &[&str], type_name: &str) -> Result<(), String> {
    let object = body
        .as_object()
        .ok_or_else(|| format!("the body must be a {type_name} object"))?;
    match object.keys().find(|key| !allowed.contains(&key.as_str())) {
        Some(key) => Err(format!("{type_name} has no property {key:?}")),
        None => Ok(()),
    }
}

fn one_of(body: &Value, key: &str, allowed: &[&str]) -> Result<(), String> {
    match body.get(key) {
        None => Ok(()),
        Some(Value::String(value)) if allowed.contains(&value.as_str()) => Ok(()),
        Some(other) => Err(format!("{key} must be one of {allowed:?}, not {other}")),
    }
}

fn string(body: &Value, key: &str) -> Result<(), String> {
    match body.get(key) {
        None | Some(Value::String(_)) => Ok(()),
        Some(other) => Err(format!("{key} must be a string, not {other}")),
    }
}

/// A query parameter, percent-decoded.
fn param(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
        .map(decode)
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%'
            && let Some(hex) = text.get(index + 1..index + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
