//! `trainyard_forge::publish` and `trainyard_forge::evidence` against the
//! recording GitHub stand-in: a Report's check run and status, its forge
//! requests carried out, the outputs written, a refusal said once; a commit's
//! checks read for the gate.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use trainyard_ci::{Env, Host};
use trainyard_core::{Conclusion, ForgeRequest, Report};
use trainyard_forge::evidence::{self, CheckState, CheckStates};
use trainyard_forge::publish::{Job, Outcome, Publication, publish};
use trainyard_testkit::recording::{self, RecordingServer};

const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

/// A push job on GitHub Actions with a token, talking to `server`.
fn env(server: &RecordingServer, dir: &Path, extra: &[(&str, &str)]) -> Env {
    let mut env = Env::from_pairs([
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_REPOSITORY", "octo-org/ml"),
        ("GITHUB_SHA", SHA),
        ("GITHUB_RUN_ID", "7"),
        ("GITHUB_API_URL", server.url.as_str()),
        ("GITHUB_TOKEN", "ghs_test_token"),
        ("TRAINYARD_GITHUB_ATTEMPTS", "1"),
    ]);
    env.set("GITHUB_OUTPUT", dir.join("output").to_string_lossy());
    for (name, value) in extra {
        env.set(*name, *value);
    }
    env
}

fn run(report: &Report, env: &Env, memory: Option<&Path>) -> (Outcome, String) {
    let mut log = Vec::new();
    let outcome = publish(
        &Publication {
            report,
            project: "breast-cancer",
            sticky_comment: false,
        },
        &Job {
            env,
            host: Host::GitHubActions,
            memory,
        },
        &mut log,
    );
    (outcome, String::from_utf8(log).unwrap())
}

fn outputs(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("output")).unwrap_or_default()
}

#[test]
fn a_promotion_gets_its_check_run_status_and_the_pull_request_it_asks_for() {
    let server = RecordingServer::start();
    let dir = tempfile::tempdir().unwrap();
    let env = env(&server, dir.path(), &[]);
    let report = Report::new(
        "promote",
        Conclusion::Success,
        "Promote: clf v3 to staging: proposed",
    )
    .with_forge_request(ForgeRequest::OpenPullRequest {
        head: "trainyard/promote/staging/clf-v3".into(),
        base: "main".into(),
        title: "Promote: clf v3 to staging".into(),
        body: "| ✅ | metric | accuracy |".into(),
    });

    let (outcome, log) = run(&report, &env, None);
    assert_eq!(outcome, Outcome::Done, "{log}");
    assert_eq!(log, "::add-mask::ghs_test_token\n");
    assert_eq!(
        server.routes(),
        [
            "POST /repos/octo-org/ml/check-runs",
            "PATCH /repos/octo-org/ml/check-runs/1001",
            &format!("POST /repos/octo-org/ml/statuses/{SHA}"),
            "GET /repos/octo-org/ml/pulls",
            "POST /repos/octo-org/ml/pulls",
        ]
    );
    let requests = server.requests();
    assert_eq!(
        requests[0].body["name"],
        "trainyard promote (breast-cancer)"
    );
    assert_eq!(
        requests[2].body["context"],
        "trainyard promote (breast-cancer)"
    );
    let pull = &requests[4].body;
    assert_eq!(
        (&pull["head"], &pull["base"], &pull["title"], &pull["body"]),
        (
            &"trainyard/promote/staging/clf-v3".into(),
            &"main".into(),
            &"Promote: clf v3 to staging".into(),
            &"| ✅ | metric | accuracy |".into()
        )
    );
    let outputs = outputs(dir.path());
    for line in [
        "check-run-id=1001",
        "pull-request-number=42",
        "pull-request-url=https://github.test/pull/42",
    ] {
        assert!(outputs.lines().any(|l| l == line), "{line} in {outputs}");
    }
}

