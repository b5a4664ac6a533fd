//! `tracking.backend: mlflow` end to end, on a real `mlflow server` (SQLite,
//! `--serve-artifacts`, 127.0.0.1): the quickstart flow (train sample and
//! full, compare, gate, promote, rollback, status, `model get`) with every
//! run and version on the server; `ledger export` git → MLflow → git giving an
//! identical ledger; 20 concurrent trainings each recorded once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use pretty_assertions::assert_eq;
use serde_json::Value;
use trainyard_ledger::{GitLedger, Ledger, MlflowCredentials, MlflowLedger};
use trainyard_testkit::git::init_and_commit_all;
use trainyard_testkit::servers::Mlflow;

use crate::common::{self, run_json, trainyard};
use crate::ledger_transfer::{fill, ledger_contents};

/// The server, or a skip when `.ci/test` did not install mlflow.
fn server(root: &Path) -> Option<Mlflow> {
    let server = Mlflow::start(root);
    if server.is_none() {
        eprintln!("skipped: .venv/bin/mlflow is not installed (.ci/test installs it)");
    }
    server
}

/// The ledger `tracking.backend: mlflow` reads in `repo` for `project`.
fn mlflow_ledger(server: &Mlflow, repo: &Path, project: &str) -> MlflowLedger {
    MlflowLedger::connect(
        &server.uri,
        MlflowCredentials::from_env(|_| None),
        GitLedger::open(repo).unwrap(),
    )
    .unwrap()
    .with_project(project)
}

fn tracking(uri: &str) -> String {
    format!("\ntracking:\n  backend: mlflow\n  uri: {uri}\n")
}

fn step(dir: &Path, args: &[&str], code: i32) -> Value {
    run_json(
        trainyard()
            .current_dir(dir)
            .env("DO_NOT_TRACK", "1")
            .args(args),
        code,
    )
}

