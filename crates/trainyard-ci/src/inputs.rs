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

/// The input that carries the GitHub token (the actions' `github-token`).
pub const GITHUB_TOKEN_INPUT: &str = "github-token";

/// Every environment variable trainyard treats as a credential: the tokens
/// that act on the repository, its checks or the CI itself. The GitHub token
/// in each form [`github_token`] reads it (`TRAINYARD_GITHUB_TOKEN`,
/// `INPUT_GITHUB_TOKEN`, `INPUT_GITHUB-TOKEN`, `GITHUB_TOKEN`), the GitHub
/// CLI's (`GH_TOKEN`, `GH_ENTERPRISE_TOKEN`, `GITHUB_ENTERPRISE_TOKEN`),
/// the CI runners' own (GitHub's runtime and OIDC request tokens, Azure's
/// `System.AccessToken`), and the MLflow tracking server's secrets
/// (`MLFLOW_TRACKING_TOKEN`, `MLFLOW_TRACKING_PASSWORD`): with `tracking.backend:
/// mlflow` trainyard records the run, and the PR's code must not write to the
/// registry whose aliases the gates trust.
///
/// The training command is the project's code (on a pull request, its
/// author's): whatever runs it strips every variable [`is_credential`] names
/// from its environment. This is the one list; nothing else names credentials.
/// Cloud credentials the workflow sets for data and model storage
/// (`AWS_*`, `AZURE_*`, `GOOGLE_APPLICATION_CREDENTIALS`) are not on it: training reads its data with them. The workflow decides
/// which jobs get them (docs/security.md).
pub const CREDENTIAL_VARIABLES: &[&str] = &[
    "TRAINYARD_GITHUB_TOKEN",
    "INPUT_GITHUB_TOKEN",
    "INPUT_GITHUB-TOKEN",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "GH_ENTERPRISE_TOKEN",
    "GITHUB_ENTERPRISE_TOKEN",
    "ACTIONS_RUNTIME_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "SYSTEM_ACCESSTOKEN",
    "MLFLOW_TRACKING_TOKEN",
    "MLFLOW_TRACKING_PASSWORD",
];

/// Whether the variable `name` is one of [`CREDENTIAL_VARIABLES`] in any
/// spelling a runner exports it: any case, `-` or `.` for `_`
/// (`INPUT_GITHUB-TOKEN`, `input_github_token`, `System.AccessToken`).
pub fn is_credential(name: &str) -> bool {
    let normal = |name: &str| -> String {
        name.chars()
            .map(|c| match c {
                '-' | '.' => '_',
                c => c.to_ascii_uppercase(),
            })
            .collect()
    };
    let name = normal(name);
    CREDENTIAL_VARIABLES
        .iter()
        .any(|credential| normal(credential) == name)
}

/// The GitHub token: the `github-token` input (`TRAINYARD_GITHUB_TOKEN`,
/// `INPUT_GITHUB_TOKEN`, `INPUT_GITHUB-TOKEN`), else the runner's
/// `GITHUB_TOKEN`; trimmed, and blank counts as unset. Every variable it reads
/// is one of [`CREDENTIAL_VARIABLES`].
pub fn github_token(env: &Env) -> Option<String> {
    input(env, GITHUB_TOKEN_INPUT).or_else(|| {
        env.get("GITHUB_TOKEN")
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
    })
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
    fn the_token_comes_from_trainyard_then_the_input_then_github_token() {
        let env = Env::from_pairs([("GITHUB_TOKEN", "a"), ("INPUT_GITHUB-TOKEN", "b")]);
        assert_eq!(github_token(&env).as_deref(), Some("b"));
        let env = Env::from_pairs([("GITHUB_TOKEN", "a"), ("INPUT_GITHUB-TOKEN", " ")]);
        assert_eq!(github_token(&env).as_deref(), Some("a"));
        let env = Env::from_pairs([("TRAINYARD_GITHUB_TOKEN", "t"), ("INPUT_GITHUB_TOKEN", "i")]);
        assert_eq!(github_token(&env).as_deref(), Some("t"));
        assert_eq!(
            github_token(&Env::from_pairs([("GITHUB_TOKEN", "  ")])),
            None
        );
        assert_eq!(github_token(&Env::default()), None);
    }

    #[test]
    fn every_variable_the_token_is_read_from_is_a_credential() {
        let [trainyard, input] = input_variables(GITHUB_TOKEN_INPUT);
        for variable in [&*trainyard, &*input, "INPUT_GITHUB-TOKEN", "GITHUB_TOKEN"] {
            let env = Env::from_pairs([(variable, "ghs_x")]);
            assert_eq!(github_token(&env).as_deref(), Some("ghs_x"), "{variable}");
            assert!(CREDENTIAL_VARIABLES.contains(&variable), "{variable}");
        }
    }

    #[test]
    fn every_spelling_of_a_credential_is_one() {
        for name in [
            "INPUT_GITHUB-TOKEN",
            "input_github-token",
            "INPUT_GITHUB_TOKEN",
            "GH_TOKEN",
            "System.AccessToken",
            "SYSTEM_ACCESSTOKEN",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        ] {
            assert!(is_credential(name), "{name}");
        }
        for name in [
            "PATH",
            "HOME",
            "AWS_ACCESS_KEY_ID",
            "GITHUB_SHA",
            "INPUT_MANIFEST",
        ] {
            assert!(!is_credential(name), "{name}");
        }
    }

    #[test]
    fn the_github_runner_s_hyphenated_form_is_read_last() {
        let env = Env::from_pairs([("INPUT_FAIL-ON", "notice")]);
        assert_eq!(input(&env, "fail-on").as_deref(), Some("notice"));
        let env = Env::from_pairs([("INPUT_FAIL-ON", "notice"), ("INPUT_FAIL_ON", "error")]);
        assert_eq!(input(&env, "fail-on").as_deref(), Some("error"));
    }
}
