//! Metrics the manifest's rules use must be declared under `model.metrics`,
//! with the direction that says which way is better: a gate's threshold or
//! non-regression rule and an early-stop rule's `patience` (without its own
//! `direction`) otherwise judge a metric nobody said how to read. One
//! function, called by the loader, so every step (`config check` included)
//! refuses the same manifests with the same message.

use crate::diagnostic::ConfigError;

use super::{KeyPath, Manifest, MetricThreshold};

/// A metric a rule uses that `model.metrics` does not declare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UndeclaredMetric {
    /// The rule's key: `gates.prod.metrics`, `gates.prod.non-regression`, `train.early-stop`.
    pub path: KeyPath,
    pub metric: String,
}

impl UndeclaredMetric {
    /// What is wrong, naming the metric and the rule's key.
    pub fn message(&self) -> String {
        format!(
            "`{}` is used by `{}` but not declared under `model.metrics`, so nothing says which way is better",
            self.metric, self.path
        )
    }

    /// What to write (an early-stop rule may say its direction itself).
    pub fn help(&self) -> String {
        let declare = format!(
            "declare it with its direction under `model.metrics`: `{}: {{ direction: maximize }}` (or `minimize`)",
            self.metric
        );
        if self.path.to_string() == "train.early-stop" {
            format!("{declare}, or give the rule a `direction`")
        } else {
            declare
        }
    }
}

/// Every metric a gate (thresholds, `non-regression`) or an early-stop rule
/// with `patience` and no `direction` uses without declaring it under
/// `model.metrics`, in the manifest's order (gates by environment name).
pub fn undeclared_metrics(manifest: &Manifest) -> Vec<UndeclaredMetric> {
    let declared = |metric: &str| {
        manifest
            .model
            .as_ref()
            .is_some_and(|model| model.metrics.contains_key(metric))
    };
    let mut found = Vec::new();
    if let Some(train) = &manifest.train {
        for rule in &train.early_stop {
            if rule.patience.is_some() && rule.direction.is_none() && !declared(&rule.metric) {
                found.push(UndeclaredMetric {
                    path: KeyPath::new(&["train", "early-stop"]),
                    metric: rule.metric.clone(),
                });
            }
        }
    }
    for (environment, policy) in &manifest.gates {
        for rule in &policy.metrics {
            // A rule that does not parse is the loader's `bad-metric-rule`.
            if let Ok(threshold) = MetricThreshold::parse(rule)
                && !declared(&threshold.metric)
            {
                found.push(UndeclaredMetric {
                    path: KeyPath::new(&["gates", environment, "metrics"]),
                    metric: threshold.metric,
                });
            }
        }
        for rule in &policy.non_regression {
            if !declared(&rule.metric) {
                found.push(UndeclaredMetric {
                    path: KeyPath::new(&["gates", environment, "non-regression"]),
                    metric: rule.metric.clone(),
                });
            }
        }
    }
    found
}

/// The first of [`undeclared_metrics`] as a configuration error at its line
/// in `source` (the manifest's text; `file` names it).
pub fn check_declared_metrics(
    manifest: &Manifest,
    source: &str,
    file: &str,
) -> Result<(), ConfigError> {
    match undeclared_metrics(manifest).into_iter().next() {
        None => Ok(()),
        Some(undeclared) => Err(
            ConfigError::new(file, "undeclared-metric", undeclared.message())
                .at_key(source, &undeclared.path)
                .with_help(undeclared.help()),
        ),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The manifest as serde reads it, before the loader's checks (which
    /// include this one: `parse` refuses the first undeclared metric).
    fn manifest(yaml: &str) -> Manifest {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    const HEAD: &str = "version: 1\nproject:\n  name: demo\nenvironments:\n  - name: prod\n";

    #[test]
    fn gate_and_early_stop_metrics_need_a_declared_direction() {
        let source = format!(
            "{HEAD}model:\n  name: m\n  path: m.json\n  metrics:\n    accuracy: {{ direction: maximize }}\n\
             train:\n  command: [x]\n  early-stop:\n    - {{ metric: loss, above: 10 }}\n    - {{ metric: val_loss, patience: 3 }}\n\
             gates:\n  prod:\n    metrics: [\"accuracy >= 0.9\", \"f1 >= 0.8\"]\n    non-regression: [{{ metric: auc }}]\n"
        );
        let manifest = manifest(&source);
        let found: Vec<(String, String)> = undeclared_metrics(&manifest)
            .into_iter()
            .map(|u| (u.path.to_string(), u.metric))
            .collect();
        assert_eq!(
            found,
            [
                ("train.early-stop".to_owned(), "val_loss".to_owned()),
                ("gates.prod.metrics".to_owned(), "f1".to_owned()),
                ("gates.prod.non-regression".to_owned(), "auc".to_owned()),
            ]
        );
        let error = check_declared_metrics(&manifest, &source, "trainyard.yaml").unwrap_err();
        assert_eq!(error.rule, "undeclared-metric");
        assert_eq!(
            super::super::parse(&source, "trainyard.yaml").unwrap_err(),
            error,
            "the loader refuses it the same way"
        );
        assert_eq!(error.span.unwrap().line, 13);
        assert!(error.message.contains("`val_loss`"), "{}", error.message);
        let help = error.help.unwrap();
        assert!(help.contains("val_loss: { direction"), "{help}");
        assert!(help.contains("or give the rule a `direction`"), "{help}");
    }

    #[test]
    fn declared_metrics_and_rules_that_need_no_direction_pass() {
        let source = format!(
            "{HEAD}model:\n  name: m\n  path: m.json\n  metrics:\n    accuracy: {{ direction: maximize }}\n\
             train:\n  command: [x]\n  early-stop:\n    - {{ metric: loss, above: 10 }}\n    - {{ metric: loss, patience: 3, direction: minimize }}\n\
             gates:\n  prod:\n    metrics: [\"accuracy >= 0.9\"]\n    non-regression: [{{ metric: accuracy, tolerance: 0.01 }}]\n"
        );
        assert_eq!(undeclared_metrics(&manifest(&source)), []);
    }
}
