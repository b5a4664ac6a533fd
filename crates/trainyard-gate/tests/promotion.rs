//! `promotion::commit_release` against real git repositories: a bare remote and
//! clones of it that race to move its `main`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot set up should stop loudly

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Barrier};

use trainyard_gate::promotion::{
    Destination, MAX_ATTEMPTS, Outcome, PromotionError, ReleaseChange, Written, commit_release,
    review_branch,
};
use trainyard_gate::release::{self, Release, ReleaseKind};

/// `git <args>` in `dir` with a fixed identity and no system config; returns stdout, trimmed.
fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .output()
        .expect("git must be installed to run these tests");
    assert!(
        output.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// A bare remote whose `main` has one commit, and a folder for its clones.
struct World {
    dir: tempfile::TempDir,
}

impl World {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        git(root, &["init", "-q", "--bare", "-b", "main", "remote.git"]);
        let seed = root.join("seed");
        std::fs::create_dir(&seed).unwrap();
        git(&seed, &["init", "-q", "-b", "main"]);
        std::fs::write(seed.join("README.md"), "project\n").unwrap();
        git(&seed, &["add", "-A"]);
        git(&seed, &["commit", "-q", "-m", "the project"]);
        git(&seed, &["push", "-q", "../remote.git", "main"]);
        Self { dir }
    }

    fn remote(&self) -> PathBuf {
        self.dir.path().join("remote.git")
    }

    /// A clone with `main` checked out.
    fn clone(&self, name: &str) -> PathBuf {
        git(self.dir.path(), &["clone", "-q", "remote.git", name]);
        let clone = self.dir.path().join(name);
        git(&clone, &["config", "user.name", "Test"]);
        git(&clone, &["config", "user.email", "test@example.com"]);
        clone
    }

    /// A clone without a local `main` (a CI checkout of another branch): the
    /// target's tip is `origin/main`.
    fn clone_without_main(&self, name: &str) -> PathBuf {
        let clone = self.clone(name);
        git(&clone, &["checkout", "-q", "-b", "work"]);
        git(&clone, &["branch", "-q", "-D", "main"]);
        clone
    }

    /// The remote's `main`.
    fn main(&self) -> String {
        git(&self.remote(), &["rev-parse", "main"])
    }

    /// A file on a branch of the remote.
    fn show(&self, branch: &str, path: &str) -> String {
        git(&self.remote(), &["show", &format!("{branch}:{path}")])
    }
}

/// Someone else's commit, pushed to the remote's `main` from clone `dir`.
fn push_other_change(dir: &Path, file: &str) -> String {
    std::fs::write(dir.join(file), "someone else's\n").unwrap();
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "someone else"]);
    git(dir, &["push", "-q", "origin", "main"]);
    git(dir, &["rev-parse", "HEAD"])
}

fn release_of(environment: &str, version: u64) -> Release {
    Release {
        environment: environment.to_owned(),
        model: "clf".to_owned(),
        version,
        digest: "ab".repeat(32),
        uri: None,
        run: "20240101T000000Z-0001".to_owned(),
        commit: None,
        verdict: None,
        at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
        by: "test".to_owned(),
        kind: ReleaseKind::Promote,
        reason: None,
    }
}

fn change<'a>(release: &'a Release, path: &'a str, destination: Destination) -> ReleaseChange<'a> {
    ReleaseChange {
        release,
        path,
        target: "main",
        destination,
        reason: "test",
        remote: "origin",
        push: true,
    }
}

fn written(outcome: Outcome) -> Written {
    match outcome {
        Outcome::Written(written) => written,
        Outcome::Already { current, .. } => panic!("nothing written: already {current:?}"),
    }
}

fn parent(repo: &git2::Repository, commit: git2::Oid) -> String {
    repo.find_commit(commit)
        .unwrap()
        .parent_id(0)
        .unwrap()
        .to_string()
}

