//! Early stop of a model that does not converge: rules on a streamed metric,
//! checked on every value the command reports.
//!
//! - non-finite: NaN or ±infinity stops at once;
//! - divergence: a value above `above` (or below `below`) stops at once;
//! - patience: no improvement of at least `min_delta` over the best value so
//!   far (in the metric's direction) for `patience` values in a row stops.
//!   That is convergence, not failure ([`StopReason::is_convergence`]): the
//!   run succeeds with the model the command last wrote.

use std::fmt;

use serde::Serialize;

/// One metric's rules.
#[derive(Debug, Clone, PartialEq)]
pub struct EarlyStopRule {
    pub metric: String,
    /// Stop on NaN or infinity.
    pub non_finite: bool,
    pub above: Option<f64>,
    pub below: Option<f64>,
    /// Values in a row without an improvement of `min_delta` before stopping.
    pub patience: Option<u64>,
    pub min_delta: f64,
    /// Smaller is better (a loss); otherwise larger is better.
    pub minimize: bool,
}

impl EarlyStopRule {
    /// Only the NaN/infinity rule, minimizing.
    pub fn new(metric: impl Into<String>) -> Self {
        Self {
            metric: metric.into(),
            non_finite: true,
            above: None,
            below: None,
            patience: None,
            min_delta: 0.0,
            minimize: true,
        }
    }
}

/// Why a run was stopped early.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct StopReason {
    pub metric: String,
    pub step: u64,
    pub value: f64,
    pub rule: StopRule,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum StopRule {
    NonFinite,
    Above {
        bound: f64,
    },
    Below {
        bound: f64,
    },
    NoImprovement {
        patience: u64,
        min_delta: f64,
        best: f64,
        best_step: u64,
    },
}

