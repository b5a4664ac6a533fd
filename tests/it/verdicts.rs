//! Verdicts that read right (issue 15, item 5): `report` never calls a
//! neutral or failed step passed, and `status` never says a version waits at
//! a gate it has gone past. (`compare`'s verdicts are in `train_compare`.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::gate_fixture::Repo;
use common::{run_json, trainyard};

const GATES: &str =
    "  staging:\n    metrics: [\"accuracy >= 0.9\"]\n  prod:\n    metrics: [\"accuracy >= 0.9\"]\n";

/// Kept reports as the steps of one job leave them, then `report` over them.
fn report_over(kept: &[(&str, &str, &str)]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    for (index, (step, conclusion, title)) in kept.iter().enumerate() {
        let report = serde_json::json!({ "step": step, "conclusion": conclusion, "title": title });
        std::fs::write(
            dir.path().join(format!("{index:03}.json")),
            report.to_string(),
        )
        .unwrap();
    }
    run_json(
        trainyard()
            .current_dir(dir.path())
            .args(["report", "--reports-dir"])
            .arg(dir.path()),
        0,
    )
}

/// `compare` concluded neutral ("0 better, 2 worse") and `report` once
/// summarised the job as "all passed".
#[test]
fn report_never_calls_a_neutral_or_failed_step_passed() {
    let report = report_over(&[
        ("data validate", "success", "1 dataset valid"),
        (
            "compare",
            "neutral",
            "against the champion (version 1): 0 better, 2 worse (f1 -0.02, log_loss +0.01)",
        ),
        ("gate", "success", "staging: would pass"),
    ]);
    assert_eq!(
        report["title"],
        "3 steps reported: 1 neutral (compare), 2 passed"
    );
    assert_eq!(report["outputs"]["verdict"], "neutral");
    let summary = report["summary"].as_str().unwrap();
    assert!(summary.starts_with("## ⚪ trainyard · "), "{summary}");
    assert!(!summary.contains("all passed"), "{summary}");

    let report = report_over(&[
        (
            "compare",
            "neutral",
            "against the champion: 0 better, 1 worse",
        ),
        ("gate", "failure", "prod: refused"),
        ("train", "success", "run succeeded"),
    ]);
    assert_eq!(
        report["title"],
        "3 steps reported: 1 failed (gate), 1 neutral (compare), 1 passed"
    );
    assert_eq!(report["outputs"]["verdict"], "failure");

    let report = report_over(&[("train", "success", "run succeeded")]);
    assert_eq!(report["title"], "1 step reported: all passed");
}

/// v2 went to prod while staging was rolled back to v1: status once said
/// "v2 waits at the staging gate" (and "v1 waits at the prod gate").
#[test]
fn status_says_nothing_waits_for_a_version_already_further_along() {
    let repo = Repo::new(GATES);
    repo.train(&[("accuracy", 0.95)], 100, &[]);
    let promote = |env: &str| {
        let (report, code) = repo.trainyard(&["promote", "--env", env, "--direct"]);
        assert_eq!(code, 0, "{report:#}");
    };
    promote("staging");
    repo.train(&[("accuracy", 0.96)], 100, &[]);
    promote("staging");
    promote("prod");
    let (report, code) = repo.trainyard(&[
        "rollback",
        "--env",
        "staging",
        "--reason",
        "staging data broke",
        "--direct",
    ]);
    assert_eq!(code, 0, "{report:#}");

    let (report, code) = repo.trainyard(&["status"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["title"], "staging: v1, prod: v2", "{report:#}");
    for environment in report["data"].as_array().unwrap() {
        assert_eq!(environment["waiting"], serde_json::json!([]), "{report:#}");
        assert_eq!(environment["gate"], serde_json::Value::Null, "{report:#}");
    }

    // A newer version still waits where it has not been.
    repo.train(&[("accuracy", 0.97)], 100, &[]);
    let (report, _) = repo.trainyard(&["status"]);
    assert_eq!(
        report["title"], "staging: v1 (v3 waits at the staging gate), prod: v2",
        "{report:#}"
    );
}

/// `--format json` of `data validate` and `data drift` carries per-check and
/// per-column results as JSON values (issue 15, item 10), not only Markdown.
#[test]
fn json_reports_carry_per_check_and_per_column_results_as_values() {
    let project = common::example_project();
    let report = run_json(
        trainyard()
            .current_dir(project.path())
            .args(["data", "validate"]),
        0,
    );
    let dataset = &report["data"]["datasets"][0];
    assert_eq!(dataset["dataset"], "biopsies");
    assert!(dataset["rows"].as_u64().unwrap() >= 500, "{dataset:#}");
    let checks = dataset["checks"].as_array().unwrap();
    assert!(checks.len() > 5, "{dataset:#}");
    let radius_max = checks
        .iter()
        .find(|check| check["column"] == "mean_radius" && check["rule"] == "check/max")
        .unwrap_or_else(|| panic!("{dataset:#}"));
    assert_eq!(radius_max["passed"], true);
    assert_eq!(radius_max["failed"], 0);

    let report = run_json(
        trainyard().current_dir(project.path()).args([
            "data",
            "drift",
            "--reference",
            "biopsies",
            "--current",
            "biopsies",
        ]),
        0,
    );
    let columns = report["data"]["columns"].as_array().unwrap();
    let radius = columns
        .iter()
        .find(|column| column["column"] == "mean_radius")
        .unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(radius["drifted"], false);
    assert!(radius["statistic"].is_number(), "{radius:#}");
    assert!(radius["threshold"].is_number(), "{radius:#}");
    assert_eq!(report["data"]["dataset_drift"], false);
}
