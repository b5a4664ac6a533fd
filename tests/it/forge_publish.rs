//! The binary publishing to GitHub, against a recording GitHub stand-in on
//! 127.0.0.1 (the real API's shape is checked by `github_workflows.rs` with
//! Prism; this checks behaviour that needs state): check runs and statuses on
//! the pull request's head, the one sticky comment after three runs, retries,
//! giving up with exit 3, and the fallback when GitHub refuses the token.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::path::{Path, PathBuf};

use serde_json::Value;
use trainyard_testkit::recording::{Fault, RecordingServer};

const TOKEN: &str = "ghs_recording_server_token";

/// A pull-request job on GitHub Actions: the project, the event payload, and
/// the files the runner would give the step.
struct Job {
    project: tempfile::TempDir,
    files: tempfile::TempDir,
    payload: Value,
    server: RecordingServer,
}

impl Job {
    fn new() -> Self {
        let payload = common::webhook("pull_request", |p| p["action"] == "opened");
        let files = tempfile::tempdir().unwrap();
        std::fs::write(
            files.path().join("event.json"),
            serde_json::to_vec(&payload).unwrap(),
        )
        .unwrap();
        Self {
            project: common::example_project(),
            files,
            payload,
            server: RecordingServer::start(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.files.path().join(name)
    }

    fn pr_number(&self) -> u64 {
        self.payload["pull_request"]["number"].as_u64().unwrap()
    }

    fn head_sha(&self) -> String {
        self.payload["pull_request"]["head"]["sha"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn repository(&self) -> String {
        self.payload["repository"]["full_name"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Runs `trainyard args…` as a step of this job.
    fn run(&self, args: &[&str], extra_env: &[(&str, &str)]) -> (i32, String) {
        let mut command = common::trainyard();
        command
            .current_dir(self.project.path())
            .args(args)
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_EVENT_NAME", "pull_request")
            .env("GITHUB_EVENT_PATH", self.path("event.json"))
            .env("GITHUB_REPOSITORY", self.repository())
            .env("GITHUB_SHA", "f".repeat(40))
            .env("GITHUB_RUN_ID", "4242")
            .env("GITHUB_SERVER_URL", "https://github.test")
            .env("GITHUB_API_URL", &self.server.url)
            .env("GITHUB_TOKEN", TOKEN)
            .env("GITHUB_OUTPUT", self.path("output"))
            .env("GITHUB_STEP_SUMMARY", self.path("summary.md"))
            .env("TRAINYARD_REPORTS_DIR", self.path("reports"));
        for (name, value) in extra_env {
            command.env(name, value);
        }
        let output = command.output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr);
        (output.status.code().unwrap(), format!("{stdout}{stderr}"))
    }

    fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }
}

fn token_only_in_masks(log: &str) {
    for line in log.lines().filter(|line| line.contains(TOKEN)) {
        assert_eq!(
            line,
            format!("::add-mask::{TOKEN}"),
            "the token leaked:\n{log}"
        );
    }
}

#[test]
fn a_step_publishes_a_check_run_and_a_status_on_the_pull_requests_head() {
    let job = Job::new();
    let (code, log) = job.run(&["data", "validate"], &[]);
    assert_eq!(code, 0, "{log}");
    token_only_in_masks(&log);
    assert!(log.contains(&format!("::add-mask::{TOKEN}")), "{log}");

    let repository = job.repository();
    let requests = job.server.requests();
    let routes = job.server.routes();
    assert_eq!(routes[0], format!("POST /repos/{repository}/check-runs"));
    assert!(routes[1].starts_with(&format!("PATCH /repos/{repository}/check-runs/")));
    assert_eq!(
        routes[2],
        format!("POST /repos/{repository}/statuses/{}", job.head_sha())
    );
    assert_eq!(routes.len(), 3, "{routes:?}");
    let create = &requests[0].body;
    assert_eq!(create["name"], "trainyard data validate (breast-cancer)");
    assert_eq!(create["head_sha"], job.head_sha());
    assert_eq!(
        create["details_url"],
        format!("https://github.test/{repository}/actions/runs/4242")
    );
    assert_eq!(requests[1].body["conclusion"], "success");
    assert_eq!(requests[2].body["state"], "success");
    assert_eq!(
        requests[0].authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );

    let outputs = job.file("output");
    assert!(outputs.contains("check-run-url"), "{outputs}");
    let kept: Vec<_> = std::fs::read_dir(job.path("reports"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(kept[0].ends_with("-data-validate.json"), "{kept:?}");
}

#[test]
fn three_report_runs_leave_one_sticky_comment_with_the_latest_report() {
    let job = Job::new();
    job.server
        .add_comment(job.pr_number(), "LGTM from a person");
    assert_eq!(job.run(&["data", "validate"], &[]).0, 0);
    for _ in 0..3 {
        let (code, log) = job.run(&["report"], &[]);
        assert_eq!(code, 0, "{log}");
    }
    let comments = job.server.comments(job.pr_number());
    assert_eq!(comments.len(), 2, "{comments:#?}");
    let ours = &comments[1].1;
    assert!(
        ours.starts_with("<!-- trainyard:breast-cancer:report -->\n"),
        "{ours}"
    );
    assert!(
        ours.contains("trainyard · breast-cancer: all passed"),
        "{ours}"
    );
    assert!(ours.contains("| ✅ | data validate |"), "{ours}");
    assert!(
        ours.contains("[this run](https://github.test/"),
        "the comment links the run:\n{ours}"
    );
    let creates = job
        .server
        .routes()
        .iter()
        .filter(|r| r.starts_with("POST") && r.ends_with("/comments"))
        .count();
    assert_eq!(creates, 1);
    assert!(job.file("output").contains("comment-url"));
}

#[test]
fn a_fork_pull_request_keeps_the_steps_verdict_and_falls_back_saying_so_once() {
    let job = Job::new();
    job.server.read_only();
    let (code, first) = job.run(&["data", "validate"], &[]);
    assert_eq!(code, 0, "{first}");
    let (code, second) = job.run(&["report"], &[]);
    assert_eq!(code, 0, "{second}");
    let notice = "Resource not accessible by integration";
    assert_eq!(
        first.matches(notice).count() + second.matches(notice).count(),
        1,
        "{first}\n---\n{second}"
    );
    assert!(
        first.contains("::warning title=trainyard::GitHub refused to create a check run"),
        "{first}"
    );
    assert!(first.contains("annotations and summary instead"), "{first}");
    // The report the comment would have carried is in the job summary.
    let summary = job.file("summary.md");
    assert!(
        summary.contains("trainyard · breast-cancer: all passed"),
        "{summary}"
    );
    assert!(job.server.comments(job.pr_number()).is_empty());
}

#[test]
fn server_errors_and_rate_limits_are_retried_and_the_step_passes() {
    let job = Job::new();
    job.server.fail_next([
        Fault::status(502),
        Fault::status(429).header("retry-after", "1"),
    ]);
    let (code, log) = job.run(&["data", "validate"], &[]);
    assert_eq!(code, 0, "{log}");
    let statuses: Vec<u16> = job.server.requests().iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [502, 429, 201, 200, 201],
        "{:?}",
        job.server.routes()
    );
}

#[test]
fn giving_up_is_an_environment_error_exit_3_with_a_clear_message() {
    let job = Job::new();
    job.server
        .fail_next((0..2).map(|_| Fault::status(503).message("unavailable")));
    let (code, log) = job.run(&["data", "validate"], &[("TRAINYARD_GITHUB_ATTEMPTS", "2")]);
    assert_eq!(code, 3, "{log}");
    assert!(
        log.contains(
            "::error title=trainyard::GitHub did not answer the request to create a check run after 2 attempts (last: HTTP 503: unavailable)"
        ),
        "{log}"
    );
    token_only_in_masks(&log);
}

#[test]
fn without_a_token_nothing_is_sent_but_the_report_is_kept() {
    let job = Job::new();
    let (code, log) = job.run(&["data", "validate"], &[("GITHUB_TOKEN", "")]);
    assert_eq!(code, 0, "{log}");
    assert!(job.server.requests().is_empty());
    assert!(Path::new(&job.path("reports")).is_dir());
}

#[test]
fn a_step_that_cannot_run_fails_its_check_at_the_manifests_line_and_keeps_its_exit_code() {
    let job = Job::new();
    let manifest = job.project.path().join("trainyard.yaml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, text.replace("datasets:\n", "datasetz:\n")).unwrap();
    let line = text
        .lines()
        .position(|l| l == "datasets:")
        .map(|index| index + 1)
        .unwrap();

    let (code, log) = job.run(&["data", "validate"], &[]);
    assert_eq!(code, 2, "{log}");
    let requests = job.server.requests();
    let create = &requests[0].body;
    assert_eq!(create["name"], "trainyard data validate");
    let annotation = &create["output"]["annotations"][0];
    assert_eq!(annotation["path"], "trainyard.yaml", "{create:#}");
    assert_eq!(annotation["start_line"], line, "{create:#}");
    assert_eq!(annotation["annotation_level"], "failure");
    assert_eq!(requests[1].body["conclusion"], "failure");
    assert_eq!(requests[2].body["state"], "failure");

    // `report` still reports, and shows the step that could not run.
    let (code, log) = job.run(&["report"], &[]);
    assert_eq!(code, 0, "{log}");
    let comments = job.server.comments(job.pr_number());
    assert_eq!(comments.len(), 1, "{comments:#?}");
    let body = &comments[0].1;
    assert!(body.contains("1 failed (data validate)"), "{body}");
    assert!(body.contains("| ❌ | data validate |"), "{body}");
}

#[test]
fn data_drift_starts_the_retraining_workflow_and_names_why() {
    let job = Job::new();
    // The biopsies with four measurements scaled up: those columns drift.
    let source = job.project.path().join("data/breast_cancer.csv");
    let text = std::fs::read_to_string(&source).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let scaled: Vec<usize> = ["mean_radius", "mean_texture", "mean_area", "worst_radius"]
        .iter()
        .map(|name| header.iter().position(|h| h == name).unwrap())
        .collect();
    let mut shifted = header.join(",") + "\n";
    for line in lines {
        let cells: Vec<String> = line
            .split(',')
            .enumerate()
            .map(|(index, cell)| {
                if scaled.contains(&index) {
                    (cell.parse::<f64>().unwrap() * 1.8).to_string()
                } else {
                    cell.to_owned()
                }
            })
            .collect();
        shifted.push_str(&cells.join(","));
        shifted.push('\n');
    }
    let current = job.path("production.csv");
    std::fs::write(&current, shifted).unwrap();

    let (code, log) = job.run(
        &[
            "data",
            "drift",
            "--reference",
            "biopsies",
            "--current",
            current.to_str().unwrap(),
            "--drift-share",
            "0.1",
        ],
        &[
            ("TRAINYARD_RETRAIN_EVENT", "trainyard-retrain"),
            ("INPUT_RETRAIN_WORKFLOW", "main.yml"),
        ],
    );
    assert_eq!(code, 1, "drift is the step's failure: {log}");
    let repository = job.repository();
    let requests = job.server.requests();
    let dispatch = requests
        .iter()
        .find(|r| r.path == format!("/repos/{repository}/dispatches"))
        .unwrap_or_else(|| panic!("{:?}", job.server.routes()));
    assert_eq!(dispatch.body["event_type"], "trainyard-retrain");
    assert_eq!(dispatch.body["client_payload"]["project"], "breast-cancer");
    assert!(
        dispatch.body["client_payload"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("data drift: "),
        "{:#}",
        dispatch.body
    );
    let workflow = requests
        .iter()
        .find(|r| r.path.ends_with("/actions/workflows/main.yml/dispatches"))
        .unwrap_or_else(|| panic!("{:?}", job.server.routes()));
    let default_branch = job.payload["repository"]["default_branch"]
        .as_str()
        .unwrap();
    assert_eq!(workflow.body["ref"], default_branch);
    assert!(job.file("output").contains("retrain-dispatched"));
    // The drifted file is outside the repository: no annotation points at it.
    for request in requests.iter().filter(|r| r.path.contains("/check-runs")) {
        for annotation in request.body["output"]["annotations"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let path = annotation["path"].as_str().unwrap();
            assert!(!path.starts_with('/'), "{annotation:#}");
        }
    }
}

#[test]
fn with_json_output_stdout_stays_one_document_and_notices_go_to_stderr() {
    let job = Job::new();
    job.server.read_only();
    let output = common::trainyard()
        .current_dir(job.project.path())
        .args(["--format", "json", "data", "validate"])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", "pull_request")
        .env("GITHUB_EVENT_PATH", job.path("event.json"))
        .env("GITHUB_REPOSITORY", job.repository())
        .env("GITHUB_API_URL", &job.server.url)
        .env("GITHUB_TOKEN", TOKEN)
        .env("TRAINYARD_REPORTS_DIR", job.path("reports"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let document: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(document["step"], "data validate");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("::add-mask::{TOKEN}")), "{stderr}");
    assert!(
        stderr.contains("::warning title=trainyard::GitHub refused"),
        "{stderr}"
    );
}
