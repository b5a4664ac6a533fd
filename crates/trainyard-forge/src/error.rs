//! What can go wrong talking to GitHub, sorted by what the caller should do.

/// A GitHub API failure.
#[derive(Debug, thiserror::Error)]
pub enum ForgeError {
    /// GitHub refused the token this write (401, 403 without a rate limit, or
    /// 404 on a write): a fork's pull request or a read-only token. The step's
    /// own verdict stands; results go to annotations and the job summary.
    #[error(
        "GitHub refused to {action} (HTTP {status}: {message}); the token cannot write here, as for a pull request from a fork or a read-only token"
    )]
    Refused {
        action: String,
        status: u16,
        message: String,
    },
    /// GitHub understood the request and rejected it (422 and other 4xx).
    #[error("GitHub rejected the request to {action} (HTTP {status}: {message})")]
    Rejected {
        action: String,
        status: u16,
        message: String,
    },
    /// Retries ran out on server errors, rate limits or timeouts.
    #[error(
        "GitHub did not answer the request to {action} after {attempts} attempts (last: {last}); check {api_url} is reachable, or re-run the job later"
    )]
    GaveUp {
        action: String,
        attempts: u32,
        last: String,
        api_url: String,
    },
    /// The answer was not what GitHub's API describes.
    #[error("GitHub's answer to {action} could not be read: {message}")]
    Decode { action: String, message: String },
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
