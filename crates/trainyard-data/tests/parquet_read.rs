//! Parquet row groups decoded on several threads at once read the same values as
//! written (each worker reads through its own file handle).
#![allow(clippy::unwrap_used, clippy::cast_precision_loss, clippy::float_cmp)] // test helpers; exact sums compare exactly

use std::sync::Arc;

use parquet::basic::Compression;
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use trainyard_core::manifest::data::DataSchema;
use trainyard_data::profile::DatasetProfile;
use trainyard_data::read::{InputFile, ReadOptions};
use trainyard_data::validate::validate_files;

const GROUPS: i64 = 24;
const ROWS: i64 = 5000;

fn write(path: &std::path::Path) {
    let schema = Arc::new(
        parse_message_type(
            "message m { required int64 id; optional double x; required binary name (UTF8); }",
        )
        .unwrap(),
    );
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_data_page_row_count_limit(700)
            .build(),
    );
    let mut writer =
        SerializedFileWriter::new(std::fs::File::create(path).unwrap(), schema, props).unwrap();
    for group in 0..GROUPS {
        let ids: Vec<i64> = (group * ROWS..(group + 1) * ROWS).collect();
        let mut row_group = writer.next_row_group().unwrap();
        let mut column = row_group.next_column().unwrap().unwrap();
        column
            .typed::<Int64Type>()
            .write_batch(&ids, None, None)
            .unwrap();
        column.close().unwrap();
        // x is null on every 10th row, else id / 2.
        let defs: Vec<i16> = ids.iter().map(|i| i16::from(i % 10 != 0)).collect();
        let xs: Vec<f64> = ids
            .iter()
            .filter(|i| *i % 10 != 0)
            .map(|i| *i as f64 / 2.0)
            .collect();
        let mut column = row_group.next_column().unwrap().unwrap();
        column
            .typed::<DoubleType>()
            .write_batch(&xs, Some(&defs), None)
            .unwrap();
        column.close().unwrap();
        let names: Vec<ByteArray> = ids
            .iter()
            .map(|i| ByteArray::from(format!("n{}", i % 97).as_str()))
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
}

#[test]
fn row_groups_decoded_in_parallel_give_exact_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.parquet");
    write(&path);
    let schema: DataSchema = serde_yaml_ng::from_str(
        "columns:\n  - { name: id, type: integer, unique: true, nullable: false }\n  - { name: x, type: number, min: 0 }\n  - { name: name, type: string, pattern: 'n[0-9]+' }\n",
    )
    .unwrap();
    let inputs = vec![InputFile::local(path, "many.parquet")];
    let (validation, profile) = validate_files::<DatasetProfile>(
        "many",
        inputs,
        &schema,
        "schema.yaml",
        ReadOptions::default(),
    )
    .unwrap();
    let failed: Vec<_> = validation.failures().collect();
    assert!(failed.is_empty(), "{failed:#?}");
    let total = (GROUPS * ROWS) as u64;
    assert_eq!(validation.rows, total);
    let id = profile.column("id").unwrap();
    assert_eq!((id.min(), id.max()), (Some(0.0), Some((total - 1) as f64)));
    assert_eq!(id.sum(), (total * (total - 1) / 2) as f64);
    let x = profile.column("x").unwrap();
    assert_eq!(x.nulls(), total / 10);
    assert_eq!(profile.column("name").unwrap().distinct(), 97);
}
