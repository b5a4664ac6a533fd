//! What `promote` and `rollback` ask of the forge: a pushed review branch puts
//! one typed `open-pull-request` request in the report (its title, and the
//! verdict table as its body); a direct commit or an unpushed branch asks for
//! nothing, and no `pr-*` strings travel in the outputs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::gate_fixture::Repo;
use trainyard_testkit::git::git_as_configured;

const GATES: &str =
    "  staging:\n    metrics: [\"accuracy >= 0.9\"]\n  prod:\n    metrics: [\"accuracy >= 0.9\"]\n";

fn with_remote(repo: &Repo) -> tempfile::TempDir {
    let remote = tempfile::tempdir().unwrap();
    git_as_configured(remote.path(), &["init", "--quiet", "--bare"]);
    repo.git(&["remote", "add", "origin", remote.path().to_str().unwrap()]);
    repo.git(&["push", "--quiet", "origin", "main"]);
    remote
}

fn no_pr_outputs(report: &serde_json::Value) {
    let outputs = report["outputs"].as_object().unwrap();
    assert!(
        !outputs.keys().any(|name| name.starts_with("pr-")),
        "{outputs:#?}"
    );
}

/// Through staging first: the promotion order (promotion_order) is not what these test.
const HOUR: std::time::Duration = std::time::Duration::from_hours(1);
#[test]
fn a_pushed_review_branch_asks_for_its_pull_request() {
    let repo = Repo::new(GATES);
    let _remote = with_remote(&repo);
    repo.train(&[("accuracy", 0.95)], 100, &[]);

    let (report, code) = repo.trainyard(&["promote", "--env", "staging", "--reason", "first"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["outputs"]["pushed"], "true");
    no_pr_outputs(&report);
    let requests = report["forge"].as_array().unwrap();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    let request = &requests[0];
    assert_eq!(request["kind"], "open-pull-request");
    assert_eq!(request["head"], "trainyard/promote/staging/clf-v1");
    assert_eq!(request["head"], report["outputs"]["branch"]);
    assert_eq!(request["base"], "main");
    assert_eq!(request["title"], "Promote: clf v1 to staging");
    let body = request["body"].as_str().unwrap();
    assert!(body.starts_with("Promote: clf v1 to staging\n"), "{body}");
    assert!(
        body.contains("| ✅ | metric | accuracy | 0.95 | >= 0.9 |"),
        "{body}"
    );
}

#[test]
fn an_unpushed_branch_or_a_direct_commit_asks_for_nothing() {
    let repo = Repo::trained_once(GATES);
    let (report, code) = repo.trainyard(&["promote", "--env", "staging"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["outputs"]["pushed"], "false");
    assert!(report.get("forge").is_none(), "{report:#}");
    no_pr_outputs(&report);

    let _remote = with_remote(&repo);
    repo.deployed("staging", 1, HOUR);
    let (report, code) = repo.trainyard(&["promote", "--env", "prod", "--direct"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["outputs"]["pushed"], "true");
    assert!(report.get("forge").is_none(), "{report:#}");
    no_pr_outputs(&report);
}

#[test]
fn a_rollback_on_a_review_branch_asks_for_its_pull_request() {
    let repo = Repo::new(GATES);
    let _remote = with_remote(&repo);
    repo.train(&[("accuracy", 0.95)], 100, &[]);
    repo.deployed("staging", 1, HOUR);
    let (report, code) = repo.trainyard(&["promote", "--env", "prod", "--direct"]);
    assert_eq!(code, 0, "{report:#}");
    repo.train(&[("accuracy", 0.96)], 100, &[]);
    repo.deployed("staging", 2, HOUR);
    let (report, code) = repo.trainyard(&["promote", "--env", "prod", "--direct"]);
    assert_eq!(code, 0, "{report:#}");

    let (report, code) = repo.trainyard(&["rollback", "--env", "prod", "--reason", "v2 is slow"]);
    assert_eq!(code, 0, "{report:#}");
    no_pr_outputs(&report);
    let request = &report["forge"][0];
    assert_eq!(request["kind"], "open-pull-request");
    assert_eq!(request["title"], "Roll back: clf v1 to prod");
    assert_eq!(request["head"], report["outputs"]["branch"]);
    assert_eq!(request["base"], "main");
}
