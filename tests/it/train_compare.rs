//! `trainyard compare`: the table and the history chart, from a real git
//! ledger holding runs with known metrics.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use common::{run_json, trainyard};
use trainyard_ledger::{
    ArtifactRef, CiInfo, GitInfo, GitLedger, Ledger, Outcome, RunId, RunMode, RunRecord,
};

const MODEL: &str = "breast-cancer-classifier";

/// The example's manifest (accuracy and f1 maximized, log_loss minimized) in a git repository.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        common::repo().join("examples/breast-cancer/trainyard.yaml"),
        dir.path().join("trainyard.yaml"),
    )
    .unwrap();
    trainyard_testkit::git::init_and_commit_all(dir.path());
    dir
}

fn record(
    id: &str,
    commit: char,
    branch: &str,
    mode: RunMode,
    metrics: &[(&str, f64)],
) -> RunRecord {
    RunRecord {
        id: RunId::parse(id).unwrap(),
        project: "breast-cancer".to_owned(),
        mode,
        command: vec!["python3".to_owned(), "train.py".to_owned()],
        params: BTreeMap::new(),
        metrics: metrics
            .iter()
            .map(|(name, value)| ((*name).to_owned(), *value))
            .collect(),
        series: BTreeMap::new(),
        datasets: BTreeMap::new(),
        git: GitInfo {
            commit: commit.to_string().repeat(40),
            branch: Some(branch.to_owned()),
            dirty: false,
        },
        ci: CiInfo {
            host: "github".to_owned(),
            event: Some("push".to_owned()),
            url: None,
        },
        tools: BTreeMap::new(),
        started_at: chrono::DateTime::parse_from_rfc3339("2026-11-01T10:00:00Z")
            .unwrap()
            .into(),
        duration: Duration::from_secs(3),
        outcome: Outcome::Succeeded,
        artifacts: Vec::new(),
        store: None,
        model_uri: None,
    }
}

/// Three full runs on main (the second is the champion) and a PR's sampled run.
fn history(dir: &Path) -> GitLedger {
    let ledger = GitLedger::open(dir).unwrap();
    let runs = [
        record(
            "20261101T100000.000Z-aaaaaa",
            'a',
            "main",
            RunMode::Full,
            &[("accuracy", 0.91), ("f1", 0.88), ("log_loss", 0.21)],
        ),
        record(
            "20261102T100000.000Z-bbbbbb",
            'b',
            "main",
            RunMode::Full,
            &[("accuracy", 0.94), ("f1", 0.92), ("log_loss", 0.15)],
        ),
        record(
            "20261103T100000.000Z-cccccc",
            'c',
            "main",
            RunMode::Full,
            &[("accuracy", 0.95), ("f1", 0.93), ("log_loss", 0.12)],
        ),
        record(
            "20261104T100000.000Z-dddddd",
            'd',
            "feature",
            RunMode::Sample,
            &[
                ("accuracy", 0.96),
                ("f1", 0.9),
                ("log_loss", 0.15),
                ("train_rows", 113.0),
            ],
        ),
    ];
    for run in &runs {
        ledger.append_run(run).unwrap();
    }
    let artifact = ArtifactRef {
        path: "model.json".to_owned(),
        digest: "b".repeat(64),
        size: 10,
    };
    let version = ledger.register(MODEL, &runs[1].id, &artifact).unwrap();
    ledger
        .move_alias(MODEL, "champion", version.version, "test", "promoted")
        .unwrap();
    ledger
}

fn compare(dir: &Path, args: &[&str]) -> serde_json::Value {
    run_json(trainyard().current_dir(dir).arg("compare").args(args), 0)
}

#[test]
fn a_pull_requests_run_against_the_champion() {
    let project = project();
    history(project.path());
    let report = compare(project.path(), &["20261104T100000.000Z-dddddd"]);
    assert_eq!(
        report["title"],
        "against the champion (version 1): 1 better, 1 worse"
    );
    // log_loss is equal: neither.
    assert_eq!(report["outputs"]["better"], "accuracy");
    assert_eq!(report["outputs"]["worse"], "f1");
    assert_eq!(
        report["outputs"]["against-run-id"],
        "20261102T100000.000Z-bbbbbb"
    );
    insta::assert_snapshot!("against_champion", report["summary"].as_str().unwrap());
}

#[test]
fn base_on_a_pull_request_is_the_base_branchs_latest_run() {
    let project = project();
    history(project.path());
    // A real payload: its pull request merges into `master`, the default branch;
    // our records are on `main`.
    let opened = common::webhook("pull_request", |e| e["action"] == "opened");
    let base = opened["pull_request"]["base"]["ref"].as_str().unwrap();
    assert_eq!(base, "master");
    let mut payload = opened.clone();
    payload["pull_request"]["base"]["ref"] = serde_json::json!("main");
    payload["repository"]["default_branch"] = serde_json::json!("main");

    let mut command = trainyard();
    command
        .current_dir(project.path())
        .args(["compare", "--against", "base"]);
    common::github_event(&mut command, project.path(), "pull_request", &payload);
    let report = run_json(&mut command, 0);
    // The latest run is the PR's; the base's latest is run c.
    assert_eq!(report["outputs"]["run-id"], "20261104T100000.000Z-dddddd");
    assert_eq!(
        report["outputs"]["against-run-id"],
        "20261103T100000.000Z-cccccc"
    );
    assert_eq!(
        report["title"],
        "against the latest on main: 1 better, 2 worse"
    );
    insta::assert_snapshot!("against_base", report["summary"].as_str().unwrap());
}

#[test]
fn without_a_champion_the_runs_metrics_stand_alone() {
    let project = project();
    let ledger = GitLedger::open(project.path()).unwrap();
    ledger
        .append_run(&record(
            "20261101T100000.000Z-aaaaaa",
            'a',
            "main",
            RunMode::Full,
            &[("accuracy", 0.91), ("f1", 0.88), ("log_loss", 0.21)],
        ))
        .unwrap();
    let report = compare(project.path(), &[]);
    assert_eq!(report["conclusion"], "neutral");
    insta::assert_snapshot!("no_champion", report["summary"].as_str().unwrap());
}

#[test]
fn comparing_with_an_unknown_run_says_how_to_find_one() {
    let project = project();
    history(project.path());
    trainyard()
        .current_dir(project.path())
        .args(["compare", "--against", "nope"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("trainyard runs list"));
}

#[test]
fn the_history_charts_parse_with_mermaid() {
    let project = project();
    history(project.path());
    let report = compare(project.path(), &["20261104T100000.000Z-dddddd"]);
    common::assert_mermaid_xycharts_parse(report["summary"].as_str().unwrap());
}
