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

/// A dataset of four files of one chunk each, so shard `i` of 4 reads file `i`
/// and shard 1 of 2 files 1 and 3: duplicates are planted within a file's
/// shard and across shards, for `unique` and `unique-together`.
fn planted_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    // Header at line 1, so the row of `id = base + k` is at line k + 2.
    let file = |base: u64, extra: &[(u64, &str)]| {
        let mut text = String::from("id,user,day\n");
        for k in 0..1_000 {
            let _ = writeln!(text, "{},u{},d{}", base + k, base + k, k % 7);
        }
        for (id, pair) in extra {
            let _ = writeln!(text, "{id},{pair}");
        }
        text
    };
    // 1.csv line 7 holds id 5; 2.csv repeats it (line 1002) and the pair (u5, d5)
    // (line 1003); 4.csv repeats 2.csv's id 1010 (line 12 there; line 1002 here).
    std::fs::write(data.join("1.csv"), file(0, &[])).unwrap();
    std::fs::write(
        data.join("2.csv"),
        file(1000, &[(5, "x,d0"), (90_001, "u5,d5")]),
    )
    .unwrap();
    std::fs::write(data.join("3.csv"), file(2000, &[])).unwrap();
    std::fs::write(data.join("4.csv"), file(3000, &[(1010, "y,d0")])).unwrap();
    std::fs::write(
        dir.path().join("trainyard.yaml"),
        "version: 1\nproject: { name: planted }\ndatasets:\n  events:\n    path: data\n    schema:\n      columns:\n        - { name: id, type: integer, unique: true }\n      unique-together: [[user, day]]\n",
    )
    .unwrap();
    dir
}

/// Runs the `n` shards (each must exit `codes[i]`) and merges them: the merge's
/// code and report, and every shard's finding messages.
fn shards_then_merge(
    dir: &std::path::Path,
    n: u32,
    codes: &[i32],
) -> (i32, serde_json::Value, Vec<String>) {
    let mut files = Vec::new();
    let mut shard_messages = Vec::new();
    for i in 1..=n {
        let shard = format!("{i}/{n}");
        let (code, report) = trainyard_json(dir, &["data", "validate", "--shard", &shard]);
        assert_eq!(code, codes[i as usize - 1], "shard {shard}: {report:#}");
        let profile = common::output(&report, "profile-events").to_owned();
        assert_eq!(
            common::output(&report, "keys-events"),
            profile.replace(".json", ".keys")
        );
        files.push(profile);
        for finding in report["findings"].as_array().into_iter().flatten() {
            shard_messages.push(finding["message"].as_str().unwrap().to_owned());
        }
    }
    let mut args = vec!["data", "merge", "-o", "merged.json"];
    args.extend(files.iter().map(String::as_str));
    let (code, report) = trainyard_json(dir, &args);
    (code, report, shard_messages)
}

