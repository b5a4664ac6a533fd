//! The GitHub client: octocrab for the HTTP, authentication and base URL; our
//! own retry policy around each request, because the answer's status and
//! headers (retry-after, rate-limit counters) decide whether to wait or give up.

use std::fmt;
use std::time::Duration;

use http::header::HeaderMap;
use octocrab::Octocrab;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ForgeError;
use crate::token::Token;

/// `owner/name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    pub owner: String,
    pub name: String,
}

impl Repository {
    /// Parses `owner/name` (GITHUB_REPOSITORY).
    pub fn parse(full_name: &str) -> Option<Self> {
        let (owner, name) = full_name.split_once('/')?;
        let valid = |part: &str| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        (valid(owner) && valid(name)).then(|| Self {
            owner: owner.to_owned(),
            name: name.to_owned(),
        })
    }

    /// `/repos/owner/name`, the prefix of every repository route.
    pub fn route(&self) -> String {
        format!("/repos/{}/{}", self.owner, self.name)
    }
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// When and how long to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries per request, the first included.
    pub attempts: u32,
    /// The first wait after a server error or timeout; doubled each time.
    pub base_delay: Duration,
    /// No single wait is longer, whatever `retry-after` asks for.
    pub max_delay: Duration,
    /// One attempt's limit, connect to last byte.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 5,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_mins(1),
            timeout: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` when the server named none.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2_u32.saturating_pow(attempt);
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }
}

/// Where and as whom to talk to GitHub.
#[derive(Debug, Clone)]
pub struct GitHubConfig {
    /// GITHUB_API_URL: `https://api.github.com`, GitHub Enterprise's `https://host/api/v3`, or a test server.
    pub api_url: String,
    pub token: Token,
    pub repository: Repository,
    pub retry: RetryPolicy,
}

/// A synchronous GitHub client for one repository.
pub struct GitHub {
    octocrab: Octocrab,
    runtime: tokio::runtime::Runtime,
    pub(crate) repository: Repository,
    retry: RetryPolicy,
    api_url: String,
}

impl fmt::Debug for GitHub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitHub")
            .field("api_url", &self.api_url)
            .field("repository", &self.repository)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// One answer: the status, the headers that matter, and the body text.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn json<T: DeserializeOwned>(&self, action: &str) -> Result<T, ForgeError> {
        self.json_of(GITHUB, action)
    }

    /// The body as JSON, `forge` named in the error.
    pub fn json_of<T: DeserializeOwned>(
        &self,
        forge: &'static str,
        action: &str,
    ) -> Result<T, ForgeError> {
        serde_json::from_str(&self.body).map_err(|error| ForgeError::Decode {
            forge,
            action: action.to_owned(),
            message: error.to_string(),
        })
    }

    /// The `rel="next"` page of a paginated list, as a path and query.
    pub fn next_page(&self) -> Option<String> {
        let link = self.headers.get("link")?.to_str().ok()?;
        link.split(',').find_map(|part| {
            let (target, params) = part.split_once(';')?;
            if !params.split(';').any(|p| p.trim() == r#"rel="next""#) {
                return None;
            }
            let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
            let uri: http::Uri = target.parse().ok()?;
            // A relative path keeps the Authorization header and the base URL's prefix.
            uri.path_and_query().map(|pq| pq.as_str().to_owned())
        })
    }
}

/// The forge's name in errors.
pub(crate) const GITHUB: &str = "GitHub";

/// How a forge's refusals read.
pub(crate) struct Refusal {
    pub forge: &'static str,
    pub hint: &'static str,
}

const GITHUB_REFUSAL: Refusal = Refusal {
    forge: GITHUB,
    hint: "the token cannot write here, as for a pull request from a fork or a read-only token",
};

/// What one attempt came to.
pub(crate) enum Attempt {
    Done(Answer),
    Retry { wait: Duration, why: String },
    Fail(ForgeError),
}

