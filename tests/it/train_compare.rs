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
pub(crate) fn project() -> tempfile::TempDir {
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
pub(crate) fn history(dir: &Path) -> GitLedger {
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
    // Worse on f1: neutral, the regression named (a sample against the full
    // champion is shown, not judged).
    assert_eq!(report["conclusion"], "neutral");
    assert_eq!(
        report["title"],
        "against the champion (version 1): 1 better, 1 worse (f1 -0.02)"
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
        "against the latest on main: 1 better, 2 worse (f1 -0.03, log_loss +0.03)"
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

/// Writes the manifest with `extra` appended to the prod gate and commits it.
fn with_prod_gate(dir: &Path, extra: &str) {
    let path = dir.join("trainyard.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let gated = text.replace(
        "    require-tag: \"v*\"\n",
        &format!("    require-tag: \"v*\"\n{extra}"),
    );
    assert_ne!(gated, text);
    std::fs::write(&path, gated).unwrap();
    trainyard_testkit::git::init_and_commit_all(dir);
}

/// "0 better, 3 worse" once concluded success: worse than the champion is
/// neutral, each regression named in the title and as a warning.
#[test]
fn a_run_worse_than_the_champion_is_neutral_with_the_regression_named() {
    let project = project();
    history(project.path());
    let report = compare(project.path(), &["20261101T100000.000Z-aaaaaa"]);
    assert_eq!(report["conclusion"], "neutral");
    assert_eq!(
        report["title"],
        "against the champion (version 1): 0 better, 3 worse (accuracy -0.03, f1 -0.04, log_loss +0.06)"
    );
    assert_eq!(report["outputs"]["worse"], "accuracy,f1,log_loss");
    let warnings: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|finding| finding["severity"] == "warning" && finding["rule"] == "regression")
        .map(|finding| finding["message"].as_str().unwrap())
        .collect();
    assert_eq!(warnings.len(), 3, "{report:#}");
    // The same as JSON values for machines (issue 15, item 10).
    let f1 = &report["data"]["metrics"][1];
    assert_eq!(f1["metric"], "f1");
    assert_eq!(f1["value"], 0.88);
    assert_eq!(f1["reference"], 0.92);
    assert_eq!(f1["direction"], "maximize");
    assert_eq!(f1["verdict"], "worse");
    assert!((f1["delta"].as_f64().unwrap() + 0.04).abs() < 1e-9);
    assert_eq!(report["data"]["against"]["champion"], true);
    assert_eq!(
        report["data"]["against"]["run"],
        "20261102T100000.000Z-bbbbbb"
    );
    assert_eq!(
        warnings[1],
        "`f1` is worse than the champion (version 1): 0.88 against 0.92 (-0.04)"
    );

    // Better everywhere: success.
    let report = compare(project.path(), &["20261103T100000.000Z-cccccc"]);
    assert_eq!(report["conclusion"], "success");
    assert_eq!(
        report["title"],
        "against the champion (version 1): 3 better, 0 worse"
    );
}

/// A gate's non-regression rule makes a regression beyond its tolerance a
/// failure (exit 1); within the tolerance, or for a sample against the full
/// champion, it stays neutral.
#[test]
fn a_regression_a_non_regression_gate_would_refuse_fails() {
    let project = project();
    history(project.path());
    with_prod_gate(
        project.path(),
        "    non-regression: [{ metric: f1, tolerance: 0.01 }, { metric: accuracy, tolerance: 0.05 }]\n",
    );
    let report = run_json(
        trainyard()
            .current_dir(project.path())
            .args(["compare", "20261101T100000.000Z-aaaaaa"]),
        1,
    );
    assert_eq!(report["conclusion"], "failure");
    let title = report["title"].as_str().unwrap();
    assert!(
        title.ends_with(
            "(accuracy -0.03, f1 -0.04, log_loss +0.06); `f1` regressed by more than the prod gate's non-regression tolerance (0.01)"
        ),
        "{title}"
    );
    let errors: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|finding| finding["severity"] == "error")
        .collect();
    assert_eq!(
        errors.len(),
        1,
        "accuracy is within its tolerance: {report:#}"
    );
    assert_eq!(errors[0]["rule"], "non-regression");

    // The PR's sampled run is worse on f1 too, but a sample is not judged
    // against the full champion.
    let report = compare(project.path(), &["20261104T100000.000Z-dddddd"]);
    assert_eq!(report["conclusion"], "neutral", "{report:#}");
}

/// On the default branch, `--against base` once took a sampled run there
/// (`train --mode sample` on main) as the reference for a full run.
#[test]
fn base_is_the_base_branchs_latest_full_run_never_a_sample() {
    let project = project();
    let ledger = history(project.path());
    ledger
        .append_run(&record(
            "20261105T100000.000Z-eeeeee",
            'e',
            "main",
            RunMode::Sample,
            &[("accuracy", 0.99), ("f1", 0.99), ("log_loss", 0.01)],
        ))
        .unwrap();
    ledger
        .append_run(&record(
            "20261106T100000.000Z-ffffff",
            'f',
            "main",
            RunMode::Full,
            &[("accuracy", 0.96), ("f1", 0.94), ("log_loss", 0.11)],
        ))
        .unwrap();
    let report = compare(project.path(), &["--against", "base"]);
    assert_eq!(report["outputs"]["run-id"], "20261106T100000.000Z-ffffff");
    assert_eq!(
        report["outputs"]["against-run-id"],
        "20261103T100000.000Z-cccccc"
    );
    assert_eq!(report["conclusion"], "success");
    assert_eq!(
        report["title"],
        "against the latest on main: 3 better, 0 worse"
    );
}
