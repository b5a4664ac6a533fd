//! The MLflow ledger against a real `mlflow server` (PyPI `mlflow`, SQLite
//! backend store, `--serve-artifacts`) on 127.0.0.1: runs round-trip,
//! chunking within MLflow's limits, paging, idempotent and concurrent
//! appends, the registry with its histories in git, and MLflow's own Python
//! client reading back what trainyard wrote. The server is stopped by its
//! process group's id when each test ends, pass or fail; without mlflow
//! installed a test is skipped on a developer's machine and fails under CI.

// Each test is one scenario against one server, read top to bottom.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use pretty_assertions::assert_eq;
use support::{artifact, at, project, run};
use trainyard_ledger::{
    AliasMove, GitLedger, Ledger, LedgerError, MlflowCredentials, MlflowLedger, ModelVersion,
    Outcome, RunId, TagChange,
};
use trainyard_testkit::servers::Mlflow;

/// One server at a time in this binary: a starting mlflow server takes a
/// core for tens of seconds, and several at once on a shared 2-core machine
/// took minutes to listen.
static ONE_SERVER: Mutex<()> = Mutex::new(());

/// A server in `root`, the ledger of a fresh git project on it, and the
/// turn to use a server (held until the test ends).
fn start(
    root: &Path,
    project_name: &str,
) -> Option<(MutexGuard<'static, ()>, Mlflow, MlflowLedger)> {
    let turn = ONE_SERVER.lock().unwrap_or_else(PoisonError::into_inner);
    let server = Mlflow::start(&root.join("mlflow"))?;
    let dir = project(root, "repo");
    let ledger = connect(&server, &dir, project_name);
    Some((turn, server, ledger))
}

fn connect(server: &Mlflow, dir: &Path, project_name: &str) -> MlflowLedger {
    MlflowLedger::connect(
        &server.uri,
        MlflowCredentials::None,
        GitLedger::open(dir).unwrap(),
    )
    .unwrap()
    .with_project(project_name)
}

/// What MLflow's Python client reads, as JSON.
fn python_json(server: &Mlflow, script: &str, args: &[&str]) -> serde_json::Value {
    let output = server.python(script, args);
    serde_json::from_str(output.trim()).unwrap_or_else(|e| panic!("{e}: {output}"))
}

