//! The CI context: which host, which event triggered the run, and where
//! (repository, commit, ref, run URL).

mod azure;
mod github;

use serde::Serialize;
use trainyard_core::StepError;

use crate::env::Env;
use crate::host::Host;

/// Everything a step may want to know about the run that started it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct CiContext {
    pub host: Host,
    pub trigger: Trigger,
    /// `owner/name` (GITHUB_REPOSITORY; BUILD_REPOSITORY_NAME).
    pub repository: Option<String>,
    pub sha: Option<String>,
    pub git_ref: Option<String>,
    /// From the GitHub payload's `repository.default_branch`, when present.
    pub default_branch: Option<String>,
    /// A link to this run in the CI system's web UI.
    pub run_url: Option<String>,
    pub actor: Option<String>,
}

/// What started the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Trigger {
    PullRequest(PullRequest),
    Push {
        branch: String,
    },
    Tag {
        name: String,
    },
    Schedule {
        cron: Option<String>,
    },
    Manual,
    /// An event trainyard has no special meaning for, by the host's name for it.
    Other {
        name: String,
    },
    /// A terminal: no CI event.
    Local,
}

/// The pull request a run is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct PullRequest {
    pub number: u64,
    /// The branch the PR merges into, without `refs/heads/`.
    pub base_ref: String,
    pub base_sha: Option<String>,
    /// The PR's branch, without `refs/heads/`.
    pub head_ref: String,
    pub head_sha: Option<String>,
    /// The head lives in another repository (a fork, or a deleted fork).
    pub from_fork: bool,
}

impl CiContext {
    /// Reads the context from the environment (and, on GitHub, the event
    /// payload file). A missing, unreadable or malformed payload file is an
    /// environment error (exit 3) naming the file.
    pub fn read(env: &Env) -> Result<CiContext, StepError> {
        match Host::detect(env) {
            Host::GitHubActions => github::read(env),
            Host::AzurePipelines => azure::read(env),
            Host::Terminal => Ok(CiContext::local(Host::Terminal)),
        }
    }

    fn local(host: Host) -> Self {
        CiContext {
            host,
            trigger: Trigger::Local,
            repository: None,
            sha: None,
            git_ref: None,
            default_branch: None,
            run_url: None,
            actor: None,
        }
    }

    /// The pull request, when the run is for one.
    pub fn pull_request(&self) -> Option<&PullRequest> {
        match &self.trigger {
            Trigger::PullRequest(pr) => Some(pr),
            _ => None,
        }
    }
}

impl Trigger {
    /// The trigger's kind as serialized (`pull-request`, `push`, `tag`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Trigger::PullRequest(_) => "pull-request",
            Trigger::Push { .. } => "push",
            Trigger::Tag { .. } => "tag",
            Trigger::Schedule { .. } => "schedule",
            Trigger::Manual => "manual",
            Trigger::Other { .. } => "other",
            Trigger::Local => "local",
        }
    }
}

/// `refs/heads/main` -> `main`; other refs unchanged.
pub(crate) fn strip_heads(reference: &str) -> &str {
    reference.strip_prefix("refs/heads/").unwrap_or(reference)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_terminal_is_local() {
        let context = CiContext::read(&Env::from_pairs([("GITHUB_SHA", "abc")])).unwrap();
        assert_eq!(context, CiContext::local(Host::Terminal));
        assert_eq!(context.trigger.kind(), "local");
        assert!(context.pull_request().is_none());
    }

    #[test]
    fn json_shape() {
        let context = CiContext {
            trigger: Trigger::PullRequest(PullRequest {
                number: 7,
                base_ref: "main".into(),
                base_sha: None,
                head_ref: "feature".into(),
                head_sha: Some("abc".into()),
                from_fork: true,
            }),
            ..CiContext::local(Host::GitHubActions)
        };
        assert_eq!(
            serde_json::to_value(&context).unwrap(),
            serde_json::json!({
                "host": "github",
                "trigger": {"kind": "pull-request", "number": 7, "base-ref": "main", "base-sha": null,
                            "head-ref": "feature", "head-sha": "abc", "from-fork": true},
                "repository": null, "sha": null, "git-ref": null, "default-branch": null,
                "run-url": null, "actor": null
            })
        );
        assert_eq!(
            serde_json::to_value(Trigger::Tag { name: "v1".into() }).unwrap(),
            serde_json::json!({"kind": "tag", "name": "v1"})
        );
    }
}
