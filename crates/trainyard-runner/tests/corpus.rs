//! The metrics files of the robustness corpus (`tests/corpus/metrics/`): read
//! without a panic or a hang, as metrics or as a `Parse` / `NoMetrics` error.
#![allow(clippy::unwrap_used)] // a test crate: a panic is a failed test

use std::path::Path;
use std::time::{Duration, Instant};

use trainyard_runner::{MetricsFileError, read_metrics_file};

fn check(path: &Path) {
    let start = Instant::now();
    match read_metrics_file(path) {
        Ok(file) => assert!(!file.values.is_empty()),
        Err(MetricsFileError::Parse { .. } | MetricsFileError::NoMetrics { .. }) => {}
        Err(other) => panic!("{}: {other}", path.display()),
    }
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "{}: too slow",
        path.display()
    );
}

#[test]
fn metrics_files_are_read_or_refused_with_a_parse_error() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/metrics");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        check(&entry.unwrap().path());
        count += 1;
    }
    assert!(count >= 5);
    // Made here: 120 KB of nested flow mappings (11 s in libyaml before the limit).
    let made = tempfile::tempdir().unwrap();
    let path = made.path().join("metrics.yaml");
    std::fs::write(
        &path,
        format!("accuracy: 0.9\nx: {}", "{a: ".repeat(30_000)),
    )
    .unwrap();
    let error = read_metrics_file(&path).unwrap_err();
    assert!(error.to_string().contains("64"), "{error}");
}
