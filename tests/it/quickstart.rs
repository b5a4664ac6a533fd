//! `trainyard quickstart`: one command that shows the product.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot set up should stop loudly

use crate::common;

use common::trainyard;
use predicates::prelude::*;

#[test]
fn quickstart_sets_up_the_example_and_runs_every_step() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("demo");
    let assert = trainyard().arg("quickstart").arg(&dir).assert().code(0);
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout);
    assert!(stdout.contains("config check"), "{stdout}");
    // A short screen, not ~670 lines of GitHub Markdown (issue 15, item 13):
    // a line per phase and the findings of the broken copies.
    assert!(stdout.lines().count() < 80, "{stdout}");
    for raw in ["<details", "```", "mermaid", "|---"] {
        assert!(!stdout.contains(raw), "{raw:?} in\n{stdout}");
    }
    for file in [
        "trainyard.yaml",
        "train.py",
        "data/breast_cancer.csv",
        "data/README.md",
    ] {
        assert!(dir.join(file).is_file(), "{file} was not copied");
    }
    assert_eq!(
        std::fs::read(dir.join("data/breast_cancer.csv")).unwrap(),
        std::fs::read(common::repo().join("examples/breast-cancer/data/breast_cancer.csv"))
            .unwrap()
    );
}

#[test]
fn quickstart_without_a_folder_makes_a_new_one_and_says_where() {
    let assert = trainyard()
        .args(["quickstart", "--format", "json"])
        .assert()
        .code(0);
    let report: serde_json::Value = serde_json::from_slice(&assert.get_output().stdout).unwrap();
    let dir = std::path::PathBuf::from(report["outputs"]["dir"].as_str().unwrap());
    assert!(dir.join("trainyard.yaml").is_file());
    assert_eq!(report["children"][0]["step"], "config check");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn quickstart_never_overwrites_a_folder_with_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("precious.txt"), "mine").unwrap();
    trainyard()
        .arg("quickstart")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not empty"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("precious.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn quickstart_validates_the_data_and_shows_a_broken_copys_findings() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("demo");
    let assert = trainyard()
        .args(["quickstart", "--format", "json"])
        .arg(&dir)
        .assert()
        .code(0);
    let report: serde_json::Value = serde_json::from_slice(&assert.get_output().stdout).unwrap();
    let steps: Vec<&str> = report["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|child| child["step"].as_str().unwrap())
        .collect();
    // Later phases (gates, promotion) follow; these come first, in this order.
    assert_eq!(
        steps[..9],
        [
            "config check",
            "data validate",
            "data validate",
            "data fingerprint",
            "data sample",
            "train",
            "compare",
            "train",
            "runs list"
        ]
    );
    // A sampled training as on a pull request, then a full one as after the merge.
    assert_eq!(report["children"][5]["outputs"]["mode"], "sample");
    assert_eq!(report["children"][7]["outputs"]["mode"], "full");
    assert_eq!(report["children"][7]["outputs"]["model-version"], "1");
    assert_eq!(report["children"][1]["conclusion"], "success");
    let broken = &report["children"][2];
    let located: Vec<String> = broken["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|finding| {
            let location = finding.get("location")?;
            Some(format!(
                "{}:{} {}",
                location["line"].as_u64()?,
                finding["rule"].as_str()?,
                finding["message"]
            ))
        })
        .collect();
    assert!(
        located.iter().any(|f| f.starts_with("4:check/min")),
        "{located:?}"
    );
    assert!(
        located
            .iter()
            .any(|f| f.starts_with("11:check/enum") && f.contains("malignent")),
        "{located:?}"
    );
    assert!(
        located.iter().any(|f| f.starts_with("21:read/ragged-row")),
        "{located:?}"
    );
    assert!(dir.join("trainyard.lock").is_file());
    assert!(dir.join(".trainyard/samples/biopsies.csv").is_file());
}

#[test]
fn fingerprint_check_fails_when_data_changes_without_the_lock() {
    let project = common::example_project();
    trainyard()
        .current_dir(project.path())
        .args(["data", "fingerprint"])
        .assert()
        .code(0);
    trainyard()
        .current_dir(project.path())
        .args(["data", "fingerprint", "--check"])
        .assert()
        .code(0);
    let data = project.path().join("data/breast_cancer.csv");
    let mut text = std::fs::read_to_string(&data).unwrap();
    text = text.replacen("17.99", "17.98", 1);
    std::fs::write(&data, text).unwrap();
    trainyard()
        .current_dir(project.path())
        .args(["data", "fingerprint", "--check"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("dataset `biopsies` is changed"));
}

#[test]
fn data_validate_writes_junit_and_fails_on_bad_rows() {
    let project = common::example_project();
    let data = project.path().join("data/breast_cancer.csv");
    let text = std::fs::read_to_string(&data)
        .unwrap()
        .replacen(",malignant\n", ",malignent\n", 1);
    std::fs::write(&data, text).unwrap();
    trainyard()
        .current_dir(project.path())
        .args(["data", "validate", "--junit", "reports/data.xml"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("data/breast_cancer.csv:2:31"));
    let junit = std::fs::read_to_string(project.path().join("reports/data.xml")).unwrap();
    assert!(junit.contains("<testsuite"), "{junit}");
    assert!(junit.contains("<failure"), "{junit}");
}
