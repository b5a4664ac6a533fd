//! Syncing the ledger refs with a remote through the `git` command line (it
//! reads `http.extraheader`, credential helpers and proxies; libgit2 does not).
//!
//! Pull: `git fetch` the remote's `refs/trainyard/*` into a staging namespace
//! (`refs/trainyard-sync/<remote>/*`), then merge each ref into the local
//! one. When both sides wrote, the local-only commits are replayed on top of
//! the remote's tip, like a rebase: runs are added as they are; log entries
//! (alias moves, tag changes, deployments) are appended after the remote's;
//! a model version whose number the remote already used gets the next free
//! number, and the replayed alias moves, tags and deployments that named it
//! follow. Push: pull, then `git push --force-with-lease` of the merged tips
//! (leased on the tips just fetched); if another writer pushed in between,
//! start over.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use git2::{Oid, Repository, Sort, Tree};
use serde::Serialize;
use trainyard_core::store_url::redact_urls;

use crate::git::{
    LEDGER_REFS, ModelState, REGISTRY_REF, backoff, compare_and_swap, decode, lost_race, next_path,
    read_blob, signature, tip_of, to_json, version_path, write_tree,
};
use crate::record::{AliasMove, Deployment, ModelVersion, TagChange};
use crate::{GitLedger, LedgerError};

/// How many fetch-merge-push rounds a push tries before giving up.
const MAX_PUSH_ATTEMPTS: u32 = 20;
/// How many times a pull re-merges when a local writer moves a ref meanwhile.
const MAX_MERGE_ATTEMPTS: u32 = 200;

/// What a push or pull did to one ledger ref.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefSync {
    /// `refs/trainyard/runs` or `refs/trainyard/registry`.
    pub reference: String,
    /// The local tip before, if the ref existed.
    pub local_before: Option<String>,
    /// The remote's tip as fetched, if the remote had the ref.
    pub remote: Option<String>,
    /// The local tip after (for a push, also the remote's).
    pub local_after: Option<String>,
    /// Local commits re-applied on top of the remote's (they were not there yet).
    pub replayed: usize,
    /// Model versions renumbered because the remote had registered the same
    /// number meanwhile: `(model, local number, new number)`.
    pub renumbered: Vec<(String, u64, u64)>,
    /// Records both sides wrote under the same path with different content
    /// (a run id recorded twice); the remote's was kept.
    pub kept_remote: Vec<String>,
    /// Whether this ref was pushed (push only).
    pub pushed: bool,
}

/// What `push` or `pull` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    /// The remote as given; a URL without its userinfo or query (a token).
    pub remote: String,
    pub refs: Vec<RefSync>,
    /// How many fetch-merge(-push) rounds it took (a push retries when
    /// another writer pushed in between).
    pub attempts: u32,
}

impl GitLedger {
    /// Fetches the remote's ledger refs and merges them into the local ones.
    pub fn pull(&self, remote: &str) -> Result<SyncReport, LedgerError> {
        let refs = self.fetch_and_merge(remote)?;
        Ok(SyncReport {
            remote: redact_urls(remote),
            refs,
            attempts: 1,
        })
    }

