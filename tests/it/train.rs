//! `trainyard train` and `reproduce` against real training commands: the
//! bundled example's train.py (Python standard library) on the real
//! breast-cancer data, and small scripts that diverge, turn NaN, plateau or
//! hang with a child.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::float_cmp)] // metrics read back from files and the ledger are compared exactly

use crate::common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{output, run_json, trainyard};
use trainyard_ledger::{GitLedger, Ledger, LocalStore, Outcome, RunMode, RunRecord};
use trainyard_testkit::git::{git, init_and_commit_all};

const MODEL: &str = "breast-cancer-classifier";

fn python_available() {
    let found = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    assert!(
        found,
        "python3 is not on PATH: these tests run real Python training scripts; install python3"
    );
}

/// The bundled example in a fresh git repository.
fn example_repo() -> tempfile::TempDir {
    python_available();
    let dir = common::example_project();
    std::fs::write(dir.path().join(".gitignore"), ".trainyard/\n").unwrap();
    init_and_commit_all(dir.path());
    dir
}

/// A project running one of tests/fixtures/train's scripts.
fn fixture_repo(script: &str, train: &str) -> tempfile::TempDir {
    python_available();
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        common::repo().join("tests/fixtures/train").join(script),
        dir.path().join(script),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("trainyard.yaml"),
        format!("version: 1\nproject:\n  name: fixture\ntrain:\n{train}"),
    )
    .unwrap();
    std::fs::write(dir.path().join(".gitignore"), ".trainyard/\n").unwrap();
    init_and_commit_all(dir.path());
    dir
}

/// `trainyard <args>` in `dir` exits `code` saying `message` on stderr.
fn refuses(dir: &Path, args: &[&str], code: i32, message: &str) -> assert_cmd::assert::Assert {
    trainyard()
        .current_dir(dir)
        .args(args)
        .assert()
        .code(code)
        .stderr(predicates::str::contains(message))
}

/// `trainyard train` in `dir` as a GitHub Actions step for a real "opened" pull request.
fn train_on_an_opened_pull_request(dir: &Path) -> assert_cmd::Command {
    let opened = common::webhook("pull_request", |e| e["action"] == "opened");
    let mut command = trainyard();
    command.current_dir(dir).arg("train");
    common::github_event(&mut command, dir, "pull_request", &opened);
    command
}

fn recorded(dir: &Path, report: &serde_json::Value) -> RunRecord {
    GitLedger::open(dir)
        .unwrap()
        .run(output(report, "run-id"))
        .unwrap()
}

