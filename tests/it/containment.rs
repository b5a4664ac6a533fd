//! Issue 14, items 1 and 2 and the umask: every path trainyard derives from the
//! manifest or the repository stays inside the project, no folder on the way
//! is a symbolic link, a repository's template never renders into `.git` or
//! outside the output folder nor reads through a link, and written files get
//! the umask's mode. Explicit flags (`--profiles`, `-o`) write where they point.
//! The hostile manifests are in tests/corpus/manifest/ too.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot set up should stop loudly

use crate::common;

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use common::trainyard_json;

const DATA: &str = "id,value\n1,10\n2,20\n3,30\n4,40\n";

/// A project folder `project/` beside an `outside/` folder, in one temporary folder.
struct Layout {
    _temp: tempfile::TempDir,
    project: PathBuf,
    outside: PathBuf,
}

impl Layout {
    fn new(manifest: &str) -> Self {
        let temp = tempfile::tempdir().unwrap();
        let project = temp.path().join("project");
        let outside = temp.path().join("outside");
        std::fs::create_dir_all(project.join("data")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(project.join("trainyard.yaml"), manifest).unwrap();
        std::fs::write(project.join("data/train.csv"), DATA).unwrap();
        Self {
            _temp: temp,
            project,
            outside,
        }
    }

    /// `trainyard --format json <args>` in the project: exit code and report.
    fn run(&self, args: &[&str]) -> (i32, serde_json::Value) {
        trainyard_json(&self.project, args)
    }

    /// Every file under `outside/`, relative.
    fn outside_files(&self) -> Vec<String> {
        let mut files = Vec::new();
        collect(&self.outside, &self.outside, &mut files);
        files.sort();
        files
    }

    /// Links `project/<relative>` to `outside/`.
    fn link_outside(&self, relative: &str) {
        let link = self.project.join(relative);
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        symlink(&self.outside, link).unwrap();
    }
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            collect(root, &entry.path(), files);
        } else {
            let path = entry.path();
            files.push(path.strip_prefix(root).unwrap().display().to_string());
        }
    }
}

fn manifest_with(extra: &str) -> String {
    format!(
        "version: 1\nproject:\n  name: churn\ndatasets:\n  train:\n    path: data/train.csv\n    sample: {{ rows: 2 }}\nenvironments:\n  - name: dev\n  - name: prod\n{extra}"
    )
}

/// Terraform and Kubernetes, with what the Kubernetes target deploys from (a
/// model, its predictor, a store a cluster reads, the repository Argo CD watches).
const IAC: &str = "model:\n  name: churn-classifier\n  path: model.pkl\nartifacts:\n  store: s3://models/churn\niac:\n  targets: [terraform, kubernetes]\n  kubernetes:\n    predictor: { format: sklearn }\n    repo-url: https://github.com/acme/churn.git\n";

/// The error document's rule and line.
fn error_at(report: &serde_json::Value) -> (String, Option<u64>) {
    let error = &report["error"];
    (
        error["rule"].as_str().unwrap_or_default().to_owned(),
        error["location"]["line"].as_u64(),
    )
}

#[test]
fn an_output_dir_outside_the_project_is_refused_at_its_line_and_nothing_is_written() {
    for (dir, why) in [
        ("../elsewhere/infra", "climbs out"),
        ("/tmp/trainyard-abs-infra", "not a folder relative"),
        ("infra/../../elsewhere", "climbs out"),
        (".git/hooks", "inside `.git`"),
    ] {
        let layout = Layout::new(&manifest_with(&format!("{IAC}  output-dir: {dir}\n")));
        for args in [
            &["config", "check"][..],
            &["iac", "render", "--all"][..],
            &["iac", "check"][..],
        ] {
            let (code, report) = layout.run(args);
            assert_eq!(code, 2, "{dir} {args:?}: {report:#}");
            assert_eq!(
                error_at(&report),
                // `output-dir` is the line after the manifest's last.
                (
                    "bad-output-dir".to_owned(),
                    Some(manifest_with(IAC).lines().count() as u64 + 1)
                ),
                "{dir} {args:?}: {report:#}"
            );
            assert!(
                report["error"]["message"].as_str().unwrap().contains(why),
                "{report:#}"
            );
        }
        assert!(!layout.project.join("../elsewhere").exists(), "{dir}");
        assert!(!Path::new("/tmp/trainyard-abs-infra").exists(), "{dir}");
    }
}

