//! Shared helpers for the end-to-end tests of the `trainyard` binary.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot set up should stop loudly
#![allow(dead_code)] // each test file uses a different subset

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
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if AMBIENT_NAMES.contains(&name.as_ref())
            || AMBIENT_PREFIXES
                .iter()
                .any(|prefix| name.starts_with(prefix))
        {
            command.env_remove(name.as_ref());
        }
    }
    command
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
