//! The git ledger in real repositories: records round-trip, the work tree and
//! index are never touched, the registry numbers and resolves versions, and
//! concurrent writers (threads and processes) lose nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;
use std::process::{Command, Stdio};

use pretty_assertions::assert_eq;
use support::{artifact, at, git, project, run};
use trainyard_ledger::{
    Deployment, DeploymentKind, GitLedger, Ledger, LedgerError, Outcome, REGISTRY_REF, RUNS_REF,
    RunId,
};

#[test]
fn a_run_round_trips_with_nan_and_infinite_metrics_and_is_found_by_prefix() {
    let temp = tempfile::tempdir().unwrap();
    let dir = project(temp.path(), "p");
    let ledger = GitLedger::open(dir.join("sub").parent().unwrap()).unwrap();

    let mut diverged = run(1, at("2026-11-25T10:00:00.123Z"));
    diverged.metrics.insert("loss".to_owned(), f64::NAN);
    diverged.series.insert(
        "grad".to_owned(),
        vec![(1, 1.0), (2, f64::INFINITY), (3, f64::NEG_INFINITY)],
    );
    diverged.outcome = Outcome::Stopped {
        reason: "loss is NaN at step 3".to_owned(),
    };
    let other = run(2, at("2026-11-25T11:00:00Z"));
    ledger.append_run(&diverged).unwrap();
    ledger.append_run(&other).unwrap();

    let back = ledger.run(diverged.id.as_str()).unwrap();
    assert!(back.metrics["loss"].is_nan());
    assert_eq!(back.series["grad"][1], (2, f64::INFINITY));
    assert_eq!(back.series["grad"][2], (3, f64::NEG_INFINITY));
    assert_eq!(back.outcome, diverged.outcome);
    assert_eq!(back.id, diverged.id);
    assert_eq!(ledger.run(other.id.as_str()).unwrap(), other);

    // A unique prefix finds the run; a shared one lists the candidates.
    assert_eq!(ledger.run("20261125T10").unwrap().id, diverged.id);
    match ledger.run("20261125T1") {
        Err(LedgerError::AmbiguousRun { matches, .. }) => assert_eq!(matches.len(), 2),
        other => panic!("expected an ambiguous prefix, got {other:?}"),
    }
    assert!(matches!(
        ledger.run("2025"),
        Err(LedgerError::RunNotFound { .. })
    ));

    // Ids sort by start time: the list is oldest first.
    assert_eq!(
        ledger.run_ids().unwrap(),
        vec![diverged.id.clone(), other.id.clone()]
    );
    let runs = ledger.runs().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[1], other);
}

#[test]
fn recording_the_same_run_twice_is_a_no_op_but_a_different_one_with_its_id_is_refused() {
    let temp = tempfile::tempdir().unwrap();
    let dir = project(temp.path(), "p");
    let ledger = GitLedger::open(&dir).unwrap();
    let record = run(1, at("2026-11-25T10:00:00Z"));
    ledger.append_run(&record).unwrap();
    ledger.append_run(&record).unwrap();
    assert_eq!(ledger.runs().unwrap().len(), 1);
    assert_eq!(
        git(&dir, &["rev-list", "--count", RUNS_REF]),
        "1",
        "no empty commit"
    );

    let mut changed = record.clone();
    changed.metrics.insert("accuracy".to_owned(), 0.1);
    assert!(matches!(
        ledger.append_run(&changed),
        Err(LedgerError::RunExists { .. })
    ));
}

