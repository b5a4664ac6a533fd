//! Shared by the data targets: the bytes as a file of a kind, validated and
//! profiled with a schema whose columns take every row loop (typed and text).

use trainyard_core::manifest::data::DataSchema;
use trainyard_data::drift::{DriftOptions, drift_profiles};
use trainyard_data::profile::DatasetProfile;
use trainyard_data::read::{self, ReadOptions};
use trainyard_data::validate::validate_files;

const SCHEMA: &str = "columns:\n  - { name: a, type: integer, min: 0, unique: true }\n  - { name: b, type: number, max: 100 }\n  - { name: c, type: string, pattern: '[a-z]+' }\n";

/// Validates `bytes` as the file `name`; a malformed row must be a finding,
/// never an error (the only errors are I/O ones) or a panic.
pub fn run(name: &str, bytes: &[u8]) {
    let Ok(dir) = tempfile::tempdir() else { return };
    if std::fs::write(dir.path().join(name), bytes).is_err() {
        return;
    }
    let Ok(inputs) = read::resolve(dir.path(), name) else {
        return;
    };
    let Ok(schema) = serde_yaml_ng::from_str::<DataSchema>(SCHEMA) else {
        return;
    };
    let options = ReadOptions {
        chunk_size: 256,
        ..ReadOptions::default()
    };
    let (validation, profile) =
        validate_files::<DatasetProfile>("fuzz", inputs, &schema, "schema.yaml", options)
            .expect("a malformed file is findings, not an error");
    assert_eq!(validation.checks[0].failed, profile.malformed.count);
    let _ = drift_profiles(&profile, &profile, &DriftOptions::default());
    let again = DatasetProfile::from_json(&profile.to_json()).expect("a saved profile loads");
    assert_eq!(again, profile);
}
