//! The gate's policy comes from the base branch's committed tree: a pull request
//! cannot lower the bar it is judged by, and uncommitted edits do not count either.

use std::path::{Path, PathBuf};

use trainyard_core::Manifest;
use trainyard_core::manifest;

use crate::GateError;
use crate::verdict::short;

/// Where to read the policy from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseRef {
    /// The branch, without `refs/heads/` (a PR's base, or the default branch).
    pub branch: String,
    /// The exact base commit, when the CI event names one (a PR's `base.sha`).
    pub commit: Option<String>,
}

/// The policy as committed on the base branch.
#[derive(Debug)]
pub struct BasePolicy {
    pub manifest: Manifest,
    /// `main@<short commit>:trainyard.yaml`, for the verdict.
    pub source: String,
    pub commit: String,
    /// The manifest's path inside the repository.
    pub path: String,
    /// The manifest's text as committed, to point findings at its lines.
    pub text: String,
}

impl BasePolicy {
    /// The 1-based line of a block-style key path such as `gates`, `prod`,
    /// `metrics`, in the committed manifest; `None` when not found.
    pub fn line_of(&self, path: &[&str]) -> Option<u32> {
        manifest::locate_key(&self.text, path).map(|span| span.line)
    }
}

/// Opens the repository that holds `path` (a file or folder in its work tree).
pub fn discover(path: &Path) -> Result<git2::Repository, GateError> {
    let start = if path.is_file() {
        path.parent().unwrap_or(path)
    } else {
        path
    };
    let start = if start.as_os_str().is_empty() {
        Path::new(".")
    } else {
        start
    };
    git2::Repository::discover(start).map_err(GateError::git(format!(
        "finding the git repository around {}; the gate reads its policy from git, so the project must be in one",
        path.display()
    )))
}

/// The manifest's path relative to the repository's work tree, with `/` separators.
pub fn path_in_repository(
    repo: &git2::Repository,
    manifest_path: &Path,
) -> Result<String, GateError> {
    let workdir = repo.workdir().ok_or_else(|| {
        GateError::Config("the repository is bare; run the gate in a checkout".to_owned())
    })?;
    let workdir = std::fs::canonicalize(workdir).map_err(GateError::io("resolving", workdir))?;
    let absolute: PathBuf =
        std::fs::canonicalize(manifest_path).map_err(GateError::io("resolving", manifest_path))?;
    let relative = absolute.strip_prefix(&workdir).map_err(|_| {
        GateError::Config(format!(
            "{} is outside the repository at {}",
            manifest_path.display(),
            workdir.display()
        ))
    })?;
    Ok(relative
        .components()
        .map(|part| part.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/"))
}

/// The base commit: the exact commit if the event named one and we have it, else
/// the remote-tracking branch (`origin/<branch>`, what CI checkouts have), else the
/// local branch.
pub fn resolve_base(
    repo: &git2::Repository,
    base: &BaseRef,
) -> Result<(git2::Oid, String), GateError> {
    if let Some(Ok(found)) = base
        .commit
        .as_deref()
        .map(|commit| git2::Oid::from_str(commit).and_then(|oid| repo.find_commit(oid)))
    {
        return Ok((found.id(), base.branch.clone()));
    }
    for name in [
        format!("refs/remotes/origin/{}", base.branch),
        format!("refs/heads/{}", base.branch),
    ] {
        if let Ok(commit) = repo
            .find_reference(&name)
            .and_then(|reference| reference.peel_to_commit())
        {
            return Ok((commit.id(), base.branch.clone()));
        }
    }
    Err(GateError::Config(format!(
        "the base branch `{}` is not in this clone, so its gate policy cannot be read; fetch it first \
         (`git fetch origin {}`; on GitHub Actions, `actions/checkout` with `fetch-depth: 0`)",
        base.branch, base.branch
    )))
}

/// Reads and parses the manifest at `path` in the tree of the base commit.
pub fn read_base_policy(
    repo: &git2::Repository,
    path: &str,
    base: &BaseRef,
) -> Result<BasePolicy, GateError> {
    let (commit_id, branch) = resolve_base(repo, base)?;
    let commit = repo
        .find_commit(commit_id)
        .map_err(GateError::git(format!("reading commit {commit_id}")))?;
    let tree = commit
        .tree()
        .map_err(GateError::git("reading the base tree"))?;
    let entry = tree.get_path(Path::new(path)).map_err(|_| {
        GateError::Config(format!(
            "{path} is not committed on `{branch}` ({}), so there is no gate policy to judge by; merge the manifest first",
            short(&commit_id.to_string())
        ))
    })?;
    let blob = repo
        .find_blob(entry.id())
        .map_err(GateError::git(format!("reading {path} on {branch}")))?;
    let text = std::str::from_utf8(blob.content())
        .map_err(|_| GateError::Config(format!("{path} on {branch} is not valid UTF-8")))?;
    let source = format!("{branch}@{}:{path}", short(&commit_id.to_string()));
    let manifest =
        manifest::parse(text, &source).map_err(|error| GateError::Manifest(Box::new(error)))?;
    Ok(BasePolicy {
        manifest,
        source,
        commit: commit_id.to_string(),
        path: path.to_owned(),
        text: text.to_owned(),
    })
}
