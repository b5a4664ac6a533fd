//! The git-backed ledger: records are JSON blobs in commits on two refs,
//!
//! - `refs/trainyard/runs`: `runs/<yyyymm>/<dd>/<run id>.json`, one file per run;
//! - `refs/trainyard/registry`: `models/<model>/versions/<nnnnnnnn>.json`,
//!   `models/<model>/aliases/<nnnnnnnn>.json` (the alias moves, in order),
//!   `models/<model>/tags/<nnnnnnnn>.json` (the tag changes, in order) and
//!   `environments/<env>/<nnnnnnnn>.json` (the deployments, in order).
//!
//! Each write reads the ref's tip, builds a new tree from it with only the
//! changed paths rewritten, commits it (parent: the tip) and moves the ref
//! only if it still points at that tip; a writer that lost the race starts
//! over from the new tip. Neither the work tree nor the index is touched.
//!
//! A writer also holds an OS advisory lock (`<git dir>/trainyard/ledger.lock`,
//! [`ProcessLock`]) while it updates a ref. The OS releases it when its
//! holder dies, so it never goes stale, and it proves that no other
//! trainyard process is between taking and releasing a ledger ref's own lock
//! file (`refs/trainyard/runs.lock`, libgit2's, which a killed writer leaves
//! behind): a ref lock found while holding it, and older than
//! [`STALE_REF_LOCK`] (so not a `git` command's of this instant), was left by
//! a dead process. It is removed, the write goes on, and
//! [`GitLedger::recoveries`] says so.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use git2::{ErrorCode, FileMode, Oid, Repository, Signature, Tree};

use crate::record::{AliasMove, Deployment, ModelVersion, RunId, RunRecord, TagChange};
use crate::{Ledger, LedgerError};
use trainyard_core::lock::ProcessLock;
use trainyard_store::ArtifactRef;

/// The ref holding every run.
pub const RUNS_REF: &str = "refs/trainyard/runs";
/// The ref holding the model registry and the environments' histories.
pub const REGISTRY_REF: &str = "refs/trainyard/registry";
/// Every ledger ref, in the order they are synced.
pub const LEDGER_REFS: [&str; 2] = [RUNS_REF, REGISTRY_REF];

/// How many times a writer retries a lost compare-and-swap before giving up.
/// Each retry only costs rebuilding a few trees; the limit exists so a
/// broken repository cannot spin forever.
const MAX_ATTEMPTS: u32 = 2000;

/// A ledger ref's lock file older than this, found while holding the
/// ledger's advisory lock, was left by a dead process (git holds a ref's
/// lock for milliseconds).
pub const STALE_REF_LOCK: Duration = Duration::from_secs(2);

/// How long a writer waits for another trainyard process's write.
const LEDGER_LOCK_WAIT: Duration = Duration::from_mins(1);

/// The ledger in a git repository.
pub struct GitLedger {
    repo: Mutex<Repository>,
    /// The work tree (or the git dir of a bare repository): where `git` runs.
    root: PathBuf,
    /// Stale locks removed on the way, for the step to tell.
    recovered: Mutex<Vec<String>>,
}

impl std::fmt::Debug for GitLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitLedger")
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

/// What one write adds: files (path in the tree -> content) and the value to return.
pub(crate) struct Edit<T> {
    pub files: Vec<(String, Vec<u8>)>,
    pub message: String,
    pub value: T,
}

