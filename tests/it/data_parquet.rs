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

/// The same table as a CSV and as Parquet from pyarrow (INT64 timestamps,
/// INT96 timestamps, FIXED_LEN_BYTE_ARRAY decimals) and DuckDB (INT64
/// decimals), written at run time by `tests/fixtures/parquet/twins.py`.
const TWIN_SCHEMA: &str = "      columns:
        - { name: id, type: integer, nullable: false, unique: true, min: 1, max: 12 }
        - { name: signup_date, type: date, min: '2024-01-01', max: '2024-12-31' }
        - { name: ts_ms, type: datetime }
        - { name: ts_us, type: datetime }
        - { name: ts_ns, type: datetime }
        - { name: ts_ms_utc, type: datetime }
        - { name: ts_us_utc, type: datetime }
        - { name: ts_ns_utc, type: datetime }
        - { name: amount, type: number, min: -3.5, max: 69 }
        - { name: active, type: boolean }
        - { name: plan, type: categorical, enum: [free, pro, team] }
";

/// Validates `folder` (one of twins.py's) with [`TWIN_SCHEMA`]: the exit code,
/// the findings' messages (sorted) and the profile.
fn validate_twin(twins: &std::path::Path, folder: &str) -> (i32, Vec<String>, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::rename(twins.join(folder), dir.path().join("data")).unwrap();
    std::fs::write(
        dir.path().join("trainyard.yaml"),
        format!("version: 1\nproject: {{ name: pq }}\ndatasets:\n  orders:\n    path: data\n    schema:\n{TWIN_SCHEMA}"),
    )
    .unwrap();
    let (code, report) = trainyard_json(dir.path(), &["data", "validate"]);
    let mut messages: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap().to_owned())
        .collect();
    messages.sort();
    let profile = serde_json::from_slice(
        &std::fs::read(dir.path().join(".trainyard/profiles/orders.json")).unwrap(),
    )
    .unwrap();
    (code, messages, profile)
}

#[test]
fn parquet_from_pyarrow_and_duckdb_validates_and_profiles_like_its_csv_twin() {
    let twins = tempfile::tempdir().unwrap();
    let python = repo().join(".venv/bin/python");
    let output = std::process::Command::new(&python)
        .arg(repo().join("tests/fixtures/parquet/twins.py"))
        .arg(twins.path())
        .output()
        .expect(".venv/bin/python is missing: run `.ci/test` (it installs pyarrow and duckdb)");
    assert!(
        output.status.success(),
        "twins.py failed (pyarrow and duckdb come from tests/support/requirements.txt): {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let (csv_code, csv_findings, csv_profile) = validate_twin(twins.path(), "csv");
    // The CSV passes every check but the date bound, which row 7 fails.
    assert_eq!(csv_code, 1, "{csv_findings:#?}");
    assert_eq!(
        csv_findings,
        [
            "`signup_date: >= 2024-01-01`: value `1999-12-31`",
            "dataset `orders`: check `signup_date: >= 2024-01-01` failed: 1 of 10 failed (10.00%)",
        ],
    );
    let timestamps = [
        "ts_ms",
        "ts_us",
        "ts_ns",
        "ts_ms_utc",
        "ts_us_utc",
        "ts_ns_utc",
    ];
    for writer in ["pyarrow", "int96", "duckdb"] {
        let (code, findings, profile) = validate_twin(twins.path(), writer);
        assert_eq!(
            (code, &findings),
            (csv_code, &csv_findings),
            "{writer}: the same findings as the CSV"
        );
        assert_eq!(profile["rows"], csv_profile["rows"], "{writer}");
        for (column, twin) in profile["columns"]
            .as_array()
            .unwrap()
            .iter()
            .zip(csv_profile["columns"].as_array().unwrap())
        {
            let name = twin["name"].as_str().unwrap();
            // A timestamp's text differs from the CSV's (`T`, digits of the
            // unit, `Z`), not what is counted of it.
            let mut keys = vec![
                "name",
                "count",
                "nulls",
                "numbers",
                "texts",
                "booleans",
                "non_finite",
                "min",
                "max",
                "mean",
                "std",
                "distinct",
            ];
            if !timestamps.contains(&name) {
                keys.extend(["values", "text_length"]);
            }
            for key in keys {
                assert_eq!(column[key], twin[key], "{writer}: `{name}`'s {key}");
            }
        }
    }
}