#[test]
fn stale_generated_files_are_removed_only_inside_the_project_and_never_through_a_link() {
    let layout = Layout::new(&manifest_with(IAC));
    // An outside file that looks generated, reached through a linked target folder.
    std::fs::write(
        layout.outside.join("old.tf"),
        "# Generated by trainyard from trainyard.yaml\nkeep = 1\n",
    )
    .unwrap();
    std::fs::create_dir_all(layout.project.join("infra")).unwrap();
    layout.link_outside("infra/terraform");
    let (code, report) = layout.run(&["iac", "render", "--all"]);
    assert_eq!(code, 2, "{report:#}");
    assert_eq!(error_at(&report).0, "symlink-refused", "{report:#}");
    assert!(
        report["error"]["message"]
            .as_str()
            .unwrap()
            .contains("infra/terraform"),
        "{report:#}"
    );
    assert_eq!(layout.outside_files(), ["old.tf"]);
    assert_eq!(
        std::fs::read_to_string(layout.outside.join("old.tf")).unwrap(),
        "# Generated by trainyard from trainyard.yaml\nkeep = 1\n"
    );
    // Nothing of the render was written either: every path is checked first.
    assert!(!layout.project.join("deploy").exists());

    // `iac check` never reads through the link (its target would show in the diff).
    let (code, report) = layout.run(&["iac", "check"]);
    assert_eq!(code, 1, "{report:#}");
    let shown = report.to_string();
    assert!(!shown.contains("keep = 1"), "{report:#}");
}

#[test]
fn a_linked_environment_folder_is_never_written_through() {
    for linked in ["infra/terraform/dev", "deploy/dev", "infra"] {
        let layout = Layout::new(&manifest_with(IAC));
        layout.link_outside(linked);
        let (code, report) = layout.run(&["iac", "render", "--env", "dev"]);
        assert_eq!(code, 2, "{linked}: {report:#}");
        assert_eq!(
            error_at(&report).0,
            "symlink-refused",
            "{linked}: {report:#}"
        );
        assert_eq!(layout.outside_files(), Vec::<String>::new(), "{linked}");
    }
}

#[test]
fn dataset_names_that_are_paths_are_refused_when_the_manifest_loads() {
    for name in ["../../../x/pwn", "/abs/pwn", "a/b", "..", ".hidden", "a b"] {
        let manifest = format!(
            "version: 1\nproject:\n  name: churn\ndatasets:\n  \"{name}\":\n    path: data/train.csv\n"
        );
        let layout = Layout::new(&manifest);
        for args in [&["config", "check"][..], &["data", "validate"][..]] {
            let (code, report) = layout.run(args);
            assert_eq!(code, 2, "{name} {args:?}: {report:#}");
            assert_eq!(
                error_at(&report),
                ("bad-dataset-name".to_owned(), Some(5)),
                "{name} {args:?}: {report:#}"
            );
        }
        assert!(!layout.project.join(".trainyard").exists(), "{name}");
    }
    // An environment name is a folder too (deploy/<env>/).
    let layout =
        Layout::new("version: 1\nproject:\n  name: churn\nenvironments:\n  - name: ../../x\n");
    let (code, report) = layout.run(&["config", "check"]);
    assert_eq!(code, 2, "{report:#}");
    assert_eq!(
        error_at(&report),
        ("bad-environment-name".to_owned(), Some(5)),
        "{report:#}"
    );
}