impl GitLedger {
    /// The ledger of the git repository containing `path` (a project folder
    /// or any folder below the repository's root).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, LedgerError> {
        let path = path.as_ref();
        let repo = Repository::discover(path).map_err(|source| LedgerError::NotARepository {
            path: path.to_path_buf(),
            source,
        })?;
        let root = repo.workdir().unwrap_or_else(|| repo.path()).to_path_buf();
        Ok(Self {
            repo: Mutex::new(repo),
            root,
            recovered: Mutex::new(Vec::new()),
        })
    }

    /// What this ledger recovered from (a stale lock a dead process left),
    /// one sentence each, since the last call.
    pub fn recoveries(&self) -> Vec<String> {
        std::mem::take(
            &mut *self
                .recovered
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Takes the ledger's advisory lock (see the module's documentation).
    fn writer_lock(repo: &Repository) -> Result<ProcessLock, LedgerError> {
        let path = repo.commondir().join("trainyard").join("ledger.lock");
        match ProcessLock::acquire(&path, LEDGER_LOCK_WAIT) {
            Ok(Some(lock)) => Ok(lock),
            Ok(None) => Err(LedgerError::Busy { lock_file: path }),
            Err(source) => Err(LedgerError::Io {
                action: "locking",
                path,
                source,
            }),
        }
    }

    /// Removes `reference`'s lock file when a dead process left it (see the
    /// module's documentation); the caller holds the ledger's advisory lock.
    fn remove_stale_ref_lock(&self, repo: &Repository, reference: &str) -> bool {
        let lock_file = repo.commondir().join(format!("{reference}.lock"));
        let age = std::fs::metadata(&lock_file)
            .and_then(|metadata| metadata.modified())
            .ok()
            .and_then(|modified| SystemTime::now().duration_since(modified).ok());
        if age.is_none_or(|age| age < STALE_REF_LOCK) || std::fs::remove_file(&lock_file).is_err() {
            return false;
        }
        self.recovered
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(format!(
                "removed {}, a lock on {reference} left by a trainyard or git process that ended \
                 while writing (no trainyard process holds the ledger now); the write went on",
                lock_file.display()
            ));
        true
    }

    /// The repository's work tree (its git dir, if bare).
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn repo(&self) -> MutexGuard<'_, Repository> {
        // A panic while holding the lock cannot leave the repository in a
        // state worse than a crashed process would.
        self.repo
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Applies `change` to the tip of `reference` by compare-and-swap,
    /// retrying from the new tip when another writer moved it first.
    pub(crate) fn update<T>(
        &self,
        reference: &str,
        mut change: impl FnMut(&Repository, Option<&Tree<'_>>) -> Result<Edit<T>, LedgerError>,
    ) -> Result<T, LedgerError> {
        let repo = self.repo();
        let _writer = Self::writer_lock(&repo)?;
        let mut last_locked = false;
        for attempt in 0..MAX_ATTEMPTS {
            let tip = tip_of(&repo, reference)?;
            let tip_commit = match tip {
                Some(oid) => Some(
                    repo.find_commit(oid)
                        .map_err(|e| LedgerError::git(format!("reading {reference}"), e))?,
                ),
                None => None,
            };
            let tip_tree = match &tip_commit {
                Some(commit) => Some(
                    commit
                        .tree()
                        .map_err(|e| LedgerError::git(format!("reading {reference}"), e))?,
                ),
                None => None,
            };
            let edit = change(&repo, tip_tree.as_ref())?;
            if edit.files.is_empty() {
                // Nothing new (a record written twice): no commit at all.
                return Ok(edit.value);
            }
            let tree = write_tree(&repo, tip_tree.as_ref(), &edit.files)?;
            let tree = repo
                .find_tree(tree)
                .map_err(|e| LedgerError::git("reading the new tree", e))?;
            let signature = signature()?;
            let parents: Vec<&git2::Commit<'_>> = tip_commit.iter().collect();
            let commit = repo
                .commit(None, &signature, &signature, &edit.message, &tree, &parents)
                .map_err(|e| LedgerError::git(format!("committing to {reference}"), e))?;
            match compare_and_swap(&repo, reference, tip, commit, &edit.message) {
                Ok(()) => return Ok(edit.value),
                Err(error) if lost_race(&error) => {
                    last_locked = error.code() == ErrorCode::Locked;
                    if !(last_locked && self.remove_stale_ref_lock(&repo, reference)) {
                        backoff(attempt);
                    }
                }
                Err(error) => return Err(LedgerError::git(format!("updating {reference}"), error)),
            }
        }
        if last_locked {
            // Every attempt found the lock taken: most likely left by a crash.
            return Err(LedgerError::Locked {
                reference: reference.to_owned(),
                lock_file: repo.commondir().join(format!("{reference}.lock")),
            });
        }
        Err(LedgerError::Contended {
            reference: reference.to_owned(),
            attempts: MAX_ATTEMPTS,
        })
    }

    /// Reads the blob at `path` in the tip of `reference`, if any.
    fn read(&self, reference: &str, path: &str) -> Result<Option<Vec<u8>>, LedgerError> {
        let repo = self.repo();
        let Some(tree) = tip_tree(&repo, reference)? else {
            return Ok(None);
        };
        read_blob(&repo, &tree, path)
    }

    /// The names of the sub-folders of `path` in the tip of `reference`.
    fn list_folders(&self, reference: &str, path: &str) -> Result<Vec<String>, LedgerError> {
        let repo = self.repo();
        let Some(tree) = tip_tree(&repo, reference)? else {
            return Ok(Vec::new());
        };
        list_entries(&repo, &tree, path, Some(git2::ObjectType::Tree))
    }

    fn model_state(&self, model: &str) -> Result<ModelState, LedgerError> {
        validate_name("model name", model)?;
        let state = {
            let repo = self.repo();
            match tip_tree(&repo, REGISTRY_REF)? {
                Some(tree) => ModelState::load(&repo, &tree, model)?,
                None => ModelState::default(),
            }
        };
        if state.versions.is_empty() {
            return Err(LedgerError::ModelNotFound {
                model: model.to_owned(),
                known: self.models()?,
            });
        }
        Ok(state)
    }
}

/// Everything recorded about one model, read from one registry tree.
#[derive(Debug, Default)]
pub(crate) struct ModelState {
    pub versions: Vec<ModelVersion>,
    pub alias_moves: Vec<AliasMove>,
    pub tag_changes: Vec<TagChange>,
}

impl ModelState {
    pub(crate) fn load(
        repo: &Repository,
        tree: &Tree<'_>,
        model: &str,
    ) -> Result<Self, LedgerError> {
        let versions = decode_folder(repo, tree, &format!("models/{model}/versions"))?;
        let alias_moves = decode_folder(repo, tree, &format!("models/{model}/aliases"))?;
        let tag_changes = decode_folder(repo, tree, &format!("models/{model}/tags"))?;
        Ok(Self {
            versions,
            alias_moves,
            tag_changes,
        })
    }

    /// The model's state in `tree`, or an empty one before the first write.
    fn at(repo: &Repository, tree: Option<&Tree<'_>>, model: &str) -> Result<Self, LedgerError> {
        match tree {
            Some(tree) => Self::load(repo, tree, model),
            None => Ok(Self::default()),
        }
    }

    /// [`Self::at`], refusing when `version` was never registered.
    fn with_version(
        repo: &Repository,
        tree: Option<&Tree<'_>>,
        model: &str,
        version: u64,
    ) -> Result<Self, LedgerError> {
        let state = Self::at(repo, tree, model)?;
        if !state.has_version(version) {
            return Err(LedgerError::VersionNotFound {
                model: model.to_owned(),
                spec: version.to_string(),
                known: state.known_specs(),
            });
        }
        Ok(state)
    }

    pub(crate) fn aliases(&self) -> BTreeMap<String, u64> {
        self.alias_moves
            .iter()
            .map(|moved| (moved.alias.clone(), moved.version))
            .collect()
    }

    pub(crate) fn next_version(&self) -> u64 {
        self.versions.iter().map(|v| v.version).max().unwrap_or(0) + 1
    }

    fn has_version(&self, version: u64) -> bool {
        self.versions.iter().any(|v| v.version == version)
    }

    /// The versions with their current tags and aliases filled in.
    fn decorated(&self) -> Vec<ModelVersion> {
        let aliases = self.aliases();
        self.versions
            .iter()
            .map(|version| {
                let mut version = version.clone();
                for change in self
                    .tag_changes
                    .iter()
                    .filter(|c| c.version == version.version)
                {
                    version
                        .tags
                        .insert(change.key.clone(), change.value.clone());
                }
                version.aliases = aliases
                    .iter()
                    .filter(|(_, v)| **v == version.version)
                    .map(|(alias, _)| alias.clone())
                    .collect();
                version
            })
            .collect()
    }

    fn known_specs(&self) -> Vec<String> {
        let mut known: Vec<String> = self
            .versions
            .iter()
            .map(|v| v.version.to_string())
            .collect();
        known.extend(self.aliases().into_keys());
        known
    }
}

impl Ledger for GitLedger {
    fn append_run(&self, run: &RunRecord) -> Result<(), LedgerError> {
        let path = run_path(&run.id);
        let content = to_json(run)?;
        self.update(RUNS_REF, |repo, tree| {
            if let Some(tree) = tree
                && tree.get_path(Path::new(&path)).is_ok()
            {
                let existing = read_blob(repo, tree, &path)?;
                if existing.as_deref() == Some(content.as_slice()) {
                    // The same record written twice (a retried CI step): nothing to do.
                    return Ok(Edit {
                        files: Vec::new(),
                        message: format!("run {} (again)", run.id),
                        value: (),
                    });
                }
                return Err(LedgerError::RunExists {
                    id: run.id.to_string(),
                });
            }
            Ok(Edit {
                files: vec![(path.clone(), content.clone())],
                message: format!("run {} ({}, {})", run.id, run.mode, run.outcome),
                value: (),
            })
        })
    }

    fn run(&self, id: &str) -> Result<RunRecord, LedgerError> {
        if let Ok(exact) = RunId::parse(id)
            && let Some(content) = self.read(RUNS_REF, &run_path(&exact))?
        {
            return decode(RUNS_REF, &run_path(&exact), &content);
        }
        let matches: Vec<RunId> = self
            .run_ids()?
            .into_iter()
            .filter(|candidate| candidate.as_str().starts_with(id))
            .collect();
        match matches.as_slice() {
            [only] => {
                let path = run_path(only);
                let content = self
                    .read(RUNS_REF, &path)?
                    .ok_or_else(|| LedgerError::RunNotFound { id: id.to_owned() })?;
                decode(RUNS_REF, &path, &content)
            }
            [] => Err(LedgerError::RunNotFound { id: id.to_owned() }),
            many => Err(LedgerError::AmbiguousRun {
                prefix: id.to_owned(),
                matches: many.iter().map(ToString::to_string).collect(),
            }),
        }
    }

    fn run_ids(&self) -> Result<Vec<RunId>, LedgerError> {
        let repo = self.repo();
        let Some(tree) = tip_tree(&repo, RUNS_REF)? else {
            return Ok(Vec::new());
        };
        let mut ids = Vec::new();
        for folder in run_folders(&repo, &tree)? {
            for file in list_entries(&repo, &tree, &folder, Some(git2::ObjectType::Blob))? {
                if let Some(id) = file.strip_suffix(".json")
                    && let Ok(id) = RunId::parse(id)
                {
                    ids.push(id);
                }
            }
        }
        ids.sort();
        Ok(ids)
    }

    fn runs(&self) -> Result<Vec<RunRecord>, LedgerError> {
        let repo = self.repo();
        let Some(tree) = tip_tree(&repo, RUNS_REF)? else {
            return Ok(Vec::new());
        };
        let mut runs: Vec<RunRecord> = Vec::new();
        for folder in run_folders(&repo, &tree)? {
            runs.extend(decode_folder::<RunRecord>(&repo, &tree, &folder)?);
        }
        runs.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(runs)
    }

    fn register(
        &self,
        model: &str,
        run_id: &RunId,
        artifact: &ArtifactRef,
    ) -> Result<ModelVersion, LedgerError> {
        validate_name("model name", model)?;
        trainyard_store::validate_digest(&artifact.digest).map_err(|_| {
            LedgerError::InvalidDigest {
                value: artifact.digest.clone(),
            }
        })?;
        let registered_at = chrono::Utc::now();
        self.update(REGISTRY_REF, |repo, tree| {
            let state = ModelState::at(repo, tree, model)?;
            let version = ModelVersion {
                model: model.to_owned(),
                version: state.next_version(),
                run_id: run_id.clone(),
                artifact: artifact.clone(),
                registered_at,
                tags: BTreeMap::new(),
                aliases: Vec::new(),
            };
            Ok(Edit {
                files: vec![(version_path(model, version.version), to_json(&version)?)],
                message: format!("register {model} v{} from run {run_id}", version.version),
                value: version,
            })
        })
    }

    fn models(&self) -> Result<Vec<String>, LedgerError> {
        self.list_folders(REGISTRY_REF, "models")
    }

    fn versions(&self, model: &str) -> Result<Vec<ModelVersion>, LedgerError> {
        Ok(self.model_state(model)?.decorated())
    }

    fn resolve(&self, model: &str, spec: &str) -> Result<ModelVersion, LedgerError> {
        let state = self.model_state(model)?;
        let versions = state.decorated();
        let aliases = state.aliases();
        let number = spec
            .strip_prefix('v')
            .or_else(|| spec.strip_prefix('V'))
            .unwrap_or(spec)
            .parse::<u64>()
            .ok();
        let wanted = if let Some(number) = number {
            Some(number)
        } else if let Some(version) = aliases.get(spec) {
            Some(*version)
        } else if spec == "latest" {
            versions.last().map(|v| v.version)
        } else {
            None
        };
        wanted
            .and_then(|wanted| versions.into_iter().find(|v| v.version == wanted))
            .ok_or_else(|| LedgerError::VersionNotFound {
                model: model.to_owned(),
                spec: spec.to_owned(),
                known: state.known_specs(),
            })
    }

    fn aliases(&self, model: &str) -> Result<BTreeMap<String, u64>, LedgerError> {
        Ok(self.model_state(model)?.aliases())
    }

    fn move_alias(
        &self,
        model: &str,
        alias: &str,
        version: u64,
        actor: &str,
        reason: &str,
    ) -> Result<AliasMove, LedgerError> {
        validate_alias(alias)?;
        self.model_state(model)?;
        let at = chrono::Utc::now();
        self.update(REGISTRY_REF, |repo, tree| {
            let state = ModelState::with_version(repo, tree, model, version)?;
            let moved = AliasMove {
                model: model.to_owned(),
                alias: alias.to_owned(),
                version,
                previous: state.aliases().get(alias).copied(),
                actor: actor.to_owned(),
                at,
                reason: reason.to_owned(),
            };
            let path = next_path(repo, tree, &format!("models/{model}/aliases"))?;
            Ok(Edit {
                files: vec![(path, to_json(&moved)?)],
                message: format!("alias {model}@{alias} -> v{version} by {actor}: {reason}"),
                value: moved,
            })
        })
    }

    fn alias_history(
        &self,
        model: &str,
        alias: Option<&str>,
    ) -> Result<Vec<AliasMove>, LedgerError> {
        let moves = self.model_state(model)?.alias_moves;
        Ok(match alias {
            Some(alias) => moves.into_iter().filter(|m| m.alias == alias).collect(),
            None => moves,
        })
    }

    fn set_tag(
        &self,
        model: &str,
        version: u64,
        key: &str,
        value: &str,
        actor: &str,
        reason: &str,
    ) -> Result<TagChange, LedgerError> {
        validate_name("tag key", key)?;
        self.model_state(model)?;
        let at = chrono::Utc::now();
        self.update(REGISTRY_REF, |repo, tree| {
            ModelState::with_version(repo, tree, model, version)?;
            let change = TagChange {
                model: model.to_owned(),
                version,
                key: key.to_owned(),
                value: value.to_owned(),
                actor: actor.to_owned(),
                at,
                reason: reason.to_owned(),
            };
            let path = next_path(repo, tree, &format!("models/{model}/tags"))?;
            Ok(Edit {
                files: vec![(path, to_json(&change)?)],
                message: format!("tag {model} v{version} {key}={value} by {actor}: {reason}"),
                value: change,
            })
        })
    }

    fn tag_history(&self, model: &str) -> Result<Vec<TagChange>, LedgerError> {
        Ok(self.model_state(model)?.tag_changes)
    }

    fn record_deployment(&self, env: &str, deployment: &Deployment) -> Result<(), LedgerError> {
        validate_name("environment", env)?;
        let content = to_json(deployment)?;
        self.update(REGISTRY_REF, |repo, tree| {
            let path = next_path(repo, tree, &format!("environments/{env}"))?;
            Ok(Edit {
                files: vec![(path, content.clone())],
                message: format!(
                    "{} {env}: {} v{} by {}: {}",
                    deployment.kind,
                    deployment.model,
                    deployment.version,
                    deployment.actor,
                    deployment.reason
                ),
                value: (),
            })
        })
    }

    fn deployments(&self, env: &str) -> Result<Vec<Deployment>, LedgerError> {
        validate_name("environment", env)?;
        let repo = self.repo();
        let Some(tree) = tip_tree(&repo, REGISTRY_REF)? else {
            return Ok(Vec::new());
        };
        decode_folder(&repo, &tree, &format!("environments/{env}"))
    }

    fn environments(&self) -> Result<Vec<String>, LedgerError> {
        self.list_folders(REGISTRY_REF, "environments")
    }

    fn import_version(&self, version: &ModelVersion) -> Result<(), LedgerError> {
        validate_name("model name", &version.model)?;
        trainyard_store::validate_digest(&version.artifact.digest).map_err(|_| {
            LedgerError::InvalidDigest {
                value: version.artifact.digest.clone(),
            }
        })?;
        let record = ModelVersion {
            tags: BTreeMap::new(),
            aliases: Vec::new(),
            ..version.clone()
        };
        let model = &record.model;
        let content = to_json(&record)?;
        self.update(REGISTRY_REF, |repo, tree| {
            let state = ModelState::at(repo, tree, model)?;
            if let Some(existing) = state.versions.iter().find(|v| v.version == record.version) {
                if *existing == record {
                    return Ok(Edit {
                        files: Vec::new(),
                        message: String::new(),
                        value: (),
                    });
                }
                return Err(LedgerError::ImportOutOfOrder {
                    model: model.clone(),
                    version: record.version,
                    next: state.next_version(),
                });
            }
            if record.version != state.next_version() {
                return Err(LedgerError::ImportOutOfOrder {
                    model: model.clone(),
                    version: record.version,
                    next: state.next_version(),
                });
            }
            Ok(Edit {
                files: vec![(version_path(model, record.version), content.clone())],
                message: format!(
                    "import {model} v{} from run {}",
                    record.version, record.run_id
                ),
                value: (),
            })
        })
    }

    fn import_alias_move(&self, moved: &AliasMove) -> Result<(), LedgerError> {
        self.model_state(&moved.model)?;
        self.append_alias_move(moved, true)
    }

    fn import_tag_change(&self, change: &TagChange) -> Result<(), LedgerError> {
        self.model_state(&change.model)?;
        self.append_tag_change(change, true)
    }
}

/// The registry's histories kept for another ledger (MLflow keeps no history
/// of alias moves or tag changes): written and read without the versions,
/// which live in that other ledger.
impl GitLedger {
    /// Appends an alias move as given; with `check_version`, only when its
    /// version is registered here.
    pub(crate) fn append_alias_move(
        &self,
        moved: &AliasMove,
        check_version: bool,
    ) -> Result<(), LedgerError> {
        validate_name("model name", &moved.model)?;
        validate_name("alias", &moved.alias)?;
        let content = to_json(moved)?;
        let model = &moved.model;
        self.update(REGISTRY_REF, |repo, tree| {
            if check_version {
                ModelState::with_version(repo, tree, model, moved.version)?;
            }
            let path = next_path(repo, tree, &format!("models/{model}/aliases"))?;
            Ok(Edit {
                files: vec![(path, content.clone())],
                message: format!(
                    "alias {model}@{} -> v{} by {}: {}",
                    moved.alias, moved.version, moved.actor, moved.reason
                ),
                value: (),
            })
        })
    }

    /// Appends a tag change as given; with `check_version`, only when its
    /// version is registered here.
    pub(crate) fn append_tag_change(
        &self,
        change: &TagChange,
        check_version: bool,
    ) -> Result<(), LedgerError> {
        validate_name("model name", &change.model)?;
        validate_name("tag key", &change.key)?;
        let content = to_json(change)?;
        let model = &change.model;
        self.update(REGISTRY_REF, |repo, tree| {
            if check_version {
                ModelState::with_version(repo, tree, model, change.version)?;
            }
            let path = next_path(repo, tree, &format!("models/{model}/tags"))?;
            Ok(Edit {
                files: vec![(path, content.clone())],
                message: format!(
                    "tag {model} v{} {}={} by {}: {}",
                    change.version, change.key, change.value, change.actor, change.reason
                ),
                value: (),
            })
        })
    }

    /// Every alias move and tag change recorded for `model`, oldest first
    /// (empty when none, whether or not its versions are here).
    pub(crate) fn histories(
        &self,
        model: &str,
    ) -> Result<(Vec<AliasMove>, Vec<TagChange>), LedgerError> {
        validate_name("model name", model)?;
        let repo = self.repo();
        let state = match tip_tree(&repo, REGISTRY_REF)? {
            Some(tree) => ModelState::load(&repo, &tree, model)?,
            None => ModelState::default(),
        };
        Ok((state.alias_moves, state.tag_changes))
    }
}

/// Who is acting, for the records of alias moves, tags and deployments: the
/// CI's user (`GITHUB_ACTOR`, Azure's `BUILD_REQUESTEDFOR`), else git's
/// `user.name` (and email) of the repository at `repo_path`, else `unknown`.
pub fn detect_actor(get_env: impl Fn(&str) -> Option<String>, repo_path: &Path) -> String {
    for variable in ["GITHUB_ACTOR", "BUILD_REQUESTEDFOR"] {
        if let Some(value) = get_env(variable).filter(|v| !v.trim().is_empty()) {
            return value;
        }
    }
    let config = Repository::discover(repo_path)
        .and_then(|repo| repo.config())
        .or_else(|_| git2::Config::open_default());
    if let Ok(config) = config {
        let name = config.get_string("user.name").ok();
        let email = config.get_string("user.email").ok();
        match (name, email) {
            (Some(name), Some(email)) => return format!("{name} <{email}>"),
            (Some(name), None) => return name,
            (None, Some(email)) => return email,
            (None, None) => {}
        }
    }
    get_env("USER").unwrap_or_else(|| "unknown".to_owned())
}

// ---- paths ----------------------------------------------------------------

/// `runs/<yyyymm>/<dd>/<id>.json`: a write rewrites only the trees on its
/// path, so daily folders keep each write small however many runs there are.
pub(crate) fn run_path(id: &RunId) -> String {
    let id = id.as_str();
    match id.get(..8) {
        Some(date) if date.bytes().all(|b| b.is_ascii_digit()) => {
            format!("runs/{}/{}/{id}.json", &date[..6], &date[6..])
        }
        _ => format!("runs/other/{id}.json"),
    }
}

/// Every folder under `runs/` that holds run files, in tree order.
fn run_folders(repo: &Repository, tree: &Tree<'_>) -> Result<Vec<String>, LedgerError> {
    let mut folders = Vec::new();
    let mut pending = vec![("runs".to_owned(), 0)];
    while let Some((folder, depth)) = pending.pop() {
        if !list_entries(repo, tree, &folder, Some(git2::ObjectType::Blob))?.is_empty() {
            folders.push(folder.clone());
        }
        if depth < 2 {
            for child in list_entries(repo, tree, &folder, Some(git2::ObjectType::Tree))?
                .into_iter()
                .rev()
            {
                pending.push((format!("{folder}/{child}"), depth + 1));
            }
        }
    }
    Ok(folders)
}

pub(crate) fn version_path(model: &str, version: u64) -> String {
    format!("models/{model}/versions/{version:08}.json")
}

/// The sequence number of a log entry's file name (`00000012.json` -> 12).
pub(crate) fn sequence_of(file_name: &str) -> Option<u64> {
    file_name.strip_suffix(".json")?.parse().ok()
}

/// The path of the next entry of the log in `folder`.
pub(crate) fn next_path(
    repo: &Repository,
    tree: Option<&Tree<'_>>,
    folder: &str,
) -> Result<String, LedgerError> {
    let last = match tree {
        Some(tree) => list_entries(repo, tree, folder, None)?
            .iter()
            .filter_map(|name| sequence_of(name))
            .max()
            .unwrap_or(0),
        None => 0,
    };
    Ok(format!("{folder}/{:08}.json", last + 1))
}

/// Names become paths in git: keep them to a safe, portable alphabet.
pub(crate) fn validate_name(what: &'static str, value: &str) -> Result<(), LedgerError> {
    let valid = !value.is_empty()
        && value.len() <= 100
        && !value.starts_with('.')
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if valid {
        Ok(())
    } else {
        Err(LedgerError::InvalidName {
            what,
            value: value.to_owned(),
        })
    }
}

/// An alias a ledger may move: a valid name that `resolve` does not read as
/// something else (`3`, `v3`: a version number; `latest`: the newest version).
pub(crate) fn validate_alias(alias: &str) -> Result<(), LedgerError> {
    validate_name("alias", alias)?;
    let numeric = alias
        .strip_prefix(['v', 'V'])
        .unwrap_or(alias)
        .parse::<u64>()
        .is_ok();
    if numeric || alias == "latest" {
        return Err(LedgerError::ReservedAlias {
            alias: alias.to_owned(),
        });
    }
    Ok(())
}

// ---- git plumbing -----------------------------------------------------------

pub(crate) fn tip_of(repo: &Repository, reference: &str) -> Result<Option<Oid>, LedgerError> {
    match repo.refname_to_id(reference) {
        Ok(oid) => Ok(Some(oid)),
        Err(error) if error.code() == ErrorCode::NotFound => Ok(None),
        Err(error) => Err(LedgerError::git(format!("reading {reference}"), error)),
    }
}

pub(crate) fn tip_tree<'r>(
    repo: &'r Repository,
    reference: &str,
) -> Result<Option<Tree<'r>>, LedgerError> {
    let Some(oid) = tip_of(repo, reference)? else {
        return Ok(None);
    };
    let tree = repo
        .find_commit(oid)
        .and_then(|commit| commit.tree())
        .map_err(|e| LedgerError::git(format!("reading {reference}"), e))?;
    Ok(Some(tree))
}

