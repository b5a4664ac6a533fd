//! `trainyard promote`, `rollback` and `status` in real git repositories: the
//! desired state is a commit built from the branch tip (review branch or
//! direct), the ledger records the move and the aliases follow; rollback
//! keeps the history; a refused gate writes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;
use crate::common::gate_fixture;

use gate_fixture::{Repo, errors};
use trainyard_ledger::{DeploymentKind, Ledger};
use trainyard_testkit::git::git_as_configured;

const HOUR: std::time::Duration = std::time::Duration::from_hours(1);

const GATES: &str = "  staging:\n    metrics: [\"accuracy >= 0.9\"]\n  prod:\n    metrics: [\"accuracy >= 0.9\"]\n    require-tag: \"v*\"\n";

fn redact(release: &str) -> String {
    release
        .lines()
        .map(|line| match line.split_once(": ") {
            Some((key @ ("at" | "run" | "verdict"), _)) => format!("{key}: [{key}]"),
            _ => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn promote_proposes_a_review_branch_and_leaves_the_checkout_alone() {
    let repo = Repo::trained_once(GATES);
    repo.write("notes.txt", "work in progress\n");
    repo.git(&["add", "notes.txt"]);
    repo.write(
        "trainyard.yaml",
        &(repo.read("trainyard.yaml") + "# an edit not staged\n"),
    );
    let status_before = repo.status_porcelain();
    let main_before = repo.head();

    let (report, code) =
        repo.trainyard(&["promote", "--env", "staging", "--reason", "first release"]);
    assert_eq!(code, 0, "{report:#}");
    let outputs = &report["outputs"];
    let branch = "trainyard/promote/staging/clf-v1";
    assert_eq!(outputs["branch"], branch);
    assert_eq!(outputs["pushed"], "false", "no remote in this clone");
    // Nothing pushed: no pull request to ask the forge for (promote_forge_request has the pushed case).
    assert!(report.get("forge").is_none(), "{report:#}");
    assert_eq!(report["findings"][0]["rule"], "not-pushed");

    // The user's branch, index and work tree are as they were.
    assert_eq!(repo.head(), main_before);
    assert_eq!(repo.status_porcelain(), status_before);
    assert!(!repo.path().join("deploy").exists());

    // The review branch is one commit on main's tip, changing only release.yaml.
    assert_eq!(repo.git(&["rev-parse", &format!("{branch}^")]), main_before);
    assert_eq!(
        repo.git(&["diff", "--name-only", &main_before, branch]),
        "deploy/staging/release.yaml"
    );
    let release = repo.git(&["show", &format!("{branch}:deploy/staging/release.yaml")]);
    let run = repo.run_of(1);
    let version = repo.ledger().resolve("clf", "1").unwrap();
    let verdict_digest = report["children"][0]["outputs"]["verdict-digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let at = release
        .lines()
        .find_map(|line| line.strip_prefix("at: "))
        .unwrap();
    assert_eq!(
        release,
        format!(
            "# The desired state of environment `staging`, written by `trainyard promote`.\n\
             # Change it with `trainyard promote` or `trainyard rollback`; its history is `git log`.\n\
             apiVersion: trainyard.dev/v1\nkind: Release\nmetadata:\n  name: staging\n  annotations:\n    \
             config.kubernetes.io/local-config: \"true\"\n\
             environment: staging\nmodel: clf\nversion: 1\ndigest: {}\nrun: {}\ncommit: {}\n\
             verdict: {verdict_digest}\nat: {at}\nby: Test Person <test@example.com>\nchange: promote\n\
             reason: first release",
            version.artifact.digest, run.id, run.git.commit
        )
    );
    insta::assert_snapshot!("release_staging", redact(&release));
    let message = repo.git(&["log", "-1", "--format=%B", branch]);
    assert!(
        message.starts_with("Promote: clf v1 to staging\n\nRun: "),
        "{message}"
    );
    assert!(message.contains("Reason: first release"), "{message}");

    // Git is the source of truth: nothing is recorded and no alias moves until
    // the branch is merged (`status --record` on main records it then).
    assert_eq!(outputs["recorded"], "false");
    assert_eq!(report["findings"][1]["rule"], "recorded-on-merge");
    let ledger = repo.ledger();
    assert!(ledger.deployments("staging").unwrap().is_empty());
    assert_eq!(ledger.aliases("clf").unwrap().get("staging"), None);
}

#[test]
fn a_refused_gate_promotes_nothing_and_exits_1() {
    let repo = Repo::trained_once(GATES);
    repo.deployed("staging", 1, HOUR);
    let (report, code) = repo.trainyard(&["promote", "--env", "prod", "--direct"]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["outputs"]["passed"], "false");
    assert!(
        report["title"]
            .as_str()
            .unwrap()
            .starts_with("not promoted: clf v1 may not enter prod")
    );
    assert!(
        errors(&report)[0].contains("carries no tag matching `v*`"),
        "{:?}",
        errors(&report)
    );
    assert_eq!(repo.git(&["log", "--format=%s"]), "the project");
    assert_eq!(repo.git(&["branch", "--list", "trainyard/*"]), "");
    assert!(repo.ledger().deployments("prod").unwrap().is_empty());
}

#[test]
fn direct_promotion_and_rollback_keep_the_history_and_a_clean_checkout() {
    let repo = Repo::trained_once(GATES);
    let (_, code) = repo.trainyard(&["rollback", "--env", "staging", "--reason", "x"]);
    assert_eq!(code, 2, "staging has no history");
    repo.deployed("staging", 1, HOUR);
    repo.git(&["tag", "-a", "v1.0.0", "-m", "v1.0.0"]);
    let (report, code) = repo.trainyard(&["promote", "--env", "prod", "--direct"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["outputs"]["branch"], "main");
    // main is checked out: the file follows in the work tree and index, nothing else changes.
    assert_eq!(repo.status_porcelain(), "");
    assert!(
        repo.read("deploy/prod/release.yaml")
            .contains("version: 1\n")
    );

    repo.write("train.py", "# better model\n");
    repo.commit_all("a better model");
    repo.train(&[("accuracy", 0.97)], 100, &[]);
    repo.deployed("staging", 2, HOUR);
    repo.git(&["tag", "-a", "v1.1.0", "-m", "v1.1.0"]);
    let (report, code) = repo.trainyard(&["promote", "--env", "prod", "--direct"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(repo.status_porcelain(), "");
    assert_eq!(
        repo.ledger().aliases("clf").unwrap().get("champion"),
        Some(&2),
        "prod is the last environment"
    );

    // Promoting the same version again changes nothing.
    let (report, code) = repo.trainyard(&["promote", "--env", "prod", "--direct"]);
    assert_eq!(
        (code, report["conclusion"].as_str()),
        (0, Some("neutral")),
        "{report:#}"
    );

    let (report, code) = repo.trainyard(&[
        "rollback",
        "--env",
        "prod",
        "--reason",
        "v2 misclassifies new scanners",
        "--direct",
    ]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["step"], "rollback");
    assert!(
        report["title"]
            .as_str()
            .unwrap()
            .starts_with("Roll back: clf v1 to prod: committed "),
        "{report:#}"
    );
    assert_eq!(repo.status_porcelain(), "");
    let release = repo.read("deploy/prod/release.yaml");
    insta::assert_snapshot!("release_prod_rollback", redact(&release));
    // The rolled-back-to release carries v1's original verdict and run.
    let history = repo.ledger().deployments("prod").unwrap();
    assert_eq!(
        common::versions_and_kinds(&history),
        vec![
            (1, DeploymentKind::Promote),
            (2, DeploymentKind::Promote),
            (1, DeploymentKind::Rollback)
        ]
    );
    assert_eq!(history[2].verdict_digest, history[0].verdict_digest);
    assert_eq!(history[2].reason, "v2 misclassifies new scanners");
    assert!(release.contains(&format!(
        "verdict: {}\n",
        history[0].verdict_digest.as_deref().unwrap()
    )));
    assert_eq!(
        repo.ledger().aliases("clf").unwrap().get("champion"),
        Some(&1)
    );
    assert_eq!(repo.ledger().aliases("clf").unwrap().get("prod"), Some(&1));

    // History is `git log`: three changes of the file, newest first.
    assert_eq!(
        repo.git(&["log", "--format=%s", "--", "deploy/prod/release.yaml"]),
        "Roll back: clf v1 to prod\nPromote: clf v2 to prod\nPromote: clf v1 to prod"
    );

    // Forward again to v2 by name; a version never in prod cannot be rolled back to.
    let (_, code) = repo.trainyard(&[
        "rollback",
        "--env",
        "prod",
        "--to",
        "2",
        "--reason",
        "fixed upstream",
        "--direct",
    ]);
    assert_eq!(code, 0);
    assert!(
        repo.read("deploy/prod/release.yaml")
            .contains("version: 2\n")
    );
    let (report, code) =
        repo.trainyard(&["rollback", "--env", "prod", "--to", "7", "--reason", "x"]);
    assert_eq!(code, 2);
    assert!(
        report
            .to_string()
            .contains("v7 was never deployed to prod (its history: v1, v2, v1, v2)"),
        "{report}"
    );
}

#[test]
fn direct_promotion_refuses_to_overwrite_uncommitted_edits_of_the_release_file() {
    let repo = Repo::trained_once(GATES);
    repo.write("deploy/staging/release.yaml", "# hand edit\n");
    let (report, code) = repo.trainyard(&["promote", "--env", "staging", "--direct"]);
    assert_eq!(code, 3, "{report:#}");
    assert!(
        report
            .to_string()
            .contains("deploy/staging/release.yaml has uncommitted changes"),
        "{report}"
    );
    assert_eq!(repo.read("deploy/staging/release.yaml"), "# hand edit\n");
    assert_eq!(repo.git(&["log", "--format=%s"]), "the project");
}

#[test]
fn promotion_pushes_the_review_branch_and_the_ledger_to_the_remote() {
    let repo = Repo::new(GATES);
    let remote = tempfile::tempdir().unwrap();
    git_as_configured(remote.path(), &["init", "--quiet", "--bare"]);
    repo.git(&["remote", "add", "origin", remote.path().to_str().unwrap()]);
    repo.git(&["push", "--quiet", "origin", "main"]);
    repo.train(&[("accuracy", 0.95)], 100, &[]);

    let (report, code) = repo.trainyard(&["promote", "--env", "staging"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["outputs"]["pushed"], "true");
    let remote_refs = repo.git(&["ls-remote", "origin"]);
    assert!(
        remote_refs.contains("refs/heads/trainyard/promote/staging/clf-v1"),
        "{remote_refs}"
    );
    assert!(
        remote_refs.contains("refs/trainyard/"),
        "the ledger is pushed too: {remote_refs}"
    );
    assert!(!remote_refs.contains(&format!(
        "{}\trefs/heads/main",
        report["outputs"]["commit"].as_str().unwrap()
    )));
}

#[test]
fn status_shows_each_environment_and_what_waits_at_which_gate() {
    let repo = Repo::new(GATES);
    let (report, code) = repo.trainyard(&["status"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        report["title"],
        "staging: nothing deployed, prod: nothing deployed"
    );

    repo.train(&[("accuracy", 0.95)], 100, &[]);
    repo.trainyard(&["promote", "--env", "staging", "--direct"]);
    repo.train(&[("accuracy", 0.96)], 100, &[]);
    repo.trainyard(&["promote", "--env", "staging"]);
    let (report, code) = repo.trainyard(&["status"]);
    assert_eq!(code, 0, "{report:#}");
    let title = report["title"].as_str().unwrap();
    assert!(title.starts_with("staging: v1 (v2 promote ("), "{title}");
    assert!(title.ends_with(") on `trainyard/promote/staging/clf-v2`, not yet on `main`; v2 waits at the staging gate), prod: nothing deployed (v1 waits at the prod gate)"), "{title}");
    assert_eq!(report["outputs"]["staging-version"], "1");
    let data = &report["data"];
    assert_eq!(data[0]["environment"], "staging");
    assert_eq!(data[0]["deployed"]["version"], 1);
    assert_eq!(data[0]["waiting"][1], "v2 waits at the staging gate");
    assert_eq!(data[1]["deployed"], serde_json::Value::Null);
    // Whether what waits would get through its gate now.
    assert_eq!(data[0]["gate"], "would pass");
    let prod_outlook = data[1]["gate"].as_str().unwrap();
    assert!(
        prod_outlook.starts_with("would be refused (1 rule(s)): commit ")
            && prod_outlook.contains("carries no tag matching `v*`"),
        "{prod_outlook}"
    );
    let summary = report["summary"].as_str().unwrap();
    let run = repo.run_of(1);
    assert!(summary.contains("| staging | clf v1 | "), "{summary}");
    assert!(
        summary.contains(&format!(
            "| Test Person <test@example.com> | `{}` | `{}` |",
            run.id,
            &run.git.commit[..7]
        )),
        "{summary}"
    );
}

#[test]
fn a_project_in_a_folder_keeps_its_desired_state_beside_its_manifest() {
    let repo = Repo::new_in("ml", GATES);
    repo.train(&[("accuracy", 0.95)], 100, &[]);
    let (report, code) = repo.trainyard(&[
        "--manifest",
        "ml/trainyard.yaml",
        "promote",
        "--env",
        "staging",
        "--direct",
    ]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        report["outputs"]["release"],
        "ml/deploy/staging/release.yaml"
    );
    assert!(
        repo.read("ml/deploy/staging/release.yaml")
            .contains("\nversion: 1\n")
    );
    assert_eq!(repo.status_porcelain(), "");
    let policy = gate_fixture::verdict(&report["children"][0])["policy"].clone();
    assert!(
        policy.as_str().unwrap().ends_with(":ml/trainyard.yaml"),
        "{policy}"
    );
    let (report, code) = repo.trainyard(&["--manifest", "ml/trainyard.yaml", "status"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["outputs"]["staging-version"], "1");
}

#[test]
fn direct_promotion_from_another_branch_moves_only_the_target() {
    let repo = Repo::trained_once(GATES);
    let main_before = repo.head();
    repo.git(&["checkout", "--quiet", "-b", "feature"]);
    let (report, code) = repo.trainyard(&["promote", "--env", "staging", "--direct"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(repo.git(&["rev-parse", "--abbrev-ref", "HEAD"]), "feature");
    assert_eq!(
        repo.head(),
        main_before,
        "the checked-out branch did not move"
    );
    assert_eq!(repo.status_porcelain(), "");
    assert!(!repo.path().join("deploy").exists());
    assert_eq!(repo.git(&["rev-parse", "main^"]), main_before);
    assert_eq!(
        repo.git(&["rev-parse", "main"]),
        report["outputs"]["commit"].as_str().unwrap()
    );
}

#[test]
fn a_ci_checkout_without_the_local_branch_pushes_the_commit_to_the_remote_branch() {
    // The shape of a CI checkout: a detached HEAD, the default branch only as origin/main.
    let upstream = Repo::new(GATES);
    let remote = tempfile::tempdir().unwrap();
    let bare = remote.path().join("demo.git");
    upstream.git(&["clone", "--quiet", "--bare", ".", bare.to_str().unwrap()]);
    let ci = Repo::new(GATES);
    ci.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
    ci.git(&["fetch", "--quiet", "origin"]);
    ci.git(&["checkout", "--quiet", "--detach", "origin/main"]);
    ci.git(&["branch", "--quiet", "-D", "main"]);
    ci.train(&[("accuracy", 0.95)], 100, &[]);

    let (report, code) = ci.trainyard(&["promote", "--env", "staging", "--direct"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["outputs"]["pushed"], "true");
    let commit = report["outputs"]["commit"].as_str().unwrap();
    let remote_main = ci.git(&["ls-remote", "origin", "refs/heads/main"]);
    assert!(remote_main.starts_with(commit), "{remote_main}");
    assert_eq!(ci.status_porcelain(), "");

    // The remote moved meanwhile: the push is refused, the remote's tip fetched,
    // and the promotion built again on top of it.
    upstream.write("other.txt", "someone else's change");
    let meanwhile = upstream.commit_all("meanwhile");
    upstream.git(&["push", "--quiet", "--force", bare.to_str().unwrap(), "main"]);
    ci.train(&[("accuracy", 0.96)], 100, &[]);
    let (report, code) = ci.trainyard(&["promote", "--env", "staging", "--direct"]);
    assert_eq!(code, 0, "{report:#}");
    let commit = report["outputs"]["commit"].as_str().unwrap();
    assert!(
        ci.git(&["ls-remote", "origin", "refs/heads/main"])
            .starts_with(commit)
    );
    ci.git(&["fetch", "--quiet", "origin"]);
    assert_eq!(ci.git(&["rev-parse", &format!("{commit}^")]), meanwhile);
    assert_eq!(ci.ledger().deployments("staging").unwrap().len(), 2);
}

#[test]
fn a_local_branch_behind_its_remote_is_refused_and_nothing_moves() {
    let repo = Repo::new(GATES);
    let remote = tempfile::tempdir().unwrap();
    let bare = remote.path().join("demo.git");
    repo.git(&["clone", "--quiet", "--bare", ".", bare.to_str().unwrap()]);
    repo.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
    // Someone else pushes to main; this clone's main is now behind.
    let other = tempfile::tempdir().unwrap();
    let clone = other.path().join("other");
    repo.git(&[
        "clone",
        "--quiet",
        bare.to_str().unwrap(),
        clone.to_str().unwrap(),
    ]);
    std::fs::write(clone.join("other.txt"), "x").unwrap();
    for args in [
        &["add", "other.txt"][..],
        &[
            "-c",
            "user.name=O",
            "-c",
            "user.email=o@example.com",
            "commit",
            "--quiet",
            "-m",
            "other",
        ],
        &["push", "--quiet", "origin", "main"],
    ] {
        git_as_configured(&clone, args);
    }
    repo.train(&[("accuracy", 0.95)], 100, &[]);
    let main_before = repo.head();

    let (report, code) = repo.trainyard(&["promote", "--env", "staging", "--direct"]);
    assert_eq!(code, 3, "{report:#}");
    assert!(
        report
            .to_string()
            .contains("bring your branch up to date (`git pull`)"),
        "{report}"
    );
    assert_eq!(repo.head(), main_before);
    assert_eq!(repo.status_porcelain(), "");
    assert!(repo.ledger().deployments("staging").unwrap().is_empty());
}

#[test]
fn promotions_to_two_environments_at_once_both_land() {
    let repo = Repo::trained_once(GATES);
    repo.git(&["tag", "-a", "v1.0.0", "-m", "v1.0.0"]);
    // As on a CI runner: the target branch is not the one checked out.
    repo.git(&["checkout", "--quiet", "--detach"]);
    let outcomes: Vec<(serde_json::Value, i32)> = std::thread::scope(|scope| {
        let jobs: Vec<_> = ["staging", "prod"]
            .into_iter()
            .map(|env| {
                let repo = &repo;
                // prod's order is skipped: the race is the point here.
                let order: &[&str] = if env == "prod" {
                    &["--skip-order", "--reason", "both at once"]
                } else {
                    &[]
                };
                scope.spawn(move || {
                    repo.trainyard(&[&["promote", "--env", env, "--direct"], order].concat())
                })
            })
            .collect();
        jobs.into_iter().map(|job| job.join().unwrap()).collect()
    });
    for (report, code) in &outcomes {
        assert_eq!(*code, 0, "{report:#}");
    }
    let log = repo.git(&["log", "--format=%s", "main"]);
    assert!(log.contains("Promote: clf v1 to staging"), "{log}");
    assert!(log.contains("Promote: clf v1 to prod"), "{log}");
    let tree = repo.git(&["ls-tree", "-r", "--name-only", "main", "deploy"]);
    assert_eq!(
        tree,
        "deploy/prod/release.yaml\ndeploy/staging/release.yaml"
    );
    let ledger = repo.ledger();
    assert_eq!(ledger.deployments("staging").unwrap().len(), 1);
    assert_eq!(ledger.deployments("prod").unwrap().len(), 1);
}