#[test]
fn linked_working_folders_are_refused_but_a_flag_writes_where_it_points() {
    // Profiles: the default folder is the project's; --profiles is the user's choice.
    let layout = Layout::new(&manifest_with(""));
    layout.link_outside(".trainyard/profiles");
    let (code, report) = layout.run(&["data", "validate"]);
    assert_eq!(code, 2, "{report:#}");
    assert_eq!(error_at(&report).0, "symlink-refused", "{report:#}");
    assert_eq!(layout.outside_files(), Vec::<String>::new());
    let chosen = layout.outside.join("chosen");
    let (code, report) = layout.run(&["data", "validate", "--profiles", chosen.to_str().unwrap()]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(layout.outside_files(), ["chosen/train.json"]);

    // Samples, the same.
    let layout = Layout::new(&manifest_with(""));
    layout.link_outside(".trainyard/samples");
    let (code, report) = layout.run(&["data", "sample", "train"]);
    assert_eq!(code, 2, "{report:#}");
    assert_eq!(error_at(&report).0, "symlink-refused", "{report:#}");
    assert_eq!(layout.outside_files(), Vec::<String>::new());
    let chosen = layout.outside.join("sample.csv");
    let (code, report) = layout.run(&["data", "sample", "train", "-o", chosen.to_str().unwrap()]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(layout.outside_files(), ["sample.csv"]);

    // The whole .trainyard folder linked away: the lock's stat cache is refused too.
    let layout = Layout::new(&manifest_with(""));
    layout.link_outside(".trainyard");
    let (code, report) = layout.run(&["data", "fingerprint"]);
    assert_eq!(code, 2, "{report:#}");
    assert_eq!(layout.outside_files(), Vec::<String>::new());
}

#[test]
fn a_repository_template_never_renders_into_git_or_outside_the_output_folder() {
    let layout = Layout::new(&manifest_with(IAC));
    std::fs::create_dir_all(layout.project.join(".git")).unwrap();
    std::fs::write(layout.project.join(".git/config"), "[core]\n").unwrap();
    let add = |name: &str, body: &str| {
        let path = layout.project.join("templates/iac").join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    };
    // The reproducer: the header is a valid git comment, fsmonitor a command.
    add(
        "kubernetes/_project/.git/config.j2",
        "[core]\n\tfsmonitor = touch pwned\n",
    );
    let (code, report) = layout.run(&["iac", "render", "--all"]);
    assert_eq!(code, 2, "{report:#}");
    assert_eq!(error_at(&report).0, "template-refused", "{report:#}");
    assert!(
        report["error"]["message"]
            .as_str()
            .unwrap()
            .contains("inside `.git`"),
        "{report:#}"
    );
    assert_eq!(
        std::fs::read_to_string(layout.project.join(".git/config")).unwrap(),
        "[core]\n"
    );
    std::fs::remove_dir_all(
        layout
            .project
            .join("templates/iac/kubernetes/_project/.git"),
    )
    .unwrap();

    // A `.git` folder anywhere in the output, too.
    add("terraform/.git/config.j2", "x\n");
    let (code, report) = layout.run(&["iac", "render", "--all"]);
    assert_eq!(
        (code, error_at(&report).0.as_str()),
        (2, "template-refused"),
        "{report:#}"
    );
    std::fs::remove_dir_all(layout.project.join("templates/iac/terraform/.git")).unwrap();

    // A new project-level file outside the built-in ones' folders (a workflow).
    add(
        "kubernetes/_project/.github/workflows/x.yml.j2",
        "on: push\n",
    );
    let (code, report) = layout.run(&["iac", "render", "--all"]);
    assert_eq!(
        (code, error_at(&report).0.as_str()),
        (2, "template-refused"),
        "{report:#}"
    );
    assert!(
        report["error"]["message"]
            .as_str()
            .unwrap()
            .contains("outside the output folder"),
        "{report:#}"
    );
    std::fs::remove_dir_all(
        layout
            .project
            .join("templates/iac/kubernetes/_project/.github"),
    )
    .unwrap();
    assert!(!layout.project.join(".github").exists());

    // Beside the built-in project files, and inside the output folder, is fine.
    add(
        "kubernetes/_project/deploy/__env__/patch.yaml.j2",
        "env: [[ env.name ]]\n",
    );
    add("terraform/extra.tf.j2", "x = 1\n");
    let (code, report) = layout.run(&["iac", "render", "--all"]);
    assert_eq!(code, 0, "{report:#}");
    assert!(layout.project.join("deploy/prod/patch.yaml").is_file());
    assert!(
        layout
            .project
            .join("infra/terraform/dev/extra.tf")
            .is_file()
    );
}

#[test]
fn a_linked_template_is_not_followed() {
    let layout = Layout::new(&manifest_with(IAC));
    std::fs::write(layout.outside.join("hostname"), "secret-host\n").unwrap();
    let templates = layout.project.join("templates/iac/terraform");
    std::fs::create_dir_all(&templates).unwrap();
    symlink(
        layout.outside.join("hostname"),
        templates.join("main.tf.j2"),
    )
    .unwrap();
    let (code, report) = layout.run(&["iac", "render", "--all"]);
    assert_eq!(code, 2, "{report:#}");
    assert_eq!(error_at(&report).0, "template-refused", "{report:#}");
    assert!(!report.to_string().contains("secret-host"), "{report:#}");
    assert!(!layout.project.join("infra").exists());

    // The whole templates folder linked away.
    std::fs::remove_dir_all(layout.project.join("templates")).unwrap();
    std::fs::create_dir_all(layout.outside.join("iac/terraform")).unwrap();
    std::fs::write(layout.outside.join("iac/terraform/main.tf.j2"), "x\n").unwrap();
    symlink(&layout.outside, layout.project.join("templates")).unwrap();
    let (code, report) = layout.run(&["iac", "render", "--all"]);
    assert_eq!(
        (code, error_at(&report).0.as_str()),
        (2, "template-refused"),
        "{report:#}"
    );
}

/// `trainyard <args>` in `dir` under `umask`, with a clean environment.
fn under_umask(umask: &str, dir: &Path, args: &[&str]) {
    let binary = assert_cmd::cargo::cargo_bin("trainyard");
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
        .arg(binary)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0), "{args:?} under umask {umask}");
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn written_files_get_the_umask_s_mode() {
    for (umask, expected) in [("022", 0o644), ("027", 0o640)] {
        let layout = Layout::new(&manifest_with(IAC));
        let dir = &layout.project;
        under_umask(umask, dir, &["data", "fingerprint"]);
        under_umask(umask, dir, &["data", "validate"]);
        under_umask(umask, dir, &["iac", "render", "--all"]);
        under_umask(umask, dir, &["data", "sample", "train", "--rows", "2"]);
        for file in [
            "trainyard.lock",
            ".trainyard/samples/train.csv",
            ".trainyard/profiles/train.json",
            ".trainyard/cache/fingerprints.json",
            "infra/terraform/dev/main.tf",
            "deploy/prod/kustomization.yaml",
        ] {
            assert_eq!(
                format!("{:o}", mode(&dir.join(file))),
                format!("{expected:o}"),
                "{file} under umask {umask}"
            );
        }
        // A file replaced keeps its own mode.
        let lock = dir.join("trainyard.lock");
        std::fs::set_permissions(&lock, std::fs::Permissions::from_mode(0o664)).unwrap();
        std::fs::write(dir.join("data/train.csv"), format!("{DATA}5,50\n")).unwrap();
        under_umask(umask, dir, &["data", "fingerprint"]);
        assert_eq!(mode(&lock), 0o664, "the lock was rewritten with its mode");
    }
}

#[test]
fn promotion_never_writes_through_a_linked_environment_folder_and_keeps_the_umask() {
    use crate::common::gate_fixture::Repo;
    let gates = "  staging:\n    metrics: [\"accuracy >= 0.9\"]\n  prod:\n    metrics: [\"accuracy >= 0.9\"]\n";

    let repo = Repo::trained_once(gates);
    let (report, code) = repo.trainyard(&["promote", "--env", "staging", "--direct"]);
    assert_eq!(code, 0, "{report:#}");
    let umask = process_umask();
    assert_eq!(
        mode(&repo.path().join("deploy/staging/release.yaml")),
        0o666 & !umask,
        "release.yaml under umask {umask:03o}"
    );

    let repo = Repo::trained_once(gates);
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(repo.path().join("deploy")).unwrap();
    symlink(outside.path(), repo.path().join("deploy/staging")).unwrap();
    let head = repo.head();
    let (report, code) = repo.trainyard(&["promote", "--env", "staging", "--direct"]);
    assert_eq!(code, 2, "{report:#}");
    assert!(
        report["error"]["message"]
            .as_str()
            .unwrap()
            .contains("symbolic link"),
        "{report:#}"
    );
    assert_eq!(repo.head(), head, "main did not move");
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
}

/// The test process's umask (the binary inherits it), from /proc.
fn process_umask() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|line| line.starts_with("Umask:"))
        .unwrap();
    u32::from_str_radix(line.trim_start_matches("Umask:").trim(), 8).unwrap()
}

#[test]
fn merged_profiles_naming_a_path_as_their_dataset_are_not_written_by_that_name() {
    let layout = Layout::new(&manifest_with(""));
    let (code, report) = layout.run(&["data", "validate"]);
    assert_eq!(code, 0, "{report:#}");
    let profile = layout.project.join(".trainyard/profiles/train.json");
    let text = std::fs::read_to_string(&profile).unwrap();
    let hostile = text.replacen("\"train\"", "\"../../outside/pwn\"", 1);
    assert_ne!(hostile, text, "the profile names its dataset");
    let other = layout.outside.join("hostile.json");
    std::fs::write(&other, hostile).unwrap();
    let (code, report) = layout.run(&["data", "merge", other.to_str().unwrap()]);
    assert_eq!(code, 2, "{report:#}");
    assert_eq!(layout.outside_files(), ["hostile.json"]);
}
