//! `data sample` and `train --mode sample` sample each format as itself
//! (issue 14): JSON Lines as lines, Parquet as Parquet; malformed input is
//! exit 2 naming the line, not an environment failure (exit 3).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot set up should stop loudly

use std::fmt::Write as _;
use std::path::Path;

use crate::common;

use common::{repo, trainyard, trainyard_json};
use trainyard_testkit::git::init_and_commit_all;

/// 40 JSON objects with a nested value and a comma in a string (what a CSV
/// reader mangles).
fn events_jsonl() -> String {
    let mut text = String::new();
    for i in 0..40 {
        let kind = if i % 4 == 0 { "click" } else { "view" };
        writeln!(
            text,
            "{{\"id\": {i}, \"kind\": \"{kind}\", \"note\": \"a, b\", \"tags\": [{i}, 2]}}"
        )
        .unwrap();
    }
    text
}

fn project(manifest_datasets: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("data/events.jsonl"), events_jsonl()).unwrap();
    std::fs::copy(
        repo().join("tests/fixtures/parquet/orders.parquet"),
        dir.path().join("data/orders.parquet"),
    )
    .unwrap();
    std::fs::write(dir.path().join("data/ragged.csv"), "a,b\n1,2\n3\n4,5\n").unwrap();
    std::fs::write(
        dir.path().join("trainyard.yaml"),
        format!("version: 1\nproject: {{ name: sampling }}\ndatasets:\n{manifest_datasets}"),
    )
    .unwrap();
    dir
}

const DATASETS: &str = "  events:
    path: data/events.jsonl
    label: kind
    sample: { rows: 12, seed: 3, stratify: true }
  orders:
    path: data/orders.parquet
    label: city
  ragged:
    path: data/ragged.csv
";

#[test]
fn json_lines_are_sampled_as_json_lines() {
    let dir = project(DATASETS);
    let (code, report) = trainyard_json(dir.path(), &["data", "sample", "events"]);
    assert_eq!(code, 0, "{report:#}");
    let path = report["outputs"]["path"].as_str().unwrap();
    assert!(path.ends_with(".trainyard/samples/events.jsonl"), "{path}");
    let sample = std::fs::read_to_string(dir.path().join(path)).unwrap();
    let input = events_jsonl();
    let lines: Vec<&str> = sample.lines().collect();
    assert_eq!(lines.len(), 12, "{sample}");
    // Every kept line is an input line, byte for byte, in input order.
    let all: Vec<&str> = input.lines().collect();
    let positions: Vec<usize> = lines
        .iter()
        .map(|line| all.iter().position(|l| l == line).expect(line))
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    // Stratified: a quarter are clicks, as in the input.
    assert_eq!(lines.iter().filter(|l| l.contains("click")).count(), 3);
}

#[test]
fn parquet_is_sampled_as_parquet_that_reads_back() {
    let dir = project(DATASETS);
    let (code, report) = trainyard_json(
        dir.path(),
        &["data", "sample", "orders", "--rows", "25", "--stratify"],
    );
    assert_eq!(code, 0, "{report:#}");
    let path = dir.path().join(report["outputs"]["path"].as_str().unwrap());
    let shown = path.display().to_string();
    assert!(
        shown.ends_with(".trainyard/samples/orders.parquet"),
        "{shown}"
    );
    assert!(std::fs::read(&path).unwrap().starts_with(b"PAR1"));
    // The same seed gives the same bytes.
    let first = std::fs::read(&path).unwrap();
    let (code, _) = trainyard_json(
        dir.path(),
        &["data", "sample", "orders", "--rows", "25", "--stratify"],
    );
    assert_eq!(code, 0);
    assert!(std::fs::read(&path).unwrap() == first);
    // trainyard reads the sample back: 25 rows, the same columns and types.
    std::fs::copy(&path, dir.path().join("data/sampled.parquet")).unwrap();
    let manifest = std::fs::read_to_string(dir.path().join("trainyard.yaml")).unwrap();
    std::fs::write(
        dir.path().join("trainyard.yaml"),
        format!(
            "{manifest}  sampled:\n    path: data/sampled.parquet\n    schema:\n      columns:\n        - {{ name: id, type: integer, nullable: false, unique: true }}\n        - {{ name: day, type: date }}\n        - {{ name: when, type: datetime }}\n        - {{ name: ok, type: boolean }}\n"
        ),
    )
    .unwrap();
    let (code, report) = trainyard_json(dir.path(), &["data", "validate", "sampled"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["outputs"]["rows-sampled"], "25");
    let summary = report["summary"].as_str().unwrap();
    assert!(summary.contains("| `day: type date` | pass |"), "{summary}");
}

#[test]
fn a_ragged_csv_is_bad_input_exit_2_at_its_line() {
    let dir = project(DATASETS);
    let output = trainyard()
        .current_dir(dir.path())
        .args(["data", "sample", "ragged", "--rows", "2"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("ragged.csv:3"), "{stderr}");
    assert!(
        stderr.contains("row has 1 fields, the header has 2"),
        "{stderr}"
    );
    assert!(!dir.path().join(".trainyard/samples/ragged.csv").exists());
}

#[test]
fn a_profile_that_is_not_utf8_is_bad_input_exit_2() {
    let dir = project(DATASETS);
    std::fs::write(dir.path().join("bad.json"), b"{\"format\": \"\xff\xfe\"}").unwrap();
    let output = trainyard()
        .current_dir(dir.path())
        .args([
            "data",
            "drift",
            "--reference",
            "bad.json",
            "--current",
            "orders",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not UTF-8"), "{stderr}");
}

#[test]
fn train_in_sample_mode_hands_the_command_json_lines() {
    let dir = project(
        "  events:\n    path: data/events.jsonl\n    sample: { rows: 5 }\ntrain:\n  command: [sh, -c, \"echo path=$TRAINYARD_DATASET_EVENTS_PATH; cat \\\"$TRAINYARD_DATASET_EVENTS_PATH\\\"\"]\n",
    );
    std::fs::write(dir.path().join(".gitignore"), ".trainyard/\n").unwrap();
    init_and_commit_all(dir.path());
    let assert = trainyard()
        .current_dir(dir.path())
        .args(["train", "--mode", "sample"])
        .assert()
        .code(0);
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout);
    let path = stdout
        .lines()
        .find_map(|line| line.strip_prefix("path="))
        .expect(&stdout);
    assert!(path.ends_with("/data/events.jsonl"), "{stdout}");
    let input = events_jsonl();
    let handed: Vec<&str> = stdout
        .lines()
        .filter(|line| line.starts_with('{'))
        .collect();
    assert_eq!(handed.len(), 5, "{stdout}");
    for line in handed {
        assert!(
            input.lines().any(|l| l == line),
            "{line} is not an input line"
        );
    }
    assert!(Path::new(&dir.path().join(path)).exists());
}
