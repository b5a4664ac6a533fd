//! Quickstart's gates phase: dev, then staging passes and is promoted, prod refuses
//! without a release tag, the tag lets it pass, prod is promoted, a second
//! version goes to staging and is rolled back — each a report of its own, and
//! the example's git history shows it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

#[test]
fn quickstart_walks_a_model_through_the_gates_and_back() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("example");
    let report = common::run_json(
        common::trainyard()
            .env("DO_NOT_TRACK", "1")
            .arg("quickstart")
            .arg(&target),
        0,
    );
    let phases: Vec<(String, String, String)> = report["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|child| {
            (
                child["step"].as_str().unwrap().to_owned(),
                child["conclusion"].as_str().unwrap().to_owned(),
                child["title"].as_str().unwrap().to_owned(),
            )
        })
        .skip_while(|(step, _, _)| step != "gate")
        .collect();
    let steps: Vec<(&str, &str)> = phases
        .iter()
        .map(|(step, conclusion, _)| (step.as_str(), conclusion.as_str()))
        .collect();
    assert_eq!(
        steps[..7],
        [
            ("gate", "success"),
            ("promote", "success"),
            ("gate", "neutral"),
            ("tag", "success"),
            ("gate", "success"),
            ("promote", "success"),
            ("train", "success"),
        ],
        "{phases:#?}"
    );
    // Later phases (other steps) may follow.
    // The second version goes through dev to staging (the promotion order).
    assert_eq!(
        steps[7..11],
        [
            ("promote", "success"),
            ("promote", "success"),
            ("rollback", "success"),
            ("status", "success")
        ]
    );
    assert!(
        phases[2].2.starts_with("refused, as it should be: "),
        "{}",
        phases[2].2
    );
    assert!(
        phases[2].2.contains("may not enter prod"),
        "{}",
        phases[2].2
    );

    // The example's own history (stdout trimmed).
    let git = |args: &[&str]| trainyard_testkit::git::git_as_configured(&target, args);
    assert_eq!(
        git(&["log", "--format=%s", "--", "deploy/"]),
        "Roll back: breast-cancer-classifier v1 to staging\n\
         Promote: breast-cancer-classifier v2 to staging\n\
         Promote: breast-cancer-classifier v2 to dev\n\
         Promote: breast-cancer-classifier v1 to prod\n\
         Promote: breast-cancer-classifier v1 to staging\n\
         Promote: breast-cancer-classifier v1 to dev"
    );
    let prod = std::fs::read_to_string(target.join("deploy/prod/release.yaml")).unwrap();
    assert!(
        prod.contains("\nversion: 1\n") && prod.contains("\nchange: promote\n"),
        "{prod}"
    );
    let staging = std::fs::read_to_string(target.join("deploy/staging/release.yaml")).unwrap();
    assert!(staging.contains("\nchange: rollback\n"), "{staging}");
    assert_eq!(
        git(&[
            "status",
            "--porcelain",
            "--",
            "deploy/staging/release.yaml",
            "deploy/prod/release.yaml"
        ]),
        ""
    );
    assert_eq!(git(&["tag", "--list"]), "v1.0.0");
}
