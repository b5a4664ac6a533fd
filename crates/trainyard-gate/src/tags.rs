//! Git tags on a commit, and their signatures.

use std::path::Path;
use std::process::Command;

use crate::GateError;

/// A tag that points (directly or through an annotated tag object) at a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagOnCommit {
    pub name: String,
    /// An annotated tag (a tag object, which is what can carry a signature).
    pub annotated: bool,
}

/// Every tag pointing at `commit`, sorted by name.
pub fn tags_on(repository: &Path, commit: &str) -> Result<Vec<TagOnCommit>, GateError> {
    let repo = git2::Repository::open(repository).map_err(GateError::git(format!(
        "opening the repository at {}",
        repository.display()
    )))?;
    let target = repo
        .revparse_single(commit)
        .and_then(|object| object.peel_to_commit())
        .map_err(GateError::git(format!("finding commit {commit}")))?
        .id();
    let mut found = Vec::new();
    repo.tag_foreach(|oid, name| {
        let name = String::from_utf8_lossy(name);
        let name = name.strip_prefix("refs/tags/").unwrap_or(&name).to_owned();
        if let Ok(object) = repo.find_object(oid, None) {
            let annotated = object.kind() == Some(git2::ObjectType::Tag);
            if object
                .peel_to_commit()
                .is_ok_and(|peeled| peeled.id() == target)
            {
                found.push(TagOnCommit { name, annotated });
            }
        }
        true
    })
    .map_err(GateError::git("listing tags"))?;
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

/// Asks `git verify-tag` (GPG or SSH, with the keys this machine trusts).
/// `Ok(Err(why))` when git ran and rejected the signature.
pub fn verify_signature(repository: &Path, tag: &str) -> Result<Result<(), String>, GateError> {
    let output = Command::new("git")
        .arg("-C")
        .arg(repository)
        .args(["verify-tag", "--", tag])
        .output()
        .map_err(|error| {
            GateError::GitCli(format!(
                "running `git verify-tag {tag}`: {error}; is git installed?"
            ))
        })?;
    if output.status.success() {
        return Ok(Ok(()));
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let why = stderr
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .find(|line| {
            line.contains("no signature") || line.contains("BAD") || line.contains("error")
        })
        .or_else(|| stderr.lines().map(str::trim).find(|line| !line.is_empty()))
        .unwrap_or("git verify-tag failed without saying why")
        .to_owned();
    Ok(Err(why))
}
