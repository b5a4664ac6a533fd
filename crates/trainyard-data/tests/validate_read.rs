//! Readers on well-formed and malformed input: every problem is a finding at its line.
#![allow(clippy::unwrap_used)] // a test crate: a panic is a failed test

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use trainyard_core::manifest::DataFormat;
use trainyard_core::manifest::data::{ColumnSchema, ColumnType, DataSchema};
use trainyard_data::read::{self, ReadOptions};
use trainyard_data::validate::{CheckResult, NoProfile, Validation, validate_files};

fn run(dir: &Path, pattern: &str, schema: &DataSchema, options: ReadOptions) -> Validation {
    let inputs = read::resolve(dir, pattern).unwrap();
    validate_files::<NoProfile>("t", inputs, schema, "schema.yaml", options)
        .unwrap()
        .0
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn malformed(validation: &Validation) -> &CheckResult {
    &validation.checks[0]
}

/// (line, rule) of each malformed row reported.
fn issues(validation: &Validation) -> Vec<(u64, &'static str)> {
    malformed(validation)
        .offenders
        .iter()
        .map(|o| (o.line, o.rule.unwrap()))
        .collect()
}

fn small_chunks() -> ReadOptions {
    ReadOptions {
        chunk_size: 64,
        ..ReadOptions::default()
    }
}

fn typed(name: &str, kind: ColumnType) -> ColumnSchema {
    let mut column = ColumnSchema::named(name);
    column.kind = Some(kind);
    column
}

#[test]
fn ragged_rows_are_reported_at_their_line_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.csv", b"x,y\n1,2\n3\n4,5,6\n7,8\n");
    let validation = run(
        dir.path(),
        "a.csv",
        &DataSchema::default(),
        ReadOptions::default(),
    );
    assert_eq!(validation.rows, 4);
    assert_eq!(
        issues(&validation),
        vec![(3, "read/ragged-row"), (4, "read/ragged-row")]
    );
    assert_eq!(
        malformed(&validation).offenders[0].detail.as_deref(),
        Some("row has 1 fields, the header has 2")
    );
    assert!(!validation.passed());
}

#[test]
fn quoted_newlines_keep_the_line_where_each_record_starts() {
    let dir = tempfile::tempdir().unwrap();
    let text = "id,note\n1,\"two\nlines\"\n2,\"say \"\"hi\"\"\"\n3,\"a,b\"\n4\n5,x\n";
    write(dir.path(), "q.csv", text.as_bytes());
    let mut schema = DataSchema::default();
    let mut id = typed("id", ColumnType::Integer);
    id.max = Some(trainyard_core::manifest::data::Bound::Number(3.0));
    schema.columns.push(id);
    for options in [ReadOptions::default(), small_chunks()] {
        let validation = run(dir.path(), "q.csv", &schema, options);
        assert_eq!(validation.rows, 5);
        // Record 4 starts on line 6 (record 1 spans lines 2-3).
        assert_eq!(issues(&validation), vec![(6, "read/ragged-row")]);
        let max = &validation.checks[3];
        assert_eq!(max.rule, "check/max");
        assert_eq!(max.offenders.len(), 1);
        assert_eq!(
            (max.offenders[0].line, max.offenders[0].value.as_deref()),
            (7, Some("5"))
        );
    }
}

#[test]
fn an_unclosed_quote_is_a_finding_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "u.csv", b"a,b\n1,2\n3,\"open\n4,5\n");
    let validation = run(
        dir.path(),
        "u.csv",
        &DataSchema::default(),
        ReadOptions::default(),
    );
    assert_eq!(issues(&validation), vec![(3, "read/unclosed-quote")]);
    assert_eq!(validation.rows, 2);
}

#[test]
fn bad_utf8_is_reported_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "b.csv",
        b"a,b\n1,ok\n2,caf\xe9\n3,\"qu\xffoted\"\n",
    );
    let validation = run(
        dir.path(),
        "b.csv",
        &DataSchema::default(),
        ReadOptions::default(),
    );
    assert_eq!(
        issues(&validation),
        vec![(3, "read/not-utf8"), (4, "read/not-utf8")]
    );
    assert_eq!(malformed(&validation).offenders[0].column, Some(2));
}

