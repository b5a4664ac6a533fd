//! Numeric Parquet columns read as numbers (no text) give the same check results
//! and the same profile as the same file read as text, on values that are hard to
//! get right: nulls, out-of-range values, doubles in integer columns, NaN and
//! infinities, integers beyond 2^53, decimals, and dates beside them.
// Test data, written as arithmetic on the row index.
#![allow(
    clippy::unwrap_used,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::manual_is_multiple_of
)]

use std::sync::Arc;

use parquet::basic::Compression;
use parquet::data_type::{DoubleType, FloatType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use trainyard_core::manifest::data::DataSchema;
use trainyard_data::profile::DatasetProfile;
use trainyard_data::read::{self, Chunks, InputFile, Numbers, ReadOptions};
use trainyard_data::validate::{Validation, validate_files};

/// Row groups of these sizes: more rows than one decoded slice (16k).
const GROUPS: [usize; 2] = [20_000, 7_000];

const MESSAGE: &str = "message m {
    required int64 id;
    optional double whole;
    optional double x;
    optional int32 small;
    optional int64 price (DECIMAL(18, 2));
    optional int32 cents (DECIMAL(9, 2));
    optional int64 big (DECIMAL(18, 3));
    optional int32 day (DATE);
    optional double code;
    optional float f;
    optional double free;
    optional int64 a;
    optional int64 b;
}";

const SCHEMA: &str = r"
columns:
  - { name: id, type: integer, nullable: false, unique: true, min: 0 }
  - { name: whole, type: integer, min: -10, max: 1000 }
  - name: x
    type: number
    min: -1
    max: 1
    exclusive-max: true
    mean: { min: -0.5, max: 0.5 }
    stddev: { max: 0.1 }
    quantiles: [{ q: 0.5, min: -0.1, max: 0.1 }, { q: 0.9, max: 0.5 }]
  - { name: small, type: number, nullable: false, min: 0, max: 100, mostly: 0.5 }
  - { name: price, type: number, min: 0, exclusive-min: true }
  - { name: cents, type: integer }
  - { name: big, type: number, max: 1e12 }
  - { name: day, type: date, min: '2000-01-01' }
  - { name: code, type: number, pattern: '-?[0-9]+', max-length: 4, enum: ['1', '2', '3', '-7', '12345'], unique: true }
  - { name: f, type: number, max: 0.5 }
  - { name: a, type: integer }
  - { name: b, type: integer }
relations:
  - { rule: a < b }
";

/// The special doubles cycled through the `whole`, `x` and `code` columns.
const SPECIAL: [f64; 20] = [
    2.0,
    1.5,
    -0.0,
    1e19,
    9_999_999_999_999_998_976.0,
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    1e300,
    0.1,
    -5.0,
    1001.0,
    1000.0,
    5e-324,
    -1.0,
    0.999_999_999_999_999_9,
    1e-7,
    123_456_789.125,
    -11.0,
    3.0,
];

/// Writes `values` (None: null) into an optional column.
fn column<T: parquet::data_type::DataType>(
    row_group: &mut parquet::file::writer::SerializedRowGroupWriter<'_, std::fs::File>,
    values: &[Option<T::T>],
) where
    T::T: Clone,
{
    let defs: Vec<i16> = values.iter().map(|v| i16::from(v.is_some())).collect();
    let present: Vec<T::T> = values.iter().flatten().cloned().collect();
    let mut writer = row_group.next_column().unwrap().unwrap();
    writer
        .typed::<T>()
        .write_batch(&present, Some(&defs), None)
        .unwrap();
    writer.close().unwrap();
}

