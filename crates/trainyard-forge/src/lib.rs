//! The forges trainyard publishes to, chosen from the host: Azure DevOps
//! ([`azure`], for Azure Pipelines building an Azure Repos repository) and
//! GitHub, through octocrab: check runs (with annotations in batches of 50),
//! commit statuses, the sticky pull-request comment, pull requests for
//! promotions, and `repository_dispatch` / `workflow_dispatch`; and, for the
//! gate, a commit's check runs and combined status.
//!
//! [`publish`] puts a step's Report on GitHub (after `trainyard-ci`'s
//! publisher, whose writers it uses for workflow commands and step outputs);
//! [`evidence`] reads what GitHub reports on a commit for the gate. Both take
//! the job's environment ([`trainyard_ci::Env`]): the token
//! ([`token`]), the repository, the API URL and the retry settings.
//!
//! Every request goes through one retry policy (5xx, secondary rate limits,
//! timeouts, with backoff); what GitHub refuses to let the token write (a fork's
//! pull request, a read-only token) is a distinct error, so the caller can fall
//! back to annotations and the job summary instead of failing the step.
//!
//! The client is synchronous: it owns a small single-threaded tokio runtime,
//! so the rest of trainyard stays free of async.

pub mod azure;
mod checks;
mod client;
mod comment;
mod commit_checks;
mod dispatch;
mod error;
pub mod evidence;
mod job;
pub mod publish;
mod pulls;
mod status;
mod text;
mod token;

pub use checks::{
    ANNOTATIONS_PER_REQUEST, Annotation, AnnotationLevel, CheckConclusion, CheckRun,
    CheckRunOutput, CheckRunPublished,
};
pub use client::{GitHub, GitHubConfig, Repository, RetryPolicy};
pub use comment::{COMMENT_BODY_LIMIT, CommentPublished, sticky_marker};
pub use commit_checks::{CheckRunState, CombinedStatus, StatusState};
pub use error::ForgeError;
pub use job::token;
pub use pulls::{PullRequestPublished, PullRequestSpec};
pub use status::CommitState;
pub use text::{CHECK_TEXT_LIMIT, truncate_with_note};
pub use token::Token;
