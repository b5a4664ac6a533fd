//! What `train` may register: a run whose declared metrics are NaN or
//! infinite fails and registers nothing (Python's `json.dump` writes them,
//! and they are read); a run stopped for lack of improvement converged and
//! succeeds; a metric a rule needs the direction of must be declared; and
//! outside CI only a clean work tree on the default branch registers, any
//! other terminal run being a local experiment. Real Python commands in real
//! git repositories; ambient CI variables scrubbed (`common::trainyard`).
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::float_cmp)] // metrics read back from files and the ledger are compared exactly

use std::path::Path;

use crate::common::{self, output, run_json, trainyard, trainyard_stderr};
use trainyard_ledger::{GitLedger, Ledger, Outcome, RunRecord};
use trainyard_testkit::git::{git, init_and_commit_all};

/// Writes `metrics` (a Python expression) with `json.dump` to the output
/// folder's metrics.json, and a model file.
fn json_dump_command(metrics: &str) -> String {
    format!(
        "  command:\n    - python3\n    - -c\n    - |\n      import json, os, sys\n      out = sys.argv[1]\n      \
         json.dump({metrics}, open(os.path.join(out, \"metrics.json\"), \"w\"))\n      \
         open(os.path.join(out, \"model.bin\"), \"w\").write(\"weights\")\n    - \"{{{{ output_dir }}}}\"\n  \
         metrics-file: metrics.json\n"
    )
}

const MODEL: &str = "model:\n  name: clf\n  path: model.bin\n  metrics:\n    accuracy: { direction: maximize }\n    loss: { direction: minimize }\n";

/// A project on `main`, committed, with `train` and `model` as given.
fn training_repo(train: &str, model: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("trainyard.yaml"),
        format!("version: 1\nproject:\n  name: rules\ntrain:\n{train}{model}"),
    )
    .unwrap();
    std::fs::write(dir.path().join(".gitignore"), ".trainyard/\n").unwrap();
    init_and_commit_all(dir.path());
    dir
}

fn recorded(dir: &Path, report: &serde_json::Value) -> RunRecord {
    GitLedger::open(dir)
        .unwrap()
        .run(output(report, "run-id"))
        .unwrap()
}

fn versions(dir: &Path) -> usize {
    GitLedger::open(dir)
        .unwrap()
        .versions("clf")
        .map_or(0, |versions| versions.len())
}

/// Once: the run succeeded and `challenger` moved to a model whose loss was NaN.
#[test]
fn a_nan_loss_written_by_json_dump_fails_the_run_and_registers_nothing() {
    let project = training_repo(
        &json_dump_command("{\"loss\": float(\"nan\"), \"accuracy\": 0.91}"),
        MODEL,
    );
    let dir = project.path();
    let report = run_json(trainyard().current_dir(dir).arg("train"), 1);
    assert_eq!(output(&report, "outcome"), "failed", "{report:#}");
    let run = recorded(dir, &report);
    let Outcome::Failed { reason } = &run.outcome else {
        panic!("{:?}", run.outcome);
    };
    assert!(
        reason.starts_with("`loss` is NaN (declared in `model.metrics`)"),
        "{reason}"
    );
    assert!(run.metrics["loss"].is_nan(), "the NaN is recorded as read");
    assert_eq!(run.metrics["accuracy"], 0.91);
    assert!(report["outputs"].get("model-version").is_none());
    assert_eq!(versions(dir), 0);
    assert!(
        GitLedger::open(dir)
            .unwrap()
            .resolve("clf", "challenger")
            .is_err()
    );
}