#[test]
fn runs_round_trip_chunked_paged_idempotent_and_read_by_mlflows_client() {
    let temp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(temp.path().join("mlflow")).unwrap();
    let Some((_turn, server, ledger)) = start(temp.path(), "demo") else {
        return;
    };
    let ledger = ledger.with_search_page_size(3);
    // Reading a project MLflow has never seen creates nothing.
    assert_eq!(ledger.run_ids().unwrap(), Vec::<RunId>::new());
    assert_eq!(ledger.models().unwrap(), Vec::<String>::new());

    // A diverged run: NaN final metric, infinite points, a failure.
    let mut diverged = run(1, at("2026-11-25T10:00:00.123456Z"));
    diverged.metrics.insert("loss".to_owned(), f64::NAN);
    diverged.series.insert(
        "grad".to_owned(),
        vec![
            (1, 1.0),
            (2, f64::INFINITY),
            (2, f64::NEG_INFINITY),
            (3, f64::NAN),
        ],
    );
    diverged.outcome = Outcome::Failed {
        reason: "loss is NaN at step 3".to_owned(),
    };
    diverged.params.insert(
        "layers".to_owned(),
        serde_json::json!({"sizes": [64, 32], "dropout": 0.1}),
    );
    diverged
        .params
        .insert("name".to_owned(), serde_json::json!("7"));
    // A big run: 2,500 metric points (3 log-batch calls) and 150 params
    // (2 calls), with a record far over one 8000-character tag.
    let mut big = run(2, at("2026-11-25T11:00:00Z"));
    big.series.insert(
        "val/loss".to_owned(),
        (0..2500_u32)
            .map(|i| (u64::from(i / 2), 1.0 / f64::from(i + 1)))
            .collect(),
    );
    for i in 0..150 {
        big.params
            .insert(format!("p{i:03}"), serde_json::json!("x".repeat(100 + i)));
    }
    big.model_uri = Some("s3://models/demo/2".to_owned());
    let others: Vec<_> = (3..=7)
        .map(|n| run(n, at(&format!("2026-11-25T12:0{n}:00Z"))))
        .collect();

    ledger.append_run(&diverged).unwrap();
    ledger.append_run(&big).unwrap();
    for other in &others {
        ledger.append_run(other).unwrap();
    }

    // Read back equal (serialised: NaN is not equal to itself).
    let json = |record: &trainyard_ledger::RunRecord| serde_json::to_value(record).unwrap();
    assert_eq!(
        json(&ledger.run(diverged.id.as_str()).unwrap()),
        json(&diverged)
    );
    assert_eq!(json(&ledger.run(big.id.as_str()).unwrap()), json(&big));
    // A unique prefix finds a run; a shared one is ambiguous.
    assert_eq!(ledger.run(&big.id.as_str()[..12]).unwrap().id, big.id);
    assert!(matches!(
        ledger.run("20261125T"),
        Err(LedgerError::AmbiguousRun { .. })
    ));
    assert!(matches!(
        ledger.run("20201231"),
        Err(LedgerError::RunNotFound { .. })
    ));

    // Paging: 7 runs through pages of 3, oldest first, each once.
    let mut expected: Vec<RunId> = [&diverged, &big]
        .into_iter()
        .chain(&others)
        .map(|r| r.id.clone())
        .collect();
    expected.sort();
    assert_eq!(ledger.run_ids().unwrap(), expected);
    let all = ledger.runs().unwrap();
    assert_eq!(
        all.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
        expected
    );
    assert_eq!(json(&all[1]), json(&big));

    // Idempotent: the same record again records nothing; a different one
    // under the same id is refused.
    ledger.append_run(&big).unwrap();
    assert_eq!(ledger.run_ids().unwrap().len(), 7);
    let mut changed = others[0].clone();
    changed.metrics.insert("accuracy".to_owned(), 0.5);
    assert!(matches!(
        ledger.append_run(&changed),
        Err(LedgerError::RunExists { .. })
    ));

    // An append cut off midway (run created, a param logged, never marked
    // complete) is not read; the next append of that id finishes it.
    let cut_off = run(8, at("2026-11-25T13:00:00Z"));
    server.python(
        r#"
import sys, mlflow
client = mlflow.MlflowClient()
experiment = client.get_experiment_by_name("demo")
run = client.create_run(experiment.experiment_id, tags={"trainyard.run_id": sys.argv[1]})
client.log_param(run.info.run_id, "seed", "8")
"#,
        &[cut_off.id.as_str()],
    );
    assert!(matches!(
        ledger.run(cut_off.id.as_str()),
        Err(LedgerError::RunNotFound { .. })
    ));
    assert_eq!(ledger.run_ids().unwrap().len(), 7);
    ledger.append_run(&cut_off).unwrap();
    assert_eq!(
        json(&ledger.run(cut_off.id.as_str()).unwrap()),
        json(&cut_off)
    );

    // MLflow's own client sees the runs: metrics with their history, params,
    // status and the system tags its UI shows.
    let seen = python_json(
        &server,
        r#"
import json, sys, mlflow
client = mlflow.MlflowClient()
experiment = client.get_experiment_by_name("demo")
runs = client.search_runs([experiment.experiment_id], max_results=1000)
out = {}
for r in runs:
    tags = r.data.tags
    history = client.get_metric_history(r.info.run_id, "val/loss")
    out[tags["trainyard.run_id"]] = {
        "status": r.info.status,
        "name": r.info.run_name,
        "accuracy": r.data.metrics.get("accuracy"),
        "seed": r.data.params.get("seed"),
        "params": len(r.data.params),
        "commit": tags.get("mlflow.source.git.commit"),
        "branch": tags.get("mlflow.source.git.branch"),
        "source_name": tags.get("mlflow.source.name"),
        "source_type": tags.get("mlflow.source.type"),
        "mode": tags.get("trainyard.mode"),
        "dataset": tags.get("trainyard.dataset.train"),
        "history": len(history),
        "last_step": max([m.step for m in history], default=None),
    }
print(json.dumps({"count": len(runs), "runs": out}))
"#,
        &[],
    );
    assert_eq!(seen["count"], 8, "one MLflow run per run: {seen}");
    let seen = &seen["runs"];
    assert_eq!(seen.as_object().unwrap().len(), 8);
    let big_seen = &seen[big.id.as_str()];
    assert_eq!(big_seen["status"], "FINISHED");
    assert_eq!(big_seen["name"], big.id.as_str());
    assert_eq!(big_seen["accuracy"], big.metrics["accuracy"]);
    assert_eq!(big_seen["seed"], "2");
    assert_eq!(big_seen["params"], 151);
    assert_eq!(big_seen["commit"], big.git.commit.as_str());
    assert_eq!(big_seen["branch"], "main");
    assert_eq!(big_seen["source_name"], "python train.py --seed=2");
    assert_eq!(big_seen["source_type"], "JOB");
    assert_eq!(big_seen["mode"], "full");
    assert_eq!(big_seen["dataset"], "ab".repeat(32).as_str());
    assert_eq!(big_seen["history"], 2500);
    assert_eq!(big_seen["last_step"], 1249);
    assert_eq!(seen[diverged.id.as_str()]["status"], "FAILED");
}

