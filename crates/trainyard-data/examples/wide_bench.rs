//! Times validation and drift of a wide file: N columns (default 100,000), one
//! row, every column declared `number` with a bound (the per-column work of the
//! engine, with none of the per-row work). Run:
//! `cargo run --release -p trainyard-data --example wide_bench -- 100000`
//! and look at the peak memory with `/usr/bin/time -v`.

#![allow(clippy::expect_used)] // a measurement script: a failure ends it

use std::fmt::Write as _;
use std::time::Instant;

use trainyard_core::manifest::data::{ColumnSchema, ColumnType, DataSchema};
use trainyard_data::drift::{DriftOptions, drift_profiles};
use trainyard_data::profile::DatasetProfile;
use trainyard_data::read::{self, ReadOptions};
use trainyard_data::validate::{profile_files, validate_files};

fn main() {
    let columns: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut header = String::new();
    let mut row = String::new();
    for column in 0..columns {
        let sep = if column == 0 { "" } else { "," };
        let _ = write!(header, "{sep}c{column}");
        let _ = write!(row, "{sep}{column}");
    }
    std::fs::write(dir.path().join("wide.csv"), format!("{header}\n{row}\n")).expect("written");
    let schema = DataSchema {
        columns: (0..columns)
            .map(|column| {
                let mut declared = ColumnSchema::named(format!("c{column}"));
                declared.kind = Some(ColumnType::Number);
                declared.min = Some(trainyard_core::manifest::data::Bound::Number(0.0));
                declared
            })
            .collect(),
        ..DataSchema::default()
    };
    let inputs = || read::resolve(dir.path(), "wide.csv").expect("the file");

    let start = Instant::now();
    let (validation, profile) = validate_files::<DatasetProfile>(
        "wide",
        inputs(),
        &schema,
        "schema.yaml",
        ReadOptions::default(),
    )
    .expect("validated");
    let validate = start.elapsed();
    let json = profile.to_json();
    let saved = start.elapsed().saturating_sub(validate);

    let start = Instant::now();
    let reference =
        profile_files(inputs(), &DataSchema::default(), ReadOptions::default()).expect("profiled");
    let current =
        profile_files(inputs(), &DataSchema::default(), ReadOptions::default()).expect("profiled");
    let report = drift_profiles(&reference, &current, &DriftOptions::default()).expect("drift");
    let drift = start.elapsed();
    println!(
        "{columns} columns x 1 row: validate {:.2} s ({} checks, passed {}), profile JSON {:.2} s ({} MB), drift (2 profiles + compare) {:.2} s ({} columns compared)",
        validate.as_secs_f64(),
        validation.checks.len(),
        validation.passed(),
        saved.as_secs_f64(),
        json.len() >> 20,
        drift.as_secs_f64(),
        report.columns.len()
    );
}
