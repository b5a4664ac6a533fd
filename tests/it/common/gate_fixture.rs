//! A real git repository holding a trainyard project, with runs and model
//! versions recorded in its ledger, for the gate, promote and rollback tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use trainyard_ledger::{
    ArtifactStore, CiInfo, Deployment, DeploymentKind, GitInfo, GitLedger, Ledger, LocalStore,
    Outcome, RunId, RunMode, RunRecord,
};
use trainyard_testkit::git::Git;

/// The manifest, with `{gates}` replaced by the test's `gates:` body.
const MANIFEST: &str = "\
version: 1
project:
  name: demo
  default-branch: main
model:
  name: clf
  path: model.json
  metrics:
    accuracy: { direction: maximize }
    log_loss: { direction: minimize }
environments:
  - name: staging
  - name: prod
gates:
{gates}";

/// The fingerprint every fixture run records for its dataset `biopsies`.
pub const DATASET_DIGEST: &str = "06e2eaa5148894115aff727d8175a05e30282026b232471dc7196c1d65193f80";

pub struct Repo {
    pub dir: tempfile::TempDir,
    /// The project's folder in the repository (`""`: the root).
    pub project: String,
}

impl Repo {
    /// A repository on `main` with the manifest (gates as given, indented by the
    /// caller under `gates:`) committed.
    pub fn new(gates: &str) -> Self {
        Self::new_in("", gates)
    }

    /// The same, with one training run recorded that reached accuracy 0.95.
    pub fn trained_once(gates: &str) -> Self {
        let repo = Self::new(gates);
        repo.train(&[("accuracy", 0.95)], 100, &[]);
        repo
    }

