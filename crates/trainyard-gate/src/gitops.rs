//! Commits that change one file, built with git2 from a branch tip: the user's
//! HEAD, index and work tree are left alone (unless they asked to move the
//! branch they have checked out, and then only the one file follows).
//! Pushes go through the `git` command line, which has the CI's credentials.

use std::path::Path;
use std::process::Command;

use trainyard_core::lock::ProcessLock;

use crate::GateError;

/// A branch's tip: the local branch if there is one, else `origin`'s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tip {
    pub commit: git2::Oid,
    /// The ref it was read from (`refs/heads/main` or `refs/remotes/origin/main`).
    pub reference: String,
}

pub fn tip(repo: &git2::Repository, branch: &str, remote: &str) -> Result<Tip, GateError> {
    for reference in [
        format!("refs/heads/{branch}"),
        format!("refs/remotes/{remote}/{branch}"),
    ] {
        if let Ok(commit) = repo
            .find_reference(&reference)
            .and_then(|found| found.peel_to_commit())
        {
            return Ok(Tip {
                commit: commit.id(),
                reference,
            });
        }
    }
    Err(GateError::Config(format!(
        "branch `{branch}` is neither in this clone nor fetched from `{remote}`; fetch it (`git fetch {remote} {branch}`)"
    )))
}

/// The bytes of `path` in `commit`'s tree, if it has that file.
pub fn read_file(
    repo: &git2::Repository,
    commit: git2::Oid,
    path: &str,
) -> Result<Option<Vec<u8>>, GateError> {
    let tree = repo
        .find_commit(commit)
        .and_then(|commit| commit.tree())
        .map_err(GateError::git(format!("reading the tree of {commit}")))?;
    match tree.get_path(Path::new(path)) {
        Ok(entry) => {
            let blob = repo
                .find_blob(entry.id())
                .map_err(GateError::git(format!("reading {path} in {commit}")))?;
            Ok(Some(blob.content().to_vec()))
        }
        Err(_) => Ok(None),
    }
}

/// Writes a commit whose tree is `parent`'s with `path` set to `content`; no ref moves.
pub fn commit_file(
    repo: &git2::Repository,
    parent: git2::Oid,
    path: &str,
    content: &[u8],
    message: &str,
) -> Result<git2::Oid, GateError> {
    let parent = repo
        .find_commit(parent)
        .map_err(GateError::git(format!("reading commit {parent}")))?;
    let base = parent
        .tree()
        .map_err(GateError::git("reading the parent tree"))?;
    let blob = repo
        .blob(content)
        .map_err(GateError::git(format!("writing {path}")))?;
    let components: Vec<&str> = path.split('/').filter(|part| !part.is_empty()).collect();
    let tree = upsert(repo, Some(&base), &components, blob)?;
    let tree = repo
        .find_tree(tree)
        .map_err(GateError::git("reading the new tree"))?;
    let signature = signature(repo)?;
    repo.commit(None, &signature, &signature, message, &tree, &[&parent])
        .map_err(GateError::git("writing the commit"))
}

/// The user's identity from git config, or trainyard's own (a CI runner has none).
fn signature(repo: &git2::Repository) -> Result<git2::Signature<'static>, GateError> {
    match repo.signature() {
        Ok(signature) => Ok(signature.to_owned()),
        Err(_) => git2::Signature::now("trainyard", "trainyard@users.noreply.github.com")
            .map_err(GateError::git("making a commit signature")),
    }
}

/// `tree` with the file at `components` set to `blob`, creating folders on the way.
fn upsert(
    repo: &git2::Repository,
    tree: Option<&git2::Tree<'_>>,
    components: &[&str],
    blob: git2::Oid,
) -> Result<git2::Oid, GateError> {
    let mut builder = repo
        .treebuilder(tree)
        .map_err(GateError::git("building a tree"))?;
    match components {
        [] => {
            return Err(GateError::Config(
                "an empty path cannot be committed".to_owned(),
            ));
        }
        [file] => {
            builder
                .insert(file, blob, i32::from(git2::FileMode::Blob))
                .map_err(GateError::git(format!("adding {file}")))?;
        }
        [folder, rest @ ..] => {
            let existing = tree
                .and_then(|tree| tree.get_name(folder))
                .filter(|entry| entry.kind() == Some(git2::ObjectType::Tree))
                .map(|entry| repo.find_tree(entry.id()))
                .transpose()
                .map_err(GateError::git(format!("reading folder {folder}")))?;
            let subtree = upsert(repo, existing.as_ref(), rest, blob)?;
            builder
                .insert(folder, subtree, i32::from(git2::FileMode::Tree))
                .map_err(GateError::git(format!("adding folder {folder}")))?;
        }
    }
    builder.write().map_err(GateError::git("writing a tree"))
}