#[test]
fn registry_versions_aliases_and_tags_live_in_mlflow_with_their_history_in_git() {
    let temp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(temp.path().join("mlflow")).unwrap();
    let Some((_turn, server, ledger)) = start(temp.path(), "churn-project") else {
        return;
    };
    let first = run(1, at("2026-11-25T10:00:00Z"));
    let second = run(2, at("2026-11-25T11:00:00Z"));
    ledger.append_run(&first).unwrap();
    ledger.append_run(&second).unwrap();

    let v1 = ledger.register("churn", &first.id, &artifact(1)).unwrap();
    let v2 = ledger.register("churn", &second.id, &artifact(2)).unwrap();
    assert_eq!((v1.version, v2.version), (1, 2));
    assert_eq!(v2.run_id, second.id);
    assert_eq!(v2.artifact, artifact(2));
    assert_eq!(ledger.models().unwrap(), vec!["churn".to_owned()]);

    let moved = ledger
        .move_alias("churn", "champion", 1, "ada", "first release")
        .unwrap();
    assert_eq!(moved.previous, None);
    let moved = ledger
        .move_alias("churn", "champion", 2, "bob", "better AUC")
        .unwrap();
    assert_eq!(moved.previous, Some(1));
    ledger
        .move_alias("churn", "challenger", 2, "ci", "full training on main")
        .unwrap();
    ledger
        .set_tag("churn", 2, "validated", "true", "ada", "gate passed")
        .unwrap();
    assert!(matches!(
        ledger.move_alias("churn", "v3", 1, "ada", "reserved"),
        Err(LedgerError::ReservedAlias { .. })
    ));
    assert!(matches!(
        ledger.move_alias("churn", "prod", 9, "ada", "no such version"),
        Err(LedgerError::VersionNotFound { .. })
    ));

    assert_eq!(
        ledger.aliases("churn").unwrap(),
        BTreeMap::from([("challenger".to_owned(), 2), ("champion".to_owned(), 2)])
    );
    assert_eq!(ledger.resolve("churn", "champion").unwrap().version, 2);
    assert_eq!(ledger.resolve("churn", "v1").unwrap().run_id, first.id);
    assert_eq!(ledger.resolve("churn", "latest").unwrap().version, 2);
    let versions = ledger.versions("churn").unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(
        versions[1].tags,
        BTreeMap::from([("validated".to_owned(), "true".to_owned())])
    );
    assert_eq!(versions[1].aliases, vec!["challenger", "champion"]);
    assert!(versions[0].aliases.is_empty());

    // The history MLflow does not keep is in git, in the project's repository.
    let history = ledger.alias_history("churn", Some("champion")).unwrap();
    assert_eq!(
        history
            .iter()
            .map(|m| (m.version, m.previous, m.actor.as_str(), m.reason.as_str()))
            .collect::<Vec<_>>(),
        vec![
            (1, None, "ada", "first release"),
            (2, Some(1), "bob", "better AUC")
        ]
    );
    assert_eq!(ledger.alias_history("churn", None).unwrap().len(), 3);
    let tags = ledger.tag_history("churn").unwrap();
    assert_eq!((tags.len(), tags[0].reason.as_str()), (1, "gate passed"));
    let reopened = connect(&server, &temp.path().join("repo"), "churn-project");
    assert_eq!(
        reopened.alias_history("churn", None).unwrap(),
        ledger.alias_history("churn", None).unwrap()
    );
    assert!(matches!(
        ledger.versions("nope"),
        Err(LedgerError::ModelNotFound { .. })
    ));

    // MLflow's client sees the versions, their runs, tags and aliases.
    let seen = python_json(
        &server,
        r#"
import json, mlflow
client = mlflow.MlflowClient()
model = client.get_registered_model("churn")
versions = client.search_model_versions("name='churn'")
out = {"aliases": model.aliases, "versions": {}}
for v in versions:
    run = client.get_run(v.run_id)
    out["versions"][v.version] = {
        "status": v.status,
        "run": run.data.tags["trainyard.run_id"],
        "validated": client.get_model_version("churn", v.version).tags.get("validated"),
    }
out["champion"] = client.get_model_version_by_alias("churn", "champion").version
print(json.dumps(out))
"#,
        &[],
    );
    assert_eq!(
        seen["aliases"],
        serde_json::json!({"champion": "2", "challenger": "2"})
    );
    assert_eq!(seen["champion"], "2");
    assert_eq!(seen["versions"]["1"]["run"], first.id.as_str());
    assert_eq!(seen["versions"]["2"]["status"], "READY");
    assert_eq!(seen["versions"]["2"]["validated"], "true");

    // Imports keep numbers, times, actors and reasons.
    let original = ModelVersion {
        model: "imported".to_owned(),
        version: 1,
        run_id: first.id.clone(),
        artifact: artifact(7),
        registered_at: at("2026-01-02T03:04:05.678Z"),
        tags: BTreeMap::new(),
        aliases: Vec::new(),
    };
    ledger.import_version(&original).unwrap();
    ledger.import_version(&original).unwrap();
    let skipped = ModelVersion {
        version: 3,
        ..original.clone()
    };
    assert!(matches!(
        ledger.import_version(&skipped),
        Err(LedgerError::ImportOutOfOrder { next: 2, .. })
    ));
    let old_move = AliasMove {
        model: "imported".to_owned(),
        alias: "champion".to_owned(),
        version: 1,
        previous: None,
        actor: "carol".to_owned(),
        at: at("2026-01-03T00:00:00Z"),
        reason: "imported".to_owned(),
    };
    ledger.import_alias_move(&old_move).unwrap();
    let old_tag = TagChange {
        model: "imported".to_owned(),
        version: 1,
        key: "stage".to_owned(),
        value: "prod".to_owned(),
        actor: "carol".to_owned(),
        at: at("2026-01-04T00:00:00Z"),
        reason: "imported".to_owned(),
    };
    ledger.import_tag_change(&old_tag).unwrap();
    let imported = ledger.resolve("imported", "champion").unwrap();
    assert_eq!(imported.registered_at, original.registered_at);
    assert_eq!(imported.tags["stage"], "prod");
    assert_eq!(
        ledger.alias_history("imported", None).unwrap(),
        vec![old_move]
    );
    assert_eq!(ledger.tag_history("imported").unwrap(), vec![old_tag]);
}

