//! `data validate` saves each dataset's profile; `--shard i/n` on n runners then
//! `data merge` gives the very same profile, byte for byte, and the whole-dataset
//! checks the shards leave to the merge.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot set up should stop loudly

use crate::common;

use std::fmt::Write as _;

use common::{trainyard, trainyard_json};
use predicates::prelude::*;

/// A deterministic generator (SplitMix64), so the data is the same everywhere.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// `rows` rows: a unique id, a float with nulls, a few categories, free text
/// with many distinct values (so the profile keeps sketches, not exact counts).
fn csv(rows: u64, first_id: u64, seed: u64) -> String {
    let mut rng = Rng(seed);
    let mut text = String::from("id,x,city,comment\n");
    for i in 0..rows {
        let r = rng.next();
        let x = if r.is_multiple_of(17) {
            String::new()
        } else {
            #[allow(clippy::cast_precision_loss)]
            let value = (r >> 11) as f64 / (1u64 << 53) as f64 * 200.0 - 50.0;
            format!("{value:.6}")
        };
        let city = ["paris", "lyon", "nantes", "\"lille, nord\""][(r >> 7) as usize % 4];
        let _ = writeln!(text, "{},{x},{city},note {}", first_id + i, r % 50_000);
    }
    text
}

/// A project whose dataset is a folder: one ~9 MB file (several 4 MiB chunks)
/// and two small partitions, so shards split inside a file and across files.
fn project(x_extra: &str, schema_extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("part=2")).unwrap();
    std::fs::write(data.join("part=1.csv"), csv(200_000, 0, 1)).unwrap();
    std::fs::write(data.join("part=2/a.csv"), csv(500, 1_000_000, 2)).unwrap();
    std::fs::write(data.join("part=2/b.csv"), csv(700, 2_000_000, 3)).unwrap();
    std::fs::write(
        dir.path().join("trainyard.yaml"),
        format!(
            "version: 1\nproject: {{ name: shards }}\ndatasets:\n  events:\n    path: data\n    schema:\n      columns:\n        - {{ name: id, type: integer, nullable: false, unique: true }}\n        - {{ name: x, type: number, min: -50, max: 150{x_extra} }}\n        - {{ name: city, type: categorical, enum: [paris, lyon, nantes, \"lille, nord\"] }}\n{schema_extra}"
        ),
    )
    .unwrap();
    dir
}

