//! `trainyard data drift`: the verdict per column and for the dataset, the test
//! chosen by type and size as Evidently does, thresholds from the manifest, the
//! `drifted` outputs a scheduled pipeline dispatches retraining on.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot set up should stop loudly

use crate::common;

use std::fmt::Write as _;
use std::path::Path;

use common::{repo, trainyard, trainyard_json};
use predicates::prelude::*;

const POLICY: &str = "    drift:\n      columns:\n        worst_area: { test: psi, threshold: 0.5 }\n        diagnosis: { ignore: true }\n";

/// The example's 569 biopsies: the first 300 are the reference, the rest current.
fn biopsies(policy: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let text =
        std::fs::read_to_string(repo().join("examples/breast-cancer/data/breast_cancer.csv"))
            .unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let write = |name: &str, rows: &[&str]| {
        let mut body = format!("{}\n", lines[0]);
        for row in rows {
            body.push_str(row);
            body.push('\n');
        }
        std::fs::write(dir.path().join(name), body).unwrap();
    };
    write("reference.csv", &lines[1..301]);
    write("current.csv", &lines[301..]);
    std::fs::write(
        dir.path().join("trainyard.yaml"),
        format!(
            "version: 1\nproject: {{ name: drift }}\ndatasets:\n  reference: {{ path: reference.csv }}\n  current:\n    path: current.csv\n{policy}"
        ),
    )
    .unwrap();
    dir
}

/// The arguments of `data drift --reference <reference> --current <current> <extra>`.
fn drift_args<'a>(reference: &'a str, current: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "data",
        "drift",
        "--reference",
        reference,
        "--current",
        current,
    ];
    args.extend_from_slice(extra);
    args
}

/// `data drift --reference <reference> --current <current> <extra>`: exit code and report.
fn drift(dir: &Path, reference: &str, current: &str, extra: &[&str]) -> (i32, serde_json::Value) {
    trainyard_json(dir, &drift_args(reference, current, extra))
}

/// `data drift --reference <reference> --current <current> <extra>` is a
/// usage error (exit 2) saying `message`.
fn drift_refused(dir: &Path, reference: &str, current: &str, extra: &[&str], message: &str) {
    trainyard()
        .current_dir(dir)
        .args(drift_args(reference, current, extra))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(message));
}

