//! Drift over data with malformed rows: each malformed row is a finding, and
//! drift over no well-formed row is refused rather than judged "no drift".
#![allow(clippy::unwrap_used)] // a test crate: a panic is a failed test

use std::fmt::Write as _;
use std::path::Path;

use trainyard_core::Severity;
use trainyard_core::manifest::data::DataSchema;
use trainyard_data::drift::{DriftError, DriftOptions, drift_profiles};
use trainyard_data::profile::DatasetProfile;
use trainyard_data::read::{self, ReadOptions};
use trainyard_data::validate::profile_files;

fn profile(dir: &Path, name: &str, text: &str) -> DatasetProfile {
    std::fs::write(dir.join(name), text).unwrap();
    let inputs = read::resolve(dir, name).unwrap();
    profile_files(inputs, &DataSchema::default(), ReadOptions::default()).unwrap()
}

fn reference(dir: &Path) -> DatasetProfile {
    let mut text = "x,y\n".to_owned();
    for row in 0..20 {
        let _ = writeln!(text, "{row},{}", row % 3);
    }
    profile(dir, "reference.csv", &text)
}

#[test]
fn a_current_file_whose_only_row_is_malformed_is_not_judged() {
    let dir = tempfile::tempdir().unwrap();
    let reference = reference(dir.path());
    let current = profile(dir.path(), "current.csv", "x,y\n\"1,2\n");
    let error = drift_profiles(&reference, &current, &DriftOptions::default()).unwrap_err();
    assert!(matches!(error, DriftError::NoRows { .. }), "{error}");
    let message = error.to_string();
    assert!(message.contains("current"), "{message}");
    assert!(message.contains("current.csv:2"), "{message}");
    // The other way round, and a file with a header only.
    let error = drift_profiles(&current, &reference, &DriftOptions::default()).unwrap_err();
    assert!(error.to_string().contains("reference"), "{error}");
    let empty = profile(dir.path(), "empty.csv", "x,y\n");
    assert!(drift_profiles(&reference, &empty, &DriftOptions::default()).is_err());
}

#[test]
fn malformed_rows_among_good_ones_are_findings() {
    let dir = tempfile::tempdir().unwrap();
    let reference = reference(dir.path());
    let mut text = "x,y\n".to_owned();
    for row in 0..20 {
        let _ = writeln!(text, "{row},{}", row % 3);
    }
    text.push_str("1,2,3\n");
    let current = profile(dir.path(), "current.csv", &text);
    let report = drift_profiles(&reference, &current, &DriftOptions::default()).unwrap();
    assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
    let finding = &report.findings[0];
    assert_eq!(finding.severity, Severity::Error);
    assert_eq!(finding.rule, "read/ragged-row");
    let location = finding.location.as_ref().unwrap();
    assert_eq!(
        (location.file.as_str(), location.line),
        ("current.csv", Some(22))
    );
    assert!(
        report.markdown().contains("1 malformed row"),
        "{}",
        report.markdown()
    );
}

#[test]
fn saved_profiles_keep_their_malformed_rows_and_clean_ones_are_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let clean = reference(dir.path());
    assert!(!clean.to_json().contains("malformed"));
    let current = profile(dir.path(), "current.csv", "x,y\n1,2\n\"3\n");
    let again = DatasetProfile::from_json(&current.to_json()).unwrap();
    assert_eq!(again, current);
    assert_eq!(again.malformed.count, 1);
    let mut merged = again.clone();
    merged.merge(&current).unwrap();
    assert_eq!(merged.malformed.count, 2);
}
