//! The promotion order: environments are declared in the order a version goes
//! through them. A version enters one only after it was deployed to the one
//! before (for that one's `min-soak`, when set), read from the ledger's
//! per-environment history and judged by the default branch's manifest;
//! `promote --skip-order --reason` is the recorded way around it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use crate::common::gate_fixture::{self, Repo, errors, rules};
use trainyard_ledger::Ledger;

const GATES: &str = "  staging:\n    metrics: [\"accuracy >= 0.9\"]\n";
const HOUR: Duration = Duration::from_hours(1);

/// The fixture with `min-soak` on staging, committed on main.
fn soaking(min_soak: &str) -> Repo {
    let repo = Repo::new(GATES);
    repo.write(
        "trainyard.yaml",
        &gate_fixture::manifest(GATES).replace(
            "  - name: staging\n",
            &format!("  - name: staging\n    min-soak: {min_soak}\n"),
        ),
    );
    repo.commit_all("staging soaks");
    repo.train(&[("accuracy", 0.95)], 100, &[]);
    repo
}

fn order_rule(report: &serde_json::Value) -> (String, String, String, String, bool) {
    let report = if report["step"] == "promote" {
        &report["children"][0]
    } else {
        report
    };
    rules(report)
        .into_iter()
        .find(|rule| rule.0 == "order")
        .expect("an order rule in the verdict")
}

/// Once exit 0 with prod's release committed: a version nobody ran in staging went to prod.
#[test]
fn a_version_never_in_the_previous_environment_does_not_enter_the_next() {
    let repo = Repo::trained_once(GATES);
    let (report, code) = repo.trainyard(&["promote", "--env", "prod", "--direct"]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        order_rule(&report),
        (
            "order".into(),
            "staging".into(),
            "never deployed".into(),
            "deployed to staging".into(),
            false
        )
    );
    let errors = errors(&report);
    assert!(
        errors[0].starts_with("clf v1 was never deployed to staging; promote it to staging first"),
        "{errors:?}"
    );
    assert_eq!(repo.git(&["log", "--format=%s"]), "the project");
    assert!(repo.ledger().deployments("prod").unwrap().is_empty());

    // The gate shows the rule like every other: in its table, at the manifest's line.
    let (gate, code) = repo.trainyard(&["gate", "--env", "prod"]);
    assert_eq!(code, 1);
    let summary = gate["summary"].as_str().unwrap();
    assert!(
        summary.contains("| ❌ | order | staging | never deployed | deployed to staging |"),
        "{summary}"
    );
    let finding = &gate["findings"][0];
    assert_eq!(finding["rule"], "gate-order");
    assert_eq!(finding["location"]["line"], 11, "the `environments` line");

    // The first environment has no environment before it: no order rule.
    let (staging, code) = repo.trainyard(&["gate", "--env", "staging"]);
    assert_eq!(code, 0, "{staging:#}");
    assert!(rules(&staging).iter().all(|rule| rule.0 != "order"));

    // Once in staging, prod's order rule passes.
    let (promoted, code) = repo.trainyard(&["promote", "--env", "staging", "--direct"]);
    assert_eq!(code, 0, "{promoted:#}");
    let (report, code) = repo.trainyard(&["promote", "--env", "prod", "--direct"]);
    assert_eq!(code, 0, "{report:#}");
    let rule = order_rule(&report);
    assert!(rule.4 && rule.2.starts_with("in staging for "), "{rule:?}");
    assert_eq!(repo.ledger().deployments("prod").unwrap()[0].version, 1);
}