#[allow(clippy::too_many_lines)] // one column after the other
fn write(path: &std::path::Path) {
    let schema = Arc::new(parse_message_type(MESSAGE).unwrap());
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_data_page_row_count_limit(3000)
            .build(),
    );
    let mut writer =
        SerializedFileWriter::new(std::fs::File::create(path).unwrap(), schema, props).unwrap();
    let mut first = 0usize;
    for rows in GROUPS {
        let range = first..first + rows;
        first += rows;
        let mut row_group = writer.next_row_group().unwrap();
        // id: beyond 2^53 (neighbours that are distinct as integers, equal as
        // doubles), i64's extremes, negatives, and repeats.
        let ids: Vec<i64> = range
            .clone()
            .map(|i| match i % 1000 {
                7 => i64::MAX - (i / 1000) as i64,
                8 => (1 << 53) + (i / 1000) as i64,
                9 => i64::MIN + (i / 1000) as i64,
                10 if i % 3000 == 10 => -(i as i64),
                11 if i % 5000 == 11 => 11,
                _ => i as i64,
            })
            .collect();
        let mut id = row_group.next_column().unwrap().unwrap();
        id.typed::<Int64Type>()
            .write_batch(&ids, None, None)
            .unwrap();
        id.close().unwrap();
        let special = |i: usize, nulls: usize| {
            (i % nulls != 0).then(|| {
                if i % 3 == 0 {
                    SPECIAL[i / 3 % SPECIAL.len()]
                } else {
                    (i % 1000) as f64
                }
            })
        };
        let whole: Vec<Option<f64>> = range.clone().map(|i| special(i, 17)).collect();
        column::<DoubleType>(&mut row_group, &whole);
        let x: Vec<Option<f64>> = range
            .clone()
            .map(|i| match i % 7 {
                0 => special(i, 11),
                1 => None,
                _ => Some(((i * 7919) % 2001) as f64 / 1000.0 - 1.0),
            })
            .collect();
        column::<DoubleType>(&mut row_group, &x);
        let small: Vec<Option<i32>> = range
            .clone()
            .map(|i| (i % 13 != 0).then_some((i % 150) as i32 - 20))
            .collect();
        column::<Int32Type>(&mut row_group, &small);
        let price: Vec<Option<i64>> = range
            .clone()
            .map(|i| {
                (i % 19 != 0).then(|| match i % 5 {
                    0 => (1 << 53) + i as i64 * 977,
                    1 => -(i as i64),
                    2 => 0,
                    _ => i as i64 * 12_345,
                })
            })
            .collect();
        column::<Int64Type>(&mut row_group, &price);
        let cents: Vec<Option<i32>> = range
            .clone()
            .map(|i| (i % 23 != 0).then_some(i as i32 * 100))
            .collect();
        column::<Int32Type>(&mut row_group, &cents);
        let big: Vec<Option<i64>> = range
            .clone()
            .map(|i| (i % 29 != 0).then_some(i64::MAX / 7 - i as i64 * 1_000_003))
            .collect();
        column::<Int64Type>(&mut row_group, &big);
        let day: Vec<Option<i32>> = range
            .clone()
            .map(|i| (i % 31 != 0).then_some((i % 20_000) as i32 - 3_000))
            .collect();
        column::<Int32Type>(&mut row_group, &day);
        let code: Vec<Option<f64>> = range
            .clone()
            .map(|i| special(i, 37).map(|v| if i % 2 == 0 { (i % 9) as f64 } else { v }))
            .collect();
        column::<DoubleType>(&mut row_group, &code);
        let f: Vec<Option<f32>> = range
            .clone()
            .map(|i| (i % 41 != 0).then_some((i % 10) as f32 / 10.0))
            .collect();
        column::<FloatType>(&mut row_group, &f);
        let free: Vec<Option<f64>> = range.clone().map(|i| special(i, 43)).collect();
        column::<DoubleType>(&mut row_group, &free);
        let a: Vec<Option<i64>> = range
            .clone()
            .map(|i| (i % 47 != 0).then_some((i % 100) as i64))
            .collect();
        column::<Int64Type>(&mut row_group, &a);
        let b: Vec<Option<i64>> = range
            .clone()
            .map(|i| (i % 53 != 0).then_some((i % 90) as i64))
            .collect();
        column::<Int64Type>(&mut row_group, &b);
        row_group.close().unwrap();
    }
    writer.close().unwrap();
}

fn validate(path: &std::path::Path, options: ReadOptions) -> (Validation, DatasetProfile) {
    let schema: DataSchema = serde_yaml_ng::from_str(SCHEMA).unwrap();
    let inputs = vec![InputFile::local(path.to_path_buf(), "typed.parquet")];
    validate_files::<DatasetProfile>("typed", inputs, &schema, "schema.yaml", options).unwrap()
}

#[test]
fn numbers_give_the_text_paths_results_and_profile() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typed.parquet");
    write(&path);
    let (typed, typed_profile) = validate(&path, ReadOptions::default());
    let text_options = ReadOptions {
        numeric_columns: Some(Vec::new()),
        ..ReadOptions::default()
    };
    let (text, text_profile) = validate(&path, text_options);
    assert_eq!(typed.rows, text.rows);
    assert_eq!(typed.checks.len(), text.checks.len());
    for (typed, text) in typed.checks.iter().zip(&text.checks) {
        pretty_assertions::assert_eq!(typed, text);
    }
    pretty_assertions::assert_eq!(typed_profile.to_json(), text_profile.to_json());
    // The file exercises what it is meant to: each of these checks fails.
    for name in [
        "id: unique",
        "whole: type integer",
        "whole: >= -10",
        "whole: <= 1000",
        "x: type number",
        "x: < 1",
        "x: stddev <= 0.1",
        "small: not null",
        "small: >= 0",
        "price: > 0",
        "cents: type integer",
        "big: <= 1000000000000",
        "day: >= 2000-01-01",
        "code: matches /-?[0-9]+/",
        "code: length <= 4",
        "code: unique",
        "f: <= 0.5",
        "a < b",
    ] {
        let check = typed.checks.iter().find(|c| c.name == name);
        assert!(
            check.is_some_and(|c| c.failed > 0 || !c.passed),
            "{name}: {check:#?}\n{:#?}",
            typed.checks.iter().map(|c| &c.name).collect::<Vec<_>>()
        );
    }
    assert!(typed_profile.column("whole").unwrap().texts() > 0);
    assert!(typed_profile.column("x").unwrap().non_finite() > 0);
}

#[test]
fn only_the_columns_asked_for_come_as_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typed.parquet");
    write(&path);
    let asked = ["id", "whole", "price", "big", "day", "f", "a"];
    let options = ReadOptions {
        numeric_columns: Some(asked.iter().map(|&name| name.to_owned()).collect()),
        ..ReadOptions::default()
    };
    let inputs = vec![InputFile::local(path, "typed.parquet")];
    let mut rows = 0;
    for chunk in Chunks::new(inputs, options) {
        read::parse_each(chunk.unwrap(), &mut |batch| {
            rows += batch.rows();
            assert!(batch.rows() <= 16 * 1024);
            let columns: Vec<&str> = batch
                .numbers
                .iter()
                .map(|n| batch.file.columns[n.column].as_str())
                .collect();
            // Dates and floats stay text.
            assert_eq!(columns, ["id", "whole", "price", "big", "a"]);
            for numbers in &batch.numbers {
                assert_eq!(numbers.len(), batch.rows());
                assert!(batch.field(0, numbers.column).is_none());
            }
            assert!(matches!(
                batch.numbers[2].values,
                Numbers::Decimals { scale: 2, .. }
            ));
            assert!(batch.field(0, 7).is_some() || batch.field(1, 7).is_some());
        });
    }
    assert_eq!(rows, GROUPS.iter().sum::<usize>());
}
