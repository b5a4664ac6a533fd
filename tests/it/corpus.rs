//! The robustness corpus (`tests/corpus/`, see its README) through the real
//! binary: every file through every step that reads its kind. Each run must
//! end by itself within a generous bound (else it is killed and the test
//! fails: a hang, not a speed measure), not by a signal, never with 101 (a
//! panic), and with a documented exit code: 0, 1, 2 or 3.
//!
//! - manifests: `config check` and every step that loads the manifest;
//! - data files (CSV, JSON Lines, Parquet): `data validate` (which profiles),
//!   a sharded validate, `fingerprint`, `sample`, `drift` both ways,
//!   `infer-schema`, and `train --mode sample` (which samples);
//! - schema files: `config check`, `data validate`, `infer-schema`;
//! - profiles: `data merge` (alone and with a good shard) and `data drift`;
//! - event payloads (`event/<event name>--<what>.json`): the steps that read
//!   the CI's event (`train`, `gate`, `compare`, `report`) as GitHub Actions
//!   runs them;
//! - metrics files: written by a training command, read by `train`.
//!
//! The runs go through a few threads at once; the test prints how long the
//! whole corpus and its slowest run took.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use trainyard_testkit::git::init_and_commit_all;

/// Long enough for a loaded CI machine; a hang is what it catches.
const BOUND: Duration = Duration::from_mins(2);

/// One run of the binary.
struct Case {
    what: String,
    dir: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

fn corpus(kind: &str) -> Vec<PathBuf> {
    let dir = common::repo().join("tests/corpus").join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{}: no files", dir.display());
    files
}

fn name_of(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|arg| (*arg).to_owned()).collect()
}

/// A project folder (a git repository) with `files` written in it.
fn project(root: &Path, name: &str, files: &[(&str, &[u8])]) -> PathBuf {
    let dir = folder(root, name, files);
    std::fs::write(dir.join(".gitignore"), ".trainyard/\n").unwrap();
    init_and_commit_all(&dir);
    dir
}

/// A folder with `files` written in it, for steps that need no repository.
fn folder(root: &Path, name: &str, files: &[(&str, &[u8])]) -> PathBuf {
    let dir = root.join(name);
    for (path, bytes) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    dir
}

/// Every step that loads the manifest (each stops where the manifest is refused).
const MANIFEST_STEPS: &[&[&str]] = &[
    &["config", "check"],
    &["data", "validate"],
    &["data", "fingerprint"],
    &["data", "sample", "train"],
    &["data", "infer-schema", "train"],
    &[
        "data",
        "drift",
        "--reference",
        "train",
        "--current",
        "train",
    ],
    &["train", "--mode", "sample"],
    &["compare"],
    &["gate", "--env", "prod"],
    &["promote", "--env", "prod"],
    &["rollback", "--env", "prod", "--reason", "corpus"],
    &["status"],
    &["iac", "check"],
    &["iac", "render"],
    &["report"],
    &["runs", "list"],
];

fn manifest_cases(root: &Path) -> Vec<Case> {
    let mut cases = Vec::new();
    for file in corpus("manifest") {
        let name = name_of(&file);
        let bytes = std::fs::read(&file).unwrap();
        let dir = project(
            root,
            &format!("manifest-{name}"),
            &[("trainyard.yaml", &bytes), ("a.csv", b"a\n1\n")],
        );
        for step in MANIFEST_STEPS {
            cases.push(Case {
                what: format!("manifest/{name}"),
                dir: dir.clone(),
                args: args(step),
                env: Vec::new(),
            });
        }
    }
    cases
}

/// Columns the corpus's data files have, typed and checked (as the data
/// crate's corpus test declares them).
const COLUMNS: &str = "        - { name: a, type: integer, min: 0, unique: true }
        - { name: b, type: number, max: 100, mostly: 0.5 }
        - { name: c, type: string, pattern: '[a-z0-9]+', required: false }
";

