//! The GitHub Actions context: `GITHUB_*` variables and the event payload at
//! `GITHUB_EVENT_PATH`.

use std::path::Path;

use serde_json::Value;
use trainyard_core::StepError;

use super::{CiContext, PullRequest, Trigger, strip_heads};
use crate::env::Env;
use crate::host::Host;

pub(super) fn read(env: &Env) -> Result<CiContext, StepError> {
    let event_name = env.get("GITHUB_EVENT_NAME").unwrap_or("unknown");
    let payload = match env.get("GITHUB_EVENT_PATH") {
        Some(path) => Some((path, load(Path::new(path))?)),
        None => None,
    };
    let trigger = match &payload {
        Some((path, payload)) => trigger(event_name, payload, env).map_err(|what| {
            StepError::Environment(format!(
                "{path}: the {event_name} event payload has no {what}"
            ))
        })?,
        None => Trigger::Other {
            name: event_name.to_owned(),
        },
    };
    let payload = payload.map(|(_, payload)| payload);
    let payload = payload.as_ref();

    let repository = env.get("GITHUB_REPOSITORY").map(str::to_owned);
    let sha = env
        .get("GITHUB_SHA")
        .map(str::to_owned)
        .or_else(|| payload.and_then(|p| string_at(p, &["after"])))
        .or_else(|| payload.and_then(|p| string_at(p, &["pull_request", "head", "sha"])));
    let git_ref = env
        .get("GITHUB_REF")
        .map(str::to_owned)
        .or_else(|| payload.and_then(|p| string_at(p, &["ref"])));
    let run_url = match (repository.as_deref(), env.get("GITHUB_RUN_ID")) {
        (Some(repository), Some(run_id)) => {
            let server = env.get("GITHUB_SERVER_URL").unwrap_or("https://github.com");
            Some(format!(
                "{}/{repository}/actions/runs/{run_id}",
                server.trim_end_matches('/')
            ))
        }
        _ => None,
    };
    Ok(CiContext {
        host: Host::GitHubActions,
        trigger,
        repository,
        sha,
        git_ref,
        default_branch: payload.and_then(|p| string_at(p, &["repository", "default_branch"])),
        run_url,
        actor: env.get("GITHUB_ACTOR").map(str::to_owned),
    })
}

fn load(path: &Path) -> Result<Value, StepError> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| StepError::io("read the GitHub event payload", path, error))?;
    serde_json::from_str(&text).map_err(|error| {
        StepError::Environment(format!(
            "{}: the GitHub event payload is not valid JSON: {error}",
            path.display()
        ))
    })
}

/// The trigger for `event_name`; `Err` names the missing payload field.
fn trigger(event_name: &str, payload: &Value, env: &Env) -> Result<Trigger, &'static str> {
    Ok(match event_name {
        "pull_request" | "pull_request_target" => Trigger::PullRequest(pull_request(payload)?),
        "push" => {
            let reference = string_at(payload, &["ref"])
                .or_else(|| env.get("GITHUB_REF").map(str::to_owned))
                .ok_or("ref")?;
            if let Some(tag) = reference.strip_prefix("refs/tags/") {
                Trigger::Tag {
                    name: tag.to_owned(),
                }
            } else {
                Trigger::Push {
                    branch: strip_heads(&reference).to_owned(),
                }
            }
        }
        "release" => Trigger::Tag {
            name: string_at(payload, &["release", "tag_name"]).ok_or("release.tag_name")?,
        },
        "schedule" => Trigger::Schedule {
            cron: string_at(payload, &["schedule"]),
        },
        "workflow_dispatch" => Trigger::Manual,
        other => Trigger::Other {
            name: other.to_owned(),
        },
    })
}

fn pull_request(payload: &Value) -> Result<PullRequest, &'static str> {
    let pr = payload.get("pull_request").ok_or("pull_request")?;
    let head_repo = string_at(pr, &["head", "repo", "full_name"]);
    let base_repo = string_at(pr, &["base", "repo", "full_name"]);
    Ok(PullRequest {
        number: pr
            .get("number")
            .and_then(Value::as_u64)
            .ok_or("pull_request.number")?,
        base_ref: string_at(pr, &["base", "ref"]).ok_or("pull_request.base.ref")?,
        base_sha: string_at(pr, &["base", "sha"]),
        head_ref: string_at(pr, &["head", "ref"]).ok_or("pull_request.head.ref")?,
        head_sha: string_at(pr, &["head", "sha"]),
        // A deleted fork leaves `head.repo` null: still a fork.
        from_fork: head_repo.is_none() || head_repo != base_repo,
    })
}

