//! `trainyard ledger export|import` between two git repositories' ledgers:
//! everything copied (runs with their series, versions under their numbers,
//! every alias move and tag change, deployments), again only what is new,
//! refused when the histories diverged. The same copy runs against MLflow in
//! `mlflow.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use trainyard_ledger::{Deployment, DeploymentKind, GitLedger, Ledger, Outcome};

use crate::common::{run_json, trainyard, trainyard_stderr};
use crate::ledger::{artifact, project, recorded_run};

/// Everything a ledger holds, as one comparable document: runs, each
/// model's versions, aliases, alias history and tag history, each
/// environment's deployments.
pub(crate) fn ledger_contents(ledger: &dyn Ledger) -> Value {
    let mut models = serde_json::Map::new();
    for model in ledger.models().unwrap() {
        models.insert(
            model.clone(),
            json!({
                "versions": ledger.versions(&model).unwrap(),
                "aliases": ledger.aliases(&model).unwrap(),
                "alias_history": ledger.alias_history(&model, None).unwrap(),
                "tag_history": ledger.tag_history(&model).unwrap(),
            }),
        );
    }
    let mut environments = serde_json::Map::new();
    for env in ledger.environments().unwrap() {
        environments.insert(env.clone(), json!(ledger.deployments(&env).unwrap()));
    }
    json!({
        "runs": ledger.runs().unwrap(),
        "models": models,
        "environments": environments,
    })
}

/// A ledger with something of every kind: three runs (one stopped), two
/// versions, aliases moved three times, tags changed, two environments.
pub(crate) fn fill(ledger: &dyn Ledger) {
    let runs = [
        recorded_run(1, Outcome::Succeeded),
        recorded_run(2, Outcome::Succeeded),
        recorded_run(
            3,
            Outcome::Stopped {
                reason: "loss is NaN at step 3".to_owned(),
            },
        ),
    ];
    for run in &runs {
        ledger.append_run(run).unwrap();
    }
    for (n, run) in runs.iter().take(2).enumerate() {
        ledger
            .register(
                "classifier",
                &run.id,
                &artifact(u32::try_from(n).unwrap() + 1),
            )
            .unwrap();
    }
    ledger
        .move_alias("classifier", "challenger", 1, "ci", "full training on main")
        .unwrap();
    ledger
        .move_alias("classifier", "champion", 1, "octocat", "first model")
        .unwrap();
    ledger
        .move_alias("classifier", "champion", 2, "octocat", "better f1")
        .unwrap();
    ledger
        .set_tag("classifier", 2, "reviewed", "yes", "octocat", "model card")
        .unwrap();
    ledger
        .set_tag("classifier", 2, "reviewed", "no", "ada", "second look")
        .unwrap();
    for (env, version, kind) in [
        ("dev", 1, DeploymentKind::Promote),
        ("dev", 2, DeploymentKind::Promote),
        ("prod", 2, DeploymentKind::Promote),
        ("dev", 1, DeploymentKind::Rollback),
    ] {
        ledger
            .record_deployment(
                env,
                &Deployment {
                    model: "classifier".to_owned(),
                    version,
                    digest: artifact(u32::try_from(version).unwrap()).digest,
                    run_id: runs[usize::try_from(version).unwrap() - 1].id.clone(),
                    commit: "c".repeat(40),
                    verdict_digest: Some("d".repeat(64)),
                    at: format!("2026-11-26T0{version}:00:00Z").parse().unwrap(),
                    actor: "octocat".to_owned(),
                    reason: format!("{kind} {version}"),
                    kind,
                },
            )
            .unwrap();
    }
}

fn copy(dir: &Path, args: &[&str]) -> Value {
    run_json(trainyard().current_dir(dir).args(args), 0)
}

