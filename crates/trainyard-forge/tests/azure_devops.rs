//! `trainyard_forge::publish` and `trainyard_forge::evidence` on Azure
//! Pipelines, against the Azure DevOps stand-in (which checks each request's
//! method, route, api-version and body against the REST reference): a status
//! per judging step, one sticky thread updated in place, a promotion's pull
//! request opened then updated, a retraining run queued, retries, the
//! fallback when the token is refused, and statuses and builds for the gate.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use serde_json::json;
use trainyard_ci::{Env, Host};
use trainyard_core::{Conclusion, ForgeRequest, Report};
use trainyard_forge::evidence::{self, CheckState, CheckStates};
use trainyard_forge::publish::{Job, Outcome, Publication, publish};
use trainyard_testkit::azure_devops::{
    AzureDevOpsServer, DESCRIPTION_LIMIT, Fault, PROJECT, REPOSITORY_ID, REPOSITORY_NAME,
};

const TOKEN: &str = "azure_build_token_123";
const SHA: &str = "0123456789abcdef0123456789abcdef01234567";
const PR: u64 = 7;

/// A pull-request build of an Azure Repos repository with the build's token.
fn env(server: &AzureDevOpsServer, extra: &[(&str, &str)]) -> Env {
    let mut env = Env::from_pairs([
        ("TF_BUILD", "True"),
        ("SYSTEM_ACCESSTOKEN", TOKEN),
        ("SYSTEM_TEAMPROJECT", PROJECT),
        ("BUILD_REPOSITORY_ID", REPOSITORY_ID),
        ("BUILD_REPOSITORY_NAME", REPOSITORY_NAME),
        ("BUILD_REPOSITORY_PROVIDER", "TfsGit"),
        ("BUILD_BUILDID", "314"),
        ("BUILD_SOURCEVERSION", SHA),
        ("BUILD_REASON", "PullRequest"),
        ("SYSTEM_PULLREQUEST_PULLREQUESTID", "7"),
        (
            "SYSTEM_PULLREQUEST_SOURCEBRANCH",
            "refs/heads/feature/more-data",
        ),
        ("SYSTEM_PULLREQUEST_TARGETBRANCH", "refs/heads/main"),
        ("TRAINYARD_GITHUB_ATTEMPTS", "1"),
    ]);
    env.set("SYSTEM_COLLECTIONURI", server.collection_url());
    for (name, value) in extra {
        env.set(*name, *value);
    }
    env
}

/// A push build of main (no pull request).
fn push_env(server: &AzureDevOpsServer, extra: &[(&str, &str)]) -> Env {
    let mut env = env(server, extra);
    env.set("BUILD_REASON", "IndividualCI");
    env.set("BUILD_SOURCEBRANCH", "refs/heads/main");
    env.remove("SYSTEM_PULLREQUEST_PULLREQUESTID");
    env
}

fn run(report: &Report, env: &Env, sticky: bool, memory: Option<&Path>) -> (Outcome, String) {
    let mut log = Vec::new();
    let outcome = publish(
        &Publication {
            report,
            project: "breast-cancer",
            sticky_comment: sticky,
        },
        &Job {
            env,
            host: Host::AzurePipelines,
            memory,
        },
        &mut log,
    );
    (outcome, String::from_utf8(log).unwrap())
}

fn repo(route: &str) -> String {
    format!("git/repositories/{REPOSITORY_ID}/{route}")
}

