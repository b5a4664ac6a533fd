//! SIGTERM and SIGINT to the real binary while the training command runs
//! (a CI cancelling the job, a person pressing Ctrl-C): the signal reaches
//! the command's whole process group, trainyard waits for it, records the
//! run as cancelled and exits 143 or 130. Before, SIGTERM left the command
//! running as an orphan with no run recorded, and SIGINT never reached it.
#![cfg(target_os = "linux")] // /proc tells a live process from a zombie, and its group
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use trainyard_ledger::{GitLedger, Ledger, Outcome};
use trainyard_testkit::git::init_and_commit_all;

/// A training command that starts a child, writes both pids, notes the
/// signal it gets, ends its child and exits; else it would sleep ten minutes.
const TRAIN_SH: &str = r#"#!/bin/sh
out="$1"
mkdir -p "$out"
sleep 600 &
child=$!
trap 'echo INT > "$out/signal"; kill $child; exit 1' INT
trap 'echo TERM > "$out/signal"; kill $child; exit 1' TERM
echo "$$ $child" > "$out/pids.tmp" && mv "$out/pids.tmp" "$out/pids.txt"
echo "training"
while :; do sleep 0.1; done
"#;

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("train.sh"), TRAIN_SH).unwrap();
    std::fs::write(
        dir.path().join("trainyard.yaml"),
        "version: 1\nproject:\n  name: fixture\ntrain:\n  command: [sh, train.sh, \"{{ output_dir }}\"]\n",
    )
    .unwrap();
    std::fs::write(dir.path().join(".gitignore"), ".trainyard/\n").unwrap();
    init_and_commit_all(dir.path());
    dir
}

/// Waits (bounded) for `path` to exist.
fn wait_for(path: &Path, child: &mut Child) {
    let until = Instant::now() + Duration::from_mins(1);
    while !path.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "trainyard ended ({status}) before the command wrote {}",
                path.display()
            );
        }
        assert!(Instant::now() < until, "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The one run folder's output folder.
fn output_dir(project: &Path) -> PathBuf {
    let runs = project.join(".trainyard/runs");
    let until = Instant::now() + Duration::from_mins(1);
    loop {
        if let Some(run) = std::fs::read_dir(&runs)
            .into_iter()
            .flatten()
            .flatten()
            .next()
        {
            return run.path().join("out");
        }
        assert!(
            Instant::now() < until,
            "no run folder in {}",
            runs.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The pids of live (not zombie) processes in process group `group`.
fn group_members(group: u32) -> Vec<u32> {
    let mut members = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // After the name's closing parenthesis: state, ppid, pgrp.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.first() != Some(&"Z") && fields.get(2) == Some(&group.to_string().as_str()) {
            members.push(pid);
        }
    }
    members
}

/// Waits (bounded) for `child` to end; kills it and fails if it does not.
fn exit_code(child: &mut Child) -> Option<i32> {
    let until = Instant::now() + Duration::from_mins(1);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if Instant::now() > until {
            let _ = child.kill();
            panic!("trainyard did not end within a minute of the signal");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn cancel_with(signal: &str, expected_code: i32, seen: &str, recorded: &str) {
    let project = project();
    let mut child = common::trainyard_process()
        .current_dir(project.path())
        .args(["--format", "json", "train"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = output_dir(project.path());
    wait_for(&out.join("pids.txt"), &mut child);
    let pids = std::fs::read_to_string(out.join("pids.txt")).unwrap();
    let pids: Vec<u32> = pids
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    let leader = pids[0];

    let sent = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let code = exit_code(&mut child);
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();

    assert_eq!(code, Some(expected_code), "{stdout}");
    assert_eq!(
        group_members(leader),
        Vec::<u32>::new(),
        "the command's process group is gone"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("signal")).unwrap().trim(),
        seen,
        "the command got the signal trainyard got"
    );
    let runs = GitLedger::open(project.path()).unwrap().runs().unwrap();
    assert_eq!(runs.len(), 1, "the run is recorded");
    assert_eq!(
        runs[0].outcome,
        Outcome::Cancelled {
            signal: recorded.to_owned()
        }
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["outputs"]["outcome"], "cancelled", "{report:#}");
    assert_eq!(
        report["findings"][0]["rule"], "train/cancelled",
        "{report:#}"
    );

    // `runs list` shows it.
    let (code, list) = common::trainyard_json(project.path(), &["runs", "list"]);
    assert_eq!(code, 0, "{list:#}");
    assert!(
        list.to_string()
            .contains(&format!("cancelled by {recorded}")),
        "{list:#}"
    );
}

#[test]
fn sigterm_cancels_the_training_records_it_and_exits_143() {
    cancel_with("TERM", 143, "TERM", "SIGTERM");
}

#[test]
fn sigint_reaches_the_training_command_and_trainyard_exits_130() {
    cancel_with("INT", 130, "INT", "SIGINT");
}

/// The training command starts with no signal blocked: trainyard listening
/// for SIGINT and SIGTERM must not hide them from it. (Blocking them for a
/// `sigwait` thread did: a Python command then ignored the SIGTERM of an
/// early stop until the grace period's SIGKILL.)
#[test]
fn the_training_command_starts_with_no_signal_blocked() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("trainyard.yaml"),
        "version: 1\nproject:\n  name: fixture\ntrain:\n  command: [python3, -c, \"import signal, sys; open(sys.argv[1], 'w').write(repr(sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, []))))\", \"{{ output_dir }}/blocked\"]\n",
    )
    .unwrap();
    std::fs::write(dir.path().join(".gitignore"), ".trainyard/\n").unwrap();
    init_and_commit_all(dir.path());
    let status = common::trainyard_process()
        .current_dir(dir.path())
        .arg("train")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let blocked = std::fs::read_to_string(output_dir(dir.path()).join("blocked")).unwrap();
    assert_eq!(blocked, "[]");
}