fn data_cases(root: &Path) -> Vec<Case> {
    let mut reference = "a,b,c\n".to_owned();
    for row in 0..30 {
        let _ = writeln!(reference, "{row},{}.5,n{row}", row % 4);
    }
    let mut cases = Vec::new();
    for kind in ["csv", "jsonl", "parquet"] {
        for file in corpus(kind) {
            let name = name_of(&file);
            let manifest = format!(
                "version: 1\nproject: {{ name: corpus }}\ntrain:\n  command: [\"true\"]\ndatasets:\n  current:\n    path: data/{name}\n    sample: {{ rows: 2, seed: 7 }}\n    schema:\n      columns:\n{COLUMNS}  reference:\n    path: ref/reference.csv\n"
            );
            let dir = project(
                root,
                &format!("{kind}-{name}"),
                &[
                    ("trainyard.yaml", manifest.as_bytes()),
                    (&format!("data/{name}"), &std::fs::read(&file).unwrap()),
                    ("ref/reference.csv", reference.as_bytes()),
                ],
            );
            for step in [
                &["data", "validate", "current"][..],
                &[
                    "data",
                    "validate",
                    "current",
                    "--shard",
                    "1/2",
                    "--profiles",
                    "shards",
                ],
                &["data", "fingerprint"],
                &["data", "sample", "current"],
                &["data", "sample", "current", "--rows", "3", "--stratify"],
                &[
                    "data",
                    "drift",
                    "--reference",
                    "reference",
                    "--current",
                    "current",
                ],
                &[
                    "data",
                    "drift",
                    "--reference",
                    "current",
                    "--current",
                    "reference",
                ],
                &["data", "infer-schema", "current", "-o", "inferred.yaml"],
                &["train", "--mode", "sample"],
            ] {
                cases.push(Case {
                    what: format!("{kind}/{name}"),
                    dir: dir.clone(),
                    args: args(step),
                    env: Vec::new(),
                });
            }
        }
    }
    cases
}

fn schema_cases(root: &Path) -> Vec<Case> {
    let mut cases = Vec::new();
    for file in corpus("schema") {
        let name = name_of(&file);
        let manifest = format!(
            "version: 1\nproject: {{ name: corpus }}\ndatasets:\n  d:\n    path: d.csv\n    schema-file: schemas/{name}\n"
        );
        let dir = folder(
            root,
            &format!("schema-{name}"),
            &[
                ("trainyard.yaml", manifest.as_bytes()),
                ("d.csv", b"a,b,c\n1,2.5,x\n"),
                (&format!("schemas/{name}"), &std::fs::read(&file).unwrap()),
            ],
        );
        for step in [
            &["config", "check"][..],
            &["data", "validate"],
            &["data", "infer-schema", "d"],
        ] {
            cases.push(Case {
                what: format!("schema/{name}"),
                dir: dir.clone(),
                args: args(step),
                env: Vec::new(),
            });
        }
    }
    cases
}

fn profile_cases(root: &Path) -> Vec<Case> {
    let valid = common::repo().join("tests/corpus/profile/valid.json");
    let mut cases = Vec::new();
    for file in corpus("profile") {
        let name = name_of(&file);
        let dir = folder(
            root,
            &format!("profile-{name}"),
            &[
                ("trainyard.yaml", b"version: 1\nproject: { name: corpus }\n"),
                ("profiles/p.json", &std::fs::read(&file).unwrap()),
                ("profiles/valid.json", &std::fs::read(&valid).unwrap()),
            ],
        );
        for step in [
            &["data", "merge", "profiles/p.json", "-o", "merged.json"][..],
            &["data", "merge", "profiles/valid.json", "profiles/p.json"],
            &[
                "data",
                "drift",
                "--reference",
                "profiles/valid.json",
                "--current",
                "profiles/p.json",
            ],
            &[
                "data",
                "drift",
                "--reference",
                "profiles/p.json",
                "--current",
                "profiles/valid.json",
            ],
        ] {
            cases.push(Case {
                what: format!("profile/{name}"),
                dir: dir.clone(),
                args: args(step),
                env: Vec::new(),
            });
        }
    }
    cases
}

