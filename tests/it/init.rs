//! `trainyard init`: the scaffold engine on a fixture template of its own
//! (tests/fixtures/scaffolds/mini-service), its refusals, and the same files
//! as cargo-generate for every template in `scaffolds/` and the fixture.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot set up should stop loudly

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{self, trainyard};
use predicates::prelude::*;

fn fixture() -> PathBuf {
    common::repo().join("tests/fixtures/scaffolds/mini-service")
}

/// `trainyard init --template-dir <fixture> DIR <args…>`.
fn init_fixture(dir: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    trainyard()
        .arg("init")
        .arg("--template-dir")
        .arg(fixture())
        .arg(dir)
        .args(args)
        .assert()
}

/// Every file (bytes) and folder under `root`, by `/`-separated relative path, `.git` left out.
fn tree(root: &Path) -> (BTreeMap<String, Vec<u8>>, Vec<String>) {
    fn walk(
        root: &Path,
        dir: &Path,
        files: &mut BTreeMap<String, Vec<u8>>,
        dirs: &mut Vec<String>,
    ) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let relative = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if relative == ".git" {
                continue;
            }
            if entry.file_type().unwrap().is_dir() {
                dirs.push(relative);
                walk(root, &path, files, dirs);
            } else {
                files.insert(relative, std::fs::read(&path).unwrap());
            }
        }
    }
    let (mut files, mut dirs) = (BTreeMap::new(), Vec::new());
    walk(root, root, &mut files, &mut dirs);
    dirs.sort();
    (files, dirs)
}

fn text(dir: &Path, path: &str) -> String {
    std::fs::read_to_string(dir.join(path)).unwrap()
}

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(output.status.success(), "git {args:?}: {output:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

#[test]
fn init_renders_conditionals_liquid_files_and_templated_names_then_commits() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("churn-scorer");
    let assert = init_fixture(&dir, &["--format", "json"]).code(0);
    let report: serde_json::Value = serde_json::from_slice(&assert.get_output().stdout).unwrap();

    let (files, _) = tree(&dir);
    assert_eq!(
        files.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            ".github/workflows/ci.yml",
            ".gitignore",
            "README.md",
            "ci/raw/template.yml",
            "docs/undefined.md",
            "src/model/__init__.py",
            "src/model/serve.py",
            "trainyard.yaml",
        ],
        "ci=github leaves azure-pipelines.yml out; NOTES.md and cargo-generate.toml are never written"
    );
    // `.liquid` wins over the plain README and is dropped from the name.
    assert_eq!(
        text(&dir, "README.md"),
        "# churn-scorer\n\nA scoring service trained with Python 3.11; CI on github, infrastructure as kubernetes.\nModels are kept in the local store.\n\nRun `python -m model.serve` to answer predictions.\n\n"
    );
    assert_eq!(
        text(&dir, "src/model/__init__.py"),
        "\"\"\"The CHURN-SCORER package (churn_scorer).\"\"\"\nNAME = \"churn-scorer\"\n"
    );
    // `{% raw %}` keeps GitHub's expressions; an excluded file is copied as it is.
    assert!(
        text(&dir, ".github/workflows/ci.yml")
            .contains("python-version: \"3.11\"\n      - run: echo ${{ github.sha }}\n")
    );
    assert_eq!(
        text(&dir, "ci/raw/template.yml"),
        std::fs::read_to_string(fixture().join("ci/raw/template.yml")).unwrap()
    );
    // A name the template does not define renders empty, and says so.
    assert_eq!(
        text(&dir, "docs/undefined.md"),
        "[] renders empty, in cargo-generate and trainyard init alike.\n"
    );
    let warnings: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| finding["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        warnings,
        [
            "docs/undefined.md: `not_a_placeholder` is not a value the template defines; it renders empty"
        ]
    );

    // The first commit, on the manifest's default branch, holds every file.
    assert_eq!(
        git(&dir, &["rev-parse", "HEAD"]),
        report["outputs"]["commit"]
    );
    assert_eq!(git(&dir, &["symbolic-ref", "--short", "HEAD"]), "trunk");
    let tracked: Vec<String> = git(&dir, &["ls-files"])
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(tracked, files.keys().cloned().collect::<Vec<_>>());
    assert_eq!(git(&dir, &["status", "--porcelain"]), "");
    // The project is one trainyard reads.
    trainyard()
        .current_dir(&dir)
        .args(["config", "check"])
        .assert()
        .code(0);
}

