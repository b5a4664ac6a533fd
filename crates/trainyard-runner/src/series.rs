//! Per-step values of each streamed metric, in the order they arrived.

use std::collections::BTreeMap;

use crate::protocol::MetricLine;

/// Each metric's `(step, value)` points.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricSeries {
    points: BTreeMap<String, Vec<(u64, f64)>>,
}

impl MetricSeries {
    /// Adds a protocol line's values and returns them with the step each got:
    /// the line's `step`, or one more than the metric's last step.
    pub fn push(&mut self, line: &MetricLine) -> Vec<(String, u64, f64)> {
        line.values
            .iter()
            .map(|(name, value)| {
                let points = self.points.entry(name.clone()).or_default();
                let step = line
                    .step
                    .unwrap_or_else(|| points.last().map_or(1, |(step, _)| step + 1));
                points.push((step, *value));
                (name.clone(), step, *value)
            })
            .collect()
    }

    pub fn get(&self, metric: &str) -> Option<&[(u64, f64)]> {
        self.points.get(metric).map(Vec::as_slice)
    }

    /// The last value of each metric.
    pub fn last_values(&self) -> BTreeMap<String, f64> {
        self.points
            .iter()
            .filter_map(|(name, points)| points.last().map(|(_, value)| (name.clone(), *value)))
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    pub fn into_map(self) -> BTreeMap<String, Vec<(u64, f64)>> {
        self.points
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &[(u64, f64)])> {
        self.points
            .iter()
            .map(|(name, points)| (name.as_str(), points.as_slice()))
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // parsed values compared exactly on purpose
mod tests {
    use super::*;
    use crate::protocol::parse_metric_line;

    #[test]
    fn steps_are_given_or_counted() {
        let mut series = MetricSeries::default();
        for text in [
            "trainyard:metric loss=3",
            "trainyard:metric loss=2",
            "trainyard:metric loss=1 acc=0.5 step=10",
            "trainyard:metric acc=0.6",
        ] {
            series.push(&parse_metric_line(text).unwrap().unwrap());
        }
        assert_eq!(
            series.get("loss").unwrap(),
            &[(1, 3.0), (2, 2.0), (10, 1.0)]
        );
        assert_eq!(series.get("acc").unwrap(), &[(10, 0.5), (11, 0.6)]);
        assert_eq!(series.last_values()["acc"], 0.6);
    }
}
