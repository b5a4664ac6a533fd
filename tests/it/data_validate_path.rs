//! `trainyard data validate PATH --schema FILE`: a file, folder or glob checked
//! without a manifest against a trainyard, Frictionless or Great Expectations
//! schema, findings at file:line and JUnit as for a declared dataset.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot set up should stop loudly

use std::path::Path;

use crate::common;

use common::{run_json, trainyard};
use predicates::prelude::*;

/// Row 3 (line 4) has a negative age; the rest are fine.
const PEOPLE: &str = "id,age,team\n1,34,red\n2,-5,blue\n3,51,red\n";

const TRAINYARD_SCHEMA: &str = "columns:\n  - { name: id, type: integer, nullable: false, unique: true }\n  - { name: age, type: integer, min: 0, max: 120 }\n  - { name: team, type: categorical, enum: [red, blue] }\n";

const FRICTIONLESS_SCHEMA: &str = r#"{"fields": [
  {"name": "id", "type": "integer", "constraints": {"required": true}},
  {"name": "age", "type": "integer", "constraints": {"minimum": 0}},
  {"name": "team", "type": "string", "constraints": {"enum": ["red", "blue"]}}
]}"#;

const GX_SUITE: &str = r#"{"expectation_suite_name": "people", "expectations": [
  {"expectation_type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}},
  {"expectation_type": "expect_column_values_to_be_between", "kwargs": {"column": "age", "min_value": 0, "max_value": 120}}
]}"#;

fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

fn located(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .map(|findings| {
            findings
                .iter()
                .filter_map(|f| {
                    let location = f.get("location")?;
                    Some(format!(
                        "{}:{}",
                        location["file"].as_str()?,
                        location.get("line")?
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn validate(dir: &Path, args: &[&str], code: i32) -> serde_json::Value {
    run_json(
        trainyard()
            .current_dir(dir)
            .args(["data", "validate"])
            .args(args),
        code,
    )
}

#[test]
fn a_file_is_validated_against_each_kind_of_schema_without_a_manifest() {
    let dir = folder(&[
        ("people.csv", PEOPLE),
        ("schema.yaml", TRAINYARD_SCHEMA),
        ("table.json", FRICTIONLESS_SCHEMA),
        ("suite.json", GX_SUITE),
    ]);
    for schema in ["schema.yaml", "table.json", "suite.json"] {
        let report = validate(dir.path(), &["people.csv", "--schema", schema], 1);
        assert_eq!(
            report["outputs"]["rows-people"], "3",
            "{schema}: {report:#}"
        );
        assert_eq!(report["outputs"]["valid"], "0/1", "{schema}: {report:#}");
        assert_eq!(
            located(&report),
            ["people.csv:3"],
            "{schema}: the negative age, at its line: {report:#}"
        );
    }
    assert!(
        !dir.path().join(".trainyard").exists(),
        "nothing written without --profiles"
    );
    assert!(!dir.path().join("trainyard.lock").exists());

    // The valid rows alone pass; JUnit and the profile where the flags point.
    std::fs::write(
        dir.path().join("people.csv"),
        "id,age,team\n1,34,red\n3,51,red\n",
    )
    .unwrap();
    let report = validate(
        dir.path(),
        &[
            "people.csv",
            "--schema",
            "schema.yaml",
            "--junit",
            "out/junit.xml",
            "--profiles",
            "out/profiles",
        ],
        0,
    );
    assert_eq!(report["outputs"]["valid"], "1/1", "{report:#}");
    let junit = std::fs::read_to_string(dir.path().join("out/junit.xml")).unwrap();
    assert!(junit.contains("people"), "{junit}");
    assert!(dir.path().join("out/profiles/people.json").is_file());
}

#[test]
fn a_glob_of_partitions_is_one_dataset() {
    let dir = folder(&[
        ("parts/a.csv", "id,age,team\n1,34,red\n"),
        ("parts/b.csv", "id,age,team\n2,130,blue\n"),
        ("schema.yaml", TRAINYARD_SCHEMA),
    ]);
    let report = validate(dir.path(), &["parts/*.csv", "--schema", "schema.yaml"], 1);
    assert_eq!(report["outputs"]["rows-parts"], "2", "{report:#}");
    assert_eq!(located(&report), ["parts/b.csv:2"], "{report:#}");
}

#[test]
fn usage_errors_say_what_to_do_and_exit_2() {
    let dir = folder(&[
        ("people.csv", PEOPLE),
        ("broken.yaml", "columns: [ { name: id, type: integr } ]\n"),
    ]);
    let run = |args: &[&str]| {
        trainyard()
            .current_dir(dir.path())
            .args(["data", "validate"])
            .args(args)
            .assert()
            .code(2)
    };
    run(&["people.csv"]).stderr(predicate::str::contains(
        "no schema to validate `people.csv` against: pass `--schema FILE`",
    ));
    run(&["people.csv", "--schema", "missing.yaml"])
        .stderr(predicate::str::contains("`missing.yaml` is not a file"));
    run(&["people.csv", "--schema", "broken.yaml"]).stderr(predicate::str::contains("broken.yaml"));
    run(&["missing.csv", "--schema", "broken.yaml"]).stderr(predicate::str::contains(
        "`missing.csv` is neither a dataset declared in the manifest nor an existing file or folder",
    ));
}

#[test]
fn a_declared_dataset_wins_over_a_file_of_the_same_name() {
    // `people` is declared (pointing at good rows) and also a file holding bad ones.
    let dir = folder(&[
        ("people", PEOPLE),
        ("data/people.csv", "id,age,team\n1,34,red\n"),
        ("schema.yaml", TRAINYARD_SCHEMA),
        (
            "trainyard.yaml",
            "version: 1\nproject: { name: direct }\ndatasets:\n  people:\n    path: data/people.csv\n    schema-file: schema.yaml\n",
        ),
    ]);
    let report = validate(dir.path(), &["people"], 0);
    assert_eq!(report["outputs"]["rows-people"], "1", "{report:#}");
    trainyard()
        .current_dir(dir.path())
        .args(["data", "validate", "people", "--schema", "schema.yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--schema is for data paths"));
    // In a project, a name it does not declare is a path.
    let report = validate(
        dir.path(),
        &["data/people.csv", "--schema", "schema.yaml"],
        0,
    );
    assert_eq!(report["outputs"]["valid"], "1/1", "{report:#}");
}