    /// Pulls, then pushes the merged ledger refs with a lease on the fetched
    /// tips; retries from the fetch when another writer pushed in between.
    pub fn push(&self, remote: &str) -> Result<SyncReport, LedgerError> {
        for attempt in 1..=MAX_PUSH_ATTEMPTS {
            let mut refs = self.fetch_and_merge(remote)?;
            let mut arguments = vec![
                "push".to_owned(),
                "--porcelain".to_owned(),
                "--no-verify".to_owned(),
            ];
            let mut refspecs = Vec::new();
            for sync in &mut refs {
                let Some(local) = &sync.local_after else {
                    continue;
                };
                if sync.remote.as_ref() == Some(local) {
                    continue;
                }
                arguments.push(format!(
                    "--force-with-lease={}:{}",
                    sync.reference,
                    sync.remote.as_deref().unwrap_or("")
                ));
                refspecs.push(format!("{local}:{}", sync.reference));
                sync.pushed = true;
            }
            if refspecs.is_empty() {
                return Ok(SyncReport {
                    remote: redact_urls(remote),
                    refs,
                    attempts: attempt,
                });
            }
            arguments.push(remote.to_owned());
            arguments.extend(refspecs);
            let output = self.git(&arguments)?;
            if output.status.success() {
                return Ok(SyncReport {
                    remote: redact_urls(remote),
                    refs,
                    attempts: attempt,
                });
            }
            let stdout = String::from_utf8_lossy(&output.stdout);
            let rejected_by_race = stdout.lines().any(|line| {
                line.starts_with('!')
                    && ["stale info", "fetch first", "non-fast-forward", "rejected"]
                        .iter()
                        .any(|reason| line.contains(reason))
            });
            if !rejected_by_race {
                return Err(command_error(&arguments, &output));
            }
            backoff(attempt * 4);
        }
        Err(LedgerError::Contended {
            reference: format!("{}'s refs/trainyard/*", redact_urls(remote)),
            attempts: MAX_PUSH_ATTEMPTS,
        })
    }

    fn fetch_and_merge(&self, remote: &str) -> Result<Vec<RefSync>, LedgerError> {
        let staging = staging_prefix(remote);
        let arguments = vec![
            "fetch".to_owned(),
            "--no-tags".to_owned(),
            "--prune".to_owned(),
            "--no-write-fetch-head".to_owned(),
            remote.to_owned(),
            format!("+refs/trainyard/*:{staging}*"),
        ];
        let output = self.git(&arguments)?;
        if !output.status.success() {
            return Err(command_error(&arguments, &output));
        }
        let repo = self.repo();
        LEDGER_REFS
            .iter()
            .map(|reference| {
                let staged = format!("{staging}{}", &reference["refs/trainyard/".len()..]);
                merge_ref(&repo, reference, tip_of(&repo, &staged)?)
            })
            .collect()
    }

    fn git(&self, arguments: &[String]) -> Result<std::process::Output, LedgerError> {
        Command::new("git")
            .arg("-C")
            .arg(self.root())
            .args(arguments)
            // CI has no one to type a password: fail instead of waiting.
            .env("GIT_TERMINAL_PROMPT", "0")
            .output()
            .map_err(|source| LedgerError::GitMissing { source })
    }
}

/// Where a remote's ledger refs are fetched to: not under `refs/trainyard/`,
/// so a push of `refs/trainyard/*` never sends them back.
fn staging_prefix(remote: &str) -> String {
    let plain = !remote.is_empty()
        && remote
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
    if plain {
        format!("refs/trainyard-sync/{remote}/")
    } else {
        // A URL: name its staging area by a digest of it.
        let digest = blake3::hash(remote.as_bytes()).to_hex();
        format!("refs/trainyard-sync/url-{}/", &digest[..16])
    }
}

fn command_error(arguments: &[String], output: &std::process::Output) -> LedgerError {
    let mut stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    if stderr.is_empty() {
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .clone_into(&mut stderr);
    }
    // The remote may be a URL with a token in it, and git repeats it.
    LedgerError::GitCommand {
        command: redact_urls(&format!("git {}", arguments.join(" "))),
        status: output.status.to_string(),
        stderr: redact_urls(&stderr),
    }
}