#[test]
fn a_review_branch_is_pushed_and_the_target_is_left_alone() {
    let world = World::new();
    let before = world.main();
    let clone = world.clone("a");
    let repo = git2::Repository::open(&clone).unwrap();
    let release = release_of("staging", 2);
    let path = release::path("staging");
    let branch = review_branch(&release);

    let done = written(
        commit_release(
            &repo,
            &change(&release, &path, Destination::Review(branch.clone())),
        )
        .unwrap(),
    );
    assert_eq!(done.branch, "trainyard/promote/staging/clf-v2");
    assert!(done.pushed);
    assert_eq!(done.attempts, 1);
    assert_eq!(world.main(), before, "the target does not move");
    assert_eq!(world.show(&branch, &path), release.to_yaml().trim_end());
    assert_eq!(
        git(&clone, &["rev-parse", &branch]),
        done.commit.to_string()
    );
    let message = git(&clone, &["log", "-1", "--format=%B", &branch]);
    assert!(
        message.starts_with("Promote: clf v2 to staging\n\nRun: 20240101T000000Z-0001\n"),
        "{message}"
    );
}

#[test]
fn a_lost_race_on_the_remotes_tip_is_built_again_on_the_new_tip() {
    let world = World::new();
    let ours = world.clone_without_main("ours");
    let theirs = world.clone("theirs");
    // They push after we fetched: our origin/main is stale.
    let their_commit = push_other_change(&theirs, "theirs.txt");

    let repo = git2::Repository::open(&ours).unwrap();
    let release = release_of("prod", 3);
    let path = release::path("prod");
    let done =
        written(commit_release(&repo, &change(&release, &path, Destination::Direct)).unwrap());
    assert_eq!(done.attempts, 2, "the first push was refused");
    assert_eq!(done.branch, "main");
    assert_eq!(world.main(), done.commit.to_string());
    assert_eq!(
        parent(&repo, done.commit),
        their_commit,
        "built on their commit"
    );
    assert_eq!(world.show("main", "theirs.txt"), "someone else's");
    assert_eq!(world.show("main", &path), release.to_yaml().trim_end());
}

#[test]
fn a_local_target_behind_the_remote_is_refused_and_not_moved() {
    let world = World::new();
    let ours = world.clone("ours");
    let theirs = world.clone("theirs");
    let their_commit = push_other_change(&theirs, "theirs.txt");
    let our_main = git(&ours, &["rev-parse", "main"]);

    let repo = git2::Repository::open(&ours).unwrap();
    let release = release_of("prod", 3);
    let path = release::path("prod");
    let error = commit_release(&repo, &change(&release, &path, Destination::Direct)).unwrap_err();
    assert!(
        matches!(&error, PromotionError::Behind { target, remote, .. } if target == "main" && remote == "origin"),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("bring your branch up to date (`git pull`)")
    );
    assert_eq!(
        git(&ours, &["rev-parse", "main"]),
        our_main,
        "nothing local moved"
    );
    assert_eq!(world.main(), their_commit);
    assert!(!ours.join(&path).exists());
}

#[test]
fn a_direct_change_on_the_checked_out_target_moves_it_with_a_clean_work_tree() {
    let world = World::new();
    let ours = world.clone("ours");
    let repo = git2::Repository::open(&ours).unwrap();
    let release = release_of("dev", 1);
    let path = release::path("dev");

    let done =
        written(commit_release(&repo, &change(&release, &path, Destination::Direct)).unwrap());
    assert_eq!(git(&ours, &["rev-parse", "main"]), done.commit.to_string());
    assert_eq!(world.main(), done.commit.to_string());
    assert_eq!(
        std::fs::read_to_string(ours.join(&path)).unwrap(),
        release.to_yaml()
    );
    assert_eq!(git(&ours, &["status", "--porcelain"]), "");

    // The same version again: already there, nothing written.
    let again = release_of("dev", 1);
    match commit_release(&repo, &change(&again, &path, Destination::Direct)).unwrap() {
        Outcome::Already { current, .. } => assert_eq!(current, release),
        Outcome::Written(written) => panic!("written again: {written:?}"),
    }
    assert_eq!(world.main(), done.commit.to_string());

    // The next version replaces it, and says so.
    let next = release_of("dev", 2);
    let done = written(commit_release(&repo, &change(&next, &path, Destination::Direct)).unwrap());
    let message = git(
        &ours,
        &["log", "-1", "--format=%B", &done.commit.to_string()],
    );
    assert!(message.contains("Replaces: clf v1\n"), "{message}");
}