#[test]
fn export_then_import_between_two_repositories_gives_an_identical_ledger() {
    let temp = tempfile::tempdir().unwrap();
    let source = project(temp.path(), "source");
    fill(&GitLedger::open(&source).unwrap());
    let target = project(temp.path(), "target");

    let exported = copy(&source, &["ledger", "export", "--to", "../target"]);
    assert_eq!(exported["outputs"]["runs"], "3");
    assert_eq!(exported["outputs"]["versions"], "2");
    assert_eq!(exported["outputs"]["alias-moves"], "3");
    assert_eq!(exported["outputs"]["tag-changes"], "2");
    assert_eq!(exported["outputs"]["deployments"], "4");
    let original = ledger_contents(&GitLedger::open(&source).unwrap());
    let copied = ledger_contents(&GitLedger::open(&target).unwrap());
    // Everything, registration and move times included.
    assert_eq!(copied, original);

    // Again: nothing new, nothing written twice.
    let again = copy(
        &source,
        &["ledger", "export", "--to", "git+file://../target"],
    );
    assert!(
        again["title"].as_str().unwrap().starts_with("nothing new"),
        "{again}"
    );
    assert_eq!(ledger_contents(&GitLedger::open(&target).unwrap()), copied);

    // And back into a third repository by `import`.
    let back = project(temp.path(), "back");
    let target_path = target.canonicalize().unwrap();
    copy(
        &back,
        &["ledger", "import", "--from", target_path.to_str().unwrap()],
    );
    assert_eq!(ledger_contents(&GitLedger::open(&back).unwrap()), copied);
}

#[test]
fn a_copy_adds_what_is_new_and_refuses_a_history_that_diverged() {
    let temp = tempfile::tempdir().unwrap();
    let source = project(temp.path(), "source");
    let ledger = GitLedger::open(&source).unwrap();
    fill(&ledger);
    let target = project(temp.path(), "target");
    copy(&source, &["ledger", "export", "--to", "../target"]);

    // New on the source: one run, its version, an alias move.
    let run = recorded_run(4, Outcome::Succeeded);
    ledger.append_run(&run).unwrap();
    ledger
        .register("classifier", &run.id, &artifact(4))
        .unwrap();
    ledger
        .move_alias("classifier", "champion", 3, "octocat", "v3")
        .unwrap();
    let more = copy(&source, &["ledger", "export", "--to", "../target"]);
    assert_eq!(more["outputs"]["runs"], "1");
    assert_eq!(more["outputs"]["versions"], "1");
    assert_eq!(more["outputs"]["alias-moves"], "1");
    assert_eq!(more["outputs"]["deployments"], "0");
    let theirs = GitLedger::open(&target).unwrap();
    assert_eq!(theirs.resolve("classifier", "champion").unwrap().version, 3);

    // A repository whose version 1 is another run's: nothing is mixed in.
    let other = project(temp.path(), "other");
    let stranger = GitLedger::open(&other).unwrap();
    let run = recorded_run(5, Outcome::Succeeded);
    stranger.append_run(&run).unwrap();
    stranger
        .register("classifier", &run.id, &artifact(5))
        .unwrap();
    let stderr = trainyard_stderr(&source, &["ledger", "export", "--to", "../other"], 2);
    assert!(
        stderr.contains("version 1 of model `classifier`"),
        "{stderr}"
    );
    assert!(stderr.contains("diverged"), "{stderr}");
    // Checked before anything is written: not even the runs were copied.
    assert_eq!(stranger.versions("classifier").unwrap().len(), 1);
    assert_eq!(stranger.run_ids().unwrap(), vec![run.id]);
}

#[test]
fn export_names_what_it_cannot_copy_to_with_exit_2() {
    let temp = tempfile::tempdir().unwrap();
    let source = project(temp.path(), "source");
    for (target, says) in [
        ("s3://bucket/ledger", "not a ledger trainyard can copy"),
        ("mlflow+ftp://host", "names no MLflow server"),
        (".", "own repository"),
    ] {
        let stderr = trainyard_stderr(&source, &["ledger", "export", "--to", target], 2);
        assert!(stderr.contains(says), "{target}: {stderr}");
    }
    let stderr = trainyard_stderr(&source, &["ledger", "import", "--from", "../nowhere"], 2);
    assert!(stderr.contains("nowhere"), "{stderr}");
}

/// With MLflow recording runs, `ledger push` syncs what stays in git (the
/// alias history, deployments) and says so; it never needs the server.
#[test]
fn ledger_push_with_an_mlflow_backend_says_it_synced_only_what_stays_in_git() {
    let temp = tempfile::tempdir().unwrap();
    let source = project(temp.path(), "source");
    std::fs::write(
        source.join("trainyard.yaml"),
        "version: 1\nproject:\n  name: demo\ntracking:\n  backend: mlflow\n  uri: http://127.0.0.1:9\n",
    )
    .unwrap();
    fill(&GitLedger::open(&source).unwrap());
    trainyard_testkit::git::bare_remote(temp.path(), &source);
    let pushed = copy(&source, &["ledger", "push"]);
    let findings = pushed["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|finding| finding["rule"] == "ledger/git-only"),
        "{pushed}"
    );
}