pub(crate) fn read_blob(
    repo: &Repository,
    tree: &Tree<'_>,
    path: &str,
) -> Result<Option<Vec<u8>>, LedgerError> {
    let entry = match tree.get_path(Path::new(path)) {
        Ok(entry) => entry,
        Err(error) if error.code() == ErrorCode::NotFound => return Ok(None),
        Err(error) => return Err(LedgerError::git(format!("reading {path}"), error)),
    };
    let blob = repo
        .find_blob(entry.id())
        .map_err(|e| LedgerError::git(format!("reading {path}"), e))?;
    Ok(Some(blob.content().to_vec()))
}

/// The names of the entries of folder `path` (of one kind, if given), in tree order.
pub(crate) fn list_entries(
    repo: &Repository,
    tree: &Tree<'_>,
    path: &str,
    kind: Option<git2::ObjectType>,
) -> Result<Vec<String>, LedgerError> {
    let entry = match tree.get_path(Path::new(path)) {
        Ok(entry) => entry,
        Err(error) if error.code() == ErrorCode::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(LedgerError::git(format!("reading {path}"), error)),
    };
    let folder = repo
        .find_tree(entry.id())
        .map_err(|e| LedgerError::git(format!("reading {path}"), e))?;
    Ok(folder
        .iter()
        .filter(|entry| kind.is_none_or(|kind| entry.kind() == Some(kind)))
        .filter_map(|entry| entry.name().map(str::to_owned))
        .collect())
}