/// The rows of the summary table (without its header), one string per row.
fn table(report: &serde_json::Value) -> Vec<String> {
    report["summary"]
        .as_str()
        .unwrap()
        .lines()
        .filter(|line| line.starts_with("| ") && !line.starts_with("| column"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn small_datasets_use_ks_whose_p_values_agree_with_scipy() {
    let dir = biopsies(POLICY);
    let (code, report) = drift(dir.path(), "reference", "current", &[]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["outputs"]["drifted"], "true");
    assert_eq!(report["outputs"]["drifted-columns"], "19");
    let rows = table(&report);
    // 31 columns less the ignored label.
    assert_eq!(rows.len(), 30);
    // scipy.stats.ks_2samp(reference, current).pvalue on the same rows:
    // mean_radius 0.019453286588253946, mean_texture 0.4756628202606444.
    assert!(rows.contains(&"| mean_radius | K-S p-value | 0.019453 | 0.05 | yes |".to_owned()));
    assert!(rows.contains(&"| mean_texture | K-S p-value | 0.475663 | 0.05 | no |".to_owned()));
    // The manifest's per-column test and threshold.
    assert!(rows.contains(&"| worst_area | PSI | 0.187424 | 0.5 | no |".to_owned()));
    assert!(!rows.iter().any(|row| row.contains("diagnosis")));
    let findings = report["findings"].as_array().unwrap();
    let last = findings.last().unwrap();
    assert_eq!(last["rule"], "drift/dataset");
    assert_eq!(last["severity"], "error");
    assert!(
        last["message"]
            .as_str()
            .unwrap()
            .contains("19 of 30 columns (63%, the limit is 50%)")
    );
}

#[test]
fn a_dataset_against_itself_does_not_drift() {
    let dir = biopsies("");
    let (code, report) = drift(dir.path(), "reference", "reference.csv", &[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["outputs"]["drifted"], "false");
    assert_eq!(report["outputs"]["drifted-columns"], "0");
    assert!(report.get("findings").is_none());
    // Both raw and as a label with two values (z-test on small data).
    assert!(
        table(&report)
            .contains(&"| diagnosis | Z-test p-value | 1.000000 | 0.05 | no |".to_owned())
    );
}

#[test]
fn saved_profiles_give_the_verdict_the_datasets_give() {
    let dir = biopsies(POLICY);
    let (_, from_data) = drift(dir.path(), "reference", "current", &[]);
    let (code, _) = trainyard_json(dir.path(), &["data", "validate"]);
    assert_eq!(code, 0);
    // The profiles remember their dataset, so the manifest's policy still applies.
    let (code, from_profiles) = drift(
        dir.path(),
        ".trainyard/profiles/reference.json",
        ".trainyard/profiles/current.json",
        &[],
    );
    assert_eq!(code, 1);
    assert_eq!(table(&from_profiles), table(&from_data));
    assert_eq!(from_profiles["outputs"], from_data["outputs"]);
}

/// `rows` rows of a numeric and a categorical column; `shift` moves the numbers.
fn large_csv(rows: u64, seed: u64, shift: f64) -> String {
    let mut state = seed;
    let mut text = String::from("amount,channel\n");
    for _ in 0..rows {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        #[allow(clippy::cast_precision_loss)]
        let unit = (state >> 11) as f64 / (1u64 << 53) as f64;
        let channel = ["web", "store", "phone"][(state >> 40) as usize % 3];
        let _ = writeln!(text, "{:.4},{channel}", unit * 100.0 + shift);
    }
    text
}

#[test]
fn large_data_uses_wasserstein_and_jensen_shannon_and_flags_override_them() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("reference.csv"), large_csv(5000, 1, 0.0)).unwrap();
    std::fs::write(dir.path().join("current.csv"), large_csv(4000, 2, 30.0)).unwrap();
    // No manifest: two paths need none.
    let (code, report) = drift(dir.path(), "reference.csv", "current.csv", &[]);
    assert_eq!(code, 1, "{report:#}");
    let rows = table(&report);
    assert!(
        rows[0].starts_with("| amount | Wasserstein distance (normed) | "),
        "{rows:?}"
    );
    assert!(rows[0].ends_with("| 0.1 | yes |"), "{rows:?}");
    assert!(
        rows[1].starts_with("| channel | Jensen-Shannon distance | "),
        "{rows:?}"
    );
    assert!(rows[1].ends_with("| 0.1 | no |"), "{rows:?}");
    assert_eq!(report["outputs"]["drifted-columns"], "1");

    let (code, report) = drift(
        dir.path(),
        "reference.csv",
        "current.csv",
        &["--test", "psi", "--threshold", "5", "--drift-share", "0.6"],
    );
    assert_eq!(code, 0, "{report:#}");
    assert!(table(&report).iter().all(|row| row.contains("| PSI | ")));
    assert_eq!(report["outputs"]["drifted"], "false");
}

#[test]
fn unknown_sides_and_tests_are_usage_errors() {
    let dir = biopsies("");
    drift_refused(
        dir.path(),
        "refrence",
        "current",
        &[],
        "--reference `refrence` is neither a declared dataset (current, reference) nor an existing file",
    );
    drift_refused(
        dir.path(),
        "reference",
        "current",
        &["--test", "t-test"],
        "--test `t-test` is not one of ks, wasserstein",
    );
}

/// The example's biopsies (UCI Breast Cancer Wisconsin, as in scikit-learn;
/// CC BY 4.0) with the columns real tables carry next to the measurements: a
/// patient id, a visit date and a free-text note, each one per row. The rows
/// repeat `copies` times (with their own ids) to pass the profile's 1000
/// distinct values; the first `reference_rows` are the reference.
fn biopsies_with_ids_dates_and_notes(copies: usize, reference_rows: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let text =
        std::fs::read_to_string(repo().join("examples/breast-cancer/data/breast_cancer.csv"))
            .unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.collect();
    let mut files = [
        format!("patient_id,visited,note,{header}\n"),
        format!("patient_id,visited,note,{header}\n"),
    ];
    for (n, row) in rows.iter().cycle().take(rows.len() * copies).enumerate() {
        let mut fields = row.split(',');
        let (radius, texture) = (fields.next().unwrap(), fields.next().unwrap());
        let label = row.rsplit(',').next().unwrap();
        // Three visits a day from 2020-01-01, on days 1 to 28 of each month.
        let visit = n / 3;
        let (year, month, day) = (2020 + visit / 336, 1 + visit / 28 % 12, 1 + visit % 28);
        let file = &mut files[usize::from(n >= reference_rows)];
        let _ = writeln!(
            file,
            "P-{n:06},{year}-{month:02}-{day:02},\"biopsy {n}: radius {radius}, texture {texture}; {label} on second reading\",{row}"
        );
    }
    std::fs::write(dir.path().join("reference.csv"), &files[0]).unwrap();
    std::fs::write(dir.path().join("current.csv"), &files[1]).unwrap();
    dir
}

fn assert_no_nan(value: &serde_json::Value, at: &str) {
    match value {
        serde_json::Value::String(text) => {
            assert!(
                !text.contains("NaN") && !text.contains("| inf"),
                "{at}: {text}"
            );
        }
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                assert_no_nan(item, &format!("{at}[{i}]"));
            }
        }
        serde_json::Value::Object(map) => {
            for (key, item) in map {
                // serde_json writes a NaN or an infinity as null.
                assert!(
                    !(item.is_null() && key == "statistic"),
                    "{at}.{key} is null"
                );
                assert_no_nan(item, &format!("{at}.{key}"));
            }
        }
        _ => {}
    }
}

