//! A small GitHub stand-in on 127.0.0.1 that records every request and keeps
//! the state the sticky comment depends on (issue comments, with pagination).
//! Faults are scripted: the next N requests answer with a given status and
//! headers, or every write is refused as for a fork's pull request.
//!
//! Used by the forge crate's tests and the binary's (`gate` `checks`, publishing).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path and query.
    pub path: String,
    pub authorization: Option<String>,
    pub body: Value,
    /// The status the server answered with.
    pub status: u16,
}

/// A scripted answer for the next request.
#[derive(Debug, Clone)]
pub struct Fault {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Fault {
    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: json!({"message": "scripted fault"}).to_string(),
        }
    }

    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    #[must_use]
    pub fn message(mut self, message: &str) -> Self {
        self.body = json!({"message": message}).to_string();
        self
    }
}

#[derive(Debug, Default)]
struct State {
    requests: Vec<Recorded>,
    faults: VecDeque<Fault>,
    read_only: bool,
    /// Issue comments: (id, issue number, body).
    comments: Vec<(u64, u64, String)>,
    next_id: u64,
    page_size_cap: usize,
    /// Check runs by commit: (sha, run as GitHub lists it).
    check_runs: Vec<(String, Value)>,
    /// Commit statuses by commit: (sha, status as the combined status lists it).
    statuses: Vec<(String, Value)>,
}

