//! The Azure DevOps extension (`azure-devops/`): every task.json validates
//! against azure-pipelines-task-lib's task schema (vendored in
//! tests/fixtures/azure-pipelines); the extension packages with `tfx extension
//! create`, validation on; each task's entry runs under task-lib's own
//! `MockTestRunner` with nothing mocked and the binary built from this tree —
//! the quickstart flow (validate → train → report → gate → promote) end to end
//! on a real git repository, and the other tasks after it; the entry installs
//! the pinned release archive and refuses one whose sha256 differs; the
//! example pipelines validate against the Azure Pipelines schema and use only
//! the extension's tasks and inputs.
//!
//! Needs `npm ci --prefix azure-devops` (`.ci/test` runs it) and Node 20.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use trainyard_testkit::git::{bare_remote, git, init_and_commit_all};

const TASKS: [&str; 10] = [
    "validate-data",
    "train",
    "report",
    "gate",
    "promote",
    "rollback",
    "iac",
    "drift",
    "model-get",
    "site",
];

/// The inputs the shared entry reads itself (never passed to the binary).
const ENTRY_INPUTS: [&str; 4] = [
    "trainyardPath",
    "trainyardVersion",
    "trainyardDownloadUrl",
    "workingDirectory",
];

fn extension() -> PathBuf {
    common::repo().join("azure-devops")
}

fn node_modules() -> PathBuf {
    let dir = extension().join("node_modules");
    assert!(
        dir.join("azure-pipelines-task-lib").is_dir() && dir.join(".bin/tfx").exists(),
        "azure-devops/node_modules is missing: run `.ci/test` (or `npm ci --prefix azure-devops`) first"
    );
    dir
}

