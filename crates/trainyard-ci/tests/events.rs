//! CiContext::read against real GitHub webhook payloads (@octokit/webhooks-examples).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;

use pretty_assertions::assert_eq;
use serde_json::Value;
use trainyard_ci::{CiContext, Env, Host, PullRequest, Trigger};
use trainyard_core::{ExitStatus, StepError};

/// The first example of event `name` that satisfies `pick`.
fn example(name: &str, pick: impl Fn(&Value) -> bool) -> Value {
    let index = common::node_modules().join("@octokit/webhooks-examples/api.github.com/index.json");
    let all: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(&index).unwrap()).unwrap();
    let event = all
        .iter()
        .find(|event| event["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {}", index.display()));
    event["examples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|example| pick(example))
        .unwrap_or_else(|| panic!("no matching {name} example"))
        .clone()
}

fn read(event_name: &str, payload: &Value, extra: &[(&str, &str)]) -> Result<CiContext, StepError> {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(payload.to_string().as_bytes()).unwrap();
    let mut env = Env::from_pairs(extra.iter().copied());
    env.set("GITHUB_ACTIONS", "true");
    env.set("GITHUB_EVENT_NAME", event_name);
    env.set("GITHUB_EVENT_PATH", file.path().to_str().unwrap());
    CiContext::read(&env)
}

fn codertocat_pr() -> Trigger {
    Trigger::PullRequest(PullRequest {
        number: 2,
        base_ref: "master".into(),
        base_sha: Some("f95f852bd8fca8fcc58a9a2d6c842781e32a215e".into()),
        head_ref: "changes".into(),
        head_sha: Some("ec26c3e57ca3a959ca5aad62de7213c562f8c821".into()),
        from_fork: false,
    })
}

#[test]
fn pull_request_opened() {
    let payload = example("pull_request", |e| e["action"] == "opened");
    let context = read(
        "pull_request",
        &payload,
        &[
            ("GITHUB_SHA", "merge-sha"),
            ("GITHUB_REPOSITORY", "Codertocat/Hello-World"),
        ],
    )
    .unwrap();
    assert_eq!(context.trigger, codertocat_pr());
    assert_eq!(context.host, Host::GitHubActions);
    assert_eq!(
        context.sha.as_deref(),
        Some("merge-sha"),
        "GITHUB_SHA wins over the payload"
    );
    assert_eq!(context.default_branch.as_deref(), Some("master"));
}

#[test]
fn pull_request_synchronize_and_the_fork_variants() {
    let payload = example("pull_request", |e| e["action"] == "synchronize");
    assert_eq!(
        read("pull_request", &payload, &[]).unwrap().trigger,
        codertocat_pr()
    );
    assert_eq!(
        read("pull_request_target", &payload, &[]).unwrap().trigger,
        codertocat_pr()
    );

    let mut fork = payload.clone();
    fork["pull_request"]["head"]["repo"]["full_name"] = "someone/Hello-World".into();
    assert!(
        read("pull_request", &fork, &[])
            .unwrap()
            .pull_request()
            .unwrap()
            .from_fork
    );
    let mut deleted = payload;
    deleted["pull_request"]["head"]["repo"] = Value::Null;
    assert!(
        read("pull_request", &deleted, &[])
            .unwrap()
            .pull_request()
            .unwrap()
            .from_fork
    );
}

#[test]
fn push_to_a_branch() {
    let payload = example("push", |e| e["ref"] == "refs/heads/master");
    let context = read("push", &payload, &[]).unwrap();
    assert_eq!(
        context.trigger,
        Trigger::Push {
            branch: "master".into()
        }
    );
    assert_eq!(
        context.sha.as_deref(),
        Some("6113728f27ae82c7b1a177c8d03f9e96e0adf246"),
        "payload `after`"
    );
    assert_eq!(context.git_ref.as_deref(), Some("refs/heads/master"));
}

#[test]
fn push_of_a_tag() {
    let payload = example("push", |e| {
        e["ref"] == "refs/tags/simple-tag" && e["created"] == true
    });
    let context = read("push", &payload, &[("GITHUB_SHA", "s")]).unwrap();
    assert_eq!(
        context.trigger,
        Trigger::Tag {
            name: "simple-tag".into()
        }
    );
}

#[test]
fn release_published() {
    let payload = example("release", |e| e["action"] == "published");
    assert_eq!(
        read("release", &payload, &[]).unwrap().trigger,
        Trigger::Tag {
            name: "0.0.1".into()
        }
    );
}

#[test]
fn workflow_dispatch() {
    let payload = example("workflow_dispatch", |e| e["ref"] == "refs/heads/main");
    let context = read("workflow_dispatch", &payload, &[]).unwrap();
    assert_eq!(context.trigger, Trigger::Manual);
    assert_eq!(context.default_branch.as_deref(), Some("main"));
}

#[test]
fn schedule() {
    // @octokit/webhooks-examples has no `schedule` example: schedule is not a
    // webhook, only an Actions event, whose payload GitHub documents as
    // carrying the cron expression in `schedule` — this is that minimal payload.
    let payload = serde_json::json!({"schedule": "0 3 * * 1"});
    assert_eq!(
        read("schedule", &payload, &[]).unwrap().trigger,
        Trigger::Schedule {
            cron: Some("0 3 * * 1".into())
        }
    );
}

#[test]
fn other_events() {
    let payload = example("issues", |_| true);
    assert_eq!(
        read("issues", &payload, &[]).unwrap().trigger,
        Trigger::Other {
            name: "issues".into()
        }
    );
}

#[test]
fn a_malformed_payload_is_an_environment_error_naming_the_file() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(b"{\"pull_request\": ").unwrap();
    let path = file.path().to_str().unwrap().to_owned();
    let env = Env::from_pairs([
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_EVENT_NAME", "pull_request"),
        ("GITHUB_EVENT_PATH", path.as_str()),
    ]);
    let error = CiContext::read(&env).unwrap_err();
    assert_eq!(error.exit_status(), ExitStatus::Environment);
    assert!(error.to_string().contains(&path), "{error}");
}

#[test]
fn a_missing_payload_file_is_an_io_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("event.json");
    let env = Env::from_pairs([
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_EVENT_NAME", "push"),
        ("GITHUB_EVENT_PATH", path.to_str().unwrap()),
    ]);
    let error = CiContext::read(&env).unwrap_err();
    assert!(matches!(error, StepError::Io { .. }), "{error:?}");
    assert_eq!(error.exit_status(), ExitStatus::Environment);
    assert!(
        error.to_string().contains(path.to_str().unwrap()),
        "{error}"
    );
}

#[test]
fn no_event_path_on_github_is_other_not_an_error() {
    let env = Env::from_pairs([
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_EVENT_NAME", "pull_request"),
    ]);
    assert_eq!(
        CiContext::read(&env).unwrap().trigger,
        Trigger::Other {
            name: "pull_request".into()
        }
    );
}

#[test]
fn a_terminal_is_local() {
    let context = CiContext::read(&Env::from_pairs([("GITHUB_EVENT_NAME", "push")])).unwrap();
    assert_eq!(context.host, Host::Terminal);
    assert_eq!(context.trigger, Trigger::Local);
    assert_eq!(context.git_ref, None);
    assert_eq!(context.sha, None);
}
