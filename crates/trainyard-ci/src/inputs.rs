//! Inputs: one binary serves a terminal (flags, `TRAINYARD_*`), a GitHub
//! composite action and an Azure DevOps task (`INPUT_*`).

use crate::env::Env;

/// The value of the input `name` (the kebab-case flag name, e.g. `fail-on`):
/// `TRAINYARD_FAIL_ON`, else `INPUT_FAIL_ON`, else `INPUT_FAIL-ON` (the GitHub
/// runner keeps hyphens when it exports the inputs of JavaScript and Docker
/// actions). Surrounding whitespace is trimmed, as `@actions/core`'s
/// `getInput` does; empty counts as unset.
pub fn input(env: &Env, name: &str) -> Option<String> {
    let [trainyard, input] = input_variables(name);
    let github_raw = format!("INPUT_{}", name.replace(' ', "_").to_uppercase());
    [trainyard, input, github_raw]
        .iter()
        .filter_map(|variable| env.get(variable))
        .map(str::trim)
        .find(|value| !value.is_empty())
        .map(str::to_owned)
}

/// The variables [`input`] reads for `name`, in order of precedence:
/// `["TRAINYARD_X", "INPUT_X"]`, where X is `name` uppercased with `-`, `.`
/// and ` ` turned into `_` (the Azure agent's rule for task inputs).
pub fn input_variables(name: &str) -> [String; 2] {
    let key: String = name
        .chars()
        .map(|c| match c {
            '-' | '.' | ' ' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect();
    [format!("TRAINYARD_{key}"), format!("INPUT_{key}")]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_names() {
        assert_eq!(
            input_variables("manifest"),
            ["TRAINYARD_MANIFEST", "INPUT_MANIFEST"]
        );
        assert_eq!(
            input_variables("fail-on"),
            ["TRAINYARD_FAIL_ON", "INPUT_FAIL_ON"]
        );
        assert_eq!(input_variables("a.b c"), ["TRAINYARD_A_B_C", "INPUT_A_B_C"]);
    }

    #[test]
    fn trainyard_wins_over_input() {
        let env = Env::from_pairs([("TRAINYARD_FAIL_ON", "warning"), ("INPUT_FAIL_ON", "error")]);
        assert_eq!(input(&env, "fail-on").as_deref(), Some("warning"));
    }

    #[test]
    fn input_is_the_fallback_and_empty_is_unset() {
        let env = Env::from_pairs([("TRAINYARD_FAIL_ON", ""), ("INPUT_FAIL_ON", " error\n")]);
        assert_eq!(input(&env, "fail-on").as_deref(), Some("error"));
        let env = Env::from_pairs([("INPUT_FAIL_ON", "   ")]);
        assert_eq!(input(&env, "fail-on"), None);
        assert_eq!(input(&Env::default(), "fail-on"), None);
    }

    #[test]
    fn the_github_runner_s_hyphenated_form_is_read_last() {
        let env = Env::from_pairs([("INPUT_FAIL-ON", "notice")]);
        assert_eq!(input(&env, "fail-on").as_deref(), Some("notice"));
        let env = Env::from_pairs([("INPUT_FAIL-ON", "notice"), ("INPUT_FAIL_ON", "error")]);
        assert_eq!(input(&env, "fail-on").as_deref(), Some("error"));
    }
}