/// Points `refs/heads/<branch>` at `new`, only if it still points at `expected`
/// (`None`: only if it does not exist yet). A lost race is a [`GateError::Conflict`].
pub fn move_branch(
    repo: &git2::Repository,
    branch: &str,
    new: git2::Oid,
    expected: Option<git2::Oid>,
    log: &str,
) -> Result<(), GateError> {
    let name = format!("refs/heads/{branch}");
    let result = match expected {
        Some(old) => repo.reference_matching(&name, new, true, old, log),
        None => repo.reference(&name, new, false, log),
    };
    result.map(|_| ()).map_err(|error| {
        // Moved, created, or being written by another process right now: a lost race.
        if matches!(
            error.code(),
            git2::ErrorCode::Modified | git2::ErrorCode::Exists | git2::ErrorCode::Locked
        ) {
            GateError::Conflict(format!(
                "branch `{branch}` moved while trainyard wrote to it; run the command again"
            ))
        } else {
            GateError::Git {
                action: format!("moving branch {branch}"),
                source: error,
            }
        }
    })
}

/// When the user has `branch` checked out: checks that `path` has no uncommitted
/// change (so moving the branch cannot lose work). Returns whether it is checked out.
pub fn checked_out_and_clean(
    repo: &git2::Repository,
    branch: &str,
    tip: git2::Oid,
    path: &str,
) -> Result<bool, GateError> {
    let on_branch = repo
        .head()
        .ok()
        .filter(git2::Reference::is_branch)
        .and_then(|head| head.name().map(str::to_owned))
        .is_some_and(|name| name == format!("refs/heads/{branch}"));
    if !on_branch || repo.is_bare() {
        return Ok(false);
    }
    let committed = read_file(repo, tip, path)?;
    let Some(workdir) = repo.workdir() else {
        return Ok(false);
    };
    // Refused before the branch moves, so the work tree can follow it.
    trainyard_core::fs::resolve_within(workdir, Path::new(path)).map_err(containment)?;
    let on_disk = match std::fs::read(workdir.join(path)) {
        Ok(bytes) => Some(bytes),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => return Err(GateError::io("reading", workdir.join(path))(error)),
    };
    let index = repo.index().map_err(GateError::git("reading the index"))?;
    let staged = index.get_path(Path::new(path), 0).map(|entry| entry.id);
    let committed_id = committed
        .as_deref()
        .map(|bytes| git2::Oid::hash_object(git2::ObjectType::Blob, bytes))
        .transpose()
        .map_err(GateError::git("hashing a blob"))?;
    if on_disk != committed || staged != committed_id {
        return Err(GateError::Conflict(format!(
            "{path} has uncommitted changes on `{branch}`, which you have checked out; commit or discard them, then run again"
        )));
    }
    Ok(true)
}

/// After the checked-out branch moved: writes `path` to the work tree (temp file,
/// fsync, rename) and stages it, so `git status` stays clean.
pub fn follow_in_work_tree(
    repo: &git2::Repository,
    path: &str,
    content: &[u8],
) -> Result<(), GateError> {
    let Some(workdir) = repo.workdir() else {
        return Ok(());
    };
    // `deploy/<env>/` is the repository's: a link there is never written through.
    trainyard_core::fs::write_atomic_within(workdir, Path::new(path), content)
        .map_err(containment)?;
    let mut index = repo.index().map_err(GateError::git("reading the index"))?;
    index
        .add_path(Path::new(path))
        .map_err(GateError::git(format!("staging {path}")))?;
    index.write().map_err(GateError::git("writing the index"))
}

/// A path of the work tree trainyard may not write (a link, or outside) is
/// the repository's to fix; a failing file system is the environment's.
fn containment(error: trainyard_core::fs::ContainmentError) -> GateError {
    match error {
        trainyard_core::fs::ContainmentError::Io {
            action,
            path,
            source,
        } => GateError::Io {
            action,
            path,
            source,
        },
        refused => GateError::Config(refused.to_string()),
    }
}

/// Whether the repository has a remote of this name.
pub fn has_remote(repo: &git2::Repository, remote: &str) -> bool {
    repo.find_remote(remote).is_ok()
}