fn task_json(task: &str) -> serde_json::Value {
    let path = extension().join("tasks").join(task).join("task.json");
    serde_json::from_slice(&std::fs::read(&path).unwrap())
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn command_json(task: &str) -> serde_json::Value {
    let path = extension().join("tasks").join(task).join("command.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// `node scripts/package.mjs OUT [flags]`, failing the test with its output.
fn package(out: &Path, flags: &[&str]) {
    node_modules();
    let output = Command::new("node")
        .arg(extension().join("scripts/package.mjs"))
        .arg(out)
        .args(flags)
        .env("DO_NOT_TRACK", "1")
        .output()
        .expect("node runs (the extension needs Node.js 20)");
    assert!(
        output.status.success(),
        "packaging failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The staged extension (each task folder as it ships), built once per run.
fn staged() -> &'static Path {
    static STAGED: OnceLock<PathBuf> = OnceLock::new();
    STAGED.get_or_init(|| {
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("azure-devops-staged");
        package(&out, &["--stage-only"]);
        out.join("extension")
    })
}

/// MockTestRunner runs a task with the Node its task.json names, from
/// `$HOME/azure-pipelines-task-lib/_download` (task-lib's mock-test.ts,
/// `getPathToNodeExe`): the folder and its `.completed` marker are seeded with
/// this machine's Node so nothing is downloaded.
fn seed_mock_test_runner_node() {
    static SEEDED: OnceLock<()> = OnceLock::new();
    SEEDED.get_or_init(|| {
        let home = PathBuf::from(std::env::var_os("HOME").expect("HOME is set"));
        let download = home.join("azure-pipelines-task-lib/_download");
        let bin = download.join("node20/node-v20.13.1-linux-x64/bin");
        let node = bin.join("node");
        if !node.exists() {
            let machine = Command::new("sh")
                .args(["-c", "command -v node"])
                .output()
                .unwrap();
            let machine = String::from_utf8(machine.stdout).unwrap();
            std::fs::create_dir_all(&bin).unwrap();
            std::os::unix::fs::symlink(machine.trim(), &node).unwrap();
        }
        std::fs::write(download.join("node20.completed"), "").unwrap();
    });
}

/// One task's run under MockTestRunner.
struct TaskRun {
    succeeded: bool,
    stdout: String,
    errors: Vec<String>,
    /// The output variables the binary set (`task.setvariable … isOutput=true`).
    outputs: BTreeMap<String, String>,
}

impl TaskRun {
    fn output(&self, name: &str) -> &str {
        self.outputs
            .get(name)
            .unwrap_or_else(|| panic!("no output {name}:\n{}", self.stdout))
    }

    /// The task-lib ran the binary with exactly these arguments (its `[command]` line).
    fn assert_ran(&self, command_line: &str) {
        assert!(
            self.stdout
                .lines()
                .any(|line| line.starts_with("[command]") && line.ends_with(command_line)),
            "no [command] line ending in `{command_line}`:\n{}",
            self.stdout
        );
    }

    /// The line `task.complete` ended the task with.
    fn completion(&self) -> &str {
        self.stdout
            .lines()
            .find(|line| line.starts_with("##vso[task.complete"))
            .unwrap_or_else(|| panic!("the task never completed:\n{}", self.stdout))
    }
}

/// An agent's environment for a job on `main` of `repo`: its temporary and
/// tools folders under `agent`, this tree's trainyard first on PATH.
fn agent_env(agent: &Path, repo: &Path) -> Vec<(String, String)> {
    for dir in ["temp", "tools"] {
        std::fs::create_dir_all(agent.join(dir)).unwrap();
    }
    let binary = assert_cmd::cargo::cargo_bin("trainyard");
    let path = format!(
        "{}:{}",
        binary.parent().unwrap().display(),
        std::env::var("PATH").unwrap()
    );
    [
        ("TF_BUILD", "True".to_owned()),
        ("BUILD_REASON", "IndividualCI".to_owned()),
        ("BUILD_SOURCEBRANCH", "refs/heads/main".to_owned()),
        ("BUILD_SOURCEVERSION", git(repo, &["rev-parse", "HEAD"])),
        ("BUILD_BUILDID", "7".to_owned()),
        ("SYSTEM_JOBID", "ml".to_owned()),
        (
            "AGENT_TEMPDIRECTORY",
            agent.join("temp").display().to_string(),
        ),
        (
            "AGENT_TOOLSDIRECTORY",
            agent.join("tools").display().to_string(),
        ),
        ("PATH", path),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect()
}

/// Runs the staged `task` under MockTestRunner with `inputs`, in `cwd`, with
/// the ambient CI variables scrubbed and `env` set.
fn run_task(
    stage: &Path,
    task: &str,
    cwd: &Path,
    inputs: &[(&str, &str)],
    env: &[(String, String)],
) -> TaskRun {
    seed_mock_test_runner_node();
    let inputs: serde_json::Map<String, serde_json::Value> = inputs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).into()))
        .collect();
    let mut command = Command::new("node");
    common::without_ambient_ci(&mut command);
    let output = command
        .arg(extension().join("test/mock-run.js"))
        .arg(stage.join("tasks").join(task))
        .current_dir(cwd)
        .envs(env.iter().map(|(name, value)| (name, value)))
        .env(
            "TRAINYARD_TASK_INPUTS",
            serde_json::Value::Object(inputs).to_string(),
        )
        .env("DO_NOT_TRACK", "1")
        .output()
        .expect("node runs");
    assert!(
        output.status.success(),
        "MockTestRunner failed for {task}:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let stdout = result["stdout"].as_str().unwrap().to_owned();
    let outputs = stdout
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("##vso[task.setvariable variable=")?;
            let (name, rest) = rest.split_once(";isOutput=true]")?;
            Some((name.to_owned(), rest.to_owned()))
        })
        .collect();
    TaskRun {
        succeeded: result["succeeded"].as_bool().unwrap(),
        stdout,
        errors: result["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|error| error.as_str().unwrap().to_owned())
            .collect(),
        outputs,
    }
}

/// Every output variable `task.json` declares was set by `runs`, and every
/// output they set that task.json can name (`^[A-Za-z][A-Za-z0-9]*$`) is
/// declared: the declaration is the binary's truth.
fn assert_outputs_declared(task: &str, runs: &[&TaskRun]) {
    if let Some(problem) = undeclared_outputs(task, runs) {
        panic!("{problem}");
    }
}

fn undeclared_outputs(task: &str, runs: &[&TaskRun]) -> Option<String> {
    let declared: BTreeSet<String> = task_json(task)["outputVariables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|output| output["name"].as_str().unwrap().to_owned())
        .collect();
    let set: BTreeSet<String> = runs
        .iter()
        .flat_map(|run| run.outputs.keys().cloned())
        .collect();
    let nameable: BTreeSet<String> = set
        .iter()
        .filter(|name| name.chars().all(|c| c.is_ascii_alphanumeric()))
        .cloned()
        .collect();
    let undeclared: Vec<_> = nameable.difference(&declared).collect();
    let unset: Vec<_> = declared.difference(&set).collect();
    (!undeclared.is_empty() || !unset.is_empty()).then(|| {
        format!("{task}: outputs set but not declared: {undeclared:?}; declared but never set: {unset:?}")
    })
}

/// The example project as a git repository on `main`, with a bare `origin`.
fn example_repository(parent: &Path) -> PathBuf {
    let project = parent.join("project");
    common::copy_dir(&common::repo().join("examples/breast-cancer"), &project);
    init_and_commit_all(&project);
    git(&project, &["config", "user.name", "Build Service"]);
    git(&project, &["config", "user.email", "build@example.com"]);
    bare_remote(parent, &project);
    project
}

#[test]
fn every_task_json_validates_against_the_task_lib_schema() {
    let mut files: Vec<PathBuf> = TASKS
        .iter()
        .map(|task| extension().join("tasks").join(task).join("task.json"))
        .collect();
    files.sort();
    let output = Command::new(common::repo().join(".venv/bin/check-jsonschema"))
        .args(["--regex-variant", "python", "--schemafile"])
        .arg(common::repo().join("tests/fixtures/azure-pipelines/tasks.schema.json"))
        .args(&files)
        .output()
        .expect("check-jsonschema is installed in .venv (`.ci/test`)");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

    let cli: String = std::fs::read_dir(common::repo().join("src/cli"))
        .unwrap()
        .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
        .collect();
    let mut ids = BTreeSet::new();
    let mut names = BTreeSet::new();
    let listed: BTreeSet<String> = std::fs::read_dir(extension().join("tasks"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(listed, TASKS.iter().map(|t| (*t).to_owned()).collect());
    for task in TASKS {
        let json = task_json(task);
        assert!(
            ids.insert(json["id"].as_str().unwrap().to_owned()),
            "{task}: id reused"
        );
        assert!(
            names.insert(json["name"].as_str().unwrap().to_owned()),
            "{task}: name reused"
        );
        for handler in ["Node20_1", "Node24"] {
            assert_eq!(
                json["execution"][handler]["target"], "index.js",
                "{task}: {handler}"
            );
        }
        assert!(json["minimumAgentVersion"].is_string(), "{task}");
        let spec = command_json(task);
        let arguments: BTreeSet<&str> = spec["arguments"]
            .as_object()
            .map(|arguments| arguments.keys().map(String::as_str).collect())
            .unwrap_or_default();
        // Every other input reaches the binary as INPUT_<NAME>: an option it reads.
        for input in json["inputs"].as_array().unwrap() {
            let name = input["name"].as_str().unwrap();
            assert!(
                !input["helpMarkDown"].as_str().unwrap_or("").is_empty(),
                "{task}: {name} has no help"
            );
            let in_command = spec["command"]
                .as_array()
                .unwrap()
                .iter()
                .any(|word| word.as_str() == Some(&format!("{{{name}}}")));
            if ENTRY_INPUTS.contains(&name) || arguments.contains(name) || in_command {
                continue;
            }
            let variable = input_variable(name).replacen("INPUT_", "TRAINYARD_", 1);
            assert!(
                cli.contains(&format!("env = \"{variable}\"")),
                "{task}: input {name} becomes {variable}, which no option of src/cli reads"
            );
        }
    }
}

/// The entry's naming (src/run.ts `inputVariable`): `reportsDir` -> `INPUT_REPORTS_DIR`.
fn input_variable(name: &str) -> String {
    let mut variable = String::from("INPUT_");
    let mut previous_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() && previous_lower {
            variable.push('_');
        }
        previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        variable.push(c.to_ascii_uppercase());
    }
    variable
}

#[test]
fn the_extension_packages_into_a_vsix_with_tfx() {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("azure-devops-vsix");
    let _ = std::fs::remove_dir_all(&out);
    package(&out, &[]);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(extension().join("vss-extension.json")).unwrap())
            .unwrap();
    let vsix = out.join(format!(
        "trainyard-{}.vsix",
        manifest["version"].as_str().unwrap()
    ));
    let listing = Command::new("python3")
        .args(["-m", "zipfile", "-l"])
        .arg(&vsix)
        .output()
        .unwrap();
    assert!(listing.status.success(), "{} is not a zip", vsix.display());
    let listing = String::from_utf8_lossy(&listing.stdout);
    for task in TASKS {
        for file in [
            "task.json",
            "command.json",
            "index.js",
            "binaries.sha256",
            "node_modules/azure-pipelines-task-lib/task.js",
            "node_modules/azure-pipelines-tool-lib/tool.js",
        ] {
            let path = format!("tasks/{task}/{file}");
            assert!(listing.contains(&path), "{path} is not in the vsix");
        }
        // One pin list: the GitHub actions' own.
        assert_eq!(
            std::fs::read(
                out.join("extension/tasks")
                    .join(task)
                    .join("binaries.sha256")
            )
            .unwrap(),
            std::fs::read(common::repo().join("action/binaries.sha256")).unwrap()
        );
    }
    assert!(listing.contains("extension.vsomanifest"), "{listing}");
}

/// validate → train → report → gate → promote through the tasks, as the
/// example main pipeline runs them; then the other tasks on what that made.
// One pipeline's flow, read top to bottom.
#[allow(clippy::too_many_lines)]
#[test]
fn the_quickstart_flow_runs_through_the_tasks() {
    let stage = staged();
    let parent = tempfile::tempdir().unwrap();
    let project = example_repository(parent.path());
    let agent = parent.path().join("agent");
    let env = agent_env(&agent, &project);
    // The agent's folder, not the project: workingDirectory takes the task there.
    let cwd = parent.path();
    let dir = project.to_str().unwrap();
    let run = |task: &str, inputs: &[(&str, &str)]| {
        let mut inputs = inputs.to_vec();
        inputs.push(("workingDirectory", dir));
        run_task(stage, task, cwd, &inputs, &env)
    };

    let validate = run(
        "validate-data",
        &[("datasets", "biopsies"), ("junit", "junit.xml")],
    );
    assert!(validate.succeeded, "{}", validate.stdout);
    assert_eq!(validate.output("valid"), "1/1");
    // The datasets input is the command's positional arguments (command.json).
    validate.assert_ran("trainyard data validate biopsies");
    assert!(project.join("junit.xml").is_file());

    let train = run("train", &[("trainMode", "full"), ("params", "")]);
    assert!(train.succeeded, "{}", train.stdout);
    assert_eq!(train.output("mode"), "full");
    assert_eq!(train.output("outcome"), "succeeded");
    assert_eq!(train.output("model-version"), "1");

    let report = run("report", &[]);
    assert!(report.succeeded, "{}", report.stdout);
    assert_eq!(report.output("reports"), "2");
    assert_eq!(report.output("verdict"), "success");

    // The example's first environment takes every model of main, so the
    // promotion order lets it into staging.
    let dev = run(
        "promote",
        &[
            ("env", "dev"),
            ("direct", "true"),
            ("reason", "trained on main"),
        ],
    );
    assert!(dev.succeeded, "{}", dev.stdout);

    let gate = run("gate", &[("env", "staging")]);
    assert!(gate.succeeded, "{}", gate.stdout);
    assert_eq!(gate.output("passed"), "true");
    assert_eq!(gate.output("version"), "1");

    let promote = run(
        "promote",
        &[
            ("env", "staging"),
            ("direct", "true"),
            ("reason", "the staging gate passed"),
        ],
    );
    assert!(promote.succeeded, "{}", promote.stdout);
    assert_eq!(promote.output("changed"), "true");
    assert_eq!(promote.output("pushed"), "true");
    // The desired state reached the remote's main.
    let remote = parent.path().join("remote.git");
    let release = git(&remote, &["show", "main:deploy/staging/release.yaml"]);
    assert!(release.contains("version: 1"), "{release}");
    assert!(release.contains("the staging gate passed"), "{release}");

    // prod refuses (its gate wants a release tag): exit 1 is the task's failure.
    let refused = run("gate", &[("env", "prod")]);
    assert!(!refused.succeeded);
    assert_eq!(refused.output("passed"), "false");
    assert!(
        refused.completion().ends_with("trainyard exited with 1"),
        "{}",
        refused.completion()
    );

    let fetched = parent.path().join("fetched");
    let get = run(
        "model-get",
        &[("model", "1"), ("output", fetched.to_str().unwrap())],
    );
    assert!(get.succeeded, "{}", get.stdout);
    assert!(fetched.join("model.json").is_file());

    let site_dir = parent.path().join("site");
    let site = run("site", &[("output", site_dir.to_str().unwrap())]);
    assert!(site.succeeded, "{}", site.stdout);
    assert!(site_dir.join("index.html").is_file());

    // A second version reaches staging; rollback returns to the first.
    let train2 = run("train", &[("trainMode", "full"), ("params", "epochs=3\n")]);
    assert!(train2.succeeded, "{}", train2.stdout);
    assert_eq!(train2.output("model-version"), "2");
    // Each line of params is one --param.
    train2.assert_ran("trainyard train --param epochs=3");
    let dev2 = run(
        "promote",
        &[("env", "dev"), ("direct", "true"), ("model", "2")],
    );
    assert!(dev2.succeeded, "{}", dev2.stdout);
    let promote2 = run(
        "promote",
        &[("env", "staging"), ("direct", "true"), ("model", "2")],
    );
    assert!(promote2.succeeded, "{}", promote2.stdout);
    let rollback = run(
        "rollback",
        &[
            ("env", "staging"),
            ("reason", "v2 misbehaves"),
            ("direct", "true"),
        ],
    );
    assert!(rollback.succeeded, "{}", rollback.stdout);
    assert_eq!(rollback.output("version"), "1");
    let release = git(&remote, &["show", "main:deploy/staging/release.yaml"]);
    assert!(release.contains("change: rollback"), "{release}");

    let mut problems = Vec::new();
    for (task, runs) in [
        ("validate-data", vec![&validate]),
        ("train", vec![&train, &train2]),
        ("report", vec![&report]),
        ("gate", vec![&gate, &refused]),
        ("promote", vec![&dev, &promote, &dev2, &promote2]),
        ("rollback", vec![&rollback]),
        ("model-get", vec![&get]),
        ("site", vec![&site]),
    ] {
        problems.extend(undeclared_outputs(task, &runs));
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_iac_and_drift_tasks_run_the_binary() {
    let stage = staged();
    let parent = tempfile::tempdir().unwrap();
    let project = example_repository(parent.path());
    let env = agent_env(&parent.path().join("agent"), &project);
    let run = |task: &str, inputs: &[(&str, &str)]| run_task(stage, task, &project, inputs, &env);

    let render = run("iac", &[("command", "render"), ("all", "true")]);
    assert!(render.succeeded, "{}", render.stdout);
    assert!(project.join("infra").is_dir());
    let check = run(
        "iac",
        &[
            ("command", "check"),
            ("env", "dev,prod"),
            ("target", "terraform"),
        ],
    );
    assert!(check.succeeded, "{}", check.stdout);
    assert_eq!(check.output("drifted"), "0");
    assert_outputs_declared("iac", &[&render, &check]);

    let same = run(
        "drift",
        &[
            ("reference", "biopsies"),
            ("current", "data/breast_cancer.csv"),
        ],
    );
    assert!(same.succeeded, "{}", same.stdout);
    assert_eq!(same.output("drifted"), "false");
    // Shift one column of 31 far enough that it drifts; a share of 0.03 makes that dataset drift.
    let data = std::fs::read_to_string(project.join("data/breast_cancer.csv")).unwrap();
    let mut lines = data.lines();
    let header = lines.next().unwrap();
    let radius = header.split(',').position(|c| c == "mean_radius").unwrap();
    let mut shifted = vec![header.to_owned()];
    for line in lines {
        let mut cells: Vec<String> = line.split(',').map(str::to_owned).collect();
        let value: f64 = cells[radius].parse().unwrap();
        cells[radius] = format!("{}", value * 3.0);
        shifted.push(cells.join(","));
    }
    std::fs::write(project.join("current.csv"), shifted.join("\n") + "\n").unwrap();
    let drifted = run(
        "drift",
        &[
            ("reference", "biopsies"),
            ("current", "current.csv"),
            ("driftShare", "0.03"),
        ],
    );
    assert!(!drifted.succeeded, "{}", drifted.stdout);
    assert_eq!(drifted.output("drifted"), "true");
    assert!(drifted.completion().ends_with("trainyard exited with 1"));
    assert_outputs_declared("drift", &[&same, &drifted]);

    // A usage error is the task's failure too, with the binary's message.
    let unknown = run("iac", &[("command", "render"), ("env", "nowhere")]);
    assert!(!unknown.succeeded);
    assert!(
        unknown.completion().ends_with("trainyard exited with 2"),
        "{}",
        unknown.completion()
    );
}

/// A tiny HTTP server for one file: what a release mirror serves.
fn serve(body: Vec<u8>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut request = [0_u8; 4096];
            let _ = stream.read(&mut request);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(&body);
        }
    });
    url
}

fn sha256_hex(path: &Path) -> String {
    let output = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8(output.stdout).unwrap()[..64].to_owned()
}

/// Without trainyard on PATH, the entry downloads the pinned archive from the
/// mirror, checks its sha256 and caches it; an archive whose sha256 differs
/// is refused and nothing is cached.
#[test]
fn the_entry_installs_only_the_pinned_archive() {
    let stage = staged();
    let parent = tempfile::tempdir().unwrap();
    // A copy of one staged task, with its own pin list.
    let task_dir = parent.path().join("stage/tasks/report");
    common::copy_dir(&stage.join("tasks/report"), &task_dir);
    let version = "0.0.1-test";
    let archive_name = format!("trainyard-v{version}-x86_64-unknown-linux-musl.tar.gz");
    let archive_dir = parent.path().join("archive");
    std::fs::create_dir_all(&archive_dir).unwrap();
    std::fs::copy(
        assert_cmd::cargo::cargo_bin("trainyard"),
        archive_dir.join("trainyard"),
    )
    .unwrap();
    let archive = parent.path().join(&archive_name);
    let status = Command::new("tar")
        .arg("-czf")
        .arg(&archive)
        .arg("-C")
        .arg(&archive_dir)
        .arg("trainyard")
        .status()
        .unwrap();
    assert!(status.success());
    let mirror = serve(std::fs::read(&archive).unwrap());

    let project = example_repository(parent.path());
    let agent = parent.path().join("agent");
    let mut env = agent_env(&agent, &project);
    // PATH without trainyard.
    let path = env.iter_mut().find(|(name, _)| name == "PATH").unwrap();
    path.1 = std::env::var("PATH").unwrap();
    let reports = parent.path().join("reports");
    std::fs::create_dir_all(&reports).unwrap();
    let inputs = [
        ("trainyardDownloadUrl", mirror.as_str()),
        ("reportsDir", reports.to_str().unwrap()),
    ];

    let pin = |sha: &str| {
        std::fs::write(
            task_dir.join("binaries.sha256"),
            format!("# version: {version}\n{sha}  {archive_name}\n"),
        )
        .unwrap();
    };
    pin(&"0".repeat(64));
    let refused = run_task(
        &parent.path().join("stage"),
        "report",
        &project,
        &inputs,
        &env,
    );
    assert!(!refused.succeeded);
    assert!(
        refused
            .errors
            .iter()
            .any(|e| e.contains("binaries.sha256 pins 0000")),
        "{:?}",
        refused.errors
    );
    assert!(
        !agent.join("tools/trainyard").exists(),
        "a refused archive was cached"
    );

    if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        pin(&sha256_hex(&archive));
        let installed = run_task(
            &parent.path().join("stage"),
            "report",
            &project,
            &inputs,
            &env,
        );
        assert!(installed.succeeded, "{}", installed.stdout);
        assert!(
            installed.stdout.contains("##vso[task.prependpath]"),
            "{}",
            installed.stdout
        );
        let cached = agent
            .join("tools/trainyard")
            .join(version)
            .join("x86_64-unknown-linux-musl/trainyard");
        assert!(cached.is_file(), "not cached at {}", cached.display());
        // Next time the tool cache answers: no download.
        let again = run_task(
            &parent.path().join("stage"),
            "report",
            &project,
            &inputs,
            &env,
        );
        assert!(again.succeeded);
        assert!(
            again.stdout.contains("from the tool cache"),
            "{}",
            again.stdout
        );
    }
}

/// The example pipelines: valid by check-jsonschema's vendor.azure-pipelines
/// schema with the extension's tasks in it as an organization that installed
/// the extension serves it (the vendored schema lists the built-in tasks only;
/// each task is one more `task` branch in the schema's own shape: its
/// `Name@Major`, its inputs by their YAML name, nothing else allowed), and
/// every task they use is one of the extension's, with inputs it declares.
#[test]
#[allow(clippy::too_many_lines)]
fn the_example_pipelines_validate_and_use_the_extension_s_tasks() {
    let dir = common::repo().join("ci-examples/azure-pipelines");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    let names: Vec<String> = files
        .iter()
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "drift.yml",
            "iac.yml",
            "main.yml",
            "pr.yml",
            "release.yml",
            "site.yml"
        ]
    );

    let schema_dir = tempfile::tempdir().unwrap();
    let schema = schema_dir.path().join("azure-pipelines.json");
    std::fs::write(&schema, pipeline_schema_with_the_extension().to_string()).unwrap();
    let output = Command::new(common::repo().join(".venv/bin/check-jsonschema"))
        .args(["--regex-variant", "python", "--schemafile"])
        .arg(&schema)
        .args(&files)
        .output()
        .expect("check-jsonschema is installed in .venv (`.ci/test`)");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

    let tasks: BTreeMap<String, serde_json::Value> = TASKS
        .iter()
        .map(|task| {
            let json = task_json(task);
            (json["name"].as_str().unwrap().to_owned(), json)
        })
        .collect();
    let mut used = BTreeSet::new();
    for file in &files {
        let pipeline: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let mut steps = Vec::new();
        collect_steps(&pipeline, &mut steps);
        for step in steps {
            let Some(reference) = step.get("task").and_then(|t| t.as_str()) else {
                continue;
            };
            let (name, version) = reference.split_once('@').unwrap();
            let Some(task) = tasks.get(name) else {
                // Built-in tasks the examples may use besides the extension's.
                assert!(
                    ["PublishPipelineArtifact@1"].contains(&reference),
                    "{}: {reference} is not a task of the extension",
                    file.display()
                );
                continue;
            };
            assert_eq!(
                version,
                task["version"]["Major"].to_string(),
                "{}: {reference}",
                file.display()
            );
            used.insert(name.to_owned());
            let declared: BTreeSet<&str> = task["inputs"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|input| {
                    std::iter::once(input["name"].as_str().unwrap()).chain(
                        input["aliases"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|alias| alias.as_str().unwrap()),
                    )
                })
                .collect();
            if let Some(inputs) = step.get("inputs").and_then(|i| i.as_mapping()) {
                for key in inputs.keys() {
                    let key = key.as_str().unwrap();
                    assert!(
                        declared.contains(key),
                        "{}: {name} has no input {key}",
                        file.display()
                    );
                }
            }
        }
    }
    for name in [
        "TrainyardValidateData",
        "TrainyardTrain",
        "TrainyardReport",
        "TrainyardGate",
        "TrainyardPromote",
        "TrainyardDrift",
        "TrainyardIac",
        "TrainyardSite",
    ] {
        assert!(used.contains(name), "no example uses {name}");
    }
}

