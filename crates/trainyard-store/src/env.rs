//! The environment a store reads its credentials and endpoints from: the
//! process's by default, or a map (tests, and callers that must not mutate
//! the process environment while other threads run).

use std::collections::BTreeMap;
use std::fmt;

/// A snapshot of environment variables.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl Env {
    /// The process's environment now (variables that are not UTF-8 are skipped).
    pub fn process() -> Self {
        Self {
            vars: std::env::vars_os()
                .filter_map(|(key, value)| {
                    Some((key.into_string().ok()?, value.into_string().ok()?))
                })
                .collect(),
        }
    }

    /// No variables at all.
    pub fn empty() -> Self {
        Self::default()
    }

    /// This environment with `key` set to `value`.
    #[must_use]
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.vars.insert(key.into(), value.into());
        self
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .get(key)
            .map(String::as_str)
            .filter(|value| !value.is_empty())
    }

    /// Whether `key` is set to a true value (`1`, `true`, `yes`, `on`).
    pub fn flag(&self, key: &str) -> bool {
        self.get(key).is_some_and(|value| {
            matches!(
                value.to_ascii_lowercase().as_str(),
                "1" | "true" | "yes" | "on"
            )
        })
    }

    /// Every variable whose name starts with `prefix`.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.vars
            .range(prefix.to_owned()..)
            .take_while(move |(key, _)| key.starts_with(prefix))
            .map(|(key, value)| (key.as_str(), value.as_str()))
    }
}

impl fmt::Debug for Env {
    /// Names only: values are credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.vars.keys()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_flags_and_debug_without_values() {
        let env = Env::empty()
            .with("AWS_REGION", "eu-west-1")
            .with("AWS_ALLOW_HTTP", "TRUE")
            .with("AZURE_X", "secret")
            .with("B", "");
        let aws: Vec<_> = env.with_prefix("AWS_").map(|(key, _)| key).collect();
        assert_eq!(aws, ["AWS_ALLOW_HTTP", "AWS_REGION"]);
        assert!(env.flag("AWS_ALLOW_HTTP"));
        assert!(!env.flag("B"));
        assert_eq!(env.get("B"), None);
        assert!(!format!("{env:?}").contains("secret"));
    }
}
