//! The job's GitHub, from its environment: the token, the API (GitHub
//! Enterprise through `GITHUB_API_URL`) and the retry policy.

use std::time::Duration;

use trainyard_ci::Env;

use crate::client::{GitHubConfig, Repository, RetryPolicy};
use crate::token::Token;

/// The job's token, as [`trainyard_ci::github_token`] reads it:
/// `TRAINYARD_GITHUB_TOKEN`, the `github-token` input, or `GITHUB_TOKEN`
/// (each one of [`trainyard_ci::CREDENTIAL_VARIABLES`]).
pub fn token(env: &Env) -> Option<Token> {
    trainyard_ci::github_token(env).and_then(Token::new)
}

impl GitHubConfig {
    /// `repository` on the job's GitHub as `token`: `GITHUB_API_URL`
    /// (`https://api.github.com` unless set), the retry policy from
    /// [`RetryPolicy::from_env`].
    pub fn from_env(env: &Env, token: Token, repository: Repository) -> Self {
        Self {
            api_url: env
                .get("GITHUB_API_URL")
                .unwrap_or("https://api.github.com")
                .to_owned(),
            token,
            repository,
            retry: RetryPolicy::from_env(env),
        }
    }
}

impl RetryPolicy {
    /// The default policy, with `TRAINYARD_GITHUB_ATTEMPTS` tries per request
    /// (5) and `TRAINYARD_GITHUB_TIMEOUT` seconds per attempt (30) where they
    /// are set to a positive number.
    pub fn from_env(env: &Env) -> Self {
        let mut policy = Self::default();
        if let Some(attempts) = env
            .get("TRAINYARD_GITHUB_ATTEMPTS")
            .and_then(|v| v.trim().parse::<u32>().ok())
            .filter(|&n| n > 0)
        {
            policy.attempts = attempts;
        }
        if let Some(seconds) = env
            .get("TRAINYARD_GITHUB_TIMEOUT")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|&n| n > 0)
        {
            policy.timeout = Duration::from_secs(seconds);
        }
        policy
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_the_github_token_input_then_github_token() {
        let env = Env::from_pairs([("GITHUB_TOKEN", "a"), ("INPUT_GITHUB-TOKEN", "b")]);
        assert_eq!(token(&env).unwrap().expose(), "b");
        let env = Env::from_pairs([("GITHUB_TOKEN", "a"), ("INPUT_GITHUB-TOKEN", "")]);
        assert_eq!(token(&env).unwrap().expose(), "a");
        assert!(token(&Env::default()).is_none());
    }

    #[test]
    fn the_api_url_and_the_retries_come_from_the_environment() {
        let token = Token::new("t").unwrap();
        let repository = Repository::parse("o/r").unwrap();
        let config = GitHubConfig::from_env(&Env::default(), token.clone(), repository.clone());
        assert_eq!(config.api_url, "https://api.github.com");
        assert_eq!(config.retry, RetryPolicy::default());
        let env = Env::from_pairs([
            ("GITHUB_API_URL", "https://ghe.example.com/api/v3"),
            ("TRAINYARD_GITHUB_ATTEMPTS", " 2 "),
            ("TRAINYARD_GITHUB_TIMEOUT", "0"),
        ]);
        let config = GitHubConfig::from_env(&env, token, repository);
        assert_eq!(config.api_url, "https://ghe.example.com/api/v3");
        assert_eq!(config.retry.attempts, 2);
        assert_eq!(config.retry.timeout, RetryPolicy::default().timeout);
    }
}
