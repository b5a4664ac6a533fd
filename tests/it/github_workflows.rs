//! The example workflows (ci-examples/github-actions/pr.yml, main.yml,
//! release.yml, drift.yml and iac.yml) run end to end by a real GitHub Actions
//! runner implementation, act (host mode, offline), on real webhook payloads
//! from @octokit/webhooks-examples, with the composite actions of this
//! repository and the binary built from this tree. GITHUB_API_URL points at
//! Prism serving GitHub's own OpenAPI description (@octokit/openapi): a request
//! that does not match GitHub's API is answered 422 and logged by Prism, and
//! fails the test.
//!
//! The workflows are the committed files with two mechanical changes, both
//! asserted: `actions/checkout` becomes a copy of the fixture repository (act's
//! host mode mounts no workspace, and there is no network), and
//! `trainyard/trainyard/action/<step>@v0` becomes `./action/<step>`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::Read as _;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use trainyard_testkit::git::{git, init_and_commit_all};

const TOKEN: &str = "ghs_act_prism_token";

/// Prism mocking GitHub's REST API from GitHub's OpenAPI description.
struct Prism {
    child: Child,
    url: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Prism {
    fn start() -> Self {
        let prism = common::support(".bin/prism");
        let spec = common::support("@octokit/openapi/generated/api.github.com.json");
        assert!(
            prism.is_file() && spec.is_file(),
            "Prism or GitHub's OpenAPI description is missing: run `.ci/test` (npm ci --prefix tests/support)"
        );
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("prism.log");
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(prism)
            .args(["mock", "-h", "127.0.0.1", "-p", &port.to_string()])
            .arg(spec)
            .env("DO_NOT_TRACK", "1")
            .stdout(Stdio::from(file.try_clone().unwrap()))
            .stderr(Stdio::from(file))
            .spawn()
            .unwrap();
        let prism = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
            _dir: dir,
        };
        // Loading GitHub's 13 MB description takes a while on a small machine.
        let deadline = Instant::now() + Duration::from_mins(3);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "Prism did not start listening within 180 s:\n{}",
                prism.log_text()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
        prism
    }

    fn log_text(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = std::fs::File::open(&self.log) {
            let _ = file.read_to_string(&mut text);
        }
        text
    }

    /// The requests Prism received, as `METHOD /path` (query left off).
    fn requests(&self) -> Vec<String> {
        self.log_text()
            .lines()
            .filter(|line| line.contains("[HTTP SERVER]") && line.contains("Request received"))
            .filter_map(|line| {
                let after = line.split("[HTTP SERVER]").nth(1)?.trim();
                let mut words = after.split_whitespace();
                let method = words.next()?.to_ascii_uppercase();
                let path = words.next()?.split('?').next()?.to_owned();
                Some(format!("{method} {path}"))
            })
            .collect()
    }

    /// Requests that do not match GitHub's API: Prism logs them as failing
    /// validation (and answers 422), or could not route them at all. Its own
    /// complaints about GitHub's response examples are not ours.
    /// Fails the test listing every request Prism found GitHub's API would refuse.
    fn assert_no_rejections(&self) {
        let rejections = self.rejections();
        assert!(
            rejections.is_empty(),
            "Prism rejected requests:\n{}",
            rejections.join("\n")
        );
    }

