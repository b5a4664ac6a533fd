//! The stdout line protocol for per-step values:
//!
//! ```text
//! trainyard:metric loss=0.41 step=12
//! trainyard:metric loss=0.39 accuracy=0.91 step=13
//! ```
//!
//! A line that starts with `trainyard:metric` followed by whitespace carries
//! `name=value` pairs separated by whitespace. `step` (a whole number) is the
//! x of every other pair on the line; without it, each metric counts its own
//! steps from 1. Values are floats; `nan`, `inf` and `-inf` are accepted so
//! that a diverging model can say so. Any other line is ordinary log output.

/// The line protocol's prefix.
pub const PREFIX: &str = "trainyard:metric";

/// One parsed protocol line.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricLine {
    pub step: Option<u64>,
    /// In the order written.
    pub values: Vec<(String, f64)>,
}

/// Why a protocol line could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("`{0}` is not `name=value`")]
    NotAPair(String),
    #[error("the value of `{name}` is not a number: `{value}`")]
    NotANumber { name: String, value: String },
    #[error("`step` must be a whole number of zero or more, found `{0}`")]
    BadStep(String),
    #[error("the line names no metric")]
    Empty,
}

/// Parses a line of output: `None` for ordinary output, `Some(Err)` for a
/// protocol line that is malformed (worth a warning), `Some(Ok)` otherwise.
pub fn parse_metric_line(line: &str) -> Option<Result<MetricLine, ProtocolError>> {
    let rest = line.trim_end_matches(['\r', '\n']).strip_prefix(PREFIX)?;
    if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
        return None; // `trainyard:metrics...` is someone else's line
    }
    Some(parse_pairs(rest))
}

fn parse_pairs(rest: &str) -> Result<MetricLine, ProtocolError> {
    let mut step = None;
    let mut values = Vec::new();
    for pair in rest.split_whitespace() {
        let Some((name, value)) = pair.split_once('=') else {
            return Err(ProtocolError::NotAPair(pair.to_owned()));
        };
        if name.is_empty() {
            return Err(ProtocolError::NotAPair(pair.to_owned()));
        }
        if name == "step" {
            step = Some(
                value
                    .parse::<u64>()
                    .map_err(|_| ProtocolError::BadStep(value.to_owned()))?,
            );
            continue;
        }
        let number = parse_number(value).ok_or_else(|| ProtocolError::NotANumber {
            name: name.to_owned(),
            value: value.to_owned(),
        })?;
        values.push((name.to_owned(), number));
    }
    if values.is_empty() {
        return Err(ProtocolError::Empty);
    }
    Ok(MetricLine { step, values })
}

/// Rust's float syntax plus the spellings Python and NumPy print.
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    match text.to_ascii_lowercase().as_str() {
        "nan" | "+nan" | "-nan" => Some(f64::NAN),
        "inf" | "+inf" | "infinity" | "+infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        _ => text.parse().ok(),
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // parsed values compared exactly on purpose
mod tests {
    use super::*;

    #[test]
    fn reads_values_and_the_step() {
        let line = parse_metric_line("trainyard:metric loss=0.41 step=12\n")
            .unwrap()
            .unwrap();
        assert_eq!(line.step, Some(12));
        assert_eq!(line.values, vec![("loss".to_owned(), 0.41)]);
        let line = parse_metric_line("trainyard:metric  acc=0.9\tloss=1e-3")
            .unwrap()
            .unwrap();
        assert_eq!(line.step, None);
        assert_eq!(line.values.len(), 2);
    }

    #[test]
    fn nan_and_infinity_are_values() {
        let line = parse_metric_line("trainyard:metric loss=nan step=3")
            .unwrap()
            .unwrap();
        assert!(line.values[0].1.is_nan());
        let line = parse_metric_line("trainyard:metric loss=-inf")
            .unwrap()
            .unwrap();
        assert_eq!(line.values[0].1, f64::NEG_INFINITY);
    }

    #[test]
    fn other_lines_are_log_output() {
        assert_eq!(parse_metric_line("epoch 3 loss=0.4"), None);
        assert_eq!(parse_metric_line("trainyard:metrics loss=1"), None);
    }

    #[test]
    fn malformed_protocol_lines_say_why() {
        assert_eq!(
            parse_metric_line("trainyard:metric loss=high"),
            Some(Err(ProtocolError::NotANumber {
                name: "loss".to_owned(),
                value: "high".to_owned()
            }))
        );
        assert_eq!(
            parse_metric_line("trainyard:metric loss=1 step=-1"),
            Some(Err(ProtocolError::BadStep("-1".to_owned())))
        );
        assert_eq!(
            parse_metric_line("trainyard:metric"),
            Some(Err(ProtocolError::Empty))
        );
        assert_eq!(
            parse_metric_line("trainyard:metric loss"),
            Some(Err(ProtocolError::NotAPair("loss".to_owned())))
        );
    }
}