/// The running server; stops when dropped (its thread ends with the process).
#[derive(Debug, Clone)]
pub struct RecordingServer {
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl RecordingServer {
    pub fn start() -> Self {
        let state = Arc::new(Mutex::new(State {
            next_id: 1000,
            page_size_cap: 100,
            ..State::default()
        }));
        let shared = Arc::clone(&state);
        let url = crate::wire::listen(move |incoming| {
            let mut state = shared.lock().unwrap();
            let answer = respond(&mut state, &incoming.method, &incoming.path, &incoming.body);
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

    /// The next requests answer with these, in order.
    pub fn fail_next(&self, faults: impl IntoIterator<Item = Fault>) {
        self.state.lock().unwrap().faults.extend(faults);
    }

    /// Every write answers 403 "Resource not accessible by integration".
    pub fn read_only(&self) {
        self.state.lock().unwrap().read_only = true;
    }

    /// Lists return at most `cap` items a page, whatever per_page asks.
    pub fn cap_page_size(&self, cap: usize) {
        self.state.lock().unwrap().page_size_cap = cap;
    }

    /// Adds a comment not made by trainyard.
    pub fn add_comment(&self, issue: u64, body: &str) -> u64 {
        let mut state = self.state.lock().unwrap();
        state.next_id += 1;
        let id = state.next_id;
        state.comments.push((id, issue, body.to_owned()));
        id
    }

    pub fn comments(&self, issue: u64) -> Vec<(u64, String)> {
        self.state
            .lock()
            .unwrap()
            .comments
            .iter()
            .filter(|(_, number, _)| *number == issue)
            .map(|(id, _, body)| (*id, body.clone()))
            .collect()
    }

    /// Adds a check run on `sha`: `status` (`completed`, `in_progress`…) and its `conclusion`.
    pub fn add_check_run(&self, sha: &str, name: &str, status: &str, conclusion: Option<&str>) {
        let mut state = self.state.lock().unwrap();
        state.next_id += 1;
        let run = json!({
            "id": state.next_id,
            "name": name,
            "head_sha": sha,
            "status": status,
            "conclusion": conclusion,
            "html_url": format!("https://github.test/runs/{}", state.next_id),
        });
        state.check_runs.push((sha.to_owned(), run));
    }

    /// Adds a commit status on `sha` for `context` (`success`, `pending`, `failure`, `error`).
    pub fn add_status(&self, sha: &str, context: &str, status: &str) {
        let mut state = self.state.lock().unwrap();
        state.next_id += 1;
        let entry = json!({
            "id": state.next_id,
            "context": context,
            "state": status,
            "description": format!("{context}: {status}"),
            "target_url": "https://ci.test/build/1",
        });
        state.statuses.push((sha.to_owned(), entry));
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    /// `METHOD path` of every request, query left off.
    pub fn routes(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| {
                format!(
                    "{} {}",
                    r.method,
                    r.path.split('?').next().unwrap_or_default()
                )
            })
            .collect()
    }
}

use crate::wire::Answer;

fn respond(state: &mut State, method: &str, path: &str, body: &Value) -> Answer {
    if let Some(fault) = state.faults.pop_front() {
        return (fault.status, fault.headers, fault.body);
    }
    if state.read_only && method != "GET" {
        return (
            403,
            Vec::new(),
            json!({"message": "Resource not accessible by integration"}).to_string(),
        );
    }
    let (route, query) = path.split_once('?').unwrap_or((path, ""));
    // GitHub Enterprise Server serves the API under /api/v3.
    let route = route.strip_prefix("/api/v3").unwrap_or(route);
    let segments: Vec<&str> = route.trim_start_matches('/').split('/').collect();
    let ok = |status: u16, value: Value| (status, Vec::new(), value.to_string());
    match (method, segments.as_slice()) {
        ("POST", ["repos", _, _, "check-runs"]) => {
            state.next_id += 1;
            ok(
                201,
                json!({"id": state.next_id, "html_url": format!("https://github.test/runs/{}", state.next_id)}),
            )
        }
        ("PATCH", ["repos", _, _, "check-runs", id]) => ok(
            200,
            json!({"id": id.parse::<u64>().unwrap_or(0), "html_url": format!("https://github.test/runs/{id}")}),
        ),
        ("POST", ["repos", _, _, "statuses", _]) => ok(201, json!({"id": 1})),
        ("GET", ["repos", _, _, "issues", number, "comments"]) => {
            let number: u64 = number.parse().unwrap_or(0);
            let param = |name: &str| {
                query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                    .and_then(|v| v.parse::<usize>().ok())
            };
            let per_page = param("per_page").unwrap_or(30).min(state.page_size_cap);
            let page = param("page").unwrap_or(1);
            let all: Vec<Value> = state
                .comments
                .iter()
                .filter(|(_, issue, _)| *issue == number)
                .map(|(id, _, body)| json!({"id": id, "body": body, "html_url": format!("https://github.test/c/{id}")}))
                .collect();
            let items: Vec<Value> = all
                .iter()
                .skip((page - 1) * per_page)
                .take(per_page)
                .cloned()
                .collect();
            let mut headers = Vec::new();
            if page * per_page < all.len() {
                headers.push((
                    "link".to_owned(),
                    format!(
                        "<https://api.github.test{route}?per_page={per_page}&page={}>; rel=\"next\"",
                        page + 1
                    ),
                ));
            }
            (200, headers, Value::Array(items).to_string())
        }
        ("POST", ["repos", _, _, "issues", number, "comments"]) => {
            state.next_id += 1;
            let id = state.next_id;
            let text = body["body"].as_str().unwrap_or_default().to_owned();
            state
                .comments
                .push((id, number.parse().unwrap_or(0), text.clone()));
            ok(
                201,
                json!({"id": id, "body": text, "html_url": format!("https://github.test/c/{id}")}),
            )
        }
        ("PATCH", ["repos", _, _, "issues", "comments", id]) => {
            let id: u64 = id.parse().unwrap_or(0);
            let text = body["body"].as_str().unwrap_or_default().to_owned();
            match state.comments.iter_mut().find(|(cid, _, _)| *cid == id) {
                Some(comment) => {
                    comment.2.clone_from(&text);
                    ok(
                        200,
                        json!({"id": id, "body": text, "html_url": format!("https://github.test/c/{id}")}),
                    )
                }
                None => ok(404, json!({"message": "Not Found"})),
            }
        }
        ("GET", ["repos", _, _, "pulls"]) => ok(200, json!([])),
        ("POST", ["repos", _, _, "pulls"]) => ok(
            201,
            json!({"number": 42, "html_url": "https://github.test/pull/42"}),
        ),
        (
            "POST",
            ["repos", _, _, "dispatches"]
            | ["repos", _, _, "actions", "workflows", _, "dispatches"],
        ) => (204, Vec::new(), String::new()),
        _ => commit_checks(state, method, &segments, query, route)
            .unwrap_or_else(|| ok(404, json!({"message": "Not Found"}))),
    }
}

/// A commit's check runs and combined status, paginated.
fn commit_checks(
    state: &State,
    method: &str,
    segments: &[&str],
    query: &str,
    route: &str,
) -> Option<Answer> {
    Some(match (method, segments) {
        ("GET", ["repos", _, _, "commits", sha, "check-runs"]) => {
            let all: Vec<Value> = of_commit(&state.check_runs, sha);
            let (items, headers) = page_of(&all, query, state.page_size_cap, route);
            (
                200,
                headers,
                json!({"total_count": all.len(), "check_runs": items}).to_string(),
            )
        }
        ("GET", ["repos", _, _, "commits", sha, "status"]) => {
            let all: Vec<Value> = of_commit(&state.statuses, sha);
            let (items, headers) = page_of(&all, query, state.page_size_cap, route);
            let state_of = |wanted: &str| all.iter().any(|s| s["state"] == wanted);
            let combined = if state_of("failure") || state_of("error") {
                "failure"
            } else if state_of("pending") || all.is_empty() {
                "pending"
            } else {
                "success"
            };
            (
                200,
                headers,
                json!({"state": combined, "sha": sha, "total_count": all.len(), "statuses": items})
                    .to_string(),
            )
        }
        _ => return None,
    })
}

fn of_commit(items: &[(String, Value)], sha: &str) -> Vec<Value> {
    items
        .iter()
        .filter(|(of, _)| of == sha)
        .map(|(_, item)| item.clone())
        .collect()
}

/// One page of `all` as `per_page` and `page` in `query` ask (capped), and
/// the `link` header to the next page when there is one.
fn page_of(
    all: &[Value],
    query: &str,
    cap: usize,
    route: &str,
) -> (Vec<Value>, Vec<(String, String)>) {
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse::<usize>().ok())
    };
    let per_page = param("per_page").unwrap_or(30).min(cap).max(1);
    let page = param("page").unwrap_or(1).max(1);
    let items = all
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .cloned()
        .collect();
    let mut headers = Vec::new();
    if page * per_page < all.len() {
        headers.push((
            "link".to_owned(),
            format!(
                "<https://api.github.test{route}?per_page={per_page}&page={}>; rel=\"next\"",
                page + 1
            ),
        ));
    }
    (items, headers)
}