#[test]
fn a_pull_request_trains_on_a_sample_and_a_push_to_the_default_branch_on_all_data() {
    let project = example_repo();
    let dir = project.path();

    let mut command = train_on_an_opened_pull_request(dir);
    let sampled = run_json(&mut command, 0);
    assert_eq!(output(&sampled, "mode"), "sample");
    assert!(sampled["outputs"].get("model-version").is_none());

    // The payload's repository has `master` as its default branch.
    let pushed = common::webhook("push", |e| e["ref"] == "refs/heads/master");
    let mut command = trainyard();
    command
        .current_dir(dir)
        .arg("train")
        .env("GITHUB_REPOSITORY", "octo-org/ml")
        .env("GITHUB_RUN_ID", "4242");
    common::github_event(&mut command, dir, "push", &pushed);
    let full = run_json(&mut command, 0);
    assert_eq!(output(&full, "mode"), "full");
    assert_eq!(output(&full, "model-version"), "1");
    assert_eq!(output(&full, "challenger"), "true");

    let sample_run = recorded(dir, &sampled);
    let full_run = recorded(dir, &full);
    assert_eq!(sample_run.mode, RunMode::Sample);
    assert_eq!(full_run.mode, RunMode::Full);
    assert_eq!(sample_run.ci.event.as_deref(), Some("pull-request"));
    assert_eq!(full_run.ci.event.as_deref(), Some("push"));
    assert_eq!(
        full_run.ci.url.as_deref(),
        Some("https://github.com/octo-org/ml/actions/runs/4242")
    );
    assert_eq!(full_run.ci.host, "github");
    // A quarter of 569 rows, split 80/20, against all of them.
    assert_eq!(sample_run.metrics["train_rows"], 113.0);
    assert_eq!(full_run.metrics["train_rows"], 455.0);
    // Both trained from the same data, fingerprinted like `data fingerprint` does.
    let fingerprint = run_json(
        trainyard()
            .current_dir(dir)
            .args(["data", "fingerprint", "--check"]),
        1, // no trainyard.lock committed: --check fails, but still reports the digest
    );
    let digest = output(&fingerprint, "digest-biopsies");
    assert_eq!(sample_run.datasets["biopsies"], digest);
    assert_eq!(full_run.datasets["biopsies"], digest);
    assert!(sample_run.datasets.contains_key("biopsies.sample"));
    assert!(!full_run.datasets.contains_key("biopsies.sample"));
    assert_eq!(full_run.git.commit, git(dir, &["rev-parse", "HEAD"]));
    assert!(!full_run.git.dirty);
    assert_eq!(full_run.outcome, Outcome::Succeeded);
    assert!(full_run.tools["python3"].starts_with("Python 3"));

    // The full run on the default branch is the challenger, its model stored by digest.
    let ledger = GitLedger::open(dir).unwrap();
    let challenger = ledger.resolve(MODEL, "challenger").unwrap();
    assert_eq!(challenger.version, 1);
    assert_eq!(challenger.run_id, full_run.id);
    assert_eq!(full_run.artifacts.len(), 1);
    let artifact = &full_run.artifacts[0];
    assert_eq!(artifact.path, "model.json");
    let stored = LocalStore::in_project(dir).path_of(&artifact.digest);
    let written = Path::new(output(&full, "output-dir")).join("model.json");
    let written = if written.is_absolute() {
        written
    } else {
        dir.join(written)
    };
    assert_eq!(
        std::fs::read(stored).unwrap(),
        std::fs::read(written).unwrap()
    );
}

#[test]
fn a_tag_trains_on_all_data_and_registers_without_moving_the_challenger() {
    let project = example_repo();
    let dir = project.path();
    let tagged = common::webhook("push", |e| {
        e["ref"] == "refs/tags/simple-tag" && e["deleted"] == false
    });
    let mut command = trainyard();
    command.current_dir(dir).arg("train");
    common::github_event(&mut command, dir, "push", &tagged);
    let report = run_json(&mut command, 0);
    assert_eq!(output(&report, "mode"), "full");
    assert_eq!(output(&report, "model-version"), "1");
    assert_eq!(output(&report, "challenger"), "false");
    let ledger = GitLedger::open(dir).unwrap();
    assert!(ledger.resolve(MODEL, "challenger").is_err());
}

#[test]
fn metrics_come_from_the_metrics_file_and_from_stdout() {
    let project = example_repo();
    let dir = project.path();
    let report = run_json(trainyard().current_dir(dir).args(["train"]), 0);
    let run = recorded(dir, &report);
    // metrics.json
    for name in ["accuracy", "f1", "log_loss", "precision", "recall"] {
        assert!(run.metrics.contains_key(name), "{name} missing: {run:?}");
    }
    assert!(run.metrics["accuracy"] > 0.9, "{}", run.metrics["accuracy"]);
    // `trainyard:metric loss=... step=...`, one line per epoch (200 by default)
    let loss = &run.series["loss"];
    assert_eq!(loss.len(), 200);
    assert_eq!(loss[0].0, 1);
    assert_eq!(loss[199].0, 200);
    assert!(loss[199].1 < loss[0].1, "the loss fell");
    assert_eq!(run.metrics["loss"], loss[199].1);
}

