//! A file of 100,000 columns and one row: validation, profiles and drift do
//! per-column work once per column (no search by name per column, no 4 KB per
//! column), so this finishes in the normal test suite. It took minutes before.
#![allow(clippy::unwrap_used)] // a test crate: a panic is a failed test

use std::fmt::Write as _;

use trainyard_core::manifest::data::{Bound, ColumnSchema, ColumnType, DataSchema};
use trainyard_data::drift::{DriftOptions, drift_profiles};
use trainyard_data::infer::infer;
use trainyard_data::profile::DatasetProfile;
use trainyard_data::read::{self, ReadOptions};
use trainyard_data::validate::{profile_files, validate_files};

const COLUMNS: usize = 100_000;

#[test]
fn a_hundred_thousand_columns_are_validated_profiled_and_compared() {
    let dir = tempfile::tempdir().unwrap();
    let (mut header, mut row) = (String::new(), String::new());
    for column in 0..COLUMNS {
        let sep = if column == 0 { "" } else { "," };
        let _ = write!(header, "{sep}c{column}");
        let _ = write!(row, "{sep}{column}");
    }
    std::fs::write(dir.path().join("wide.csv"), format!("{header}\n{row}\n")).unwrap();
    let inputs = || read::resolve(dir.path(), "wide.csv").unwrap();
    let schema = DataSchema {
        columns: (0..COLUMNS)
            .map(|column| {
                let mut declared = ColumnSchema::named(format!("c{column}"));
                declared.kind = Some(ColumnType::Number);
                declared.min = Some(Bound::Number(1.0));
                declared
            })
            .collect(),
        ..DataSchema::default()
    };
    let (validation, profile) =
        validate_files::<DatasetProfile>("wide", inputs(), &schema, "s", ReadOptions::default())
            .unwrap();
    // Only c0 = 0 is below its min.
    let failed: Vec<&str> = validation
        .failures()
        .map(|check| check.name.as_str())
        .collect();
    assert_eq!(failed, ["c0: >= 1"]);
    assert_eq!(profile.columns.len(), COLUMNS);
    assert_eq!(
        profile.columns[COLUMNS - 1].name(),
        format!("c{}", COLUMNS - 1)
    );

    let current = profile_files(inputs(), &DataSchema::default(), ReadOptions::default()).unwrap();
    let report = drift_profiles(&profile, &current, &DriftOptions::default()).unwrap();
    assert_eq!(report.columns.len(), COLUMNS);
    assert!(!report.dataset_drift);

    let inferred = infer(inputs(), ReadOptions::default()).unwrap();
    assert_eq!(inferred.columns.len(), COLUMNS);
}
