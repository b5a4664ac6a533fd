//! Which CI system (if any) runs us.

use std::fmt;
use std::str::FromStr;

use trainyard_core::StepError;

use crate::env::Env;

/// Where trainyard runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Host {
    #[serde(rename = "github")]
    GitHubActions,
    #[serde(rename = "azure")]
    AzurePipelines,
    #[serde(rename = "terminal")]
    Terminal,
}

/// The variable that overrides detection: `github`, `azure` or `terminal`.
pub const HOST_OVERRIDE: &str = "TRAINYARD_HOST";

impl Host {
    /// Detects the host: `TRAINYARD_HOST` wins; then `GITHUB_ACTIONS=true`;
    /// then `TF_BUILD=True` (both case-insensitive); else a terminal. An
    /// unrecognised `TRAINYARD_HOST` is ignored here; use [`Host::try_detect`]
    /// to reject it.
    pub fn detect(env: &Env) -> Host {
        Self::try_detect(env).unwrap_or_else(|_| Self::detect_from_ci(env))
    }

    /// Like [`Host::detect`], but an unrecognised `TRAINYARD_HOST` is a usage error.
    pub fn try_detect(env: &Env) -> Result<Host, StepError> {
        match env.get(HOST_OVERRIDE) {
            Some(value) => value.parse().map_err(|()| {
                StepError::Usage(format!(
                    "{HOST_OVERRIDE}={value:?} is not a host; expected github, azure or terminal"
                ))
            }),
            None => Ok(Self::detect_from_ci(env)),
        }
    }

    fn detect_from_ci(env: &Env) -> Host {
        if env.is_true("GITHUB_ACTIONS") {
            Host::GitHubActions
        } else if env.is_true("TF_BUILD") {
            Host::AzurePipelines
        } else {
            Host::Terminal
        }
    }

    /// The name used by `TRAINYARD_HOST` and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Host::GitHubActions => "github",
            Host::AzurePipelines => "azure",
            Host::Terminal => "terminal",
        }
    }
}

impl FromStr for Host {
    type Err = ();

    fn from_str(value: &str) -> Result<Self, ()> {
        match value.trim().to_ascii_lowercase().as_str() {
            "github" | "github-actions" => Ok(Host::GitHubActions),
            "azure" | "azure-pipelines" => Ok(Host::AzurePipelines),
            "terminal" | "local" => Ok(Host::Terminal),
            _ => Err(()),
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect(pairs: &[(&str, &str)]) -> Host {
        Host::detect(&Env::from_pairs(pairs.iter().copied()))
    }

    #[test]
    fn detects_each_host() {
        assert_eq!(detect(&[]), Host::Terminal);
        assert_eq!(detect(&[("GITHUB_ACTIONS", "true")]), Host::GitHubActions);
        assert_eq!(detect(&[("TF_BUILD", "True")]), Host::AzurePipelines);
        assert_eq!(detect(&[("TF_BUILD", "TRUE")]), Host::AzurePipelines);
        assert_eq!(detect(&[("GITHUB_ACTIONS", "false")]), Host::Terminal);
        assert_eq!(detect(&[("TF_BUILD", "")]), Host::Terminal);
    }

    #[test]
    fn the_override_wins() {
        assert_eq!(
            detect(&[("GITHUB_ACTIONS", "true"), ("TRAINYARD_HOST", "terminal")]),
            Host::Terminal
        );
        assert_eq!(detect(&[("TRAINYARD_HOST", "Azure")]), Host::AzurePipelines);
        assert_eq!(
            detect(&[("TF_BUILD", "True"), ("TRAINYARD_HOST", "github")]),
            Host::GitHubActions
        );
    }

    #[test]
    fn a_bad_override_is_ignored_by_detect_and_rejected_by_try_detect() {
        let env = Env::from_pairs([("TRAINYARD_HOST", "jenkins"), ("TF_BUILD", "True")]);
        assert_eq!(Host::detect(&env), Host::AzurePipelines);
        let error = Host::try_detect(&env).unwrap_err();
        assert!(error.to_string().contains("jenkins"), "{error}");
        assert_eq!(error.exit_status(), trainyard_core::ExitStatus::Usage);
    }

    #[test]
    fn serializes_as_short_names() {
        assert_eq!(
            serde_json::to_string(&Host::GitHubActions).unwrap(),
            "\"github\""
        );
        assert_eq!(Host::AzurePipelines.to_string(), "azure");
    }
}
