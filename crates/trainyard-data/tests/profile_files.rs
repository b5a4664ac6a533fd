//! Saved profiles are input too: counts that cannot be, sums that would wrap
//! and shard labels that are not shards are refused with a clear error.
#![allow(clippy::unwrap_used)] // a test crate: a panic is a failed test

use trainyard_data::profile::{ColumnProfile, DatasetProfile, ProfileError, ProfileMeta};

fn profile(rows: u64) -> DatasetProfile {
    let mut column = ColumnProfile::new("x");
    for at in 0..rows.min(3) {
        #[allow(clippy::cast_precision_loss)]
        column.observe_number(at as f64);
    }
    let mut profile = DatasetProfile::new(["x"]);
    profile.rows = rows.min(3);
    profile.columns = vec![column];
    profile
}

/// The profile's JSON with its `rows` replaced.
fn with_rows(rows: u64) -> String {
    profile(3)
        .to_json()
        .replacen("\"rows\": 3", &format!("\"rows\": {rows}"), 1)
}

#[test]
fn merging_profiles_whose_rows_add_past_u64_is_refused() {
    let huge = DatasetProfile::from_json(&with_rows(u64::MAX)).unwrap();
    assert_eq!(huge.rows, u64::MAX);
    let mut merged = huge.clone();
    let error = merged.merge(&profile(3)).unwrap_err();
    assert!(matches!(error, ProfileError::Overflow { .. }), "{error}");
    assert!(error.to_string().contains("rows"), "{error}");
    // Nothing was added.
    assert_eq!(merged, huge);
}

#[test]
fn counts_that_cannot_be_are_refused_on_load() {
    let json = profile(3).to_json();
    // A column with more cells than the profile has rows.
    let more = json.replacen("\"count\": 3", &format!("\"count\": {}", u64::MAX), 1);
    let error = DatasetProfile::from_json(&more).unwrap_err();
    assert!(error.contains("column `x`"), "{error}");
    // Nulls and values that do not add up to the cells.
    let nulls = json.replacen("\"nulls\": 0", &format!("\"nulls\": {}", u64::MAX), 1);
    assert!(DatasetProfile::from_json(&nulls).is_err());
}

#[test]
fn shard_labels_must_be_shards() {
    for bad in ["0/0", "3/2", "1/0", "x", "1/2/3"] {
        let json = profile(3).to_json_with(&ProfileMeta {
            dataset: Some("d".to_owned()),
            shard: Some(bad.to_owned()),
        });
        let error = DatasetProfile::from_json_with(&json).unwrap_err();
        assert!(
            error.contains(&format!("`{bad}`")) && error.contains("shard"),
            "{error}"
        );
    }
    let json = profile(3).to_json_with(&ProfileMeta {
        dataset: None,
        shard: Some("2/2".to_owned()),
    });
    assert!(DatasetProfile::from_json_with(&json).is_ok());
}