fn string_at(value: &Value, path: &[&str]) -> Option<String> {
    path.iter()
        .try_fold(value, |value, key| value.get(key))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn context(event: &str, payload: &str) -> Result<CiContext, StepError> {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(payload.as_bytes()).unwrap();
        let env = Env::from_pairs([
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_EVENT_NAME", event),
            ("GITHUB_EVENT_PATH", file.path().to_str().unwrap()),
        ]);
        CiContext::read(&env)
    }

    fn pr_payload(head_repo: &str) -> String {
        format!(
            r#"{{"pull_request": {{"number": 5, "base": {{"ref": "main", "sha": "b1", "repo": {{"full_name": "o/r"}}}},
                 "head": {{"ref": "feat", "sha": "h1", "repo": {head_repo}}}}}}}"#
        )
    }

    #[test]
    fn pull_request_from_the_same_repo_a_fork_and_a_deleted_fork() {
        let same = context("pull_request", &pr_payload(r#"{"full_name": "o/r"}"#)).unwrap();
        assert_eq!(
            same.trigger,
            Trigger::PullRequest(PullRequest {
                number: 5,
                base_ref: "main".into(),
                base_sha: Some("b1".into()),
                head_ref: "feat".into(),
                head_sha: Some("h1".into()),
                from_fork: false,
            })
        );
        assert_eq!(
            same.sha.as_deref(),
            Some("h1"),
            "no GITHUB_SHA: the payload's head sha"
        );
        let fork = context(
            "pull_request_target",
            &pr_payload(r#"{"full_name": "someone/r"}"#),
        )
        .unwrap();
        assert!(fork.pull_request().unwrap().from_fork);
        let deleted = context("pull_request", &pr_payload("null")).unwrap();
        assert!(deleted.pull_request().unwrap().from_fork);
    }

    #[test]
    fn a_pull_request_payload_without_a_number_is_an_environment_error() {
        let error = context(
            "pull_request",
            r#"{"pull_request": {"base": {"ref": "main"}}}"#,
        )
        .unwrap_err();
        assert_eq!(error.exit_status(), trainyard_core::ExitStatus::Environment);
        assert!(error.to_string().contains("pull_request.number"), "{error}");
    }

    #[test]
    fn other_events_and_no_payload() {
        let context_ = context("issue_comment", "{}").unwrap();
        assert_eq!(
            context_.trigger,
            Trigger::Other {
                name: "issue_comment".into()
            }
        );
        let env = Env::from_pairs([("GITHUB_ACTIONS", "true"), ("GITHUB_EVENT_NAME", "push")]);
        let context_ = CiContext::read(&env).unwrap();
        assert_eq!(
            context_.trigger,
            Trigger::Other {
                name: "push".into()
            }
        );
        let env = Env::from_pairs([("GITHUB_ACTIONS", "true")]);
        assert_eq!(
            CiContext::read(&env).unwrap().trigger,
            Trigger::Other {
                name: "unknown".into()
            }
        );
    }

    #[test]
    fn run_url_and_variables() {
        let env = Env::from_pairs([
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_REPOSITORY", "o/r"),
            ("GITHUB_RUN_ID", "42"),
            ("GITHUB_SERVER_URL", "https://ghe.example.com/"),
            ("GITHUB_SHA", "abc"),
            ("GITHUB_REF", "refs/heads/main"),
            ("GITHUB_ACTOR", "octocat"),
        ]);
        let context = CiContext::read(&env).unwrap();
        assert_eq!(
            context.run_url.as_deref(),
            Some("https://ghe.example.com/o/r/actions/runs/42")
        );
        assert_eq!(context.sha.as_deref(), Some("abc"));
        assert_eq!(context.git_ref.as_deref(), Some("refs/heads/main"));
        assert_eq!(context.actor.as_deref(), Some("octocat"));
        assert_eq!(context.repository.as_deref(), Some("o/r"));
        let env = Env::from_pairs([
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_REPOSITORY", "o/r"),
            ("GITHUB_RUN_ID", "1"),
        ]);
        assert_eq!(
            CiContext::read(&env).unwrap().run_url.as_deref(),
            Some("https://github.com/o/r/actions/runs/1")
        );
    }
}
