//! `trainyard config check` end to end: in a terminal, on GitHub Actions and
//! on Azure Pipelines, for a valid manifest and for the mistakes people make.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot set up should stop loudly

use crate::common;

use std::path::Path;

use common::{example_project, trainyard, webhook};
use predicates::prelude::*;

const TYPO: &str = "version: 1\nproject:\n  nmae: demo\n";
const WRONG_TYPE: &str = "version: 1\nproject:\n  name: demo\ndatasets:\n  train:\n    path: a.csv\n    sample:\n      rows: many\n";

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn the_example_manifest_passes() {
    let project = example_project();
    let assert = trainyard()
        .current_dir(project.path())
        .args(["config", "check"])
        .assert()
        .code(0);
    insta::assert_snapshot!(String::from_utf8_lossy(&assert.get_output().stdout));
}

#[test]
fn a_typo_exits_2_naming_line_and_nearest_key() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "trainyard.yaml", TYPO);
    let assert = trainyard()
        .current_dir(dir.path())
        .args(["config", "check"])
        .assert()
        .code(2);
    insta::assert_snapshot!(String::from_utf8_lossy(&assert.get_output().stderr));
}

#[test]
fn a_wrong_type_exits_2_naming_line_and_expected_type() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "trainyard.yaml", WRONG_TYPE);
    trainyard()
        .current_dir(dir.path())
        .args(["config", "check"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("trainyard.yaml:8:13"))
        .stderr(predicate::str::contains(
            "`datasets.train.sample.rows` must be a whole number of zero or more, found the string \"many\"",
        ));
}

/// `iac render` and `iac check` refuse a reader that is not an Entra object id;
/// `config check` must refuse it too, at the same line.
#[test]
fn a_reader_that_is_not_a_guid_exits_2_at_its_line() {
    let project = example_project();
    let manifest = project.path().join("trainyard.yaml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let broken = text.replace(
        "readers: [5f0c3a55-2f4b-4c0e-8f64-9d1b2a7c6e01]",
        "readers: [not-a-guid]",
    );
    assert_ne!(broken, text, "the example declares a reader");
    std::fs::write(&manifest, broken).unwrap();
    for step in [["config", "check"], ["iac", "check"]] {
        trainyard()
            .current_dir(project.path())
            .args(step)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(
                "trainyard.yaml:62:7: `not-a-guid` is not a Microsoft Entra object id",
            ));
    }
}