/// Merges the remote tip `remote` into local `reference`, by compare-and-swap.
fn merge_ref(
    repo: &Repository,
    reference: &str,
    remote: Option<Oid>,
) -> Result<RefSync, LedgerError> {
    let git = |action: &str, e| LedgerError::git(format!("{action} {reference}"), e);
    for attempt in 0..MAX_MERGE_ATTEMPTS {
        let local = tip_of(repo, reference)?;
        let mut sync = RefSync {
            reference: reference.to_owned(),
            local_before: local.map(|o| o.to_string()),
            remote: remote.map(|o| o.to_string()),
            local_after: local.map(|o| o.to_string()),
            replayed: 0,
            renumbered: Vec::new(),
            kept_remote: Vec::new(),
            pushed: false,
        };
        let (Some(remote), new) = (remote, local) else {
            return Ok(sync);
        };
        let target = match new {
            None => remote,
            Some(local) if local == remote => return Ok(sync),
            Some(local)
                if repo
                    .graph_descendant_of(local, remote)
                    .map_err(|e| git("comparing", e))? =>
            {
                return Ok(sync);
            }
            Some(local)
                if repo
                    .graph_descendant_of(remote, local)
                    .map_err(|e| git("comparing", e))? =>
            {
                remote
            }
            Some(local) => {
                let replayed = replay(repo, reference, local, remote)?;
                sync.replayed = replayed.commits;
                sync.renumbered = replayed.renumbered;
                sync.kept_remote = replayed.kept_remote;
                replayed.tip
            }
        };
        match compare_and_swap(repo, reference, local, target, "trainyard: sync") {
            Ok(()) => {
                sync.local_after = Some(target.to_string());
                return Ok(sync);
            }
            Err(error) if lost_race(&error) => backoff(attempt),
            Err(error) => return Err(git("updating", error)),
        }
    }
    Err(LedgerError::Contended {
        reference: reference.to_owned(),
        attempts: MAX_MERGE_ATTEMPTS,
    })
}

/// The outcome of replaying local commits on the remote's tip.
struct Replayed {
    tip: Oid,
    commits: usize,
    renumbered: Vec<(String, u64, u64)>,
    kept_remote: Vec<String>,
}

/// Re-applies the commits of `local` that `remote` lacks on top of `remote`;
/// returns the new tip.
fn replay(
    repo: &Repository,
    reference: &str,
    local: Oid,
    remote: Oid,
) -> Result<Replayed, LedgerError> {
    let git = |e| LedgerError::git(format!("replaying {reference}"), e);
    let mut walk = repo.revwalk().map_err(git)?;
    walk.push(local).map_err(git)?;
    walk.hide(remote).map_err(git)?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)
        .map_err(git)?;
    let commits: Vec<Oid> = walk.collect::<Result<_, _>>().map_err(git)?;

    let mut tip = remote;
    let mut renumber: BTreeMap<(String, u64), u64> = BTreeMap::new();
    let mut renumbered = Vec::new();
    let mut kept_remote = Vec::new();
    for oid in &commits {
        let commit = repo.find_commit(*oid).map_err(git)?;
        let tree = commit.tree().map_err(git)?;
        let parent_tree = match commit.parent(0) {
            Ok(parent) => Some(parent.tree().map_err(git)?),
            Err(_) => None,
        };
        let diff = repo
            .diff_tree_to_tree(parent_tree.as_ref(), Some(&tree), None)
            .map_err(git)?;
        let mut changed: Vec<String> = Vec::new();
        for delta in diff.deltas() {
            if matches!(delta.status(), git2::Delta::Added | git2::Delta::Modified)
                && let Some(path) = delta.new_file().path().and_then(Path::to_str)
            {
                changed.push(path.to_owned());
            }
        }
        let tip_commit = repo.find_commit(tip).map_err(git)?;
        let tip_tree = tip_commit.tree().map_err(git)?;
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        let mut message = commit.message().unwrap_or("trainyard").to_owned();
        for path in changed {
            let Some(content) = read_blob(repo, &tree, &path)? else {
                continue;
            };
            // Earlier files of this commit are already in `files`, not yet in the tip.
            let current = staged_tree(repo, &tip_tree, &files)?;
            if reference == REGISTRY_REF {
                if let Some((new_path, new_content, renamed)) =
                    replay_registry_file(repo, &current, &path, &content, &mut renumber)?
                {
                    if let Some((model, from, to)) = renamed {
                        message = format!(
                            "{message}\n\nrenumbered {model} v{from} -> v{to} when syncing"
                        );
                        renumbered.push((model, from, to));
                    }
                    files.push((new_path, new_content));
                }
            } else {
                // A run is keyed by its unique id: add it unless the remote has it.
                match read_blob(repo, &current, &path)? {
                    None => files.push((path, content)),
                    Some(remote) if remote != content => kept_remote.push(path),
                    Some(_) => {}
                }
            }
        }
        if files.is_empty() {
            continue;
        }
        let new_tree = write_tree(repo, Some(&tip_tree), &files)?;
        let new_tree = repo.find_tree(new_tree).map_err(git)?;
        let committer = signature()?;
        tip = repo
            .commit(
                None,
                &commit.author(),
                &committer,
                &message,
                &new_tree,
                &[&tip_commit],
            )
            .map_err(git)?;
    }
    Ok(Replayed {
        tip,
        commits: commits.len(),
        renumbered,
        kept_remote,
    })
}

