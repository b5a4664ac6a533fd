//! Sampling: byte-identical across runs and thread counts, sizes honoured,
//! stratified proportions exact, on the real wine and breast-cancer data.

#![allow(clippy::unwrap_used, clippy::cast_possible_truncation)] // test helpers and generators

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use trainyard_data::sample::{SampleOptions, SampleSize, sample_csv};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sample")
        .join(name)
}

fn run(
    input: &Path,
    options: &SampleOptions,
    threads: usize,
) -> (Vec<u8>, trainyard_data::sample::SampleSummary) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nested/sample.csv");
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let summary = pool.install(|| sample_csv(input, &out, options)).unwrap();
    (std::fs::read(&out).unwrap(), summary)
}

fn rows(bytes: &[u8]) -> Vec<Vec<String>> {
    csv::Reader::from_reader(bytes)
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

#[test]
fn same_input_and_seed_give_the_same_bytes_across_runs_and_thread_counts() {
    for options in [
        SampleOptions::new(SampleSize::Fraction(0.3), 42),
        SampleOptions::new(SampleSize::Rows(50), 42),
        SampleOptions::new(SampleSize::Rows(50), 42).stratified("cultivar"),
    ] {
        let (first, _) = run(&fixture("wine.csv"), &options, 1);
        let (second, _) = run(&fixture("wine.csv"), &options, 1);
        let (threaded, _) = run(&fixture("wine.csv"), &options, 4);
        assert_eq!(first, second);
        assert_eq!(first, threaded);
        // Another seed gives another sample.
        let other = SampleOptions {
            seed: 43,
            ..options.clone()
        };
        assert_ne!(run(&fixture("wine.csv"), &other, 1).0, first);
    }
}

#[test]
fn row_counts_are_exact_and_output_keeps_header_and_input_order() {
    let input = fixture("breast_cancer.csv");
    let (bytes, summary) = run(&input, &SampleOptions::new(SampleSize::Rows(100), 7), 2);
    assert_eq!(summary.input_rows, 569);
    assert_eq!(summary.output_rows, 100);
    let text = String::from_utf8(bytes.clone()).unwrap();
    let original = std::fs::read_to_string(&input).unwrap();
    assert_eq!(text.lines().next(), original.lines().next(), "header kept");
    // Every sampled line is an input line, in input order.
    let positions: Vec<usize> = text
        .lines()
        .skip(1)
        .map(|line| original.lines().position(|l| l == line).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]));
    // More rows than the input: all of them.
    let (_, all) = run(&input, &SampleOptions::new(SampleSize::Rows(10_000), 7), 1);
    assert_eq!(all.output_rows, 569);
}

#[test]
fn fractions_are_honoured() {
    let (bytes, summary) = run(
        &fixture("breast_cancer.csv"),
        &SampleOptions::new(SampleSize::Fraction(0.25), 1),
        1,
    );
    // Bernoulli(0.25) over 569 rows: mean 142, sd 10.3; 4 sd either side.
    assert!(
        (101..=184).contains(&summary.output_rows),
        "{}",
        summary.output_rows
    );
    assert_eq!(rows(&bytes).len() as u64, summary.output_rows);
    let (_, everything) = run(
        &fixture("wine.csv"),
        &SampleOptions::new(SampleSize::Fraction(1.0), 1),
        1,
    );
    assert_eq!(everything.output_rows, 178);
    let bad = SampleOptions::new(SampleSize::Fraction(1.5), 1);
    let dir = tempfile::tempdir().unwrap();
    assert!(sample_csv(&fixture("wine.csv"), &dir.path().join("x.csv"), &bad).is_err());
}

#[test]
fn stratified_samples_keep_class_proportions_exactly() {
    // wine: class_0 59, class_1 71, class_2 48 (178). 50 rows:
    // quotas 16.57, 19.94, 13.48 -> 17, 20, 13 by largest remainder.
    let options = SampleOptions::new(SampleSize::Rows(50), 3).stratified("cultivar");
    let (bytes, summary) = run(&fixture("wine.csv"), &options, 2);
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for row in rows(&bytes) {
        *counts.entry(row[13].clone()).or_insert(0) += 1;
    }
    let expected: BTreeMap<String, u64> = [
        ("class_0".into(), 17),
        ("class_1".into(), 20),
        ("class_2".into(), 13),
    ]
    .into_iter()
    .collect();
    assert_eq!(counts, expected);
    assert_eq!(summary.classes["class_1"], (71, 20));

    // A stratified fraction: round(0.1 * 569) = 57 rows; benign 357 -> 35.7, malignant 212 -> 21.2.
    let options = SampleOptions::new(SampleSize::Fraction(0.1), 3).stratified("diagnosis");
    let (bytes, summary) = run(&fixture("breast_cancer.csv"), &options, 1);
    assert_eq!(summary.output_rows, 57);
    let benign = rows(&bytes)
        .iter()
        .filter(|r| r.last().unwrap() == "benign")
        .count();
    assert_eq!(benign, 36);
}

#[test]
fn selection_depends_on_row_content_not_position() {
    // Appending rows to the input keeps every previously sampled row whose
    // key still ranks (fraction mode: exactly the same rows are kept).
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read_to_string(fixture("wine.csv")).unwrap();
    let mut lines: Vec<&str> = original.lines().collect();
    let header = lines.remove(0);
    lines.reverse();
    let reversed = dir.path().join("reversed.csv");
    std::fs::write(&reversed, format!("{header}\n{}\n", lines.join("\n"))).unwrap();
    let options = SampleOptions::new(SampleSize::Fraction(0.3), 9);
    let (a, _) = run(&fixture("wine.csv"), &options, 1);
    let (b, _) = run(&reversed, &options, 1);
    let mut a = rows(&a);
    let mut b = rows(&b);
    a.sort();
    b.sort();
    assert_eq!(a, b);
}
