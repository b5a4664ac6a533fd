//! A snapshot of environment variables, injectable so that tests never read
//! (or depend on) the real process environment.

use std::collections::BTreeMap;

/// Environment variables captured once. An empty value counts as unset, as
/// both GitHub Actions and Azure Pipelines set unused inputs to "".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl Env {
    /// The current process's environment. Variables whose name or value is not
    /// valid Unicode are left out.
    pub fn from_process() -> Self {
        Self {
            vars: std::env::vars_os()
                .filter_map(|(name, value)| {
                    Some((name.into_string().ok()?, value.into_string().ok()?))
                })
                .collect(),
        }
    }

    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Self {
            vars: pairs
                .into_iter()
                .map(|(name, value)| (name.into(), value.into()))
                .collect(),
        }
    }

    /// The value of `name`; `None` when unset or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|value| !value.is_empty())
    }

    /// Whether `name` is set to `true`, ignoring ASCII case (`TF_BUILD=True`).
    pub fn is_true(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|value| value.eq_ignore_ascii_case("true"))
    }

    /// Sets (or replaces) a variable; for tests and for building an Env by hand.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.vars.insert(name.into(), value.into());
    }

    /// Removes a variable.
    pub fn remove(&mut self, name: &str) {
        self.vars.remove(name);
    }

    /// Every variable, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_count_as_unset() {
        let env = Env::from_pairs([("A", "1"), ("B", "")]);
        assert_eq!(env.get("A"), Some("1"));
        assert_eq!(env.get("B"), None);
        assert_eq!(env.get("C"), None);
    }

    #[test]
    fn is_true_ignores_case() {
        let env = Env::from_pairs([("TF_BUILD", "True"), ("X", "yes")]);
        assert!(env.is_true("TF_BUILD"));
        assert!(!env.is_true("X"));
        assert!(!env.is_true("MISSING"));
    }

    #[test]
    fn set_and_remove() {
        let mut env = Env::default();
        env.set("A", "1");
        assert_eq!(env.get("A"), Some("1"));
        env.remove("A");
        assert_eq!(env.get("A"), None);
        assert_eq!(env.iter().count(), 0);
    }

    #[test]
    fn from_process_sees_the_process_environment() {
        // PATH is set for every cargo test run; this only checks the plumbing.
        let env = Env::from_process();
        assert_eq!(
            env.get("PATH").map(str::to_owned),
            std::env::var("PATH").ok().filter(|p| !p.is_empty())
        );
    }
}