#[test]
fn each_judging_step_posts_a_status_on_the_pull_request() {
    let server = AzureDevOpsServer::start();
    let env = env(&server, &[]);
    let gate = Report::new("gate", Conclusion::Failure, "Gate staging: refused");
    let validate = Report::new("data validate", Conclusion::Success, "2 datasets valid");

    let (outcome, log) = run(&gate, &env, false, None);
    assert_eq!(outcome, Outcome::Done, "{log}");
    let (outcome, log) = run(&validate, &env, false, None);
    assert_eq!(outcome, Outcome::Done, "{log}");

    assert_eq!(server.violations(), Vec::<String>::new());
    let status_route = format!("POST {}", repo("pullRequests/7/statuses"));
    assert_eq!(server.routes(), [status_route.clone(), status_route]);
    let requests = server.requests();
    assert!(
        requests
            .iter()
            .all(|r| r.path.ends_with("?api-version=7.1"))
    );
    assert!(
        requests
            .iter()
            .all(|r| r.authorization.as_deref() == Some(&*format!("Bearer {TOKEN}")))
    );
    let statuses = server.pull_request_statuses(PR);
    assert_eq!(statuses[0]["state"], "failed");
    assert_eq!(
        statuses[0]["context"],
        json!({"genre": "trainyard", "name": "gate (breast-cancer)"})
    );
    assert_eq!(statuses[0]["description"], "Gate staging: refused");
    assert_eq!(
        statuses[0]["targetUrl"],
        format!(
            "{}ML%20Platform/_build/results?buildId=314",
            server.collection_url()
        )
    );
    assert_eq!(statuses[1]["state"], "succeeded");
    assert_eq!(
        statuses[1]["context"]["name"],
        "data validate (breast-cancer)"
    );
    // The token is masked first; the status's name is an output.
    assert_eq!(
        log,
        format!(
            "##vso[task.setsecret]{TOKEN}\n##vso[task.setvariable variable=status;isOutput=true]trainyard/data validate (breast-cancer)\n"
        )
    );
}

#[test]
fn outside_a_pull_request_the_status_goes_on_the_commit() {
    let server = AzureDevOpsServer::start();
    let (outcome, log) = run(
        &Report::new("gate", Conclusion::Success, "Gate staging: passed"),
        &push_env(&server, &[]),
        false,
        None,
    );
    assert_eq!(outcome, Outcome::Done, "{log}");
    assert_eq!(server.violations(), Vec::<String>::new());
    assert_eq!(
        server.routes(),
        [format!("POST {}", repo(&format!("commits/{SHA}/statuses")))]
    );
    assert_eq!(server.commit_statuses(SHA)[0]["state"], "succeeded");
}

