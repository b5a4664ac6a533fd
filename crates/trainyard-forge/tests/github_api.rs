//! The forge client against a recording GitHub stand-in on 127.0.0.1: what
//! it sends, how it retries, and what it does when writes are refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::json;
use trainyard_forge::{
    Annotation, AnnotationLevel, CheckConclusion, CheckRun, CheckRunOutput, CommitState,
    ForgeError, GitHub, GitHubConfig, PullRequestSpec, Repository, RetryPolicy, Token,
    sticky_marker,
};
use trainyard_testkit::recording::{Fault, RecordingServer};

fn client(server: &RecordingServer) -> GitHub {
    client_with(&server.url, fast_retries())
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        attempts: 4,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_secs(2),
        timeout: Duration::from_secs(5),
    }
}

fn client_with(url: &str, retry: RetryPolicy) -> GitHub {
    GitHub::new(GitHubConfig {
        api_url: url.to_owned(),
        token: Token::new("ghs_test_token").unwrap(),
        repository: Repository::parse("octo-org/ml").unwrap(),
        retry,
    })
    .unwrap()
}

fn annotation(line: u32) -> Annotation {
    Annotation {
        path: "data/a.csv".into(),
        start_line: line,
        end_line: line,
        start_column: None,
        end_column: None,
        annotation_level: AnnotationLevel::Failure,
        message: format!("row {line} is out of range"),
        title: Some("range".into()),
    }
}

fn check_run(annotations: usize, summary: String) -> CheckRun {
    CheckRun {
        name: "trainyard data validate".into(),
        head_sha: "a".repeat(40),
        conclusion: CheckConclusion::Failure,
        details_url: Some("https://github.test/octo-org/ml/actions/runs/1".into()),
        output: CheckRunOutput {
            title: "2 datasets, 120 findings".into(),
            summary,
            text: None,
            annotations: (1..=u32::try_from(annotations).unwrap())
                .map(annotation)
                .collect(),
        },
    }
}

#[test]
fn a_check_run_is_created_then_updated_with_annotations_fifty_at_a_time() {
    let server = RecordingServer::start();
    let published = client(&server)
        .publish_check_run(&check_run(120, "summary".into()))
        .unwrap();
    assert_eq!(
        server.routes(),
        [
            "POST /repos/octo-org/ml/check-runs",
            &format!("PATCH /repos/octo-org/ml/check-runs/{}", published.id),
            &format!("PATCH /repos/octo-org/ml/check-runs/{}", published.id),
        ]
    );
    let requests = server.requests();
    let sizes: Vec<usize> = requests
        .iter()
        .map(|r| {
            r.body["output"]["annotations"]
                .as_array()
                .map_or(0, Vec::len)
        })
        .collect();
    assert_eq!(sizes, [50, 50, 20]);
    assert_eq!(requests[0].body["status"], "in_progress");
    assert_eq!(requests[0].body["head_sha"], "a".repeat(40));
    assert_eq!(requests[1].body.get("conclusion"), None);
    assert_eq!(requests[2].body["status"], "completed");
    assert_eq!(requests[2].body["conclusion"], "failure");
    assert!(
        requests
            .iter()
            .all(|r| r.authorization.as_deref() == Some("Bearer ghs_test_token")),
        "{requests:?}"
    );
    assert!(!published.truncated);
}

#[test]
fn a_check_run_without_annotations_is_one_create_and_one_completing_update() {
    let server = RecordingServer::start();
    client(&server)
        .publish_check_run(&check_run(0, "ok".into()))
        .unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].body["conclusion"], "failure");
}

#[test]
fn an_oversized_summary_is_cut_to_the_limit_with_a_pointer_to_the_job_summary() {
    let server = RecordingServer::start();
    let summary = "| a | b |\n".repeat(10_000);
    let published = client(&server)
        .publish_check_run(&check_run(1, summary))
        .unwrap();
    assert!(published.truncated);
    let sent = server.requests()[0].body["output"]["summary"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(sent.chars().count() <= 65_535, "{}", sent.len());
    assert!(sent.ends_with("*The rest is in the job summary of this run.*"));
}

#[test]
fn the_sticky_comment_is_found_across_pages_and_updated_so_three_runs_leave_one_comment() {
    let server = RecordingServer::start();
    server.cap_page_size(2);
    for n in 0..5 {
        server.add_comment(7, &format!("a reviewer's comment {n}"));
    }
    let github = client(&server);
    let marker = sticky_marker("breast-cancer", "report");
    let first = github.upsert_sticky_comment(7, &marker, "run 1").unwrap();
    assert!(first.created);
    for run in 2..=3 {
        let again = github
            .upsert_sticky_comment(7, &marker, &format!("run {run}"))
            .unwrap();
        assert!(!again.created);
        assert_eq!(again.id, first.id);
    }
    let ours: Vec<_> = server
        .comments(7)
        .into_iter()
        .filter(|(_, body)| body.contains(&marker))
        .collect();
    assert_eq!(ours.len(), 1, "{:?}", server.comments(7));
    assert_eq!(ours[0].1, format!("{marker}\nrun 3"));
    assert_eq!(server.comments(7).len(), 6);
    // The later runs followed the Link header to the last page to find it.
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.method == "GET" && r.path.contains("page=3")),
        "{:?}",
        server.routes()
    );
}

