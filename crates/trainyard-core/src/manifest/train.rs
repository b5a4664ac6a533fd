//! `train`, `model` and `tracking`: what trains, what it produces, where runs are recorded.

use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The project's own training command; trainyard runs it, it does not train.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Train {
    /// The command line, run without a shell. Placeholders like `{{ datasets.train.path }}`
    /// and `{{ output_dir }}` are filled in per run.
    pub command: Vec<String>,
    /// Where the command writes its metrics (JSON, YAML or CSV), relative to the output folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_file: Option<String>,
    /// Parameters passed to the command as `TRAINYARD_PARAM_<NAME>` and placeholders.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, serde_json::Value>,
    /// Longest a run may take, e.g. `30m`, `2h`, `1h30m`; the process tree is killed after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// The seed passed as `{{ seed }}` and `TRAINYARD_SEED`; recorded with the run.
    #[serde(default)]
    pub seed: u64,
    /// Rules that end a run whose streamed metric shows it does not converge.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub early_stop: Vec<EarlyStop>,
}

/// Early-stop rules on one metric the command streams with
/// `trainyard:metric <name>=<value> step=<n>`. Any rule that fires ends the
/// process tree; the run is recorded as stopped with the reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EarlyStop {
    /// The streamed metric, e.g. `loss`.
    pub metric: String,
    /// Stop when the metric becomes NaN or infinite.
    #[serde(default = "yes")]
    pub non_finite: bool,
    /// Diverged: stop when the metric goes above this bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub above: Option<f64>,
    /// Diverged: stop when the metric goes below this bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below: Option<f64>,
    /// Stop after this many values in a row without an improvement of `min-delta`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub patience: Option<u64>,
    /// The least change that counts as an improvement, for `patience`.
    #[serde(default, skip_serializing_if = "is_zero")]
    #[schemars(range(min = 0.0))]
    pub min_delta: f64,
    /// Which way is better for `patience`; by default the metric's direction
    /// under `model.metrics` (a `patience` rule on a metric declared there
    /// with no direction of its own is refused when the manifest is loaded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
}

fn yes() -> bool {
    true
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(value: &f64) -> bool {
    *value == 0.0
}

/// A rule of `train` that its types cannot express was broken: the key path
/// under `train`, a rule id, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainRuleError {
    pub path: Vec<String>,
    pub rule: &'static str,
    pub message: String,
}

impl Train {
    /// The timeout, parsed.
    pub fn timeout_duration(&self) -> Result<Option<Duration>, String> {
        self.timeout.as_deref().map(parse_duration).transpose()
    }