#[test]
fn a_csv_metrics_file_params_and_environment_reach_the_command() {
    let project = fixture_repo(
        "history.py",
        "  command: [python3, history.py, \"{{ output_dir }}\"]\n  metrics-file: history.csv\n  params: { epochs: 7 }\n  seed: 11\nmodel:\n  name: fixture-model\n  path: model.bin\n",
    );
    let dir = project.path();
    let assert = trainyard()
        .current_dir(dir)
        .args(["train", "--mode", "sample", "--param", "epochs=4"])
        .assert()
        .code(0);
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout);
    assert!(stdout.contains("seed=11 mode=sample"), "{stdout}");
    let ledger = GitLedger::open(dir).unwrap();
    let run = ledger.runs().unwrap().pop().unwrap();
    assert_eq!(run.params["epochs"], serde_json::json!(4));
    assert!((run.metrics["accuracy"] - 0.54).abs() < 1e-9);
    assert!((run.metrics["loss"] - 0.25).abs() < 1e-9);
    assert_eq!(run.series["accuracy"].len(), 4);
    assert_eq!(run.series["lr"].len(), 4);
}

#[test]
fn the_log_streams_live_inside_a_github_log_group() {
    let project = example_repo();
    let dir = project.path();
    let mut command = train_on_an_opened_pull_request(dir);
    let assert = command.assert().code(0);
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    let start = stdout
        .find("::group::train (sample): python3 train.py")
        .expect(&stdout);
    let first = stdout.find("trainyard:metric loss=").expect(&stdout);
    let end = stdout.find("::endgroup::").expect(&stdout);
    assert!(start < first && first < end, "{stdout}");
}

/// Runs a fixture expected to be stopped early and returns the report and record.
fn stopped(script: &str, rule: &str) -> (serde_json::Value, RunRecord) {
    let project = fixture_repo(
        script,
        &format!("  command: [python3, {script}]\n  timeout: 5m\n  early-stop:\n    - {rule}\n"),
    );
    let report = run_json(trainyard().current_dir(project.path()).arg("train"), 1);
    assert_eq!(report["conclusion"], "failure");
    assert_eq!(output(&report, "outcome"), "stopped");
    let run = recorded(project.path(), &report);
    (report, run)
}

fn stop_reason(run: &RunRecord) -> &str {
    match &run.outcome {
        Outcome::Stopped { reason } => reason,
        other => panic!("expected a stopped run, got {other:?}"),
    }
}

#[test]
fn early_stop_fires_when_the_loss_becomes_nan() {
    let (report, run) = stopped("nan.py", "{ metric: loss }");
    assert_eq!(stop_reason(&run), "`loss` became NaN at step 6");
    assert!(
        report["title"]
            .as_str()
            .unwrap()
            .contains("became NaN at step 6")
    );
    assert_eq!(report["findings"][0]["rule"], "train/early-stop");
    let loss = &run.series["loss"];
    assert_eq!(loss.last().unwrap().0, 6);
    assert!(loss.last().unwrap().1.is_nan());
}

#[test]
fn early_stop_fires_when_the_loss_diverges_above_its_bound() {
    let (_, run) = stopped("diverge.py", "{ metric: loss, above: 100 }");
    // 1.5^12 = 129.7 is the first value above 100, printed at step 13.
    assert!(
        stop_reason(&run)
            .starts_with("`loss` diverged: 129.746338 at step 13 is above the bound 100"),
        "{}",
        stop_reason(&run)
    );
}

/// No improvement for `patience` values is convergence: the run succeeds
/// (train_rules has the registered model).
#[test]
fn early_stop_fires_when_the_loss_stops_improving_for_its_patience() {
    let project = fixture_repo(
        "plateau.py",
        "  command: [python3, plateau.py]\n  timeout: 5m\n  early-stop:\n    - { metric: loss, patience: 5, min-delta: 0.001, direction: minimize }\n",
    );
    let report = run_json(trainyard().current_dir(project.path()).arg("train"), 0);
    assert_eq!(output(&report, "outcome"), "converged");
    let run = recorded(project.path(), &report);
    assert_eq!(
        run.outcome,
        Outcome::Converged {
            reason: "`loss` did not improve by 0.001 or more for 5 steps: best 0.25 at step 4, now 0.2501 at step 9".into()
        }
    );
}

