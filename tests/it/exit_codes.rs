//! One exit code and one message per cause, whichever step meets it (issue
//! 15, item 7): outside a git repository, a dataset path that matches
//! nothing, an empty registry, and a reader that closes stdout early. Each
//! is run with the real binary over every step it concerns.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Stdio;

use crate::common;

use common::{example_project, trainyard};

/// The binary as a `std::process::Command` (to hand it a pipe for stdout),
/// with the CI variables of the machine running the tests removed.
fn std_trainyard() -> std::process::Command {
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("trainyard"));
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if [
            "GITHUB_",
            "RUNNER_",
            "SYSTEM_",
            "BUILD_",
            "AGENT_",
            "TRAINYARD_",
            "INPUT_",
        ]
        .iter()
        .any(|prefix| name.starts_with(prefix))
            || ["TF_BUILD", "CI"].contains(&name.as_ref())
        {
            command.env_remove(name.as_ref());
        }
    }
    command
}

/// The output of `trainyard ARGS` in `dir`: exit code and stderr.
fn run(dir: &Path, args: &[&str]) -> (i32, String) {
    let output = trainyard()
        .current_dir(dir)
        // No repository above the temporary folder is ever found.
        .env("GIT_CEILING_DIRECTORIES", dir.parent().unwrap())
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `gate`, `status` and `promote` once exited 3 with libgit2's raw text
/// ("could not find repository at '.'; class=Repository (6)").
#[test]
fn outside_a_git_repository_every_step_exits_2_with_the_git_init_hint() {
    let project = example_project();
    let steps: &[&[&str]] = &[
        &["gate", "--env", "staging"],
        &["status"],
        &["promote", "--env", "staging", "--direct"],
        &["rollback", "--env", "staging", "--reason", "r", "--direct"],
        &["compare"],
        &["train"],
        &["reproduce", "20261101T100000.000Z-aaaaaa"],
        &["runs", "list"],
        &["model", "list"],
        &["model", "get", "breast-cancer-classifier@champion"],
        &["ledger", "pull"],
    ];
    for args in steps {
        let (code, stderr) = run(project.path(), args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(
            stderr.contains("is not inside a git repository; run `git init` there"),
            "{args:?}: {stderr}"
        );
        assert!(
            !stderr.contains("class="),
            "{args:?}: libgit2's text: {stderr}"
        );
    }
}

/// Each data step and `train` once said something else (exit 2 without a
/// line, exit 3 "no such file or folder", exit 3 "matches no files").
#[test]
fn a_dataset_path_that_matches_nothing_is_one_error_at_its_line_in_every_step() {
    for path in ["data/missing.csv", "data/*.parquet"] {
        let project = example_project();
        let manifest = project.path().join("trainyard.yaml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        std::fs::write(
            &manifest,
            text.replace("path: data/breast_cancer.csv", &format!("path: {path}")),
        )
        .unwrap();
        trainyard_testkit::git::init_and_commit_all(project.path());
        let expected = format!("trainyard.yaml:12:5: dataset `biopsies`: `{path}` matches no file");
        let steps: &[&[&str]] = &[
            &["data", "validate"],
            &["data", "fingerprint"],
            &["data", "sample", "biopsies"],
            &[
                "data",
                "drift",
                "--reference",
                "biopsies",
                "--current",
                "biopsies",
            ],
            &["data", "infer-schema", "biopsies"],
            &["train"],
            &["train", "--mode", "sample"],
        ];
        for args in steps {
            let (code, stderr) = run(project.path(), args);
            assert_eq!(code, 2, "{args:?}: {stderr}");
            assert!(stderr.contains(&expected), "{args:?}: {stderr}");
        }
    }
}

/// A fresh clone has no model yet: say how one gets there.
#[test]
fn an_empty_registry_says_to_train_on_the_default_branch_or_pull_the_ledger() {
    let project = example_project();
    trainyard_testkit::git::init_and_commit_all(project.path());
    let steps: &[&[&str]] = &[
        &["gate", "--env", "staging"],
        &["promote", "--env", "staging", "--direct"],
        &["model", "get", "breast-cancer-classifier@champion"],
        &["model", "show", "breast-cancer-classifier"],
        &["compare"],
    ];
    for args in steps {
        let (code, stderr) = run(project.path(), args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(
            stderr.contains("`trainyard ledger pull`"),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("`trainyard train`"), "{args:?}: {stderr}");
    }
}

/// `trainyard … | head -1`: the reader is gone before the report is written.
/// The step's own exit code stands (it once became 3 with "could not write
/// the step's output: Broken pipe"), and nothing panics.
#[test]
fn a_closed_stdout_ends_quietly_with_the_steps_own_exit_code() {
    let project = example_project();
    trainyard_testkit::git::init_and_commit_all(project.path());
    let cases: &[(&[&str], i32)] = &[
        (&["config", "check"], 0),
        (&["data", "validate"], 0),
        (&["config", "schema"], 0),
        (&["--format", "json", "config", "check"], 0),
        (&["gate", "--env", "nowhere"], 2),
    ];
    for (args, expected) in cases {
        let (reader, writer) = std::io::pipe().unwrap();
        // Closed before the child starts: every write gets EPIPE.
        drop(reader);
        let output = std_trainyard()
            .current_dir(project.path())
            .args(*args)
            .stdout(Stdio::from(writer))
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(*expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("could not write"), "{args:?}: {stderr}");
    }
}
