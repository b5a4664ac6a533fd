//! GitOps truth: in review-branch mode a promotion or rollback is only a
//! proposal; the ledger records the deployment and the aliases move when the
//! branch is merged and `trainyard status --record` runs on the default
//! branch — once, however often and however concurrently it runs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;
use crate::common::gate_fixture;

use gate_fixture::Repo;
use trainyard_ledger::{DeploymentKind, Ledger};

const GATES: &str =
    "  staging:\n    metrics: [\"accuracy >= 0.9\"]\n  prod:\n    metrics: [\"accuracy >= 0.9\"]\n";

/// Who presses the platform's merge button.
const REVIEWER: [(&str, &str); 2] = [
    ("GIT_AUTHOR_NAME", "Rita Reviewer"),
    ("GIT_AUTHOR_EMAIL", "rita@example.com"),
];

/// Merges `branch` into main as a platform's merge button does: a merge
/// commit by the reviewer.
fn merge(repo: &Repo, branch: &str, number: u32) -> String {
    repo.git_with(
        &[
            "merge",
            "--quiet",
            "--no-ff",
            "-m",
            &format!("Merge pull request #{number} from demo/{branch}"),
            branch,
        ],
        &REVIEWER,
    );
    repo.head()
}

fn aliases(repo: &Repo) -> (Option<u64>, Option<u64>) {
    let aliases = repo.ledger().aliases("clf").unwrap();
    (
        aliases.get("prod").copied(),
        aliases.get("champion").copied(),
    )
}