#[test]
fn validate_saves_the_profile_and_the_fingerprint_of_each_dataset() {
    let dir = project("", "");
    let (code, report) = trainyard_json(dir.path(), &["data", "validate"]);
    assert_eq!(code, 0, "{report:#}");
    let outputs = &report["outputs"];
    assert_eq!(outputs["rows-events"], "201200");
    let profile_path = outputs["profile-events"].as_str().unwrap();
    assert!(profile_path.ends_with(".trainyard/profiles/events.json"));
    assert_eq!(outputs["digest-events"].as_str().unwrap().len(), 64);

    let profile: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(profile_path)).unwrap()).unwrap();
    assert_eq!(profile["format"], "trainyard-profile");
    assert_eq!(profile["dataset"], "events");
    assert_eq!(profile["rows"], 201_200);
    let columns: Vec<&str> = profile["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(columns, ["id", "x", "city", "comment"]);
    let x = &profile["columns"][1];
    assert_eq!(x["count"], 201_200);
    assert!(x["nulls"].as_u64().unwrap() > 10_000);
    assert!(x["min"].as_f64().unwrap() >= -50.0 && x["max"].as_f64().unwrap() <= 150.0);
    let city = &profile["columns"][2];
    assert_eq!(city["distinct"], 4);
    assert_eq!(
        city["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["count"].as_u64().unwrap())
            .sum::<u64>(),
        201_200
    );
    assert_eq!(profile["columns"][3]["high_cardinality"], true);

    // The fingerprint agrees with `data fingerprint`, which now only stats the files.
    let (code, fingerprint) = trainyard_json(dir.path(), &["data", "fingerprint"]);
    assert_eq!(code, 0);
    assert_eq!(
        fingerprint["outputs"]["digest-events"],
        outputs["digest-events"]
    );
    // An unchanged lock is not rewritten (no write, no fsync on a re-run).
    let lock = dir.path().join("trainyard.lock");
    let written = std::fs::metadata(&lock).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let (code, _) = trainyard_json(dir.path(), &["data", "fingerprint"]);
    assert_eq!(code, 0);
    assert_eq!(
        std::fs::metadata(&lock).unwrap().modified().unwrap(),
        written
    );
    // A lock edited behind its back (a merge, a checkout) is not trusted: `--check`
    // compares it with the data, and a plain run writes it again.
    let good = std::fs::read_to_string(&lock).unwrap();
    let edited = good.replacen("digest: ", "digest: 00", 1);
    std::fs::write(&lock, &edited).unwrap();
    let (code, _) = trainyard_json(dir.path(), &["data", "fingerprint", "--check"]);
    assert_eq!(code, 1);
    let (code, _) = trainyard_json(dir.path(), &["data", "fingerprint"]);
    assert_eq!(code, 0);
    assert_eq!(std::fs::read_to_string(&lock).unwrap(), good);
}

#[test]
fn shards_merged_equal_the_one_pass_profile_byte_for_byte() {
    let dir = project("", "      rows: { min: 1000 }\n");
    let (code, _) = trainyard_json(dir.path(), &["data", "validate"]);
    assert_eq!(code, 0);
    let one_pass =
        std::fs::read_to_string(dir.path().join(".trainyard/profiles/events.json")).unwrap();

    for n in [2u32, 3] {
        let mut shard_files = Vec::new();
        let mut rows = 0;
        for i in 1..=n {
            let shard = format!("{i}/{n}");
            let (code, report) = trainyard_json(
                dir.path(),
                &[
                    "data",
                    "validate",
                    "--shard",
                    &shard,
                    "--profiles",
                    "shards",
                ],
            );
            assert_eq!(code, 0, "shard {shard}: {report:#}");
            assert!(
                report["title"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("shard {shard}"))
            );
            // A shard reads all files but fingerprints none: that is the full run's job.
            assert!(report["outputs"].get("digest-events").is_none());
            rows += report["outputs"]["rows-events"]
                .as_str()
                .unwrap()
                .parse::<u64>()
                .unwrap();
            shard_files.push(
                report["outputs"]["profile-events"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        // Every row is in exactly one shard.
        assert_eq!(rows, 201_200, "{n} shards");
        assert!(
            shard_files
                .iter()
                .all(|f| f.ends_with(&format!("-of-{n}.json")))
        );

        let mut args = vec!["data", "merge", "-o", "merged.json"];
        // The order the shards are given in does not matter.
        args.extend(shard_files.iter().rev().map(String::as_str));
        let (code, report) = trainyard_json(dir.path(), &args);
        assert_eq!(code, 0, "{report:#}");
        assert_eq!(report["outputs"]["rows"], "201200");
        assert!(
            report["summary"]
                .as_str()
                .unwrap()
                .contains("`row count >= 1000` | pass")
        );
        let merged = std::fs::read_to_string(dir.path().join("merged.json")).unwrap();
        assert!(merged == one_pass, "{n} shards merged differ from one pass");
    }
}

#[test]
fn merge_evaluates_the_whole_dataset_checks_the_shards_skip() {
    let dir = project(
        ", null-fraction: { max: 0.01 }",
        "      rows: { min: 300000 }\n",
    );
    // Each shard passes: the row count and the null fraction are whole-dataset checks.
    let mut files = Vec::new();
    for shard in ["1/2", "2/2"] {
        let (code, report) = trainyard_json(dir.path(), &["data", "validate", "--shard", shard]);
        assert_eq!(code, 0, "{report:#}");
        files.push(
            report["outputs"]["profile-events"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let mut args = vec!["data", "merge"];
    args.extend(files.iter().map(String::as_str));
    let (code, report) = trainyard_json(dir.path(), &args);
    assert_eq!(code, 1, "{report:#}");
    let messages: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages[0].contains("`row count >= 300000` failed: 201200 rows"));
    assert!(messages[1].contains("`x: null fraction <= 0.01` failed"));
    assert!(
        report["outputs"]["profile"]
            .as_str()
            .unwrap()
            .ends_with(".trainyard/profiles/events.json")
    );
}

#[test]
fn merge_refuses_an_incomplete_or_mixed_set_of_shards() {
    let dir = project("", "");
    let mut files = Vec::new();
    for shard in ["1/3", "2/3", "3/3"] {
        let (code, report) = trainyard_json(dir.path(), &["data", "validate", "--shard", shard]);
        assert_eq!(code, 0);
        files.push(
            report["outputs"]["profile-events"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    trainyard()
        .current_dir(dir.path())
        .args(["data", "merge", &files[0], &files[2]])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("shard(s) 2/3 missing"));
    trainyard()
        .current_dir(dir.path())
        .args(["data", "merge", &files[0], &files[0], &files[1], &files[2]])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("shard 1/3 is given twice"));
    trainyard()
        .current_dir(dir.path())
        .args(["data", "validate", "--shard", "4/3"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("expected `i/n` with 1 <= i <= n"));
    std::fs::write(dir.path().join("not-a-profile.json"), "{\"a\": 1}").unwrap();
    trainyard()
        .current_dir(dir.path())
        .args(["data", "merge", "not-a-profile.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "not-a-profile.json is not a trainyard profile",
        ));
}