#[test]
fn an_infinite_final_metric_fails_the_run_but_an_undeclared_one_is_only_recorded() {
    let project = training_repo(
        &json_dump_command("{\"loss\": 0.2, \"accuracy\": float(\"-inf\")}"),
        MODEL,
    );
    let report = run_json(trainyard().current_dir(project.path()).arg("train"), 1);
    assert!(
        report["title"]
            .as_str()
            .unwrap()
            .contains("`accuracy` is -inf"),
        "{report:#}"
    );
    assert_eq!(versions(project.path()), 0);

    // `grad_norm` is no declared metric: read (once refused as invalid JSON), kept, not judged.
    let project = training_repo(
        &json_dump_command(
            "{\"loss\": 0.2, \"accuracy\": 0.9, \"grad_norm\": float(\"inf\"), \"nan_count\": float(\"nan\")}",
        ),
        MODEL,
    );
    let dir = project.path();
    let report = run_json(trainyard().current_dir(dir).arg("train"), 0);
    assert_eq!(output(&report, "model-version"), "1", "{report:#}");
    let run = recorded(dir, &report);
    assert_eq!(run.metrics["grad_norm"], f64::INFINITY);
    assert!(run.metrics["nan_count"].is_nan());
}

/// Once: "no improvement for 5 steps" failed the run (exit 1, nothing registered).
#[test]
fn a_run_stopped_by_patience_converged_and_registers_its_model() {
    let script = "import os, sys, time\n      out = sys.argv[1]\n      \
                  for step in range(1, 100000):\n          \
                  loss = 1.0 / step if step <= 4 else 0.25 + (step % 2) * 0.0001\n          \
                  open(os.path.join(out, \"model.bin\"), \"w\").write(str(step))\n          \
                  print(f\"trainyard:metric loss={loss:.6f} step={step}\", flush=True)\n          \
                  time.sleep(0.01)\n      time.sleep(600)\n";
    let project = training_repo(
        &format!(
            "  command:\n    - python3\n    - -c\n    - |\n      {script}    - \"{{{{ output_dir }}}}\"\n  \
             timeout: 5m\n  early-stop:\n    - {{ metric: loss, patience: 5, min-delta: 0.001 }}\n"
        ),
        MODEL,
    );
    let dir = project.path();
    let report = run_json(trainyard().current_dir(dir).arg("train"), 0);
    assert_eq!(report["conclusion"], "success", "{report:#}");
    assert_eq!(output(&report, "outcome"), "converged");
    assert_eq!(output(&report, "model-version"), "1");
    assert_eq!(output(&report, "challenger"), "true");
    let run = recorded(dir, &report);
    assert_eq!(
        run.outcome,
        Outcome::Converged {
            reason: "`loss` did not improve by 0.001 or more for 5 steps: best 0.25 at step 4, now 0.2501 at step 9".into()
        }
    );
    assert_eq!(run.metrics["loss"], 0.2501);
    assert_eq!(report["findings"][0]["rule"], "train/converged");
    assert_eq!(report["findings"][0]["severity"], "notice");
}

