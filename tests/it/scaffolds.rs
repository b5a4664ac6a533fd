//! The project scaffolds, `scaffolds/<name>/` (issue 17): each template is
//! rendered into a temporary folder by `trainyard init` (which makes the first
//! commit) and driven through trainyard's whole loop with the built binary and
//! the template's own Python code in a real venv: data validate, sampled
//! train, compare, full train, gates, promote dev → staging → prod, rollback, iac render and check, the
//! model served (realtime) or a window scored (batch), and the template's own
//! pytest suite. The rendered CI files are ci-examples plus one marked Python
//! setup block (checked here, so the copies cannot drift) and pass the
//! validators ci-examples passes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot set up should stop loudly

use crate::common;

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use trainyard_testkit::git::git;

const TEMPLATES: [&str; 2] = ["realtime-classifier", "batch-scoring"];

/// Renders `template` into `dir` (which must not exist yet) with `defines`
/// (`ci`, `iac`, `store_url`, `python_version`; the project name is `dir`'s
/// name) through `trainyard init`, which also makes the first commit.
/// (`tests/it/init.rs` shows cargo-generate writes the same files.)
fn render_scaffold(template: &str, dir: &Path, defines: &[(&str, &str)]) {
    let mut command = common::trainyard_process();
    command.args(["init", "--template", template]);
    for (key, value) in defines {
        command.arg("--define").arg(format!("{key}={value}"));
    }
    let output = command.arg(dir).output().unwrap();
    assert!(
        output.status.success(),
        "trainyard init {template} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        dir.join("trainyard.yaml").is_file(),
        "{template} rendered no trainyard.yaml"
    );
    assert!(dir.join(".git").is_dir(), "init made no first commit");
}

/// `PATH` with `dir` first.
fn path_with(dir: &Path) -> std::ffi::OsString {
    let mut paths = vec![dir.to_path_buf()];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(paths).unwrap()
}

/// A venv with the templates' requirements, made once under target/: the
/// `.venv`'s packages (scikit-learn is there, tests/support/requirements.txt)
/// are reused through a `.pth` file, and pip installs what they lack.
fn python_env() -> &'static Path {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        let repo = common::repo();
        let venv = repo.join("target/scaffolds-venv");
        let requirements: String = TEMPLATES
            .iter()
            .map(|t| {
                std::fs::read_to_string(repo.join("scaffolds").join(t).join("requirements.txt"))
                    .unwrap()
            })
            .collect();
        let marker = venv.join("trainyard-requirements.txt");
        if std::fs::read_to_string(&marker).is_ok_and(|done| done == requirements) {
            return venv;
        }
        let dot_venv = repo.join(".venv/bin/python");
        let base =
            run_ok(Command::new(&dot_venv).args(["-c", "import sys; print(sys._base_executable)"]));
        let _ = std::fs::remove_dir_all(&venv);
        run_ok(Command::new(base.trim()).args(["-m", "venv"]).arg(&venv));
        let site = run_ok(Command::new(venv.join("bin/python")).args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ]));
        let dot_venv_site = run_ok(Command::new(&dot_venv).args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ]));
        std::fs::write(
            Path::new(site.trim()).join("trainyard-dot-venv.pth"),
            format!("{}\n", dot_venv_site.trim()),
        )
        .unwrap();
        for template in TEMPLATES {
            run_ok(
                Command::new(venv.join("bin/python"))
                    .args([
                        "-m",
                        "pip",
                        "install",
                        "--quiet",
                        "--disable-pip-version-check",
                        "-r",
                    ])
                    .arg(
                        repo.join("scaffolds")
                            .join(template)
                            .join("requirements.txt"),
                    ),
            );
        }
        std::fs::write(&marker, requirements).unwrap();
        venv
    })
}