#[test]
fn writes_touch_neither_the_work_tree_nor_the_index_nor_head() {
    let temp = tempfile::tempdir().unwrap();
    let dir = project(temp.path(), "p");
    // An unstaged change and a staged one, which the ledger must leave alone.
    std::fs::write(dir.join("train.py"), "print('edited')\n").unwrap();
    std::fs::write(dir.join("notes.md"), "staged\n").unwrap();
    git(&dir, &["add", "notes.md"]);
    let status_before = git(&dir, &["status", "--porcelain"]);
    let index_before = std::fs::read(dir.join(".git/index")).unwrap();
    let head_before = git(&dir, &["rev-parse", "HEAD"]);

    let ledger = GitLedger::open(&dir).unwrap();
    let record = run(1, at("2026-11-25T10:00:00Z"));
    ledger.append_run(&record).unwrap();
    ledger
        .register("classifier", &record.id, &artifact(1))
        .unwrap();

    assert_eq!(git(&dir, &["status", "--porcelain"]), status_before);
    assert_eq!(std::fs::read(dir.join(".git/index")).unwrap(), index_before);
    assert_eq!(git(&dir, &["rev-parse", "HEAD"]), head_before);
    // The records are plain git: readable with git itself.
    let listed = git(&dir, &["ls-tree", "-r", "--name-only", RUNS_REF]);
    assert_eq!(listed, format!("runs/202611/25/{}.json", record.id));
    let text = git(&dir, &["show", &format!("{RUNS_REF}:{listed}")]);
    assert!(text.contains("\"accuracy\": 0.901"), "{text}");
    assert_eq!(
        git(&dir, &["ls-tree", "-r", "--name-only", REGISTRY_REF]),
        "models/classifier/versions/00000001.json"
    );
}

#[test]
fn the_registry_numbers_versions_moves_aliases_with_history_and_resolves_specs() {
    let temp = tempfile::tempdir().unwrap();
    let dir = project(temp.path(), "p");
    let ledger = GitLedger::open(&dir).unwrap();
    let runs: Vec<_> = (1..=3)
        .map(|n| run(n, at(&format!("2026-11-25T1{n}:00:00Z"))))
        .collect();
    for (n, record) in (1..).zip(&runs) {
        ledger.append_run(record).unwrap();
        let version = ledger
            .register("classifier", &record.id, &artifact(n))
            .unwrap();
        assert_eq!(version.version, u64::from(n));
    }

    let first = ledger
        .move_alias("classifier", "champion", 1, "ada", "first model")
        .unwrap();
    assert_eq!(first.previous, None);
    ledger
        .move_alias("classifier", "challenger", 3, "ci", "trained on main")
        .unwrap();
    let promoted = ledger
        .move_alias("classifier", "champion", 2, "grace", "better recall")
        .unwrap();
    assert_eq!(promoted.previous, Some(1));
    ledger
        .set_tag(
            "classifier",
            2,
            "reviewed",
            "yes",
            "grace",
            "model card read",
        )
        .unwrap();
    ledger
        .set_tag("classifier", 2, "reviewed", "twice", "ada", "second look")
        .unwrap();

    let history = ledger
        .alias_history("classifier", Some("champion"))
        .unwrap();
    let moves: Vec<_> = history
        .iter()
        .map(|m| (m.version, m.previous, m.actor.as_str(), m.reason.as_str()))
        .collect();
    assert_eq!(
        moves,
        vec![
            (1, None, "ada", "first model"),
            (2, Some(1), "grace", "better recall")
        ]
    );
    assert_eq!(ledger.alias_history("classifier", None).unwrap().len(), 3);
    assert_eq!(ledger.tag_history("classifier").unwrap().len(), 2);

    for (spec, expected) in [
        ("3", 3),
        ("v2", 2),
        ("champion", 2),
        ("challenger", 3),
        ("latest", 3),
    ] {
        assert_eq!(
            ledger.resolve("classifier", spec).unwrap().version,
            expected,
            "{spec}"
        );
    }
    let champion = ledger.resolve("classifier", "champion").unwrap();
    assert_eq!(champion.run_id, runs[1].id);
    assert_eq!(champion.artifact, artifact(2));
    assert_eq!(champion.tags["reviewed"], "twice");
    assert_eq!(champion.aliases, vec!["champion".to_owned()]);

    match ledger.resolve("classifier", "v9") {
        Err(LedgerError::VersionNotFound { known, .. }) => {
            assert_eq!(known, ["1", "2", "3", "challenger", "champion"]);
        }
        other => panic!("expected VersionNotFound, got {other:?}"),
    }
    assert!(matches!(
        ledger.resolve("regressor", "1"),
        Err(LedgerError::ModelNotFound { .. })
    ));
    assert!(matches!(
        ledger.move_alias("classifier", "champion", 7, "ada", "typo"),
        Err(LedgerError::VersionNotFound { .. })
    ));
    assert!(matches!(
        ledger.move_alias("classifier", "../escape", 1, "ada", "bad"),
        Err(LedgerError::InvalidName { .. })
    ));
    for reserved in ["7", "v2", "latest"] {
        assert!(matches!(
            ledger.move_alias("classifier", reserved, 1, "ada", "confusing"),
            Err(LedgerError::ReservedAlias { .. })
        ));
    }
    assert_eq!(ledger.models().unwrap(), vec!["classifier".to_owned()]);
}