/// Every manifest value `iac render` refuses, `config check` refuses with the
/// same error at the same line.
#[test]
fn config_check_refuses_what_iac_render_refuses_at_the_same_line() {
    const PROD: &str = "    region: northeurope\n";
    let cases: [(&[(&str, &str)], &str); 7] = [
        (
            &[(
                PROD,
                "    region: northeurope\n    names: { storage-account: stbreastcancerproduction1 }\n",
            )],
            "trainyard.yaml:65:14: storage account name `stbreastcancerproduction1` is 25 characters long",
        ),
        (
            &[
                (
                    "  - name: staging\n",
                    "  - name: staging\n    names: { key-vault: kv-shared-1 }\n",
                ),
                (
                    PROD,
                    "    region: northeurope\n    names: { key-vault: kv-shared-1 }\n",
                ),
            ],
            "trainyard.yaml:66:14: environments `staging` and `prod` both get the key vault name `kv-shared-1`",
        ),
        (
            &[("address-space: 10.30.0.0/16", "address-space: 10.30.0.0/26")],
            "trainyard.yaml:66:16: `10.30.0.0/26` is not an IPv4 range of /22 or larger",
        ),
        (
            &[(
                "allowed-ips: [203.0.113.0/24]",
                "allowed-ips: [203.0.113.0/33]",
            )],
            "trainyard.yaml:54:35: `203.0.113.0/33` is not an IPv4 address or CIDR range",
        ),
        (
            &[(
                "tags: { criticality: high }",
                "tags: { \"critical/ity\": high }",
            )],
            "trainyard.yaml:65:5: tag name `critical/ity` contains `/`",
        ),
        (
            &[("min-nodes: 0, max-nodes: 4", "min-nodes: 5, max-nodes: 4")],
            "trainyard.yaml:67:42: `min-nodes` (5) is larger than `max-nodes` (4)",
        ),
        (
            &[(
                "deployers: [9b4e1f27-6c8d-4a2e-a3f5-1e0d7b9c8a64]",
                "deployers: [deploy-bot]",
            )],
            "trainyard.yaml:71:7: `deploy-bot` is not a Microsoft Entra object id",
        ),
    ];
    for (edits, expected) in cases {
        let project = example_project();
        let manifest = project.path().join("trainyard.yaml");
        let mut text = std::fs::read_to_string(&manifest).unwrap();
        for (find, replace) in edits {
            assert!(text.contains(find), "{find}");
            text = text.replacen(find, replace, 1);
        }
        std::fs::write(&manifest, text).unwrap();
        let first_line = |args: &[&str]| {
            let assert = trainyard()
                .current_dir(project.path())
                .args(args)
                .assert()
                .code(2);
            let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
            stderr.lines().next().unwrap_or_default().to_owned()
        };
        let from_config = first_line(&["config", "check"]);
        assert!(
            from_config.starts_with(&format!("error: {expected}")),
            "{from_config}"
        );
        assert_eq!(from_config, first_line(&["iac", "render", "--all"]));
    }
}

/// Refused by the steps that read them (`iac render`, `train`, `runs list`, …),
/// so refused by `config check` too, at the line.
#[test]
fn iac_without_environments_and_an_mlflow_backend_without_a_uri_exit_2_at_their_line() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "trainyard.yaml",
        "version: 1\nproject:\n  name: demo\niac:\n  targets: [terraform]\n",
    );
    trainyard()
        .current_dir(dir.path())
        .args(["config", "check"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "trainyard.yaml:4:1: `iac` needs environments, and `environments` is empty",
        ));

    write(
        dir.path(),
        "trainyard.yaml",
        "version: 1\nproject:\n  name: demo\ntracking:\n  backend: mlflow\n",
    );
    trainyard()
        .current_dir(dir.path())
        .args(["config", "check"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "trainyard.yaml:5:3: `tracking.backend: mlflow` needs `tracking.uri`",
        ));

    // With its server's address.
    write(
        dir.path(),
        "trainyard.yaml",
        "version: 1\nproject:\n  name: demo\ntracking:\n  backend: mlflow\n  uri: ftp://mlflow\n",
    );
    trainyard()
        .current_dir(dir.path())
        .args(["config", "check"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "trainyard.yaml:6:3: `tracking.uri`",
        ));
    write(
        dir.path(),
        "trainyard.yaml",
        "version: 1\nproject:\n  name: demo\ntracking:\n  backend: mlflow\n  uri: http://127.0.0.1:5000\n",
    );
    trainyard()
        .current_dir(dir.path())
        .args(["config", "check"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("mlflow at http://127.0.0.1:5000"));
}

