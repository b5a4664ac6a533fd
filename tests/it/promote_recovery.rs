//! A promotion killed half-way is finished by running it again, and the
//! ledger never disagrees with `main` afterwards. Each case builds, in a real
//! git repository, the state a kill left (found by the campaign of issue 14):
//! a commit on `main` without its ledger record, a rollback whose work tree
//! and index did not follow `main`, git's `index.lock` left behind, and a
//! ledger ref's lock (`runs.lock`) left behind.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use crate::common;
use crate::common::gate_fixture;

use gate_fixture::Repo;
use trainyard_ledger::{DeploymentKind, Ledger, REGISTRY_REF};

const GATES: &str =
    "  staging:\n    metrics: [\"accuracy >= 0.9\"]\n  prod:\n    metrics: [\"accuracy >= 0.9\"]\n";

const PROD: &str = "deploy/prod/release.yaml";

fn findings(report: &serde_json::Value, rule: &str) -> Vec<String> {
    report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|finding| finding["rule"] == rule)
        .map(|finding| finding["message"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Killed after `main` held the commit, before the ledger recorded it: the
/// re-run said "nothing to promote" and the ledger never learned of it.
#[test]
fn a_rerun_records_a_direct_promotion_that_main_holds_but_the_ledger_does_not() {
    let repo = Repo::trained_once(GATES);
    // Environments are entered in order: v1 went through staging.
    repo.deployed("staging", 1, Duration::ZERO);
    let registry_before = repo.git(&["rev-parse", REGISTRY_REF]);
    let (report, code) = repo.trainyard(&["promote", "--env", "prod", "--direct"]);
    assert_eq!(code, 0, "{report:#}");
    // The kill: the registry as it was before the ledger wrote.
    repo.git(&["update-ref", REGISTRY_REF, &registry_before]);
    assert!(repo.ledger().deployments("prod").unwrap().is_empty());

    let (report, code) = repo.trainyard(&["promote", "--env", "prod", "--direct"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["outputs"]["changed"], "false", "{report:#}");
    assert_eq!(report["outputs"]["recorded"], "true", "{report:#}");
    let recovered = findings(&report, "recovered");
    assert!(
        recovered
            .iter()
            .any(|message| message.contains("prod: recorded promote clf v1")),
        "{report:#}"
    );
    let history = repo.ledger().deployments("prod").unwrap();
    assert_eq!(
        common::versions_and_kinds(&history),
        vec![(1, DeploymentKind::Promote)]
    );
    assert_eq!(history[0].commit, repo.git(&["rev-parse", "main"]));
    let aliases = repo.ledger().aliases("clf").unwrap();
    assert_eq!(
        (aliases.get("prod"), aliases.get("champion")),
        (Some(&1), Some(&1))
    );

    // Once is enough: a third run has nothing left to do.
    let (report, code) = repo.trainyard(&["promote", "--env", "prod", "--direct"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["outputs"]["recorded"], "false", "{report:#}");
    assert_eq!(repo.ledger().deployments("prod").unwrap().len(), 1);
}

/// Killed during `rollback --direct` after `main` moved, before the work
/// tree followed: the rolled-back release stayed staged, so the next commit
/// would undo the rollback, and a re-run said "nothing to roll back".
#[test]
fn a_rerun_of_an_interrupted_rollback_makes_the_checkout_follow_and_records_it() {
    let repo = Repo::trained_once(GATES);
    // Environments are entered in order: v1 went through staging.
    repo.deployed("staging", 1, Duration::ZERO);
    let (report, code) = repo.trainyard(&["promote", "--env", "prod", "--direct"]);
    assert_eq!(code, 0, "{report:#}");
    repo.train(&[("accuracy", 0.97)], 100, &[]);
    repo.deployed("staging", 2, Duration::ZERO);
    let (report, code) = repo.trainyard(&["promote", "--env", "prod", "--direct"]);
    assert_eq!(code, 0, "{report:#}");

    let registry_before = repo.git(&["rev-parse", REGISTRY_REF]);
    let args = [
        "rollback",
        "--env",
        "prod",
        "--reason",
        "v2 misclassifies new scanners",
        "--direct",
    ];
    let (report, code) = repo.trainyard(&args);
    assert_eq!(code, 0, "{report:#}");
    // The kill: main moved; the work tree, the index and the ledger did not.
    repo.git(&["checkout", "HEAD~", "--", PROD]);
    repo.git(&["update-ref", REGISTRY_REF, &registry_before]);
    assert_eq!(repo.status_porcelain(), format!("M  {PROD}"));

    let (report, code) = repo.trainyard(&args);
    assert_eq!(code, 0, "{report:#}");
    let recovered = findings(&report, "recovered").join("\n");
    assert!(
        recovered.contains("finished an interrupted change"),
        "{report:#}"
    );
    assert!(
        recovered.contains("prod: recorded rollback clf v1"),
        "{report:#}"
    );
    assert_eq!(
        repo.status_porcelain(),
        "",
        "work tree and index follow main"
    );
    assert!(repo.read(PROD).contains("version: 1\n"));
    let history = repo.ledger().deployments("prod").unwrap();
    assert_eq!(
        common::versions_and_kinds(&history),
        vec![
            (1, DeploymentKind::Promote),
            (2, DeploymentKind::Promote),
            (1, DeploymentKind::Rollback)
        ]
    );
    assert_eq!(
        repo.ledger().aliases("clf").unwrap().get("champion"),
        Some(&1)
    );
}

/// git's `index.lock` left behind once let `main` move and then failed
/// (exit 3) with the checkout behind and nothing recorded; now nothing moves
/// until the lock is gone, and then the promotion goes through whole.
#[test]
fn a_stale_index_lock_stops_promote_direct_before_main_moves() {
    let repo = Repo::trained_once(GATES);
    // Environments are entered in order: v1 went through staging.
    repo.deployed("staging", 1, Duration::ZERO);
    let main_before = repo.git(&["rev-parse", "main"]);
    let lock = repo.path().join(".git/index.lock");
    std::fs::write(&lock, b"DIRC").unwrap();

    let (report, code) = repo.trainyard(&["promote", "--env", "prod", "--direct"]);
    assert_eq!(code, 3, "{report:#}");
    assert!(report.to_string().contains("index.lock"), "{report:#}");
    assert_eq!(
        repo.git(&["rev-parse", "main"]),
        main_before,
        "main did not move"
    );
    assert!(repo.ledger().deployments("prod").unwrap().is_empty());

    std::fs::remove_file(&lock).unwrap();
    let (report, code) = repo.trainyard(&["promote", "--env", "prod", "--direct"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["outputs"]["changed"], "true", "{report:#}");
    assert_eq!(repo.status_porcelain(), "");
    assert_eq!(repo.ledger().deployments("prod").unwrap().len(), 1);
}

/// A ledger writer killed while it held `refs/trainyard/registry.lock` made
/// every later ledger write give up: the promotion's record was lost. The
/// next writer removes a lock that old (no trainyard holds the ledger) and
/// says so.
#[test]
fn a_stale_ledger_ref_lock_is_removed_and_the_promotion_recorded() {
    let repo = Repo::trained_once(GATES);
    // Environments are entered in order: v1 went through staging.
    repo.deployed("staging", 1, Duration::ZERO);
    let lock = repo.path().join(".git/refs/trainyard/registry.lock");
    std::fs::write(&lock, "0000000000000000000000000000000000000000\n").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&lock)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - std::time::Duration::from_mins(10))
        .unwrap();

    let (report, code) = repo.trainyard(&["promote", "--env", "prod", "--direct"]);
    assert_eq!(code, 0, "{report:#}");
    assert!(
        findings(&report, "recovered")
            .iter()
            .any(|message| message.contains("registry.lock")),
        "{report:#}"
    );
    assert!(!lock.exists());
    assert_eq!(repo.ledger().deployments("prod").unwrap().len(), 1);
}

/// SIGTERM while a direct promotion pushes (a CI cancelling the job) once
/// killed trainyard with the commit on the remote and neither the local
/// branch nor the ledger following. The change and its records now finish
/// first; then trainyard exits 143.
#[test]
#[cfg(unix)]
fn a_sigterm_during_a_direct_promotion_waits_for_the_change_and_its_records() {
    use std::os::unix::fs::PermissionsExt as _;
    use std::time::{Duration, Instant};

    let repo = Repo::trained_once(GATES);
    // Environments are entered in order: v1 went through staging.
    repo.deployed("staging", 1, Duration::ZERO);
    let remote = tempfile::tempdir().unwrap();
    trainyard_testkit::git::git_as_configured(remote.path(), &["init", "--quiet", "--bare"]);
    repo.git(&["remote", "add", "origin", remote.path().to_str().unwrap()]);
    repo.git(&["push", "--quiet", "origin", "main"]);
    // A slow remote: the push says it started, then takes two seconds.
    let started = remote.path().join("push-started");
    let hook = remote.path().join("hooks/pre-receive");
    std::fs::write(
        &hook,
        format!("#!/bin/sh\ntouch '{}'\nsleep 2\n", started.display()),
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();

    let mut child = common::trainyard_process()
        .current_dir(repo.path())
        .env("HOME", repo.path().join(".home-for-git"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .args(["--format", "json", "promote", "--env", "prod", "--direct"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_mins(1);
    while !started.exists() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "promote ended before it pushed"
        );
        assert!(Instant::now() < until, "the push never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > until {
            let _ = child.kill();
            panic!("promote did not end");
        }
        std::thread::sleep(Duration::from_millis(20));
    };

    assert_eq!(status.code(), Some(143), "{status}");
    let main = repo.git(&["rev-parse", "main"]);
    assert_eq!(
        repo.git(&["ls-remote", "origin", "refs/heads/main"])
            .split('\t')
            .next(),
        Some(main.as_str())
    );
    assert_eq!(repo.status_porcelain(), "");
    let history = repo.ledger().deployments("prod").unwrap();
    assert_eq!(history.len(), 1, "the deployment is recorded");
    assert_eq!(history[0].commit, main);
    assert_eq!(
        repo.ledger().aliases("clf").unwrap().get("champion"),
        Some(&1)
    );
}