#[test]
fn imports_copy_a_registry_with_its_numbers_times_actors_and_reasons() {
    let temp = tempfile::tempdir().unwrap();
    let source = GitLedger::open(project(temp.path(), "source")).unwrap();
    let target = GitLedger::open(project(temp.path(), "target")).unwrap();
    let first = run(1, at("2026-11-25T10:00:00Z"));
    source.append_run(&first).unwrap();
    for n in 1..=3 {
        source.register("churn", &first.id, &artifact(n)).unwrap();
    }
    source
        .move_alias("churn", "champion", 1, "ada", "first")
        .unwrap();
    source
        .move_alias("churn", "champion", 3, "bob", "better")
        .unwrap();
    source
        .set_tag("churn", 2, "rejected", "true", "ada", "worse recall")
        .unwrap();

    // Versions out of order are refused, nothing written.
    let versions = source.versions("churn").unwrap();
    assert!(matches!(
        target.import_version(&versions[1]),
        Err(LedgerError::ImportOutOfOrder {
            version: 2,
            next: 1,
            ..
        })
    ));
    for version in &versions {
        target.import_version(version).unwrap();
        // Again: nothing new.
        target.import_version(version).unwrap();
    }
    // A move or tag of a version that is not there is refused.
    let mut stray = source.alias_history("churn", None).unwrap()[0].clone();
    stray.version = 9;
    assert!(matches!(
        target.import_alias_move(&stray),
        Err(LedgerError::VersionNotFound { .. })
    ));
    for moved in source.alias_history("churn", None).unwrap() {
        target.import_alias_move(&moved).unwrap();
    }
    for change in source.tag_history("churn").unwrap() {
        target.import_tag_change(&change).unwrap();
    }

    assert_eq!(target.versions("churn").unwrap(), versions);
    assert_eq!(
        target.alias_history("churn", None).unwrap(),
        source.alias_history("churn", None).unwrap()
    );
    assert_eq!(
        target.tag_history("churn").unwrap(),
        source.tag_history("churn").unwrap()
    );
    assert_eq!(
        target.aliases("churn").unwrap(),
        source.aliases("churn").unwrap()
    );
}

#[test]
fn an_environment_history_lists_deployments_newest_last() {
    let temp = tempfile::tempdir().unwrap();
    let dir = project(temp.path(), "p");
    let ledger = GitLedger::open(&dir).unwrap();
    assert!(ledger.deployments("production").unwrap().is_empty());
    let record = run(1, at("2026-11-25T10:00:00Z"));
    let deployment = |version: u64, kind| Deployment {
        model: "classifier".to_owned(),
        version,
        digest: artifact(1).digest,
        run_id: record.id.clone(),
        commit: "c".repeat(40),
        verdict_digest: Some("d".repeat(64)),
        at: at("2026-11-25T12:00:00Z"),
        actor: "ada".to_owned(),
        reason: format!("{kind:?} {version}"),
        kind,
    };
    ledger
        .record_deployment("production", &deployment(1, DeploymentKind::Promote))
        .unwrap();
    ledger
        .record_deployment("production", &deployment(2, DeploymentKind::Promote))
        .unwrap();
    ledger
        .record_deployment("staging", &deployment(2, DeploymentKind::Promote))
        .unwrap();
    ledger
        .record_deployment("production", &deployment(1, DeploymentKind::Rollback))
        .unwrap();
    let history = ledger.deployments("production").unwrap();
    assert_eq!(
        history
            .iter()
            .map(|d| (d.version, d.kind))
            .collect::<Vec<_>>(),
        vec![
            (1, DeploymentKind::Promote),
            (2, DeploymentKind::Promote),
            (1, DeploymentKind::Rollback)
        ]
    );
    assert_eq!(history[2], deployment(1, DeploymentKind::Rollback));
    assert_eq!(
        ledger.environments().unwrap(),
        vec!["production", "staging"]
    );
}

