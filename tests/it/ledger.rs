//! `trainyard ledger push|pull`, `runs list|show` and `model list|show|alias|tag`
//! against real git repositories (and a bare remote) built by the tests.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{run_json, trainyard, trainyard_stderr};
use pretty_assertions::assert_eq;
use serde_json::Value;
use trainyard_ledger::{
    ArtifactRef, CiInfo, GitInfo, GitLedger, Ledger, Outcome, RunId, RunMode, RunRecord,
};
use trainyard_testkit::git::git_as_configured;

/// A project repository with one commit.
pub(crate) fn project(parent: &Path, name: &str) -> PathBuf {
    let dir = parent.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    git_as_configured(&dir, &["init", "-q", "-b", "main"]);
    git_as_configured(&dir, &["config", "user.name", "Ada Lovelace"]);
    git_as_configured(&dir, &["config", "user.email", "ada@example.com"]);
    std::fs::write(dir.join("trainyard.yaml"), "project: demo\n").unwrap();
    git_as_configured(&dir, &["add", "trainyard.yaml"]);
    git_as_configured(&dir, &["commit", "-q", "-m", "initial"]);
    dir
}

/// A run with a fixed id and time, so reports are stable.
pub(crate) fn recorded_run(n: u32, outcome: Outcome) -> RunRecord {
    RunRecord {
        id: RunId::parse(&format!("20261125T1{n}0000.000Z-00000{n}")).unwrap(),
        project: "demo".to_owned(),
        mode: if n == 1 {
            RunMode::Sample
        } else {
            RunMode::Full
        },
        command: vec!["python".to_owned(), "train.py".to_owned()],
        params: BTreeMap::from([("C".to_owned(), serde_json::json!(1.0))]),
        metrics: BTreeMap::from([
            ("accuracy".to_owned(), 0.9 + f64::from(n) / 100.0),
            ("f1".to_owned(), 0.88 + f64::from(n) / 100.0),
        ]),
        series: BTreeMap::from([(
            "loss".to_owned(),
            vec![(1, 0.7), (2, 0.4), (3, 0.2 + f64::from(n) / 100.0)],
        )]),
        datasets: BTreeMap::from([("cancer".to_owned(), "ab".repeat(32))]),
        git: GitInfo {
            commit: format!("{n}").repeat(40),
            branch: Some("main".to_owned()),
            dirty: false,
        },
        ci: CiInfo {
            host: "github".to_owned(),
            event: Some(if n == 1 { "pull_request" } else { "push" }.to_owned()),
            url: Some(format!("https://github.com/o/r/actions/runs/{n}")),
        },
        tools: BTreeMap::from([("python".to_owned(), "3.12.3".to_owned())]),
        started_at: format!("2026-11-25T1{n}:00:00Z").parse().unwrap(),
        duration: Duration::from_millis(12_300 * u64::from(n)),
        outcome,
        artifacts: vec![artifact(n)],
        store: None,
        model_uri: None,
    }
}

pub(crate) fn artifact(n: u32) -> ArtifactRef {
    ArtifactRef {
        path: "model/model.joblib".to_owned(),
        digest: format!("{n}").repeat(64),
        size: 2048 + u64::from(n),
    }
}

/// A project whose ledger holds three runs and two versions of `classifier`.
fn project_with_runs(parent: &Path) -> PathBuf {
    let dir = project(parent, "p");
    let ledger = GitLedger::open(&dir).unwrap();
    let runs = [
        recorded_run(1, Outcome::Succeeded),
        recorded_run(2, Outcome::Succeeded),
        recorded_run(
            3,
            Outcome::Stopped {
                reason: "loss is NaN at step 3".to_owned(),
            },
        ),
    ];
    for run in &runs {
        ledger.append_run(run).unwrap();
    }
    ledger
        .register("classifier", &runs[0].id, &artifact(1))
        .unwrap();
    ledger
        .register("classifier", &runs[1].id, &artifact(2))
        .unwrap();
    dir
}

fn json_of(dir: &Path, args: &[&str]) -> Value {
    run_json(trainyard().current_dir(dir).args(args), 0)
}

