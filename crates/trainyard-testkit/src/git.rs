//! Git in fixture repositories, so every test builds its repositories the same
//! way: the `git` command line, without the machine's system config, as a fixed
//! identity unless a test wants the identity the repository's config sets.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The identity [`git`] commits as: "Test <test@example.com>".
pub const NAME: &str = "Test";
/// The e-mail of [`NAME`].
pub const EMAIL: &str = "test@example.com";

/// Runs `git <args>` in `dir` as "Test <test@example.com>", so commits work on a
/// machine without a git identity. Fails the test with git's stderr if git fails;
/// returns stdout, trimmed.
pub fn git(dir: &Path, args: &[&str]) -> String {
    Git::new(dir).run(args)
}

/// Runs `git <args>` in `dir` under the identity the repository's own config sets
/// (tests whose fixtures configure `user.name`/`user.email` to see them in reports).
pub fn git_as_configured(dir: &Path, args: &[&str]) -> String {
    Git::new(dir).as_configured().run(args)
}

/// Makes `dir` a git repository on `main` with everything in it committed.
pub fn init_and_commit_all(dir: &Path) {
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "the project"]);
}

/// A bare repository `parent/remote.git` on `main` to push to, set as
/// `project`'s `origin` (a `file://` URL), with `project`'s `main` pushed.
pub fn bare_remote(parent: &Path, project: &Path) -> PathBuf {
    let remote = parent.join("remote.git");
    git(
        parent,
        &[
            "init",
            "-q",
            "--bare",
            "-b",
            "main",
            remote.to_str().expect("a UTF-8 path"),
        ],
    );
    git(project, &["remote", "add", "origin", &file_url(&remote)]);
    git(project, &["push", "-q", "origin", "main"]);
    remote
}

/// `path` as a `file://` URL, the way a remote is named.
pub fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// One git command in a fixture repository, for tests that need more than
/// [`git`]: the repository's own identity, extra variables (fixed dates,
/// `HOME`, `GNUPGHOME`).
#[derive(Debug)]
pub struct Git {
    dir: PathBuf,
    fixed_identity: bool,
    env: Vec<(OsString, OsString)>,
}

impl Git {
    /// `git` in `dir` as "Test <test@example.com>", without the system config.
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_owned(),
            fixed_identity: true,
            env: Vec::new(),
        }
    }

    /// Commits as the repository's config says instead of the fixed identity.
    #[must_use]
    pub fn as_configured(mut self) -> Self {
        self.fixed_identity = false;
        self
    }

    /// Sets `name` to `value` for git (later settings of a name win).
    #[must_use]
    pub fn env(mut self, name: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .push((name.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// Runs `git <args>`. Fails the test with git's stderr if git fails;
    /// returns stdout, trimmed.
    pub fn run(self, args: &[&str]) -> String {
        let mut command = Command::new("git");
        command
            .args(args)
            .current_dir(&self.dir)
            .env("GIT_CONFIG_NOSYSTEM", "1");
        if self.fixed_identity {
            command
                .env("GIT_AUTHOR_NAME", NAME)
                .env("GIT_AUTHOR_EMAIL", EMAIL)
                .env("GIT_COMMITTER_NAME", NAME)
                .env("GIT_COMMITTER_EMAIL", EMAIL);
        }
        command.envs(self.env);
        let output = command
            .output()
            .expect("git must be installed to run these tests");
        assert!(
            output.status.success(),
            "git {args:?} in {}: {}",
            self.dir.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }
}