#[test]
fn crlf_and_blank_lines_and_a_bom() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "c.csv",
        b"\xEF\xBB\xBFa,b\r\n1,x\r\n\r\n2,\"y\r\nz\"\r\n3,w\r\n",
    );
    let mut schema = DataSchema::default();
    let mut b = ColumnSchema::named("b");
    b.allowed = Some(vec!["x".into(), "w".into()]);
    schema.columns.extend([typed("a", ColumnType::Integer), b]);
    let validation = run(dir.path(), "c.csv", &schema, ReadOptions::default());
    assert!(malformed(&validation).passed);
    assert_eq!(validation.rows, 3);
    let enum_check = validation
        .checks
        .iter()
        .find(|c| c.rule == "check/enum")
        .unwrap();
    assert_eq!(enum_check.offenders[0].line, 4, "{enum_check:?}");
    assert_eq!(enum_check.offenders[0].value.as_deref(), Some("y\r\nz"));
    assert!(
        validation
            .checks
            .iter()
            .find(|c| c.rule == "check/type")
            .unwrap()
            .passed
    );
}

#[test]
fn gzip_and_zstd_by_extension() {
    let dir = tempfile::tempdir().unwrap();
    let text = b"a,b\n1,2\n3,x\n";
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text).unwrap();
    write(dir.path(), "d.csv.gz", &gz.finish().unwrap());
    write(
        dir.path(),
        "d.csv.zst",
        &zstd::encode_all(&text[..], 3).unwrap(),
    );
    let mut schema = DataSchema::default();
    schema.columns.push(typed("b", ColumnType::Integer));
    for name in ["d.csv.gz", "d.csv.zst"] {
        let validation = run(dir.path(), name, &schema, ReadOptions::default());
        assert_eq!(validation.rows, 2, "{name}");
        let type_check = validation
            .checks
            .iter()
            .find(|c| c.rule == "check/type")
            .unwrap();
        assert_eq!(type_check.offenders[0].file, name);
        assert_eq!(type_check.offenders[0].line, 3);
    }
}

#[test]
fn globs_and_partition_folders() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "parts/year=2023/part-0.csv", b"a\n1\n2\n");
    write(dir.path(), "parts/year=2024/part-0.csv", b"a\n3\n-4\n");
    write(dir.path(), "parts/_SUCCESS", b"");
    write(dir.path(), "parts/.hidden.csv", b"a\nnope\n");
    let mut schema = DataSchema::default();
    let mut a = typed("a", ColumnType::Integer);
    a.min = Some(trainyard_core::manifest::data::Bound::Number(0.0));
    schema.columns.push(a);
    let folder = run(dir.path(), "parts", &schema, small_chunks());
    assert_eq!(
        folder.files,
        ["parts/year=2023/part-0.csv", "parts/year=2024/part-0.csv"]
    );
    assert_eq!(folder.rows, 4);
    let min = folder
        .checks
        .iter()
        .find(|c| c.rule == "check/min")
        .unwrap();
    assert_eq!(
        (min.offenders[0].file.as_str(), min.offenders[0].line),
        ("parts/year=2024/part-0.csv", 3)
    );
    let glob = run(
        dir.path(),
        "parts/*/part-*.csv",
        &schema,
        ReadOptions::default(),
    );
    assert_eq!(glob.files, folder.files);
    assert!(read::resolve(dir.path(), "nothing/*.csv").is_err());
}

#[test]
fn json_lines_with_a_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = "{\"b\": 1, \"a\": \"x\"}\n{\"b\": null, \"a\": \"y\"}\n{bad json\n[1,2]\n\n{\"a\": \"z\", \"b\": 2.5}\n";
    write(dir.path(), "j.jsonl", text.as_bytes());
    let mut schema = DataSchema::default();
    let mut b = typed("b", ColumnType::Integer);
    b.nullable = false;
    schema.columns.push(b);
    let validation = run(dir.path(), "j.jsonl", &schema, ReadOptions::default());
    assert_eq!(
        issues(&validation),
        vec![(3, "read/bad-json"), (4, "read/bad-json")]
    );
    let not_null = validation
        .checks
        .iter()
        .find(|c| c.rule == "check/not-null")
        .unwrap();
    assert_eq!(not_null.offenders[0].line, 2);
    let type_check = validation
        .checks
        .iter()
        .find(|c| c.rule == "check/type")
        .unwrap();
    assert_eq!(
        (
            type_check.offenders[0].line,
            type_check.offenders[0].value.as_deref()
        ),
        (6, Some("2.5"))
    );
    assert_eq!(
        type_check.offenders[0].column,
        Some(1),
        "b is the first key of the first object"
    );
}

