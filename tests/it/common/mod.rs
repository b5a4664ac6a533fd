//! Shared helpers for the end-to-end tests of the `trainyard` binary. Git
//! fixtures go through `trainyard_testkit::git`, the workspace's one git helper.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot set up should stop loudly

pub mod act;
pub mod gate_fixture;

use std::path::{Path, PathBuf};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Variables of the CI system the tests themselves may run under; a child
/// that saw them would believe it runs in that CI.
const AMBIENT_PREFIXES: &[&str] = &[
    "GITHUB_",
    "RUNNER_",
    "ACTIONS_",
    "SYSTEM_",
    "BUILD_",
    "AGENT_",
    "RELEASE_",
    "TRAINYARD_",
    "INPUT_",
];
const AMBIENT_NAMES: &[&str] = &[
    "TF_BUILD",
    "CI",
    "NO_COLOR",
    "CLICOLOR",
    "CLICOLOR_FORCE",
    "TERM",
];

/// The binary with ambient CI variables scrubbed from its environment.
pub fn trainyard() -> assert_cmd::Command {
    let mut command =
        assert_cmd::Command::cargo_bin("trainyard").expect("the trainyard binary is built");
    for name in ambient_ci_variables() {
        command.env_remove(name);
    }
    command
}

/// The binary as a plain `std::process::Command` (to start it in the
/// background, signal it, time it), ambient CI variables scrubbed.
pub fn trainyard_process() -> std::process::Command {
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("trainyard"));
    without_ambient_ci(&mut command);
    command
}

/// `command` (another program that runs trainyard, e.g. node running an
/// Azure DevOps task) with ambient CI variables scrubbed from its environment.
pub fn without_ambient_ci(command: &mut std::process::Command) -> &mut std::process::Command {
    for name in ambient_ci_variables() {
        command.env_remove(name);
    }
    command
}

fn ambient_ci_variables() -> Vec<String> {
    std::env::vars_os()
        .map(|(name, _)| name.to_string_lossy().into_owned())
        .filter(|name| {
            AMBIENT_NAMES.contains(&name.as_str())
                || AMBIENT_PREFIXES
                    .iter()
                    .any(|prefix| name.starts_with(prefix))
        })
        .collect()
}

/// A copy of the bundled example project in a fresh temporary folder.
pub fn example_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    copy_dir(&repo().join("examples/breast-cancer"), dir.path());
    dir
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Where the test tools installed by `.ci/test` live.
pub fn support(path: &str) -> PathBuf {
    let root = repo().join("tests/support/node_modules");
    assert!(
        root.is_dir(),
        "tests/support/node_modules is missing: run `.ci/test` (or `npm ci --prefix tests/support`) first"
    );
    root.join(path)
}

/// A real GitHub webhook payload from @octokit/webhooks-examples: the first
/// example of `event` for which `pick` is true.
pub fn webhook(event: &str, pick: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let index = support("@octokit/webhooks-examples/api.github.com/index.json");
    let all: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(index).unwrap()).unwrap();
    all.iter()
        .filter(|entry| entry["name"] == event)
        .flat_map(|entry| entry["examples"].as_array().unwrap().iter())
        .find(|example| pick(example))
        .unwrap_or_else(|| panic!("no {event} example matches"))
        .clone()
}

/// `payload` written to `dir/<event>.event.json`, and the variables GitHub
/// Actions sets for a step that `event` triggered.
pub fn github_event(
    command: &mut assert_cmd::Command,
    dir: &Path,
    event: &str,
    payload: &serde_json::Value,
) {
    let path = dir.join(format!("{event}.event.json"));
    std::fs::write(&path, serde_json::to_vec(payload).unwrap()).unwrap();
    command
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", event)
        .env("GITHUB_EVENT_PATH", &path);
}

/// Runs `trainyard <args>` in `dir`, expecting exit `code` (assert_cmd shows
/// both streams if not): its stderr, where usage and environment errors go.
pub fn trainyard_stderr(dir: &Path, args: &[&str], code: i32) -> String {
    let assert = trainyard().current_dir(dir).args(args).assert().code(code);
    String::from_utf8_lossy(&assert.get_output().stderr).into_owned()
}

/// The one JSON document a run of the binary printed; fails the test naming
/// the run (`what`) and showing its stdout and stderr if stdout is not exactly one.
pub fn json_document(output: &std::process::Output, what: &str) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "{what}: not one JSON document ({error}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// Runs `trainyard --format json <args>` in `dir`: its exit code and its JSON report.
pub fn trainyard_json(dir: &Path, args: &[&str]) -> (i32, serde_json::Value) {
    let output = trainyard()
        .current_dir(dir)
        .args(["--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let report = json_document(&output, &format!("trainyard {args:?}"));
    (output.status.code().expect("trainyard exited"), report)
}

/// Runs `command` with `--format json`, expecting exit `code` (assert_cmd shows
/// both streams if not): its JSON report.
pub fn run_json(command: &mut assert_cmd::Command, code: i32) -> serde_json::Value {
    let what = format!("{command:?}");
    let assert = command.args(["--format", "json"]).assert().code(code);
    json_document(assert.get_output(), &what)
}

/// The string output `name` of a JSON report; fails the test showing the report if absent.
pub fn output<'a>(report: &'a serde_json::Value, name: &str) -> &'a str {
    report["outputs"][name]
        .as_str()
        .unwrap_or_else(|| panic!("no output `{name}` in {report:#}"))
}

/// Each deployment of an environment's `history` as (version, kind), oldest first.
pub fn versions_and_kinds(
    history: &[trainyard_ledger::Deployment],
) -> Vec<(u64, trainyard_ledger::DeploymentKind)> {
    history
        .iter()
        .map(|entry| (entry.version, entry.kind))
        .collect()
}

/// A row of a gate verdict as `gate_fixture::rules` lists it:
/// `(rule, subject, observed, required, passed)`.
pub fn verdict_rule(
    rule: &str,
    subject: &str,
    observed: &str,
    required: &str,
    passed: bool,
) -> (String, String, String, String, bool) {
    (
        rule.to_owned(),
        subject.to_owned(),
        observed.to_owned(),
        required.to_owned(),
        passed,
    )
}

/// Every ```mermaid block of `markdown` (at least one) is an xychart by
/// mermaid's own parser (tests/support/node_modules, in jsdom since mermaid
/// wants a DOM).
pub fn assert_mermaid_xycharts_parse(markdown: &str) {
    const PARSE: &str = r"
        import { JSDOM } from 'jsdom';
        const dom = new JSDOM('<!doctype html><html><body></body></html>');
        globalThis.window = dom.window;
        globalThis.document = dom.window.document;
        const { default: mermaid } = await import('mermaid');
        for (const block of JSON.parse(process.env.CHARTS)) {
          const parsed = await mermaid.parse(block);
          console.log(parsed.diagramType);
        }
    ";
    let charts: Vec<&str> = markdown
        .split("```mermaid\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap())
        .collect();
    assert!(!charts.is_empty(), "no chart in:\n{markdown}");
    let node_modules = support("mermaid").parent().unwrap().to_owned();
    let output = std::process::Command::new("node")
        .args(["--input-type=module", "--eval", PARSE])
        .current_dir(node_modules.parent().unwrap())
        .env("CHARTS", serde_json::to_string(&charts).unwrap())
        .output()
        .expect("node runs (`.ci/test` needs Node.js for tests/support)");
    assert!(
        output.status.success(),
        "mermaid rejects a chart: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let kinds = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        kinds.lines().collect::<Vec<_>>(),
        vec!["xychart"; charts.len()],
        "{kinds}"
    );
}