/// The merge's per-row findings: `(file, line, message)`.
fn row_findings(report: &serde_json::Value) -> Vec<(String, u64, String)> {
    report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| {
            Some((
                f["location"]["file"].as_str()?.to_owned(),
                f["location"]["line"].as_u64()?,
                f["message"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

#[test]
fn merge_finds_duplicates_across_shards_naming_both_places() {
    let dir = planted_project();

    // 4 shards, one file each: every planted duplicate is across shards.
    let (code, report, shard_messages) = shards_then_merge(dir.path(), 4, &[0, 0, 0, 0]);
    assert!(shard_messages.is_empty(), "{shard_messages:?}");
    assert_eq!(code, 1, "{report:#}");
    let rows = row_findings(&report);
    let at = |file: &str, line: u64| {
        rows.iter()
            .find(|(f, l, _)| f.ends_with(file) && *l == line)
            .map_or_else(
                || panic!("no finding at {file}:{line} in {rows:#?}"),
                |(_, _, message)| message.as_str(),
            )
    };
    let id_in_2 = at("2.csv", 1002);
    assert!(id_in_2.contains("`id: unique across shards`"), "{id_in_2}");
    assert!(
        id_in_2.contains("shard 2/4: same value as data/1.csv:7 in shard 1/4"),
        "{id_in_2}"
    );
    let id_in_4 = at("4.csv", 1002);
    assert!(
        id_in_4.contains("same value as data/2.csv:12 in shard 2/4"),
        "{id_in_4}"
    );
    let pair = at("2.csv", 1003);
    assert!(
        pair.contains("(user, day): unique together across shards"),
        "{pair}"
    );
    assert!(
        pair.contains("same value as data/1.csv:7 in shard 1/4"),
        "{pair}"
    );
    let summary = report["summary"].as_str().unwrap();
    assert!(
        summary.contains("`id: unique across shards` | **fail** | 2 duplicate(s) across 4 shards"),
        "{summary}"
    );

    // 2 shards: files 1 and 3 in shard 1, 2 and 4 in shard 2. 4.csv's duplicate
    // of 2.csv is within shard 2 (found there), 2.csv's of 1.csv across (merge).
    let (code, report, shard_messages) = shards_then_merge(dir.path(), 2, &[0, 1]);
    // (Its value is named when one worker met both, its line when two did.)
    let within = |m: &&String| m.contains("value `1010`") || m.contains("same value as line 12");
    assert_eq!(
        shard_messages.iter().filter(within).count(),
        1,
        "{shard_messages:?}"
    );
    assert_eq!(code, 1, "{report:#}");
    let rows = row_findings(&report);
    let ids: Vec<(String, u64)> = rows
        .iter()
        .filter(|(_, _, m)| m.contains("`id: unique across shards`"))
        .map(|(f, l, _)| (f.clone(), *l))
        .collect();
    assert_eq!(ids, [("data/2.csv".to_owned(), 1002)], "{rows:#?}");
}

#[test]
fn a_column_declared_profile_false_is_checked_but_not_profiled() {
    let dir = project("", "");
    let (code, _) = trainyard_json(dir.path(), &["data", "validate"]);
    assert_eq!(code, 0);
    let profile_of = |dir: &std::path::Path| -> serde_json::Value {
        serde_json::from_str(
            &std::fs::read_to_string(dir.join(".trainyard/profiles/events.json")).unwrap(),
        )
        .unwrap()
    };
    let full = profile_of(dir.path());

    // `city` checked only, with an `enum` that now fails on one value.
    let manifest = dir.path().join("trainyard.yaml");
    let text = std::fs::read_to_string(&manifest).unwrap().replace(
        "enum: [paris, lyon, nantes, \"lille, nord\"] }",
        "enum: [paris, lyon, nantes], profile: false }",
    );
    std::fs::write(&manifest, text).unwrap();
    let (code, report) = trainyard_json(dir.path(), &["data", "validate"]);
    assert_eq!(code, 1, "{report:#}");
    let checks = report["data"]["datasets"][0]["checks"].as_array().unwrap();
    let city = checks
        .iter()
        .find(|check| check["rule"] == "check/enum")
        .unwrap();
    assert_eq!(city["passed"], false, "{city:#}");
    assert_eq!(city["offenders"][0]["value"], "lille, nord");

    // The profile is the full one less `city`, every other column the same.
    let partial = profile_of(dir.path());
    let names = |profile: &serde_json::Value| -> Vec<String> {
        profile["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|column| column["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&full), ["id", "x", "city", "comment"]);
    assert_eq!(names(&partial), ["id", "x", "comment"]);
    let mut expected = full.clone();
    expected["columns"]
        .as_array_mut()
        .unwrap()
        .retain(|column| column["name"] != "city");
    assert_eq!(partial, expected);
}

#[test]
fn json_output_says_where_each_dataset_spent_its_time() {
    let dir = project("", "");
    let (code, report) = trainyard_json(dir.path(), &["data", "validate"]);
    assert_eq!(code, 0);
    let phases = &report["data"]["datasets"][0]["phases"];
    for phase in [
        "read_seconds",
        "check_seconds",
        "profile_seconds",
        "fingerprint_seconds",
        "wall_seconds",
    ] {
        let seconds = phases[phase]
            .as_f64()
            .unwrap_or_else(|| panic!("no {phase} in {phases:#}"));
        assert!(seconds >= 0.0, "{phases:#}");
    }
    // 200k rows are not read, checked and profiled in no time.
    assert!(phases["read_seconds"].as_f64().unwrap() > 0.0, "{phases:#}");
    assert!(
        phases["check_seconds"].as_f64().unwrap() > 0.0,
        "{phases:#}"
    );
    // A shard fingerprints nothing: no such phase.
    let (code, report) = trainyard_json(dir.path(), &["data", "validate", "--shard", "1/2"]);
    assert_eq!(code, 0);
    let phases = &report["data"]["datasets"][0]["phases"];
    assert!(phases.get("fingerprint_seconds").is_none(), "{phases:#}");
    assert!(phases["wall_seconds"].as_f64().unwrap() > 0.0, "{phases:#}");
}

#[test]
fn merge_fails_a_whole_dataset_check_of_a_column_no_shard_profiled() {
    let dir = project(", null-fraction: { max: 0.5 }, profile: false", "");
    let mut args = vec!["data".to_owned(), "merge".to_owned()];
    for shard in ["1/2", "2/2"] {
        let (code, report) = trainyard_json(dir.path(), &["data", "validate", "--shard", shard]);
        assert_eq!(code, 0, "{report:#}");
        args.push(common::output(&report, "profile-events").to_owned());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, report) = trainyard_json(dir.path(), &args);
    assert_eq!(code, 1, "{report:#}");
    let message = report["findings"][0]["message"].as_str().unwrap();
    assert!(
        message
            .contains("`x: null fraction <= 0.5` failed: the column is declared `profile: false`"),
        "{message}"
    );
}

#[test]
fn merge_passes_without_duplicates_across_shards_and_needs_every_shards_keys() {
    let dir = planted_project();
    // Without duplicates across shards the merge passes, and says it checked.
    std::fs::write(
        dir.path().join("data/2.csv"),
        "id,user,day\n1000,u1000,d0\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("data/4.csv"),
        "id,user,day\n3000,u3000,d0\n",
    )
    .unwrap();
    let (code, report, _) = shards_then_merge(dir.path(), 4, &[0, 0, 0, 0]);
    assert_eq!(code, 0, "{report:#}");
    let summary = report["summary"].as_str().unwrap();
    assert!(
        summary.contains("`id: unique across shards` | pass"),
        "{summary}"
    );
    assert!(
        summary.contains("`(user, day): unique together across shards` | pass"),
        "{summary}"
    );

    // A shard's keys missing (its profile copied alone) is refused, not skipped.
    std::fs::remove_file(
        dir.path()
            .join(".trainyard/profiles/events.shard-3-of-4.keys"),
    )
    .unwrap();
    let mut args = vec!["data", "merge", "-o", "merged.json"];
    let profiles: Vec<String> = (1..=4)
        .map(|i| format!(".trainyard/profiles/events.shard-{i}-of-4.json"))
        .collect();
    args.extend(profiles.iter().map(String::as_str));
    trainyard()
        .current_dir(dir.path())
        .args(&args)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "events.shard-3-of-4.keys is missing beside",
        ));

    // Without unique checks the shards write no keys and remove an earlier run's.
    let manifest = dir.path().join("trainyard.yaml");
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace(", unique: true", "")
        .replace("      unique-together: [[user, day]]\n", "");
    std::fs::write(&manifest, text).unwrap();
    for i in 1..=4 {
        let (code, report) = trainyard_json(
            dir.path(),
            &["data", "validate", "--shard", &format!("{i}/4")],
        );
        assert_eq!(code, 0, "{report:#}");
        assert!(report["outputs"].get("keys-events").is_none(), "{report:#}");
    }
    assert!(
        !dir.path()
            .join(".trainyard/profiles/events.shard-1-of-4.keys")
            .exists()
    );
    let (code, report) = trainyard_json(dir.path(), &args);
    assert_eq!(code, 0, "{report:#}");
    assert!(
        !report["summary"]
            .as_str()
            .unwrap()
            .contains("across shards")
    );
}
