//! Fingerprints: digests react to content and only to content, the stat cache
//! skips unchanged files, the lock file is stable.

#![allow(clippy::unwrap_used, clippy::cast_possible_truncation)] // test helpers and generators

use std::fs::{self, File};
use std::path::Path;
use std::time::{Duration, SystemTime};

use trainyard_data::fingerprint::{LockFile, StatCache, fingerprint_dataset, hash_file};

fn write(path: &Path, bytes: &[u8], age_secs: u64) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
    set_mtime(path, SystemTime::now() - Duration::from_secs(age_secs));
}

fn set_mtime(path: &Path, time: SystemTime) {
    File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(time)
        .unwrap();
}

#[test]
fn one_changed_byte_changes_the_file_and_dataset_digests() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(&root.join("data/a.csv"), b"x,y\n1,2\n", 100);
    write(&root.join("data/b.csv"), b"x,y\n3,4\n", 100);
    let before = fingerprint_dataset(root, "data", None).unwrap();
    assert_eq!(before.files.len(), 2);
    assert_eq!(before.files[0].path, "data/a.csv");
    assert_eq!(
        before.files[0].blake3,
        blake3::hash(b"x,y\n1,2\n").to_hex().to_string()
    );

    write(&root.join("data/b.csv"), b"x,y\n3,5\n", 100);
    let after = fingerprint_dataset(root, "data", None).unwrap();
    assert_eq!(before.files[0], after.files[0]);
    assert_ne!(before.files[1].blake3, after.files[1].blake3);
    assert_ne!(before.digest, after.digest);

    // A glob naming the same files gives the same dataset digest.
    assert_eq!(
        fingerprint_dataset(root, "data/*.csv", None).unwrap(),
        after
    );
    // A renamed file changes the dataset digest, though no content changed.
    fs::rename(root.join("data/b.csv"), root.join("data/c.csv")).unwrap();
    assert_ne!(
        fingerprint_dataset(root, "data", None).unwrap().digest,
        after.digest
    );
}

#[test]
fn the_stat_cache_skips_unchanged_files_and_rehashes_touched_ones() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let file = root.join("train.csv");
    write(&file, b"a,b\n1,2\n", 3600);
    let cache_path = root.join(".trainyard/cache/fingerprints.json");

    let mut cache = StatCache::load(&cache_path);
    assert!(cache.is_empty());
    let first = fingerprint_dataset(root, "train.csv", Some(&mut cache)).unwrap();
    cache.save(&cache_path).unwrap();
    let old_mtime = cache.get("train.csv").unwrap().mtime_ns;

    // Only the mtime changes: a cache miss, the file is hashed again, same digest.
    set_mtime(&file, SystemTime::now() - Duration::from_mins(1));
    let mut cache = StatCache::load(&cache_path);
    let second = fingerprint_dataset(root, "train.csv", Some(&mut cache)).unwrap();
    assert_eq!(first, second);
    let entry = cache.get("train.csv").unwrap();
    assert_ne!(entry.mtime_ns, old_mtime, "the entry was refreshed");
    cache.save(&cache_path).unwrap();

    // Proof that a hit does not read the file: change the content behind the
    // cache's back, keeping size and mtime; the cached digest is returned.
    let mtime = fs::metadata(&file).unwrap().modified().unwrap();
    fs::write(&file, b"a,b\n9,9\n").unwrap();
    set_mtime(&file, mtime);
    let mut cache = StatCache::load(&cache_path);
    let cached = fingerprint_dataset(root, "train.csv", Some(&mut cache)).unwrap();
    assert_eq!(cached, first);
    // Without the cache the change is seen.
    assert_ne!(fingerprint_dataset(root, "train.csv", None).unwrap(), first);
}

#[test]
fn a_file_modified_just_before_hashing_is_not_trusted_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fresh.csv");
    fs::write(&file, b"1\n").unwrap(); // mtime: now
    let mut cache = StatCache::default();
    fingerprint_dataset(dir.path(), "fresh.csv", Some(&mut cache)).unwrap();
    let mtime = fs::metadata(&file).unwrap().modified().unwrap();
    fs::write(&file, b"2\n").unwrap();
    set_mtime(&file, mtime);
    let again = fingerprint_dataset(dir.path(), "fresh.csv", Some(&mut cache)).unwrap();
    assert_eq!(
        again.files[0].blake3,
        blake3::hash(b"2\n").to_hex().to_string()
    );
}

#[test]
fn large_files_hash_like_one_shot_blake3() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    let bytes: Vec<u8> = (0..20_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    // Three 8 MiB reads, the last one short; exactly two (the end found by an
    // empty read); one byte past the size that switches to the overlapped path;
    // one below it.
    for size in [bytes.len(), 16 << 20, (4 << 20) + 1, (4 << 20) - 1] {
        fs::write(&path, &bytes[..size]).unwrap();
        assert_eq!(
            hash_file(&path).unwrap(),
            blake3::hash(&bytes[..size]),
            "{size} bytes"
        );
    }
}

#[test]
fn lock_file_is_stable_and_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(&root.join("data/train/part-1.csv"), b"x\n1\n", 100);
    write(&root.join("data/train/part-0.csv"), b"x\n0\n", 100);
    write(&root.join("data/test.csv"), b"x\n2\n", 100);
    let mut lock = LockFile::default();
    lock.datasets.insert(
        "train".into(),
        fingerprint_dataset(root, "data/train", None).unwrap(),
    );
    lock.datasets.insert(
        "test".into(),
        fingerprint_dataset(root, "data/test.csv", None).unwrap(),
    );
    let path = root.join("trainyard.lock");
    lock.save(&path).unwrap();
    let text = fs::read_to_string(&path).unwrap();
    insta::assert_snapshot!(text, @r"
    # Written by `trainyard data fingerprint`; commit it. BLAKE3 digests of every dataset file.
    version: 1
    datasets:
      test:
        digest: a6d5d20c0b4b5d0d1bad5c2c0dde51b3f7f782e6afa5f6182120d228bddd3cf4
        files:
        - path: data/test.csv
          size: 4
          blake3: c4e06deeda80ca3f85dd8c50ede348a65af8c3278dfe1637c5d47d86cc209027
      train:
        digest: 5624ad407f32c93a47448338b48fbaa270796aafd44faf3069e8fbee5cb806c2
        files:
        - path: data/train/part-0.csv
          size: 4
          blake3: 2fa1b963c7422edf27f11ea5a53e6e26751947157dbd519804a6183a88562c09
        - path: data/train/part-1.csv
          size: 4
          blake3: c7c65a8f445b8e1a349cec7357f37b94aca0755eabd6789df366f5d8650a4e42
    ");
    assert_eq!(LockFile::load(&path).unwrap(), Some(lock));
    assert_eq!(LockFile::load(&root.join("missing.lock")).unwrap(), None);
}