#[test]
fn delimiter_quote_and_null_options() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "s.txt", b"a;b\n'x;y';-\n1;2\n");
    let options = ReadOptions {
        format: Some(DataFormat::Csv),
        csv: trainyard_core::manifest::data::CsvOptions {
            delimiter: Some(";".into()),
            quote: "'".into(),
            null_values: Some(vec!["-".into()]),
            ..Default::default()
        },
        ..ReadOptions::default()
    };
    let mut schema = DataSchema::default();
    let mut b = ColumnSchema::named("b");
    b.nullable = false;
    let mut a = ColumnSchema::named("a");
    a.max_length = Some(1);
    schema.columns.extend([a, b]);
    let validation = run(dir.path(), "s.txt", &schema, options);
    assert!(malformed(&validation).passed);
    let length = validation
        .checks
        .iter()
        .find(|c| c.rule == "check/length")
        .unwrap();
    assert_eq!(length.offenders[0].value.as_deref(), Some("x;y"));
    let not_null = validation
        .checks
        .iter()
        .find(|c| c.rule == "check/not-null")
        .unwrap();
    assert_eq!(not_null.offenders[0].line, 2);
}

#[test]
fn chunking_does_not_change_results() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("id,name,score\n");
    for i in 0..5000 {
        if i % 97 == 0 {
            let _ = writeln!(text, "{i},\"multi\nline {i}\",{}", i % 13);
        } else {
            let _ = writeln!(text, "{i},n{i},{}", i % 13);
        }
    }
    write(dir.path(), "big.csv", text.as_bytes());
    let mut schema = DataSchema::default();
    let mut score = typed("score", ColumnType::Integer);
    score.max = Some(trainyard_core::manifest::data::Bound::Number(11.0));
    let mut id = typed("id", ColumnType::Integer);
    id.unique = true;
    schema.columns.extend([id, score]);
    let whole = run(dir.path(), "big.csv", &schema, ReadOptions::default());
    let chunked = run(
        dir.path(),
        "big.csv",
        &schema,
        ReadOptions {
            chunk_size: 100,
            ..ReadOptions::default()
        },
    );
    assert_eq!(whole.checks, chunked.checks);
    assert_eq!(whole.rows, 5000);
    let max = whole.checks.iter().find(|c| c.rule == "check/max").unwrap();
    assert_eq!(max.failed, 384); // i % 13 == 12 for i = 12, 25, ..., 4991
    assert_eq!(max.offenders.len(), 20);
    assert_eq!(max.offenders[0].line, 15); // i = 12; record i = 0 spans two lines
}

#[test]
fn duplicates_across_chunks_and_workers_are_all_counted() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("id,group\n");
    for i in 0..5000 {
        let _ = writeln!(text, "{},g{}", i % 2000, i % 3);
    }
    write(dir.path(), "dup.csv", text.as_bytes());
    let mut schema = DataSchema::default();
    let mut id = typed("id", ColumnType::Integer);
    id.unique = true;
    schema.columns.push(id);
    schema.unique_together = vec![vec!["id".to_owned(), "group".to_owned()]];
    let places = |v: &trainyard_data::validate::Validation, rule: &str| {
        let check = v.checks.iter().find(|c| c.rule == rule).unwrap();
        let lines: Vec<u64> = check.offenders.iter().map(|o| o.line).collect();
        (check.failed, lines)
    };
    let whole = run(dir.path(), "dup.csv", &schema, ReadOptions::default());
    for chunk_size in [64, 1000] {
        let chunked = run(
            dir.path(),
            "dup.csv",
            &schema,
            ReadOptions {
                chunk_size,
                ..ReadOptions::default()
            },
        );
        for rule in ["check/unique", "check/unique-together"] {
            assert_eq!(places(&whole, rule), places(&chunked, rule), "{rule}");
        }
    }
    // Rows 2000..5000 repeat an earlier id: the first duplicate is row 2000, line 2002.
    let (failed, lines) = places(&whole, "check/unique");
    assert_eq!(failed, 3000);
    assert_eq!(lines[0], 2002);
    // (id, group) repeats with period 6000: no row repeats both.
    assert_eq!(places(&whole, "check/unique-together").0, 0);
}