#[test]
fn two_clones_racing_for_the_same_target_both_land() {
    let world = World::new();
    let clones = [
        ("staging", world.clone_without_main("a")),
        ("prod", world.clone_without_main("b")),
    ];
    let start = Arc::new(Barrier::new(clones.len()));
    let handles: Vec<_> = clones
        .into_iter()
        .map(|(env, clone)| {
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                let repo = git2::Repository::open(&clone).unwrap();
                let release = release_of(env, 1);
                let path = release::path(env);
                start.wait();
                let done = written(
                    commit_release(&repo, &change(&release, &path, Destination::Direct)).unwrap(),
                );
                (
                    done.commit.to_string(),
                    parent(&repo, done.commit),
                    done.attempts,
                )
            })
        })
        .collect();
    let results: Vec<(String, String, u32)> = handles
        .into_iter()
        .map(|handle| handle.join().unwrap())
        .collect();

    // Both files are on the remote's main, one commit on top of the other.
    for env in ["staging", "prod"] {
        assert!(
            world
                .show("main", &release::path(env))
                .contains(&format!("environment: {env}"))
        );
    }
    let main = world.main();
    let (last, first) = if results[0].0 == main {
        (&results[0], &results[1])
    } else {
        (&results[1], &results[0])
    };
    assert_eq!(last.0, main);
    assert_eq!(
        last.1, first.0,
        "the later commit is built on the earlier one"
    );
    // Both built on the same tip, so whoever pushed second lost (refused as not a
    // fast-forward, or the remote's ref moved under its push) and built again once.
    let mut attempts: Vec<u32> = results.iter().map(|result| result.2).collect();
    attempts.sort_unstable();
    assert_eq!(attempts, [1, 2]);
}

