//! Where trainyard runs (GitHub Actions, Azure Pipelines, a terminal), what
//! triggered it, and the [`Publisher`]: the one place that turns a
//! [`trainyard_core::Report`] (or a [`trainyard_core::StepError`]) into what a
//! person or a machine sees — console text, JSON, step outputs, the job
//! summary, annotations, log groups and secret masks.
//!
//! Steps never print. Nothing here reads the process environment except
//! [`Env::from_process`]; everything else takes an [`Env`], so tests inject
//! their own.

pub mod azure;
pub mod console;
pub mod env;
pub mod escape;
pub mod event;
pub mod github;
pub mod host;
pub mod inputs;
pub mod publish;
mod random;
pub mod redact;
pub mod summary;
pub mod terminal;

pub use env::Env;
pub use event::{CiContext, PullRequest, Trigger};
pub use host::Host;
pub use inputs::{CREDENTIAL_VARIABLES, github_token, input, input_variables, is_credential};
pub use publish::{OutputFormat, Publisher};
