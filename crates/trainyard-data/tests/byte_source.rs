//! Inputs read through a `ByteSource` (how objects in storage reach the
//! readers) give the same validation, profile, fingerprint and sample as the
//! same bytes in a local file; the fingerprint's cache keys a source on its
//! size and version, so an unchanged source is not read again.

#![allow(clippy::unwrap_used)]

use std::fmt::Write as _;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use trainyard_core::manifest::DataFormat;
use trainyard_core::manifest::data::DataSchema;
use trainyard_data::fingerprint::{StatCache, fingerprint_inputs};
use trainyard_data::profile::DatasetProfile;
use trainyard_data::read::{ByteSource, InputFile, ReadOptions};
use trainyard_data::sample::{SampleOptions, SampleSize, sample_file};
use trainyard_data::validate::validate_files;

/// Bytes in memory with a name and a version, counting how often they are opened.
#[derive(Debug)]
struct Memory {
    name: String,
    bytes: Vec<u8>,
    version: String,
    opened: AtomicUsize,
}

impl Memory {
    fn new(name: &str, bytes: Vec<u8>, version: &str) -> Arc<Self> {
        Arc::new(Self {
            name: name.to_owned(),
            bytes,
            version: version.to_owned(),
            opened: AtomicUsize::new(0),
        })
    }
}

impl ByteSource for Memory {
    fn name(&self) -> &str {
        &self.name
    }
    fn size(&self) -> u64 {
        self.bytes.len() as u64
    }
    fn version(&self) -> Option<&str> {
        Some(&self.version)
    }
    fn open(&self) -> io::Result<Box<dyn Read + Send>> {
        self.opened.fetch_add(1, Ordering::SeqCst);
        Ok(Box::new(io::Cursor::new(self.bytes.clone())))
    }
}

fn schema() -> DataSchema {
    serde_yaml_ng::from_str(
        "columns:\n  - { name: id, type: integer, unique: true }\n  - { name: amount, type: number, min: 0 }\n",
    )
    .unwrap()
}

fn csv() -> Vec<u8> {
    let mut text = String::from("id,amount\n");
    for id in 0..500 {
        let amount = if id == 77 { -1 } else { id * 3 };
        writeln!(text, "{id},{amount}").unwrap();
    }
    text.into_bytes()
}

fn fixture_parquet() -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/parquet/orders.parquet"),
    )
    .unwrap()
}

/// (findings as `file:line rule`, profile JSON) of one input.
fn validated(input: InputFile) -> (Vec<String>, String) {
    let options = ReadOptions {
        chunk_size: 1024, // several chunks, so boundaries are exercised
        ..ReadOptions::default()
    };
    let (validation, profile) =
        validate_files::<DatasetProfile>("d", vec![input], &schema(), "schema.yaml", options)
            .unwrap();
    let findings = validation
        .findings()
        .iter()
        .map(|f| match &f.location {
            Some(location) => format!("{}:{:?} {}", location.file, location.line, f.rule),
            None => f.rule.clone(),
        })
        .collect();
    (findings, profile.to_json())
}

#[test]
fn a_source_reads_like_the_local_file_with_findings_at_its_name() {
    let dir = tempfile::tempdir().unwrap();
    for (file, bytes) in [
        ("d.csv", csv()),
        ("d.parquet", fixture_parquet()),
        ("d.csv.gz", gzip(&csv())),
    ] {
        let path = dir.path().join(file);
        std::fs::write(&path, &bytes).unwrap();
        let url = format!("s3://bucket/{file}");
        let (local_findings, local_profile) = validated(InputFile::local(&path, file));
        let (remote_findings, remote_profile) =
            validated(InputFile::from_source(Memory::new(&url, bytes, "v1")));
        let renamed: Vec<String> = local_findings
            .iter()
            .map(|f| f.replacen(file, &url, 1))
            .collect();
        assert_eq!(remote_findings, renamed, "{file}");
        assert_eq!(remote_profile, local_profile, "{file}");
        if file == "d.csv" {
            let at = format!("{url}:Some(79) ");
            assert!(
                remote_findings.iter().any(|f| f.starts_with(&at)),
                "{remote_findings:?}"
            );
        }
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// A source that announces one byte more than it delivers.
#[derive(Debug)]
struct Short(Arc<Memory>);
impl ByteSource for Short {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn size(&self) -> u64 {
        self.0.size() + 1
    }
    fn version(&self) -> Option<&str> {
        Some("short")
    }
    fn open(&self) -> io::Result<Box<dyn Read + Send>> {
        self.0.open()
    }
}

#[test]
fn the_stat_cache_keys_a_source_on_its_version() {
    let dir = tempfile::tempdir().unwrap();
    let mut cache = StatCache::default();
    let source = Memory::new("s3://bucket/d.csv", csv(), "etag-1");
    let input = InputFile::from_source(source.clone());
    let first =
        fingerprint_inputs(dir.path(), std::slice::from_ref(&input), Some(&mut cache)).unwrap();
    assert_eq!(first.files[0].path, "s3://bucket/d.csv");
    assert_eq!(
        first.files[0].blake3,
        blake3::hash(&csv()).to_hex().as_str()
    );
    assert_eq!(source.opened.load(Ordering::SeqCst), 1);
    let again =
        fingerprint_inputs(dir.path(), std::slice::from_ref(&input), Some(&mut cache)).unwrap();
    assert_eq!(again, first);
    assert_eq!(
        source.opened.load(Ordering::SeqCst),
        1,
        "an unchanged source is not read again"
    );
    // A new version is read again (same size, other bytes).
    let mut changed = csv();
    changed[20] = b'9';
    let newer = Memory::new("s3://bucket/d.csv", changed.clone(), "etag-2");
    let third = fingerprint_inputs(
        dir.path(),
        &[InputFile::from_source(newer.clone())],
        Some(&mut cache),
    )
    .unwrap();
    assert_eq!(newer.opened.load(Ordering::SeqCst), 1);
    assert_eq!(
        third.files[0].blake3,
        blake3::hash(&changed).to_hex().as_str()
    );
    // A source that delivers fewer bytes than it announced is an error, not a digest.
    let short = InputFile::from_source(Arc::new(Short(source)));
    assert!(fingerprint_inputs(dir.path(), &[short], None).is_err());
}

#[test]
fn samples_of_a_source_equal_samples_of_the_local_file() {
    let dir = tempfile::tempdir().unwrap();
    for (file, bytes, format) in [
        ("d.csv", csv(), DataFormat::Csv),
        ("d.parquet", fixture_parquet(), DataFormat::Parquet),
    ] {
        let path = dir.path().join(file);
        std::fs::write(&path, &bytes).unwrap();
        let options = SampleOptions::new(SampleSize::Rows(40), 9);
        let local_out = dir.path().join(format!("local-{file}"));
        let remote_out = dir.path().join(format!("remote-{file}"));
        let local =
            sample_file(&InputFile::local(&path, file), format, &local_out, &options).unwrap();
        let source = InputFile::from_source(Memory::new(&format!("s3://b/{file}"), bytes, "v"));
        let remote = sample_file(&source, format, &remote_out, &options).unwrap();
        assert_eq!(local, remote);
        assert_eq!(local.output_rows, 40);
        assert!(
            std::fs::read(&local_out).unwrap() == std::fs::read(&remote_out).unwrap(),
            "{file}"
        );
    }
}