#[test]
fn defined_values_choose_files_names_and_contents() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("svc");
    init_fixture(
        &dir,
        &[
            "-d",
            "ci=azure-devops",
            "--define",
            "serve=FALSE",
            "-d",
            "module = scorer",
            "-d",
            "store_url=s3://models/svc",
            "-d",
            "python_version=3.10",
        ],
    )
    .code(0);
    let (files, _) = tree(&dir);
    assert_eq!(
        files.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            ".gitignore",
            "README.md",
            "azure-pipelines.yml",
            "ci/raw/template.yml",
            "docs/undefined.md",
            "src/scorer/__init__.py",
            "trainyard.yaml",
        ]
    );
    assert!(text(&dir, "README.md").contains("Python 3.10; CI on azure-devops"));
    assert!(text(&dir, "README.md").contains("Models are kept in s3://models/svc."));
    assert!(!text(&dir, "README.md").contains("serve"));
}

#[test]
fn the_project_name_comes_from_define_or_dir_and_follows_the_manifest_rule() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("folder");
    init_fixture(&dir, &["-d", "project-name=named-project"]).code(0);
    assert!(text(&dir, "trainyard.yaml").contains("name: named-project"));

    for (dir_name, defines) in [
        ("Churn_Model", vec![]),
        ("ok", vec!["-d", "project-name=Bad Name"]),
        ("double--dash", vec![]),
    ] {
        let dir = parent.path().join(dir_name);
        init_fixture(&dir, &defines)
            .code(2)
            .stderr(predicate::str::contains("project name"));
        assert!(!dir.exists(), "{dir_name}: nothing is written");
    }
}

#[test]
fn values_are_checked_against_choices_regex_and_bool_and_unknown_keys_refused() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("svc");
    for (define, says) in [
        (
            "ci=gitlab",
            "`gitlab` is not a valid value for `ci`: one of github, azure-devops, both",
        ),
        (
            "module=Scorer",
            "`Scorer` is not a valid value for `module`: it must match `^[a-z_][a-z0-9_]*$`",
        ),
        (
            "serve=yes",
            "`yes` is not a valid value for `serve`: it is a bool",
        ),
        (
            "python_versoin=3.12",
            "no placeholder `python_versoin` (did you mean `python_version`?)",
        ),
        ("=3.12", "is not `key=value`"),
    ] {
        init_fixture(&dir, &["-d", define])
            .code(2)
            .stderr(predicate::str::contains(says));
        assert!(!dir.exists(), "{define}: nothing is written");
    }
}

#[test]
fn an_existing_file_is_never_overwritten_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("README.md"), "mine").unwrap();
    init_fixture(dir.path(), &["-d", "project-name=svc"])
        .code(2)
        .stderr(predicate::str::contains("1 of the template's files exist"))
        .stderr(predicate::str::contains("README.md"))
        .stderr(predicate::str::contains("nothing was written"));
    let (files, dirs) = tree(dir.path());
    assert_eq!(files.keys().collect::<Vec<_>>(), ["README.md"]);
    assert!(dirs.is_empty(), "{dirs:?}");
    assert_eq!(text(dir.path(), "README.md"), "mine");
}

#[test]
fn a_folder_with_other_files_gets_the_project_but_no_new_repository() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data.csv"), "a\n1\n").unwrap();
    init_fixture(dir.path(), &["-d", "project-name=svc"]).code(0);
    assert!(dir.path().join("trainyard.yaml").is_file());
    assert!(!dir.path().join(".git").exists());
    assert_eq!(text(dir.path(), "data.csv"), "a\n1\n");
}