/// `git push <remote> <commit>:refs/heads/<branch>` (with `+` to force). The CLI,
/// not libgit2: CI credentials (`http.extraheader`, helpers) live there.
pub fn push(
    workdir: &Path,
    remote: &str,
    commit: git2::Oid,
    branch: &str,
    force: bool,
) -> Result<(), GateError> {
    let refspec = format!(
        "{}{commit}:refs/heads/{branch}",
        if force { "+" } else { "" }
    );
    let output = Command::new("git")
        .arg("-C")
        .arg(workdir)
        .args(["push", "--quiet", remote, &refspec])
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .map_err(|error| {
            GateError::GitCli(format!("running `git push`: {error}; is git installed?"))
        })?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let message = format!("`git push {remote} {refspec}` failed: {}", stderr.trim());
    // The remote's branch moved: someone else pushed first, or is pushing right
    // now (the remote's compare-and-swap of the ref failed: "cannot lock ref
    // 'refs/heads/main': is at … but expected …", or its lock file exists).
    if [
        "[rejected]",
        "non-fast-forward",
        "fetch first",
        "stale info",
        "cannot lock ref",
        "incorrect old value provided",
    ]
    .iter()
    .any(|sign| stderr.contains(sign))
    {
        return Err(GateError::Rejected(message));
    }
    Err(GateError::GitCli(message))
}

/// `git fetch <remote> +refs/heads/<branch>:refs/remotes/<remote>/<branch>`: the
/// remote's tip, to build on after a rejected push.
pub fn fetch(workdir: &Path, remote: &str, branch: &str) -> Result<(), GateError> {
    let refspec = format!("+refs/heads/{branch}:refs/remotes/{remote}/{branch}");
    let output = Command::new("git")
        .arg("-C")
        .arg(workdir)
        .args(["fetch", "--quiet", remote, &refspec])
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .map_err(|error| {
            GateError::GitCli(format!("running `git fetch`: {error}; is git installed?"))
        })?;
    if output.status.success() {
        return Ok(());
    }
    Err(GateError::GitCli(format!(
        "`git fetch {remote} {refspec}` failed: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    )))
}

/// The commit on `tip`'s first-parent line that last changed `path` (the
/// merge commit, for a change merged from a branch), if any did.
pub fn last_change<'repo>(
    repo: &'repo git2::Repository,
    tip: git2::Oid,
    path: &str,
) -> Result<Option<git2::Commit<'repo>>, GateError> {
    let blob_at = |commit: &git2::Commit<'_>| -> Result<Option<git2::Oid>, GateError> {
        let tree = commit.tree().map_err(GateError::git(format!(
            "reading the tree of {}",
            commit.id()
        )))?;
        Ok(tree.get_path(Path::new(path)).ok().map(|entry| entry.id()))
    };
    let mut commit = repo
        .find_commit(tip)
        .map_err(GateError::git(format!("reading commit {tip}")))?;
    let mut current = blob_at(&commit)?;
    if current.is_none() {
        return Ok(None);
    }
    loop {
        let Ok(parent) = commit.parent(0) else {
            // The root commit added it.
            return Ok(Some(commit));
        };
        let before = blob_at(&parent)?;
        if before != current {
            return Ok(Some(commit));
        }
        current = before;
        commit = parent;
    }
}

/// A lock between trainyard processes, held while it lives: an OS advisory
/// lock ([`ProcessLock`]) on `<git dir>/trainyard/locks/<last part of name>`.
/// The OS releases it when its holder ends, so a killed process never leaves
/// it behind (it once was a ref lock file, which did).
#[derive(Debug)]
pub struct Lock<'repo> {
    _held: ProcessLock,
    _repo: std::marker::PhantomData<&'repo git2::Repository>,
}

/// How long [`lock`] waits for another trainyard process.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Takes the lock `name` (`refs/trainyard-locks/status-record`), waiting
/// while another trainyard process holds it, up to about ten seconds.
pub fn lock<'repo>(repo: &'repo git2::Repository, name: &str) -> Result<Lock<'repo>, GateError> {
    let file = name.rsplit('/').next().unwrap_or(name);
    let path = repo
        .commondir()
        .join("trainyard")
        .join("locks")
        .join(format!("{file}.lock"));
    match ProcessLock::acquire(&path, LOCK_WAIT) {
        Ok(Some(held)) => Ok(Lock {
            _held: held,
            _repo: std::marker::PhantomData,
        }),
        Ok(None) => Err(GateError::Conflict(format!(
            "another trainyard process is running `{file}` in this clone (it holds {}); wait for it and run again",
            path.display()
        ))),
        Err(error) => Err(GateError::io("locking", path)(error)),
    }
}

