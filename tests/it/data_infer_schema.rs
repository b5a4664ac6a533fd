//! `trainyard data infer-schema`: a starting schema that validates the data it
//! came from, whether used as `schema-file:` or pasted under `schema:`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot set up should stop loudly

use crate::common;

use common::{example_project, run_json, trainyard};
use predicates::prelude::*;

#[test]
fn the_inferred_schema_validates_its_own_data_as_a_file_and_pasted() {
    let project = example_project();
    let dir = project.path();
    let report = run_json(
        trainyard().current_dir(dir).args([
            "data",
            "infer-schema",
            "biopsies",
            "-o",
            "biopsies.schema.yaml",
        ]),
        0,
    );
    assert_eq!(report["outputs"]["columns"], "31");
    let yaml = std::fs::read_to_string(dir.join("biopsies.schema.yaml")).unwrap();
    assert!(
        yaml.contains("- name: diagnosis\n  type: categorical\n"),
        "{yaml}"
    );
    assert!(
        yaml.contains(
            "- name: mean_radius\n  type: number\n  nullable: false\n  min: 6.981\n  max: 28.11\n"
        ),
        "{yaml}"
    );

    // As a schema file.
    std::fs::write(
        dir.join("trainyard.yaml"),
        "version: 1\nproject: { name: inferred }\ndatasets:\n  biopsies:\n    path: data/breast_cancer.csv\n    schema-file: biopsies.schema.yaml\n",
    )
    .unwrap();
    trainyard()
        .current_dir(dir)
        .args(["data", "validate"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("1 of 1 dataset(s) valid"));

    // Pasted under `schema:`.
    let indented: String = yaml.lines().fold(String::new(), |mut text, line| {
        text.push_str("      ");
        text.push_str(line);
        text.push('\n');
        text
    });
    std::fs::write(
        dir.join("trainyard.yaml"),
        format!("version: 1\nproject: {{ name: inferred }}\ndatasets:\n  biopsies:\n    path: data/breast_cancer.csv\n    schema:\n{indented}"),
    )
    .unwrap();
    trainyard()
        .current_dir(dir)
        .args(["config", "check"])
        .assert()
        .code(0);
    trainyard()
        .current_dir(dir)
        .args(["data", "validate"])
        .assert()
        .code(0);
}

#[test]
fn a_path_works_without_a_manifest_and_defaults_to_the_schemas_folder() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("events.csv"),
        "id,when,ok\n1,2024-01-02,true\n2,2024-02-03,false\n",
    )
    .unwrap();
    trainyard()
        .current_dir(dir.path())
        .args(["data", "infer-schema", "events.csv"])
        .assert()
        .code(0);
    let yaml = std::fs::read_to_string(dir.path().join(".trainyard/schemas/events.yaml")).unwrap();
    assert!(yaml.contains("- name: when\n  type: date\n"), "{yaml}");
    assert!(yaml.contains("- name: ok\n  type: boolean\n"), "{yaml}");
    trainyard()
        .current_dir(dir.path())
        .args(["data", "infer-schema", "missing.csv"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`missing.csv` is neither a dataset declared in the manifest nor an existing file",
        ));
}