#[test]
fn another_projects_comment_is_left_alone() {
    let server = RecordingServer::start();
    let github = client(&server);
    github
        .upsert_sticky_comment(3, &sticky_marker("other", "report"), "theirs")
        .unwrap();
    github
        .upsert_sticky_comment(3, &sticky_marker("breast-cancer", "report"), "ours")
        .unwrap();
    assert_eq!(server.comments(3).len(), 2);
}

#[test]
fn an_oversized_comment_keeps_its_marker_and_fits_the_limit() {
    let server = RecordingServer::start();
    let marker = sticky_marker("p", "report");
    let published = client(&server)
        .upsert_sticky_comment(1, &marker, &"x".repeat(70_000))
        .unwrap();
    assert!(published.truncated);
    let body = &server.comments(1)[0].1;
    assert!(body.starts_with(&marker));
    assert!(body.chars().count() <= 65_536);
}

#[test]
fn server_errors_are_retried_with_backoff_until_an_answer() {
    let server = RecordingServer::start();
    server.fail_next([Fault::status(502), Fault::status(503)]);
    client(&server)
        .set_commit_status(
            &"b".repeat(40),
            CommitState::Success,
            "trainyard train",
            "ok",
            None,
        )
        .unwrap();
    let statuses: Vec<u16> = server.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [502, 503, 201]);
}

#[test]
fn rate_limits_wait_for_retry_after() {
    let server = RecordingServer::start();
    server.fail_next([
        Fault::status(429).header("retry-after", "1"),
        Fault::status(403)
            .header("retry-after", "1")
            .message("You have exceeded a secondary rate limit."),
    ]);
    let github = client(&server);
    github
        .repository_dispatch("retrain", &json!({"reason": "drift"}))
        .unwrap();
    let statuses: Vec<u16> = server.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 403, 204]);
    assert_eq!(
        server.requests()[2].body,
        json!({"event_type": "retrain", "client_payload": {"reason": "drift"}})
    );
}