/// The tip's tree with `files` written in (for lookups during one replayed commit).
fn staged_tree<'r>(
    repo: &'r Repository,
    tip: &Tree<'r>,
    files: &[(String, Vec<u8>)],
) -> Result<Tree<'r>, LedgerError> {
    if files.is_empty() {
        return Ok(tip.clone());
    }
    let oid = write_tree(repo, Some(tip), files)?;
    repo.find_tree(oid)
        .map_err(|e| LedgerError::git("replaying the registry", e))
}

type ReplayedFile = (String, Vec<u8>, Option<(String, u64, u64)>);

/// Where and how one local registry file lands on the remote's tree.
fn replay_registry_file(
    repo: &Repository,
    tree: &Tree<'_>,
    path: &str,
    content: &[u8],
    renumber: &mut BTreeMap<(String, u64), u64>,
) -> Result<Option<ReplayedFile>, LedgerError> {
    let parts: Vec<&str> = path.split('/').collect();
    let remap = |renumber: &BTreeMap<(String, u64), u64>, model: &str, version: u64| {
        renumber
            .get(&(model.to_owned(), version))
            .copied()
            .unwrap_or(version)
    };
    match parts.as_slice() {
        ["models", model, "versions", _] => {
            let mut version: ModelVersion = decode(REGISTRY_REF, path, content)?;
            let state = ModelState::load(repo, tree, model)?;
            if state.versions.iter().any(|v| {
                v.run_id == version.run_id
                    && v.artifact == version.artifact
                    && v.registered_at == version.registered_at
            }) {
                return Ok(None);
            }
            let next = state.next_version();
            let renamed = (next != version.version).then(|| {
                renumber.insert(((*model).to_owned(), version.version), next);
                ((*model).to_owned(), version.version, next)
            });
            version.version = next;
            Ok(Some((
                version_path(model, next),
                to_json(&version)?,
                renamed,
            )))
        }
        ["models", model, "aliases", _] => {
            let mut moved: AliasMove = decode(REGISTRY_REF, path, content)?;
            moved.version = remap(renumber, model, moved.version);
            let state = ModelState::load(repo, tree, model)?;
            moved.previous = state.aliases().get(&moved.alias).copied();
            let folder = format!("models/{model}/aliases");
            Ok(Some((
                next_path(repo, Some(tree), &folder)?,
                to_json(&moved)?,
                None,
            )))
        }
        ["models", model, "tags", _] => {
            let mut change: TagChange = decode(REGISTRY_REF, path, content)?;
            change.version = remap(renumber, model, change.version);
            let folder = format!("models/{model}/tags");
            Ok(Some((
                next_path(repo, Some(tree), &folder)?,
                to_json(&change)?,
                None,
            )))
        }
        ["environments", env, _] => {
            let mut deployment: Deployment = decode(REGISTRY_REF, path, content)?;
            deployment.version = remap(renumber, &deployment.model, deployment.version);
            let folder = format!("environments/{env}");
            Ok(Some((
                next_path(repo, Some(tree), &folder)?,
                to_json(&deployment)?,
                None,
            )))
        }
        _ => {
            // A kind of record this version does not know: keep it if the path is free.
            let exists = read_blob(repo, tree, path)?.is_some();
            Ok((!exists).then(|| (path.to_owned(), content.to_vec(), None)))
        }
    }
}