pub(crate) fn read_folder(
    repo: &Repository,
    tree: &Tree<'_>,
    path: &str,
) -> Result<Vec<(String, Vec<u8>)>, LedgerError> {
    let mut files = Vec::new();
    for name in list_entries(repo, tree, path, Some(git2::ObjectType::Blob))? {
        let full = format!("{path}/{name}");
        if let Some(content) = read_blob(repo, tree, &full)? {
            files.push((name, content));
        }
    }
    Ok(files)
}

/// Every JSON record in folder `path`, in file-name order.
pub(crate) fn decode_folder<T: serde::de::DeserializeOwned>(
    repo: &Repository,
    tree: &Tree<'_>,
    path: &str,
) -> Result<Vec<T>, LedgerError> {
    let reference = if path.starts_with("runs") {
        RUNS_REF
    } else {
        REGISTRY_REF
    };
    read_folder(repo, tree, path)?
        .into_iter()
        .filter(|(name, _)| Path::new(name).extension().is_some_and(|ext| ext == "json"))
        .map(|(name, content)| decode(reference, &format!("{path}/{name}"), &content))
        .collect()
}

pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    reference: &str,
    path: &str,
    content: &[u8],
) -> Result<T, LedgerError> {
    serde_json::from_slice(content).map_err(|source| LedgerError::Corrupt {
        reference: reference.to_owned(),
        path: path.to_owned(),
        source,
    })
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, LedgerError> {
    let mut text = serde_json::to_vec_pretty(value).map_err(|source| LedgerError::Corrupt {
        reference: String::new(),
        path: "(new record)".to_owned(),
        source,
    })?;
    text.push(b'\n');
    Ok(text)
}

/// A new tree: `base` (or an empty tree) with `files` written in.
pub(crate) fn write_tree(
    repo: &Repository,
    base: Option<&Tree<'_>>,
    files: &[(String, Vec<u8>)],
) -> Result<Oid, LedgerError> {
    let empty;
    let base = if let Some(base) = base {
        base
    } else {
        let oid = repo
            .treebuilder(None)
            .and_then(|builder| builder.write())
            .map_err(|e| LedgerError::git("writing an empty tree", e))?;
        empty = repo
            .find_tree(oid)
            .map_err(|e| LedgerError::git("writing an empty tree", e))?;
        &empty
    };
    let mut update = git2::build::TreeUpdateBuilder::new();
    for (path, content) in files {
        let blob = repo
            .blob(content)
            .map_err(|e| LedgerError::git(format!("writing {path}"), e))?;
        update.upsert(path.as_str(), blob, FileMode::Blob);
    }
    update
        .create_updated(repo, base)
        .map_err(|e| LedgerError::git("writing a tree", e))
}

pub(crate) fn signature() -> Result<Signature<'static>, LedgerError> {
    Signature::now("trainyard", "trainyard@localhost")
        .map_err(|e| LedgerError::git("making a commit signature", e))
}

