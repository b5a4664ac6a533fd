//! Appends runs to an MLflow server through trainyard's MLflow ledger, for
//! benches/mlflow.py (what `train` does at the end of a run on
//! `tracking.backend: mlflow`). Prints `{"seconds": …}`: the appends only,
//! not the start of the process.
//!
//!   mlflow_append URI PROJECT RUNS POINTS PARAMS
//!
//! Each run has one metric series of POINTS points, PARAMS params and two
//! final metrics. The alias and tag history repository is a fresh `git init`
//! in a temporary folder. Credentials come from MLFLOW_TRACKING_TOKEN or
//! MLFLOW_TRACKING_USERNAME/PASSWORD.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use trainyard_ledger::{
    CiInfo, GitInfo, GitLedger, Ledger, MlflowCredentials, MlflowLedger, Outcome, RunId, RunMode,
    RunRecord,
};

fn record(n: u32, points: u32, params: u32) -> RunRecord {
    let started_at = chrono::Utc::now();
    RunRecord {
        id: RunId::new(started_at),
        project: String::new(),
        mode: RunMode::Full,
        command: vec!["python".to_owned(), "train.py".to_owned()],
        params: (0..params)
            .map(|i| (format!("param_{i:04}"), serde_json::json!(i * n)))
            .collect(),
        metrics: BTreeMap::from([("accuracy".to_owned(), 0.9), ("loss".to_owned(), 0.1)]),
        series: BTreeMap::from([(
            "loss".to_owned(),
            (0..points)
                .map(|step| (u64::from(step), 1.0 / f64::from(step + 1)))
                .collect(),
        )]),
        datasets: BTreeMap::new(),
        git: GitInfo {
            commit: "0123456789abcdef0123456789abcdef01234567".to_owned(),
            branch: Some("main".to_owned()),
            dirty: false,
        },
        ci: CiInfo {
            host: "terminal".to_owned(),
            event: None,
            url: None,
        },
        tools: BTreeMap::new(),
        started_at,
        duration: Duration::from_secs(1),
        outcome: Outcome::Succeeded,
        artifacts: Vec::new(),
        store: None,
        model_uri: None,
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [uri, project, runs, points, params] = args.as_slice() else {
        eprintln!("usage: mlflow_append URI PROJECT RUNS POINTS PARAMS");
        return ExitCode::from(2);
    };
    let number = |text: &String| text.parse::<u32>().ok();
    let (Some(runs), Some(points), Some(params)) = (number(runs), number(points), number(params))
    else {
        eprintln!("RUNS, POINTS and PARAMS are numbers");
        return ExitCode::from(2);
    };
    let Ok(history) = tempfile::tempdir() else {
        eprintln!("cannot create a temporary folder");
        return ExitCode::from(3);
    };
    let init = std::process::Command::new("git")
        .args(["init", "-q"])
        .arg(history.path())
        .status();
    if !init.is_ok_and(|status| status.success()) {
        eprintln!("git init failed");
        return ExitCode::from(3);
    }
    let ledger = GitLedger::open(history.path()).and_then(|git| {
        MlflowLedger::connect(
            uri,
            MlflowCredentials::from_env(|name| std::env::var(name).ok()),
            git,
        )
    });
    let ledger = match ledger {
        Ok(ledger) => ledger.with_project(project),
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    let records: Vec<RunRecord> = (0..runs)
        .map(|n| {
            let mut run = record(n, points, params);
            run.project.clone_from(project);
            run
        })
        .collect();
    let start = Instant::now();
    for run in &records {
        if let Err(error) = ledger.append_run(run) {
            eprintln!("{error}");
            return ExitCode::from(3);
        }
    }
    println!("{{\"seconds\": {:.6}}}", start.elapsed().as_secs_f64());
    ExitCode::SUCCESS
}
