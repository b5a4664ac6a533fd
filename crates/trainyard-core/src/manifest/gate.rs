//! `gates`: what a model must show before it may enter an environment.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What a model must show before it may enter an environment. Every rule that is
/// set must pass; an empty policy lets any registered model through.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct GatePolicy {
    /// Metric thresholds, each `NAME OP VALUE` with OP one of `>=`, `>`, `<=`, `<`, e.g. `accuracy >= 0.9`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<String>,
    /// The deployed commit must carry a tag matching this glob, e.g. `v*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_tag: Option<String>,
    /// The matching tag must be an annotated tag whose signature `git verify-tag` accepts
    /// (GPG or SSH, with the keys the CI machine trusts).
    #[serde(default, skip_serializing_if = "is_false")]
    pub require_signed_tag: bool,
    /// Test reports (JUnit XML) that must exist and hold no failures or errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests: Option<TestsRule>,
    /// The candidate may not be worse than the current champion by more than a tolerance;
    /// "worse" follows the metric's `direction` under `model.metrics`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub non_regression: Vec<NonRegression>,
    /// Bounds on the largest difference of a metric across the groups of a column.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fairness: Vec<FairnessRule>,
    /// Largest model artifact the environment can serve, e.g. `50 MB`, `1.5 GiB` or bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_artifact_size: Option<ByteSize>,
    /// A latency budget, checked against a latency the run measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencyBudget>,
    /// Tags the model version must carry, e.g. `compliance: approved`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub model_tags: BTreeMap<String, String>,
    /// Data checks the run's datasets must have passed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub require_data: Vec<DataCheck>,
    /// Check runs or commit statuses (by name or context, e.g. `unit-tests`, `ci/jenkins`)
    /// that must have succeeded on the commit the model was trained from. Read from GitHub
    /// with the job's token (`GITHUB_TOKEN`, `checks: read` and `statuses: read`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<String>,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_false(value: &bool) -> bool {
    !*value
}

/// JUnit XML reports that must be present and green.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TestsRule {
    /// Globs relative to the manifest, e.g. `reports/junit-*.xml`; at least one file must match.
    pub junit: Vec<String>,
    /// Fewest test cases the reports must hold together (guards against an empty test run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_count: Option<u64>,
}

/// One metric compared with the champion's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NonRegression {
    /// A metric declared under `model.metrics` (its direction says which way is worse).
    pub metric: String,
    /// How much worse than the champion is still accepted, in the metric's units.
    #[serde(default)]
    #[schemars(range(min = 0.0))]
    pub tolerance: f64,
}

/// A fairness bound over a per-group metrics file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FairnessRule {
    /// The per-group metrics file: an artifact of the run with this path, or else a file
    /// relative to the manifest. JSON shaped `{COLUMN: {GROUP: {METRIC: VALUE}}}`.
    pub file: String,
    /// The column whose groups are compared, e.g. `sex`.
    pub column: String,
    pub metric: String,
    /// The largest accepted difference between the best and the worst group.
    #[schemars(range(min = 0.0))]
    pub max_gap: f64,
}

/// A latency budget: the run must have measured a latency, and it must be under the budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LatencyBudget {
    /// Milliseconds.
    #[schemars(range(min = 0.0))]
    pub max_ms: f64,
    /// The run metric that holds the measured latency in milliseconds.
    #[serde(default = "default_latency_metric")]
    pub metric: String,
}

fn default_latency_metric() -> String {
    "latency_ms".to_owned()
}

/// A data check a run's datasets must have passed.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum DataCheck {
    /// `trainyard data validate`: schema and checks.
    Validation,
    /// `trainyard data drift`: no column drifted from the reference.
    Drift,
}

impl DataCheck {
    pub fn name(self) -> &'static str {
        match self {
            Self::Validation => "validation",
            Self::Drift => "drift",
        }
    }
}

/// A size in bytes, written as a number of bytes or with a unit: `500 kB`, `50MB`, `1.5 GiB`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// Parses `50MB`, `50 MB`, `1.5 GiB`, `1024`; decimal (kB, MB, GB) and binary (KiB, MiB, GiB) units.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let number: f64 = number
            .parse()
            .ok()
            .filter(|value: &f64| value.is_finite())
            .ok_or_else(|| {
                format!(
                    "`{text}` is not a size; write e.g. `50 MB`, `1.5 GiB` or a number of bytes"
                )
            })?;
        let multiplier: u64 = match unit.trim() {
            "" | "B" => 1,
            "kB" | "KB" | "k" => 1_000,
            "MB" | "M" => 1_000_000,
            "GB" | "G" => 1_000_000_000,
            "KiB" => 1 << 10,
            "MiB" => 1 << 20,
            "GiB" => 1 << 30,
            other => {
                return Err(format!(
                    "`{other}` is not a size unit; use B, kB, MB, GB, KiB, MiB or GiB"
                ));
            }
        };
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let bytes = (number * multiplier as f64).round() as u64;
        Ok(Self(bytes))
    }

    pub fn bytes(self) -> u64 {
        self.0
    }
}