#[test]
fn ids_notes_and_dates_of_real_data_get_no_nan_and_leave_the_share() {
    // Small (exact counts) and large (more than 1000 distinct values: the
    // profile keeps none, which gave "Z-test p-value NaN").
    for (copies, reference_rows) in [(1, 300), (5, 1400)] {
        let dir = biopsies_with_ids_dates_and_notes(copies, reference_rows);
        let (code, report) = drift(dir.path(), "reference.csv", "current.csv", &[]);
        assert!(code == 0 || code == 1, "{report:#}");
        assert_no_nan(&report, "report");
        let columns = report["data"]["columns"].as_array().unwrap();
        let column = |name: &str| columns.iter().find(|c| c["column"] == name).unwrap();
        for (name, kind) in [("patient_id", "id"), ("note", "text")] {
            let c = column(name);
            assert_eq!(c["kind"], kind, "{c:#}");
            assert!(c.get("statistic").is_none(), "{c:#}");
            assert_eq!(c["drifted"], false);
            assert!(
                c["not_tested"]
                    .as_str()
                    .unwrap()
                    .starts_with(if kind == "id" { "id-like" } else { "free text" })
            );
        }
        // 34 columns, 2 not tested: the share is over the 32 tested.
        let data = &report["data"];
        assert_eq!(data["tested_columns"], 32, "{data:#}");
        let drifted = data["drifted_columns"].as_f64().unwrap();
        assert!((data["share"].as_f64().unwrap() - drifted / 32.0).abs() < 1e-12);
        assert!(
            report["title"]
                .as_str()
                .unwrap()
                .contains(" of 32 tested columns drifted")
        );
        assert!(
            table(&report)
                .iter()
                .any(|row| row.starts_with("| patient_id | not tested: id-like"))
        );
        // The visit dates are compared as days (K-S below 1000 reference
        // rows, Wasserstein above), and the current visits are later ones.
        let visited = column("visited");
        assert_eq!(visited["kind"], "date", "{visited:#}");
        let test = if copies == 1 { "ks" } else { "wasserstein" };
        assert_eq!(visited["test"], test, "{visited:#}");
        assert_eq!(visited["drifted"], true, "{visited:#}");
    }
}
