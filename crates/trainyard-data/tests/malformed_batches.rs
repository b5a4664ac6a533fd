//! Batches without a well-formed row (a file whose only row is malformed, a Parquet
//! file or row group that cannot be decoded) are findings, never a panic, on every
//! path that reads them: text and typed (Parquet numbers) validation, profiles.
#![allow(clippy::unwrap_used)] // a test crate: a panic is a failed test

use std::path::Path;
use std::sync::Arc;

use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use trainyard_core::manifest::data::DataSchema;
use trainyard_data::profile::DatasetProfile;
use trainyard_data::read::{self, ReadOptions};
use trainyard_data::validate::{NoProfile, Validation, validate_files};

/// Every column declared, with a type that takes the typed (numbers) path for
/// Parquet integers and doubles, and checks that read text.
const SCHEMA: &str = "columns:\n  - { name: a, type: integer, min: 0 }\n  - { name: b, type: number, max: 100 }\n  - { name: c, type: string, pattern: '[a-z]+', unique: true }\n";

fn schema(text: &str) -> DataSchema {
    serde_yaml_ng::from_str(text).unwrap()
}

fn validate(dir: &Path, name: &str, schema: &DataSchema) -> (Validation, DatasetProfile) {
    let inputs = read::resolve(dir, name).unwrap();
    let (validation, profile) = validate_files::<DatasetProfile>(
        "t",
        inputs.clone(),
        schema,
        "schema.yaml",
        ReadOptions::default(),
    )
    .unwrap();
    // The pass without a profile takes other branches (undeclared columns skipped).
    let plain = validate_files::<NoProfile>("t", inputs, schema, "s", ReadOptions::default())
        .unwrap()
        .0;
    assert_eq!(plain.checks[0], validation.checks[0]);
    (validation, profile)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

#[test]
fn a_csv_whose_only_row_is_malformed_is_a_finding() {
    let dir = tempfile::tempdir().unwrap();
    // The reproducer: the quote is never closed, so no row is well-formed.
    write(dir.path(), "q.csv", b"a,b\n\"1,2\n");
    for declared in [
        "columns: [{ name: b }]",
        "columns: [{ name: b, type: integer }]",
    ] {
        let (validation, profile) = validate(dir.path(), "q.csv", &schema(declared));
        assert!(!validation.passed());
        assert_eq!(validation.checks[0].failed, 1, "{:?}", validation.checks[0]);
        assert_eq!(validation.checks[0].offenders[0].line, 2);
        assert_eq!(profile.rows, 1);
    }
    // A ragged only row, the declared column last.
    write(dir.path(), "r.csv", b"a,b,c\n1,2\n");
    let (validation, _) = validate(dir.path(), "r.csv", &schema(SCHEMA));
    assert_eq!(validation.checks[0].failed, 1);
}

#[test]
fn a_jsonl_whose_only_row_is_malformed_is_a_finding() {
    let dir = tempfile::tempdir().unwrap();
    // A lone surrogate is not valid JSON text for serde_json: the first line
    // names no columns, the second is malformed.
    write(
        dir.path(),
        "s.jsonl",
        b"{\"a\": 1, \"b\": 2, \"c\": \"x\"}\n{\"a\": 1, \"b\": \"\\ud800\", \"c\": \"x\"}\n",
    );
    let (validation, _) = validate(dir.path(), "s.jsonl", &schema(SCHEMA));
    assert_eq!(validation.checks[0].failed, 1, "{:?}", validation.checks[0]);
    write(
        dir.path(),
        "only.jsonl",
        b"{\"a\": \"\\udc00\", \"b\": 2}\n",
    );
    let (validation, _) = validate(dir.path(), "only.jsonl", &schema(SCHEMA));
    assert_eq!(validation.checks[0].failed, 1, "{:?}", validation.checks[0]);
}

/// A small Parquet file: integers, doubles (with nulls) and text, two row groups.
fn parquet_bytes() -> Vec<u8> {
    let schema = Arc::new(
        parse_message_type(
            "message m { required int64 a; optional double b; required binary c (UTF8); }",
        )
        .unwrap(),
    );
    let props = Arc::new(WriterProperties::builder().build());
    let mut out = Vec::new();
    let mut writer = SerializedFileWriter::new(&mut out, schema, props).unwrap();
    for group in 0..2_i64 {
        let mut row_group = writer.next_row_group().unwrap();
        let ids: Vec<i64> = (group * 5..group * 5 + 5).collect();
        let mut column = row_group.next_column().unwrap().unwrap();
        column
            .typed::<Int64Type>()
            .write_batch(&ids, None, None)
            .unwrap();
        column.close().unwrap();
        let mut column = row_group.next_column().unwrap().unwrap();
        column
            .typed::<DoubleType>()
            .write_batch(&[0.5, 1.5, 2.5], Some(&[1, 0, 1, 0, 1]), None)
            .unwrap();
        column.close().unwrap();
        let names: Vec<ByteArray> = ids
            .iter()
            .map(|i| ByteArray::from(format!("n{i}").as_str()))
            .collect();
        let mut column = row_group.next_column().unwrap().unwrap();
        column
            .typed::<ByteArrayType>()
            .write_batch(&names, None, None)
            .unwrap();
        column.close().unwrap();
        row_group.close().unwrap();
    }
    writer.close().unwrap();
    out
}

#[test]
fn every_flipped_byte_of_a_parquet_file_is_read_or_a_finding() {
    let dir = tempfile::tempdir().unwrap();
    let good = parquet_bytes();
    write(dir.path(), "good.parquet", &good);
    let (validation, _) = validate(dir.path(), "good.parquet", &schema(SCHEMA));
    assert_eq!(validation.rows, 10);
    assert!(validation.checks[0].passed);
    let schema = schema(SCHEMA);
    for at in 0..good.len() {
        let mut bytes = good.clone();
        bytes[at] ^= 0xff;
        write(dir.path(), "flipped.parquet", &bytes);
        // No panic; rows that could not be decoded are findings. Alternately
        // with and without a profile (undeclared columns are skipped without).
        let inputs = read::resolve(dir.path(), "flipped.parquet").unwrap();
        let options = ReadOptions::default();
        let validation = if at % 2 == 0 {
            validate_files::<DatasetProfile>("t", inputs, &schema, "s", options)
                .unwrap()
                .0
        } else {
            validate_files::<NoProfile>("t", inputs, &DataSchema::default(), "s", options)
                .unwrap()
                .0
        };
        let malformed = &validation.checks[0];
        assert!(
            malformed.passed || !malformed.offenders.is_empty(),
            "byte {at}: {malformed:?}"
        );
    }
}