/// Times of registrations and alias moves are "now": masked in snapshots.
const TIME_FILTER: (&str, &str) = (r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})? UTC", "[time]");

#[test]
fn runs_list_shows_the_newest_first_and_json_gives_the_records() {
    let temp = tempfile::tempdir().unwrap();
    let dir = project_with_runs(temp.path());

    let report = json_of(&dir, &["runs", "list", "--limit", "2"]);
    assert_eq!(report["title"], "the newest 2 of 3 recorded runs");
    assert_eq!(
        report["outputs"]["latest-run"],
        "20261125T130000.000Z-000003"
    );
    let ids: Vec<&str> = report["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|run| run["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["20261125T130000.000Z-000003", "20261125T120000.000Z-000002"]
    );
    assert_eq!(report["data"][0]["outcome"]["status"], "stopped");
    insta::assert_snapshot!(report["summary"].as_str().unwrap());

    // Text for people: the title and the table.
    let text = trainyard()
        .current_dir(&dir)
        .args(["runs", "list"])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&text.get_output().stdout).into_owned();
    assert!(stdout.contains("3 recorded run(s)"), "{stdout}");
}

#[test]
fn runs_show_finds_a_run_by_a_prefix_of_its_id() {
    let temp = tempfile::tempdir().unwrap();
    let dir = project_with_runs(temp.path());
    let report = json_of(&dir, &["runs", "show", "20261125T12"]);
    assert_eq!(report["conclusion"], "success");
    let expected = serde_json::to_value(recorded_run(2, Outcome::Succeeded)).unwrap();
    assert_eq!(report["data"], expected);
    insta::assert_snapshot!(report["summary"].as_str().unwrap());

    // A stopped run is shown, not failed.
    let stopped = json_of(&dir, &["runs", "show", "20261125T13"]);
    assert_eq!(stopped["conclusion"], "neutral");
}

#[test]
fn an_unknown_or_ambiguous_run_is_a_usage_error_that_says_what_to_do() {
    let temp = tempfile::tempdir().unwrap();
    let dir = project_with_runs(temp.path());
    let stderr = trainyard_stderr(&dir, &["runs", "show", "1999"], 2);
    assert!(stderr.contains("no run `1999`"), "{stderr}");
    assert!(stderr.contains("trainyard runs list"), "{stderr}");

    let stderr = trainyard_stderr(&dir, &["runs", "show", "20261125"], 2);
    assert!(stderr.contains("matches 3 runs"), "{stderr}");
}

#[test]
fn outside_a_git_repository_the_ledger_steps_say_so() {
    let temp = tempfile::tempdir().unwrap();
    let stderr = trainyard_stderr(temp.path(), &["runs", "list"], 2);
    assert!(
        stderr.contains("is not inside a git repository"),
        "{stderr}"
    );
    assert!(stderr.contains("git init"), "{stderr}");
}

#[test]
fn model_alias_and_tag_record_who_when_and_why_and_show_reflects_them() {
    let temp = tempfile::tempdir().unwrap();
    let dir = project_with_runs(temp.path());

    let moved = trainyard()
        .current_dir(&dir)
        .env("GITHUB_ACTOR", "octocat")
        .args([
            "--format",
            "json",
            "model",
            "alias",
            "classifier",
            "v1",
            "champion",
        ])
        .args(["--reason", "first model in production"])
        .output()
        .unwrap();
    assert!(
        moved.status.success(),
        "{}",
        String::from_utf8_lossy(&moved.stderr)
    );
    let moved: Value = serde_json::from_slice(&moved.stdout).unwrap();
    assert_eq!(moved["data"]["actor"], "octocat");
    assert_eq!(moved["title"], "classifier@champion → v1 (new alias)");

    // Without a CI actor, git's user is recorded.
    let promoted = json_of(
        &dir,
        &[
            "model",
            "alias",
            "classifier",
            "2",
            "champion",
            "--reason",
            "better f1",
        ],
    );
    assert_eq!(promoted["data"]["actor"], "Ada Lovelace <ada@example.com>");
    assert_eq!(promoted["data"]["previous"], 1);

    let tagged = json_of(
        &dir,
        &[
            "model",
            "tag",
            "classifier@champion",
            "reviewed=yes",
            "owner=team-a",
            "--reason",
            "model card",
        ],
    );
    assert_eq!(tagged["title"], "tagged classifier v2 (2 tag(s))");

    let shown = json_of(&dir, &["model", "show", "classifier@champion"]);
    assert_eq!(shown["data"]["version"]["version"], 2);
    assert_eq!(shown["data"]["version"]["tags"]["owner"], "team-a");
    assert_eq!(shown["outputs"]["digest"], artifact(2).digest);
    insta::with_settings!({filters => vec![TIME_FILTER]}, {
        insta::assert_snapshot!("model_show_version", shown["summary"].as_str().unwrap());
    });

    let all = json_of(&dir, &["model", "show", "classifier"]);
    assert_eq!(all["data"]["alias_history"].as_array().unwrap().len(), 2);
    insta::with_settings!({filters => vec![TIME_FILTER]}, {
        insta::assert_snapshot!("model_show", all["summary"].as_str().unwrap());
    });

    let list = json_of(&dir, &["model", "list"]);
    assert_eq!(list["data"]["classifier"]["aliases"]["champion"], 2);
    insta::assert_snapshot!("model_list", list["summary"].as_str().unwrap());
}