impl StopReason {
    /// Whether the run stopped because it converged (no improvement for
    /// `patience` values), not because it diverged or went NaN.
    pub fn is_convergence(&self) -> bool {
        matches!(self.rule, StopRule::NoImprovement { .. })
    }
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            metric,
            step,
            value,
            ..
        } = self;
        match &self.rule {
            StopRule::NonFinite => write!(f, "`{metric}` became {value} at step {step}"),
            StopRule::Above { bound } => write!(
                f,
                "`{metric}` diverged: {value} at step {step} is above the bound {bound}"
            ),
            StopRule::Below { bound } => write!(
                f,
                "`{metric}` diverged: {value} at step {step} is below the bound {bound}"
            ),
            StopRule::NoImprovement {
                patience,
                min_delta,
                best,
                best_step,
            } => write!(
                f,
                "`{metric}` did not improve by {min_delta} or more for {patience} steps: best {best} at step {best_step}, now {value} at step {step}"
            ),
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Progress {
    best: Option<(f64, u64)>,
    since_best: u64,
}

/// Applies rules to values as they arrive.
#[derive(Debug, Clone, Default)]
pub struct EarlyStopper {
    rules: Vec<EarlyStopRule>,
    progress: Vec<Progress>,
}

impl EarlyStopper {
    pub fn new(rules: Vec<EarlyStopRule>) -> Self {
        let progress = vec![Progress::default(); rules.len()];
        Self { rules, progress }
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Checks one value; the first rule that fires says why to stop.
    pub fn observe(&mut self, metric: &str, step: u64, value: f64) -> Option<StopReason> {
        for (rule, progress) in self.rules.iter().zip(&mut self.progress) {
            if rule.metric != metric {
                continue;
            }
            if let Some(rule) = check(rule, progress, step, value) {
                return Some(StopReason {
                    metric: metric.to_owned(),
                    step,
                    value,
                    rule,
                });
            }
        }
        None
    }
}

fn check(rule: &EarlyStopRule, progress: &mut Progress, step: u64, value: f64) -> Option<StopRule> {
    if !value.is_finite() {
        // A NaN is never an improvement and never within bounds.
        return rule.non_finite.then_some(StopRule::NonFinite);
    }
    if let Some(bound) = rule.above
        && value > bound
    {
        return Some(StopRule::Above { bound });
    }
    if let Some(bound) = rule.below
        && value < bound
    {
        return Some(StopRule::Below { bound });
    }
    let patience = rule.patience?;
    let improved = match progress.best {
        None => true,
        Some((best, _)) if rule.minimize => value < best - rule.min_delta,
        Some((best, _)) => value > best + rule.min_delta,
    };
    if improved {
        progress.best = Some((value, step));
        progress.since_best = 0;
        return None;
    }
    progress.since_best += 1;
    let (best, best_step) = progress.best?;
    (progress.since_best >= patience).then_some(StopRule::NoImprovement {
        patience,
        min_delta: rule.min_delta,
        best,
        best_step,
    })
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // parsed values compared exactly on purpose
mod tests {
    use super::*;

    fn feed(rule: EarlyStopRule, values: &[f64]) -> Option<StopReason> {
        let mut stopper = EarlyStopper::new(vec![rule]);
        values
            .iter()
            .zip(1..)
            .find_map(|(value, step)| stopper.observe("loss", step, *value))
    }

    #[test]
    fn nan_and_infinity_stop_at_once() {
        let reason = feed(EarlyStopRule::new("loss"), &[1.0, 0.9, f64::NAN, 0.5]).unwrap();
        assert_eq!((reason.step, &reason.rule), (3, &StopRule::NonFinite));
        assert!(reason.to_string().contains("became NaN at step 3"));
        let reason = feed(EarlyStopRule::new("loss"), &[1.0, f64::INFINITY]).unwrap();
        assert_eq!(reason.step, 2);
        let off = EarlyStopRule {
            non_finite: false,
            ..EarlyStopRule::new("loss")
        };
        assert_eq!(feed(off, &[1.0, f64::NAN]), None);
    }

    #[test]
    fn divergence_above_a_bound_stops() {
        let rule = EarlyStopRule {
            above: Some(10.0),
            ..EarlyStopRule::new("loss")
        };
        let reason = feed(rule, &[1.0, 4.0, 10.0, 12.5]).unwrap();
        assert_eq!(reason.step, 4);
        assert!(matches!(reason.rule, StopRule::Above { .. }), "{reason:?}");
        assert_eq!(
            reason.to_string(),
            "`loss` diverged: 12.5 at step 4 is above the bound 10"
        );
    }

    #[test]
    fn patience_counts_values_without_enough_improvement() {
        let rule = EarlyStopRule {
            patience: Some(3),
            min_delta: 0.01,
            ..EarlyStopRule::new("loss")
        };
        // 0.995 and 0.992 improve by less than min_delta: they do not count.
        let reason = feed(rule.clone(), &[1.0, 0.5, 0.495, 0.492, 0.6]).unwrap();
        assert_eq!(reason.step, 5);
        assert_eq!(
            reason.rule,
            StopRule::NoImprovement {
                patience: 3,
                min_delta: 0.01,
                best: 0.5,
                best_step: 2
            }
        );
        // Steady improvement never stops.
        assert_eq!(feed(rule, &[1.0, 0.9, 0.8, 0.7, 0.6, 0.5]), None);
    }

    #[test]
    fn patience_follows_the_direction() {
        let rule = EarlyStopRule {
            patience: Some(2),
            minimize: false,
            ..EarlyStopRule::new("loss")
        };
        assert_eq!(feed(rule.clone(), &[0.1, 0.2, 0.3, 0.4]), None);
        assert_eq!(feed(rule, &[0.4, 0.3, 0.2]).unwrap().step, 3);
    }

    #[test]
    fn other_metrics_are_ignored() {
        let mut stopper = EarlyStopper::new(vec![EarlyStopRule::new("loss")]);
        assert_eq!(stopper.observe("accuracy", 1, f64::NAN), None);
    }
}