    /// The same, with the project in a folder of the repository (a monorepo).
    pub fn new_in(project: &str, gates: &str) -> Self {
        let repo = Self {
            dir: tempfile::tempdir().unwrap(),
            project: project.to_owned(),
        };
        repo.git(&["init", "--quiet", "--initial-branch=main"]);
        repo.git(&["config", "user.name", "Test Person"]);
        repo.git(&["config", "user.email", "test@example.com"]);
        repo.git(&["config", "commit.gpgsign", "false"]);
        repo.git(&["config", "tag.gpgsign", "false"]);
        repo.write(&repo.in_project("trainyard.yaml"), &manifest(gates));
        repo.write(".gitignore", ".trainyard/\n");
        repo.commit_all("the project");
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs git in the repository; fails the test if git fails. Returns stdout.
    pub fn git(&self, args: &[&str]) -> String {
        self.git_with(args, &[])
    }

    /// Runs git with extra environment variables (e.g. `GNUPGHOME`), as the
    /// repository's configured identity ("Test Person").
    pub fn git_with(&self, args: &[&str], env: &[(&str, &str)]) -> String {
        let mut git = Git::new(self.path()).as_configured();
        for (name, value) in env {
            git = git.env(name, value);
        }
        // Fixed dates: the same fixture makes the same commits.
        git.env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
            .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
            .env("HOME", self.path().join(".home-for-git"))
            .run(args)
    }

    pub fn write(&self, path: &str, content: &str) {
        let full = self.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
    }

    pub fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.path().join(path)).unwrap()
    }

    pub fn commit_all(&self, message: &str) -> String {
        self.git(&["add", "--all"]);
        self.git(&["commit", "--quiet", "--allow-empty", "-m", message]);
        self.head()
    }

    pub fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"])
    }

    /// Replaces the `gates:` body of the manifest (not committed).
    pub fn set_gates(&self, gates: &str) {
        self.write(&self.in_project("trainyard.yaml"), &manifest(gates));
    }

    /// A path of the project's, relative to the repository root.
    pub fn in_project(&self, path: &str) -> String {
        if self.project.is_empty() {
            path.to_owned()
        } else {
            format!("{}/{path}", self.project)
        }
    }

    pub fn ledger(&self) -> GitLedger {
        GitLedger::open(self.path()).unwrap()
    }

    /// Records a succeeded run at HEAD with these metrics and `model_size` bytes
    /// of model (plus `extra` artifacts), registers it and moves `challenger`.
    pub fn train(&self, metrics: &[(&str, f64)], model_size: usize, extra: &[(&str, &str)]) -> u64 {
        let ledger = self.ledger();
        let store = LocalStore::in_project(&self.path().join(&self.project));
        let out = tempfile::tempdir().unwrap();
        let model_file = out.path().join("model.json");
        let version_count = ledger.versions("clf").map_or(0, |v| v.len());
        // Distinct bytes per version, so each has its own digest.
        let mut bytes = format!("{{\"v\":{version_count}}}").into_bytes();
        bytes.resize(model_size.max(bytes.len()), b' ');
        std::fs::write(&model_file, &bytes).unwrap();
        let model = store.put("model.json", &model_file).unwrap();
        let mut artifacts = vec![model.clone()];
        for (name, content) in extra {
            let file = out.path().join(name);
            std::fs::write(&file, content).unwrap();
            artifacts.push(store.put(name, &file).unwrap());
        }
        let started_at = chrono::Utc::now();
        let run = RunRecord {
            id: RunId::new(started_at),
            project: "demo".into(),
            mode: RunMode::Full,
            command: vec!["python3".into(), "train.py".into()],
            params: BTreeMap::new(),
            metrics: metrics.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
            series: BTreeMap::new(),
            datasets: BTreeMap::from([("biopsies".to_owned(), DATASET_DIGEST.to_owned())]),
            git: GitInfo {
                commit: self.head(),
                branch: Some("main".into()),
                dirty: false,
            },
            ci: CiInfo {
                host: "terminal".into(),
                event: None,
                url: None,
            },
            tools: BTreeMap::new(),
            started_at,
            duration: Duration::from_secs(3),
            outcome: Outcome::Succeeded,
            artifacts,
            store: None,
            model_uri: None,
        };
        ledger.append_run(&run).unwrap();
        let version = ledger.register("clf", &run.id, &model).unwrap();
        ledger
            .move_alias("clf", "challenger", version.version, "test", "trained")
            .unwrap();
        version.version
    }

    /// Records in the ledger that `version` was deployed to `env` `ago` (as
    /// `promote --direct` or `status --record` after a merge would have), so
    /// the promotion order lets it into the environment after `env`.
    pub fn deployed(&self, env: &str, version: u64, ago: Duration) {
        let ledger = self.ledger();
        let model = ledger.resolve("clf", &version.to_string()).unwrap();
        ledger
            .record_deployment(
                env,
                &Deployment {
                    model: "clf".into(),
                    version,
                    digest: model.artifact.digest.clone(),
                    run_id: model.run_id.clone(),
                    commit: self.head(),
                    verdict_digest: None,
                    at: chrono::Utc::now() - chrono::Duration::from_std(ago).unwrap(),
                    actor: "test".into(),
                    reason: format!("deployed to {env} by the test"),
                    kind: DeploymentKind::Promote,
                },
            )
            .unwrap();
    }

    pub fn run_of(&self, version: u64) -> RunRecord {
        let ledger = self.ledger();
        let version = ledger.resolve("clf", &version.to_string()).unwrap();
        ledger.run(version.run_id.as_str()).unwrap()
    }

    /// `trainyard --format json ARGS` in the repository; the parsed report and the exit code.
    pub fn trainyard(&self, args: &[&str]) -> (serde_json::Value, i32) {
        self.trainyard_with(args, &[])
    }

    pub fn trainyard_with(&self, args: &[&str], env: &[(&str, &str)]) -> (serde_json::Value, i32) {
        let mut command = crate::common::trainyard();
        command
            .current_dir(self.path())
            .env("HOME", self.path().join(".home-for-git"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .arg("--format")
            .arg("json")
            .args(args);
        for (name, value) in env {
            command.env(name, value);
        }
        let output = command.output().unwrap();
        let code = output.status.code().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let report = serde_json::from_str(&stdout).unwrap_or_else(|error| {
            panic!(
                "trainyard {args:?} printed no JSON report ({error}); exit {code}\nstdout:\n{stdout}\nstderr:\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
        (report, code)
    }

    pub fn status_porcelain(&self) -> String {
        self.git(&["status", "--porcelain"])
    }
}

pub fn manifest(gates: &str) -> String {
    MANIFEST.replace("{gates}", gates)
}

/// The failed-rule messages of a report (its error findings), children included.
pub fn errors(report: &serde_json::Value) -> Vec<String> {
    let mut found: Vec<String> = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|finding| finding["severity"] == "error")
        .map(|finding| finding["message"].as_str().unwrap().to_owned())
        .collect();
    for child in report["children"].as_array().into_iter().flatten() {
        found.extend(errors(child));
    }
    found
}

/// The verdict in a gate report's outputs.
pub fn verdict(report: &serde_json::Value) -> serde_json::Value {
    serde_json::from_str(
        report["outputs"]["verdict"]
            .as_str()
            .expect("a verdict output"),
    )
    .unwrap()
}

/// The verdict's rules as `(rule, subject, observed, required, passed)`.
pub fn rules(report: &serde_json::Value) -> Vec<(String, String, String, String, bool)> {
    verdict(report)["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|rule| {
            (
                rule["rule"].as_str().unwrap().to_owned(),
                rule["subject"].as_str().unwrap().to_owned(),
                rule["observed"].as_str().unwrap().to_owned(),
                rule["required"].as_str().unwrap().to_owned(),
                rule["passed"].as_bool().unwrap(),
            )
        })
        .collect()
}