#[test]
fn values_that_would_write_outside_dir_are_refused() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("svc");
    for define in [
        "module=../../escaped",
        "module=..",
        "module=/tmp/escaped",
        "module=a/b",
    ] {
        init_fixture(&dir, &["-d", define]).code(2);
        assert!(!dir.exists(), "{define}: nothing is written");
    }
    // The regex refuses them first; a placeholder without one still cannot escape.
    let template = tempfile::tempdir().unwrap();
    common::copy_dir(&fixture(), template.path());
    let config = template.path().join("cargo-generate.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace(r#", regex = "^[a-z_][a-z0-9_]*$""#, ""),
    )
    .unwrap();
    for define in ["module=../../escaped", "module=..", "module=/tmp/escaped"] {
        trainyard()
            .arg("init")
            .arg("--template-dir")
            .arg(template.path())
            .arg(&dir)
            .args(["-d", define])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("not a plain file name"));
        assert!(!dir.exists(), "{define}: nothing is written");
        assert!(!parent.path().join("escaped").exists());
    }
}

#[test]
fn template_names_are_names_never_paths() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("svc");
    for name in [
        "../x",
        "../../tests/fixtures/scaffolds/mini-service",
        "/etc",
        "..",
        "no-such-template",
    ] {
        trainyard()
            .args(["init", "--template", name])
            .arg(&dir)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!("no template `{name}`")));
        assert!(!dir.exists(), "{name}: nothing is written");
    }
    trainyard()
        .args(["init", "--template", "../x"])
        .arg(&dir)
        .assert()
        .stderr(predicate::str::contains("a template is named, not a path"));
}

#[cfg(unix)]
#[test]
fn links_in_dir_or_dir_itself_are_not_written_through() {
    let parent = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let dir = parent.path().join("svc");
    std::fs::create_dir(&dir).unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.join("src")).unwrap();
    init_fixture(&dir, &[])
        .code(2)
        .stderr(predicate::str::contains("symbolic link"));
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "nothing else was written"
    );

    let link = parent.path().join("linked");
    std::os::unix::fs::symlink(outside.path(), &link).unwrap();
    init_fixture(&link, &["-d", "project-name=svc"])
        .code(2)
        .stderr(predicate::str::contains("symbolic link"));
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
}

