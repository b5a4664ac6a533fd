//! The release path, run for real. dist (the release tooling, configured in
//! dist-workspace.toml) packages every target the way
//! .github/workflows/release.yml runs it, offline: `dist build
//! --artifacts=lies` is dist's own packaging (archive names, layout, sha256,
//! the installers, sha256.sum) with placeholder binaries, since the release
//! targets' standard libraries cannot be installed here. Its sha256.sum is
//! pinned by the workflow's pin script, and action/install.sh installs from a
//! local HTTP server (Python's http.server on 127.0.0.1, stopped by its pid):
//! every platform the action knows, an archive holding the trainyard built for
//! these tests (it installs into the tool cache and runs), a tampered archive
//! (refused, exit 3), an unknown platform. The workflow itself is checked
//! against `dist plan`, so the hand-written matrix cannot drift from dist's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::BTreeSet;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value as Json;
use serde_yaml_ng::Value as Yaml;
use trainyard_testkit::git::init_and_commit_all;

/// The version the release of this tree would have (the tag is `v<VERSION>`).
const VERSION: &str = env!("CARGO_PKG_VERSION");
/// A runner's PATH without trainyard or cargo on it.
const SYSTEM_PATH: &str = "/usr/local/bin:/usr/bin:/bin";
/// Every platform action/install.sh installs an archive on: (RUNNER_OS,
/// RUNNER_ARCH, dist's target).
const PLATFORMS: [(&str, &str, &str); 5] = [
    ("Linux", "X64", "x86_64-unknown-linux-musl"),
    ("Linux", "ARM64", "aarch64-unknown-linux-musl"),
    ("macOS", "X64", "x86_64-apple-darwin"),
    ("macOS", "ARM64", "aarch64-apple-darwin"),
    ("Windows", "X64", "x86_64-pc-windows-msvc"),
];

fn tag() -> String {
    format!("v{VERSION}")
}

