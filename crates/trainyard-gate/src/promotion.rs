//! Making a release an environment's desired state: `deploy/<env>/release.yaml`
//! committed on top of the target branch's tip (onto a review branch, or the
//! target itself), pushed, and built again on the new tip when someone else
//! moved the branch meanwhile. The ledger and the report are the caller's.

use std::fmt::Write as _;

use crate::GateError;
use crate::gitops::{self, Tip};
use crate::release::{Release, ReleaseKind};

/// How many times a change is built again on a branch tip that moved meanwhile.
pub const MAX_ATTEMPTS: u32 = 5;

/// The lock one promotion at a time holds in a clone ([`gitops::lock`]).
pub const CHECKOUT_LOCK: &str = "checkout";

/// Where the commit goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A review branch of this name (its own namespace: a retried change
    /// replaces the earlier attempt), proposed for merging into the target.
    Review(String),
    /// The target branch itself.
    Direct,
}

/// One desired-state change.
#[derive(Debug, Clone)]
pub struct ReleaseChange<'a> {
    pub release: &'a Release,
    /// The release file's path in the repository (`deploy/<env>/release.yaml`).
    pub path: &'a str,
    /// The branch that holds the environments' desired state.
    pub target: &'a str,
    pub destination: Destination,
    /// Why, for the commit message.
    pub reason: &'a str,
    /// The remote to push to (and to read the target from when it is not local).
    pub remote: &'a str,
    /// Push when the remote exists; `false` commits locally only.
    pub push: bool,
}

/// What [`commit_release`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The release was committed.
    Written(Written),
    /// The target already has this model version as its desired state (the release found there).
    Already {
        current: Release,
        /// What was recovered on the way (see [`Written::recovered`]).
        recovered: Vec<String>,
    },
}

/// A written change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub commit: git2::Oid,
    /// The branch that now holds it (the review branch, or the target).
    pub branch: String,
    /// Whether it was pushed (asked to, and the remote exists).
    pub pushed: bool,
    /// How many times it was built (more than 1 after lost races).
    pub attempts: u32,
    /// What an interrupted earlier run left and this one finished or
    /// removed (a work tree that had not followed its branch, a stale
    /// lock), one sentence each, for the report.
    pub recovered: Vec<String>,
}

/// Why a change was not written.
#[derive(Debug, thiserror::Error)]
pub enum PromotionError {
    /// A direct change with neither the target branch in this clone nor a remote to push it to.
    #[error(
        "branch `{target}` is not in this clone and nothing is pushed to `{remote}`: a direct change has nowhere to go"
    )]
    NowhereToWrite {
        target: String,
        remote: String,
        /// The ref the target's tip was read from.
        tip: String,
    },
    /// The local target branch is behind the remote's: the push was refused.
    #[error(
        "{why}\n`{target}` moved on `{remote}`: bring your branch up to date (`git pull`), then promote again"
    )]
    Behind {
        why: String,
        target: String,
        remote: String,
    },
    /// Every attempt lost its race.
    #[error("{why} (gave up after {attempts} attempts: others keep moving `{target}`)")]
    GaveUp {
        why: String,
        attempts: u32,
        target: String,
    },
    #[error(transparent)]
    Gate(#[from] GateError),
}

/// Commits the release on top of the target's tip, pushes it (push first:
/// when the remote refuses, nothing local has moved), then makes the review
/// branch or moves the target (and, when the target is checked out, the work
/// tree's file with it). A race lost to another writer is retried on the new
/// tip up to [`MAX_ATTEMPTS`] times, with growing pauses.
///
/// Recoverable: it runs under the clone's checkout lock (one promotion at a
/// time per clone, an OS lock a killed process cannot leave behind), first
/// finishes what a killed earlier run left half-done (the checked-out
/// target moved but its work tree and index not yet,
/// [`gitops::finish_interrupted_follow`]), and takes `.git/index.lock`
/// before moving a checked-out target, so a lock left there stops it before
/// anything moved, never after.
pub fn commit_release(
    repo: &git2::Repository,
    change: &ReleaseChange<'_>,
) -> Result<Outcome, PromotionError> {
    let release = change.release;
    let content = release.to_yaml();
    let _checkout = gitops::lock(repo, CHECKOUT_LOCK)?;
    let mut recovered: Vec<String> =
        gitops::finish_interrupted_follow(repo, change.target, change.remote, change.path)?
            .into_iter()
            .collect();
    let mut attempt = 1;
    loop {
        let tip = gitops::tip(repo, change.target, change.remote)?;
        let current = current_release(repo, tip.commit, change.path)?;
        if let Some(current) = current
            .as_ref()
            .filter(|current| current.model == release.model && current.version == release.version)
        {
            return Ok(Outcome::Already {
                current: current.clone(),
                recovered,
            });
        }
        match write(repo, change, &tip, current.as_ref(), &content) {
            Ok(Wrote {
                commit,
                branch,
                pushed,
                notes,
            }) => {
                recovered.extend(notes);
                return Ok(Outcome::Written(Written {
                    commit,
                    branch,
                    pushed,
                    attempts: attempt,
                    recovered,
                }));
            }
            // Someone else moved the branch meanwhile: build again on the new tip.
            Err(Lost::Race { fetch, .. }) if attempt < MAX_ATTEMPTS => {
                // A short, growing pause lets the other writer finish.
                std::thread::sleep(std::time::Duration::from_millis(25 * u64::from(attempt)));
                attempt += 1;
                if fetch {
                    gitops::fetch(workdir(repo), change.remote, change.target)?;
                }
            }
            Err(Lost::Race { why, .. }) => {
                return Err(PromotionError::GaveUp {
                    why,
                    attempts: MAX_ATTEMPTS,
                    target: change.target.to_owned(),
                });
            }
            Err(Lost::Failed(error)) => return Err(error),
        }
    }
}