impl GitHub {
    pub fn new(config: GitHubConfig) -> Result<Self, ForgeError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| {
                ForgeError::Setup(format!("could not start the HTTP runtime: {error}"))
            })?;
        let api_url = config.api_url.trim_end_matches('/').to_owned();
        let octocrab = {
            let _entered = runtime.enter();
            Octocrab::builder()
                .base_uri(api_url.as_str())
                .map_err(|_| {
                    ForgeError::Setup(format!(
                        "GITHUB_API_URL={api_url:?} is not a URL; expected e.g. https://api.github.com"
                    ))
                })?
                .personal_token(config.token.expose().to_owned())
                .add_header(
                    http::header::USER_AGENT,
                    concat!("trainyard/", env!("CARGO_PKG_VERSION")).to_owned(),
                )
                .set_connect_timeout(Some(config.retry.timeout))
                .set_read_timeout(Some(config.retry.timeout))
                .set_write_timeout(Some(config.retry.timeout))
                .build()
                .map_err(|error| ForgeError::Setup(format!("could not set up the GitHub client: {error}")))?
        };
        Ok(Self {
            octocrab,
            runtime,
            repository: config.repository,
            retry: config.retry,
            api_url,
        })
    }

    /// Sends one request with retries. `path` starts with `/` and is relative
    /// to the API URL; `action` says what for, in errors ("create a check run").
    pub(crate) fn send(
        &self,
        method: &http::Method,
        path: &str,
        body: Option<&Value>,
        action: &str,
    ) -> Result<Answer, ForgeError> {
        with_retries(&self.retry, GITHUB, &self.api_url, action, || {
            self.runtime
                .block_on(self.attempt(method, path, body, action))
        })
    }

    async fn attempt(
        &self,
        method: &http::Method,
        path: &str,
        body: Option<&Value>,
        action: &str,
    ) -> Attempt {
        let request = async {
            let response = match *method {
                http::Method::GET => self.octocrab._get(path).await,
                http::Method::POST => self.octocrab._post(path, body).await,
                http::Method::PATCH => self.octocrab._patch(path, body).await,
                http::Method::PUT => self.octocrab._put(path, body).await,
                _ => unreachable!("trainyard sends GET, POST, PATCH and PUT only"),
            }?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = self.octocrab.body_to_string(response).await?;
            Ok::<_, octocrab::Error>(Answer {
                status,
                headers,
                body,
            })
        };
        match tokio::time::timeout(self.retry.timeout, request).await {
            Err(_) => Attempt::Retry {
                wait: Duration::ZERO,
                why: format!("no answer within {}s", self.retry.timeout.as_secs()),
            },
            Ok(Err(error)) => Attempt::Retry {
                wait: Duration::ZERO,
                why: transport_message(&error),
            },
            Ok(Ok(answer)) => classify(answer, method, action, &GITHUB_REFUSAL),
        }
    }
}

/// Runs `attempt` until it is done or fails, waiting between tries as the
/// server asks (`retry-after`) or by backoff, at most `retry.attempts` times.
pub(crate) fn with_retries(
    retry: &RetryPolicy,
    forge: &'static str,
    api_url: &str,
    action: &str,
    mut attempt: impl FnMut() -> Attempt,
) -> Result<Answer, ForgeError> {
    let mut last = String::new();
    for tried in 0..retry.attempts.max(1) {
        match attempt() {
            Attempt::Done(answer) => return Ok(answer),
            Attempt::Fail(error) => return Err(error),
            Attempt::Retry { wait, why } => {
                last = why;
                if tried + 1 < retry.attempts {
                    let wait = if wait.is_zero() {
                        retry.backoff(tried)
                    } else {
                        wait
                    };
                    std::thread::sleep(wait.min(retry.max_delay));
                }
            }
        }
    }
    Err(ForgeError::GaveUp {
        forge,
        action: action.to_owned(),
        attempts: retry.attempts.max(1),
        last,
        api_url: api_url.to_owned(),
    })
}

