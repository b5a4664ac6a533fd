//! The Azure Pipelines context: predefined variables (`BUILD_*`, `SYSTEM_*`).

use std::fmt::Write as _;

use trainyard_core::StepError;

use super::{CiContext, PullRequest, Trigger, strip_heads};
use crate::env::Env;
use crate::host::Host;

pub(super) fn read(env: &Env) -> Result<CiContext, StepError> {
    let reason = env.get("BUILD_REASON").unwrap_or("unknown");
    let source_branch = env.get("BUILD_SOURCEBRANCH");
    let tag = source_branch.and_then(|b| b.strip_prefix("refs/tags/"));
    let branch = source_branch.and_then(|b| b.strip_prefix("refs/heads/"));
    let trigger = match (reason, tag, branch) {
        ("PullRequest", _, _) => Trigger::PullRequest(pull_request(env)?),
        (
            "IndividualCI" | "BatchedCI" | "Manual" | "Schedule" | "ResourceTrigger",
            Some(tag),
            _,
        ) => Trigger::Tag {
            name: tag.to_owned(),
        },
        ("IndividualCI" | "BatchedCI", None, Some(branch)) => Trigger::Push {
            branch: branch.to_owned(),
        },
        ("Schedule", _, _) => Trigger::Schedule { cron: None },
        ("Manual", _, _) => Trigger::Manual,
        (other, _, _) => Trigger::Other {
            name: other.to_owned(),
        },
    };
    let run_url = match (
        env.get("SYSTEM_COLLECTIONURI"),
        env.get("SYSTEM_TEAMPROJECT"),
        env.get("BUILD_BUILDID"),
    ) {
        (Some(collection), Some(project), Some(build)) => Some(format!(
            "{}/{}/_build/results?buildId={}",
            collection.trim_end_matches('/'),
            encode_path_segment(project),
            encode_path_segment(build)
        )),
        _ => None,
    };
    Ok(CiContext {
        host: Host::AzurePipelines,
        trigger,
        repository: env.get("BUILD_REPOSITORY_NAME").map(str::to_owned),
        sha: env.get("BUILD_SOURCEVERSION").map(str::to_owned),
        git_ref: source_branch.map(str::to_owned),
        default_branch: None,
        run_url,
        actor: env.get("BUILD_REQUESTEDFOR").map(str::to_owned),
    })
}

fn pull_request(env: &Env) -> Result<PullRequest, StepError> {
    let required = |name: &str| {
        env.get(name).ok_or_else(|| {
            StepError::Environment(format!("BUILD_REASON is PullRequest but {name} is not set"))
        })
    };
    // GitHub repositories have the PR number; Azure Repos only the PR id.
    let (variable, number) = match env.get("SYSTEM_PULLREQUEST_PULLREQUESTNUMBER") {
        Some(number) => ("SYSTEM_PULLREQUEST_PULLREQUESTNUMBER", number),
        None => (
            "SYSTEM_PULLREQUEST_PULLREQUESTID",
            required("SYSTEM_PULLREQUEST_PULLREQUESTID")?,
        ),
    };
    let number = number.trim().parse().map_err(|_| {
        StepError::Environment(format!(
            "{variable}={number:?} is not a pull request number"
        ))
    })?;
    Ok(PullRequest {
        number,
        base_ref: strip_heads(required("SYSTEM_PULLREQUEST_TARGETBRANCH")?).to_owned(),
        base_sha: None,
        head_ref: strip_heads(required("SYSTEM_PULLREQUEST_SOURCEBRANCH")?).to_owned(),
        head_sha: env
            .get("SYSTEM_PULLREQUEST_SOURCECOMMITID")
            .map(str::to_owned),
        from_fork: env.is_true("SYSTEM_PULLREQUEST_ISFORK"),
    })
}