    fn rejections(&self) -> Vec<String> {
        self.log_text()
            .lines()
            .filter(|line| {
                line.contains("Request did not pass the validation rules")
                    || line.contains("Request terminated with error")
                    || (line.contains("[VALIDATOR]")
                        && line.contains('✖')
                        && !line.contains("Violation: response"))
            })
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Prism {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The committed example workflow, runnable by act here: checkout becomes a
/// copy of the fixture, trainyard's remote actions become this repository's.
fn runnable_example(name: &str) -> String {
    let text =
        std::fs::read_to_string(common::repo().join("ci-examples/github-actions").join(name))
            .unwrap();
    let mut out = Vec::new();
    let mut lines = text.lines().peekable();
    let mut checkouts = 0;
    while let Some(line) = lines.next() {
        if let Some(indent) = line.find("uses: actions/checkout@") {
            checkouts += 1;
            out.push(format!("{}run: cp -a \"$REPO\"/. .", " ".repeat(indent)));
            // Drop the `with:` block under it.
            while lines.peek().is_some_and(|next| {
                next.len() - next.trim_start().len() >= indent
                    && !next.trim_start().starts_with("- ")
            }) {
                lines.next();
            }
            continue;
        }
        out.push(
            line.replace("uses: trainyard/trainyard/action/", "uses: ./action/")
                .replace("uses: trainyard/trainyard@v0", "uses: ./")
                .replace("@v0", ""),
        );
    }
    assert_eq!(checkouts, 1, "{name} checks out once");
    let runnable = out.join("\n") + "\n";
    assert!(!runnable.contains("trainyard/trainyard/"), "{runnable}");
    runnable
}

/// A repository like a user's: the example project at the root, this
/// repository's actions, the workflow, and an `origin` (a bare repository)
/// holding `main`.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new(workflow: &str) -> Self {
        Self::prepared(workflow, |_| {})
    }

    /// Like `new`, with `prepare` run on the project before the first commit.
    fn prepared(workflow: &str, prepare: impl FnOnce(&Path)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        common::copy_dir(&common::repo().join("examples/breast-cancer"), &repo);
        std::fs::copy(common::repo().join("action.yml"), repo.join("action.yml")).unwrap();
        common::copy_dir(&common::repo().join("action"), &repo.join("action"));
        std::fs::create_dir_all(repo.join(".github/workflows")).unwrap();
        std::fs::write(
            repo.join(".github/workflows").join(workflow),
            runnable_example(workflow),
        )
        .unwrap();
        std::fs::write(repo.join(".gitignore"), ".trainyard/\n").unwrap();
        prepare(&repo);
        let origin = dir.path().join("origin.git");
        git(
            dir.path(),
            &["init", "-q", "--bare", "-b", "main", "origin.git"],
        );
        init_and_commit_all(&repo);
        git(
            &repo,
            &["remote", "add", "origin", origin.to_str().unwrap()],
        );
        git(&repo, &["push", "-q", "origin", "main"]);
        Self { dir }
    }

    fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    fn origin(&self) -> PathBuf {
        self.dir.path().join("origin.git")
    }

    /// Runs act for `event` with `payload`; returns act's log. The workflow must succeed.
    fn act(&self, event: &str, payload: &serde_json::Value, prism: &Prism) -> String {
        let (success, log) = self.act_outcome(event, payload, prism);
        assert!(
            success,
            "act failed:\n{log}\n--- Prism ---\n{}",
            prism.log_text()
        );
        log
    }

    /// Runs act; returns whether the workflow succeeded, and act's log.
    fn act_outcome(
        &self,
        event: &str,
        payload: &serde_json::Value,
        prism: &Prism,
    ) -> (bool, String) {
        let event_file = self.dir.path().join("event.json");
        std::fs::write(&event_file, serde_json::to_vec(payload).unwrap()).unwrap();
        let repository = payload["repository"]["full_name"].as_str().unwrap();
        let output = common::act::act_command(event, &event_file)
            .current_dir(self.repo())
            .args(["-s", &format!("GITHUB_TOKEN={TOKEN}")])
            .args(["--env", &format!("GITHUB_API_URL={}", prism.url)])
            .args(["--env", &format!("GITHUB_REPOSITORY={repository}")])
            .args(["--env", &format!("REPO={}", self.repo().display())])
            .output()
            .unwrap();
        let log = format!(
            "{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.success(), log)
    }
}

/// A real payload, with its branch names set to the fixture's (`main`).
fn on_main(mut payload: serde_json::Value) -> serde_json::Value {
    payload["repository"]["default_branch"] = "main".into();
    if payload.get("pull_request").is_some() {
        payload["pull_request"]["base"]["ref"] = "main".into();
    } else {
        payload["ref"] = "refs/heads/main".into();
    }
    payload
}

/// Runs `trainyard <args>` in `dir`; fails the test with its output unless it succeeds.
fn trainyard_succeeds(dir: &Path, args: &[&str]) {
    let output = common::trainyard()
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// How many of Prism's `requests` (`METHOD /path`) start with `prefix`.
fn count(requests: &[String], prefix: &str) -> usize {
    requests.iter().filter(|r| r.starts_with(prefix)).count()
}

/// Exactly `expected` of Prism's `requests` start with `prefix`; fails listing them all.
fn assert_requests(requests: &[String], prefix: &str, expected: usize) {
    assert_eq!(
        count(requests, prefix),
        expected,
        "`{prefix}`: {requests:#?}"
    );
}

fn output_line<'a>(log: &'a str, label: &str) -> &'a str {
    log.lines()
        .find_map(|line| line.split(&format!("| {label}: ")).nth(1))
        .unwrap_or_else(|| panic!("no `{label}:` line in the log:\n{log}"))
        .trim()
}

#[test]
fn pr_yml_validates_trains_on_a_sample_and_reports_on_the_pull_request() {
    let prism = Prism::start();
    let fixture = Fixture::new("pr.yml");
    let payload = on_main(common::webhook("pull_request", |p| p["action"] == "opened"));
    let log = fixture.act("pull_request", &payload, &prism);

    prism.assert_no_rejections();
    assert!(!log.contains(TOKEN), "the token reached act's log");

    // The outputs the last step printed from the steps' outputs.
    assert_eq!(output_line(&log, "data"), "success");
    let run = output_line(&log, "run");
    assert!(
        run.contains("accuracy"),
        "train's run-id and metrics: {run}"
    );
    assert_eq!(output_line(&log, "verdict"), "success");
    assert!(
        output_line(&log, "comment").starts_with("https://github.com/"),
        "the comment's URL as GitHub (Prism) answered it"
    );
    // act shows each step's summary; the report's is the comment's body.
    assert!(
        log.contains("trainyard · breast-cancer: all passed"),
        "{log}"
    );

    let requests = prism.requests();
    let repository = payload["repository"]["full_name"].as_str().unwrap();
    let repos = format!("/repos/{repository}");
    // data validate and report (train runs the PR's code without a token): a
    // check run (create + complete) and a status each.
    assert_requests(&requests, &format!("POST {repos}/check-runs"), 2);
    assert_requests(&requests, &format!("PATCH {repos}/check-runs/"), 2);
    let head = payload["pull_request"]["head"]["sha"].as_str().unwrap();
    assert_requests(&requests, &format!("POST {repos}/statuses/{head}"), 2);
    let number = payload["pull_request"]["number"].as_u64().unwrap();
    assert_requests(
        &requests,
        &format!("GET {repos}/issues/{number}/comments"),
        1,
    );
    // Prism's example comments carry no marker: the comment is created.
    assert_requests(
        &requests,
        &format!("POST {repos}/issues/{number}/comments"),
        1,
    );
}

#[test]
fn main_yml_trains_gates_to_staging_and_promotes_through_a_pull_request() {
    let prism = Prism::start();
    let fixture = Fixture::new("main.yml");
    let payload = on_main(common::webhook("push", |p| p["ref"] == "refs/heads/master"));
    let log = fixture.act("push", &payload, &prism);

    prism.assert_no_rejections();
    assert!(!log.contains(TOKEN), "the token reached act's log");

    assert!(!output_line(&log, "run").is_empty());
    assert_eq!(output_line(&log, "model version"), "1");
    assert_eq!(output_line(&log, "gate passed"), "true");
    // act shows each step's job summary as the runner would render it.
    for step in ["data validate", "train", "gate", "promote"] {
        assert!(
            log.contains(&format!("Summary - ## ✅ {step}: ")),
            "no job summary for {step}:\n{log}"
        );
    }
    assert!(
        output_line(&log, "promotion").starts_with("https://github.com/"),
        "the promotion pull request's URL"
    );

    let requests = prism.requests();
    let repository = payload["repository"]["full_name"].as_str().unwrap();
    let repos = format!("/repos/{repository}");
    // validate, train, promote to dev, gate, promote: a check run and a status each.
    assert_requests(&requests, &format!("POST {repos}/check-runs"), 5);
    assert_requests(&requests, &format!("POST {repos}/statuses/"), 5);
    // The promotion: look for an open pull request from the branch, then update or open one.
    assert_requests(&requests, &format!("GET {repos}/pulls"), 1);
    assert_eq!(
        count(&requests, &format!("POST {repos}/pulls"))
            + count(&requests, &format!("PATCH {repos}/pulls/")),
        1,
        "{requests:#?}"
    );

    // The run ledger and the promotion branch reached origin.
    let refs = git(&fixture.origin(), &["for-each-ref", "--format=%(refname)"]);
    assert!(refs.contains("refs/trainyard/"), "{refs}");
    assert!(
        refs.lines()
            .any(|r| r.starts_with("refs/heads/") && r != "refs/heads/main"),
        "a promotion branch was pushed: {refs}"
    );
}

#[test]
fn drift_yml_on_drift_starts_main_yml_through_workflow_dispatch() {
    let prism = Prism::start();
    let fixture = Fixture::new("drift.yml");
    // This week's production data: every measurement scaled up.
    let reference = std::fs::read_to_string(fixture.repo().join("data/breast_cancer.csv")).unwrap();
    let mut production = String::new();
    for (index, line) in reference.lines().enumerate() {
        if index > 0 {
            let cells: Vec<String> = line
                .split(',')
                .map(|cell| {
                    cell.parse::<f64>()
                        .map_or_else(|_| cell.to_owned(), |v| (v * 1.8).to_string())
                })
                .collect();
            production.push_str(&cells.join(","));
        } else {
            production.push_str(line);
        }
        production.push('\n');
    }
    std::fs::write(fixture.repo().join("data/production.csv"), production).unwrap();
    git(&fixture.repo(), &["add", "data/production.csv"]);
    git(&fixture.repo(), &["commit", "-qm", "production data"]);

    let payload = on_main(common::webhook("workflow_dispatch", |_| true));
    let (success, log) = fixture.act_outcome("workflow_dispatch", &payload, &prism);
    assert!(!success, "drift fails the drift step, as a signal:\n{log}");
    assert!(log.contains("retraining started: true"), "{log}");

    prism.assert_no_rejections();
    let repository = payload["repository"]["full_name"].as_str().unwrap();
    let requests = prism.requests();
    assert_requests(
        &requests,
        &format!("POST /repos/{repository}/actions/workflows/main.yml/dispatches"),
        1,
    );
}

#[test]
fn release_yml_on_a_version_tag_gates_to_prod_and_promotes() {
    let prism = Prism::start();
    let fixture = Fixture::new("release.yml");
    // main trained the challenger earlier and it went through dev and staging
    // (the promotion order); its run and deployments are in origin's ledger.
    trainyard_succeeds(&fixture.repo(), &["train", "--mode", "full"]);
    let trained = git(&fixture.repo(), &["rev-parse", "HEAD"]);
    for env in ["dev", "staging"] {
        trainyard_succeeds(&fixture.repo(), &["promote", "--env", env, "--direct"]);
    }
    trainyard_succeeds(&fixture.repo(), &["ledger", "push"]);
    git(&fixture.repo(), &["tag", "v1.0.0", trained.trim()]);
    git(&fixture.repo(), &["push", "-q", "origin", "v1.0.0"]);

    let mut payload = on_main(common::webhook("push", |p| {
        p["ref"] == "refs/tags/simple-tag"
            && p["after"] != "0000000000000000000000000000000000000000"
    }));
    payload["ref"] = "refs/tags/v1.0.0".into();
    let log = fixture.act("push", &payload, &prism);

    prism.assert_no_rejections();
    assert!(!log.contains(TOKEN), "the token reached act's log");
    for step in ["gate", "promote"] {
        assert!(
            log.contains(&format!("Summary - ## ✅ {step}: ")),
            "no passing job summary for {step}:\n{log}"
        );
    }
    let repository = payload["repository"]["full_name"].as_str().unwrap();
    let requests = prism.requests();
    assert_eq!(
        count(&requests, &format!("POST /repos/{repository}/check-runs")),
        2,
        "gate and promote: {requests:#?}"
    );
}

#[test]
fn iac_yml_checks_the_committed_infrastructure_code_on_a_pull_request() {
    let prism = Prism::start();
    let fixture = Fixture::prepared("iac.yml", |repo| {
        trainyard_succeeds(repo, &["iac", "render", "--all"]);
    });
    let payload = on_main(common::webhook("pull_request", |p| p["action"] == "opened"));
    let log = fixture.act("pull_request", &payload, &prism);
    assert!(log.contains("Summary - ## ✅ iac check: "), "{log}");
    prism.assert_no_rejections();
    let repository = payload["repository"]["full_name"].as_str().unwrap();
    assert_requests(
        &prism.requests(),
        &format!("POST /repos/{repository}/check-runs"),
        1,
    );

    // A hand edit of generated code fails the check, on a real runner too.
    let main_tf = fixture.repo().join("infra/terraform/dev/main.tf");
    let text = std::fs::read_to_string(&main_tf).unwrap();
    std::fs::write(&main_tf, text + "# edited by hand\n").unwrap();
    git(&fixture.repo(), &["commit", "-qam", "hand edit"]);
    let (success, log) = fixture.act_outcome("pull_request", &payload, &prism);
    assert!(!success, "{log}");
    assert!(log.contains("Summary - ## ❌ iac check: "), "{log}");
}
