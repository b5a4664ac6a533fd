//! Azure DevOps' REST API (api-version 7.1), for a repository in Azure Repos:
//! pull-request and commit statuses, the sticky pull-request thread, pull
//! requests for promotions, pipeline runs for retraining, and what the gate's
//! `checks` rule reads (statuses and build results).
//!
//! The client is reqwest on the rustls/ring stack trainyard-store already
//! builds, behind the same retry policy as GitHub's ([`RetryPolicy`]: 5xx,
//! 429 with `Retry-After`, timeouts, bounded); a token Azure DevOps refuses
//! (401, 403, its sign-in page) is [`ForgeError::Refused`], so the caller
//! falls back to the job summary. The token is the build's
//! `System.AccessToken` (`SYSTEM_ACCESSTOKEN`), sent as a bearer token.

mod pipelines;
mod pulls;

use std::fmt;
use std::fmt::Write as _;
use std::time::Duration;

use serde_json::Value;
use trainyard_ci::Env;

use crate::client::{Answer, Attempt, Refusal, RetryPolicy, classify, with_retries};
use crate::error::ForgeError;
use crate::token::Token;

pub use pipelines::{BuildState, PipelineRun};
pub use pulls::{AzurePullRequest, STATUS_GENRE, StatusState, ThreadPublished, status_name};

/// The forge's name in errors and warnings.
pub(crate) const AZURE: &str = "Azure DevOps";

/// The REST API version every request names.
pub const API_VERSION: &str = "7.1";

/// The variable that holds the build's token (`System.AccessToken`, mapped
/// into the step's environment; one of `trainyard_ci::CREDENTIAL_VARIABLES`).
pub const TOKEN_VARIABLE: &str = "SYSTEM_ACCESSTOKEN";

const REFUSAL: Refusal = Refusal {
    forge: AZURE,
    hint: "the build identity cannot write here: map `System.AccessToken` into the step \
           (`env: { SYSTEM_ACCESSTOKEN: $(System.AccessToken) }`) and give the project's build service \
           *Contribute to pull requests* on the repository (and *Queue builds* on the retraining pipeline)",
};

/// Where and as whom to talk to Azure DevOps.
#[derive(Debug, Clone)]
pub struct AzureConfig {
    /// `SYSTEM_COLLECTIONURI`: `https://dev.azure.com/<org>/`, an Azure
    /// DevOps Server collection, or a test server.
    pub collection_url: String,
    /// `SYSTEM_TEAMPROJECT`: the project's name (or id).
    pub project: String,
    /// `BUILD_REPOSITORY_ID`: the Azure Repos repository's id.
    pub repository_id: String,
    pub token: Token,
    pub retry: RetryPolicy,
}

impl AzureConfig {
    /// The job's Azure DevOps: the token from `SYSTEM_ACCESSTOKEN` and the
    /// collection, project and repository from the predefined variables; the
    /// retry policy as GitHub's ([`RetryPolicy::from_env`]). `Err` names what
    /// is missing, for a warning.
    pub fn from_env(env: &Env) -> Result<Self, String> {
        let token = token(env).ok_or_else(|| {
            format!(
                "{TOKEN_VARIABLE} is not set; map the build's token into the step \
                 (`env: {{ {TOKEN_VARIABLE}: $(System.AccessToken) }}`)"
            )
        })?;
        let variable = |name: &str| {
            env.get(name)
                .map(str::trim)
                .filter(|value| !value.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| format!("{name} is not set (Azure Pipelines sets it)"))
        };
        Ok(Self {
            collection_url: variable("SYSTEM_COLLECTIONURI")?,
            project: variable("SYSTEM_TEAMPROJECT")?,
            repository_id: variable("BUILD_REPOSITORY_ID")?,
            token,
            retry: RetryPolicy::from_env(env),
        })
    }
}

/// The build's token, `SYSTEM_ACCESSTOKEN`, when set and not blank.
pub fn token(env: &Env) -> Option<Token> {
    env.get(TOKEN_VARIABLE).and_then(Token::new)
}

/// Whether the build's repository is in Azure Repos (`BUILD_REPOSITORY_PROVIDER`
/// `TfsGit`, or unset): a GitHub repository built by Azure Pipelines has its
/// pull requests on GitHub.
pub fn is_azure_repos(env: &Env) -> bool {
    env.get("BUILD_REPOSITORY_PROVIDER")
        .is_none_or(|provider| provider.trim().eq_ignore_ascii_case("TfsGit"))
}

/// A synchronous Azure DevOps client for one project and repository.
pub struct AzureDevOps {
    http: reqwest::Client,
    runtime: tokio::runtime::Runtime,
    token: Token,
    retry: RetryPolicy,
    /// `{collection}/{project}/_apis`.
    apis: String,
    /// `{apis}/git/repositories/{repository}`.
    repository: String,
    /// The repository's id, encoded for a query.
    repository_id: String,
    collection_url: String,
}

