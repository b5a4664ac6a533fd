//! Property tests: generated CSV and JSON Lines bytes are validated and profiled
//! (malformed rows are findings, never an error or a panic), and generated
//! profile files are loaded or refused with a format error.
#![allow(clippy::unwrap_used)] // a test crate: a panic is a failed test

use proptest::prelude::*;
use trainyard_core::manifest::data::DataSchema;
use trainyard_data::profile::DatasetProfile;
use trainyard_data::read::{self, ReadOptions};
use trainyard_data::validate::validate_files;

const SCHEMA: &str = "columns:\n  - { name: a, type: integer, min: 0, unique: true }\n  - { name: b, type: number }\n  - { name: c, type: date }\n";

/// Bytes near CSV: separators, quotes, line ends, digits, bad UTF-8.
fn csv_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop::sample::select(&b"abc,,\"\"\n\n\r0129.-e\xff\xc3 2024-01-31"[..]),
        0..400,
    )
    .prop_map(|body| {
        let mut bytes = b"a,b,c\n".to_vec();
        bytes.extend(body);
        bytes
    })
}

/// Lines near JSON objects of the columns a, b, c.
fn jsonl_bytes() -> impl Strategy<Value = Vec<u8>> {
    let value = prop::sample::select(
        &[
            "1",
            "-2",
            "1.5",
            "\"x\"",
            "null",
            "true",
            "[1]",
            "{\"k\": 1}",
            "\"\\ud800\"",
            "\"2024-02-30\"",
            "1e999",
            "",
            "\"",
        ][..],
    );
    let row = (value.clone(), value.clone(), value, any::<bool>()).prop_map(|(a, b, c, cut)| {
        let line = format!("{{\"a\": {a}, \"b\": {b}, \"c\": {c}}}");
        if cut {
            line[..line.len() / 2].to_owned()
        } else {
            line
        }
    });
    prop::collection::vec(row, 0..12).prop_map(|rows| rows.join("\n").into_bytes())
}

fn validate(name: &str, bytes: &[u8], chunk_size: usize) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(name), bytes).unwrap();
    let inputs = read::resolve(dir.path(), name).unwrap();
    let schema: DataSchema = serde_yaml_ng::from_str(SCHEMA).unwrap();
    let options = ReadOptions {
        chunk_size,
        ..ReadOptions::default()
    };
    let (validation, profile) =
        validate_files::<DatasetProfile>("p", inputs, &schema, "schema.yaml", options).unwrap();
    assert_eq!(validation.checks[0].failed, profile.malformed.count);
    assert!(profile.malformed.count <= profile.rows);
    // What was saved loads back the same.
    assert_eq!(
        DatasetProfile::from_json(&profile.to_json()).unwrap(),
        profile
    );
}

/// A real profile's JSON, then one edit: a byte changed, a cut, a number swapped.
fn profile_json() -> impl Strategy<Value = String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.csv"), "a,b\n1,x\n2,y\n,x\n").unwrap();
    let inputs = read::resolve(dir.path(), "p.csv").unwrap();
    let base = validate_files::<DatasetProfile>(
        "p",
        inputs,
        &DataSchema::default(),
        "s",
        ReadOptions::default(),
    )
    .unwrap()
    .1
    .to_json();
    let length = base.len();
    (
        0..length,
        0..4_u8,
        prop::sample::select(
            &[
                "0",
                "18446744073709551615",
                "-1",
                "1e400",
                "\"x\"",
                "[",
                "null",
                "\"0/0\"",
            ][..],
        ),
    )
        .prop_map(move |(at, edit, token)| {
            let mut text = base.clone();
            let at = (0..=at)
                .rev()
                .find(|&i| text.is_char_boundary(i))
                .unwrap_or(0);
            match edit {
                0 => text.truncate(at),
                1 => text.insert_str(at, token),
                2 => {
                    // A number replaced by the token.
                    let start = text[at..]
                        .find(|c: char| c.is_ascii_digit())
                        .map(|i| at + i);
                    if let Some(start) = start {
                        let end = text[start..]
                            .find(|c: char| !c.is_ascii_digit())
                            .map_or(text.len(), |i| start + i);
                        text.replace_range(start..end, token);
                    }
                }
                _ => text.replace_range(at..(at + 1).min(length), "\u{0}"),
            }
            text
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn csv_bytes_are_rows_or_findings(bytes in csv_bytes(), small in any::<bool>()) {
        validate("d.csv", &bytes, if small { 64 } else { 4 << 20 });
    }

    #[test]
    fn jsonl_bytes_are_rows_or_findings(bytes in jsonl_bytes(), small in any::<bool>()) {
        validate("d.jsonl", &bytes, if small { 64 } else { 4 << 20 });
    }

    #[test]
    fn profile_files_load_or_are_refused(text in profile_json()) {
        if let Ok(profile) = DatasetProfile::from_json(&text) {
            // Loaded: merging it with itself either works or says it would wrap.
            let mut merged = profile.clone();
            let _ = merged.merge(&profile);
            prop_assert_eq!(DatasetProfile::from_json(&profile.to_json()).unwrap(), profile);
        }
    }
}