/// Moves `reference` from `expected` (absent when `None`) to `new`, or fails
/// with a lost-race error if it no longer points at `expected`.
pub(crate) fn compare_and_swap(
    repo: &Repository,
    reference: &str,
    expected: Option<Oid>,
    new: Oid,
    message: &str,
) -> Result<(), git2::Error> {
    let message = message.lines().next().unwrap_or("trainyard");
    // "Must not exist yet" is the zero id: libgit2 then checks absence under
    // the ref's lock. (`reference(.., force = false)` checks before taking
    // the lock, so two writers creating the ref at once could both win.)
    let expected = expected.unwrap_or_else(Oid::zero);
    repo.reference_matching(reference, new, true, expected, message)
        .map(drop)
}

/// Whether a failed ref update lost a race (so trying again may succeed).
pub(crate) fn lost_race(error: &git2::Error) -> bool {
    matches!(
        error.code(),
        ErrorCode::Modified | ErrorCode::Exists | ErrorCode::Locked
    )
}

/// Waits a little, longer after each lost race, with jitter so racing
/// writers spread out.
pub(crate) fn backoff(attempt: u32) {
    let jitter = u64::from_str_radix(&crate::id::random_hex(4), 16).unwrap_or(0) % 1000;
    let base = u64::from(attempt.min(20)) * 500;
    std::thread::sleep(Duration::from_micros(base + jitter));
}