#[test]
fn three_report_runs_leave_one_thread_updated_in_place() {
    let server = AzureDevOpsServer::start();
    server.add_thread(
        PR,
        "a reviewer's question, quoting <!-- trainyard:breast-cancer:report -->",
    );
    let env = env(&server, &[]);
    for (round, conclusion) in [
        Conclusion::Failure,
        Conclusion::Failure,
        Conclusion::Success,
    ]
    .into_iter()
    .enumerate()
    {
        let mut report = Report::new("report", conclusion, "report");
        report.summary = format!("## trainyard report, round {round}");
        let (outcome, log) = run(&report, &env, true, None);
        assert_eq!(outcome, Outcome::Done, "{log}");
    }
    assert_eq!(server.violations(), Vec::<String>::new());
    let threads = server.threads(PR);
    assert_eq!(threads.len(), 2, "{threads:#?}");
    let ours = &threads[1];
    let comments = ours["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 1);
    assert_eq!(
        comments[0]["content"],
        "<!-- trainyard:breast-cancer:report -->\n## trainyard report, round 2"
    );
    // Active while the report fails (a comment-resolution policy holds the merge), closed once it passes.
    assert_eq!(ours["status"], "closed");
    let thread_routes: Vec<String> = server
        .routes()
        .into_iter()
        .filter(|r| r.contains("/threads"))
        .collect();
    let threads_route = repo("pullRequests/7/threads");
    let id = ours["id"].as_u64().unwrap();
    assert_eq!(
        thread_routes,
        [
            format!("GET {threads_route}"),
            format!("POST {threads_route}"),
            format!("GET {threads_route}"),
            format!("PATCH {threads_route}/{id}/comments/1"),
            format!("GET {threads_route}"),
            format!("PATCH {threads_route}/{id}/comments/1"),
            format!("PATCH {threads_route}/{id}"),
        ]
    );
    // The first thread, someone else's, is untouched.
    assert_eq!(threads[0]["comments"].as_array().unwrap().len(), 1);
}

#[test]
fn a_promotion_opens_its_pull_request_then_updates_it() {
    let server = AzureDevOpsServer::start();
    let env = push_env(&server, &[]);
    let promote = |body: &str| {
        Report::new("promote", Conclusion::Success, "Promote: clf v3 to staging")
            .with_forge_request(ForgeRequest::OpenPullRequest {
                head: "trainyard/promote/staging/clf-v3".into(),
                base: "main".into(),
                title: "Promote: clf v3 to staging".into(),
                body: body.to_owned(),
            })
    };
    let (outcome, first) = run(&promote("| ✅ | accuracy |"), &env, false, None);
    assert_eq!(outcome, Outcome::Done, "{first}");
    let long = "| ✅ | a long table row |\n".repeat(400);
    let (outcome, second) = run(&promote(&long), &env, false, None);
    assert_eq!(outcome, Outcome::Done, "{second}");

    assert_eq!(server.violations(), Vec::<String>::new());
    let prs = server.pull_requests();
    assert_eq!(prs.len(), 1, "{prs:#?}");
    let pr = &prs[0];
    assert_eq!(
        pr["sourceRefName"],
        "refs/heads/trainyard/promote/staging/clf-v3"
    );
    assert_eq!(pr["targetRefName"], "refs/heads/main");
    let description = pr["description"].as_str().unwrap();
    assert!(description.chars().count() <= DESCRIPTION_LIMIT);
    assert!(
        description.ends_with("the whole report is in the job summary.*"),
        "{description}"
    );
    let id = pr["pullRequestId"].as_u64().unwrap();
    let routes = server.routes();
    let prs_route = repo("pullrequests");
    assert_eq!(
        routes
            .iter()
            .filter(|r| r.contains("pullrequests"))
            .collect::<Vec<_>>(),
        [
            &format!("GET {prs_route}"),
            &format!("POST {prs_route}"),
            &format!("GET {prs_route}"),
            &format!("PATCH {prs_route}/{id}"),
        ]
    );
    let search = &server.requests()[1].path;
    assert!(
        search.contains(
            "searchCriteria.sourceRefName=refs%2Fheads%2Ftrainyard%2Fpromote%2Fstaging%2Fclf-v3"
        ),
        "{search}"
    );
    let url = format!(
        "##vso[task.setvariable variable=pull-request-url;isOutput=true]https://dev.azure.test/contoso/ML%AZP2520Platform/_git/ml/pullrequest/{id}"
    );
    assert!(first.contains(&url), "{first}");
    assert!(second.contains(&format!(
        "variable=pull-request-number;isOutput=true]{id}\n"
    )));
}

#[test]
fn drift_queues_the_retraining_pipeline_by_id_or_name() {
    let server = AzureDevOpsServer::start();
    server.add_pipeline(12, "ml-main");
    let drift = Report::new("data drift", Conclusion::Failure, "4 of 30 columns drifted")
        .with_forge_request(ForgeRequest::DispatchRetraining {
            reason: "data drift".into(),
        });
    for pipeline in ["12", "ml-main"] {
        let env = push_env(&server, &[("INPUT_RETRAIN_PIPELINE", pipeline)]);
        let (outcome, log) = run(&drift, &env, false, None);
        assert_eq!(outcome, Outcome::Done, "{log}");
        assert!(
            log.contains("##vso[task.setvariable variable=retrain-dispatched;isOutput=true]true"),
            "{log}"
        );
        assert!(
            log.contains("variable=retrain-run-url;isOutput=true]https://dev.azure.test/"),
            "{log}"
        );
    }
    assert_eq!(server.violations(), Vec::<String>::new());
    let runs = server.runs();
    assert_eq!(runs.len(), 2);
    assert!(runs.iter().all(|run| run["pipeline"]["id"] == 12));
    let routes: Vec<String> = server
        .routes()
        .into_iter()
        .filter(|r| !r.contains("statuses"))
        .collect();
    assert_eq!(
        routes,
        [
            "POST pipelines/12/runs",
            "GET pipelines",
            "POST pipelines/12/runs"
        ]
    );

    // A build identity that may queue builds but not post statuses still retrains.
    server
        .fail_next([Fault::status(403)
            .message("TF401027: You need the Git 'PullRequestContribute' permission")]);
    let env = push_env(&server, &[("INPUT_RETRAIN_PIPELINE", "12")]);
    let (outcome, log) = run(&drift, &env, false, None);
    assert_eq!(outcome, Outcome::Done, "{log}");
    assert_eq!(server.runs().len(), 3);
    assert!(
        log.contains("retrain-dispatched;isOutput=true]true"),
        "{log}"
    );
    assert!(
        log.contains(
            "##vso[task.logissue type=warning]Azure DevOps refused to post a commit status"
        ),
        "{log}"
    );

    // Without a pipeline named, drift queues nothing.
    let before = server.runs().len();
    let (outcome, _) = run(&drift, &push_env(&server, &[]), false, None);
    assert_eq!(outcome, Outcome::Done);
    assert_eq!(server.runs().len(), before);
}

#[test]
fn a_refused_token_falls_back_to_the_summary_saying_so_once() {
    let server = AzureDevOpsServer::start();
    server.read_only();
    let env = env(&server, &[]);
    let memory = tempfile::tempdir().unwrap();
    let report = Report::new("gate", Conclusion::Failure, "Gate staging: refused");
    let (outcome, first) = run(&report, &env, false, Some(memory.path()));
    let (outcome_again, second) = run(&report, &env, false, Some(memory.path()));
    assert_eq!((outcome, outcome_again), (Outcome::Done, Outcome::Done));
    assert!(
        first.contains(
            "##vso[task.logissue type=warning]Azure DevOps refused to post a pull request status (HTTP 403: TF401027"
        ),
        "{first}"
    );
    assert!(first.contains("Contribute to pull requests"), "{first}");
    assert!(
        first.contains("The results are in this job's summary instead"),
        "{first}"
    );
    assert_eq!(second, format!("##vso[task.setsecret]{TOKEN}\n"));
}

#[test]
fn without_the_token_a_pull_request_build_says_how_to_map_it_once() {
    let server = AzureDevOpsServer::start();
    let mut env = env(&server, &[]);
    env.remove("SYSTEM_ACCESSTOKEN");
    let memory = tempfile::tempdir().unwrap();
    let report = Report::new("gate", Conclusion::Success, "passed");
    let (outcome, first) = run(&report, &env, false, Some(memory.path()));
    let (_, second) = run(&report, &env, false, Some(memory.path()));
    assert_eq!(outcome, Outcome::Done);
    assert!(
        first.starts_with("##vso[task.logissue type=warning]not publishing to Azure DevOps: SYSTEM_ACCESSTOKEN is not set;"),
        "{first}"
    );
    assert!(first.contains("$(System.AccessToken)"), "{first}");
    assert_eq!(second, "");
    assert!(server.requests().is_empty());

    // A scheduled drift check with nothing to queue has nothing to say.
    let mut schedule = push_env(&server, &[]);
    schedule.remove("SYSTEM_ACCESSTOKEN");
    let drift = Report::new("data drift", Conclusion::Failure, "drifted").with_forge_request(
        ForgeRequest::DispatchRetraining {
            reason: "data drift".into(),
        },
    );
    let (outcome, log) = run(&drift, &schedule, false, None);
    assert_eq!((outcome, log.as_str()), (Outcome::Done, ""));
}

#[test]
fn rate_limits_and_server_errors_are_retried_then_given_up_on() {
    let server = AzureDevOpsServer::start();
    server.fail_next([
        Fault::status(429).header("Retry-After", "1"),
        Fault::status(503),
    ]);
    let patient = env(&server, &[("TRAINYARD_GITHUB_ATTEMPTS", "3")]);
    let report = Report::new("gate", Conclusion::Success, "passed");
    let (outcome, log) = run(&report, &patient, false, None);
    assert_eq!(outcome, Outcome::Done, "{log}");
    assert_eq!(
        server
            .requests()
            .iter()
            .map(|r| r.status)
            .collect::<Vec<_>>(),
        [429, 503, 200]
    );
    assert_eq!(server.pull_request_statuses(PR).len(), 1);

    server.fail_next([Fault::status(503), Fault::status(503)]);
    let impatient = env(&server, &[("TRAINYARD_GITHUB_ATTEMPTS", "2")]);
    let (outcome, log) = run(&report, &impatient, false, None);
    assert_eq!(outcome, Outcome::Failed);
    assert!(
        log.contains("##vso[task.logissue type=error]Azure DevOps did not answer the request to post a pull request status after 2 attempts (last: HTTP 503: scripted fault)"),
        "{log}"
    );
    // The token appears only in its mask.
    assert_eq!(log.matches(TOKEN).count(), 1, "{log}");
    assert!(
        log.starts_with(&format!("##vso[task.setsecret]{TOKEN}\n")),
        "{log}"
    );
}

#[test]
fn the_gate_reads_pull_request_statuses_and_the_commits_builds() {
    let server = AzureDevOpsServer::start();
    server.add_pull_request_status(PR, "trainyard", "data validate (breast-cancer)", "failed");
    server.add_pull_request_status(
        PR,
        "trainyard",
        "data validate (breast-cancer)",
        "succeeded",
    );
    server.add_pull_request_status(PR, "security", "scan", "pending");
    server.add_build(SHA, "ml-lint", "completed", Some("succeeded"));
    server.add_build(SHA, "ml-tests", "completed", Some("failed"));
    server.add_build("ffff", "ml-tests", "completed", Some("succeeded"));
    let env = env(&server, &[]);

    let CheckStates::Read { source, results } = evidence::commit_checks(&env, SHA).unwrap() else {
        panic!("not read");
    };
    assert_eq!(source, "Azure DevOps ML Platform/ml");
    assert_eq!(
        results["trainyard/data validate (breast-cancer)"],
        [CheckState::Succeeded]
    );
    assert_eq!(
        results["security/scan"],
        [CheckState::Pending("pending".into())]
    );
    assert_eq!(results["ml-lint"], [CheckState::Succeeded]);
    assert_eq!(results["ml-tests"], [CheckState::Failed("failed".into())]);
    assert_eq!(server.violations(), Vec::<String>::new());

    server.fail_next([Fault::status(403)]);
    let CheckStates::Unavailable(why) = evidence::commit_checks(&env, SHA).unwrap() else {
        panic!("read despite a refusal");
    };
    assert!(
        why.starts_with("Azure DevOps refused to show them (HTTP 403)"),
        "{why}"
    );

    let mut no_token = env.clone();
    no_token.remove("SYSTEM_ACCESSTOKEN");
    let CheckStates::Unavailable(why) = evidence::commit_checks(&no_token, SHA).unwrap() else {
        panic!("read without a token");
    };
    assert!(why.starts_with("SYSTEM_ACCESSTOKEN is not set"), "{why}");
}

#[test]
fn an_expired_token_or_the_sign_in_page_is_a_refusal_not_a_failure() {
    let server = AzureDevOpsServer::start();
    let report = Report::new("gate", Conclusion::Success, "passed");
    for status in [401, 203, 302] {
        server.fail_next([Fault::status(status).header("Location", "https://login.test/")]);
        let (outcome, log) = run(&report, &env(&server, &[]), false, None);
        assert_eq!(outcome, Outcome::Done, "HTTP {status}: {log}");
        assert!(
            log.contains(&format!(
                "##vso[task.logissue type=warning]Azure DevOps refused to post a pull request status (HTTP {status}"
            )),
            "HTTP {status}: {log}"
        );
    }
    // Not retried, and the redirect was not followed.
    assert_eq!(server.requests().len(), 3);
}
