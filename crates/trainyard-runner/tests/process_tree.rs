//! The whole process tree ends: on timeout, on a stop, and when the leader
//! exits leaving a child behind.
#![cfg(target_os = "linux")] // /proc tells a live process from a zombie
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use trainyard_runner::{Control, Finish, RunOptions, run_command};

/// Alive means: in the process table and not a zombie waiting to be reaped.
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name's closing parenthesis.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Reaping by init is asynchronous: wait (bounded) for the pid to go.
fn gone(pid: u32) -> bool {
    let until = Instant::now() + Duration::from_secs(20);
    while Instant::now() < until {
        if !alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn sh(script: &str) -> RunOptions {
    let mut options = RunOptions::new(
        &["sh".to_owned(), "-c".to_owned(), script.to_owned()],
        std::env::temp_dir(),
    );
    options.grace = Duration::from_millis(500);
    options
}

/// Runs `script`, which prints its background child's pid first.
fn run_and_collect(options: &RunOptions, stop_on_pid: bool) -> (Finish, u32, u32) {
    let mut grandchild = None;
    let summary = run_command(options, |line| {
        if grandchild.is_none()
            && let Ok(pid) = line.text.trim().parse::<u32>()
        {
            grandchild = Some(pid);
            if stop_on_pid {
                return Control::Stop;
            }
        }
        Control::Continue
    })
    .unwrap();
    (
        summary.finish,
        summary.pid,
        grandchild.expect("the script printed its child's pid"),
    )
}

#[test]
fn a_timeout_kills_the_command_and_its_children() {
    let mut options = sh("sleep 600 & echo $!; wait");
    options.timeout = Some(Duration::from_secs(1));
    let (finish, leader, grandchild) = run_and_collect(&options, false);
    assert_eq!(finish, Finish::TimedOut);
    assert!(gone(leader), "the command {leader} is still running");
    assert!(gone(grandchild), "its child {grandchild} is still running");
}

#[test]
fn a_command_that_ignores_sigterm_is_killed_after_the_grace_period() {
    let mut options = sh("trap '' TERM; sleep 600 & echo $!; while :; do sleep 1; done");
    options.timeout = Some(Duration::from_secs(1));
    let (finish, leader, grandchild) = run_and_collect(&options, false);
    assert_eq!(finish, Finish::TimedOut);
    assert!(gone(leader));
    assert!(gone(grandchild));
}

#[test]
fn a_stop_kills_the_tree() {
    let options = sh("sleep 600 & echo $!; wait");
    let (finish, leader, grandchild) = run_and_collect(&options, true);
    assert_eq!(finish, Finish::Stopped);
    assert!(gone(leader));
    assert!(gone(grandchild));
}

#[test]
fn what_a_finished_command_leaves_behind_is_ended() {
    // The leader exits at once; its child would sleep for ten minutes holding stdout.
    let options = sh("sleep 600 & echo $!; exit 0");
    let (finish, _, grandchild) = run_and_collect(&options, false);
    assert!(finish.succeeded(), "{finish:?}");
    assert!(gone(grandchild));
}

/// A signal the caller received reaches the whole group as that same signal:
/// the command's own handler sees SIGINT (not SIGTERM), and its children end.
#[test]
fn a_cancel_passes_the_signal_on_to_the_group() {
    let marker = tempfile::tempdir().unwrap();
    let seen = marker.path().join("seen");
    let mut options = sh(&format!(
        "trap 'echo INT > {seen}; exit 7' INT; sleep 600 & echo $!; while :; do sleep 0.1; done",
        seen = seen.display()
    ));
    // The handler runs only once the loop's `sleep 0.1` has ended; on a loaded
    // machine that can take longer than the usual grace, after which the group
    // is killed before the handler writes (seen in CI). The test ends as soon
    // as the handler exits, so a long grace costs nothing.
    options.grace = Duration::from_secs(20);
    let cancel = std::sync::Arc::new(std::sync::atomic::AtomicI32::new(0));
    options.cancel = Some(cancel.clone());
    let mut grandchild = None;
    let summary = run_command(&options, |line| {
        if let Ok(pid) = line.text.trim().parse::<u32>() {
            grandchild = Some(pid);
            cancel.store(2, std::sync::atomic::Ordering::SeqCst); // SIGINT
        }
        Control::Continue
    })
    .unwrap();
    assert_eq!(summary.finish, Finish::Cancelled { signal: 2 });
    assert!(gone(summary.pid));
    assert!(gone(grandchild.unwrap()));
    assert_eq!(std::fs::read_to_string(&seen).unwrap(), "INT\n");
}

#[test]
fn a_cancelled_command_that_ignores_the_signal_is_killed_after_the_grace_period() {
    let mut options = sh("trap '' TERM INT; echo ready; while :; do sleep 1; done");
    let cancel = std::sync::Arc::new(std::sync::atomic::AtomicI32::new(0));
    options.cancel = Some(cancel.clone());
    let summary = run_command(&options, |_| {
        cancel.store(15, std::sync::atomic::Ordering::SeqCst);
        Control::Continue
    })
    .unwrap();
    assert_eq!(summary.finish, Finish::Cancelled { signal: 15 });
    assert!(gone(summary.pid));
}
