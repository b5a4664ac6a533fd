//! The YAML and JSON documents the data engine reads from people (schema files,
//! saved profiles, lock files): nesting past the limit is refused quickly with
//! the file, the line and the limit; trainyard YAML schemas are read strictly.
#![allow(clippy::unwrap_used)] // a test crate: a panic is a failed test

use trainyard_core::StepError;
use trainyard_data::fingerprint::LockFile;
use trainyard_data::profile::{DatasetProfile, ProfileError};
use trainyard_data::schema;

/// 200 KB of `[`: minutes in libyaml's scanner before the limit.
fn nested(prefix: &str) -> String {
    format!("{prefix}{}", "[".repeat(200_000))
}

fn config(error: StepError) -> trainyard_core::ConfigError {
    match error {
        StepError::Config(config) => *config,
        other => panic!("not a configuration error: {other}"),
    }
}

#[test]
fn schema_files_nested_too_deep_are_refused_with_file_line_and_limit() {
    for (name, text) in [
        ("schema.yaml", nested("columns:\n  - ")),
        ("table.json", nested("{\"fields\":\n")),
        (
            "suite.json",
            format!("{{\"expectations\": {}", "{\"a\":".repeat(100_000)),
        ),
    ] {
        let error = config(schema::parse(&text, name).unwrap_err());
        assert_eq!(error.rule, "too-deep", "{name}: {error}");
        assert_eq!(error.file, name);
        assert_eq!(
            error.span.unwrap().line,
            2 - u32::from(name == "suite.json"),
            "{name}"
        );
        assert!(error.message.contains("64"), "{error}");
    }
}

#[test]
fn yaml_schema_files_refuse_keys_given_twice_and_tags() {
    let twice = "columns:\n  - name: a\n    type: integer\n    type: string\n";
    let error = config(schema::parse(twice, "schema.yaml").unwrap_err());
    assert_eq!((error.rule, error.span.unwrap().line), ("duplicate-key", 4));
    let tagged = "columns:\n  - name: !!binary YQ==\n";
    let error = config(schema::parse(tagged, "schema.yaml").unwrap_err());
    assert_eq!((error.rule, error.span.unwrap().line), ("yaml-tag", 2));
}

#[test]
fn profiles_nested_too_deep_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.json");
    std::fs::write(&path, format!("{{\"format\": {}", "[".repeat(100_000))).unwrap();
    let error = DatasetProfile::load(&path).unwrap_err();
    assert!(matches!(error, ProfileError::Format { .. }), "{error}");
    let text = error.to_string();
    assert!(
        text.contains("p.json") && text.contains("line 1") && text.contains("64"),
        "{text}"
    );
}

#[test]
fn lock_files_nested_too_deep_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trainyard.lock");
    std::fs::write(&path, nested("version: 1\ndatasets: ")).unwrap();
    let text = LockFile::load(&path).unwrap_err().to_string();
    assert!(
        text.contains("trainyard.lock") && text.contains("line 2") && text.contains("64"),
        "{text}"
    );
}