/// A tool `.ci/test` installs into .venv; a missing one fails the test.
fn venv(tool: &str) -> PathBuf {
    let path = common::repo().join(".venv/bin").join(tool);
    assert!(
        path.is_file(),
        ".venv/bin/{tool} is missing: run `.ci/test` (it installs tests/support/requirements.txt into .venv)"
    );
    path
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs `dist <args>` in `workspace`; its JSON output (`--output-format=json`).
fn dist_json(workspace: &Path, args: &[&str]) -> Json {
    let output = Command::new(venv("dist"))
        .args(args)
        .arg("--output-format=json")
        .current_dir(workspace)
        .env("DO_NOT_TRACK", "1")
        .output()
        .unwrap();
    assert!(output.status.success(), "dist {args:?}:\n{}", text(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// `dist plan` for this tree's release tag.
fn dist_plan() -> Json {
    dist_json(&common::repo(), &["plan", "--tag", &tag()])
}

fn sha256_line(file: &Path) -> String {
    let output = Command::new("sha256sum")
        .arg("-b")
        .arg(file.file_name().unwrap())
        .current_dir(file.parent().unwrap())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    String::from_utf8(output.stdout).unwrap()
}

/// Python's http.server serving `root` on 127.0.0.1 and a free port, stopped by its pid.
struct FileServer {
    child: Child,
    url: String,
    log: PathBuf,
}

impl FileServer {
    fn start(root: &Path, log: PathBuf) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(venv("python"))
            .args([
                "-u",
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(root)
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
            .spawn()
            .unwrap();
        let server = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "http.server did not listen within 30 s:\n{}",
                std::fs::read_to_string(&server.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// The paths requested with GET, in order (http.server logs each before answering).
    fn gets(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| line.split("\"GET ").nth(1))
            .filter_map(|rest| rest.split(' ').next())
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A checkout of the action (install.sh, binaries.sha256 and Cargo.toml as
/// committed), a runner's tool cache, temp folder and GITHUB_PATH file.
struct Runner {
    dir: tempfile::TempDir,
}

impl Runner {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let action = dir.path().join("action-root/action");
        std::fs::create_dir_all(&action).unwrap();
        for file in ["action/install.sh", "action/binaries.sha256", "Cargo.toml"] {
            std::fs::copy(
                common::repo().join(file),
                dir.path().join("action-root").join(file),
            )
            .unwrap();
        }
        for folder in ["tool-cache", "temp"] {
            std::fs::create_dir_all(dir.path().join(folder)).unwrap();
        }
        std::fs::write(dir.path().join("github-path"), "").unwrap();
        Self { dir }
    }

    fn pins(&self) -> PathBuf {
        self.dir.path().join("action-root/action/binaries.sha256")
    }

    /// Pins the archives of `sums` (dist's sha256.sum format) as the release
    /// workflow's pin job does, with its script.
    fn pin(&self, sums: &Path) {
        let output = Command::new("bash")
            .arg(common::repo().join(".github/release/pin-archives.sh"))
            .arg(tag())
            .arg(sums)
            .arg(self.pins())
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", text(&output));
    }

    /// Runs install.sh as a step on a `os`/`arch` runner; its exit code and output.
    fn install(&self, (os, arch): (&str, &str), url: &str, env: &[(&str, &str)]) -> (i32, String) {
        let output = Command::new("bash")
            .arg(self.dir.path().join("action-root/action/install.sh"))
            .env_clear()
            .env("PATH", SYSTEM_PATH)
            .env("HOME", self.dir.path())
            .env("ACTION_ROOT", self.dir.path().join("action-root"))
            .env("RUNNER_OS", os)
            .env("RUNNER_ARCH", arch)
            .env("RUNNER_TOOL_CACHE", self.dir.path().join("tool-cache"))
            .env("RUNNER_TEMP", self.dir.path().join("temp"))
            .env("GITHUB_PATH", self.dir.path().join("github-path"))
            .env("TRAINYARD_DOWNLOAD_URL", url)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        (output.status.code().unwrap(), text(&output))
    }

    fn github_path(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("github-path")).unwrap()
    }

    /// The tool cache folder of this version for `arch` (the runner's, lowercased).
    fn cache(&self, arch: &str) -> PathBuf {
        self.dir
            .path()
            .join("tool-cache/trainyard")
            .join(VERSION)
            .join(arch)
    }
}

/// The archive dist builds for `target`, named and laid out as `dist
/// manifest` says, holding the trainyard built for these tests; written to
/// `out`, with sha256.sum (dist's format) beside it.
fn real_archive(out: &Path, target: &str) -> PathBuf {
    let manifest = dist_json(
        &common::repo(),
        &[
            "manifest",
            "--artifacts=local",
            &format!("--target={target}"),
            "--no-local-paths",
            "--tag",
            &tag(),
        ],
    );
    let (name, archive) = manifest["artifacts"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, a)| a["kind"] == "executable-zip" && a["target_triples"][0] == target)
        .unwrap_or_else(|| panic!("dist builds no archive for {target}: {manifest:#}"));
    // A tarball holds its files under a folder named like it; a zip at its root.
    let root = name.strip_suffix(".tar.gz");
    let staging = out.join("staging");
    let inside = root.map_or_else(|| staging.clone(), |root| staging.join(root));
    for asset in archive["assets"].as_array().unwrap() {
        let path = inside.join(asset["path"].as_str().unwrap());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        if asset["kind"] == "executable" {
            std::fs::copy(assert_cmd::cargo::cargo_bin("trainyard"), &path).unwrap();
        } else {
            std::fs::copy(common::repo().join(asset["name"].as_str().unwrap()), &path).unwrap();
        }
    }
    let file = out.join(name);
    let status = if let Some(root) = root {
        Command::new("tar")
            .arg("-czf")
            .arg(&file)
            .arg("-C")
            .arg(&staging)
            .arg(root)
            .status()
            .unwrap()
    } else {
        let entries: Vec<_> = std::fs::read_dir(&staging)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        Command::new(venv("python"))
            .args(["-m", "zipfile", "-c"])
            .arg(&file)
            .args(entries)
            .current_dir(&staging)
            .status()
            .unwrap()
    };
    assert!(status.success());
    std::fs::write(out.join("sha256.sum"), sha256_line(&file)).unwrap();
    file
}

/// A release folder as GitHub serves it, `<root>/v<version>/<archive>`, with
/// the archive for `target` holding this tree's trainyard.
fn release_with_real_archive(root: &Path, target: &str) -> PathBuf {
    let folder = root.join(tag());
    std::fs::create_dir_all(&folder).unwrap();
    real_archive(&folder, target)
}

#[test]
fn install_sh_installs_the_pinned_archive_into_the_tool_cache_runs_it_and_then_uses_the_cache() {
    let work = tempfile::tempdir().unwrap();
    let archive = release_with_real_archive(work.path(), "x86_64-unknown-linux-musl");
    let runner = Runner::new();
    runner.pin(&archive.with_file_name("sha256.sum"));
    let server = FileServer::start(work.path(), work.path().join("server.log"));

    let (code, log) = runner.install(("Linux", "X64"), &server.url, &[]);
    assert_eq!(code, 0, "{log}");
    let path = format!("/{}/trainyard-x86_64-unknown-linux-musl.tar.gz", tag());
    assert_eq!(server.gets(), std::slice::from_ref(&path), "{log}");
    let bin = runner.cache("x64").join("bin");
    assert_eq!(runner.github_path(), format!("{}\n", bin.display()));
    let version = Command::new(bin.join("trainyard"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout),
        format!("trainyard {VERSION}\n"),
        "the installed binary runs"
    );

    // The next job on this runner finds it in the tool cache: no download.
    let (code, log) = runner.install(("Linux", "X64"), &server.url, &[]);
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("from the tool cache"), "{log}");
    assert_eq!(server.gets(), [path], "no second download");
}

#[test]
fn the_windows_zip_installs_its_exe_from_the_root_of_the_archive() {
    let work = tempfile::tempdir().unwrap();
    let archive = release_with_real_archive(work.path(), "x86_64-pc-windows-msvc");
    let runner = Runner::new();
    runner.pin(&archive.with_file_name("sha256.sum"));
    let server = FileServer::start(work.path(), work.path().join("server.log"));

    let (code, log) = runner.install(("Windows", "X64"), &server.url, &[]);
    assert_eq!(code, 0, "{log}");
    let exe = runner.cache("x64").join("bin/trainyard.exe");
    let version = Command::new(&exe).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout),
        format!("trainyard {VERSION}\n")
    );
}

#[test]
fn a_tampered_archive_is_refused_with_the_sha256_error_and_exit_3() {
    let work = tempfile::tempdir().unwrap();
    let archive = release_with_real_archive(work.path(), "x86_64-unknown-linux-musl");
    let runner = Runner::new();
    runner.pin(&archive.with_file_name("sha256.sum"));
    // The release's file changed after it was pinned.
    let mut bytes = std::fs::read(&archive).unwrap();
    bytes.extend_from_slice(b"tampered");
    std::fs::write(&archive, bytes).unwrap();
    let server = FileServer::start(work.path(), work.path().join("server.log"));

    let (code, log) = runner.install(("Linux", "X64"), &server.url, &[]);
    assert_eq!(code, 3, "{log}");
    let pinned = std::fs::read_to_string(runner.pins()).unwrap();
    let expected = pinned
        .lines()
        .find(|line| line.ends_with("/trainyard-x86_64-unknown-linux-musl.tar.gz"))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    assert!(
        log.contains(
            "::error title=trainyard install::trainyard-x86_64-unknown-linux-musl.tar.gz has sha256 "
        ) && log.contains(&format!(
            "but action/binaries.sha256 pins {expected} for {}; not installing it",
            tag()
        )),
        "{log}"
    );
    assert_eq!(runner.github_path(), "", "nothing was put on PATH");
    assert!(!runner.cache("x64").join("bin/trainyard").exists());
    assert!(!runner.cache("x64").with_extension("complete").exists());
}

#[test]
fn an_unknown_platform_is_refused_with_exit_3_before_any_download() {
    let work = tempfile::tempdir().unwrap();
    let runner = Runner::new();
    let server = FileServer::start(work.path(), work.path().join("server.log"));
    for platform in [("Windows", "ARM64"), ("FreeBSD", "X64"), ("Linux", "ARM")] {
        let (code, log) = runner.install(platform, &server.url, &[]);
        assert_eq!(code, 3, "{platform:?}: {log}");
        assert!(
            log.contains(&format!(
                "::error title=trainyard install::trainyard publishes no build for {}/{}",
                platform.0, platform.1
            )),
            "{log}"
        );
    }
    assert_eq!(server.gets(), Vec::<String>::new());
    assert_eq!(runner.github_path(), "");
}

#[test]
fn a_version_this_ref_does_not_pin_stops_the_job_unless_a_source_build_is_asked_for() {
    let runner = Runner::new();
    let url = "http://127.0.0.1:9";
    let (code, log) = runner.install(("Linux", "X64"), url, &[("TRAINYARD_VERSION", "v9.9.9")]);
    assert_eq!(code, 3, "{log}");
    assert!(
        log.contains("action/binaries.sha256 at this action's ref pins no trainyard 9.9.9 archive for x86_64-unknown-linux-musl")
            && log.contains("TRAINYARD_FROM_SOURCE: true"),
        "{log}"
    );
    // A source build is of this action's own version only.
    let (code, log) = runner.install(
        ("Linux", "X64"),
        url,
        &[
            ("TRAINYARD_VERSION", "9.9.9"),
            ("TRAINYARD_FROM_SOURCE", "true"),
        ],
    );
    assert_eq!(code, 3, "{log}");
    assert!(
        log.contains(&format!(
            "TRAINYARD_FROM_SOURCE builds this action's own source, trainyard {VERSION}, not 9.9.9"
        )),
        "{log}"
    );
    // A version is a version, not a path or a script.
    let (code, log) = runner.install(
        ("Linux", "X64"),
        url,
        &[("TRAINYARD_VERSION", "1.0/../../x")],
    );
    assert_eq!(code, 3, "{log}");
    assert!(log.contains("is not a trainyard version"), "{log}");
    assert_eq!(runner.github_path(), "");
}

#[test]
fn a_trainyard_already_on_path_is_used_as_is() {
    let runner = Runner::new();
    let binary = assert_cmd::cargo::cargo_bin("trainyard");
    let output = Command::new("bash")
        .arg(runner.dir.path().join("action-root/action/install.sh"))
        .env_clear()
        .env(
            "PATH",
            format!("{}:{SYSTEM_PATH}", binary.parent().unwrap().display()),
        )
        .env("ACTION_ROOT", runner.dir.path().join("action-root"))
        .env("GITHUB_PATH", runner.dir.path().join("github-path"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("trainyard on PATH"));
    assert_eq!(runner.github_path(), "");
}

/// The workflow's build matrix: (target, runner, whether it installs musl-tools).
fn workflow_matrix() -> BTreeSet<(String, String, bool)> {
    let workflow = workflow();
    workflow["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["target"].as_str().unwrap().to_owned(),
                row["runner"].as_str().unwrap().to_owned(),
                row["musl-tools"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

fn workflow() -> Yaml {
    serde_yaml_ng::from_str(
        &std::fs::read_to_string(common::repo().join(".github/workflows/release.yml")).unwrap(),
    )
    .unwrap()
}

/// The release workflow's dist steps, offline, in a copy of the workspace (dist
/// writes into its target/distrib): per target of the workflow's matrix, `dist
/// build --artifacts=lies` and its manifest kept as the build job keeps it;
/// then `dist build --artifacts=global` (installers, sha256.sum). Returns the
/// copy and its target/distrib.
fn release_pipeline() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let workspace = dir.path().join("trainyard");
    for file in [
        "Cargo.toml",
        "Cargo.lock",
        "dist-workspace.toml",
        "README.md",
        "rust-toolchain.toml",
    ] {
        std::fs::create_dir_all(&workspace).unwrap();
        std::fs::copy(common::repo().join(file), workspace.join(file)).unwrap();
    }
    for folder in ["src", "crates"] {
        common::copy_dir(&common::repo().join(folder), &workspace.join(folder));
    }
    // dist's source tarball is `git archive` of the tag's commit.
    init_and_commit_all(&workspace);
    let distrib = workspace.join("target/distrib");
    for (target, _, _) in workflow_matrix() {
        let manifest = dist_json(
            &workspace,
            &[
                "build",
                "--tag",
                &tag(),
                "--artifacts=lies",
                &format!("--target={target}"),
            ],
        );
        std::fs::write(
            distrib.join(format!("{target}-dist-manifest.json")),
            manifest.to_string(),
        )
        .unwrap();
    }
    dist_json(
        &workspace,
        &["build", "--tag", &tag(), "--artifacts=global"],
    );
    (dir, distrib)
}

#[test]
fn the_release_workflow_builds_every_target_dist_plans_on_dists_runners() {
    let plan = dist_plan();
    let planned: BTreeSet<(String, String, bool)> =
        plan["ci"]["github"]["artifacts_matrix"]["include"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| {
                let targets = row["targets"].as_array().unwrap();
                assert_eq!(targets.len(), 1, "one target per build job: {row}");
                (
                    targets[0].as_str().unwrap().to_owned(),
                    row["runner"].as_str().unwrap().to_owned(),
                    row["packages_install"]
                        .as_str()
                        .is_some_and(|s| s.contains("musl-tools")),
                )
            })
            .collect();
    assert_eq!(
        workflow_matrix(),
        planned,
        "release.yml's build matrix (target, runner, musl-tools) differs from `dist plan`; update the matrix"
    );
    // Every target the action installs on is released, and nothing else is.
    let released: BTreeSet<&str> = planned.iter().map(|(t, _, _)| t.as_str()).collect();
    let known: BTreeSet<&str> = PLATFORMS.iter().map(|(_, _, t)| *t).collect();
    assert_eq!(released, known);
}

#[test]
fn the_release_workflow_runs_on_v_tags_with_write_access_only_where_it_writes() {
    let workflow = workflow();
    // serde_yaml_ng reads the bare key `on` as a string (YAML 1.2).
    assert_eq!(
        serde_yaml_ng::to_string(&workflow["on"]).unwrap(),
        "push:\n  tags:\n  - v*\n"
    );
    assert_eq!(
        serde_yaml_ng::to_string(&workflow["permissions"]).unwrap(),
        "{}\n"
    );
    let jobs = workflow["jobs"].as_mapping().unwrap();
    let mut writers = Vec::new();
    for (name, job) in jobs {
        let name = name.as_str().unwrap();
        for (permission, access) in job["permissions"].as_mapping().unwrap() {
            if access == "write" {
                writers.push(format!("{name}: {}", permission.as_str().unwrap()));
            }
        }
        for step in job["steps"].as_sequence().unwrap() {
            if let Some(uses) = step["uses"].as_str() {
                let (_, reference) = uses.split_once('@').unwrap();
                assert!(
                    reference.len() == 40 && reference.chars().all(|c| c.is_ascii_hexdigit()),
                    "{name}: {uses} is not pinned to a commit"
                );
            }
        }
    }
    assert_eq!(
        writers,
        [
            "build: id-token",
            "build: attestations",
            "installers: id-token",
            "installers: attestations",
            "release: contents",
            "pin: contents",
            "pin: pull-requests",
        ]
    );
}

#[test]
fn the_release_pins_every_archive_and_install_sh_installs_each_platforms_from_its_layout() {
    let (_dir, distrib) = release_pipeline();
    // Served as GitHub serves a release: <url>/v<version>/<file>.
    let site = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(&distrib, site.path().join(tag())).unwrap();
    let server = FileServer::start(site.path(), site.path().join("server.log"));

    let template = Runner::new();
    template.pin(&distrib.join("sha256.sum"));
    let pins = std::fs::read_to_string(template.pins()).unwrap();
    assert!(
        pins.contains(&format!("\n# version: {VERSION}\n")),
        "{pins}"
    );
    for (os, arch, target) in PLATFORMS {
        // One runner per platform: a runner's tool cache is its own.
        let runner = Runner::new();
        std::fs::write(runner.pins(), &pins).unwrap();
        let (code, log) = runner.install((os, arch), &server.url, &[]);
        assert_eq!(code, 0, "{os}/{arch}: {log}");
        let exe = if os == "Windows" {
            "trainyard.exe"
        } else {
            "trainyard"
        };
        let installed = runner
            .cache(&arch.to_ascii_lowercase())
            .join("bin")
            .join(exe);
        assert!(installed.is_file(), "{os}/{arch}: {log}");
        let archive = if os == "Windows" {
            format!("trainyard-{target}.zip")
        } else {
            format!("trainyard-{target}.tar.gz")
        };
        assert!(
            pins.contains(&format!("  v{VERSION}/{archive}\n")),
            "{archive} is not pinned:\n{pins}"
        );
    }
    assert_eq!(server.gets().len(), PLATFORMS.len());
}

#[test]
fn the_shell_installer_installs_the_archive_it_verifies_and_refuses_a_tampered_one() {
    let (_dir, distrib) = release_pipeline();
    let server = FileServer::start(&distrib, distrib.join("../server.log"));
    let install = |home: &Path| {
        Command::new("sh")
            .arg(distrib.join("trainyard-installer.sh"))
            .env_clear()
            .env("PATH", SYSTEM_PATH)
            .env("HOME", home)
            .env("CARGO_HOME", home.join("cargo"))
            .env("TRAINYARD_DOWNLOAD_URL", &server.url)
            .env("TRAINYARD_NO_MODIFY_PATH", "1")
            .output()
            .unwrap()
    };
    let home = tempfile::tempdir().unwrap();
    let output = install(home.path());
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        home.path().join("cargo/bin/trainyard").is_file(),
        "{}",
        text(&output)
    );

    // The archive this machine gets (x86_64 Linux: the static musl build), changed.
    let archive = distrib.join("trainyard-x86_64-unknown-linux-musl.tar.gz");
    let mut bytes = std::fs::read(&archive).unwrap();
    bytes.extend_from_slice(b"tampered");
    std::fs::write(&archive, bytes).unwrap();
    let home = tempfile::tempdir().unwrap();
    let output = install(home.path());
    assert!(!output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("checksum"), "{}", text(&output));
    assert!(!home.path().join("cargo/bin/trainyard").exists());
}

#[test]
fn cargo_binstall_finds_the_archives_dist_builds_and_the_binary_inside() {
    let output = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(common::repo())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    let metadata: Json = serde_json::from_slice(&output.stdout).unwrap();
    let package = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "trainyard")
        .unwrap();
    let binstall = &package["metadata"]["binstall"];
    let repository = package["repository"].as_str().unwrap();
    let plan = dist_plan();
    for (_, _, target) in PLATFORMS {
        let overrides = &binstall["overrides"][target];
        let field = |key: &str| {
            overrides[key]
                .as_str()
                .or_else(|| binstall[key].as_str())
                .unwrap()
                .to_owned()
        };
        let windows = target.contains("windows");
        let suffix = match field("pkg-fmt").as_str() {
            "tgz" => ".tar.gz",
            "zip" => ".zip",
            other => panic!("pkg-fmt {other}"),
        };
        let expand = |template: String| {
            template
                .replace("{ repo }", repository)
                .replace("{ version }", VERSION)
                .replace("{ name }", "trainyard")
                .replace("{ target }", target)
                .replace("{ archive-suffix }", suffix)
                .replace("{ bin }", "trainyard")
                .replace("{ binary-ext }", if windows { ".exe" } else { "" })
        };
        let name = expand(field("pkg-url"))
            .strip_prefix(&format!("{repository}/releases/download/{}/", tag()))
            .unwrap()
            .to_owned();
        let archive = &plan["artifacts"][&name];
        assert_eq!(archive["kind"], "executable-zip", "{target}: {name}");
        // The executable's path inside the archive, as install.sh and the installers read it.
        let executable = archive["assets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["kind"] == "executable")
            .unwrap()["path"]
            .as_str()
            .unwrap()
            .to_owned();
        let inside = match name.strip_suffix(".tar.gz") {
            Some(root) => format!("{root}/{executable}"),
            None => executable,
        };
        assert_eq!(expand(field("bin-dir")), inside, "{target}");
    }
}

#[test]
fn one_dist_version_everywhere() {
    let config = std::fs::read_to_string(common::repo().join("dist-workspace.toml")).unwrap();
    let version = config
        .lines()
        .find_map(|line| line.strip_prefix("cargo-dist-version = "))
        .unwrap()
        .trim_matches('"');
    let pinned = format!("astral-dev-toolchain-cargo-dist=={version}");
    for file in [
        ".github/release/dist-requirements.txt",
        "tests/support/requirements.txt",
    ] {
        let text = std::fs::read_to_string(common::repo().join(file)).unwrap();
        assert!(
            text.lines()
                .any(|line| line.trim_end_matches(" \\") == pinned),
            "{file} does not pin {pinned}"
        );
    }
    let output = Command::new(venv("dist"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!("cargo-dist {version}")
    );
}