#[test]
fn a_missing_manifest_exits_2_and_says_how_to_fix_it() {
    let dir = tempfile::tempdir().unwrap();
    trainyard()
        .current_dir(dir.path())
        .args(["config", "check"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("trainyard.yaml"))
        .stderr(predicate::str::contains("--manifest"));
}

#[test]
fn an_unknown_flag_exits_2() {
    trainyard()
        .args(["config", "check", "--frobnicate"])
        .assert()
        .code(2);
}

#[test]
fn json_format_prints_one_report_document() {
    let project = example_project();
    let assert = trainyard()
        .current_dir(project.path())
        .args(["config", "check", "--format", "json"])
        .assert()
        .code(0);
    let report: serde_json::Value = serde_json::from_slice(&assert.get_output().stdout).unwrap();
    assert_eq!(report["step"], "config check");
    assert_eq!(report["conclusion"], "success");
    assert_eq!(report["outputs"]["environments"], "dev,staging,prod");
}

#[test]
fn json_format_reports_errors_as_one_document_with_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "trainyard.yaml", TYPO);
    let assert = trainyard()
        .current_dir(dir.path())
        .args(["config", "check", "--format", "json"])
        .assert()
        .code(2);
    let document: serde_json::Value = serde_json::from_slice(&assert.get_output().stdout).unwrap();
    assert_eq!(document["error"]["exit-code"], 2);
    assert_eq!(document["error"]["rule"], "unknown-key");
    assert_eq!(document["error"]["location"]["line"], 3);
}

#[test]
fn the_manifest_comes_from_a_flag_a_trainyard_variable_or_an_action_input() {
    let project = example_project();
    let sub = project.path().join("ml");
    std::fs::create_dir(&sub).unwrap();
    std::fs::rename(
        project.path().join("trainyard.yaml"),
        sub.join("pipeline.yaml"),
    )
    .unwrap();

    trainyard()
        .current_dir(project.path())
        .args(["config", "check"])
        .assert()
        .code(2);
    trainyard()
        .current_dir(project.path())
        .args(["config", "check", "--manifest", "ml/pipeline.yaml"])
        .assert()
        .code(0);
    trainyard()
        .current_dir(project.path())
        .env("TRAINYARD_MANIFEST", "ml/pipeline.yaml")
        .args(["config", "check"])
        .assert()
        .code(0);
    trainyard()
        .current_dir(project.path())
        .env("INPUT_MANIFEST", "ml/pipeline.yaml")
        .args(["config", "check"])
        .assert()
        .code(0);
}

/// A simulated GitHub Actions step: the variables and files the runner provides.
struct GitHubStep {
    dir: tempfile::TempDir,
}

impl GitHubStep {
    fn new(event_name: &str, payload: &serde_json::Value) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("event.json"),
            serde_json::to_vec(payload).unwrap(),
        )
        .unwrap();
        std::fs::write(dir.path().join("output"), "").unwrap();
        std::fs::write(dir.path().join("summary"), "").unwrap();
        let step = Self { dir };
        std::fs::write(step.dir.path().join("event-name"), event_name).unwrap();
        step
    }

    fn apply(&self, command: &mut assert_cmd::Command) {
        let event_name = std::fs::read_to_string(self.dir.path().join("event-name")).unwrap();
        command
            .env("GITHUB_ACTIONS", "true")
            .env("CI", "true")
            .env("GITHUB_EVENT_NAME", event_name)
            .env("GITHUB_EVENT_PATH", self.dir.path().join("event.json"))
            .env("GITHUB_OUTPUT", self.dir.path().join("output"))
            .env("GITHUB_STEP_SUMMARY", self.dir.path().join("summary"))
            .env("GITHUB_REPOSITORY", "octo-org/breast-cancer")
            .env("GITHUB_SHA", "ec26c3e57ca3a959ca5aad62de7213c562f8c821");
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap()
    }
}

#[test]
fn on_github_a_valid_manifest_writes_outputs_and_a_summary() {
    let project = example_project();
    let step = GitHubStep::new(
        "pull_request",
        &webhook("pull_request", |p| p["action"] == "opened"),
    );
    let mut command = trainyard();
    step.apply(&mut command);
    command
        .current_dir(project.path())
        .args(["config", "check"])
        .assert()
        .code(0);

    let outputs = step.read("output");
    assert!(outputs.contains("project=breast-cancer\n"), "{outputs}");
    assert!(
        outputs.contains("environments=dev,staging,prod\n"),
        "{outputs}"
    );
    assert!(outputs.contains("conclusion=success\n"), "{outputs}");
    let summary = step.read("summary");
    assert!(
        summary.contains("| environments | `dev`, `staging`, `prod` |"),
        "{summary}"
    );
}

