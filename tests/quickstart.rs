//! `trainyard quickstart`: one command that shows the product.

mod common;

use common::trainyard;
use predicates::prelude::*;

#[test]
fn quickstart_sets_up_the_example_and_runs_every_step() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("demo");
    let assert = trainyard().arg("quickstart").arg(&dir).assert().code(0);
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout);
    assert!(stdout.contains("config check"), "{stdout}");
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
