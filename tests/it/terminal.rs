//! What a person sees in a terminal (issue 15, item 13): aligned tables,
//! failures first and in full, passing rows counted in one line (all of them
//! with `--verbose`), no Markdown, HTML or mermaid; colour only when asked and
//! never with `NO_COLOR`. And `--format json` of `train` as values (item 10).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use crate::common;

use common::{run_json, trainyard};

/// The example project with the mistakes real data has in a copy of its
/// data (as quickstart plants them): a negative radius, a misspelt class, a
/// row that lost a field.
fn example_with_broken_copy() -> tempfile::TempDir {
    let dir = common::example_project();
    let text = std::fs::read_to_string(dir.path().join("data/breast_cancer.csv")).unwrap();
    let broken: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(index, line)| match index {
            3 => line.replacen(|c: char| c.is_ascii_digit(), "-", 1),
            10 => line
                .replace("malignant", "malignent")
                .replace("benign", "benihn"),
            20 => line.rsplit_once(',').unwrap().0.to_owned(),
            _ => line.to_owned(),
        })
        .collect();
    std::fs::write(dir.path().join("data/broken.csv"), broken.join("\n") + "\n").unwrap();
    dir
}

/// The step's stdout in a terminal (no TTY here: no colour unless asked).
fn text(dir: &Path, args: &[&str], code: i32) -> String {
    let assert = trainyard().current_dir(dir).args(args).assert().code(code);
    String::from_utf8(assert.get_output().stdout.clone()).unwrap()
}

fn no_markup(text: &str) {
    for raw in [
        "<details", "<summary", "```", "mermaid", "|---", "| ", "**", "[!NOTE]",
    ] {
        assert!(!text.contains(raw), "{raw:?} in\n{text}");
    }
}

/// A broken copy validated as a dataset: the failed checks first, the 26
/// that passed in one line; with `--verbose`, every check and every output.
#[test]
fn data_validate_shows_failures_and_counts_what_passed() {
    let dir = example_with_broken_copy();
    let manifest = std::fs::read_to_string(dir.path().join("trainyard.yaml")).unwrap();
    std::fs::write(
        dir.path().join("trainyard.yaml"),
        manifest.replace("data/breast_cancer.csv", "data/broken.csv"),
    )
    .unwrap();
    let shown = text(dir.path(), &["data", "validate"], 1);
    no_markup(&shown);
    insta::assert_snapshot!("data_validate_failing", shown);

    let verbose = text(dir.path(), &["data", "validate", "--verbose"], 1);
    assert!(verbose.contains("✔  mean_radius: <= 50"), "{verbose}");
    assert!(verbose.contains("conclusion = failure"), "{verbose}");
    let by_variable = trainyard()
        .current_dir(dir.path())
        .env("TRAINYARD_VERBOSE", "true")
        .args(["data", "validate"])
        .assert()
        .code(1);
    assert_eq!(by_variable.get_output().stdout, verbose.as_bytes());
}

#[test]
fn data_validate_that_passes_is_a_few_lines() {
    let dir = common::example_project();
    let shown = text(dir.path(), &["data", "validate"], 0);
    insta::assert_snapshot!("data_validate_passing", shown);
}

#[test]
fn drift_shows_the_drifted_columns_and_counts_the_others() {
    let dir = example_with_broken_copy();
    let shown = text(
        dir.path(),
        &[
            "data",
            "drift",
            "--reference",
            "biopsies",
            "--current",
            "data/broken.csv",
        ],
        1,
    );
    no_markup(&shown);
    insta::assert_snapshot!("data_drift", shown);
}

/// A run worse than the champion: the metrics that moved, the history as
/// one line per metric instead of mermaid.
#[test]
fn compare_shows_the_regressions_and_the_history_as_sparklines() {
    let project = crate::train_compare::project();
    crate::train_compare::history(project.path());
    let shown = text(
        project.path(),
        &["compare", "20261101T100000.000Z-aaaaaa"],
        0,
    );
    no_markup(&shown);
    insta::assert_snapshot!("compare", shown);
}

/// Colour only when asked: never through a pipe by default, with
/// `CLICOLOR_FORCE` (as a TTY would), `--color always` or `TRAINYARD_COLOR`,
/// and never with `NO_COLOR` unless the flag says so.
#[test]
fn colour_only_when_asked_and_never_with_no_color() {
    let dir = example_with_broken_copy();
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut command = trainyard();
        command
            .current_dir(dir.path())
            .args([
                "data",
                "drift",
                "--reference",
                "biopsies",
                "--current",
                "data/broken.csv",
            ])
            .args(args);
        for (name, value) in env {
            command.env(name, value);
        }
        let output = command.output().unwrap();
        String::from_utf8(output.stdout).unwrap().contains('\u{1b}')
    };
    assert!(!run(&[], &[]), "a pipe gets no colour");
    assert!(run(&[], &[("CLICOLOR_FORCE", "1")]));
    assert!(!run(&[], &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]));
    assert!(!run(&[], &[("NO_COLOR", "1")]));
    assert!(run(&["--color", "always"], &[]));
    assert!(run(&[], &[("TRAINYARD_COLOR", "always")]));
    assert!(!run(&["--color", "never"], &[("CLICOLOR_FORCE", "1")]));
}

/// A terminal `train` in a git repository: its metrics and datasets as
/// aligned tables; `--format json` gives each metric as a number.
#[test]
fn train_in_a_terminal_and_as_json_values() {
    let dir = common::example_project();
    std::fs::write(dir.path().join(".gitignore"), ".trainyard/\nout/\n").unwrap();
    trainyard_testkit::git::init_and_commit_all(dir.path());
    let shown = text(dir.path(), &["train"], 0);
    // The report, after the training command's live lines.
    let shown = &shown[shown.find("✔ train").unwrap()..];
    no_markup(shown);
    insta::with_settings!({filters => vec![
        (r"\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{6}", "[run]"),
        (r"\d+\.\d s", "[duration]"),
        (r"\.trainyard/runs/\S*/out", "[out]"),
        (r"[0-9a-f]{12}", "[digest]"),
        (r"branch \w+", "branch [branch]"),
    ]}, {
        insta::assert_snapshot!("train", shown);
    });

    let report = run_json(trainyard().current_dir(dir.path()).arg("train"), 0);
    let data = &report["data"];
    assert_eq!(data["mode"], "full");
    assert_eq!(data["outcome"], "succeeded");
    let metrics = data["metrics"].as_array().unwrap();
    let accuracy = metrics
        .iter()
        .find(|metric| metric["metric"] == "accuracy")
        .unwrap();
    assert!(accuracy["value"].as_f64().unwrap() > 0.9, "{data:#}");
    assert_eq!(accuracy["direction"], "maximize");
    assert_eq!(
        accuracy["value"].as_f64().unwrap().to_string(),
        report["outputs"]["metric-accuracy"].as_str().unwrap()
    );
    assert_eq!(data["datasets"][0]["dataset"], "biopsies");
    assert_eq!(data["datasets"][0]["sample-rows"], serde_json::Value::Null);
    assert_eq!(data["datasets"][0]["digest"].as_str().unwrap().len(), 64);
}