#[test]
fn opening_a_folder_outside_any_repository_says_so() {
    let temp = tempfile::tempdir().unwrap();
    let error = GitLedger::open(temp.path()).unwrap_err();
    assert!(matches!(error, LedgerError::NotARepository { .. }));
    assert!(error.to_string().contains("git init"), "{error}");
}

/// Each writer appends a run, registers it, and records a deployment.
fn write_one(dir: &std::path::Path, n: u32) -> RunId {
    let ledger = GitLedger::open(dir).unwrap();
    let record = run(n, chrono::Utc::now());
    ledger.append_run(&record).unwrap();
    ledger
        .register("classifier", &record.id, &artifact(n))
        .unwrap();
    ledger
        .record_deployment(
            "staging",
            &Deployment {
                model: "classifier".to_owned(),
                version: u64::from(n),
                digest: artifact(n).digest,
                run_id: record.id.clone(),
                commit: "c".repeat(40),
                verdict_digest: None,
                at: chrono::Utc::now(),
                actor: format!("writer-{n}"),
                reason: "concurrency test".to_owned(),
                kind: DeploymentKind::Promote,
            },
        )
        .unwrap();
    record.id
}

fn assert_every_record_is_there(dir: &std::path::Path, writers: u32) {
    let ledger = GitLedger::open(dir).unwrap();
    let runs = ledger.runs().unwrap();
    assert_eq!(runs.len(), writers as usize);
    // Uncorrupted: every record decodes and equals what its writer built
    // (the writer's number is in its seed parameter).
    for record in &runs {
        let n = u32::try_from(record.params["seed"].as_u64().unwrap()).unwrap();
        let mut expected = run(n, record.started_at);
        expected.id = record.id.clone();
        assert_eq!(record, &expected);
    }
    let versions = ledger.versions("classifier").unwrap();
    assert_eq!(
        versions.iter().map(|v| v.version).collect::<Vec<_>>(),
        (1..=u64::from(writers)).collect::<Vec<_>>(),
        "versions are numbered without gaps or duplicates"
    );
    let registered: BTreeSet<_> = versions.iter().map(|v| v.run_id.clone()).collect();
    let recorded: BTreeSet<_> = runs.iter().map(|r| r.id.clone()).collect();
    assert_eq!(registered, recorded, "every run registered exactly once");
    let actors: BTreeSet<_> = ledger
        .deployments("staging")
        .unwrap()
        .into_iter()
        .map(|d| d.actor)
        .collect();
    assert_eq!(actors.len(), writers as usize);
    // The chain is linear: one commit per write, no record overwritten.
    let commits = git(dir, &["rev-list", "--count", REGISTRY_REF]);
    assert_eq!(commits, (writers * 2).to_string());
}

#[test]
fn twenty_four_threads_writing_at_once_lose_nothing() {
    let temp = tempfile::tempdir().unwrap();
    let dir = project(temp.path(), "p");
    let writers = 24;
    let barrier = std::sync::Barrier::new(writers as usize);
    std::thread::scope(|scope| {
        for n in 1..=writers {
            let dir = &dir;
            let barrier = &barrier;
            scope.spawn(move || {
                barrier.wait();
                write_one(dir, n);
            });
        }
    });
    assert_every_record_is_there(&dir, writers);
}

/// The body of one writer process (run by the test below; ignored otherwise).
#[test]
#[ignore = "a child process of twenty_writer_processes_at_once_lose_nothing"]
fn child_writer() {
    let (Ok(dir), Ok(n)) = (
        std::env::var("LEDGER_CHILD_DIR"),
        std::env::var("LEDGER_CHILD_N"),
    ) else {
        return;
    };
    write_one(std::path::Path::new(&dir), n.parse().unwrap());
}