/// Every mapping with a `task:` or `script:` key under `value`.
fn collect_steps<'a>(value: &'a serde_yaml_ng::Value, steps: &mut Vec<&'a serde_yaml_ng::Value>) {
    match value {
        serde_yaml_ng::Value::Mapping(mapping) => {
            if mapping.contains_key("task") {
                steps.push(value);
            }
            for child in mapping.values() {
                collect_steps(child, steps);
            }
        }
        serde_yaml_ng::Value::Sequence(items) => {
            for item in items {
                collect_steps(item, steps);
            }
        }
        _ => {}
    }
}

/// check-jsonschema's vendor.azure-pipelines schema (from its package in
/// .venv), plus one `task` branch per task of the extension.
pub(crate) fn pipeline_schema_with_the_extension() -> serde_json::Value {
    let output = Command::new(common::repo().join(".venv/bin/python"))
        .args([
            "-c",
            "import check_jsonschema, pathlib; print(pathlib.Path(check_jsonschema.__file__).parent / 'builtin_schemas/vendor/azure-pipelines.json')",
        ])
        .output()
        .expect("check-jsonschema is installed in .venv (`.ci/test`)");
    let path = String::from_utf8(output.stdout).unwrap();
    let mut schema: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path.trim()).unwrap()).unwrap();
    for task in TASKS {
        let json = task_json(task);
        let reference = format!(
            "{}@{}",
            json["name"].as_str().unwrap(),
            json["version"]["Major"]
        );
        // The schema names each task twice: in the list of task names…
        schema["definitions"]["task"]["properties"]["task"]["anyOf"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({
                "description": json["description"],
                "ignoreCase": "value",
                "enum": [reference],
            }));
        let mut properties = serde_json::Map::new();
        let mut required = Vec::new();
        for input in json["inputs"].as_array().unwrap() {
            let name = input["name"].as_str().unwrap();
            // The YAML name is the first alias, as in the schema's own entries.
            let key = input["aliases"][0].as_str().unwrap_or(name);
            let mut property = match input["type"].as_str().unwrap() {
                "boolean" => serde_json::json!({ "type": "boolean" }),
                "pickList" => serde_json::json!({
                    "enum": input["options"].as_object().unwrap().keys().collect::<Vec<_>>(),
                    "ignoreCase": "all",
                }),
                _ => serde_json::json!({ "type": "string", "ignoreCase": "key" }),
            };
            property["description"] = input["label"].clone();
            properties.insert(key.to_owned(), property);
            if input["required"] == true {
                required.push(key.to_owned());
            }
        }
        let has_required = !required.is_empty();
        // …and as a branch with its inputs.
        let branches = schema["definitions"]["task"]["anyOf"]
            .as_array_mut()
            .unwrap();
        branches.push(serde_json::json!({
            "properties": {
                "task": {
                    "description": json["friendlyName"],
                    "ignoreCase": "value",
                    "pattern": format!("^{reference}$"),
                },
                "inputs": {
                    "properties": properties,
                    "additionalProperties": false,
                    "required": required,
                },
            },
            "firstProperty": ["task"],
            "required": if has_required { vec!["task", "inputs"] } else { vec!["task"] },
        }));
    }
    schema
}