/// Runs `command`, fails the test with its output unless it succeeds; returns stdout.
fn run_ok(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("{command:?}: {error}"));
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// A rendered project, a git repository with its first commit on main.
struct Project {
    _parent: tempfile::TempDir,
    dir: PathBuf,
}

impl Project {
    fn new(template: &str, defines: &[(&str, &str)]) -> Self {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join(format!("my-{template}"));
        render_scaffold(template, &dir, defines);
        Self {
            _parent: parent,
            dir,
        }
    }

    /// `trainyard --format json <args>` in the project with the venv's `python`
    /// first on PATH: the report, after checking the exit code.
    fn trainyard(&self, args: &[&str], code: i32) -> serde_json::Value {
        let output = self.trainyard_output(args);
        assert_eq!(
            output.status.code(),
            Some(code),
            "trainyard {}:\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|error| panic!("trainyard {}: not JSON ({error})", args.join(" ")))
    }

    fn trainyard_output(&self, args: &[&str]) -> Output {
        common::trainyard_process()
            .current_dir(&self.dir)
            .arg("--format")
            .arg("json")
            .args(args)
            .env("PATH", path_with(&python_env().join("bin")))
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn python(&self) -> Command {
        let mut command = Command::new(python_env().join("bin/python"));
        command
            .current_dir(&self.dir)
            .env("PYTHONDONTWRITEBYTECODE", "1");
        command
    }

    fn release_version(&self, env: &str) -> String {
        let text =
            std::fs::read_to_string(self.dir.join(format!("deploy/{env}/release.yaml"))).unwrap();
        let release: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
        match &release["version"] {
            serde_yaml_ng::Value::Number(n) => n.to_string(),
            other => other.as_str().unwrap_or_default().to_owned(),
        }
    }
}

fn output<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    &report["outputs"][name]
}

/// Everything from a validated dataset to a rollback and rendered
/// infrastructure, as the README and the workflows do it.
fn the_whole_loop(project: &Project) {
    project.trainyard(&["config", "check"], 0);
    project.trainyard(&["data", "validate"], 0);

    // A pull request: a sampled training, compared with the champion (none yet).
    let sampled = project.trainyard(&["train", "--mode", "sample"], 0);
    assert_eq!(output(&sampled, "mode"), "sample", "{sampled}");
    project.trainyard(&["compare"], 0);

    // main: all the data; version 1 is registered and deployed to dev.
    let full = project.trainyard(&["train", "--mode", "full"], 0);
    assert_eq!(output(&full, "model-version"), "1", "{full}");
    let promote = |env: &str, reason: &str| {
        project.trainyard(
            &[
                "promote",
                "--env",
                env,
                "--direct",
                "--no-push",
                "--reason",
                reason,
            ],
            0,
        )
    };
    promote("dev", "a first model");
    let staging = project.trainyard(&["gate", "--env", "staging"], 0);
    assert_eq!(output(&staging, "passed"), "true", "{staging}");
    promote("staging", "the staging gate passed");

    // prod takes released commits only: refused, tagged, let in.
    project.trainyard(&["gate", "--env", "prod"], 1);
    let trained_on = git(&project.dir, &["rev-list", "--max-parents=0", "HEAD"]);
    git(
        &project.dir,
        &["tag", "-a", "v1.0.0", "-m", "v1.0.0", &trained_on],
    );
    project.trainyard(&["gate", "--env", "prod"], 0);
    promote("prod", "v1.0.0 released");
    assert_eq!(project.release_version("prod"), "1");

    // Version 2 reaches staging; staging goes back to version 1.
    let second = project.trainyard(&["train", "--mode", "full"], 0);
    assert_eq!(output(&second, "model-version"), "2", "{second}");
    promote("dev", "a second model");
    promote("staging", "the staging gate passed");
    assert_eq!(project.release_version("staging"), "2");
    project.trainyard(
        &[
            "rollback",
            "--env",
            "staging",
            "--reason",
            "a test of rollback",
            "--direct",
            "--no-push",
        ],
        0,
    );
    assert_eq!(project.release_version("staging"), "1");

    project.trainyard(&["iac", "render", "--all"], 0);
    project.trainyard(&["iac", "check"], 0);
}

/// The template's own pytest suite, in the venv.
fn pytest_passes(project: &Project) {
    let output = project
        .python()
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the template's pytest suite failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn realtime_classifier_runs_the_whole_loop_and_serves_predictions() {
    let project = Project::new(
        "realtime-classifier",
        &[
            ("ci", "both"),
            ("iac", "terraform"),
            ("python_version", "3.11"),
        ],
    );
    the_whole_loop(&project);
    assert!(project.dir.join("infra/terraform/prod/main.tf").is_file());

    // prod's model, fetched the way a deployment does, answers over HTTP.
    let model_dir = project.dir.join("model");
    project.trainyard(
        &[
            "model",
            "get",
            "--env",
            "prod",
            "-o",
            model_dir.to_str().unwrap(),
        ],
        0,
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut service = project
        .python()
        .args([
            "-m",
            "classifier.service",
            "--model",
            "model/model.joblib",
            "--port",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let health = wait_for_http(port, "GET /health HTTP/1.0\r\n\r\n", &mut service);
    let first_wine = r#"{"instances": [{"alcohol": 14.23, "malic_acid": 1.71, "ash": 2.43, "alcalinity_of_ash": 15.6, "magnesium": 127, "total_phenols": 2.8, "flavanoids": 3.06, "nonflavanoid_phenols": 0.28, "proanthocyanins": 2.29, "color_intensity": 5.64, "hue": 1.04, "od280_od315_of_diluted_wines": 3.92, "proline": 1065}]}"#;
    let predict = http(
        port,
        &format!(
            "POST /predict HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{first_wine}",
            first_wine.len()
        ),
    );
    let _ = service.kill();
    let _ = service.wait();
    assert!(health.starts_with("HTTP/1.0 200"), "{health}");
    assert!(health.contains(r#""status": "ok""#), "{health}");
    assert!(predict.starts_with("HTTP/1.0 200"), "{predict}");
    let body: serde_json::Value =
        serde_json::from_str(predict.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(
        body["predictions"],
        serde_json::json!(["class_0"]),
        "{body}"
    );

    pytest_passes(&project);
}

#[test]
fn batch_scoring_runs_the_whole_loop_scores_a_window_and_watches_drift() {
    let project = Project::new(
        "batch-scoring",
        &[("ci", "both"), ("iac", "bicep"), ("python_version", "3.11")],
    );
    // The bundled window has not drifted from the training data.
    let drift = project.trainyard(
        &[
            "data",
            "drift",
            "--reference",
            "patients",
            "--current",
            "window",
        ],
        0,
    );
    assert_eq!(output(&drift, "drifted"), "false", "{drift}");
    the_whole_loop(&project);
    assert!(project.dir.join("infra/bicep/prod/main.bicep").is_file());

    // The scheduled job: prod's model scores the window into predictions.
    project.trainyard(&["model", "get", "--env", "prod", "-o", "model"], 0);
    let scored = run_ok(project.python().args([
        "-m",
        "scoring.score",
        "--model",
        "model/model.joblib",
        "--window",
        "data/incoming/window.csv",
        "--out",
        "predictions/window.csv",
    ]));
    assert!(scored.contains("scored 120 rows"), "{scored}");
    let predictions = std::fs::read_to_string(project.dir.join("predictions/window.csv")).unwrap();
    assert_eq!(predictions.lines().count(), 121, "{predictions}");
    assert!(
        predictions.starts_with("row,prediction,p_malignant\n1,"),
        "{predictions}"
    );

    // A window whose inputs shifted (every measurement half as large again) drifts: exit 1.
    let window = project.dir.join("data/incoming/window.csv");
    let text = std::fs::read_to_string(&window).unwrap();
    let mut lines = text.lines();
    let mut shifted = vec![lines.next().unwrap().to_owned()];
    shifted.extend(lines.map(|line| {
        line.split(',')
            .map(|value| (value.parse::<f64>().unwrap() * 1.5).to_string())
            .collect::<Vec<_>>()
            .join(",")
    }));
    std::fs::write(&window, shifted.join("\n") + "\n").unwrap();
    let drifted = project.trainyard(
        &[
            "data",
            "drift",
            "--reference",
            "patients",
            "--current",
            "window",
        ],
        1,
    );
    assert_eq!(output(&drifted, "drifted"), "true", "{drifted}");

    std::fs::write(
        &window,
        git(&project.dir, &["show", "HEAD:data/incoming/window.csv"]) + "\n",
    )
    .unwrap();
    pytest_passes(&project);
}

/// Asks until the service answers (it loads the model first), or it exits.
fn wait_for_http(port: u16, request: &str, child: &mut std::process::Child) -> String {
    let deadline = Instant::now() + Duration::from_mins(2);
    loop {
        if let Ok(answer) = std::panic::catch_unwind(|| http(port, request)) {
            return answer;
        }
        assert!(child.try_wait().unwrap().is_none(), "the service exited");
        assert!(
            Instant::now() < deadline,
            "the service did not answer within 120 s"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn http(port: u16, request: &str) -> String {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

/// The marked Python setup block, the one addition the scaffolds make to
/// ci-examples' pull-request and main files; and the dataset names that differ.
fn without_the_scaffold_block(text: &str) -> String {
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("# scaffold: ") {
            inside = true;
        } else if trimmed == "# end scaffold" {
            inside = false;
        } else if !inside {
            out.push(line);
        }
    }
    assert!(!inside, "a scaffold block is not closed");
    out.join("\n") + "\n"
}

/// ci-examples' files as a template has them: its dataset names.
fn as_in_template(template: &str, text: &str) -> String {
    match template {
        "batch-scoring" => text
            .replace("reference: biopsies", "reference: patients")
            .replace("current: data/production.csv", "current: window"),
        _ => text.to_owned(),
    }
}

/// Files of `dir` with extension `yml`, sorted by name.
fn yml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    files
}

fn venv_tool(name: &str) -> PathBuf {
    common::repo().join(".venv/bin").join(name)
}

fn assert_tool_passes(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("{command:?}: {error} (`.ci/test` installs it)"));
    assert!(
        output.status.success(),
        "{command:?}:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn rendered_ci_files_are_ci_examples_plus_python_and_pass_their_validators() {
    let pipeline_schema = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        pipeline_schema.path(),
        crate::azure_devops::pipeline_schema_with_the_extension().to_string(),
    )
    .unwrap();
    for template in TEMPLATES {
        for ci in ["github", "azure-devops", "both"] {
            let parent = tempfile::tempdir().unwrap();
            let dir = parent.path().join("ci-check");
            render_scaffold(
                template,
                &dir,
                &[("ci", ci), ("iac", "terraform"), ("python_version", "3.12")],
            );
            let github = dir.join(".github/workflows");
            let azure = dir.join(".azure-pipelines");
            assert_eq!(github.is_dir(), ci != "azure-devops", "{template} ci={ci}");
            assert_eq!(azure.is_dir(), ci != "github", "{template} ci={ci}");
            assert_eq!(
                std::fs::read_to_string(dir.join(".python-version"))
                    .unwrap()
                    .trim(),
                "3.12"
            );

            for (folder, examples) in [(&github, "github-actions"), (&azure, "azure-pipelines")] {
                if !folder.is_dir() {
                    continue;
                }
                let files = yml_files(folder);
                for file in &files {
                    let name = file.file_name().unwrap().to_str().unwrap();
                    let example = common::repo().join("ci-examples").join(examples).join(name);
                    let rendered = std::fs::read_to_string(file).unwrap();
                    assert!(
                        !rendered.contains("{%") && !rendered.contains("{{ python"),
                        "{}",
                        file.display()
                    );
                    if name == "score.yml" {
                        // The batch job's own schedule: no ci-examples counterpart.
                        assert_eq!(template, "batch-scoring");
                        continue;
                    }
                    let example =
                        as_in_template(template, &std::fs::read_to_string(&example).unwrap());
                    assert_eq!(
                        without_the_scaffold_block(&rendered),
                        example,
                        "{template}: {} drifted from ci-examples/{examples}/{name}",
                        file.display()
                    );
                    if examples == "azure-pipelines" && rendered.contains("# scaffold: ") {
                        assert!(rendered.contains(r#"versionSpec: "3.12""#), "{rendered}");
                    }
                }
                if examples == "github-actions" {
                    assert_tool_passes(
                        Command::new(venv_tool("check-jsonschema"))
                            .args(["--builtin-schema", "vendor.github-workflows"])
                            .args(&files),
                    );
                    assert_tool_passes(
                        Command::new(venv_tool("actionlint"))
                            .args(&files)
                            .current_dir(&dir),
                    );
                    assert_tool_passes(
                        Command::new(venv_tool("zizmor"))
                            .args([
                                "--offline",
                                "--persona",
                                "pedantic",
                                "--no-progress",
                                "--config",
                            ])
                            .arg(dir.join(".github/zizmor.yml"))
                            .args(&files),
                    );
                } else {
                    assert_tool_passes(
                        Command::new(venv_tool("check-jsonschema"))
                            .args(["--regex-variant", "python", "--schemafile"])
                            .arg(pipeline_schema.path())
                            .args(&files),
                    );
                }
            }
        }
    }
}

#[test]
fn each_iac_choice_renders_a_manifest_that_checks_and_renders() {
    let choices: [(&str, &str); 4] = [
        ("terraform", ""),
        ("bicep", ""),
        ("kubernetes", "s3://models/scaffold"),
        (
            "azureml",
            "https://stscaffold.blob.core.windows.net/models/scaffold",
        ),
    ];
    for template in TEMPLATES {
        for (iac, store) in choices {
            let project = Project::new(template, &[("iac", iac), ("store_url", store)]);
            project.trainyard(&["config", "check"], 0);
            assert_tool_passes(
                Command::new(venv_tool("check-jsonschema"))
                    .arg("--schemafile")
                    .arg(common::repo().join("schemas/trainyard.schema.json"))
                    .arg(project.dir.join("trainyard.yaml")),
            );
            project.trainyard(&["iac", "render", "--all"], 0);
            project.trainyard(&["iac", "check"], 0);
            assert!(
                project.dir.join("infra").join(iac).join("prod").is_dir(),
                "{template} iac={iac}: nothing rendered for prod"
            );
        }
        // The defaults (kubernetes, the local store): a project that checks and
        // runs, whose manifest says what kubernetes waits for; given a store, it renders.
        let defaults = Project::new(template, &[]);
        defaults.trainyard(&["config", "check"], 0);
        let manifest = std::fs::read_to_string(defaults.dir.join("trainyard.yaml")).unwrap();
        assert!(manifest.contains("  targets: []\n"), "{manifest}");
        assert!(
            manifest.contains(
                "set `artifacts.store` (below), then make this\n  # `targets: [kubernetes]`"
            ),
            "{manifest}"
        );
        let ready = manifest.replace("  targets: []\n", "  targets: [kubernetes]\n")
            + "artifacts:\n  store: gs://models/scaffold\n";
        std::fs::write(defaults.dir.join("trainyard.yaml"), ready).unwrap();
        defaults.trainyard(&["iac", "render", "--all"], 0);
        assert!(
            defaults
                .dir
                .join("infra/kubernetes/prod/inferenceservice.yaml")
                .is_file()
        );
    }
}
