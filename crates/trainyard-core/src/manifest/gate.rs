//! `gates`: what a model must show before it may enter an environment.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What a model must show before it may enter an environment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct GatePolicy {
    /// Metric thresholds, each `NAME OP VALUE` with OP one of `>=`, `>`, `<=`, `<`, e.g. `accuracy >= 0.9`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<String>,
    /// The deployed commit must carry a tag matching this glob, e.g. `v*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_tag: Option<String>,
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
}