#[test]
fn retries_run_out_into_a_clear_error() {
    let server = RecordingServer::start();
    server.fail_next((0..4).map(|_| Fault::status(500).message("boom")));
    let error = client(&server)
        .repository_dispatch("retrain", &json!({}))
        .unwrap_err();
    assert!(
        matches!(error, ForgeError::GaveUp { attempts: 4, .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("after 4 attempts"), "{message}");
    assert!(message.contains("HTTP 500: boom"), "{message}");
    assert!(message.contains(&server.url), "{message}");
    assert_eq!(server.requests().len(), 4);
}

#[test]
fn a_server_that_never_answers_times_out_and_is_retried() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let held = std::thread::spawn(move || {
        // Accept and hold both connections without answering.
        let first = listener.accept().unwrap();
        let second = listener.accept().unwrap();
        std::thread::sleep(Duration::from_secs(2));
        drop((first, second));
    });
    let github = client_with(
        &url,
        RetryPolicy {
            attempts: 2,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_secs(1),
            timeout: Duration::from_millis(300),
        },
    );
    let error = github
        .repository_dispatch("retrain", &json!({}))
        .unwrap_err();
    assert!(
        matches!(error, ForgeError::GaveUp { attempts: 2, .. }),
        "{error:?}"
    );
    held.join().unwrap();
}

#[test]
fn a_read_only_token_is_refused_not_retried() {
    let server = RecordingServer::start();
    server.read_only();
    let error = client(&server)
        .publish_check_run(&check_run(1, "s".into()))
        .unwrap_err();
    assert!(error.is_refused(), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("Resource not accessible by integration"),
        "{error}"
    );
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn a_promotion_opens_a_pull_request() {
    let server = RecordingServer::start();
    let published = client(&server)
        .open_pull_request(&PullRequestSpec {
            head: "trainyard/promote-staging".into(),
            base: "main".into(),
            title: "Promote breast-cancer-classifier v3 to staging".into(),
            body: "Gate passed.".into(),
        })
        .unwrap();
    assert!(published.created);
    assert_eq!(published.number, 42);
    let requests = server.requests();
    assert_eq!(
        requests[0].path,
        "/repos/octo-org/ml/pulls?state=open&head=octo-org:trainyard%2Fpromote-staging&base=main"
    );
    assert_eq!(requests[1].body["head"], "trainyard/promote-staging");
    assert_eq!(requests[1].body["base"], "main");
}

#[test]
fn a_workflow_dispatch_names_the_workflow_and_ref() {
    let server = RecordingServer::start();
    let mut inputs = serde_json::Map::new();
    inputs.insert("reason".into(), json!("drift in biopsies"));
    client(&server)
        .workflow_dispatch("train.yml", "main", &inputs)
        .unwrap();
    let request = &server.requests()[0];
    assert_eq!(
        request.path,
        "/repos/octo-org/ml/actions/workflows/train.yml/dispatches"
    );
    assert_eq!(
        request.body,
        json!({"ref": "main", "inputs": {"reason": "drift in biopsies"}})
    );
}

#[test]
fn a_github_enterprise_api_url_keeps_its_path_on_every_request_and_page() {
    let server = RecordingServer::start();
    server.cap_page_size(1);
    server.add_comment(9, "first");
    server.add_comment(9, "second");
    let github = client_with(&format!("{}/api/v3/", server.url), fast_retries());
    let marker = sticky_marker("p", "report");
    github.upsert_sticky_comment(9, &marker, "one").unwrap();
    github.upsert_sticky_comment(9, &marker, "two").unwrap();
    let requests = server.requests();
    assert!(
        requests
            .iter()
            .all(|r| r.path.starts_with("/api/v3/repos/octo-org/ml/")),
        "{:?}",
        server.routes()
    );
    assert!(
        requests
            .iter()
            .all(|r| r.authorization.as_deref() == Some("Bearer ghs_test_token")),
        "the token goes with every page"
    );
    assert_eq!(server.comments(9).len(), 3);
    assert_eq!(server.comments(9)[2].1, format!("{marker}\ntwo"));
}

#[test]
fn every_page_of_a_commits_check_runs_and_statuses_is_read() {
    let server = RecordingServer::start();
    server.cap_page_size(2);
    let sha = "c".repeat(40);
    server.add_check_run(&sha, "unit tests", "completed", Some("success"));
    server.add_check_run(&sha, "lint", "in_progress", None);
    server.add_check_run(&sha, "e2e", "completed", Some("failure"));
    server.add_check_run(
        &"d".repeat(40),
        "other commit",
        "completed",
        Some("success"),
    );
    for context in ["ci/jenkins", "ci/circle", "security/scan"] {
        server.add_status(&sha, context, "success");
    }

    let github = client(&server);
    let runs = github.check_runs_for_ref(&sha).unwrap();
    let seen: Vec<(&str, &str, Option<&str>)> = runs
        .iter()
        .map(|run| {
            (
                run.name.as_str(),
                run.status.as_str(),
                run.conclusion.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("unit tests", "completed", Some("success")),
            ("lint", "in_progress", None),
            ("e2e", "completed", Some("failure")),
        ]
    );
    let status = github.combined_status(&sha).unwrap();
    assert_eq!(status.state, "success");
    assert_eq!(
        status
            .statuses
            .iter()
            .map(|s| s.context.as_str())
            .collect::<Vec<_>>(),
        ["ci/jenkins", "ci/circle", "security/scan"]
    );
    // Two pages each (two a page), the first asking for the latest runs only.
    let routes = server.routes();
    let check_route = format!("GET /repos/octo-org/ml/commits/{sha}/check-runs");
    let status_route = format!("GET /repos/octo-org/ml/commits/{sha}/status");
    assert_eq!(
        routes,
        [
            check_route.as_str(),
            &check_route,
            &status_route,
            &status_route
        ]
    );
    let requests = server.requests();
    assert!(
        requests[0].path.ends_with("?filter=latest&per_page=100"),
        "{}",
        requests[0].path
    );
    assert!(requests[1].path.ends_with("page=2"), "{}", requests[1].path);
    assert!(
        requests
            .iter()
            .all(|r| r.authorization.as_deref() == Some("Bearer ghs_test_token"))
    );
}

#[test]
fn reading_checks_retries_a_server_error_and_a_refusal_is_its_own_error() {
    let server = RecordingServer::start();
    let sha = "e".repeat(40);
    server.add_status(&sha, "ci/jenkins", "pending");
    server.fail_next([Fault::status(502)]);
    let status = client(&server).combined_status(&sha).unwrap();
    assert_eq!(status.state, "pending");
    assert_eq!(server.requests().len(), 2);

    server.fail_next([Fault::status(403).message("Resource not accessible by integration")]);
    let error = client(&server).check_runs_for_ref(&sha).unwrap_err();
    assert!(error.is_refused(), "{error}");
    assert!(
        error.to_string().contains("list the check runs of eeee"),
        "{error}"
    );
}
