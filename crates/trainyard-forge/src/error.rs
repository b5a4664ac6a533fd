//! What can go wrong talking to a forge (GitHub, Azure DevOps), sorted by
//! what the caller should do.

/// A forge API failure. `forge` names it (`GitHub`, `Azure DevOps`).
#[derive(Debug, thiserror::Error)]
pub enum ForgeError {
    /// The forge refused the token this write (401, 403 without a rate limit,
    /// or 404 on a write): a fork's pull request or a read-only token. The
    /// step's own verdict stands; results go to annotations and the job summary.
    #[error("{forge} refused to {action} (HTTP {status}: {message}); {hint}")]
    Refused {
        forge: &'static str,
        action: String,
        status: u16,
        message: String,
        /// Why a token is refused there, and what gives it the right.
        hint: &'static str,
    },
    /// The forge understood the request and rejected it (422 and other 4xx).
    #[error("{forge} rejected the request to {action} (HTTP {status}: {message})")]
    Rejected {
        forge: &'static str,
        action: String,
        status: u16,
        message: String,
    },
    /// Retries ran out on server errors, rate limits or timeouts.
    #[error(
        "{forge} did not answer the request to {action} after {attempts} attempts (last: {last}); check {api_url} is reachable, or re-run the job later"
    )]
    GaveUp {
        forge: &'static str,
        action: String,
        attempts: u32,
        last: String,
        api_url: String,
    },
    /// The answer was not what the forge's API describes.
    #[error("{forge}'s answer to {action} could not be read: {message}")]
    Decode {
        forge: &'static str,
        action: String,
        message: String,
    },
    /// The client could not be set up (a bad GITHUB_API_URL, a runtime failure).
    #[error("{0}")]
    Setup(String),
}

impl ForgeError {
    /// Whether the token may not write here: fall back, do not fail.
    pub fn is_refused(&self) -> bool {
        matches!(self, Self::Refused { .. })
    }
}