#[test]
fn a_new_machine_without_a_git_identity_still_gets_its_first_commit() {
    let parent = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let dir = parent.path().join("svc");
    let mut command = trainyard();
    command
        .env("HOME", home.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", home.path().join("none"))
        .env_remove("XDG_CONFIG_HOME");
    for name in [
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "EMAIL",
    ] {
        command.env_remove(name);
    }
    command
        .arg("init")
        .arg("--template-dir")
        .arg(fixture())
        .arg(&dir)
        .assert()
        .code(0);
    assert_eq!(
        git(&dir, &["log", "-1", "--format=%an <%ae>"]),
        "trainyard <trainyard@localhost.invalid>"
    );
}

#[test]
fn list_shows_the_templates_and_their_placeholders() {
    let assert = trainyard()
        .args(["init", "--list", "--template-dir"])
        .arg(fixture())
        .assert()
        .code(0);
    insta::assert_snapshot!(String::from_utf8_lossy(&assert.get_output().stdout));
}

/// The folders of `scaffolds/`: every one is a template compiled into the binary.
fn scaffolds() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(common::repo().join("scaffolds"))
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.file_type().unwrap().is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn list_names_every_scaffold_compiled_in() {
    let assert = trainyard()
        .args(["init", "--list", "--format", "json"])
        .assert()
        .code(0);
    let report: serde_json::Value = serde_json::from_slice(&assert.get_output().stdout).unwrap();
    let listed: Vec<&str> = report["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|template| template["name"].as_str().unwrap())
        .collect();
    assert_eq!(listed, scaffolds());
}

/// The cargo-generate release the equivalence is checked against (.ci/test installs it).
const CARGO_GENERATE_VERSION: &str = "0.23.7";

/// cargo-generate, if installed (PATH, else `$CARGO_HOME/bin`).
fn cargo_generate() -> Option<PathBuf> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    let candidates = std::iter::once(PathBuf::from("cargo-generate"))
        .chain(cargo_home.map(|home| home.join("bin/cargo-generate")));
    for candidate in candidates {
        if let Ok(output) = Command::new(&candidate).arg("--version").output()
            && output.status.success()
        {
            let version = String::from_utf8_lossy(&output.stdout);
            assert!(
                version.contains(CARGO_GENERATE_VERSION),
                "{} is `{}`; the test compares with cargo-generate {CARGO_GENERATE_VERSION} (.ci/test installs it)",
                candidate.display(),
                version.trim()
            );
            return Some(candidate);
        }
    }
    None
}

/// `cargo generate --path <template> --name <name> --silent --vcs none -d …`
/// and `trainyard init` with the same values write the same files, byte for
/// byte, and the same folders, for every scaffold and the fixture.
#[test]
fn cargo_generate_and_init_write_the_same_files() {
    let Some(cargo_generate) = cargo_generate() else {
        assert!(
            std::env::var_os("TRAINYARD_REQUIRE_TOOLS").is_none(),
            "cargo-generate is not installed and TRAINYARD_REQUIRE_TOOLS is set (.ci/test installs it)"
        );
        eprintln!(
            "SKIPPED: cargo-generate is not installed (.ci/test installs it: cargo install --locked cargo-generate@{CARGO_GENERATE_VERSION})"
        );
        return;
    };
    let shared: &[&[&str]] = &[
        &[],
        &[
            "ci=both",
            "iac=terraform",
            "store_url=s3://models/demo",
            "python_version=3.10",
        ],
        &["ci=azure-devops", "iac=azureml", "python_version=3.12"],
        &["ci=github", "iac=bicep", "store_url=az://account/models"],
    ];
    let mut templates: Vec<(String, PathBuf)> = scaffolds()
        .into_iter()
        .map(|name| {
            let path = common::repo().join("scaffolds").join(&name);
            (name, path)
        })
        .collect();
    templates.push(("mini-service".into(), fixture()));
    let mut compared = 0;
    for (name, path) in &templates {
        let mut value_sets: Vec<Vec<&str>> = shared.iter().map(|set| set.to_vec()).collect();
        if name == "mini-service" {
            value_sets.push(vec!["serve=false", "module=scorer", "ci=azure-devops"]);
        }
        for values in value_sets {
            let generated = tempfile::tempdir().unwrap();
            let output = Command::new(&cargo_generate)
                .arg("generate")
                .arg("--path")
                .arg(path)
                .args([
                    "--name",
                    "demo-app",
                    "--silent",
                    "--vcs",
                    "none",
                    "--destination",
                ])
                .arg(generated.path())
                .args(values.iter().flat_map(|value| ["-d", value]))
                .env("CARGO_GENERATE_LOG", "off")
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "cargo generate {name} {values:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            let initialised = tempfile::tempdir().unwrap();
            let dir = initialised.path().join("demo-app");
            let mut init = trainyard();
            init.arg("init").arg(&dir);
            if name == "mini-service" {
                init.arg("--template-dir").arg(path);
            } else {
                init.args(["--template", name]);
            }
            init.args(values.iter().flat_map(|value| ["-d", value]))
                .assert()
                .code(0);

            let (expected_files, expected_dirs) = tree(&generated.path().join("demo-app"));
            let (files, dirs) = tree(&dir);
            let differ: std::collections::BTreeSet<&String> = expected_files
                .keys()
                .chain(files.keys())
                .filter(|path| expected_files.get(*path) != files.get(*path))
                .collect();
            assert!(
                differ.is_empty(),
                "{name} {values:?}: these files differ between cargo-generate and trainyard init: {differ:?}"
            );
            assert_eq!(expected_dirs, dirs, "{name} {values:?}: the folders");
            compared += 1;
        }
    }
    assert!(compared >= 5);
}