#[cfg(unix)]
#[test]
fn a_remote_that_keeps_moving_is_given_up_on_after_max_attempts() {
    use std::os::unix::fs::PermissionsExt as _;

    let world = World::new();
    // Every push is refused as another writer's would be.
    let hook = world.remote().join("hooks/pre-receive");
    std::fs::write(
        &hook,
        "#!/bin/sh\necho 'rejected: non-fast-forward (someone else pushed first)' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    let before = world.main();
    let ours = world.clone_without_main("ours");
    let repo = git2::Repository::open(&ours).unwrap();
    let release = release_of("prod", 1);
    let path = release::path("prod");

    let error = commit_release(&repo, &change(&release, &path, Destination::Direct)).unwrap_err();
    assert!(
        matches!(&error, PromotionError::GaveUp { attempts, target, why }
            if *attempts == MAX_ATTEMPTS && target == "main" && why.contains("non-fast-forward")),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .ends_with("(gave up after 5 attempts: others keep moving `main`)")
    );
    assert_eq!(world.main(), before);
}

#[test]
fn a_direct_change_with_no_local_target_and_no_push_has_nowhere_to_go() {
    let world = World::new();
    let ours = world.clone_without_main("ours");
    let repo = git2::Repository::open(&ours).unwrap();
    let release = release_of("prod", 1);
    let path = release::path("prod");
    let mut local_only = change(&release, &path, Destination::Direct);
    local_only.push = false;

    let error = commit_release(&repo, &local_only).unwrap_err();
    assert!(
        matches!(&error, PromotionError::NowhereToWrite { target, remote, tip }
            if target == "main" && remote == "origin" && tip == "refs/remotes/origin/main"),
        "{error:?}"
    );

    // A review branch needs neither: it is made locally, unpushed.
    let done = written(
        commit_release(
            &repo,
            &ReleaseChange {
                destination: Destination::Review(review_branch(&release)),
                ..local_only
            },
        )
        .unwrap(),
    );
    assert!(!done.pushed);
    assert_eq!(
        git(&ours, &["rev-parse", "trainyard/promote/prod/clf-v1"]),
        done.commit.to_string()
    );
    assert_eq!(
        git(&world.remote(), &["branch", "--list", "trainyard/*"]),
        ""
    );
}

/// `git status --porcelain` in `dir`.
fn status(dir: &Path) -> String {
    git(dir, &["status", "--porcelain"])
}

const PROD: &str = "deploy/prod/release.yaml";

/// A kill after `main` moved but before the work tree and index followed
/// left the old release staged: the next commit would have undone the
/// change, and a re-run said "already there" and left it so. The re-run now
/// finishes the follow first, whichever half was done.
#[test]
fn a_rerun_finishes_a_work_tree_that_did_not_follow_its_branch() {
    let world = World::new();
    let clone = world.clone("a");
    let repo = git2::Repository::open(&clone).unwrap();
    let (one, two) = (release_of("prod", 1), release_of("prod", 2));
    written(commit_release(&repo, &change(&one, PROD, Destination::Direct)).unwrap());
    written(commit_release(&repo, &change(&two, PROD, Destination::Direct)).unwrap());
    // The states a kill leaves: nothing followed, or the file but not the index.
    for undo in [
        &["checkout", "HEAD~", "--", PROD][..],
        &["reset", "-q", "HEAD~", "--", PROD][..],
    ] {
        git(&clone, undo);
        assert!(!status(&clone).is_empty(), "the interrupted state");
        let repo = git2::Repository::open(&clone).unwrap();
        let outcome = commit_release(&repo, &change(&two, PROD, Destination::Direct)).unwrap();
        let Outcome::Already { current, recovered } = outcome else {
            panic!("expected already there, got {outcome:?}");
        };
        assert_eq!(current.version, 2);
        assert_eq!(recovered.len(), 1, "{recovered:?}");
        assert!(recovered[0].contains("interrupted"), "{recovered:?}");
        assert_eq!(status(&clone), "", "work tree and index follow main");
        assert_eq!(
            std::fs::read_to_string(clone.join(PROD)).unwrap(),
            two.to_yaml()
        );
    }
}

/// A user's own staged edit of the release file is not "finished": it stays,
/// and the promotion refuses as before.
#[test]
fn a_users_own_edit_is_not_taken_for_an_interrupted_change() {
    let world = World::new();
    let clone = world.clone("a");
    let repo = git2::Repository::open(&clone).unwrap();
    let one = release_of("prod", 1);
    written(commit_release(&repo, &change(&one, PROD, Destination::Direct)).unwrap());
    std::fs::write(clone.join(PROD), "hand edit\n").unwrap();
    git(&clone, &["add", PROD]);
    let two = release_of("prod", 2);
    assert!(commit_release(&repo, &change(&two, PROD, Destination::Direct)).is_err());
    assert_eq!(
        std::fs::read_to_string(clone.join(PROD)).unwrap(),
        "hand edit\n"
    );
}

/// git's own `index.lock` (a git command running, or one that crashed) once
/// let `main` move, locally and on the remote, and then failed (exit 3)
/// with the work tree behind; a re-run said "nothing to promote". Now it
/// stops before anything moves and says what to do.
#[test]
fn a_gits_index_lock_stops_a_direct_promotion_before_anything_moves() {
    let world = World::new();
    let clone = world.clone("a");
    let repo = git2::Repository::open(&clone).unwrap();
    let before = world.main();
    let lock = clone.join(".git/index.lock");
    std::fs::write(&lock, b"DIRC\0\0\0\x02").unwrap();
    let one = release_of("prod", 1);
    let error = commit_release(&repo, &change(&one, PROD, Destination::Direct)).unwrap_err();
    assert!(error.to_string().contains("index.lock"), "{error}");
    assert!(error.to_string().contains("nothing was changed"), "{error}");
    assert_eq!(world.main(), before, "the remote's main did not move");
    assert_eq!(git(&clone, &["rev-parse", "main"]), before);
    assert!(lock.exists(), "git's lock is not trainyard's to remove");

    std::fs::remove_file(&lock).unwrap();
    written(commit_release(&repo, &change(&one, PROD, Destination::Direct)).unwrap());
    assert_eq!(status(&clone), "");
}

/// trainyard's own index lock, left by a trainyard killed while it moved the
/// branch (its mark says so, and the checkout lock proves it is gone), is
/// removed with a note.
#[test]
fn trainyards_own_stale_index_lock_is_removed_with_a_note() {
    let world = World::new();
    let clone = world.clone("a");
    let repo = git2::Repository::open(&clone).unwrap();
    std::fs::write(
        clone.join(".git/index.lock"),
        "trainyard index lock: pid 4242 on ci-7 at 2026-12-01T10:00:00Z\n",
    )
    .unwrap();
    let one = release_of("prod", 1);
    let written = written(commit_release(&repo, &change(&one, PROD, Destination::Direct)).unwrap());
    assert_eq!(written.recovered.len(), 1, "{:?}", written.recovered);
    assert!(
        written.recovered[0].contains("pid 4242 on ci-7"),
        "{:?}",
        written.recovered
    );
    assert!(!clone.join(".git/index.lock").exists());
    assert_eq!(status(&clone), "");
}
