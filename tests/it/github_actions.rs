//! The composite actions as files: inputs reach scripts only through `env:`,
//! every output is wired to the step that sets it, docs/github-action.md
//! documents every input and output; and action/install.sh, run for real:
//! a trainyard on PATH wins, a pinned release is checked against its sha256
//! (served from 127.0.0.1), a mismatch installs nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_yaml_ng::Value;

fn actions() -> Vec<(String, PathBuf)> {
    let mut all = vec![(
        "trainyard/trainyard".to_owned(),
        common::repo().join("action.yml"),
    )];
    let mut steps: Vec<_> = std::fs::read_dir(common::repo().join("action"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("action.yml").is_file())
        .collect();
    steps.sort();
    for dir in steps {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        all.push((
            format!("trainyard/trainyard/action/{name}"),
            dir.join("action.yml"),
        ));
    }
    all
}

fn load(path: &Path) -> Value {
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn there_is_an_action_for_every_step_the_issue_names() {
    let names: Vec<String> = actions().into_iter().map(|(name, _)| name).collect();
    for step in [
        "validate-data",
        "train",
        "report",
        "gate",
        "promote",
        "iac",
        "drift",
    ] {
        assert!(
            names.contains(&format!("trainyard/trainyard/action/{step}")),
            "{names:?}"
        );
    }
}

#[test]
fn inputs_reach_scripts_only_through_env_and_every_input_is_used() {
    for (name, path) in actions() {
        let action = load(&path);
        assert_eq!(action["runs"]["using"], "composite", "{name}");
        let steps = action["runs"]["steps"].as_sequence().unwrap();
        let mut used = String::new();
        for step in steps {
            let script = step["run"].as_str().unwrap_or_default();
            assert!(
                !script.contains("${{"),
                "{name}: an expression inside `run:` is a script injection:\n{script}"
            );
            used.push_str(&serde_yaml_ng::to_string(&step["env"]).unwrap());
            used.push_str(&serde_yaml_ng::to_string(&step["working-directory"]).unwrap());
        }
        for input in action["inputs"].as_mapping().unwrap().keys() {
            let input = input.as_str().unwrap();
            assert!(
                used.contains(&format!("${{{{ inputs.{input} }}}}")),
                "{name}: input `{input}` reaches no step"
            );
        }
        for (output, spec) in action["outputs"].as_mapping().unwrap() {
            let output = output.as_str().unwrap();
            assert_eq!(
                spec["value"].as_str().unwrap(),
                format!("${{{{ steps.run.outputs.{output} }}}}"),
                "{name}: output `{output}`"
            );
        }
    }
}

#[test]
fn the_documentation_lists_every_input_and_output_of_every_action() {
    let docs = std::fs::read_to_string(common::repo().join("docs/github-action.md")).unwrap();
    for (name, path) in actions() {
        let heading = format!("### `{name}`\n");
        let start = docs
            .find(&heading)
            .unwrap_or_else(|| panic!("docs/github-action.md has no section {heading}"));
        let section = &docs[start + heading.len()..];
        let section = &section[..section.find("\n### ").unwrap_or(section.len())];
        let action = load(&path);
        for key in ["inputs", "outputs"] {
            for item in action[key].as_mapping().unwrap().keys() {
                let item = item.as_str().unwrap();
                assert!(
                    section.contains(&format!("| `{item}` |")),
                    "docs/github-action.md, {name}: {key} `{item}` is not documented"
                );
            }
        }
    }
}

/// Serves `body` for every GET and counts the requests.
fn serve(body: Vec<u8>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 2 {
                line.clear();
            }
            counter.fetch_add(1, Ordering::SeqCst);
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    (url, hits)
}

/// A release archive holding a stand-in `trainyard` that prints its version.
fn release_archive(dir: &Path) -> Vec<u8> {
    let staging = dir.join("staging");
    std::fs::create_dir_all(&staging).unwrap();
    let exe = staging.join("trainyard");
    std::fs::write(&exe, "#!/bin/sh\necho 'trainyard 9.9.9'\n").unwrap();
    let status = Command::new("chmod").arg("+x").arg(&exe).status().unwrap();
    assert!(status.success());
    let archive = dir.join("release.tar.gz");
    let status = Command::new("tar")
        .arg("-czf")
        .arg(&archive)
        .arg("-C")
        .arg(&staging)
        .arg("trainyard")
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(archive).unwrap()
}

fn sha256(bytes: &[u8], dir: &Path) -> String {
    let file = dir.join("to-hash");
    std::fs::write(&file, bytes).unwrap();
    let output = Command::new("sha256sum").arg(&file).output().unwrap();
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

struct Install {
    dir: tempfile::TempDir,
}

impl Install {
    /// An action checkout whose manifest pins `sha` for version 9.9.9 on Linux x64.
    fn new(sha: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("action-root");
        std::fs::create_dir_all(root.join("action")).unwrap();
        std::fs::copy(
            common::repo().join("action/install.sh"),
            root.join("action/install.sh"),
        )
        .unwrap();
        std::fs::write(
            root.join("action/binaries.sha256"),
            format!("# version: 9.9.9\n{sha}  trainyard-v9.9.9-x86_64-unknown-linux-musl.tar.gz\n"),
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("tool-cache")).unwrap();
        std::fs::write(dir.path().join("github-path"), "").unwrap();
        Self { dir }
    }

    fn run(&self, url: &str, path: &str) -> (i32, String) {
        let output = Command::new("bash")
            .arg(self.dir.path().join("action-root/action/install.sh"))
            .env_clear()
            .env("PATH", path)
            .env("HOME", self.dir.path())
            .env("ACTION_ROOT", self.dir.path().join("action-root"))
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env("RUNNER_TOOL_CACHE", self.dir.path().join("tool-cache"))
            .env("RUNNER_TEMP", self.dir.path())
            .env("GITHUB_PATH", self.dir.path().join("github-path"))
            .env("TRAINYARD_DOWNLOAD_URL", url)
            .output()
            .unwrap();
        (
            output.status.code().unwrap(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        )
    }

    fn github_path(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("github-path")).unwrap()
    }
}

const SYSTEM_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

#[test]
fn a_pinned_release_is_downloaded_checked_installed_and_then_cached() {
    let work = tempfile::tempdir().unwrap();
    let archive = release_archive(work.path());
    let install = Install::new(&sha256(&archive, work.path()));
    let (url, hits) = serve(archive);

    let (code, log) = install.run(&url, SYSTEM_PATH);
    assert_eq!(code, 0, "{log}");
    assert!(
        log.contains(&format!(
            "downloading {url}/v9.9.9/trainyard-v9.9.9-x86_64-unknown-linux-musl.tar.gz"
        )),
        "{log}"
    );
    let bin = install.github_path().trim().to_owned();
    assert!(
        bin.ends_with("tool-cache/trainyard/9.9.9/x86_64-unknown-linux-musl/bin"),
        "{bin}"
    );
    let version = Command::new(Path::new(&bin).join("trainyard"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout),
        "trainyard 9.9.9\n"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1);

    // The next job on this runner finds it in the tool cache.
    let (code, log) = install.run(&url, SYSTEM_PATH);
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("from the tool cache"), "{log}");
    assert_eq!(hits.load(Ordering::SeqCst), 1, "no second download");
}

#[test]
fn an_archive_that_does_not_match_its_pinned_sha256_is_refused() {
    let work = tempfile::tempdir().unwrap();
    let archive = release_archive(work.path());
    let install = Install::new(&"0".repeat(64));
    let (url, _) = serve(archive);
    let (code, log) = install.run(&url, SYSTEM_PATH);
    assert_eq!(code, 3, "{log}");
    assert!(
        log.contains(&format!(
            "but action/binaries.sha256 pins {}; not installing it",
            "0".repeat(64)
        )),
        "{log}"
    );
    assert_eq!(install.github_path(), "", "nothing was put on PATH");
    assert!(
        !install
            .dir
            .path()
            .join("tool-cache/trainyard/9.9.9/x86_64-unknown-linux-musl/bin/trainyard")
            .exists()
    );
}

#[test]
fn a_trainyard_already_on_path_is_used_as_is() {
    let install = Install::new(&"0".repeat(64));
    let binary = assert_cmd::cargo::cargo_bin("trainyard");
    let path = format!("{}:{SYSTEM_PATH}", binary.parent().unwrap().display());
    let (code, log) = install.run("http://127.0.0.1:9", &path);
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("trainyard on PATH"), "{log}");
    assert_eq!(install.github_path(), "");
}
