//! Every file of the robustness corpus (`tests/corpus/<kind>/`, see its README)
//! through the library entry points that read its kind: no panic, no hang, and
//! either a result or an error of the documented kind.
//!
//! - data (csv, jsonl, parquet): validation and profiling succeed (a malformed
//!   row is a finding, never an error); drift against a good profile is a
//!   report or `DriftError::NoRows`; CSV files are also inferred and sampled.
//! - manifest: a `ConfigError` (exit 2) with a rule and a line.
//! - schema: a configuration error (`StepError::Config`), from reading the
//!   file or compiling its checks.
//! - profile: `ProfileError::Format` on load, or `Overflow` when merged.
//!
//! Large inputs (deep nesting past 64 KB, 100,000 columns) are made at test
//! time here and in `wide_files.rs`, not committed.
#![allow(clippy::unwrap_used)] // a test crate: a panic is a failed test

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use trainyard_core::StepError;
use trainyard_core::manifest::data::DataSchema;
use trainyard_data::drift::{DriftError, DriftOptions, drift_profiles};
use trainyard_data::infer::infer;
use trainyard_data::profile::{DatasetProfile, ProfileError};
use trainyard_data::read::{self, ReadOptions};
use trainyard_data::sample::{SampleOptions, SampleSize, sample_csv};
use trainyard_data::schema;
use trainyard_data::validate::{NoProfile, profile_files, validate_files};

/// The rules a manifest error may have (docs/manifest.md).
const MANIFEST_RULES: &[&str] = &[
    "yaml-syntax",
    "duplicate-key",
    "yaml-tag",
    "too-deep",
    "bad-project-name",
    "bad-dataset-name",
    "bad-model-name",
    "bad-environment-name",
    "bad-output-dir",
    "wrong-type",
    "wrong-value",
    "unknown-key",
    "missing-key",
    "manifest-encoding",
];

fn corpus(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/corpus")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{}: too few files", dir.display());
    files
}

/// Runs `work` on another thread and fails the test if it takes a minute (a hang).
fn within<T: Send + 'static>(what: &Path, work: impl FnOnce() -> T + Send + 'static) -> T {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = send.send(work());
    });
    receive
        .recv_timeout(Duration::from_mins(1))
        .unwrap_or_else(|error| panic!("{}: no answer ({error})", what.display()))
}

fn reference() -> DatasetProfile {
    let dir = tempfile::tempdir().unwrap();
    let mut text = "a,b,c\n".to_owned();
    for row in 0..30 {
        let _ = writeln!(text, "{row},{}.5,n{row}", row % 4);
    }
    std::fs::write(dir.path().join("r.csv"), text).unwrap();
    let inputs = read::resolve(dir.path(), "r.csv").unwrap();
    profile_files(inputs, &DataSchema::default(), ReadOptions::default()).unwrap()
}

/// Columns the corpus files have (`a`, `b`, `c`), typed and checked, so the
/// typed (Parquet numbers) and text paths both run.
const SCHEMA: &str = "columns:\n  - { name: a, type: integer, min: 0, unique: true }\n  - { name: b, type: number, max: 100, mostly: 0.5 }\n  - { name: c, type: string, pattern: '[a-z0-9]+', required: false }\n";

