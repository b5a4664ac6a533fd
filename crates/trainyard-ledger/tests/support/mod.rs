//! Real git repositories for the ledger's tests.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use trainyard_ledger::{
    ArtifactRef, CiInfo, GitInfo, Outcome, RunId, RunMode, RunRecord, Timestamp,
};

/// Runs git in `dir` with a fixed identity; panics with git's stderr on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "Test Author")
        .env("GIT_AUTHOR_EMAIL", "author@example.com")
        .env("GIT_COMMITTER_NAME", "Test Author")
        .env("GIT_COMMITTER_EMAIL", "author@example.com")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git must be installed to run the ledger tests");
    assert!(
        output.status.success(),
        "git {args:?} failed in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// A project repository with one commit on `main`.
pub fn project(parent: &Path, name: &str) -> PathBuf {
    let dir = parent.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    git(&dir, &["init", "-q", "-b", "main"]);
    git(&dir, &["config", "user.name", "Ada Lovelace"]);
    git(&dir, &["config", "user.email", "ada@example.com"]);
    std::fs::write(dir.join("trainyard.yaml"), "project: demo\n").unwrap();
    std::fs::write(dir.join("train.py"), "print('training')\n").unwrap();
    git(&dir, &["add", "trainyard.yaml", "train.py"]);
    git(&dir, &["commit", "-q", "-m", "initial"]);
    dir
}

/// A bare repository to push to, with `project`'s main pushed and `origin` set.
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
            remote.to_str().unwrap(),
        ],
    );
    git(project, &["remote", "add", "origin", &file_url(&remote)]);
    git(project, &["push", "-q", "origin", "main"]);
    remote
}

pub fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

pub fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// A realistic run record; `n` varies its metrics and id.
pub fn run(n: u32, started_at: Timestamp) -> RunRecord {
    let mut metrics = BTreeMap::new();
    metrics.insert("accuracy".to_owned(), 0.9 + f64::from(n) / 1000.0);
    metrics.insert("loss".to_owned(), 0.1 + f64::from(n) / 100.0);
    let mut series = BTreeMap::new();
    series.insert(
        "loss".to_owned(),
        (0..20_u32)
            .map(|step| {
                (
                    u64::from(step),
                    1.0 / (f64::from(step) + 1.0) + f64::from(n),
                )
            })
            .collect(),
    );
    RunRecord {
        id: RunId::new(started_at),
        project: "demo".to_owned(),
        mode: if n.is_multiple_of(2) {
            RunMode::Full
        } else {
            RunMode::Sample
        },
        command: vec![
            "python".to_owned(),
            "train.py".to_owned(),
            format!("--seed={n}"),
        ],
        params: BTreeMap::from([("seed".to_owned(), serde_json::json!(n))]),
        metrics,
        series,
        datasets: BTreeMap::from([("train".to_owned(), "ab".repeat(32))]),
        git: GitInfo {
            commit: "0123456789abcdef0123456789abcdef01234567".to_owned(),
            branch: Some("main".to_owned()),
            dirty: false,
        },
        ci: CiInfo {
            host: "github".to_owned(),
            event: Some("push".to_owned()),
            url: Some(format!("https://github.com/o/r/actions/runs/{n}")),
        },
        tools: BTreeMap::from([("python".to_owned(), "3.12.3".to_owned())]),
        started_at,
        duration: Duration::from_millis(1500 + u64::from(n)),
        outcome: Outcome::Succeeded,
        artifacts: vec![artifact(n)],
    }
}

/// An artifact reference with a digest unique to `n`.
pub fn artifact(n: u32) -> ArtifactRef {
    ArtifactRef {
        path: "model/model.joblib".to_owned(),
        digest: blake3::hash(&n.to_le_bytes()).to_hex().to_string(),
        size: 1024 + u64::from(n),
    }
}