/// Through staging first: the promotion order (promotion_order) is not what these test.
const HOUR: std::time::Duration = std::time::Duration::from_hours(1);
#[test]
fn a_proposal_moves_nothing_until_merged_then_record_moves_it_once() {
    let repo = Repo::trained_once(GATES);
    repo.deployed("staging", 1, HOUR);
    let (report, code) = repo.trainyard(&["promote", "--env", "prod", "--reason", "v1 ready"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["outputs"]["recorded"], "false");
    let branch = report["outputs"]["branch"].as_str().unwrap().to_owned();

    // An unmerged proposal: no history, `champion` unmoved, and recording finds nothing.
    assert!(repo.ledger().deployments("prod").unwrap().is_empty());
    assert_eq!(aliases(&repo), (None, None));
    let (report, code) = repo.trainyard(&["status", "--record"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["outputs"]["recorded"], "0");
    assert_eq!(aliases(&repo), (None, None));
    let waiting = report["data"][1]["waiting"][0].as_str().unwrap();
    assert!(
        waiting.starts_with("v1 promote (")
            && waiting.ends_with(&format!(") on `{branch}`, not yet on `main`")),
        "{waiting}"
    );

    // Merged: the reconcile records it, made by the merge commit and its author.
    let merge_commit = merge(&repo, &branch, 7);
    let (report, code) = repo.trainyard(&["status", "--record"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["outputs"]["recorded"], "1");
    assert_eq!(report["outputs"]["pushed"], "false", "no remote");
    assert_eq!(
        report["findings"][0]["message"],
        format!(
            "prod: recorded promote clf v1 ({}) by Rita Reviewer <rita@example.com>; moved `prod` and `champion`",
            &merge_commit[..7]
        )
    );
    let history = repo.ledger().deployments("prod").unwrap();
    assert_eq!(history.len(), 1);
    let entry = &history[0];
    assert_eq!((entry.version, entry.kind), (1, DeploymentKind::Promote));
    assert_eq!(entry.commit, merge_commit);
    assert_eq!(entry.actor, "Rita Reviewer <rita@example.com>");
    assert_eq!(
        entry.reason,
        format!(
            "v1 ready (merged in {}: Merge pull request #7 from demo/{branch})",
            &merge_commit[..7]
        )
    );
    assert!(
        entry
            .verdict_digest
            .as_deref()
            .unwrap()
            .starts_with("blake3:")
    );
    assert_eq!(aliases(&repo), (Some(1), Some(1)));
    // The proposal is merged: nothing waits any more.
    assert_eq!(report["data"][1]["waiting"], serde_json::json!([]));
    assert_eq!(report["outputs"]["prod-version"], "1");

    // Twice records once.
    let (report, code) = repo.trainyard(&["status", "--record"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["outputs"]["recorded"], "0");
    assert_eq!(repo.ledger().deployments("prod").unwrap().len(), 1);
    let moves = repo
        .ledger()
        .alias_history("clf", Some("champion"))
        .unwrap();
    assert_eq!(moves.len(), 1, "{moves:?}");
}

#[test]
fn concurrent_records_record_once() {
    let repo = Repo::trained_once(GATES);
    let (report, code) = repo.trainyard(&["promote", "--env", "staging"]);
    assert_eq!(code, 0, "{report:#}");
    merge(&repo, report["outputs"]["branch"].as_str().unwrap(), 1);

    let outcomes: Vec<(serde_json::Value, i32)> = std::thread::scope(|scope| {
        let jobs: Vec<_> = (0..4)
            .map(|_| {
                let repo = &repo;
                scope.spawn(move || repo.trainyard(&["status", "--record"]))
            })
            .collect();
        jobs.into_iter().map(|job| job.join().unwrap()).collect()
    });
    let mut recorded = 0;
    for (report, code) in &outcomes {
        assert_eq!(*code, 0, "{report:#}");
        recorded += report["outputs"]["recorded"]
            .as_str()
            .unwrap()
            .parse::<u32>()
            .unwrap();
    }
    assert_eq!(recorded, 1, "{outcomes:#?}");
    assert_eq!(repo.ledger().deployments("staging").unwrap().len(), 1);
    assert_eq!(
        repo.ledger().aliases("clf").unwrap().get("staging"),
        Some(&1)
    );
    // The lock is the OS's, released with its holder: a later run is not blocked.
    let (report, code) = repo.trainyard(&["status", "--record"]);
    assert_eq!(
        (code, report["outputs"]["recorded"].as_str()),
        (0, Some("0")),
        "{report:#}"
    );
}

#[test]
fn a_rollback_through_a_merged_branch_moves_champion_back_on_record() {
    let repo = Repo::new(GATES);
    for (number, accuracy) in [(1, 0.95), (2, 0.97)] {
        let version = repo.train(&[("accuracy", accuracy)], 100, &[]);
        repo.deployed("staging", version, HOUR);
        let (report, code) = repo.trainyard(&["promote", "--env", "prod"]);
        assert_eq!(code, 0, "{report:#}");
        merge(&repo, report["outputs"]["branch"].as_str().unwrap(), number);
        let (report, code) = repo.trainyard(&["status", "--record"]);
        assert_eq!(
            (code, report["outputs"]["recorded"].as_str()),
            (0, Some("1")),
            "{report:#}"
        );
    }
    assert_eq!(aliases(&repo), (Some(2), Some(2)));

    let (report, code) = repo.trainyard(&[
        "rollback",
        "--env",
        "prod",
        "--reason",
        "v2 misclassifies new scanners",
    ]);
    assert_eq!(code, 0, "{report:#}");
    let branch = report["outputs"]["branch"].as_str().unwrap().to_owned();
    assert_eq!(branch, "trainyard/promote/prod/rollback-clf-v1");
    // Proposed, not merged: prod still has v2, and so has the ledger.
    assert_eq!(aliases(&repo), (Some(2), Some(2)));
    assert_eq!(repo.ledger().deployments("prod").unwrap().len(), 2);
    assert!(
        repo.read("deploy/prod/release.yaml")
            .contains("version: 2\n")
    );

    let merge_commit = merge(&repo, &branch, 3);
    let (report, code) = repo.trainyard(&["status", "--record"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["outputs"]["recorded"], "1");
    let history = repo.ledger().deployments("prod").unwrap();
    assert_eq!(
        common::versions_and_kinds(&history),
        vec![
            (1, DeploymentKind::Promote),
            (2, DeploymentKind::Promote),
            (1, DeploymentKind::Rollback)
        ]
    );
    assert_eq!(history[2].commit, merge_commit);
    assert!(
        history[2]
            .reason
            .starts_with("v2 misclassifies new scanners (merged in "),
        "{}",
        history[2].reason
    );
    assert_eq!(history[2].verdict_digest, history[0].verdict_digest);
    assert_eq!(aliases(&repo), (Some(1), Some(1)));
    let (report, _) = repo.trainyard(&["status", "--record"]);
    assert_eq!(report["outputs"]["recorded"], "0");
    assert_eq!(repo.ledger().deployments("prod").unwrap().len(), 3);
}

#[test]
fn a_direct_promotion_is_recorded_at_once_and_not_again() {
    let repo = Repo::trained_once(GATES);
    repo.deployed("staging", 1, HOUR);
    let (report, code) = repo.trainyard(&["promote", "--env", "prod", "--direct"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["outputs"]["recorded"], "true");
    assert_eq!(aliases(&repo), (Some(1), Some(1)));
    let (report, code) = repo.trainyard(&["status", "--record"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["outputs"]["recorded"], "0");
    assert_eq!(repo.ledger().deployments("prod").unwrap().len(), 1);
}

#[test]
fn a_merged_release_of_a_version_this_ledger_lacks_asks_for_a_ledger_pull() {
    let repo = Repo::trained_once(GATES);
    repo.write(
        "deploy/prod/release.yaml",
        "environment: prod\nmodel: clf\nversion: 9\ndigest: ab\nrun: 20261125T121449.123Z-3fa9c1\n\
         at: 2026-11-25T12:20:01Z\nby: someone\nkind: promote\n",
    );
    repo.commit_all("hand-written release");
    let (report, code) = repo.trainyard(&["status", "--record"]);
    assert_eq!(code, 2, "{report:#}");
    assert!(
        report
            .to_string()
            .contains("deploy/prod/release.yaml on `main` names clf v9, which this clone's ledger does not have"),
        "{report}"
    );
    assert!(report.to_string().contains("trainyard ledger pull"));
    assert!(repo.ledger().deployments("prod").unwrap().is_empty());
}

#[test]
fn a_ci_clone_records_a_squash_merge_from_origin_and_pushes_the_ledger() {
    // Origin, and the clone that proposes (pushing the branch and the ledger).
    let dev = Repo::new(GATES);
    let remote = tempfile::tempdir().unwrap();
    let bare = remote.path().join("demo.git");
    dev.git(&["clone", "--quiet", "--bare", ".", bare.to_str().unwrap()]);
    dev.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
    dev.train(&[("accuracy", 0.95)], 100, &[]);
    dev.deployed("staging", 1, HOUR);
    let (report, code) = dev.trainyard(&["promote", "--env", "prod"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["outputs"]["pushed"], "true");
    let branch = report["outputs"]["branch"].as_str().unwrap().to_owned();

    // The platform squash-merges the pull request on origin.
    dev.git(&["checkout", "--quiet", "main"]);
    dev.git(&["merge", "--quiet", "--squash", &branch]);
    dev.git_with(
        &["commit", "--quiet", "-m", "Promote: clf v1 to prod (#12)"],
        &REVIEWER,
    );
    let squash = dev.head();
    dev.git(&["push", "--quiet", "origin", "main"]);

    // A CI checkout of main: detached HEAD, main only as origin/main, the ledger pulled.
    let ci = Repo::new(GATES);
    ci.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
    ci.git(&["fetch", "--quiet", "origin"]);
    ci.git(&["checkout", "--quiet", "--detach", "origin/main"]);
    ci.git(&["branch", "--quiet", "-D", "main"]);
    let (report, code) = ci.trainyard(&["ledger", "pull"]);
    assert_eq!(code, 0, "{report:#}");
    let (report, code) = ci.trainyard(&["status", "--record"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["outputs"]["recorded"], "1");
    assert_eq!(report["outputs"]["pushed"], "true");
    let history = ci.ledger().deployments("prod").unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].commit, squash);
    assert_eq!(history[0].actor, "Rita Reviewer <rita@example.com>");

    // The record reached origin: the proposing clone sees it after a pull.
    let (_, code) = dev.trainyard(&["ledger", "pull"]);
    assert_eq!(code, 0);
    assert_eq!(dev.ledger().deployments("prod").unwrap().len(), 1);
    assert_eq!(aliases(&dev), (Some(1), Some(1)));
}
