//! Syncing the ledger through the git command line with a real bare remote:
//! a shallow CI clone sees the same history, and clones that wrote at the
//! same time lose nothing when they push.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;

use pretty_assertions::assert_eq;
use support::{artifact, at, git, project, run};
use trainyard_ledger::{Deployment, DeploymentKind, GitLedger, LEDGER_REFS, Ledger, RunRecord};
use trainyard_testkit::git::{bare_remote, file_url};

fn deployment(record: &RunRecord, version: u64, actor: &str) -> Deployment {
    Deployment {
        model: "classifier".to_owned(),
        version,
        digest: artifact(1).digest,
        run_id: record.id.clone(),
        commit: "c".repeat(40),
        verdict_digest: None,
        at: at("2026-11-25T12:00:00Z"),
        actor: actor.to_owned(),
        reason: "sync test".to_owned(),
        kind: DeploymentKind::Promote,
    }
}

/// Everything a ledger holds, as one comparable value.
fn snapshot(ledger: &GitLedger) -> serde_json::Value {
    let models = ledger.models().unwrap();
    serde_json::json!({
        "runs": ledger.runs().unwrap(),
        "models": models.iter().map(|model| serde_json::json!({
            "versions": ledger.versions(model).unwrap(),
            "aliases": ledger.alias_history(model, None).unwrap(),
            "tags": ledger.tag_history(model).unwrap(),
        })).collect::<Vec<_>>(),
        "environments": ledger.environments().unwrap().iter().map(|env| {
            ledger.deployments(env).unwrap()
        }).collect::<Vec<_>>(),
    })
}

fn clone(parent: &Path, remote: &Path, name: &str, shallow: bool) -> std::path::PathBuf {
    let target = parent.join(name);
    let url = file_url(remote);
    let mut args = vec!["clone", "-q"];
    if shallow {
        args.extend(["--depth", "1"]);
    }
    args.extend([url.as_str(), target.to_str().unwrap()]);
    git(parent, &args);
    target
}

#[test]
fn a_ledger_pushed_to_a_bare_remote_reads_the_same_from_a_shallow_clone() {
    let temp = tempfile::tempdir().unwrap();
    let dir = project(temp.path(), "p");
    let remote = bare_remote(temp.path(), &dir);
    // Some history on main, so the shallow clone really is shallow.
    for n in 0..3 {
        std::fs::write(dir.join("train.py"), format!("print({n})\n")).unwrap();
        git(&dir, &["commit", "-q", "-am", &format!("change {n}")]);
    }
    git(&dir, &["push", "-q", "origin", "main"]);

    let ledger = GitLedger::open(&dir).unwrap();
    for n in 1..=3 {
        let record = run(n, at(&format!("2026-11-25T1{n}:00:00Z")));
        ledger.append_run(&record).unwrap();
        ledger
            .register("classifier", &record.id, &artifact(n))
            .unwrap();
        ledger
            .record_deployment("staging", &deployment(&record, u64::from(n), "ci"))
            .unwrap();
    }
    ledger
        .move_alias("classifier", "champion", 2, "ada", "best so far")
        .unwrap();
    ledger
        .set_tag("classifier", 2, "reviewed", "yes", "ada", "read the card")
        .unwrap();
    let pushed = ledger.push("origin").unwrap();
    assert!(pushed.refs.iter().all(|r| r.pushed), "{pushed:?}");
    // Pushing again has nothing to send.
    assert!(
        ledger
            .push("origin")
            .unwrap()
            .refs
            .iter()
            .all(|r| !r.pushed)
    );

    let shallow = clone(temp.path(), &remote, "ci", true);
    assert_eq!(git(&shallow, &["rev-list", "--count", "HEAD"]), "1");
    let ci = GitLedger::open(&shallow).unwrap();
    assert!(
        ci.runs().unwrap().is_empty(),
        "a clone does not fetch refs/trainyard/*"
    );
    let pulled = ci.pull("origin").unwrap();
    assert!(pulled.refs.iter().all(|r| r.replayed == 0));
    assert_eq!(snapshot(&ci), snapshot(&ledger));
    // The same commits, not a copy: history is identical.
    for reference in LEDGER_REFS {
        assert_eq!(
            git(&shallow, &["rev-parse", reference]),
            git(&dir, &["rev-parse", reference])
        );
    }
    // The shallow clone can record a run and push it back.
    let record = run(9, at("2026-11-26T09:00:00Z"));
    ci.append_run(&record).unwrap();
    ci.push("origin").unwrap();
    ledger.pull("origin").unwrap();
    assert_eq!(ledger.run(record.id.as_str()).unwrap(), record);
}

