//! The gate rule `checks`: named check runs or commit statuses must have
//! succeeded on the commit the model was trained from, as GitHub reports them
//! (here a recording GitHub stand-in on 127.0.0.1). Missing, pending and
//! failed checks each refuse with one line; without a token the rule refuses
//! and says how to provide one — it never passes unread.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;
use crate::common::gate_fixture;

use common::verdict_rule;
use gate_fixture::{Repo, errors, rules};
use trainyard_testkit::recording::{Fault, RecordingServer};

const GATES: &str = "  staging:\n    checks: [unit-tests, ci/jenkins]\n";
const TOKEN: &str = "ghs_gate_checks_token";

fn github_env(server: &RecordingServer) -> Vec<(&'static str, String)> {
    vec![
        ("GITHUB_TOKEN", TOKEN.to_owned()),
        ("GITHUB_REPOSITORY", "octo-org/ml".to_owned()),
        ("GITHUB_API_URL", server.url.clone()),
        ("TRAINYARD_GITHUB_ATTEMPTS", "2".to_owned()),
    ]
}

fn gate(repo: &Repo, env: &[(&str, String)]) -> (serde_json::Value, i32) {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    repo.trainyard_with(&["gate", "--env", "staging"], &env)
}

#[test]
fn succeeded_checks_pass_and_each_missing_pending_or_failed_one_refuses_with_a_line() {
    let repo = Repo::trained_once(GATES);
    let commit = repo.run_of(1).git.commit;
    let short = &commit[..7];
    let server = RecordingServer::start();
    let env = github_env(&server);

    // Nothing reported yet: both are missing.
    let (report, code) = gate(&repo, &env);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        errors(&report),
        [
            format!(
                "no check run or commit status `unit-tests` was reported on commit {short} (GitHub octo-org/ml); reported: none"
            ),
            format!(
                "no check run or commit status `ci/jenkins` was reported on commit {short} (GitHub octo-org/ml); reported: none"
            ),
        ]
    );

    // A check run still running, a status that failed, and an unrelated check.
    server.add_check_run(&commit, "unit-tests", "in_progress", None);
    server.add_status(&commit, "ci/jenkins", "failure");
    server.add_check_run(&commit, "lint", "completed", Some("success"));
    let (report, code) = gate(&repo, &env);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        errors(&report),
        [
            format!(
                "check `unit-tests` on commit {short} is still `in_progress`; wait for it to finish, then run the gate again"
            ),
            format!("check `ci/jenkins` on commit {short} concluded `failure`; it must succeed"),
        ]
    );
    assert_eq!(
        rules(&report),
        [
            verdict_rule("check", "unit-tests", "in_progress", "success", false),
            verdict_rule("check", "ci/jenkins", "failure", "success", false),
        ]
    );

    // Both done and green.
    let server = RecordingServer::start();
    server.add_check_run(&commit, "unit-tests", "completed", Some("success"));
    server.add_status(&commit, "ci/jenkins", "success");
    let (report, code) = gate(&repo, &github_env(&server));
    assert_eq!(code, 0, "{report:#}");
    assert!(errors(&report).is_empty());
    let requests = server.requests();
    for request in &requests {
        assert_matches_github_openapi("GET", &request.path);
    }
    assert_eq!(
        server.routes(),
        [
            format!("GET /repos/octo-org/ml/commits/{commit}/check-runs"),
            format!("GET /repos/octo-org/ml/commits/{commit}/status"),
        ]
    );
    assert!(
        requests
            .iter()
            .all(|r| r.authorization.as_deref() == Some(&format!("Bearer {TOKEN}")[..]))
    );
    assert!(
        !report.to_string().contains(TOKEN),
        "the token is not in the report"
    );
}

#[test]
fn a_skipped_or_cancelled_check_does_not_count_as_succeeded() {
    let repo = Repo::trained_once("  staging:\n    checks: [e2e]\n");
    let commit = repo.run_of(1).git.commit;
    let server = RecordingServer::start();
    server.add_check_run(&commit, "e2e", "completed", Some("skipped"));
    let (report, code) = gate(&repo, &github_env(&server));
    assert_eq!(code, 1, "{report:#}");
    assert!(
        errors(&report)[0].ends_with("concluded `skipped`; it must succeed"),
        "{:?}",
        errors(&report)
    );
}

