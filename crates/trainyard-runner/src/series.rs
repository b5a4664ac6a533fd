//! Per-step values of each streamed metric, in the order they arrived.

use std::collections::BTreeMap;

use crate::protocol::MetricLine;

/// The most points kept per metric. Past it the series is thinned (every
/// other point dropped, the latest always kept), so a run of a million steps
/// costs the same memory and ledger space as one of ten thousand; early stop
/// sees every value before thinning.
pub const MAX_POINTS: usize = 10_000;

/// Each metric's `(step, value)` points.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSeries {
    points: BTreeMap<String, Vec<(u64, f64)>>,
    /// The last `(step, value)` of each metric, whatever thinning dropped.
    last: BTreeMap<String, (u64, f64)>,
    /// Per metric: keep one value in `stride` (doubles at each thinning).
    strides: BTreeMap<String, u64>,
    /// Per metric: values seen since the last kept one.
    pending: BTreeMap<String, u64>,
    max_points: usize,
}

impl Default for MetricSeries {
    fn default() -> Self {
        Self::with_max_points(MAX_POINTS)
    }
}

impl MetricSeries {
    /// A series keeping at most `max_points` (at least 2) points per metric.
    pub fn with_max_points(max_points: usize) -> Self {
        Self {
            points: BTreeMap::new(),
            last: BTreeMap::new(),
            strides: BTreeMap::new(),
            pending: BTreeMap::new(),
            max_points: max_points.max(2),
        }
    }

    /// Adds a protocol line's values and returns them with the step each got:
    /// the line's `step`, or one more than the metric's last step.
    pub fn push(&mut self, line: &MetricLine) -> Vec<(String, u64, f64)> {
        line.values
            .iter()
            .map(|(name, value)| {
                let step = line
                    .step
                    .unwrap_or_else(|| self.last.get(name).map_or(1, |(step, _)| step + 1));
                self.record(name, step, *value);
                (name.clone(), step, *value)
            })
            .collect()
    }

    fn record(&mut self, name: &str, step: u64, value: f64) {
        self.last.insert(name.to_owned(), (step, value));
        let stride = *self.strides.get(name).unwrap_or(&1);
        let pending = self.pending.entry(name.to_owned()).or_insert(0);
        *pending += 1;
        if *pending < stride {
            return;
        }
        *pending = 0;
        let points = self.points.entry(name.to_owned()).or_default();
        points.push((step, value));
        if points.len() >= self.max_points {
            // Keep the even-indexed points; from now on keep one value in twice as many.
            let mut index = 0;
            points.retain(|_| {
                index += 1;
                index % 2 == 1
            });
            self.strides.insert(name.to_owned(), stride * 2);
        }
    }

    /// The kept points of a metric (without the latest, if thinning skipped it:
    /// see [`MetricSeries::into_map`]).
    pub fn get(&self, metric: &str) -> Option<&[(u64, f64)]> {
        self.points.get(metric).map(Vec::as_slice)
    }

    /// The last value of each metric.
    pub fn last_values(&self) -> BTreeMap<String, f64> {
        self.last
            .iter()
            .map(|(name, (_, value))| (name.clone(), *value))
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.last.is_empty()
    }

    /// The kept points, each metric ending with its latest value.
    pub fn into_map(self) -> BTreeMap<String, Vec<(u64, f64)>> {
        let mut points = self.points;
        for (name, last) in self.last {
            let series = points.entry(name).or_default();
            if series.last() != Some(&last) {
                series.push(last);
            }
        }
        points
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &[(u64, f64)])> {
        self.points
            .iter()
            .map(|(name, points)| (name.as_str(), points.as_slice()))
    }
}

/// Evenly thins `points` to at most `max_points` (at least 2), keeping the
/// first and the last: for series read whole, such as a metrics file's.
pub fn thin(points: Vec<(u64, f64)>, max_points: usize) -> Vec<(u64, f64)> {
    let max_points = max_points.max(2);
    if points.len() <= max_points {
        return points;
    }
    let stride = points.len().div_ceil(max_points - 1);
    let last = points.len() - 1;
    points
        .into_iter()
        .enumerate()
        .filter(|(index, _)| index % stride == 0 || *index == last)
        .map(|(_, point)| point)
        .collect()
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

    #[test]
    fn a_whole_series_is_thinned_evenly() {
        let points: Vec<(u64, f64)> = (1..=1000_u32)
            .map(|step| (u64::from(step), f64::from(step)))
            .collect();
        let thinned = thin(points.clone(), 100);
        assert!(thinned.len() <= 100, "{}", thinned.len());
        assert_eq!(thinned[0], (1, 1.0));
        assert_eq!(*thinned.last().unwrap(), (1000, 1000.0));
        assert_eq!(thin(points[..10].to_vec(), 100).len(), 10);
    }

    #[test]
    fn long_series_are_thinned_and_keep_their_end() {
        let mut series = MetricSeries::with_max_points(100);
        for step in 1..=10_000_u32 {
            series.push(&MetricLine {
                step: Some(u64::from(step)),
                values: vec![("loss".to_owned(), 1.0 / f64::from(step))],
            });
        }
        assert_eq!(series.last_values()["loss"], 1.0 / 10_000.0);
        let points = series.into_map().remove("loss").unwrap();
        assert!(points.len() <= 101, "{}", points.len());
        assert!(points.len() >= 50, "{}", points.len());
        assert_eq!(points[0].0, 1);
        assert_eq!(points.last().unwrap().0, 10_000);
        assert!(points.windows(2).all(|pair| pair[0].0 < pair[1].0));
    }
}