/// A project the event-reading steps can load: environments, gates, a
/// model, a training command that does nothing.
const EVENT_MANIFEST: &str = "version: 1
project: { name: corpus }
train:
  command: [\"true\"]
model:
  name: clf
  path: model.json
environments:
  - name: prod
gates:
  prod:
    metrics: [\"accuracy >= 0.9\"]
";

fn event_cases(root: &Path) -> Vec<Case> {
    let mut cases = Vec::new();
    for file in corpus("event") {
        let name = name_of(&file);
        let event = name.split("--").next().unwrap().to_owned();
        let dir = project(
            root,
            &format!("event-{name}"),
            &[
                ("trainyard.yaml", EVENT_MANIFEST.as_bytes()),
                ("event.json", &std::fs::read(&file).unwrap()),
            ],
        );
        let env = vec![
            ("GITHUB_ACTIONS".to_owned(), "true".to_owned()),
            ("GITHUB_EVENT_NAME".to_owned(), event),
            (
                "GITHUB_EVENT_PATH".to_owned(),
                dir.join("event.json").display().to_string(),
            ),
            ("GITHUB_REPOSITORY".to_owned(), "octo-org/ml".to_owned()),
            ("GITHUB_REF".to_owned(), "refs/heads/main".to_owned()),
            ("GITHUB_SHA".to_owned(), "0".repeat(40)),
            // Nowhere to reach: a step that wants GitHub fails fast.
            ("GITHUB_API_URL".to_owned(), "http://127.0.0.1:9".to_owned()),
            (
                "GITHUB_OUTPUT".to_owned(),
                dir.join("output.txt").display().to_string(),
            ),
            (
                "GITHUB_STEP_SUMMARY".to_owned(),
                dir.join("summary.md").display().to_string(),
            ),
        ];
        for step in [
            &["train"][..],
            &["gate", "--env", "prod"],
            &["compare"],
            &["report"],
        ] {
            cases.push(Case {
                what: format!("event/{name}"),
                dir: dir.clone(),
                args: args(step),
                env: env.clone(),
            });
        }
    }
    cases
}

/// A training command that writes a corpus metrics file where the manifest
/// says `train` reads it.
fn metrics_cases(root: &Path) -> Vec<Case> {
    let mut cases = Vec::new();
    for file in corpus("metrics") {
        let name = name_of(&file);
        let manifest = format!(
            "version: 1\nproject: {{ name: corpus }}\ntrain:\n  command: [cp, metrics/{name}, \"{{{{ output_dir }}}}/{name}\"]\n  metrics-file: {name}\n"
        );
        let dir = project(
            root,
            &format!("metrics-{name}"),
            &[
                ("trainyard.yaml", manifest.as_bytes()),
                (&format!("metrics/{name}"), &std::fs::read(&file).unwrap()),
            ],
        );
        cases.push(Case {
            what: format!("metrics/{name}"),
            dir,
            args: args(&["train"]),
            env: Vec::new(),
        });
    }
    cases
}

/// Runs one case; `Err` says what went wrong.
fn run(case: &Case) -> Result<Duration, String> {
    let started = Instant::now();
    let mut command = common::trainyard_process();
    command
        .current_dir(&case.dir)
        .env("HOME", case.dir.join(".home"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .args(["--format", "json"])
        .args(&case.args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (name, value) in &case.env {
        command.env(name, value);
    }
    let mut child = command.spawn().map_err(|error| error.to_string())?;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|error| error.to_string())? {
            break status;
        }
        if started.elapsed() > BOUND {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("still running after {BOUND:?}: killed"));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    match status.code() {
        Some(0..=3) => Ok(started.elapsed()),
        Some(101) => Err("exit 101: a panic".to_owned()),
        Some(code) => Err(format!("exit {code}, not in the documented set 0-3")),
        None => Err(format!("ended by a signal: {status}")),
    }
}

#[test]
fn every_corpus_file_through_every_step_that_reads_it_ends_with_a_documented_code() {
    let root = tempfile::tempdir().unwrap();
    let prepared = Instant::now();
    let builders: [fn(&Path) -> Vec<Case>; 6] = [
        manifest_cases,
        data_cases,
        schema_cases,
        profile_cases,
        event_cases,
        metrics_cases,
    ];
    // The projects are git repositories: made side by side.
    let cases: Vec<Case> = std::thread::scope(|scope| {
        let root = root.path();
        let jobs: Vec<_> = builders
            .iter()
            .map(|build| scope.spawn(move || build(root)))
            .collect();
        jobs.into_iter()
            .flat_map(|job| job.join().unwrap())
            .collect()
    });
    let prepared = prepared.elapsed();

    let started = Instant::now();
    let queue = Mutex::new(cases.iter().collect::<Vec<_>>());
    let failures = Mutex::new(Vec::new());
    let slowest = Mutex::new((Duration::ZERO, String::new()));
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 4));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let Some(case) = queue.lock().unwrap().pop() else {
                        return;
                    };
                    let shown = format!("{} `trainyard {}`", case.what, case.args.join(" "));
                    match run(case) {
                        Ok(took) => {
                            let mut slowest = slowest.lock().unwrap();
                            if took > slowest.0 {
                                *slowest = (took, shown);
                            }
                        }
                        Err(why) => failures
                            .lock()
                            .unwrap()
                            .push(format!("{shown} in {}: {why}", case.dir.display())),
                    }
                }
            });
        }
    });
    let (took, which) = slowest.into_inner().unwrap();
    eprintln!(
        "corpus: {} runs in {:.1?} on {threads} threads (set-up {:.1?}); slowest {took:.1?}: {which}",
        cases.len(),
        started.elapsed(),
        prepared
    );
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {} runs:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
