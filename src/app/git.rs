//! git as the steps use it: HEAD's commit and branch, the default branch,
//! and the CI run a record points at. The `git` CLI is used where a user's
//! configuration (identity, credentials, worktrees) must apply.

use std::collections::BTreeMap;
use std::path::Path;

use trainyard_ci::{CiContext, Trigger};
use trainyard_core::StepError;
use trainyard_ledger::{CiInfo, GitInfo, LedgerError};

use super::Project;
use super::ledger::ledger_error;

/// The git repository holding `root` (the manifest's folder). Outside one,
/// every step says the same as the ledger does: exit 2, naming the folder,
/// with the `git init` hint (not libgit2's text).
pub fn repository(root: &Path) -> Result<git2::Repository, StepError> {
    let root = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
    git2::Repository::discover(&root)
        .map_err(|source| ledger_error(LedgerError::NotARepository { path: root, source }))
}

/// The branch whose pushes train on the full data: the event payload's
/// repository default branch when known, else the manifest's.
pub fn default_branch(project: &Project, ci: &CiContext) -> String {
    ci.default_branch
        .clone()
        .unwrap_or_else(|| project.manifest.project.default_branch.clone())
}

/// HEAD's commit, branch (CI's when detached) and whether tracked files changed.
pub fn git_info(root: &Path, ci: &CiContext) -> GitInfo {
    let commit = git(root, &["rev-parse", "HEAD"])
        .or_else(|| ci.sha.clone())
        .unwrap_or_default();
    let branch =
        git(root, &["symbolic-ref", "--short", "-q", "HEAD"]).or_else(|| match &ci.trigger {
            Trigger::Push { branch } => Some(branch.clone()),
            Trigger::PullRequest(pr) => Some(pr.head_ref.clone()),
            _ => None,
        });
    // Untracked files (the run's own outputs among them) do not make a commit dirty.
    let dirty = git(root, &["status", "--porcelain", "--untracked-files=no"])
        .is_some_and(|status| !status.is_empty());
    GitInfo {
        commit,
        branch,
        dirty,
    }
}

/// A git command's trimmed stdout, `None` when it fails or prints nothing.
pub fn git(root: &Path, args: &[&str]) -> Option<String> {
    let output = std::process::Command::new("git")
        .args(args)
        .current_dir(root)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    (output.status.success() && !text.is_empty()).then_some(text)
}

pub fn ci_info(ci: &CiContext) -> CiInfo {
    CiInfo {
        host: ci.host.as_str().to_owned(),
        event: match ci.trigger {
            Trigger::Local => None,
            _ => Some(ci.trigger.kind().to_owned()),
        },
        url: ci.run_url.clone(),
    }
}

/// trainyard's version, and the interpreter's when the command starts with a known one.
pub fn tool_versions(command: &[String]) -> BTreeMap<String, String> {
    let mut tools =
        BTreeMap::from([("trainyard".to_owned(), env!("CARGO_PKG_VERSION").to_owned())]);
    let Some(program) = command.first() else {
        return tools;
    };
    let name = Path::new(program)
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let known = name.starts_with("python")
        || ["node", "Rscript", "julia", "cargo", "dotnet", "uv"].contains(&name.as_str());
    if known
        && let Ok(output) = std::process::Command::new(program)
            .arg("--version")
            .stdin(std::process::Stdio::null())
            .output()
    {
        // Python 2 wrote its version on stderr.
        let text = if output.stdout.is_empty() {
            output.stderr
        } else {
            output.stdout
        };
        if let Some(line) = String::from_utf8_lossy(&text).lines().next() {
            tools.insert(name, line.trim().to_owned());
        }
    }
    tools
}

/// The identity a first commit takes when git has none configured (a new
/// machine, a CI container): documented in docs/steps/init.md.
pub const FALLBACK_IDENTITY: [&str; 2] = ["trainyard", "trainyard@localhost.invalid"];

/// Makes `root` a new git repository on `branch` and commits every file in
/// it (its `.gitignore` applies) as the first commit; returns its id. The
/// author is git's configured identity, else [`FALLBACK_IDENTITY`].
pub fn init_with_first_commit(
    root: &Path,
    branch: &str,
    message: &str,
) -> Result<String, StepError> {
    let has_identity = git(root, &["config", "user.name"]).is_some()
        && git(root, &["config", "user.email"]).is_some();
    let name = format!("user.name={}", FALLBACK_IDENTITY[0]);
    let email = format!("user.email={}", FALLBACK_IDENTITY[1]);
    let identity: Vec<&str> = if has_identity {
        Vec::new()
    } else {
        vec!["-c", &name, "-c", &email]
    };
    let initial_branch = format!("--initial-branch={branch}");
    for args in [
        vec!["init", "--quiet", initial_branch.as_str()],
        vec!["add", "--all"],
        [
            identity.as_slice(),
            &["commit", "--quiet", "--no-verify", "-m", message],
        ]
        .concat(),
    ] {
        let output = std::process::Command::new("git")
            .args(&args)
            .current_dir(root)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|error| {
                StepError::Environment(format!(
                    "running git {} in {}: {error}",
                    args.join(" "),
                    root.display()
                ))
            })?;
        if !output.status.success() {
            return Err(StepError::Environment(format!(
                "git {} in {} failed: {}",
                args.join(" "),
                root.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
    }
    git(root, &["rev-parse", "HEAD"]).ok_or_else(|| {
        StepError::Environment(format!("no commit in {} after git commit", root.display()))
    })
}