/// `Promote: <model> v<version> to <env>` (`Roll back: …` for a rollback).
pub fn title(release: &Release) -> String {
    format!(
        "{}: {} v{} to {}",
        match release.kind {
            ReleaseKind::Promote => "Promote",
            ReleaseKind::Rollback => "Roll back",
        },
        release.model,
        release.version,
        release.environment
    )
}

/// `trainyard/promote/<env>/<model>-v<version>` (`…/rollback-<model>-v<version>` for a rollback).
pub fn review_branch(release: &Release) -> String {
    format!(
        "trainyard/promote/{}/{}{}-v{}",
        release.environment,
        match release.kind {
            ReleaseKind::Promote => "",
            ReleaseKind::Rollback => "rollback-",
        },
        release.model,
        release.version
    )
}

/// The commit's message: the title, then the run, the commit it trained from,
/// the verdict, the release it replaces and why.
pub fn commit_message(release: &Release, replaces: Option<&Release>, reason: &str) -> String {
    let mut message = format!("{}\n\n", title(release));
    let _ = writeln!(message, "Run: {}", release.run);
    if let Some(commit) = &release.commit {
        let _ = writeln!(message, "Trained from: {commit}");
    }
    if let Some(verdict) = &release.verdict {
        let _ = writeln!(message, "Gate verdict: {verdict}");
    }
    if let Some(current) = replaces {
        let _ = writeln!(message, "Replaces: {} v{}", current.model, current.version);
    }
    let _ = writeln!(message, "Reason: {reason}");
    message
}

/// What [`write`] wrote: the commit, its branch, whether it was pushed,
/// and what it recovered from on the way.
struct Wrote {
    commit: git2::Oid,
    branch: String,
    pushed: bool,
    notes: Vec<String>,
}

/// Why [`write`] did not write.
enum Lost {
    /// The branch moved under us (locally, or the remote refused a push that
    /// was not a fast-forward); `fetch`: the remote's tip must be fetched first.
    Race {
        why: String,
        fetch: bool,
    },
    Failed(PromotionError),
}

impl From<GateError> for Lost {
    fn from(error: GateError) -> Self {
        Self::Failed(error.into())
    }
}

fn workdir(repo: &git2::Repository) -> &std::path::Path {
    repo.workdir().unwrap_or_else(|| repo.path())
}

/// The environment's release file on the target branch, if it has one.
fn current_release(
    repo: &git2::Repository,
    tip: git2::Oid,
    path: &str,
) -> Result<Option<Release>, GateError> {
    gitops::read_file(repo, tip, path)?
        .map(|bytes| Release::parse(&String::from_utf8_lossy(&bytes), path))
        .transpose()
}

/// The commit on top of the target's tip, pushed (when there is a remote), then
/// the review branch made or the target moved (and the checkout's file with
/// it). Returns the commit, its branch and whether it was pushed.
fn write(
    repo: &git2::Repository,
    change: &ReleaseChange<'_>,
    tip: &Tip,
    current: Option<&Release>,
    content: &str,
) -> Result<Wrote, Lost> {
    let release = change.release;
    let path = change.path;
    let title = title(release);
    let message = commit_message(release, current, change.reason);
    let direct = change.destination == Destination::Direct;

    let local_target = tip.reference == format!("refs/heads/{}", change.target);
    let can_push = change.push && gitops::has_remote(repo, change.remote);
    if direct && !local_target && !can_push {
        return Err(Lost::Failed(PromotionError::NowhereToWrite {
            target: change.target.to_owned(),
            remote: change.remote.to_owned(),
            tip: tip.reference.clone(),
        }));
    }
    let direct_on_checkout =
        direct && gitops::checked_out_and_clean(repo, change.target, tip.commit, path)?;
    let mut notes = Vec::new();
    // Before anything moves: a lock on the index must stop us now, not
    // after the branch moved (when the work tree could no longer follow).
    let mut index_lock = if direct_on_checkout {
        let (held, note) = gitops::lock_index(repo)?;
        notes.extend(note);
        Some(held)
    } else {
        None
    };
    let commit = gitops::commit_file(repo, tip.commit, path, content.as_bytes(), &message)?;
    let branch = match &change.destination {
        Destination::Direct => change.target.to_owned(),
        Destination::Review(branch) => branch.clone(),
    };
    if can_push {
        match gitops::push(workdir(repo), change.remote, commit, &branch, !direct) {
            Ok(()) => {}
            // Built on the remote's tip: fetch it and build again.
            Err(GateError::Rejected(why)) if !local_target => {
                return Err(Lost::Race { why, fetch: true });
            }
            Err(GateError::Rejected(why)) => {
                return Err(Lost::Failed(PromotionError::Behind {
                    why,
                    target: change.target.to_owned(),
                    remote: change.remote.to_owned(),
                }));
            }
            Err(error) => return Err(error.into()),
        }
    }
    if !direct {
        // Our own namespace: a retried change replaces its earlier attempt.
        repo.reference(&format!("refs/heads/{branch}"), commit, true, &title)
            .map_err(GateError::git(format!("creating branch {branch}")))?;
    } else if local_target {
        match gitops::move_branch(repo, change.target, commit, Some(tip.commit), &title) {
            Ok(()) => {}
            Err(GateError::Conflict(why)) => return Err(Lost::Race { why, fetch: false }),
            Err(error) => return Err(error.into()),
        }
        if let Some(index_lock) = index_lock.as_mut() {
            // git2 writes the index through the same lock file.
            index_lock.release();
            gitops::follow_in_work_tree(repo, path, content.as_bytes())?;
        }
    }
    Ok(Wrote {
        commit,
        branch,
        pushed: can_push,
        notes,
    })
}