/// What trainyard writes into `.git/index.lock` while it holds it: git's own
/// lock holds an index (it starts `DIRC`), so the two are told apart.
const INDEX_LOCK_MARK: &str = "trainyard index lock";

/// `.git/index.lock`, taken (as git takes it: created exclusively) before a
/// checked-out branch moves, so no lock left by anyone can stop the work
/// tree and index from following once the branch has moved. Marked with the
/// holder's pid, host and time; removed when dropped (or by [`Self::release`]).
#[derive(Debug)]
pub struct IndexLock {
    path: std::path::PathBuf,
    held: bool,
}

impl IndexLock {
    /// Gives the lock back (so git2 can write the index through it).
    pub fn release(&mut self) {
        if std::mem::take(&mut self.held) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl Drop for IndexLock {
    fn drop(&mut self) {
        self.release();
    }
}

/// Takes `.git/index.lock` for trainyard (see [`IndexLock`]); the caller
/// holds the checkout lock ([`lock`] `checkout`), so a lock marked by
/// trainyard that is already there was left by a process that was killed
/// holding it: it is removed, and the returned note says so. A lock of git's
/// own (a `git` command running now, or one that crashed) is not touched:
/// nothing has changed yet, and the error says what to do.
pub fn lock_index(repo: &git2::Repository) -> Result<(IndexLock, Option<String>), GateError> {
    let path = repo.path().join("index.lock");
    let mut note = None;
    for _ in 0..2 {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut file) => {
                use std::io::Write as _;
                let host = host_name();
                let mark = format!(
                    "{INDEX_LOCK_MARK}: pid {} on {host} at {}\n",
                    std::process::id(),
                    chrono::Utc::now().to_rfc3339()
                );
                let written = file.write_all(mark.as_bytes());
                let lock = IndexLock { path, held: true };
                written.map_err(GateError::io("writing", &lock.path))?;
                return Ok((lock, note));
            }
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                let content = std::fs::read(&path).unwrap_or_default();
                let text = String::from_utf8_lossy(&content);
                if note.is_none() && text.starts_with(INDEX_LOCK_MARK) {
                    std::fs::remove_file(&path).map_err(GateError::io("removing", &path))?;
                    note = Some(format!(
                        "removed {}, left by a trainyard process killed while it moved a branch ({})",
                        path.display(),
                        text.trim()
                            .trim_start_matches(INDEX_LOCK_MARK)
                            .trim_start_matches(": ")
                    ));
                    continue;
                }
                return Err(GateError::Conflict(format!(
                    "{} exists: a git command is using this checkout, or one that crashed left it; \
                     nothing was changed. If no git command is running, delete it and run again",
                    path.display()
                )));
            }
            Err(error) => return Err(GateError::io("creating", path)(error)),
        }
    }
    Err(GateError::Conflict(format!(
        "{} keeps coming back; run again",
        path.display()
    )))
}

/// This machine's name, for the mark in a lock (best effort: none is fine).
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|name| name.trim().to_owned())
        .unwrap_or_default()
}

/// The subject of the commits trainyard makes on a release file.
fn made_by_trainyard(commit: &git2::Commit<'_>) -> bool {
    commit.summary().is_some_and(|summary| {
        summary.starts_with("Promote: ") || summary.starts_with("Roll back: ")
    })
}