#[test]
fn min_soak_holds_a_version_until_it_has_stayed_long_enough() {
    let repo = soaking("24h");
    repo.deployed("staging", 1, 3 * HOUR);
    let (report, code) = repo.trainyard(&["gate", "--env", "prod"]);
    assert_eq!(code, 1, "{report:#}");
    let (_, _, observed, required, passed) = order_rule(&report);
    assert!(!passed);
    assert_eq!(required, "in staging for 24h");
    assert_eq!(observed, "in staging for 3h");
    assert!(
        errors(&report)[0].starts_with("clf v1 has been in staging for 3h of 24h; wait 21h more"),
        "{:?}",
        errors(&report)
    );

    // A stay ends when the next version is deployed there: v1's 3 hours count,
    // not the time since.
    let repo = soaking("24h");
    repo.deployed("staging", 1, 30 * HOUR);
    repo.train(&[("accuracy", 0.96)], 100, &[]);
    repo.deployed("staging", 2, 28 * HOUR);
    let (report, code) = repo.trainyard(&["gate", "--env", "prod", "--model", "clf@1"]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(order_rule(&report).2, "in staging for 2h");
    let (report, code) = repo.trainyard(&["gate", "--env", "prod", "--model", "clf@2"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(order_rule(&report).2, "in staging for 28h");
}

/// A branch cannot lower the soak it is judged by: the default branch's manifest rules.
#[test]
fn the_soak_comes_from_the_default_branchs_manifest() {
    let repo = soaking("24h");
    repo.deployed("staging", 1, 3 * HOUR);
    repo.git(&["checkout", "-q", "-b", "impatient"]);
    repo.write(
        "trainyard.yaml",
        &repo
            .read("trainyard.yaml")
            .replace("    min-soak: 24h\n", "    min-soak: 1h\n"),
    );
    repo.commit_all("soak less");
    let (report, code) = repo.trainyard(&["gate", "--env", "prod"]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(order_rule(&report).3, "in staging for 24h");
}

#[test]
fn min_soak_is_a_duration_checked_when_the_manifest_loads() {
    let repo = Repo::new(GATES);
    repo.write(
        "trainyard.yaml",
        &gate_fixture::manifest(GATES).replace(
            "  - name: staging\n",
            "  - name: staging\n    min-soak: a day\n",
        ),
    );
    let stderr = crate::common::trainyard_stderr(repo.path(), &["config", "check"], 2);
    assert!(
        stderr.contains("`min-soak` of environment `staging`: `a day` is not a duration"),
        "{stderr}"
    );
    assert!(stderr.contains("trainyard.yaml:13"), "{stderr}");
}

/// A hotfix goes around the order on purpose, and says why everywhere it is recorded.
#[test]
fn skip_order_with_a_reason_is_recorded() {
    let repo = Repo::trained_once(GATES);
    let stderr = crate::common::trainyard_stderr(
        repo.path(),
        &["promote", "--env", "prod", "--direct", "--skip-order"],
        2,
    );
    assert!(stderr.contains("--skip-order needs --reason"), "{stderr}");

    let (report, code) = repo.trainyard(&[
        "promote",
        "--env",
        "prod",
        "--direct",
        "--skip-order",
        "--reason",
        "CVE-2026-1 hotfix",
    ]);
    assert_eq!(code, 0, "{report:#}");
    let (_, _, observed, _, passed) = order_rule(&report);
    assert!(passed);
    assert_eq!(observed, "never deployed; order skipped: CVE-2026-1 hotfix");
    let deployment = &repo.ledger().deployments("prod").unwrap()[0];
    assert_eq!(
        deployment.reason,
        "promotion order skipped: CVE-2026-1 hotfix"
    );
    let champion = repo
        .ledger()
        .alias_history("clf", Some("champion"))
        .unwrap();
    assert!(
        champion.iter().any(|entry| entry.alias == "champion"
            && entry.reason == "promotion order skipped: CVE-2026-1 hotfix"),
        "{champion:?}"
    );
    assert!(
        repo.read("deploy/prod/release.yaml")
            .contains("reason: 'promotion order skipped: CVE-2026-1 hotfix'")
            || repo
                .read("deploy/prod/release.yaml")
                .contains("reason: \"promotion order skipped: CVE-2026-1 hotfix\"")
            || repo
                .read("deploy/prod/release.yaml")
                .contains("reason: promotion order skipped: CVE-2026-1 hotfix"),
        "{}",
        repo.read("deploy/prod/release.yaml")
    );

    // The action's inputs do the same: INPUT_SKIP-ORDER and INPUT_REASON.
    let repo = Repo::trained_once(GATES);
    let (report, code) = repo.trainyard_with(
        &["promote", "--env", "prod", "--direct"],
        &[("INPUT_SKIP-ORDER", "true"), ("INPUT_REASON", "hotfix")],
    );
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        repo.ledger().deployments("prod").unwrap()[0].reason,
        "promotion order skipped: hotfix"
    );
}

/// Going back is not going forward: rollback to a version the environment
/// had before is not judged by the order.
#[test]
fn rollback_is_not_subject_to_the_order() {
    let repo = Repo::trained_once(GATES);
    repo.deployed("staging", 1, 2 * HOUR);
    let (report, code) = repo.trainyard(&["promote", "--env", "prod", "--direct"]);
    assert_eq!(code, 0, "{report:#}");
    repo.train(&[("accuracy", 0.96)], 100, &[]);
    repo.deployed("staging", 2, HOUR);
    let (report, code) = repo.trainyard(&["promote", "--env", "prod", "--direct"]);
    assert_eq!(code, 0, "{report:#}");
    // v1 has left staging since; prod may still go back to it.
    let (report, code) = repo.trainyard(&[
        "rollback",
        "--env",
        "prod",
        "--reason",
        "v2 misbehaves",
        "--direct",
    ]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        repo.ledger()
            .deployments("prod")
            .unwrap()
            .last()
            .unwrap()
            .version,
        1
    );
}