fn data_file(path: &Path, reference: &DatasetProfile) {
    let dir = path.parent().unwrap();
    let name = path.file_name().unwrap().to_str().unwrap();
    let inputs = read::resolve(dir, name).unwrap();
    let schema: DataSchema = serde_yaml_ng::from_str(SCHEMA).unwrap();
    for chunk_size in [64, 4 << 20] {
        let options = ReadOptions {
            chunk_size,
            ..ReadOptions::default()
        };
        let (validation, profile) = validate_files::<DatasetProfile>(
            "corpus",
            inputs.clone(),
            &schema,
            "schema.yaml",
            options.clone(),
        )
        .unwrap_or_else(|error| panic!("{name}: {error}"));
        let malformed = &validation.checks[0];
        assert_eq!(malformed.failed, profile.malformed.count, "{name}");
        validate_files::<NoProfile>(
            "corpus",
            inputs.clone(),
            &DataSchema::default(),
            "s",
            options,
        )
        .unwrap();
        match drift_profiles(reference, &profile, &DriftOptions::default()) {
            Ok(report) => assert_eq!(report.findings.is_empty(), profile.malformed.is_empty()),
            Err(DriftError::NoRows { side, .. }) => assert_eq!(side, "current"),
            // Files without one of the reference's columns.
            Err(DriftError::MissingColumn(_)) => {}
        }
    }
    infer(inputs, ReadOptions::default()).unwrap();
    if path.extension().is_some_and(|ext| ext == "csv") {
        let out = tempfile::tempdir().unwrap();
        let options = SampleOptions::new(SampleSize::Rows(2), 7);
        // A CSV the csv crate cannot read is an error of the sample, not a panic.
        let _ = sample_csv(path, &out.path().join("s.csv"), &options);
    }
}

#[test]
fn data_files_are_findings_never_errors_or_panics() {
    let reference = reference();
    for kind in ["csv", "jsonl", "parquet"] {
        for path in corpus(kind) {
            let reference = reference.clone();
            let shown = path.clone();
            within(&shown, move || data_file(&path, &reference));
        }
    }
}

fn manifest_error(path: &Path) {
    let error = match trainyard_core::manifest::load(path) {
        Ok(_) => panic!("{}: accepted", path.display()),
        Err(StepError::Config(error)) => error,
        Err(other) => panic!("{}: not a configuration error: {other}", path.display()),
    };
    assert!(
        MANIFEST_RULES.contains(&error.rule),
        "{}: rule {}",
        path.display(),
        error.rule
    );
    assert_eq!(error.file, path.display().to_string());
}

#[test]
fn manifests_are_refused_with_a_located_configuration_error() {
    for path in corpus("manifest") {
        let shown = path.clone();
        within(&shown, move || manifest_error(&path));
    }
    // Made here: 200 KB of `[`, 100,000 characters of name, 40,000 `- `.
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        (
            "deep.yaml",
            format!("version: 1\nproject: {}", "[".repeat(200_000)),
        ),
        (
            "long-name.yaml",
            format!("version: 1\nproject:\n  name: {}\n", "a".repeat(100_000)),
        ),
        (
            "dashes.yaml",
            format!(
                "version: 1\nproject:\n  name: demo\nx: {}1\n",
                "- ".repeat(40_000)
            ),
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        within(&path.clone(), move || manifest_error(&path));
    }
}

fn schema_error(path: &Path) {
    let display = path.file_name().unwrap().to_str().unwrap().to_owned();
    let error = match schema::load(path, &display) {
        Err(error) => error,
        Ok(loaded) => {
            // Refused when its checks are compiled.
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("d.csv"), "a,b\n1,2\n").unwrap();
            let inputs = read::resolve(dir.path(), "d.csv").unwrap();
            validate_files::<NoProfile>(
                "s",
                inputs,
                &loaded.schema,
                &display,
                ReadOptions::default(),
            )
            .err()
            .unwrap_or_else(|| panic!("{display}: accepted"))
        }
    };
    assert!(
        matches!(error, StepError::Config(_)),
        "{display}: not a configuration error: {error}"
    );
}

#[test]
fn schema_files_are_refused_with_a_configuration_error() {
    for path in corpus("schema") {
        let shown = path.clone();
        within(&shown, move || schema_error(&path));
    }
}

#[test]
fn profiles_are_refused_on_load_or_merge() {
    for path in corpus("profile") {
        let shown = path.clone();
        within(&shown, move || {
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            match DatasetProfile::load_with(&path) {
                Err(ProfileError::Format { .. }) => {}
                Err(other) => panic!("{name}: {other}"),
                Ok((profile, _)) => {
                    let mut merged = profile.clone();
                    let result = merged.merge(&profile);
                    if name == "valid.json" {
                        result.unwrap();
                    } else {
                        assert!(
                            matches!(result, Err(ProfileError::Overflow { .. })),
                            "{name}: accepted"
                        );
                    }
                }
            }
        });
    }
}
