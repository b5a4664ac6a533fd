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
    /// How the branch was chosen, for the verdict.
    pub chosen_by: BranchSource,
}

/// How the branch whose policy judges was found. Never from the working tree
/// or from the branch being judged: an uncommitted `default-branch: feature`
/// must not make `feature`'s bar the one `main` is judged by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BranchSource {
    /// The pull request's base branch, from the CI event.
    PullRequestBase,
    /// The repository's default branch, from the CI event.
    EventDefaultBranch,
    /// The remote's default branch (`origin/HEAD`).
    RemoteHead,
    /// The branch the committed manifest names, confirmed by that branch's
    /// own committed manifest.
    CommittedManifest,
}

impl BranchSource {
    /// Words for the verdict: "the pull request's base", ….
    pub fn describe(self) -> &'static str {
        match self {
            Self::PullRequestBase => "the pull request's base branch",
            Self::EventDefaultBranch => "the default branch named by the CI event",
            Self::RemoteHead => "the remote's default branch (origin/HEAD)",
            Self::CommittedManifest => "the default branch its own committed manifest names",
        }
    }
}

/// The default branch, whose committed manifest is the policy outside a pull
/// request: the event's (`event_default`), else the remote's `origin/HEAD`,
/// else the branch the manifest committed at HEAD names — accepted only when
/// that branch's own committed manifest names it too. The working tree is
/// never read.
pub fn default_branch(
    repo: &git2::Repository,
    event_default: Option<&str>,
    manifest_path: &str,
) -> Result<(String, BranchSource), GateError> {
    if let Some(branch) = event_default.filter(|branch| !branch.is_empty()) {
        return Ok((branch.to_owned(), BranchSource::EventDefaultBranch));
    }
    if let Some(branch) = repo
        .find_reference("refs/remotes/origin/HEAD")
        .ok()
        .and_then(|head| head.symbolic_target().map(str::to_owned))
        .and_then(|target| {
            target
                .strip_prefix("refs/remotes/origin/")
                .map(str::to_owned)
        })
    {
        return Ok((branch, BranchSource::RemoteHead));
    }
    let unknown = |why: String| {
        GateError::Config(format!(
            "cannot tell which branch is the default, whose committed gate policy judges: {why}; \
             run where the CI event names it, or set the remote's default (`git remote set-head origin --auto`)"
        ))
    };
    let head = repo
        .head()
        .and_then(|head| head.peel_to_commit())
        .map_err(|error| unknown(format!("HEAD has no commit ({error})")))?;
    let named = committed_manifest(repo, &head, manifest_path)
        .map_err(|why| unknown(format!("{manifest_path} at HEAD: {why}")))?
        .project
        .default_branch;
    let base = BaseRef {
        branch: named.clone(),
        commit: None,
        chosen_by: BranchSource::CommittedManifest,
    };
    let (commit, _) = resolve_base(repo, &base)?;
    let commit = repo
        .find_commit(commit)
        .map_err(GateError::git(format!("reading {named}")))?;
    let confirmed = committed_manifest(repo, &commit, manifest_path)
        .map_err(|why| unknown(format!("{manifest_path} on `{named}`: {why}")))?
        .project
        .default_branch;
    if confirmed != named {
        return Err(unknown(format!(
            "the manifest at HEAD names `{named}`, but `{named}`'s own manifest names `{confirmed}`"
        )));
    }
    Ok((named, BranchSource::CommittedManifest))
}