/// Sorts an answer into done, retry (and how long to wait) or fail.
pub(crate) fn classify(
    answer: Answer,
    method: &http::Method,
    action: &str,
    refusal: &Refusal,
) -> Attempt {
    let status = answer.status;
    if (200..300).contains(&status) {
        return Attempt::Done(answer);
    }
    let message = error_message(&answer.body);
    let retry_after = retry_after(&answer.headers);
    let rate_limited = status == 429
        || (status == 403
            && (retry_after.is_some()
                || answer
                    .headers
                    .get("x-ratelimit-remaining")
                    .is_some_and(|v| v.as_bytes() == b"0")
                || message.to_ascii_lowercase().contains("rate limit")));
    if status >= 500 || rate_limited {
        return Attempt::Retry {
            // A secondary rate limit without retry-after: GitHub asks for at least a minute.
            wait: retry_after.unwrap_or(if rate_limited {
                Duration::from_mins(1)
            } else {
                Duration::ZERO
            }),
            why: format!("HTTP {status}: {message}"),
        };
    }
    let refused = matches!(status, 401 | 403) || (status == 404 && *method != http::Method::GET);
    let error = if refused {
        ForgeError::Refused {
            forge: refusal.forge,
            action: action.to_owned(),
            status,
            message,
            hint: refusal.hint,
        }
    } else {
        ForgeError::Rejected {
            forge: refusal.forge,
            action: action.to_owned(),
            status,
            message,
        }
    };
    Attempt::Fail(error)
}

/// `retry-after` in seconds (GitHub and Azure DevOps send seconds, never a date).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// GitHub's and Azure DevOps' `{"message": ...}`, or the start of the body.
fn error_message(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|value| value.get("message")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| body.chars().take(200).collect::<String>().trim().to_owned())
}

fn transport_message(error: &octocrab::Error) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        source = inner.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, headers: &[(&'static str, &str)], body: &str) -> Answer {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, value.parse().unwrap());
        }
        Answer {
            status,
            headers: map,
            body: body.to_owned(),
        }
    }

    fn kind(attempt: &Attempt) -> String {
        match attempt {
            Attempt::Done(_) => "done".into(),
            Attempt::Retry { wait, .. } => format!("retry {}s", wait.as_secs()),
            Attempt::Fail(ForgeError::Refused { .. }) => "refused".into(),
            Attempt::Fail(_) => "rejected".into(),
        }
    }

    #[test]
    fn answers_sort_into_done_retry_refused_and_rejected() {
        let post = http::Method::POST;
        let cases = [
            (answer(201, &[], "{}"), "done"),
            (answer(502, &[], "bad gateway"), "retry 0s"),
            (answer(429, &[("retry-after", "3")], "{}"), "retry 3s"),
            (
                answer(
                    403,
                    &[],
                    r#"{"message":"You have exceeded a secondary rate limit."}"#,
                ),
                "retry 60s",
            ),
            (
                answer(
                    403,
                    &[("x-ratelimit-remaining", "0"), ("retry-after", "2")],
                    "{}",
                ),
                "retry 2s",
            ),
            (
                answer(
                    403,
                    &[],
                    r#"{"message":"Resource not accessible by integration"}"#,
                ),
                "refused",
            ),
            (answer(404, &[], r#"{"message":"Not Found"}"#), "refused"),
            (
                answer(422, &[], r#"{"message":"Validation Failed"}"#),
                "rejected",
            ),
        ];
        for (answer, expected) in cases {
            let status = answer.status;
            assert_eq!(
                kind(&classify(answer, &post, "x", &GITHUB_REFUSAL)),
                expected,
                "HTTP {status}"
            );
        }
        assert_eq!(
            kind(&classify(
                answer(404, &[], "{}"),
                &http::Method::GET,
                "x",
                &GITHUB_REFUSAL
            )),
            "rejected"
        );
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let policy = RetryPolicy {
            attempts: 10,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(5),
            timeout: Duration::from_secs(1),
        };
        let waits: Vec<u64> = (0..5).map(|n| policy.backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 5, 5]);
    }

    #[test]
    fn the_next_page_is_relative_so_the_token_and_api_prefix_are_kept() {
        let answer = answer(
            200,
            &[(
                "link",
                r#"<https://ghe.example.com/api/v3/repositories/1/issues/2/comments?page=2>; rel="next", <https://ghe.example.com/api/v3/repositories/1/issues/2/comments?page=5>; rel="last""#,
            )],
            "[]",
        );
        assert_eq!(
            answer.next_page().as_deref(),
            Some("/api/v3/repositories/1/issues/2/comments?page=2")
        );
    }

    #[test]
    fn repository_names() {
        assert_eq!(
            Repository::parse("octo-org/hello.world").unwrap().route(),
            "/repos/octo-org/hello.world"
        );
        assert!(Repository::parse("no-slash").is_none());
        assert!(Repository::parse("a/b/c").is_none());
    }
}