#[test]
fn on_github_a_bad_manifest_is_annotated_on_its_line() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "trainyard.yaml", TYPO);
    let step = GitHubStep::new(
        "push",
        &webhook("push", |p| p["ref"] == "refs/heads/master"),
    );
    let mut command = trainyard();
    step.apply(&mut command);
    let assert = command
        .current_dir(dir.path())
        .args(["config", "check"])
        .assert()
        .code(2);
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout);
    let annotation = stdout
        .lines()
        .find(|line| line.starts_with("::error "))
        .unwrap_or_else(|| panic!("no ::error annotation in:\n{stdout}"));
    assert!(
        annotation.contains("file=trainyard.yaml,line=3,col=3"),
        "{annotation}"
    );
    assert!(
        annotation.contains("unknown key `nmae` in `project`"),
        "{annotation}"
    );
    assert!(annotation.contains("did you mean `name`?"), "{annotation}");
}

#[test]
fn on_azure_outputs_summary_and_annotations_use_vso_commands() {
    let project = example_project();
    let agent_temp = tempfile::tempdir().unwrap();
    let azure = |command: &mut assert_cmd::Command| {
        command
            .env("TF_BUILD", "True")
            .env("AGENT_TEMPDIRECTORY", agent_temp.path())
            .env("BUILD_REASON", "PullRequest")
            .env("BUILD_SOURCEBRANCH", "refs/pull/7/merge")
            .env(
                "BUILD_SOURCEVERSION",
                "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
            )
            .env("SYSTEM_PULLREQUEST_PULLREQUESTID", "7")
            .env("SYSTEM_PULLREQUEST_SOURCEBRANCH", "refs/heads/feature")
            .env("SYSTEM_PULLREQUEST_TARGETBRANCH", "refs/heads/main");
    };

    let mut command = trainyard();
    azure(&mut command);
    let assert = command
        .current_dir(project.path())
        .args(["config", "check"])
        .assert()
        .code(0);
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout);
    assert!(
        stdout.contains("##vso[task.setvariable variable=project;isOutput=true]breast-cancer\n"),
        "{stdout}"
    );
    let summary_line = stdout
        .lines()
        .find_map(|line| line.strip_prefix("##vso[task.uploadsummary]"))
        .unwrap_or_else(|| panic!("no uploadsummary in:\n{stdout}"));
    let summary = std::fs::read_to_string(summary_line).unwrap();
    assert!(
        summary.contains("| environments | `dev`, `staging`, `prod` |"),
        "{summary}"
    );

    write(project.path(), "trainyard.yaml", TYPO);
    let mut command = trainyard();
    azure(&mut command);
    let assert = command
        .current_dir(project.path())
        .args(["config", "check"])
        .assert()
        .code(2);
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout);
    let issue = stdout
        .lines()
        .find(|line| line.starts_with("##vso[task.logissue type=error;"))
        .unwrap_or_else(|| panic!("no logissue in:\n{stdout}"));
    assert!(
        issue.contains("sourcepath=trainyard.yaml;linenumber=3;columnnumber=3"),
        "{issue}"
    );
    assert!(issue.contains("did you mean `name`?"), "{issue}");
}

/// The example with `edits` applied (each `find` must be there).
fn edited_example(edits: &[(&str, &str)]) -> tempfile::TempDir {
    let project = example_project();
    let manifest = project.path().join("trainyard.yaml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    for (find, replace) in edits {
        assert!(text.contains(find), "{find}");
        text = text.replacen(find, replace, 1);
    }
    std::fs::write(&manifest, text).unwrap();
    project
}

/// `config check`'s first error line in `dir`, after asserting exit 2.
fn first_error(dir: &Path, args: &[&str]) -> String {
    let assert = trainyard().current_dir(dir).args(args).assert().code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    stderr.lines().next().unwrap_or_default().to_owned()
}