impl fmt::Debug for AzureDevOps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AzureDevOps")
            .field("repository", &self.repository)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl AzureDevOps {
    pub fn new(config: AzureConfig) -> Result<Self, ForgeError> {
        install_crypto_provider();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| {
                ForgeError::Setup(format!("could not start the HTTP runtime: {error}"))
            })?;
        let collection_url = config.collection_url.trim_end_matches('/').to_owned();
        if !(collection_url.starts_with("https://") || collection_url.starts_with("http://")) {
            return Err(ForgeError::Setup(format!(
                "SYSTEM_COLLECTIONURI={collection_url:?} is not a URL; expected e.g. https://dev.azure.com/<organization>/"
            )));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("trainyard/", env!("CARGO_PKG_VERSION")))
            .timeout(config.retry.timeout)
            .connect_timeout(config.retry.timeout)
            // A redirect is Azure DevOps' sign-in page: a refusal, not a page to read.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| {
                ForgeError::Setup(format!("could not set up the Azure DevOps client: {error}"))
            })?;
        let apis = format!("{collection_url}/{}/_apis", segment(&config.project));
        let repository_id = segment(&config.repository_id);
        let repository = format!("{apis}/git/repositories/{repository_id}");
        Ok(Self {
            http,
            runtime,
            token: config.token,
            retry: config.retry,
            apis,
            repository,
            repository_id,
            collection_url,
        })
    }

    /// Sends one request with retries to `url` (a route below the
    /// collection, its query without `api-version`, which is added).
    pub(crate) fn send(
        &self,
        method: &http::Method,
        url: &str,
        body: Option<&Value>,
        action: &str,
    ) -> Result<Answer, ForgeError> {
        let separator = if url.contains('?') { '&' } else { '?' };
        let url = format!("{url}{separator}api-version={API_VERSION}");
        with_retries(&self.retry, AZURE, &self.collection_url, action, || {
            self.runtime
                .block_on(self.attempt(method, &url, body, action))
        })
    }

    async fn attempt(
        &self,
        method: &http::Method,
        url: &str,
        body: Option<&Value>,
        action: &str,
    ) -> Attempt {
        let mut request = self
            .http
            .request(method.clone(), url)
            .bearer_auth(self.token.expose())
            .header(http::header::ACCEPT, "application/json");
        if let Some(body) = body {
            request = request
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let answer = async {
            let response = request.send().await?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = response.text().await?;
            Ok::<_, reqwest::Error>(Answer {
                status,
                headers,
                body,
            })
        };
        match answer.await {
            Err(error) => Attempt::Retry {
                wait: Duration::ZERO,
                why: transport_message(&error),
            },
            // 203 and redirects: the sign-in page an unaccepted token gets.
            Ok(answer) if answer.status == 203 || (300..400).contains(&answer.status) => {
                Attempt::Fail(ForgeError::Refused {
                    forge: AZURE,
                    action: action.to_owned(),
                    status: answer.status,
                    message:
                        "Azure DevOps answered with its sign-in page: the token was not accepted"
                            .to_owned(),
                    hint: REFUSAL.hint,
                })
            }
            Ok(answer) => classify(answer, method, action, &REFUSAL),
        }
    }

    /// A route below the repository (`pullRequests/7/threads`).
    pub(crate) fn repository_route(&self, route: &str) -> String {
        format!("{}/{route}", self.repository)
    }

    /// A route below the project's APIs (`pipelines/4/runs`).
    pub(crate) fn project_route(&self, route: &str) -> String {
        format!("{}/{route}", self.apis)
    }
}

/// reqwest is built without a compiled-in TLS provider (the workspace has one
/// crypto library, ring); the process default must be set before the first
/// client. A default installed first is kept.
fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another thread's install is fine: a default is set.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// Percent-encodes a path segment or query value (a project may be called
/// `My Project`, a branch `promote/staging+v3`).
pub(crate) fn segment(value: &str) -> String {
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

/// The error and its causes (the URL names no secret: the token is a header).
fn transport_message(error: &reqwest::Error) -> String {
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

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn the_configuration_comes_from_the_predefined_variables() {
        let full = [
            ("SYSTEM_ACCESSTOKEN", " tok "),
            ("SYSTEM_COLLECTIONURI", "https://dev.azure.com/contoso/"),
            ("SYSTEM_TEAMPROJECT", "ML Platform"),
            (
                "BUILD_REPOSITORY_ID",
                "4c1e2f4e-0000-4000-8000-000000000001",
            ),
        ];
        let config = AzureConfig::from_env(&env(&full)).unwrap();
        assert_eq!(config.token.expose(), "tok");
        assert_eq!(config.project, "ML Platform");
        let client = AzureDevOps::new(config).unwrap();
        assert_eq!(
            client.repository_route("pullrequests"),
            "https://dev.azure.com/contoso/ML%20Platform/_apis/git/repositories/4c1e2f4e-0000-4000-8000-000000000001/pullrequests"
        );
        let error = AzureConfig::from_env(&env(&full[1..])).unwrap_err();
        assert!(
            error.starts_with("SYSTEM_ACCESSTOKEN is not set"),
            "{error}"
        );
        let error = AzureConfig::from_env(&env(&[full[0], full[1], full[3]])).unwrap_err();
        assert!(
            error.starts_with("SYSTEM_TEAMPROJECT is not set"),
            "{error}"
        );
    }

    #[test]
    fn only_azure_repos_has_azure_pull_requests() {
        assert!(is_azure_repos(&env(&[])));
        assert!(is_azure_repos(&env(&[(
            "BUILD_REPOSITORY_PROVIDER",
            "TfsGit"
        )])));
        assert!(!is_azure_repos(&env(&[(
            "BUILD_REPOSITORY_PROVIDER",
            "GitHub"
        )])));
    }

    #[test]
    fn a_collection_that_is_not_a_url_is_a_setup_error() {
        let config = AzureConfig {
            collection_url: "dev.azure.com/contoso".into(),
            project: "p".into(),
            repository_id: "r".into(),
            token: Token::new("t").unwrap(),
            retry: RetryPolicy::default(),
        };
        let error = AzureDevOps::new(config).unwrap_err();
        assert!(
            error.to_string().contains("SYSTEM_COLLECTIONURI"),
            "{error}"
        );
    }
}