#[test]
#[allow(clippy::too_many_lines)] // one scenario, read top to bottom
fn two_clones_that_wrote_at_the_same_time_lose_nothing_and_renumber_a_clashing_version() {
    let temp = tempfile::tempdir().unwrap();
    let dir = project(temp.path(), "p");
    let remote = bare_remote(temp.path(), &dir);
    let origin = GitLedger::open(&dir).unwrap();
    let first = run(1, at("2026-11-25T10:00:00Z"));
    origin.append_run(&first).unwrap();
    origin
        .register("classifier", &first.id, &artifact(1))
        .unwrap();
    origin.push("origin").unwrap();

    let a_dir = clone(temp.path(), &remote, "a", false);
    let b_dir = clone(temp.path(), &remote, "b", true);
    let (a, b) = (
        GitLedger::open(&a_dir).unwrap(),
        GitLedger::open(&b_dir).unwrap(),
    );
    a.pull("origin").unwrap();
    b.pull("origin").unwrap();

    // Both register "version 2" without seeing each other.
    let run_a = run(2, at("2026-11-25T11:00:00Z"));
    a.append_run(&run_a).unwrap();
    assert_eq!(
        a.register("classifier", &run_a.id, &artifact(2))
            .unwrap()
            .version,
        2
    );
    a.move_alias("classifier", "champion", 2, "alice", "a is better")
        .unwrap();
    a.record_deployment("staging", &deployment(&run_a, 2, "alice"))
        .unwrap();

    let run_b = run(3, at("2026-11-25T11:30:00Z"));
    b.append_run(&run_b).unwrap();
    assert_eq!(
        b.register("classifier", &run_b.id, &artifact(3))
            .unwrap()
            .version,
        2
    );
    b.move_alias("classifier", "challenger", 2, "bob", "b trained on main")
        .unwrap();
    b.set_tag("classifier", 2, "data", "full", "bob", "full training")
        .unwrap();
    b.record_deployment("staging", &deployment(&run_b, 2, "bob"))
        .unwrap();

    a.push("origin").unwrap();
    let pushed = b.push("origin").unwrap();
    let registry = pushed
        .refs
        .iter()
        .find(|r| r.reference == "refs/trainyard/registry")
        .unwrap();
    assert_eq!(registry.renumbered, vec![("classifier".to_owned(), 2, 3)]);
    a.pull("origin").unwrap();

    for ledger in [&a, &b] {
        assert_eq!(
            ledger.runs().unwrap(),
            vec![first.clone(), run_a.clone(), run_b.clone()]
        );
        let versions = ledger.versions("classifier").unwrap();
        let summary: Vec<_> = versions
            .iter()
            .map(|v| {
                (
                    v.version,
                    v.run_id.clone(),
                    v.aliases.clone(),
                    v.tags.clone(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    1,
                    first.id.clone(),
                    vec![],
                    std::collections::BTreeMap::default()
                ),
                (
                    2,
                    run_a.id.clone(),
                    vec!["champion".to_owned()],
                    std::collections::BTreeMap::default()
                ),
                (
                    3,
                    run_b.id.clone(),
                    vec!["challenger".to_owned()],
                    [("data".to_owned(), "full".to_owned())].into()
                ),
            ]
        );
        let staging: Vec<_> = ledger
            .deployments("staging")
            .unwrap()
            .into_iter()
            .map(|d| (d.actor, d.version))
            .collect();
        assert_eq!(
            staging,
            vec![("alice".to_owned(), 2), ("bob".to_owned(), 3)]
        );
    }
    assert_eq!(snapshot(&a), snapshot(&b));
}

#[test]
fn six_clones_pushing_at_the_same_time_all_land() {
    let temp = tempfile::tempdir().unwrap();
    let dir = project(temp.path(), "p");
    let remote = bare_remote(temp.path(), &dir);
    let clones: Vec<_> = (1..=6)
        .map(|n| clone(temp.path(), &remote, &format!("clone-{n}"), true))
        .collect();
    let barrier = std::sync::Barrier::new(clones.len());
    std::thread::scope(|scope| {
        for (n, dir) in (1..).zip(&clones) {
            let barrier = &barrier;
            scope.spawn(move || {
                let ledger = GitLedger::open(dir).unwrap();
                let record = run(n, chrono::Utc::now());
                ledger.append_run(&record).unwrap();
                ledger
                    .register("classifier", &record.id, &artifact(n))
                    .unwrap();
                barrier.wait();
                ledger.push("origin").unwrap();
            });
        }
    });
    let fresh = clone(temp.path(), &remote, "fresh", true);
    let ledger = GitLedger::open(&fresh).unwrap();
    ledger.pull("origin").unwrap();
    assert_eq!(ledger.runs().unwrap().len(), 6);
    let versions = ledger.versions("classifier").unwrap();
    assert_eq!(
        versions.iter().map(|v| v.version).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5, 6]
    );
    let registered: std::collections::BTreeSet<_> =
        versions.iter().map(|v| v.run_id.clone()).collect();
    assert_eq!(registered.len(), 6);
}

#[test]
fn a_run_id_recorded_differently_on_both_sides_keeps_the_remotes_and_says_so() {
    let temp = tempfile::tempdir().unwrap();
    let dir = project(temp.path(), "p");
    let remote = bare_remote(temp.path(), &dir);
    let other_dir = clone(temp.path(), &remote, "other", false);
    let (here, other) = (
        GitLedger::open(&dir).unwrap(),
        GitLedger::open(&other_dir).unwrap(),
    );
    let mine = run(1, at("2026-11-25T10:00:00Z"));
    let mut theirs = mine.clone();
    theirs.metrics.insert("accuracy".to_owned(), 0.5);
    let unrelated = run(2, at("2026-11-25T10:30:00Z"));
    other.append_run(&theirs).unwrap();
    other.push("origin").unwrap();
    here.append_run(&mine).unwrap();
    here.append_run(&unrelated).unwrap();

    let pushed = here.push("origin").unwrap();
    let runs = pushed
        .refs
        .iter()
        .find(|r| r.reference == "refs/trainyard/runs")
        .unwrap();
    assert_eq!(runs.kept_remote.len(), 1, "{pushed:?}");
    assert!(runs.kept_remote[0].ends_with(&format!("{}.json", mine.id)));
    assert_eq!(here.run(mine.id.as_str()).unwrap(), theirs);
    assert_eq!(
        here.run(unrelated.id.as_str()).unwrap(),
        unrelated,
        "the rest is kept"
    );
}
