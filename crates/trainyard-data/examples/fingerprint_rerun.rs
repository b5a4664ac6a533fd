//! Times a re-fingerprint of 10,000 unchanged files with the stat cache (the
//! issue's target: < 50 ms). Run:
//! `cargo run --release -p trainyard-data --example fingerprint_rerun`.

#![allow(clippy::expect_used)] // a measurement script

use std::time::{Duration, Instant, SystemTime};

use trainyard_data::fingerprint::{CACHE_FILE, StatCache, fingerprint_dataset};

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let old = SystemTime::now() - Duration::from_hours(1);
    for i in 0..10_000 {
        let path = root.join(format!("data/part-{:03}/file-{i:05}.csv", i / 100));
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, format!("id,value\n{i},{}\n", i * 7)).expect("write");
        std::fs::File::options()
            .write(true)
            .open(&path)
            .expect("open")
            .set_modified(old)
            .expect("mtime");
    }
    let cache_path = root.join(CACHE_FILE);
    let start = Instant::now();
    let mut cache = StatCache::load(&cache_path);
    let first = fingerprint_dataset(root, "data", Some(&mut cache)).expect("fingerprint");
    cache.save(&cache_path).expect("save");
    println!(
        "first run (hash 10,000 files): {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );

    for _ in 0..3 {
        let start = Instant::now();
        let mut cache = StatCache::load(&cache_path);
        let again = fingerprint_dataset(root, "data", Some(&mut cache)).expect("fingerprint");
        cache.save(&cache_path).expect("save");
        let elapsed = start.elapsed();
        assert_eq!(again, first);
        println!(
            "re-run, 10,000 unchanged files (load cache, list, stat, digest): {:.1} ms",
            elapsed.as_secs_f64() * 1e3
        );
    }
}