#[test]
fn without_a_token_the_rule_refuses_and_says_how_to_provide_one() {
    let repo = Repo::trained_once(GATES);
    let short = repo.run_of(1).git.commit[..7].to_owned();
    let (report, code) = repo.trainyard(&["gate", "--env", "staging"]);
    assert_eq!(code, 1, "{report:#}");
    let refusals = errors(&report);
    assert_eq!(refusals.len(), 2, "{refusals:?}");
    assert_eq!(
        refusals[0],
        format!(
            "check `unit-tests` on commit {short} cannot be verified: no GitHub token; set GITHUB_TOKEN \
             (in a workflow: `env: {{ GITHUB_TOKEN: ${{{{ github.token }}}} }}` or the action's `github-token` input) \
             with `checks: read` and `statuses: read` permissions"
        )
    );
    assert!(!refusals[0].contains('\n'));

    // A token but no repository to ask.
    let (report, code) =
        repo.trainyard_with(&["gate", "--env", "staging"], &[("GITHUB_TOKEN", TOKEN)]);
    assert_eq!(code, 1, "{report:#}");
    assert!(
        errors(&report)[0].ends_with(
            "cannot be verified: GITHUB_REPOSITORY is not set to owner/name, so there is no GitHub repository to ask; set it (GitHub Actions does)"
        ),
        "{:?}",
        errors(&report)
    );
}

#[test]
fn a_token_github_refuses_fails_the_rule_and_an_unreachable_github_is_exit_3() {
    let repo = Repo::trained_once(GATES);
    let server = RecordingServer::start();
    server.fail_next([Fault::status(403).message("Resource not accessible by integration")]);
    let (report, code) = gate(&repo, &github_env(&server));
    assert_eq!(code, 1, "{report:#}");
    assert!(
        errors(&report)[0].ends_with(
            "cannot be verified: GitHub refused to show them (HTTP 403); give the job's token `checks: read` and `statuses: read` permissions"
        ),
        "{:?}",
        errors(&report)
    );

    let server = RecordingServer::start();
    server.fail_next([Fault::status(502), Fault::status(502)]);
    let (report, code) = gate(&repo, &github_env(&server));
    assert_eq!(code, 3, "{report:#}");
    assert!(
        report.to_string().contains("GitHub did not answer"),
        "{report}"
    );
}

/// The request's route and query parameters are ones GitHub's own OpenAPI
/// description (npm @octokit/openapi) declares for that operation, with
/// values its schema allows.
fn assert_matches_github_openapi(method: &str, path_and_query: &str) {
    static SPEC: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    let spec = SPEC.get_or_init(|| {
        let file = common::support("@octokit/openapi/generated/api.github.com.json");
        assert!(
            file.is_file(),
            "GitHub's OpenAPI description is missing: run `.ci/test` (npm ci --prefix tests/support)"
        );
        serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap()
    });
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (template, operation) = spec["paths"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(template, item)| {
            let parts: Vec<&str> = template.trim_start_matches('/').split('/').collect();
            parts.len() == segments.len()
                && parts
                    .iter()
                    .zip(&segments)
                    .all(|(part, segment)| part.starts_with('{') || part == segment)
                && item.get(method.to_ascii_lowercase()).is_some()
        })
        .map_or_else(
            || panic!("GitHub's API has no {method} {path}"),
            |(template, item)| (template, &item[method.to_ascii_lowercase()]),
        );
    let parameters: Vec<&serde_json::Value> = operation["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|parameter| match parameter["$ref"].as_str() {
            Some(reference) => {
                let name = reference.rsplit('/').next().unwrap();
                &spec["components"]["parameters"][name]
            }
            None => parameter,
        })
        .collect();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let declared = parameters
            .iter()
            .find(|parameter| parameter["in"] == "query" && parameter["name"] == name)
            .unwrap_or_else(|| panic!("{method} {template} takes no query parameter `{name}`"));
        let schema = &declared["schema"];
        if let Some(allowed) = schema["enum"].as_array() {
            assert!(
                allowed.iter().any(|v| v == value),
                "`{name}={value}` is not one of {allowed:?} for {method} {template}"
            );
        }
        if schema["type"] == "integer" {
            let number: u64 = value
                .parse()
                .unwrap_or_else(|_| panic!("`{name}={value}` is not an integer"));
            assert!(
                name != "per_page" || number <= 100,
                "per_page is at most 100"
            );
        }
    }
}

