//! Parquet through `data validate`: findings at the row number, values as the
//! checks read them, and malformed files as findings, never crashes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot set up should stop loudly

use crate::common;

use common::{repo, trainyard_json};

fn project(files: &[&str], schema: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    for file in files {
        std::fs::copy(
            repo().join("tests/fixtures/parquet").join(file),
            dir.path().join("data").join(file),
        )
        .unwrap();
    }
    std::fs::write(
        dir.path().join("trainyard.yaml"),
        format!("version: 1\nproject: {{ name: pq }}\ndatasets:\n  orders:\n    path: data\n    schema:\n{schema}"),
    )
    .unwrap();
    dir
}

const SCHEMA: &str = "      rows: { min: 300, max: 300 }
      columns:
        - { name: id, type: integer, nullable: false, unique: true }
        - { name: amount, type: number, min: 0 }
        - { name: city, type: categorical, enum: [paris, lyon] }
        - { name: day, type: date, min: '2024-01-02', max: '2024-10-27' }
        - { name: when, type: datetime }
        - { name: ok, type: boolean }
";

#[test]
fn parquet_rows_are_checked_and_findings_name_the_row() {
    let dir = project(&["orders.parquet"], SCHEMA);
    let (code, report) = trainyard_json(dir.path(), &["data", "validate"]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["outputs"]["rows-orders"], "300");
    let located: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| {
            let location = f.get("location")?;
            Some(format!(
                "{}:{} {}",
                location["file"].as_str()?,
                location.get("line")?,
                f["message"].as_str()?
            ))
        })
        .collect();
    assert!(
        located.contains(&"data/orders.parquet:121 `amount: >= 0`: value `-3`".to_owned()),
        "{located:#?}"
    );
    assert!(
        located.contains(
            &"data/orders.parquet:201 `city: in {paris, lyon}`: value `berlin`".to_owned()
        ),
        "{located:#?}"
    );
    // Everything else passes: types (dates, timestamps, booleans), nulls, the row count.
    assert_eq!(located.len(), 2, "{located:#?}");
    let summary = report["summary"].as_str().unwrap();
    assert!(summary.contains("| `day: type date` | pass |"), "{summary}");
    assert!(
        summary.contains("| `when: type datetime` | pass |"),
        "{summary}"
    );

    // The profile is the same pass's.
    let profile: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join(".trainyard/profiles/orders.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(profile["rows"], 300);
    assert_eq!(profile["columns"][1]["nulls"], 6);
}

#[test]
fn shards_split_parquet_by_row_group() {
    let dir = project(&["orders.parquet"], "      columns: []\n");
    let mut rows = Vec::new();
    for shard in ["1/2", "2/2"] {
        let (code, report) = trainyard_json(dir.path(), &["data", "validate", "--shard", shard]);
        assert_eq!(code, 0, "{report:#}");
        rows.push(
            report["outputs"]["rows-orders"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // Three row groups of 100: groups 1 and 3, then group 2.
    assert_eq!(rows, ["200", "100"]);
}

#[test]
fn malformed_parquet_files_are_findings_not_crashes() {
    let dir = project(
        &[
            "truncated.parquet",
            "not-parquet.parquet",
            "corrupt-page.parquet",
        ],
        "      columns: []\n",
    );
    let (code, report) = trainyard_json(dir.path(), &["data", "validate"]);
    assert_eq!(code, 1, "{report:#}");
    let findings: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "read/bad-parquet")
        .map(|f| {
            (
                f["location"]["file"].as_str().unwrap().to_owned(),
                f["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let files: Vec<&str> = findings.iter().map(|(file, _)| file.as_str()).collect();
    assert!(files.contains(&"data/truncated.parquet"), "{findings:#?}");
    assert!(files.contains(&"data/not-parquet.parquet"), "{findings:#?}");
    assert!(
        files.contains(&"data/corrupt-page.parquet"),
        "{findings:#?}"
    );
    let not_parquet = findings
        .iter()
        .find(|(file, _)| file == "data/not-parquet.parquet")
        .unwrap();
    assert!(
        not_parquet.1.contains("not a readable Parquet file"),
        "{findings:#?}"
    );
}
