//! Real git repositories for the ledger's tests (git itself through
//! `trainyard_testkit::git`, the workspace's one git fixture helper), and run records.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use trainyard_ledger::{
    ArtifactRef, CiInfo, GitInfo, Outcome, RunId, RunMode, RunRecord, Timestamp,
};
pub use trainyard_testkit::git::git;

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
        store: None,
        model_uri: None,
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