    /// Checks values and ranges (called by the manifest loader).
    pub fn check(&self) -> Result<(), TrainRuleError> {
        let fail = |path: &[&str], rule: &'static str, message: String| TrainRuleError {
            path: path.iter().map(|part| (*part).to_owned()).collect(),
            rule,
            message,
        };
        if self.command.is_empty() {
            return Err(fail(
                &["train", "command"],
                "empty-command",
                "the training command is empty".to_owned(),
            ));
        }
        if let Err(why) = self.timeout_duration() {
            return Err(fail(&["train", "timeout"], "bad-timeout", why));
        }
        for rule in &self.early_stop {
            let path = ["train", "early-stop"];
            if rule.metric.trim().is_empty() {
                return Err(fail(
                    &path,
                    "bad-early-stop",
                    "an early-stop rule names no `metric`".to_owned(),
                ));
            }
            if rule.patience == Some(0) {
                return Err(fail(
                    &path,
                    "bad-early-stop",
                    format!("`patience` of `{}` must be at least 1", rule.metric),
                ));
            }
            if !(rule.min_delta >= 0.0 && rule.min_delta.is_finite()) {
                return Err(fail(
                    &path,
                    "bad-early-stop",
                    format!(
                        "`min-delta` of `{}` must be zero or more, found {}",
                        rule.metric, rule.min_delta
                    ),
                ));
            }
            if let (Some(above), Some(below)) = (rule.above, rule.below)
                && below >= above
            {
                return Err(fail(
                    &path,
                    "bad-early-stop",
                    format!(
                        "`below` ({below}) of `{}` must be less than `above` ({above})",
                        rule.metric
                    ),
                ));
            }
            if !rule.non_finite
                && rule.above.is_none()
                && rule.below.is_none()
                && rule.patience.is_none()
            {
                return Err(fail(
                    &path,
                    "bad-early-stop",
                    format!(
                        "the rule on `{}` stops nothing: give `above`, `below` or `patience`, or leave `non-finite` on",
                        rule.metric
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Parses a duration as people write it: `<number><unit>` groups with units
/// `ms`, `s`, `m`, `h`, `d`, e.g. `90s`, `30m`, `1h30m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let hint = "write e.g. `30m`, `2h` or `1h30m`";
    if text.is_empty() {
        return Err(format!("the duration is empty; {hint}"));
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return Err(format!("`{text}` is not a duration; {hint}"));
        }
        let (number, tail) = rest.split_at(digits);
        let number: u64 = number
            .parse()
            .map_err(|_| format!("`{text}`: {number} is too large"))?;
        let unit_len = tail.len()
            - tail
                .trim_start_matches(|c: char| c.is_ascii_alphabetic())
                .len();
        let (unit, tail) = tail.split_at(unit_len);
        let part = match unit {
            "ms" => Duration::from_millis(number),
            "s" => Duration::from_secs(number),
            "m" => Duration::from_secs(number.saturating_mul(60)),
            "h" => Duration::from_secs(number.saturating_mul(3600)),
            "d" => Duration::from_secs(number.saturating_mul(86_400)),
            "" if tail.is_empty() => {
                return Err(format!(
                    "`{text}` needs a unit after {number}: ms, s, m, h or d"
                ));
            }
            "" => return Err(format!("`{text}` is not a duration; {hint}")),
            other => {
                return Err(format!(
                    "`{text}`: unknown unit `{other}`; use ms, s, m, h or d"
                ));
            }
        };
        total = total.saturating_add(part);
        rest = tail;
    }
    if total.is_zero() {
        return Err(format!("`{text}` is zero; give a longer duration"));
    }
    Ok(total)
}

/// The model the training produces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Model {
    /// The registered model's name (it names store keys and folders).
    #[schemars(regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"))]
    pub name: String,
    /// The model file(s) the command writes, relative to the output folder.
    pub path: String,
    /// Metrics and which way is better, by metric name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metrics: BTreeMap<String, MetricSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MetricSpec {
    pub direction: Direction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    Maximize,
    Minimize,
}

/// Where runs, model versions and aliases are recorded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Tracking {
    #[serde(default)]
    pub backend: TrackingBackend,
    /// The MLflow tracking URI, for `backend: mlflow`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TrackingBackend {
    /// Runs recorded in this repository under `refs/trainyard/`; nothing to host.
    #[default]
    Git,
    /// Runs, versions, aliases and tags on the MLflow tracking server `uri`
    /// names (`http(s)://…`, or an Azure ML workspace's `azureml://…`); every
    /// alias move and deployment also stays in git.
    Mlflow,
}

/// What `tracking.uri` may be, for the error's help.
pub const TRACKING_URI_RULE: &str = "write the MLflow tracking server's address, \
    `http(s)://host[:port][/path]`, or an Azure ML workspace's MLflow tracking URI \
    (`azureml://<region>.api.azureml.ms/mlflow/v1.0/subscriptions/<id>/resourceGroups/<group>/\
    providers/Microsoft.MachineLearningServices/workspaces/<workspace>`); credentials go in \
    MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD, never in the URI";

/// The REST endpoint (the base that `/api/2.0/mlflow/…` follows) of the MLflow
/// tracking URI `uri`: an `http(s)://` address as written (without a
/// trailing `/`); an Azure ML workspace's `azureml://<host>/mlflow/v1.0/…`
/// as `https://<host>/mlflow/v1.0/…`, as the `azureml-mlflow` plugin does.
/// A credential or a query in the URI is refused (it would be logged).
pub fn mlflow_endpoint(uri: &str) -> Result<String, String> {
    let uri = uri.trim();
    let Some((scheme, rest)) = uri.split_once("://") else {
        return Err(
            "it is not a URL: trainyard talks to an MLflow tracking server over its REST API"
                .to_owned(),
        );
    };
    let scheme = scheme.to_ascii_lowercase();
    if rest.contains(['?', '#']) {
        return Err("a query or fragment in the tracking URI is not supported (it may hold a secret that would be logged)".to_owned());
    }
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    if authority.contains('@') {
        return Err("the tracking URI holds a credential (`user:password@`)".to_owned());
    }
    if authority.is_empty() || authority.starts_with(':') {
        return Err(format!("`{scheme}://` names no host"));
    }
    let path = path.trim_end_matches('/');
    match scheme.as_str() {
        "http" | "https" => Ok(if path.is_empty() {
            format!("{scheme}://{authority}")
        } else {
            format!("{scheme}://{authority}/{path}")
        }),
        "azureml" => {
            let segments: Vec<&str> = path.split('/').collect();
            let workspace_path = segments.len() == 10
                && segments[0] == "mlflow"
                && segments[1].starts_with('v')
                && segments[2].eq_ignore_ascii_case("subscriptions")
                && segments[4].eq_ignore_ascii_case("resourceGroups")
                && segments[6].eq_ignore_ascii_case("providers")
                && segments[8].eq_ignore_ascii_case("workspaces")
                && segments.iter().all(|segment| !segment.is_empty());
            if !workspace_path {
                return Err(format!(
                    "`{uri}` is not an Azure ML workspace's MLflow tracking URI \
                     (`az ml workspace show --query mlflow_tracking_uri` prints it)"
                ));
            }
            Ok(format!("https://{authority}/{path}"))
        }
        other => Err(format!(
            "`{other}://` is not an MLflow tracking server trainyard can reach: it speaks MLflow's REST API over http(s)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mlflow_tracking_uris_resolve_to_their_rest_endpoint() {
        assert_eq!(
            mlflow_endpoint("http://127.0.0.1:5000/").as_deref(),
            Ok("http://127.0.0.1:5000")
        );
        assert_eq!(
            mlflow_endpoint("https://mlflow.example.com/tracking").as_deref(),
            Ok("https://mlflow.example.com/tracking")
        );
        let workspace = "westeurope.api.azureml.ms/mlflow/v1.0/subscriptions/0000-11/resourceGroups/rg-ml/providers/Microsoft.MachineLearningServices/workspaces/ws-prod";
        assert_eq!(
            mlflow_endpoint(&format!("azureml://{workspace}")),
            Ok(format!("https://{workspace}"))
        );
        // Not a workspace: the Azure CLI command that prints the right one.
        let error = mlflow_endpoint("azureml://westeurope.api.azureml.ms/mlflow/v1.0").unwrap_err();
        assert!(error.contains("mlflow_tracking_uri"), "{error}");
        // A credential in the URI would be logged: refused, and not echoed.
        let error = mlflow_endpoint("https://me:s3cret@mlflow.example.com").unwrap_err();
        assert!(!error.contains("s3cret"), "{error}");
        assert!(mlflow_endpoint("https://mlflow.example.com/?token=x").is_err());
        assert!(mlflow_endpoint("databricks://profile").is_err());
        assert!(mlflow_endpoint("./mlruns").is_err());
        assert!(mlflow_endpoint("http://").is_err());
    }

    #[test]
    fn durations_read_units_and_compounds() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_mins(10)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_mins(90)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("10").unwrap_err().contains("needs a unit"));
        assert!(parse_duration("ten minutes").is_err());
        assert!(
            parse_duration("10 minutes")
                .unwrap_err()
                .contains("is not a duration")
        );
        assert!(parse_duration("5y").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("0s").is_err());
    }

    fn train(yaml: &str) -> Train {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    #[test]
    fn early_stop_rules_are_checked() {
        let ok = train(
            "command: [x]\nearly-stop:\n  - { metric: loss, above: 10, patience: 5, min-delta: 0.01 }\n",
        );
        assert_eq!(ok.check(), Ok(()));
        assert!(ok.early_stop[0].non_finite);
        let zero = train("command: [x]\nearly-stop: [{ metric: loss, patience: 0 }]\n");
        assert!(zero.check().unwrap_err().message.contains("at least 1"));
        let nothing = train("command: [x]\nearly-stop: [{ metric: loss, non-finite: false }]\n");
        assert!(
            nothing
                .check()
                .unwrap_err()
                .message
                .contains("stops nothing")
        );
        let timeout = train("command: [x]\ntimeout: soon\n");
        assert_eq!(timeout.check().unwrap_err().rule, "bad-timeout");
    }
}
