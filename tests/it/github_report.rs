//! `trainyard report`: the steps of one job keep their Reports, and report
//! gathers them into the pull request comment's markdown. Real steps on the
//! example project in a real git repository (the ledger lives there).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::path::Path;

use serde_json::Value;

struct Project {
    dir: tempfile::TempDir,
    reports: tempfile::TempDir,
}

impl Project {
    fn new() -> Self {
        let dir = common::example_project();
        trainyard_testkit::git::init_and_commit_all(dir.path());
        Self {
            dir,
            reports: tempfile::tempdir().unwrap(),
        }
    }

    fn run(&self, args: &[&str]) -> (i32, Value) {
        let output = common::trainyard()
            .current_dir(self.dir.path())
            .args(["--format", "json"])
            .args(args)
            .env("TRAINYARD_REPORTS_DIR", self.reports.path())
            .output()
            .unwrap();
        (
            output.status.code().unwrap(),
            common::json_document(&output, &format!("{args:?}")),
        )
    }

    fn report(&self) -> (Value, String) {
        let (code, json) = self.run(&["report"]);
        assert_eq!(code, 0, "{json:#}");
        let summary = json["summary"].as_str().unwrap().to_owned();
        (json, summary)
    }

    fn path(&self, relative: &str) -> std::path::PathBuf {
        self.dir.path().join(relative)
    }
}

fn section<'a>(markdown: &'a str, heading: &str) -> &'a str {
    let start = markdown
        .find(heading)
        .unwrap_or_else(|| panic!("no `{heading}` in:\n{markdown}"));
    let rest = &markdown[start + heading.len()..];
    let end = rest.find("\n### ").unwrap_or(rest.len());
    &rest[..end]
}

#[test]
fn a_pull_request_job_becomes_one_report_with_metrics_charts_and_the_gate() {
    let project = Project::new();
    // main's history: two full runs, the first the champion.
    assert_eq!(project.run(&["train", "--mode", "full"]).0, 0);
    assert_eq!(
        project
            .run(&[
                "model",
                "alias",
                "--reason",
                "first release",
                "breast-cancer-classifier",
                "1",
                "champion"
            ])
            .0,
        0
    );
    assert_eq!(project.run(&["train", "--mode", "full"]).0, 0);
    // Through dev, the environment before staging (the promotion order).
    assert_eq!(
        project
            .run(&["promote", "--env", "dev", "--direct", "--no-push"])
            .0,
        0
    );
    // Kept reports are per job: only this job's steps from here on.
    std::fs::remove_dir_all(project.reports.path()).unwrap();

    assert_eq!(project.run(&["data", "validate"]).0, 0);
    assert_eq!(project.run(&["train", "--mode", "sample"]).0, 0);
    assert_eq!(project.run(&["compare"]).0, 0);
    assert_eq!(project.run(&["gate", "--env", "staging"]).0, 0);
    let (json, markdown) = project.report();

    // The sampled run is worse than the champion on a metric: compare is
    // neutral, and the report says so rather than "all passed".
    assert_eq!(json["outputs"]["verdict"], "neutral");
    assert_eq!(json["outputs"]["reports"], "4");
    assert_eq!(json["outputs"]["project"], "breast-cancer");
    assert!(
        markdown.starts_with("## ⚪ trainyard · breast-cancer: 1 neutral (compare), 3 passed\n"),
        "{markdown}"
    );
    for step in ["data validate", "train", "gate"] {
        assert!(
            markdown.contains(&format!("| ✅ | {step} |")),
            "{step}:\n{markdown}"
        );
    }
    assert!(markdown.contains("| ⚪ | compare |"), "{markdown}");
    let metrics = section(&markdown, "### Metrics vs champion");
    assert!(metrics.contains("| accuracy |"), "{metrics}");
    assert!(metrics.contains("champion (version 1)"), "{metrics}");
    assert!(markdown.contains("```mermaid\nxychart-beta"), "{markdown}");
    assert!(markdown.contains("Gate `staging`"), "{markdown}");
    assert!(
        markdown.contains("| ✅ | metric | accuracy |"),
        "{markdown}"
    );
    assert!(
        !markdown.contains("### Data findings"),
        "valid data: no findings"
    );
    common::assert_mermaid_xycharts_parse(&markdown);
}

#[test]
fn without_compare_the_metrics_and_chart_come_from_the_ledger_and_data_findings_are_listed() {
    let project = Project::new();
    assert_eq!(project.run(&["train", "--mode", "full"]).0, 0);
    project.run(&[
        "model",
        "alias",
        "--reason",
        "r",
        "breast-cancer-classifier",
        "1",
        "champion",
    ]);
    assert_eq!(project.run(&["train", "--mode", "full"]).0, 0);
    std::fs::remove_dir_all(project.reports.path()).unwrap();

    // A row out of range: mean_radius must be <= 50.
    let data = project.path("data/breast_cancer.csv");
    let text = std::fs::read_to_string(&data).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let column = header.iter().position(|h| *h == "mean_radius").unwrap();
    let mut cells: Vec<String> = lines[3].split(',').map(str::to_owned).collect();
    cells[column] = "80".to_owned();
    lines[3] = cells.join(",");
    std::fs::write(&data, lines.join("\n") + "\n").unwrap();

    assert_eq!(project.run(&["data", "validate"]).0, 1);
    // Trained with the data edit uncommitted: recorded, a local experiment, not registered.
    assert_eq!(project.run(&["train", "--mode", "full"]).0, 0);
    let (json, markdown) = project.report();

    assert_eq!(json["outputs"]["verdict"], "failure");
    assert!(
        markdown
            .starts_with("## ❌ trainyard · breast-cancer: 1 failed (data validate), 1 passed\n"),
        "{markdown}"
    );
    let metrics = section(&markdown, "### Metrics vs champion");
    assert!(
        metrics.contains("| Metric | This run | Champion (v1) | Change |"),
        "{metrics}"
    );
    assert!(metrics.contains("| accuracy ↑ |"), "{metrics}");
    assert!(metrics.contains("| log_loss ↓ |"), "{metrics}");
    let chart = section(&markdown, "### accuracy over the last 3 runs");
    assert!(chart.contains("xychart-beta"), "{chart}");
    assert!(chart.contains("line ["), "{chart}");
    let findings = section(&markdown, "### Data findings");
    assert!(findings.contains("data/breast_cancer.csv:4"), "{findings}");
    assert!(findings.contains("❌"), "{findings}");
    common::assert_mermaid_xycharts_parse(&markdown);
    // The whole comment as a reviewer sees it (seeded training: stable numbers).
    insta::assert_snapshot!("report_from_the_ledger", markdown);
}

#[test]
fn no_kept_reports_is_a_neutral_report_saying_what_to_do() {
    let project = Project::new();
    let (json, markdown) = project.report();
    assert_eq!(json["conclusion"], "neutral");
    assert_eq!(json["outputs"]["verdict"], "none");
    assert!(
        markdown.contains("run `trainyard report` after the other steps, in the same job"),
        "{markdown}"
    );
}

#[test]
fn outside_ci_without_a_folder_is_a_usage_error_naming_the_fix() {
    let project = Project::new();
    let output = common::trainyard()
        .current_dir(project.dir.path())
        .arg("report")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("TRAINYARD_REPORTS_DIR"), "{stderr}");
    assert!(!Path::new(&project.path(".trainyard/reports")).exists());
}