/// A metric a gate or an early-stop rule judges without a declared direction
/// once passed `config check` (issue 15, item 6); the check is core's
/// `manifest::check_declared_metrics`, the one the loaders call.
#[test]
fn a_metric_a_rule_uses_without_a_declared_direction_exits_2_at_the_rule() {
    let cases: [(&[(&str, &str)], &str); 3] = [
        (
            &[("    f1: { direction: maximize }\n", "")],
            "error: trainyard.yaml:76:5: `f1` is used by `gates.prod.metrics` but not declared under `model.metrics`, so nothing says which way is better",
        ),
        (
            &[(
                "    require-tag: \"v*\"\n",
                "    require-tag: \"v*\"\n    non-regression: [{ metric: auc, tolerance: 0.01 }]\n",
            )],
            "error: trainyard.yaml:79:5: `auc` is used by `gates.prod.non-regression` but not declared under `model.metrics`, so nothing says which way is better",
        ),
        (
            &[(
                "    - { metric: loss, above: 10 }\n",
                "    - { metric: loss, above: 10 }\n    - { metric: val_loss, patience: 5 }\n",
            )],
            "error: trainyard.yaml:37:3: `val_loss` is used by `train.early-stop` but not declared under `model.metrics`, so nothing says which way is better",
        ),
    ];
    for (edits, expected) in cases {
        let project = edited_example(edits);
        assert_eq!(first_error(project.path(), &["config", "check"]), expected);
    }
    // With its own direction, patience needs no declaration.
    let project = edited_example(&[(
        "    - { metric: loss, above: 10 }\n",
        "    - { metric: loss, above: 10 }\n    - { metric: val_loss, patience: 5, direction: minimize }\n",
    )]);
    trainyard()
        .current_dir(project.path())
        .args(["config", "check"])
        .assert()
        .code(0);
}

/// A schema file `data validate` cannot read once passed `config check`.
#[test]
fn a_schema_file_that_is_missing_or_does_not_parse_exits_2_as_data_validate_does() {
    const SCHEMA_FILE: (&str, &str) = (
        "    label: diagnosis\n",
        "    label: diagnosis\n    schema-file: schema/biopsies.yaml\n",
    );
    let project = edited_example(&[SCHEMA_FILE]);
    assert_eq!(
        first_error(project.path(), &["config", "check"]),
        "error: trainyard.yaml:14:5: dataset `biopsies`: the schema file `schema/biopsies.yaml` does not exist"
    );

    std::fs::create_dir_all(project.path().join("schema")).unwrap();
    for broken in [
        "columns:\n  - { name: mean_radius, type: nubmer }\n",
        "columns: [\n",
        "colums: []\n",
    ] {
        write(project.path(), "schema/biopsies.yaml", broken);
        let checked = first_error(project.path(), &["config", "check"]);
        assert!(
            checked.starts_with("error: schema/biopsies.yaml:"),
            "{broken}: {checked}"
        );
        assert_eq!(
            checked,
            first_error(project.path(), &["data", "validate"]),
            "{broken}"
        );
    }

    write(
        project.path(),
        "schema/biopsies.yaml",
        "columns:\n  - { name: mean_radius, type: number }\n",
    );
    trainyard()
        .current_dir(project.path())
        .args(["config", "check"])
        .assert()
        .code(0);
}

/// The documented project-name rule is the loader's, so `config check`
/// reports it at its line rather than a later step mangling the name.
#[test]
fn a_project_name_outside_its_rule_exits_2_at_its_line() {
    let project = edited_example(&[("  name: breast-cancer\n", "  name: Breast_Cancer\n")]);
    let error = first_error(project.path(), &["config", "check"]);
    assert!(
        error.starts_with("error: trainyard.yaml:6:") && error.contains("`Breast_Cancer`"),
        "{error}"
    );
}