/// Once: a `patience` rule on a metric of unknown direction silently minimized it.
#[test]
fn a_metric_a_rule_needs_the_direction_of_must_be_declared() {
    let train =
        "  command: [python3, train.py]\n  early-stop:\n    - { metric: auc, patience: 3 }\n";
    let project = training_repo(train, MODEL);
    let stderr = trainyard_stderr(project.path(), &["train"], 2);
    assert!(
        stderr
            .contains("`auc` is used by `train.early-stop` but not declared under `model.metrics`"),
        "{stderr}"
    );
    assert!(stderr.contains("trainyard.yaml:6"), "{stderr}");
    assert!(stderr.contains("give the rule a `direction`"), "{stderr}");
    // The rule's own direction is enough.
    let train = "  command: [python3, train.py]\n  early-stop:\n    - { metric: auc, patience: 3, direction: maximize }\n";
    let project = training_repo(train, MODEL);
    trainyard_stderr(project.path(), &["config", "check"], 0);

    // A gate's metric too.
    let project = training_repo(
        "  command: [python3, train.py]\n",
        &format!(
            "{MODEL}environments:\n  - name: prod\ngates:\n  prod:\n    non-regression: [{{ metric: f1 }}]\n"
        ),
    );
    let stderr = trainyard_stderr(project.path(), &["config", "check"], 2);
    assert!(
        stderr.contains(
            "`f1` is used by `gates.prod.non-regression` but not declared under `model.metrics`"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("trainyard.yaml:16"), "{stderr}");
}

/// Once: a terminal run on a feature branch registered version 1 and moved `challenger`.
#[test]
fn a_terminal_run_off_the_default_branch_or_dirty_is_a_local_experiment() {
    let project = training_repo(
        &json_dump_command("{\"loss\": 0.2, \"accuracy\": 0.9}"),
        MODEL,
    );
    let dir = project.path();
    git(dir, &["checkout", "-q", "-b", "try-things"]);
    let report = run_json(trainyard().current_dir(dir).arg("train"), 0);
    assert_eq!(
        output(&report, "local-experiment"),
        "HEAD is on `try-things`, not the default branch `main`"
    );
    assert!(
        report["outputs"].get("model-version").is_none(),
        "{report:#}"
    );
    let notice = &report["findings"][0];
    assert_eq!(notice["rule"], "train/local-experiment");
    assert!(
        notice["message"].as_str().unwrap().starts_with(
            "recorded as a local experiment, not registered (no version, `challenger` not moved)"
        ),
        "{notice}"
    );
    assert_eq!(versions(dir), 0);
    // The run itself is recorded, as it was.
    assert_eq!(
        recorded(dir, &report).git.branch.as_deref(),
        Some("try-things")
    );

    // Back on main with an uncommitted change: still an experiment.
    git(dir, &["checkout", "-q", "main"]);
    std::fs::write(
        dir.join("trainyard.yaml"),
        std::fs::read_to_string(dir.join("trainyard.yaml")).unwrap() + "# tuning\n",
    )
    .unwrap();
    let report = run_json(trainyard().current_dir(dir).arg("train"), 0);
    assert_eq!(
        output(&report, "local-experiment"),
        "the work tree has uncommitted changes"
    );
    assert_eq!(versions(dir), 0);

    // Committed on main: registered, the challenger.
    git(dir, &["commit", "-q", "-am", "tuned"]);
    let report = run_json(trainyard().current_dir(dir).arg("train"), 0);
    assert_eq!(output(&report, "model-version"), "1", "{report:#}");
    assert_eq!(output(&report, "challenger"), "true");
    assert!(report["outputs"].get("local-experiment").is_none());
}

/// In CI the event decides, as before: a push to a feature branch with
/// `--mode full` registers (without moving `challenger`) whatever the tree.
#[test]
fn in_ci_the_event_decides_as_before() {
    let project = training_repo(
        &json_dump_command("{\"loss\": 0.2, \"accuracy\": 0.9}"),
        MODEL,
    );
    let dir = project.path();
    git(dir, &["checkout", "-q", "-b", "feature"]);
    // The fields of a push payload trainyard reads.
    let pushed = serde_json::json!({
        "ref": "refs/heads/feature",
        "after": git(dir, &["rev-parse", "HEAD"]),
        "repository": { "default_branch": "main", "full_name": "octo-org/ml" },
    });
    let mut command = trainyard();
    command.current_dir(dir).args(["train", "--mode", "full"]);
    common::github_event(&mut command, dir, "push", &pushed);
    let report = run_json(&mut command, 0);
    assert_eq!(output(&report, "model-version"), "1", "{report:#}");
    assert_eq!(output(&report, "challenger"), "false");
    assert!(report["outputs"].get("local-experiment").is_none());
}

#[test]
fn reproduce_warns_about_uncommitted_changes() {
    let project = training_repo(
        &json_dump_command("{\"loss\": 0.2, \"accuracy\": 0.9}"),
        MODEL,
    );
    let dir = project.path();
    // A run trained from a dirty tree: its commit does not hold what it ran.
    std::fs::write(
        dir.join("trainyard.yaml"),
        std::fs::read_to_string(dir.join("trainyard.yaml")).unwrap() + "# tuning\n",
    )
    .unwrap();
    let trained = run_json(trainyard().current_dir(dir).arg("train"), 0);
    let id = output(&trained, "run-id");
    let report = run_json(trainyard().current_dir(dir).args(["reproduce", id]), 0);
    let rules: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|finding| finding["severity"] == "warning")
        .map(|finding| finding["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        ["reproduce/run-dirty", "reproduce/tree-dirty"],
        "{report:#}"
    );
}
