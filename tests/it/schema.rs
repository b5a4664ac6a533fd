//! The committed JSON Schema is what the manifest types generate.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot set up should stop loudly

use crate::common;

#[test]
fn committed_schema_matches_the_manifest_types() {
    let path = common::repo().join("schemas/trainyard.schema.json");
    let generated = trainyard_core::manifest::json_schema_text();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "schemas/trainyard.schema.json is out of date with the manifest types; \
         regenerate it with `UPDATE_SCHEMA=1 cargo test --test it schema::` and commit it"
    );
}

#[test]
fn config_schema_prints_the_committed_schema() {
    let committed =
        std::fs::read_to_string(common::repo().join("schemas/trainyard.schema.json")).unwrap();
    common::trainyard()
        .args(["config", "schema"])
        .assert()
        .success()
        .stdout(committed);
}