/// Alive means: in the process table and not a zombie waiting to be reaped.
#[cfg(target_os = "linux")]
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
    })
}

/// Init reaps orphans asynchronously: wait (bounded) for the pid to go.
#[cfg(target_os = "linux")]
fn gone(pid: u32) -> bool {
    let until = Instant::now() + Duration::from_secs(20);
    while Instant::now() < until {
        if !alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
#[cfg(target_os = "linux")] // /proc tells a live process from a zombie
fn the_timeout_kills_the_command_and_its_child() {
    let project = fixture_repo(
        "hang.py",
        // Long enough for a loaded machine to start Python and write the pids.
        "  command: [python3, hang.py, \"{{ output_dir }}\"]\n  timeout: 8s\n",
    );
    let report = run_json(trainyard().current_dir(project.path()).arg("train"), 1);
    assert_eq!(output(&report, "outcome"), "timed-out");
    assert_eq!(report["findings"][0]["rule"], "train/timeout");
    let out = PathBuf::from(output(&report, "output-dir"));
    let out = if out.is_absolute() {
        out
    } else {
        project.path().join(out)
    };
    let pids = std::fs::read_to_string(out.join("pids.txt")).unwrap();
    let pids: Vec<u32> = pids
        .split_whitespace()
        .map(|pid| pid.parse().unwrap())
        .collect();
    let [command, child] = pids[..] else {
        panic!("pids.txt: {pids:?}")
    };
    assert!(
        gone(command),
        "the training command {command} is still running"
    );
    assert!(gone(child), "its child {child} is still running");
    assert_eq!(recorded(project.path(), &report).outcome, Outcome::TimedOut);
}

#[test]
fn an_unknown_placeholder_is_a_configuration_error() {
    let project = fixture_repo(
        "history.py",
        "  command: [python3, history.py, \"{{ outptu_dir }}\"]\n",
    );
    refuses(
        project.path(),
        &["train"],
        2,
        "unknown placeholder `{{ outptu_dir }}`",
    );
}

#[test]
fn reproduce_gives_the_same_sample_bytes_and_metrics() {
    let project = example_repo();
    let dir = project.path();
    let first = run_json(
        trainyard()
            .current_dir(dir)
            .args(["train", "--mode", "sample"]),
        0,
    );
    let id = output(&first, "run-id");
    // Work goes on after the run: reproduce uses the run's commit, not HEAD.
    std::fs::write(dir.join("NOTES.md"), "later work\n").unwrap();
    git(dir, &["add", "NOTES.md"]);
    git(dir, &["commit", "-q", "-m", "later"]);

    let report = run_json(trainyard().current_dir(dir).args(["reproduce", id]), 0);
    assert_eq!(report["conclusion"], "success", "{report:#}");
    assert_eq!(output(&report, "different"), "");
    let summary = report["summary"].as_str().unwrap();
    assert!(
        summary.contains("| biopsies |") && summary.contains("same bytes"),
        "{summary}"
    );
    // The temporary worktree is gone.
    assert_eq!(git(dir, &["worktree", "list"]).lines().count(), 1);
}

#[test]
fn reproduce_refuses_when_the_data_no_longer_matches() {
    python_available();
    // Data kept out of git, as with DVC: reproduce uses the current files.
    let project = common::example_project();
    let dir = project.path();
    std::fs::write(dir.join(".gitignore"), ".trainyard/\ndata/\n").unwrap();
    init_and_commit_all(dir);
    let first = run_json(trainyard().current_dir(dir).args(["train"]), 0);
    let id = output(&first, "run-id").to_owned();

    let data = dir.join("data/breast_cancer.csv");
    let mut text = std::fs::read_to_string(&data).unwrap();
    let last = text.lines().last().unwrap().to_owned();
    text.push_str(&last);
    text.push('\n');
    std::fs::write(&data, text).unwrap();

    let report = run_json(trainyard().current_dir(dir).args(["reproduce", &id]), 1);
    assert_eq!(report["findings"][0]["rule"], "reproduce/data-changed");
    assert!(
        report["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("dataset `biopsies` (`data/breast_cancer.csv`) no longer matches"),
        "{report:#}"
    );
}

#[test]
fn early_stop_rules_and_timeouts_are_checked_with_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("trainyard.yaml");
    std::fs::write(
        &manifest,
        "version: 1\nproject:\n  name: demo\ntrain:\n  command: [python3, train.py]\n  early-stop:\n    - { metric: loss, patience: 0 }\n",
    )
    .unwrap();
    refuses(
        dir.path(),
        &["config", "check"],
        2,
        "`patience` of `loss` must be at least 1",
    )
    .stderr(predicates::str::contains("trainyard.yaml:6"));
    std::fs::write(
        &manifest,
        "version: 1\nproject:\n  name: demo\ntrain:\n  command: [python3, train.py]\n  timeout: 10 minutes\n",
    )
    .unwrap();
    refuses(
        dir.path(),
        &["config", "check"],
        2,
        "`10 minutes` is not a duration",
    );
}

#[test]
fn a_command_that_is_not_installed_is_an_environment_error() {
    let project = fixture_repo("history.py", "  command: [no-such-trainer-xyz, train]\n");
    refuses(
        project.path(),
        &["train"],
        3,
        "`no-such-trainer-xyz` was not found",
    );
}

#[test]
fn a_failing_command_is_recorded_and_its_last_lines_shown() {
    let project = fixture_repo(
        "history.py",
        "  command: [python3, history.py, \"{{ output_dir }}\"]\n  metrics-file: history.csv\n",
    );
    // No `epochs` param: the script fails with a KeyError.
    let report = run_json(trainyard().current_dir(project.path()).arg("train"), 1);
    assert_eq!(output(&report, "outcome"), "failed");
    assert!(
        report["summary"]
            .as_str()
            .unwrap()
            .contains("KeyError: 'TRAINYARD_PARAM_EPOCHS'")
    );
    let run = recorded(project.path(), &report);
    assert_eq!(
        run.outcome,
        Outcome::Failed {
            reason: "the command exited with code 1".to_owned()
        }
    );
}

#[test]
#[cfg(unix)] // an executable script
fn a_relative_program_is_the_projects_whatever_the_working_folder() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("project");
    std::fs::create_dir(&dir).unwrap();
    let script = dir.join("train.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\necho \"trainyard:metric loss=0.5 step=1\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        dir.join("trainyard.yaml"),
        "version: 1\nproject:\n  name: demo\ntrain:\n  command: [./train.sh]\n",
    )
    .unwrap();
    std::fs::write(dir.join(".gitignore"), ".trainyard/\n").unwrap();
    init_and_commit_all(&dir);
    let report = run_json(
        trainyard().current_dir(parent.path()).args([
            "--manifest",
            "project/trainyard.yaml",
            "train",
        ]),
        0,
    );
    let run = recorded(&dir, &report);
    assert_eq!(run.metrics["loss"], 0.5);
    assert_eq!(run.command, ["./train.sh"]);
}

#[test]
fn on_azure_pipelines_a_ci_build_of_main_trains_fully_inside_a_log_group() {
    let project = example_repo();
    let dir = project.path();
    let assert = trainyard()
        .current_dir(dir)
        .arg("train")
        .env("TF_BUILD", "True")
        .env("BUILD_REASON", "IndividualCI")
        .env("BUILD_SOURCEBRANCH", "refs/heads/main")
        .env("AGENT_TEMPDIRECTORY", dir.join(".trainyard"))
        .assert()
        .code(0);
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    let start = stdout
        .find("##[group]train (full): python3 train.py")
        .expect(&stdout);
    let first = stdout.find("trainyard:metric loss=").expect(&stdout);
    let end = stdout.find("##[endgroup]").expect(&stdout);
    assert!(start < first && first < end, "{stdout}");
    let ledger = GitLedger::open(dir).unwrap();
    let run = ledger.runs().unwrap().pop().unwrap();
    assert_eq!(run.mode, RunMode::Full);
    assert_eq!(run.ci.host, "azure");
    assert_eq!(ledger.resolve(MODEL, "challenger").unwrap().run_id, run.id);
}

#[test]
fn reproduce_fails_when_the_metrics_differ() {
    let project = fixture_repo(
        "noisy.py",
        "  command: [python3, noisy.py, \"{{ output_dir }}\"]\n  metrics-file: metrics.json\n",
    );
    let dir = project.path();
    let first = run_json(trainyard().current_dir(dir).arg("train"), 0);
    let id = output(&first, "run-id");
    let report = run_json(
        trainyard()
            .current_dir(dir)
            .args(["reproduce", id, "--tolerance", "0.0001%"]),
        1,
    );
    assert_eq!(output(&report, "different"), "score");
    assert_eq!(report["findings"][0]["rule"], "reproduce/metric-differs");
    assert!(
        report["title"]
            .as_str()
            .unwrap()
            .contains("did not reproduce")
    );
}

#[test]
fn a_project_below_the_repository_root_trains_and_reproduces() {
    python_available();
    let repo = tempfile::tempdir().unwrap();
    common::copy_dir(
        &common::repo().join("examples/breast-cancer"),
        &repo.path().join("ml"),
    );
    std::fs::write(repo.path().join(".gitignore"), ".trainyard/\n").unwrap();
    init_and_commit_all(repo.path());
    let first = run_json(
        trainyard().current_dir(repo.path()).args([
            "--manifest",
            "ml/trainyard.yaml",
            "train",
            "--mode",
            "sample",
        ]),
        0,
    );
    let id = output(&first, "run-id");
    assert!(repo.path().join("ml/.trainyard/runs").join(id).is_dir());
    let report = run_json(
        trainyard().current_dir(repo.path()).args([
            "--manifest",
            "ml/trainyard.yaml",
            "reproduce",
            id,
            "--tolerance",
            "0.5%",
        ]),
        0,
    );
    assert_eq!(output(&report, "different"), "");
}

#[test]
fn the_training_command_does_not_inherit_the_ci_token() {
    let project = fixture_repo(
        "history.py",
        "  command: [sh, -c, \"echo token=${GITHUB_TOKEN:-absent} azure=${SYSTEM_ACCESSTOKEN:-absent} mode=$TRAINYARD_MODE\"]\n",
    );
    let assert = trainyard()
        .current_dir(project.path())
        .env("GITHUB_TOKEN", "ghs_secret")
        .env("SYSTEM_ACCESSTOKEN", "azure_secret")
        .args(["train", "--mode", "sample"])
        .assert()
        .code(0);
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout);
    assert!(
        stdout.contains("token=absent azure=absent mode=sample"),
        "{stdout}"
    );
    assert!(!stdout.contains("secret"), "{stdout}");
}

#[test]
fn no_credential_trainyard_knows_reaches_the_training_command_in_any_spelling() {
    let project = fixture_repo("history.py", "  command: [env]\n");
    let mut command = trainyard();
    command
        .current_dir(project.path())
        .args(["train", "--mode", "sample"]);
    // Each variable of the one list, and the spellings runners export.
    for name in trainyard_ci::CREDENTIAL_VARIABLES.iter().copied().chain([
        "input_github-token",
        "System.AccessToken",
        "Input_GitHub_Token",
        "mlflow_tracking_token",
        "Mlflow_Tracking_Password",
    ]) {
        command.env(name, format!("SECRET_{}", name.len()));
    }
    // Cloud credentials for data stay: the training reads its data with them (docs/security.md).
    command.env("AWS_ACCESS_KEY_ID", "data-key-reaches");
    let assert = command.assert().code(0);
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout);
    assert!(
        stdout.contains("TRAINYARD_MODE=sample"),
        "the environment was printed: {stdout}"
    );
    assert!(!stdout.contains("SECRET_"), "{stdout}");
    assert!(
        stdout.contains("AWS_ACCESS_KEY_ID=data-key-reaches"),
        "{stdout}"
    );
}