#[test]
fn twenty_threads_appending_at_once_record_every_run_once() {
    let temp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(temp.path().join("mlflow")).unwrap();
    let Some((_turn, server, ledger)) = start(temp.path(), "busy") else {
        return;
    };
    let ledger = Arc::new(ledger);
    let runs: Vec<_> = (0..20)
        .map(|n| {
            run(
                n,
                at("2026-11-25T10:00:00Z") + chrono::Duration::seconds(i64::from(n)),
            )
        })
        .collect();
    // Every run is appended by two threads at once, as by a retried CI job:
    // 20 distinct runs from 40 threads.
    let threads: Vec<_> = runs
        .iter()
        .chain(&runs)
        .cloned()
        .map(|record| {
            let ledger = Arc::clone(&ledger);
            std::thread::spawn(move || ledger.append_run(&record))
        })
        .collect();
    for thread in threads {
        thread.join().unwrap().unwrap();
    }
    let mut expected: Vec<RunId> = runs.iter().map(|r| r.id.clone()).collect();
    expected.sort();
    assert_eq!(ledger.run_ids().unwrap(), expected);
    for record in &runs {
        assert_eq!(
            serde_json::to_value(ledger.run(record.id.as_str()).unwrap()).unwrap(),
            serde_json::to_value(record).unwrap()
        );
    }
    // In MLflow itself: one active run per trainyard run.
    let seen = python_json(
        &server,
        r#"
import json, mlflow
client = mlflow.MlflowClient()
experiment = client.get_experiment_by_name("busy")
runs = client.search_runs([experiment.experiment_id], max_results=1000)
print(json.dumps(sorted(r.data.tags["trainyard.run_id"] for r in runs)))
"#,
        &[],
    );
    let ids: Vec<String> = serde_json::from_value(seen).unwrap();
    assert_eq!(ids.len(), 20, "{ids:?}");
    assert_eq!(
        ids.iter().collect::<BTreeSet<_>>().len(),
        20,
        "no run recorded twice"
    );
}

