//! Git in fixture repositories, so every test file builds its repositories the same way.

use std::path::Path;
use std::process::Command;

/// Runs `git <args>` in `dir` as "Test <test@example.com>", so commits work on a
/// machine without a git identity. Fails the test with git's stderr if git fails;
/// returns stdout, trimmed.
pub fn git(dir: &Path, args: &[&str]) -> String {
    run(dir, args, Some(("Test", "test@example.com")))
}

/// Runs `git <args>` in `dir` under the identity the repository's own config sets
/// (tests whose fixtures configure `user.name`/`user.email` to see them in reports).
pub fn git_as_configured(dir: &Path, args: &[&str]) -> String {
    run(dir, args, None)
}

fn run(dir: &Path, args: &[&str], identity: Option<(&str, &str)>) -> String {
    let mut command = Command::new("git");
    command
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1");
    if let Some((name, email)) = identity {
        command
            .env("GIT_AUTHOR_NAME", name)
            .env("GIT_AUTHOR_EMAIL", email)
            .env("GIT_COMMITTER_NAME", name)
            .env("GIT_COMMITTER_EMAIL", email);
    }
    let output = command
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

/// Makes `dir` a git repository on `main` with everything in it committed.
pub fn init_and_commit_all(dir: &Path) {
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "the project"]);
}