#[test]
fn model_commands_refuse_bad_input_with_exit_2() {
    let temp = tempfile::tempdir().unwrap();
    let dir = project_with_runs(temp.path());
    let cases: [(&[&str], &str); 5] = [
        (
            &["model", "show", "classifier@v9"],
            "has no version or alias `v9` (known: 1, 2)",
        ),
        (
            &["model", "show", "regressor"],
            "no model `regressor` in the registry (known: classifier)",
        ),
        (
            &[
                "model",
                "alias",
                "classifier",
                "1",
                "champion",
                "--reason",
                " ",
            ],
            "`--reason` is empty",
        ),
        (
            &["model", "tag", "classifier", "a=b"],
            "names no version: write NAME@VERSION",
        ),
        (
            &["model", "tag", "classifier@1", "oops"],
            "`oops` is not a tag: write key=value",
        ),
    ];
    for (args, message) in cases {
        let stderr = trainyard_stderr(&dir, args, 2);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}

#[test]
fn ledger_push_then_pull_in_a_shallow_clone_gives_the_same_runs_and_registry() {
    let temp = tempfile::tempdir().unwrap();
    let dir = project_with_runs(temp.path());
    let remote = temp.path().join("remote.git");
    git_as_configured(
        temp.path(),
        &["init", "-q", "--bare", remote.to_str().unwrap()],
    );
    let url = format!("file://{}", remote.display());
    git_as_configured(&dir, &["remote", "add", "origin", &url]);
    git_as_configured(&dir, &["push", "-q", "origin", "main"]);

    let pushed = json_of(&dir, &["ledger", "push"]);
    assert_eq!(pushed["title"], "pushed 2 ledger ref(s) to origin");
    assert_eq!(
        pushed["outputs"]["runs-tip"].as_str().unwrap(),
        git_as_configured(&dir, &["rev-parse", "refs/trainyard/runs"])
    );
    let again = json_of(&dir, &["ledger", "push"]);
    assert_eq!(again["title"], "the ledger on origin is up to date");

    let clone = temp.path().join("ci");
    git_as_configured(
        temp.path(),
        &["clone", "-q", "--depth", "1", &url, clone.to_str().unwrap()],
    );
    let pulled = json_of(&clone, &["ledger", "pull", "--remote", "origin"]);
    assert_eq!(pulled["title"], "pulled 2 ledger ref(s) from origin");
    for args in [
        &["runs", "list"][..],
        &["runs", "show", "20261125T11"][..],
        &["model", "show", "classifier@latest"][..],
    ] {
        assert_eq!(
            json_of(&clone, args)["data"],
            json_of(&dir, args)["data"],
            "{args:?}"
        );
    }
}

#[test]
fn ledger_push_to_a_missing_remote_is_an_environment_error_with_gits_message() {
    let temp = tempfile::tempdir().unwrap();
    let dir = project_with_runs(temp.path());
    let stderr = trainyard_stderr(&dir, &["ledger", "push", "--remote", "nowhere"], 3);
    assert!(stderr.contains("git fetch"), "{stderr}");
    assert!(
        stderr.contains("'nowhere' does not appear to be a git repository"),
        "{stderr}"
    );
}

/// Flags and environment variables that make a run one host's.
type Host<'a> = (&'a [&'a str], &'a [(&'a str, &'a Path)]);

/// A token in the remote's URL, as CI scripts write it.
const TOKEN_URL: &str = "https://x-access-token:ghs_TOKEN1234@github.com/acme/churn.git";

/// Every channel `trainyard <args>` shows in `dir`: stdout and stderr as a
/// terminal, JSON, GitHub Actions (annotations, outputs, job summary) and Azure
/// Pipelines (`##vso` issues, outputs, the summary file), with its exit codes.
fn every_channel(dir: &Path, args: &[&str]) -> (String, Vec<i32>) {
    let ci = tempfile::tempdir().unwrap();
    let summary = ci.path().join("summary.md");
    let outputs = ci.path().join("outputs");
    let hosts: [Host<'_>; 4] = [
        (&[], &[]),
        (&["--format", "json"], &[]),
        (
            &[],
            &[
                ("GITHUB_ACTIONS", Path::new("true")),
                ("GITHUB_STEP_SUMMARY", &summary),
                ("GITHUB_OUTPUT", &outputs),
            ],
        ),
        (
            &[],
            &[
                ("TF_BUILD", Path::new("True")),
                ("AGENT_TEMPDIRECTORY", ci.path()),
            ],
        ),
    ];
    let mut shown = String::new();
    let mut codes = Vec::new();
    for (format, env) in hosts {
        let mut command = trainyard();
        command.current_dir(dir).args(format).args(args);
        for (name, value) in env {
            command.env(name, value);
        }
        let output = command.output().unwrap();
        codes.push(output.status.code().unwrap());
        shown.push_str(&String::from_utf8_lossy(&output.stdout));
        shown.push_str(&String::from_utf8_lossy(&output.stderr));
    }
    for entry in std::fs::read_dir(ci.path()).unwrap() {
        shown.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default());
    }
    (shown, codes)
}