/// The manifest as committed in `commit`, or why it cannot be read.
fn committed_manifest(
    repo: &git2::Repository,
    commit: &git2::Commit<'_>,
    path: &str,
) -> Result<Manifest, String> {
    let tree = commit.tree().map_err(|error| error.to_string())?;
    let entry = tree
        .get_path(Path::new(path))
        .map_err(|_| "not committed".to_owned())?;
    let blob = repo
        .find_blob(entry.id())
        .map_err(|error| error.to_string())?;
    let text = std::str::from_utf8(blob.content()).map_err(|_| "not UTF-8".to_owned())?;
    manifest::parse(text, path).map_err(|error| error.to_string())
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
    /// How the branch was chosen.
    pub chosen_by: BranchSource,
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
        chosen_by: base.chosen_by,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn manifest(default_branch: &str) -> String {
        format!("version: 1\nproject:\n  name: demo\n  default-branch: {default_branch}\n")
    }

    /// Commits `trainyard.yaml` with `text` on `branch` (created from HEAD, or
    /// as the first commit) and checks it out.
    fn commit_on(repo: &git2::Repository, branch: &str, text: &str) {
        let workdir = repo.workdir().unwrap();
        std::fs::write(workdir.join("trainyard.yaml"), text).unwrap();
        let mut index = repo.index().unwrap();
        index.add_path(Path::new("trainyard.yaml")).unwrap();
        index.write().unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let signature = git2::Signature::now("Test", "test@example.com").unwrap();
        let parent = repo.head().ok().and_then(|head| head.peel_to_commit().ok());
        let reference = format!("refs/heads/{branch}");
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        repo.commit(
            Some(&reference),
            &signature,
            &signature,
            "m",
            &tree,
            &parents,
        )
        .unwrap();
        repo.set_head(&reference).unwrap();
    }

    fn repository() -> (tempfile::TempDir, git2::Repository) {
        let dir = tempfile::tempdir().unwrap();
        let mut options = git2::RepositoryInitOptions::new();
        options.initial_head("main");
        let repo = git2::Repository::init_opts(dir.path(), &options).unwrap();
        (dir, repo)
    }

    #[test]
    fn the_events_default_branch_wins() {
        let (_dir, repo) = repository();
        commit_on(&repo, "main", &manifest("main"));
        assert_eq!(
            default_branch(&repo, Some("trunk"), "trainyard.yaml").unwrap(),
            ("trunk".to_owned(), BranchSource::EventDefaultBranch)
        );
    }

    #[test]
    fn the_remotes_head_comes_next() {
        let (_dir, repo) = repository();
        commit_on(&repo, "main", &manifest("feature"));
        let head = repo.head().unwrap().peel_to_commit().unwrap().id();
        repo.reference("refs/remotes/origin/trunk", head, true, "t")
            .unwrap();
        repo.reference_symbolic(
            "refs/remotes/origin/HEAD",
            "refs/remotes/origin/trunk",
            true,
            "t",
        )
        .unwrap();
        assert_eq!(
            default_branch(&repo, None, "trainyard.yaml").unwrap(),
            ("trunk".to_owned(), BranchSource::RemoteHead)
        );
    }

    /// On `main`, an uncommitted `default-branch: feature` (and a `feature`
    /// branch whose committed manifest agrees) once made `feature`'s policy
    /// the one `main` was judged by.
    #[test]
    fn an_uncommitted_edit_cannot_redirect_the_policy() {
        let (dir, repo) = repository();
        commit_on(&repo, "main", &manifest("main"));
        commit_on(&repo, "feature", &manifest("feature"));
        repo.set_head("refs/heads/main").unwrap();
        repo.checkout_head(Some(git2::build::CheckoutBuilder::new().force()))
            .unwrap();
        std::fs::write(dir.path().join("trainyard.yaml"), manifest("feature")).unwrap();
        assert_eq!(
            default_branch(&repo, None, "trainyard.yaml").unwrap(),
            ("main".to_owned(), BranchSource::CommittedManifest)
        );
    }

    #[test]
    fn a_branch_its_own_manifest_disowns_is_refused() {
        let (_dir, repo) = repository();
        commit_on(&repo, "main", &manifest("main"));
        // A branch whose committed manifest claims `main` is the default, while
        // `main`'s manifest names... `main`: consistent, so `main` judges.
        commit_on(&repo, "feature", &manifest("main"));
        assert_eq!(
            default_branch(&repo, None, "trainyard.yaml").unwrap().0,
            "main"
        );
        // A committed claim that `release` is the default, which `release`
        // itself does not confirm, is refused rather than guessed.
        commit_on(&repo, "release", &manifest("trunk"));
        commit_on(&repo, "other", &manifest("release"));
        let error = default_branch(&repo, None, "trainyard.yaml").unwrap_err();
        assert!(error.to_string().contains("names `trunk`"), "{error}");
    }
}