/// When `branch` is checked out and trainyard was killed after moving it but
/// before the work tree and index followed (`path` staged and on disk as it
/// was before trainyard's commit that last changed it, or on disk as it is
/// now but staged as it was): finishes the follow, so the next commit cannot
/// undo the change. Returns what it did; anything else (the user's own edit)
/// is left alone. The caller holds the checkout lock.
pub fn finish_interrupted_follow(
    repo: &git2::Repository,
    branch: &str,
    remote: &str,
    path: &str,
) -> Result<Option<String>, GateError> {
    let Ok(tip) = self::tip(repo, branch, remote) else {
        return Ok(None);
    };
    if tip.reference != format!("refs/heads/{branch}") || repo.is_bare() {
        return Ok(None);
    }
    let on_branch = repo
        .head()
        .ok()
        .and_then(|head| head.name().map(str::to_owned))
        .is_some_and(|name| name == tip.reference);
    let Some(workdir) = repo.workdir() else {
        return Ok(None);
    };
    if !on_branch {
        return Ok(None);
    }
    let Some(change) = last_change(repo, tip.commit, path)? else {
        return Ok(None);
    };
    if !made_by_trainyard(&change) {
        return Ok(None);
    }
    let Some(now) = read_file(repo, tip.commit, path)? else {
        return Ok(None);
    };
    let before = match change.parent(0) {
        Ok(parent) => read_file(repo, parent.id(), path)?,
        Err(_) => None,
    };
    let blob_id = |bytes: Option<&[u8]>| {
        bytes
            .map(|bytes| git2::Oid::hash_object(git2::ObjectType::Blob, bytes))
            .transpose()
            .map_err(GateError::git("hashing a blob"))
    };
    let index = repo.index().map_err(GateError::git("reading the index"))?;
    let staged = index.get_path(Path::new(path), 0).map(|entry| entry.id);
    let on_disk = match std::fs::read(workdir.join(path)) {
        Ok(bytes) => Some(bytes),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => return Err(GateError::io("reading", workdir.join(path))(error)),
    };
    let staged_before = staged == blob_id(before.as_deref())?;
    let disk_before_or_now = on_disk == before || on_disk.as_deref() == Some(now.as_slice());
    if !staged_before || !disk_before_or_now || staged == blob_id(Some(&now))? {
        return Ok(None);
    }
    let (mut index_lock, _) = lock_index(repo)?;
    index_lock.release();
    follow_in_work_tree(repo, path, &now)?;
    Ok(Some(format!(
        "finished an interrupted change: `{branch}` had moved to {} (\"{}\") but {path} in the work tree and index had not followed; they match `{branch}` now",
        &change.id().to_string()[..7],
        change.summary().unwrap_or_default()
    )))
}

/// A review branch not merged into the target yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// The branch's name (`trainyard/promote/staging/clf-v2`).
    pub branch: String,
    pub commit: git2::Oid,
}

/// The branches under `prefix` (local, and every remote's) whose tip is not
/// in `target`'s history; a branch both local and remote is listed once.
pub fn proposals(
    repo: &git2::Repository,
    prefix: &str,
    target: git2::Oid,
) -> Result<Vec<Proposal>, GateError> {
    let mut found: Vec<Proposal> = Vec::new();
    let references = repo
        .references()
        .map_err(GateError::git("listing branches"))?;
    for reference in references.flatten() {
        let Some(name) = reference.name() else {
            continue;
        };
        let branch = if let Some(branch) = name.strip_prefix("refs/heads/") {
            branch
        } else if let Some(rest) = name.strip_prefix("refs/remotes/") {
            match rest.split_once('/') {
                Some((_, branch)) => branch,
                None => continue,
            }
        } else {
            continue;
        };
        if !branch.starts_with(prefix) || found.iter().any(|seen| seen.branch == branch) {
            continue;
        }
        let Ok(commit) = reference.peel_to_commit() else {
            continue;
        };
        let merged = commit.id() == target
            || repo
                .graph_descendant_of(target, commit.id())
                .map_err(GateError::git(format!(
                    "comparing {branch} with its target"
                )))?;
        if !merged {
            found.push(Proposal {
                branch: branch.to_owned(),
                commit: commit.id(),
            });
        }
    }
    found.sort_by(|a, b| a.branch.cmp(&b.branch));
    Ok(found)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The lock is the OS's: a second holder is refused while the first
    /// lives, and a dead holder leaves nothing behind (the file that names
    /// the lock is not a lock).
    #[test]
    fn a_second_lock_is_refused_while_the_first_is_held_and_a_leftover_file_is_no_lock() {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init(dir.path()).unwrap();
        let held = lock(&repo, "refs/trainyard-locks/test").unwrap();
        let lock_file = dir.path().join(".git/trainyard/locks/test.lock");
        assert!(lock_file.exists());
        let other = git2::Repository::open(dir.path()).unwrap();
        let second = ProcessLock::acquire(&lock_file, std::time::Duration::ZERO).unwrap();
        assert!(second.is_none(), "held by the first");
        drop(held);
        assert!(lock_file.exists(), "the file stays: it names the lock");
        drop(lock(&other, "refs/trainyard-locks/test").unwrap());
    }
}