/// Percent-encodes everything but RFC 3986 unreserved characters (a team
/// project may be called `My Project`).
fn encode_path_segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(pairs: &[(&str, &str)]) -> Result<CiContext, StepError> {
        let mut env = Env::from_pairs(pairs.iter().copied());
        env.set("TF_BUILD", "True");
        CiContext::read(&env)
    }

    fn trigger(reason: &str, branch: &str) -> Trigger {
        context(&[("BUILD_REASON", reason), ("BUILD_SOURCEBRANCH", branch)])
            .unwrap()
            .trigger
    }

    #[test]
    fn pull_request_from_a_github_repository() {
        let context = context(&[
            ("BUILD_REASON", "PullRequest"),
            ("BUILD_SOURCEBRANCH", "refs/pull/12/merge"),
            ("SYSTEM_PULLREQUEST_PULLREQUESTNUMBER", "12"),
            ("SYSTEM_PULLREQUEST_PULLREQUESTID", "987654"),
            ("SYSTEM_PULLREQUEST_TARGETBRANCH", "refs/heads/main"),
            ("SYSTEM_PULLREQUEST_SOURCEBRANCH", "refs/heads/feature/x"),
            ("SYSTEM_PULLREQUEST_SOURCECOMMITID", "h1"),
            ("SYSTEM_PULLREQUEST_ISFORK", "True"),
            ("BUILD_SOURCEVERSION", "m1"),
        ])
        .unwrap();
        assert_eq!(
            context.trigger,
            Trigger::PullRequest(PullRequest {
                number: 12,
                base_ref: "main".into(),
                base_sha: None,
                head_ref: "feature/x".into(),
                head_sha: Some("h1".into()),
                from_fork: true,
            })
        );
        assert_eq!(context.sha.as_deref(), Some("m1"));
    }

    #[test]
    fn pull_request_from_azure_repos_uses_the_id() {
        let context = context(&[
            ("BUILD_REASON", "PullRequest"),
            ("SYSTEM_PULLREQUEST_PULLREQUESTID", "31"),
            ("SYSTEM_PULLREQUEST_TARGETBRANCH", "main"),
            ("SYSTEM_PULLREQUEST_SOURCEBRANCH", "refs/heads/topic"),
            ("SYSTEM_PULLREQUEST_ISFORK", "False"),
        ])
        .unwrap();
        let pr = context.pull_request().unwrap();
        assert_eq!(
            (pr.number, pr.base_ref.as_str(), pr.head_ref.as_str()),
            (31, "main", "topic")
        );
        assert!(!pr.from_fork);
        assert_eq!(pr.head_sha, None);
    }

    #[test]
    fn a_pull_request_without_its_variables_is_an_environment_error() {
        let error = context(&[("BUILD_REASON", "PullRequest")]).unwrap_err();
        assert_eq!(error.exit_status(), trainyard_core::ExitStatus::Environment);
        assert!(
            error
                .to_string()
                .contains("SYSTEM_PULLREQUEST_PULLREQUESTID"),
            "{error}"
        );
        let error = context(&[
            ("BUILD_REASON", "PullRequest"),
            ("SYSTEM_PULLREQUEST_PULLREQUESTNUMBER", "twelve"),
        ])
        .unwrap_err();
        assert!(error.to_string().contains("twelve"), "{error}");
    }

    #[test]
    fn every_other_trigger() {
        assert_eq!(
            trigger("IndividualCI", "refs/heads/main"),
            Trigger::Push {
                branch: "main".into()
            }
        );
        assert_eq!(
            trigger("BatchedCI", "refs/heads/rel/1"),
            Trigger::Push {
                branch: "rel/1".into()
            }
        );
        for reason in [
            "IndividualCI",
            "BatchedCI",
            "Manual",
            "Schedule",
            "ResourceTrigger",
        ] {
            assert_eq!(
                trigger(reason, "refs/tags/v1.2"),
                Trigger::Tag {
                    name: "v1.2".into()
                },
                "{reason}"
            );
        }
        assert_eq!(
            trigger("Schedule", "refs/heads/main"),
            Trigger::Schedule { cron: None }
        );
        assert_eq!(trigger("Manual", "refs/heads/main"), Trigger::Manual);
        assert_eq!(
            trigger("ResourceTrigger", "refs/heads/main"),
            Trigger::Other {
                name: "ResourceTrigger".into()
            }
        );
        assert_eq!(
            trigger("BuildCompletion", "refs/heads/main"),
            Trigger::Other {
                name: "BuildCompletion".into()
            }
        );
        let context = context(&[]).unwrap();
        assert_eq!(
            context.trigger,
            Trigger::Other {
                name: "unknown".into()
            }
        );
    }

    #[test]
    fn run_url_and_variables() {
        let context = context(&[
            ("BUILD_REASON", "Manual"),
            ("SYSTEM_COLLECTIONURI", "https://dev.azure.com/org/"),
            ("SYSTEM_TEAMPROJECT", "My Project"),
            ("BUILD_BUILDID", "77"),
            ("BUILD_REPOSITORY_NAME", "o/r"),
            ("BUILD_SOURCEBRANCH", "refs/heads/main"),
            ("BUILD_REQUESTEDFOR", "Ada"),
        ])
        .unwrap();
        assert_eq!(
            context.run_url.as_deref(),
            Some("https://dev.azure.com/org/My%20Project/_build/results?buildId=77")
        );
        assert_eq!(context.repository.as_deref(), Some("o/r"));
        assert_eq!(context.git_ref.as_deref(), Some("refs/heads/main"));
        assert_eq!(context.actor.as_deref(), Some("Ada"));
        assert_eq!(context.default_branch, None);
    }
}
