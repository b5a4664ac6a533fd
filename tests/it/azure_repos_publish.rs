//! The binary publishing to Azure DevOps from an Azure Pipelines job (the
//! predefined variables set, ambient CI variables scrubbed), against the
//! Azure DevOps stand-in, which checks every request against the REST
//! reference (api-version 7.1): a judging step's status on the pull request,
//! one sticky thread after three `report` runs, the token masked with
//! `##vso[task.setsecret]` and nowhere else, and a refused token falling back
//! to the job summary with one warning while the step's verdict stands.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use trainyard_testkit::azure_devops::{AzureDevOpsServer, PROJECT, REPOSITORY_ID};

const TOKEN: &str = "azure_devops_recording_token";
const PR: u64 = 17;

/// A pull-request build of an Azure Repos repository.
struct Job {
    project: tempfile::TempDir,
    agent: tempfile::TempDir,
    server: AzureDevOpsServer,
}

impl Job {
    fn new() -> Self {
        Self {
            project: common::example_project(),
            agent: tempfile::tempdir().unwrap(),
            server: AzureDevOpsServer::start(),
        }
    }

    /// Runs `trainyard args…` as a task of this job: stdout and stderr.
    fn run(&self, args: &[&str]) -> (i32, String) {
        let output = common::trainyard()
            .current_dir(self.project.path())
            .args(args)
            .env("TF_BUILD", "True")
            .env("SYSTEM_ACCESSTOKEN", TOKEN)
            .env("SYSTEM_COLLECTIONURI", self.server.collection_url())
            .env("SYSTEM_TEAMPROJECT", PROJECT)
            .env("SYSTEM_JOBID", "job-1")
            .env("BUILD_REPOSITORY_ID", REPOSITORY_ID)
            .env("BUILD_REPOSITORY_NAME", "ml")
            .env("BUILD_REPOSITORY_PROVIDER", "TfsGit")
            .env("BUILD_BUILDID", "2718")
            .env("BUILD_REASON", "PullRequest")
            .env("BUILD_SOURCEBRANCH", "refs/pull/17/merge")
            .env("BUILD_SOURCEVERSION", "e".repeat(40))
            .env("SYSTEM_PULLREQUEST_PULLREQUESTID", PR.to_string())
            .env(
                "SYSTEM_PULLREQUEST_SOURCEBRANCH",
                "refs/heads/feature/more-data",
            )
            .env("SYSTEM_PULLREQUEST_TARGETBRANCH", "refs/heads/main")
            .env("AGENT_TEMPDIRECTORY", self.agent.path())
            .env("TRAINYARD_GITHUB_ATTEMPTS", "2")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr);
        (output.status.code().unwrap(), format!("{stdout}{stderr}"))
    }
}

fn token_only_in_masks(log: &str) {
    for line in log.lines().filter(|line| line.contains(TOKEN)) {
        assert_eq!(
            line,
            format!("##vso[task.setsecret]{TOKEN}"),
            "the token leaked:\n{log}"
        );
    }
}

#[test]
fn a_judging_step_posts_its_status_on_the_pull_request() {
    let job = Job::new();
    let (code, log) = job.run(&["data", "validate"]);
    assert_eq!(code, 0, "{log}");
    token_only_in_masks(&log);
    assert!(
        log.contains(&format!("##vso[task.setsecret]{TOKEN}")),
        "{log}"
    );
    assert!(log.contains("##vso[task.uploadsummary]"), "{log}");
    assert!(
        log.contains(
            "##vso[task.setvariable variable=status;isOutput=true]trainyard/data validate (breast-cancer)"
        ),
        "{log}"
    );

    assert_eq!(job.server.violations(), Vec::<String>::new());
    assert_eq!(
        job.server.routes(),
        [format!(
            "POST git/repositories/{REPOSITORY_ID}/pullRequests/{PR}/statuses"
        )]
    );
    let statuses = job.server.pull_request_statuses(PR);
    assert_eq!(statuses[0]["state"], "succeeded");
    assert_eq!(
        statuses[0]["context"],
        serde_json::json!({"genre": "trainyard", "name": "data validate (breast-cancer)"})
    );
    assert_eq!(
        statuses[0]["targetUrl"],
        format!(
            "{}ML%20Platform/_build/results?buildId=2718",
            job.server.collection_url()
        )
    );
    let request = &job.server.requests()[0];
    assert!(
        request.path.ends_with("?api-version=7.1"),
        "{}",
        request.path
    );
    assert_eq!(
        request.authorization.as_deref(),
        Some(&*format!("Bearer {TOKEN}"))
    );
}

#[test]
fn three_report_runs_leave_one_thread_with_the_latest_report() {
    let job = Job::new();
    job.server
        .add_thread(PR, "Could you add the new column to the schema?");
    assert_eq!(job.run(&["data", "validate"]).0, 0);
    for _ in 0..3 {
        let (code, log) = job.run(&["report"]);
        assert_eq!(code, 0, "{log}");
        token_only_in_masks(&log);
    }
    assert_eq!(job.server.violations(), Vec::<String>::new());
    let threads = job.server.threads(PR);
    assert_eq!(threads.len(), 2, "{threads:#?}");
    let ours = threads[1]["comments"][0]["content"].as_str().unwrap();
    assert!(
        ours.starts_with("<!-- trainyard:breast-cancer:report -->\n"),
        "{ours}"
    );
    assert!(ours.contains("| ✅ | data validate |"), "{ours}");
    assert_eq!(
        threads[1]["status"], "closed",
        "a passing report holds nothing"
    );
    let created = job
        .server
        .routes()
        .iter()
        .filter(|route| route.starts_with("POST") && route.ends_with("/threads"))
        .count();
    assert_eq!(created, 1);
}

#[test]
fn a_refused_token_keeps_the_verdict_and_warns_once_pointing_at_the_summary() {
    let job = Job::new();
    job.server.read_only();
    let (code, first) = job.run(&["data", "validate"]);
    assert_eq!(code, 0, "{first}");
    assert!(
        first.contains(
            "##vso[task.logissue type=warning]Azure DevOps refused to post a pull request status (HTTP 403"
        ),
        "{first}"
    );
    assert!(first.contains("##vso[task.uploadsummary]"), "{first}");
    let (code, second) = job.run(&["data", "validate"]);
    assert_eq!(code, 0, "{second}");
    assert!(!second.contains("refused"), "said once per job:\n{second}");
    token_only_in_masks(&second);
}
