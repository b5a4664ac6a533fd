//! Property tests: generated manifests near the valid shape (keys, values,
//! indentation, tags, anchors, duplicates, nesting) are read or refused with a
//! located configuration error, never a panic.
#![allow(clippy::unwrap_used)] // a test crate: a panic is a failed test

use proptest::prelude::*;
use trainyard_core::manifest::{check_project_name, parse};

/// Pieces of manifests: mostly valid keys and values, some that are not.
const KEYS: &[&str] = &[
    "version",
    "project",
    "name",
    "description",
    "default-branch",
    "datasets",
    "train",
    "path",
    "format",
    "schema",
    "columns",
    "type",
    "min",
    "max",
    "sample",
    "rows",
    "fraction",
    "seed",
    "stratify",
    "label",
    "environments",
    "gates",
    "metrics",
    "nmae",
    "<<",
    "? complex",
];
const VALUES: &[&str] = &[
    "1",
    "2",
    "demo",
    "Demo",
    "my_project",
    "a.csv",
    "csv",
    "parquet",
    "integer",
    "0.5",
    "-1",
    "true",
    "null",
    "~",
    "\"\"",
    "''",
    "[]",
    "{}",
    "[a, b]",
    "{x: 1}",
    "!!binary aGk=",
    "!foo x",
    "&a x",
    "*a",
    "\"\\ud800\"",
    "'it''s'",
    "|\n    text",
    ">-\n    folded",
    "[[[",
    "{{",
    "- x",
    "0x10",
    ".inf",
    "1e999",
    "#comment",
];

fn line() -> impl Strategy<Value = String> {
    (
        0..4_usize,
        prop::sample::select(KEYS),
        prop::option::of(prop::sample::select(VALUES)),
        any::<bool>(),
    )
        .prop_map(|(depth, key, value, dash)| {
            let indent = "  ".repeat(depth);
            let dash = if dash { "- " } else { "" };
            match value {
                Some(value) => format!("{indent}{dash}{key}: {value}"),
                None => format!("{indent}{dash}{key}:"),
            }
        })
}

fn manifest() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(line(), 0..14),
        prop::sample::select(&["demo", "Demo", "a-b-1", "", "x_y", "9lives"][..]),
        any::<bool>(),
    )
        .prop_map(|(lines, name, header)| {
            let mut text = if header {
                format!("version: 1\nproject:\n  name: {name}\n")
            } else {
                String::new()
            };
            for line in lines {
                text.push_str(&line);
                text.push('\n');
            }
            text
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn generated_manifests_are_read_or_refused_with_a_located_error(text in manifest()) {
        match parse(&text, "trainyard.yaml") {
            Ok(manifest) => prop_assert!(check_project_name(&manifest.project.name).is_ok()),
            Err(error) => {
                prop_assert!(!error.rule.is_empty());
                prop_assert!(!error.message.is_empty());
                prop_assert_eq!(error.file.as_str(), "trainyard.yaml");
            }
        }
    }

    #[test]
    fn arbitrary_text_never_panics_the_manifest_reader(bytes in prop::collection::vec(
        prop::sample::select(&b"ab:- \n[]{},&*!|>'\"#\t1"[..]), 0..300)
    ) {
        let text = String::from_utf8(bytes).unwrap();
        let _ = parse(&text, "trainyard.yaml");
        let _ = trainyard_core::yaml::check_strict_yaml(&text);
        let _ = trainyard_core::yaml::check_json(&text);
    }
}