#[test]
fn retraining_is_dispatched_only_where_the_user_configured_it() {
    let server = RecordingServer::start();
    let dir = tempfile::tempdir().unwrap();
    let report = Report::new(
        "data drift",
        Conclusion::Failure,
        "4 of 30 columns drifted: dataset drift",
    )
    .with_forge_request(ForgeRequest::DispatchRetraining {
        reason: "data drift: 4 of 30 columns drifted: dataset drift".into(),
    });

    let (outcome, _) = run(&report, &env(&server, dir.path(), &[]), None);
    assert_eq!(outcome, Outcome::Done);
    assert!(
        !server.routes().iter().any(|r| r.ends_with("/dispatches")),
        "{:?}",
        server.routes()
    );
    assert!(!outputs(dir.path()).contains("retrain-dispatched"));

    // The action's inputs as the runner exports them (hyphens kept) or as TRAINYARD_*.
    let env = env(
        &server,
        dir.path(),
        &[
            ("INPUT_RETRAIN-EVENT", " trainyard-retrain "),
            ("TRAINYARD_RETRAIN_WORKFLOW", "main.yml"),
        ],
    );
    let (outcome, log) = run(&report, &env, None);
    assert_eq!(outcome, Outcome::Done, "{log}");
    let requests = server.requests();
    let event = requests
        .iter()
        .find(|r| r.path == "/repos/octo-org/ml/dispatches")
        .unwrap();
    assert_eq!(event.body["event_type"], "trainyard-retrain");
    assert_eq!(event.body["client_payload"]["project"], "breast-cancer");
    assert_eq!(
        event.body["client_payload"]["reason"],
        "data drift: 4 of 30 columns drifted: dataset drift"
    );
    assert_eq!(
        event.body["client_payload"]["run_url"],
        "https://github.com/octo-org/ml/actions/runs/7"
    );
    let workflow = requests
        .iter()
        .find(|r| r.path == "/repos/octo-org/ml/actions/workflows/main.yml/dispatches")
        .unwrap();
    assert_eq!(workflow.body["ref"], "main");
    assert!(outputs(dir.path()).contains("retrain-dispatched=true"));
}

#[test]
fn a_refused_write_keeps_the_verdict_and_is_said_once_per_job() {
    let server = RecordingServer::start();
    server.read_only();
    let dir = tempfile::tempdir().unwrap();
    let env = env(&server, dir.path(), &[]);
    let report = Report::new("gate", Conclusion::Failure, "staging: 1 of 3 rules failed");
    let memory = dir.path().join("reports");

    let (outcome, log) = run(&report, &env, Some(&memory));
    assert_eq!(outcome, Outcome::Done);
    assert!(
        log.contains("::warning title=trainyard::GitHub refused to create a check run (HTTP 403"),
        "{log}"
    );
    let (outcome, log) = run(&report, &env, Some(&memory));
    assert_eq!(outcome, Outcome::Done);
    assert_eq!(log, "::add-mask::ghs_test_token\n", "said once");
}

#[test]
fn an_unanswered_request_fails_publishing_with_github_s_message() {
    let server = RecordingServer::start();
    server.fail_next([recording::Fault::status(502)]);
    let dir = tempfile::tempdir().unwrap();
    let report = Report::new("train", Conclusion::Success, "trained");
    let (outcome, log) = run(&report, &env(&server, dir.path(), &[]), None);
    assert_eq!(outcome, Outcome::Failed);
    assert!(
        log.contains("::error title=trainyard::GitHub did not answer the request to create a check run after 1 attempts"),
        "{log}"
    );
}

#[test]
fn a_commits_checks_are_read_by_name_for_the_gate() {
    let server = RecordingServer::start();
    server.add_check_run(SHA, "unit-tests", "completed", Some("success"));
    server.add_check_run(SHA, "lint", "in_progress", None);
    server.add_status(SHA, "unit-tests", "failure");
    let dir = tempfile::tempdir().unwrap();
    let env = env(&server, dir.path(), &[]);
    let CheckStates::Read { source, results } = evidence::commit_checks(&env, SHA).unwrap() else {
        panic!("not read")
    };
    assert_eq!(source, "GitHub octo-org/ml");
    assert_eq!(
        results["unit-tests"],
        [CheckState::Succeeded, CheckState::Failed("failure".into())]
    );
    assert_eq!(results["lint"], [CheckState::Pending("in_progress".into())]);
}