#[test]
fn the_quickstart_flow_records_every_run_and_version_on_mlflow() {
    let temp = tempfile::tempdir().unwrap();
    let Some(server) = server(temp.path()) else {
        return;
    };
    let project = common::example_project();
    let dir = project.path();
    let manifest = dir.join("trainyard.yaml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    text.push_str(&tracking(&server.uri));
    std::fs::write(&manifest, text).unwrap();
    std::fs::write(dir.join(".gitignore"), ".trainyard/\n").unwrap();
    init_and_commit_all(dir);

    let checked = step(dir, &["config", "check"], 0);
    assert!(
        checked["summary"]
            .as_str()
            .unwrap()
            .contains("mlflow at http://127.0.0.1"),
        "{checked}"
    );
    step(dir, &["train", "--mode", "sample"], 0);
    step(dir, &["compare"], 0);
    let full = step(dir, &["train", "--mode", "full"], 0);
    assert_eq!(full["outputs"]["model-version"], "1", "{full}");
    step(dir, &["gate", "--env", "dev"], 0);
    let direct = ["--direct", "--no-push"];
    let promote = |env: &str| {
        let mut args = vec!["promote", "--env", env, "--reason", "gate passed"];
        args.extend(direct);
        step(dir, &args, 0)
    };
    promote("dev");
    promote("staging");
    // A second version enters dev and is rolled back.
    let second = step(dir, &["train", "--mode", "full"], 0);
    assert_eq!(second["outputs"]["model-version"], "2", "{second}");
    promote("dev");
    let mut rollback = vec!["rollback", "--env", "dev", "--reason", "worse in dev"];
    rollback.extend(direct);
    step(dir, &rollback, 0);
    let status = step(dir, &["status"], 0);
    assert!(
        status["summary"].as_str().unwrap().contains("dev"),
        "{status}"
    );
    let got = step(dir, &["model", "get", "--env", "staging"], 0);
    assert_eq!(got["outputs"]["version"], "1", "{got}");
    let runs = step(dir, &["runs", "list"], 0);
    assert_eq!(runs["data"].as_array().unwrap().len(), 3, "{runs}");

    // Runs and versions are on the server, not in git; the alias history in git.
    let git = GitLedger::open(dir).unwrap();
    assert!(git.run_ids().unwrap().is_empty());
    let ledger = mlflow_ledger(&server, dir, "breast-cancer");
    assert_eq!(ledger.run_ids().unwrap().len(), 3);
    let model = "breast-cancer-classifier";
    let aliases = ledger.aliases(model).unwrap();
    assert_eq!(aliases.get("dev"), Some(&1), "{aliases:?}");
    assert_eq!(aliases.get("staging"), Some(&1), "{aliases:?}");
    assert_eq!(aliases.get("challenger"), Some(&2), "{aliases:?}");
    let kinds: Vec<String> = ledger
        .deployments("dev")
        .unwrap()
        .iter()
        .map(|deployment| format!("{} v{}", deployment.kind, deployment.version))
        .collect();
    assert_eq!(kinds, ["promote v1", "promote v2", "rollback v1"]);

    // MLflow's own client sees what trainyard wrote.
    let seen = server.python(
        r#"
import mlflow, sys
client = mlflow.MlflowClient()
experiment = client.get_experiment_by_name("breast-cancer")
runs = client.search_runs([experiment.experiment_id])
full = [r for r in runs if r.data.tags.get("mlflow.source.git.commit")]
print(len(runs), len(full), all("accuracy" in r.data.metrics for r in runs))
print(client.get_model_version_by_alias(sys.argv[1], "dev").version)
"#,
        &[model],
    );
    assert_eq!(seen.trim(), "3 3 True\n1", "{seen}");
}

#[test]
fn export_to_mlflow_and_import_back_gives_an_identical_ledger() {
    let temp = tempfile::tempdir().unwrap();
    let Some(server) = server(temp.path()) else {
        return;
    };
    let manifest = "version: 1\nproject:\n  name: demo\n";
    let source = crate::ledger::project(temp.path(), "source");
    std::fs::write(source.join("trainyard.yaml"), manifest).unwrap();
    let original_ledger = GitLedger::open(&source).unwrap();
    fill(&original_ledger);
    let original = ledger_contents(&original_ledger);
    let target = format!("mlflow+{}", server.uri);

    let exported = step(&source, &["ledger", "export", "--to", &target], 0);
    assert_eq!(exported["outputs"]["runs"], "3", "{exported}");
    assert_eq!(exported["outputs"]["versions"], "2", "{exported}");
    // With the history where the MLflow backend reads it (this repository),
    // MLflow is the same ledger: runs, versions, aliases, tags, times.
    let on_mlflow = mlflow_ledger(&server, &source, "demo");
    assert_eq!(ledger_contents(&on_mlflow), original);
    // Again: the runs and versions are there already.
    let again = step(&source, &["ledger", "export", "--to", &target], 0);
    assert_eq!(again["outputs"]["runs"], "0", "{again}");
    assert_eq!(again["outputs"]["versions"], "0", "{again}");

    // Back into a new repository: runs and versions from MLflow, the
    // histories from the repository that keeps them.
    let back = crate::ledger::project(temp.path(), "back");
    std::fs::write(back.join("trainyard.yaml"), manifest).unwrap();
    let history = source.to_str().unwrap();
    step(
        &back,
        &["ledger", "import", "--from", &target, "--history", history],
        0,
    );
    assert_eq!(ledger_contents(&GitLedger::open(&back).unwrap()), original);
}

#[test]
fn twenty_concurrent_trainings_are_each_recorded_once() {
    let temp = tempfile::tempdir().unwrap();
    let Some(server) = server(temp.path()) else {
        return;
    };
    let dir = temp.path().join("project");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        common::repo().join("tests/fixtures/train/history.py"),
        dir.join("history.py"),
    )
    .unwrap();
    std::fs::write(
        dir.join("trainyard.yaml"),
        format!(
            "version: 1\nproject:\n  name: busy\ntrain:\n  command: [python3, history.py, \"{{{{ output_dir }}}}\"]\n  metrics-file: history.csv\n  params: {{ epochs: 3 }}\n{}",
            tracking(&server.uri)
        ),
    )
    .unwrap();
    std::fs::write(dir.join(".gitignore"), ".trainyard/\n").unwrap();
    init_and_commit_all(&dir);

    let children: Vec<std::process::Child> = (0..20)
        .map(|_| {
            let mut command = common::trainyard_process();
            command
                .current_dir(&dir)
                .env("DO_NOT_TRACK", "1")
                .args(["--format", "json", "train", "--mode", "sample"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            command.spawn().unwrap()
        })
        .collect();
    let mut ids = Vec::new();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let report: Value = serde_json::from_slice(&output.stdout).unwrap();
        ids.push(report["outputs"]["run-id"].as_str().unwrap().to_owned());
    }
    ids.sort();
    let ledger = mlflow_ledger(&server, &dir, "busy");
    let recorded: Vec<String> = ledger
        .run_ids()
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    let mut sorted = recorded.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), recorded.len(), "a run recorded twice");
    assert_eq!(sorted, ids);
}