#[test]
fn secrets_never_reach_debug_output_or_errors() {
    let temp = tempfile::tempdir().unwrap();
    let dir = project(temp.path(), "repo");
    // Nothing listens on port 9 of 127.0.0.1: every request fails to connect.
    for credentials in [
        MlflowCredentials::from_env(|name| {
            (name == "MLFLOW_TRACKING_TOKEN").then(|| "tok-SECRET-123".to_owned())
        }),
        MlflowCredentials::from_env(|name| match name {
            "MLFLOW_TRACKING_USERNAME" => Some("ann".to_owned()),
            "MLFLOW_TRACKING_PASSWORD" => Some("pw-SECRET-456".to_owned()),
            _ => None,
        }),
    ] {
        let ledger = MlflowLedger::connect(
            "http://127.0.0.1:9/",
            credentials,
            GitLedger::open(&dir).unwrap(),
        )
        .unwrap()
        .with_project("demo");
        let debug = format!("{ledger:?}");
        assert!(!debug.contains("SECRET"), "{debug}");
        let error = ledger.run_ids().unwrap_err();
        let message = error.to_string();
        assert!(
            matches!(error, LedgerError::MlflowUnavailable { attempts: 10, .. }),
            "{message}"
        );
        assert!(message.contains("http://127.0.0.1:9"), "{message}");
        assert!(!message.contains("SECRET") && !format!("{error:?}").contains("SECRET"));
    }
}