#[test]
fn a_token_in_the_remote_s_url_is_shown_in_no_channel() {
    let temp = tempfile::tempdir().unwrap();
    let dir = project_with_runs(temp.path());

    // Git fails (nothing listens there): the error repeats the URL in every channel.
    let unreachable = "https://x-access-token:ghs_TOKEN1234@127.0.0.1:9/acme/churn.git";
    let (shown, codes) = every_channel(&dir, &["ledger", "push", "--remote", unreachable]);
    assert_eq!(codes, [3, 3, 3, 3], "{shown}");
    assert!(!shown.contains("TOKEN1234"), "{shown}");
    assert!(
        shown.contains("https://***@127.0.0.1:9/acme/churn.git"),
        "{shown}"
    );
    assert!(shown.contains("##vso[task.logissue"), "{shown}");
    assert!(shown.contains("::error"), "{shown}");

    // A push that succeeds (git rewrites the URL to a local bare repository):
    // the title, the data and the outputs name the remote without its token.
    let remote = temp.path().join("remote.git");
    git_as_configured(
        temp.path(),
        &["init", "-q", "--bare", remote.to_str().unwrap()],
    );
    git_as_configured(
        &dir,
        &[
            "config",
            &format!("url.file://{}.insteadOf", remote.display()),
            TOKEN_URL,
        ],
    );
    let (shown, codes) = every_channel(&dir, &["ledger", "push", "--remote", TOKEN_URL]);
    assert_eq!(codes, [0, 0, 0, 0], "{shown}");
    assert!(!shown.contains("TOKEN1234"), "{shown}");
    assert!(
        shown.contains("pushed 2 ledger ref(s) to https://***@github.com/acme/churn.git"),
        "{shown}"
    );
    assert!(
        shown.contains("the ledger on https://***@github.com/acme/churn.git is up to date"),
        "{shown}"
    );
}