#[test]
fn twenty_writer_processes_at_once_lose_nothing() {
    let temp = tempfile::tempdir().unwrap();
    let dir = project(temp.path(), "p");
    let writers = 20;
    let this_test_binary = std::env::current_exe().unwrap();
    let children: Vec<_> = (1..=writers)
        .map(|n| {
            Command::new(&this_test_binary)
                .args([
                    "child_writer",
                    "--exact",
                    "--ignored",
                    "--quiet",
                    "--test-threads=1",
                ])
                .env("LEDGER_CHILD_DIR", &dir)
                .env("LEDGER_CHILD_N", n.to_string())
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    assert_every_record_is_there(&dir, writers);
}

/// Not a check: prints how the ledger scales (run with `--ignored --nocapture`, ideally `--release`).
#[test]
#[ignore = "a measurement, not a check"]
fn measure_a_thousand_runs() {
    let temp = tempfile::tempdir().unwrap();
    let dir = project(temp.path(), "p");
    let ledger = GitLedger::open(&dir).unwrap();
    let start = std::time::Instant::now();
    let mut last = None;
    // A busy project: a run an hour, for six weeks.
    let first = at("2026-01-01T00:00:00Z");
    for n in 0..1000 {
        let record = run(n, first + chrono::Duration::hours(i64::from(n)));
        ledger.append_run(&record).unwrap();
        last = Some(record.id);
    }
    let written = start.elapsed();
    let start = std::time::Instant::now();
    let ids = ledger.run_ids().unwrap();
    let listed = start.elapsed();
    let start = std::time::Instant::now();
    ledger.run(last.unwrap().as_str()).unwrap();
    let one = start.elapsed();
    let start = std::time::Instant::now();
    let all = ledger.runs().unwrap();
    let every = start.elapsed();
    let size = git(&dir, &["count-objects", "-vH"]);
    println!(
        "1000 appends: {written:?} ({:?} each); run_ids ({}): {listed:?}; one run: {one:?}; all runs ({}): {every:?}\n{size}",
        written / 1000,
        ids.len(),
        all.len()
    );
}

/// A writer killed between taking and releasing `refs/trainyard/runs.lock`
/// leaves the lock file behind. It once made every later write give up
/// (after about 20 s of retries), so a finished training's record was lost;
/// now the next writer, holding the ledger's advisory lock (so no trainyard
/// process is writing), removes a ref lock that old, records, and says so.
#[test]
fn a_stale_ref_lock_left_by_a_killed_writer_is_removed_and_the_record_kept() {
    let temp = tempfile::tempdir().unwrap();
    let dir = project(temp.path(), "p");
    let ledger = GitLedger::open(&dir).unwrap();
    ledger
        .append_run(&run(1, at("2026-11-25T10:00:00Z")))
        .unwrap();
    let lock_file = dir.join(".git/refs/trainyard/runs.lock");
    std::fs::write(&lock_file, "0000000000000000000000000000000000000000\n").unwrap();
    let minute_ago = std::time::SystemTime::now() - std::time::Duration::from_mins(1);
    std::fs::File::options()
        .write(true)
        .open(&lock_file)
        .unwrap()
        .set_modified(minute_ago)
        .unwrap();

    let second = run(2, at("2026-11-25T11:00:00Z"));
    ledger.append_run(&second).unwrap();

    assert_eq!(ledger.run(second.id.as_str()).unwrap(), second);
    assert!(!lock_file.exists());
    let recoveries = ledger.recoveries();
    assert_eq!(recoveries.len(), 1, "{recoveries:?}");
    assert!(recoveries[0].contains("runs.lock"), "{recoveries:?}");
}

/// A ref lock of this instant may be a live `git` command's: it is waited
/// for, not removed.
#[test]
fn a_fresh_ref_lock_is_waited_for_not_removed() {
    let temp = tempfile::tempdir().unwrap();
    let dir = project(temp.path(), "p");
    let ledger = GitLedger::open(&dir).unwrap();
    ledger
        .append_run(&run(1, at("2026-11-25T10:00:00Z")))
        .unwrap();
    let lock_file = dir.join(".git/refs/trainyard/runs.lock");
    std::fs::write(&lock_file, "0000000000000000000000000000000000000000\n").unwrap();
    let holder = {
        let lock_file = lock_file.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(500));
            std::fs::remove_file(lock_file).unwrap();
        })
    };
    let second = run(2, at("2026-11-25T11:00:00Z"));
    ledger.append_run(&second).unwrap();
    holder.join().unwrap();
    assert!(ledger.recoveries().is_empty());
    assert_eq!(ledger.run(second.id.as_str()).unwrap(), second);
}