impl std::fmt::Display for ByteSize {
    /// The largest decimal unit that keeps the number at least 1, e.g. `52.4 MB`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const UNITS: [(&str, u64); 3] = [("GB", 1_000_000_000), ("MB", 1_000_000), ("kB", 1_000)];
        for (unit, size) in UNITS {
            if self.0 >= size {
                #[allow(clippy::cast_precision_loss)]
                let value = self.0 as f64 / size as f64;
                return write!(f, "{} {unit}", trim_number(value));
            }
        }
        write!(f, "{} B", self.0)
    }
}

fn trim_number(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

impl Serialize for ByteSize {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Bytes(u64),
            Text(String),
        }
        match Written::deserialize(deserializer)? {
            Written::Bytes(bytes) => Ok(Self(bytes)),
            Written::Text(text) => Self::parse(&text).map_err(serde::de::Error::custom),
        }
    }
}

impl JsonSchema for ByteSize {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ByteSize".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Bytes, or a number with a unit: `50 MB`, `1.5 GiB`.",
            "anyOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": "^\\s*[0-9]+(\\.[0-9]+)?\\s*(B|kB|KB|k|MB|M|GB|G|KiB|MiB|GiB)?\\s*$"}
            ]
        })
    }
}

/// A parsed gate metric rule such as `accuracy >= 0.9`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricThreshold {
    pub metric: String,
    pub comparison: Comparison,
    pub value: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    AtLeast,
    Above,
    AtMost,
    Below,
}

impl Comparison {
    pub fn holds(self, observed: f64, required: f64) -> bool {
        match self {
            Self::AtLeast => observed >= required,
            Self::Above => observed > required,
            Self::AtMost => observed <= required,
            Self::Below => observed < required,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Self::AtLeast => ">=",
            Self::Above => ">",
            Self::AtMost => "<=",
            Self::Below => "<",
        }
    }
}

impl MetricThreshold {
    /// Parses `NAME OP VALUE`; the error says what is wrong in words.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = text.split_whitespace();
        let (Some(metric), Some(op), Some(value), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("expected `NAME OP VALUE`, e.g. `accuracy >= 0.9`".to_owned());
        };
        let comparison = match op {
            ">=" => Comparison::AtLeast,
            ">" => Comparison::Above,
            "<=" => Comparison::AtMost,
            "<" => Comparison::Below,
            other => {
                return Err(format!(
                    "`{other}` is not a comparison; use one of >=, >, <=, <"
                ));
            }
        };
        let value: f64 = value
            .parse()
            .ok()
            .filter(|value: &f64| value.is_finite())
            .ok_or_else(|| format!("`{value}` is not a number"))?;
        Ok(Self {
            metric: metric.to_owned(),
            comparison,
            value,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_thresholds_parse_and_hold() {
        let rule = MetricThreshold::parse("accuracy >= 0.9").unwrap();
        assert_eq!(rule.metric, "accuracy");
        assert!(rule.comparison.holds(0.9, rule.value));
        assert!(!rule.comparison.holds(0.89, rule.value));
        assert!(
            MetricThreshold::parse("accuracy => 0.9")
                .unwrap_err()
                .contains("`=>`")
        );
        assert!(
            MetricThreshold::parse("accuracy >= high")
                .unwrap_err()
                .contains("`high`")
        );
        assert!(MetricThreshold::parse("accuracy").is_err());
    }

    #[test]
    fn sizes_parse_with_and_without_units() {
        assert_eq!(ByteSize::parse("1024").unwrap().bytes(), 1024);
        assert_eq!(ByteSize::parse("50MB").unwrap().bytes(), 50_000_000);
        assert_eq!(ByteSize::parse("1.5 GiB").unwrap().bytes(), 1_610_612_736);
        assert_eq!(ByteSize::parse("2 kB").unwrap().to_string(), "2 kB");
        assert_eq!(ByteSize(52_400_000).to_string(), "52.4 MB");
        assert!(
            ByteSize::parse("50 parsecs")
                .unwrap_err()
                .contains("`parsecs`")
        );
        assert!(ByteSize::parse("big").unwrap_err().contains("`big`"));
    }

    #[test]
    fn a_full_policy_reads_from_yaml() {
        let policy: GatePolicy = serde_yaml_ng::from_str(
            "metrics: [\"accuracy >= 0.9\"]\nrequire-tag: \"v*\"\nrequire-signed-tag: true\n\
             tests: { junit: [\"reports/*.xml\"], min-count: 10 }\n\
             non-regression: [{ metric: accuracy, tolerance: 0.01 }]\n\
             fairness: [{ file: groups.json, column: sex, metric: accuracy, max-gap: 0.05 }]\n\
             max-artifact-size: 50 MB\nlatency: { max-ms: 20 }\n\
             model-tags: { compliance: approved }\nrequire-data: [validation, drift]\n",
        )
        .unwrap();
        assert_eq!(policy.max_artifact_size, Some(ByteSize(50_000_000)));
        assert_eq!(policy.latency.unwrap().metric, "latency_ms");
        assert_eq!(
            policy.require_data,
            vec![DataCheck::Validation, DataCheck::Drift]
        );
        assert!(
            serde_yaml_ng::from_str::<GatePolicy>("max-artifact-size: 5 parsecs\n")
                .unwrap_err()
                .to_string()
                .contains("parsecs")
        );
    }
}