/// An Azure Pipelines build of an Azure Repos repository, talking to `server`.
fn azure_env(
    server: &trainyard_testkit::azure_devops::AzureDevOpsServer,
) -> Vec<(&'static str, String)> {
    use trainyard_testkit::azure_devops::{PROJECT, REPOSITORY_ID};
    vec![
        ("TF_BUILD", "True".to_owned()),
        ("SYSTEM_ACCESSTOKEN", TOKEN.to_owned()),
        ("SYSTEM_COLLECTIONURI", server.collection_url()),
        ("SYSTEM_TEAMPROJECT", PROJECT.to_owned()),
        ("BUILD_REPOSITORY_ID", REPOSITORY_ID.to_owned()),
        ("BUILD_REPOSITORY_NAME", "ml".to_owned()),
        ("BUILD_REPOSITORY_PROVIDER", "TfsGit".to_owned()),
        ("BUILD_REASON", "Manual".to_owned()),
        ("TRAINYARD_GITHUB_ATTEMPTS", "2".to_owned()),
    ]
}

#[test]
fn on_azure_pipelines_the_rule_reads_azure_statuses_and_build_results() {
    use trainyard_testkit::azure_devops::AzureDevOpsServer;
    let repo = Repo::trained_once("  staging:\n    checks: [unit-tests, ci/jenkins]\n");
    let commit = repo.run_of(1).git.commit;
    let short = &commit[..7];

    // The pipeline's build of the commit failed; the status is still pending.
    let server = AzureDevOpsServer::start();
    server.add_build(&commit, "unit-tests", "completed", Some("failed"));
    server.add_build("0000000", "unit-tests", "completed", Some("succeeded"));
    server.add_commit_status(&commit, "ci", "jenkins", "pending");
    let (report, code) = gate(&repo, &azure_env(&server));
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        errors(&report),
        [
            format!("check `unit-tests` on commit {short} concluded `failed`; it must succeed"),
            format!(
                "check `ci/jenkins` on commit {short} is still `pending`; wait for it to finish, then run the gate again"
            ),
        ]
    );

    // Both green: the gate passes, and only read requests of the 7.1 API were made.
    let server = AzureDevOpsServer::start();
    server.add_build(&commit, "unit-tests", "completed", Some("succeeded"));
    server.add_commit_status(&commit, "ci", "jenkins", "succeeded");
    let (report, code) = gate(&repo, &azure_env(&server));
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(server.violations(), Vec::<String>::new());
    let reads: Vec<String> = server
        .routes()
        .into_iter()
        .filter(|route| route.starts_with("GET"))
        .collect();
    assert_eq!(
        reads,
        [
            format!(
                "GET git/repositories/{}/commits/{commit}/statuses",
                trainyard_testkit::azure_devops::REPOSITORY_ID
            ),
            "GET build/builds".to_owned(),
        ]
    );
    assert!(!report.to_string().contains(TOKEN));

    // Without the build's token the rule refuses and says how to map it.
    let mut env = azure_env(&server);
    env.retain(|(name, _)| *name != "SYSTEM_ACCESSTOKEN");
    let (report, code) = gate(&repo, &env);
    assert_eq!(code, 1, "{report:#}");
    assert!(
        errors(&report)[0].contains("SYSTEM_ACCESSTOKEN is not set"),
        "{:?}",
        errors(&report)
    );
}
