//! The metrics file a training command writes: JSON, YAML or CSV/TSV.
//!
//! - JSON and YAML: a mapping of numbers; nested mappings are flattened with
//!   dots (`{"train": {"loss": 0.1}}` is `train.loss`), which is DVC's and
//!   DVCLive's `metrics.json` shape. A top-level `step` (DVCLive's last step)
//!   is not a metric. Strings, booleans and lists are skipped. The `NaN`,
//!   `Infinity` and `-Infinity` Python's `json.dump` writes (and YAML's
//!   `.nan`, `.inf`) are read as what they are, so a diverged run's metrics
//!   reach the rule that refuses them instead of a parse error.
//! - CSV/TSV: either a `name,value` (or `metric,value`) table, or one column
//!   per metric with a row per step: the last row gives the metrics and the
//!   rows the series (x from a `step` or `epoch` column, else the row number).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::protocol::parse_number;

/// What a metrics file holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricsFile {
    pub values: BTreeMap<String, f64>,
    /// Per-step values, from a CSV with more than one row.
    pub series: BTreeMap<String, Vec<(u64, f64)>>,
}

#[derive(Debug, thiserror::Error)]
pub enum MetricsFileError {
    #[error("the command did not write its metrics file {path}")]
    Missing { path: PathBuf },
    #[error("reading {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not valid {format}: {message}")]
    Parse {
        path: PathBuf,
        format: &'static str,
        message: String,
    },
    #[error("{path} has no numeric metric")]
    NoMetrics { path: PathBuf },
}

/// Reads a metrics file, by its extension (`.json`, `.yaml`/`.yml`, `.csv`, `.tsv`).
pub fn read_metrics_file(path: &Path) -> Result<MetricsFile, MetricsFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            MetricsFileError::Missing {
                path: path.to_owned(),
            }
        } else {
            MetricsFileError::Io {
                path: path.to_owned(),
                source,
            }
        }
    })?;
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let parse_error = |format: &'static str, message: String| MetricsFileError::Parse {
        path: path.to_owned(),
        format,
        message,
    };
    let file = match extension.as_deref() {
        Some("yaml" | "yml") => {
            trainyard_core::yaml::check_yaml(&text)
                .map_err(|error| parse_error("YAML", error.to_string()))?;
            let value: serde_json::Value = serde_yaml_ng::from_str(&text)
                .map_err(|error| parse_error("YAML", error.to_string()))?;
            from_tree(&value)
        }
        Some("csv") => from_table(&text, b',').map_err(|message| parse_error("CSV", message))?,
        Some("tsv") => from_table(&text, b'\t').map_err(|message| parse_error("TSV", message))?,
        _ => {
            trainyard_core::yaml::check_json(&text)
                .map_err(|error| parse_error("JSON", error.to_string()))?;
            let text = non_finite_as_strings(&text);
            let value: serde_json::Value = serde_json::from_str(&text)
                .map_err(|error| parse_error("JSON", error.to_string()))?;
            from_tree(&value)
        }
    };
    if file.values.is_empty() {
        return Err(MetricsFileError::NoMetrics {
            path: path.to_owned(),
        });
    }
    Ok(file)
}

/// What a bare `NaN`, `Infinity` or `-Infinity` becomes (a string JSON
/// accepts, which a metrics file does not otherwise hold: it starts with NUL).
const NON_FINITE: [(&str, &str, f64); 3] = [
    ("-Infinity", "\\u0000-Infinity", f64::NEG_INFINITY),
    ("Infinity", "\\u0000Infinity", f64::INFINITY),
    ("NaN", "\\u0000NaN", f64::NAN),
];

/// The JSON text with Python's bare non-finite numbers (outside strings)
/// quoted as [`NON_FINITE`] markers, which [`flatten`] reads back as numbers.
fn non_finite_as_strings(text: &str) -> std::borrow::Cow<'_, str> {
    if !(text.contains("NaN") || text.contains("Infinity")) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let (mut in_string, mut escaped) = (false, false);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        } else if let Some((token, marker, _)) = NON_FINITE
            .iter()
            .find(|(token, _, _)| rest.starts_with(token))
        {
            out.push('"');
            out.push_str(marker);
            out.push('"');
            rest = &rest[token.len()..];
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    std::borrow::Cow::Owned(out)
}

fn from_tree(value: &serde_json::Value) -> MetricsFile {
    let mut values = BTreeMap::new();
    if let serde_json::Value::Object(map) = value {
        for (key, value) in map {
            if key == "step" {
                continue;
            }
            flatten(key, value, &mut values);
        }
    }
    MetricsFile {
        values,
        series: BTreeMap::new(),
    }
}

fn flatten(prefix: &str, value: &serde_json::Value, into: &mut BTreeMap<String, f64>) {
    match value {
        serde_json::Value::Number(number) => {
            if let Some(number) = number.as_f64() {
                into.insert(prefix.to_owned(), number);
            }
        }
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                flatten(&format!("{prefix}.{key}"), value, into);
            }
        }
        // JSON's bare `NaN` / `Infinity`, quoted by `non_finite_as_strings`.
        serde_json::Value::String(text) if text.starts_with('\0') => {
            if let Some((_, _, number)) = NON_FINITE
                .iter()
                .find(|(token, _, _)| text.get(1..) == Some(*token))
            {
                into.insert(prefix.to_owned(), *number);
            }
        }
        // YAML's `.nan` / `.inf` arrive as strings through serde_json::Value.
        serde_json::Value::String(text) if matches!(text.as_str(), ".nan" | ".inf" | "-.inf") => {
            let number = match text.as_str() {
                ".nan" => f64::NAN,
                ".inf" => f64::INFINITY,
                _ => f64::NEG_INFINITY,
            };
            into.insert(prefix.to_owned(), number);
        }
        _ => {}
    }
}

fn from_table(text: &str, delimiter: u8) -> Result<MetricsFile, String> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|error| error.to_string())?
        .iter()
        .map(str::to_owned)
        .collect();
    let rows: Vec<csv::StringRecord> = reader
        .records()
        .collect::<Result<_, _>>()
        .map_err(|error| error.to_string())?;

    let lower: Vec<String> = headers.iter().map(|h| h.to_ascii_lowercase()).collect();
    if lower.len() == 2 && matches!(lower[0].as_str(), "name" | "metric") && lower[1] == "value" {
        let mut values = BTreeMap::new();
        for row in &rows {
            if let (Some(name), Some(value)) = (row.get(0), row.get(1).and_then(parse_number)) {
                values.insert(name.to_owned(), value);
            }
        }
        return Ok(MetricsFile {
            values,
            series: BTreeMap::new(),
        });
    }

    let step_column = lower.iter().position(|h| h == "step" || h == "epoch");
    let mut series: BTreeMap<String, Vec<(u64, f64)>> = BTreeMap::new();
    for (index, row) in rows.iter().enumerate() {
        let step = step_column
            .and_then(|column| row.get(column))
            .and_then(|text| text.parse::<u64>().ok())
            .unwrap_or(index as u64 + 1);
        for (column, name) in headers.iter().enumerate() {
            if Some(column) == step_column {
                continue;
            }
            if let Some(value) = row.get(column).and_then(parse_number) {
                series.entry(name.clone()).or_default().push((step, value));
            }
        }
    }
    let values = series
        .iter()
        .filter_map(|(name, points)| points.last().map(|(_, value)| (name.clone(), *value)))
        .collect();
    if rows.len() <= 1 {
        series.clear();
    }
    Ok(MetricsFile { values, series })
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // parsed values compared exactly on purpose
mod tests {
    use super::*;

    fn read(name: &str, text: &str) -> Result<MetricsFile, MetricsFileError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        read_metrics_file(&path)
    }

    #[test]
    fn json_flat_and_nested_like_dvc() {
        let file = read(
            "metrics.json",
            r#"{"step": 9, "accuracy": 0.93, "train": {"loss": 0.2, "note": "x"}, "ok": true}"#,
        )
        .unwrap();
        assert_eq!(
            file.values,
            BTreeMap::from([
                ("accuracy".to_owned(), 0.93),
                ("train.loss".to_owned(), 0.2)
            ])
        );
    }

    /// What Python's `json.dump({"loss": float("nan"), ...})` writes: once
    /// refused as invalid JSON, so a diverged run failed for the wrong reason.
    #[test]
    fn json_with_pythons_non_finite_numbers() {
        let file = read(
            "metrics.json",
            r#"{"loss": NaN, "eval": {"up": Infinity, "down": -Infinity}, "note": "NaN Infinity \" NaN", "accuracy": 0.5}"#,
        )
        .unwrap();
        assert!(file.values["loss"].is_nan());
        assert_eq!(file.values["eval.up"], f64::INFINITY);
        assert_eq!(file.values["eval.down"], f64::NEG_INFINITY);
        assert_eq!(file.values["accuracy"], 0.5);
        assert_eq!(file.values.len(), 4, "the string stays a string");
        assert!(read("metrics.json", r#"{"loss": NaNa}"#).is_err());
    }

    #[test]
    fn yaml() {
        let file = read("metrics.yaml", "accuracy: 0.9\neval:\n  f1: 0.8\n").unwrap();
        assert_eq!(file.values["eval.f1"], 0.8);
    }

    #[test]
    fn csv_wide_gives_the_last_row_and_a_series() {
        let file = read(
            "history.csv",
            "epoch,loss,acc\n1,0.9,0.5\n2,0.5,0.7\n3,0.4,0.8\n",
        )
        .unwrap();
        assert_eq!(file.values["loss"], 0.4);
        assert_eq!(file.series["acc"], vec![(1, 0.5), (2, 0.7), (3, 0.8)]);
        assert!(!file.values.contains_key("epoch"));
    }

    #[test]
    fn csv_long_and_tsv() {
        let file = read("m.csv", "metric,value\naccuracy,0.9\nf1,0.85\n").unwrap();
        assert_eq!(file.values.len(), 2);
        let file = read("loss.tsv", "step\tloss\n0\t1.5\n1\t1.2\n").unwrap();
        assert_eq!(file.series["loss"], vec![(0, 1.5), (1, 1.2)]);
    }

    #[test]
    fn errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = read_metrics_file(&dir.path().join("metrics.json")).unwrap_err();
        assert!(matches!(missing, MetricsFileError::Missing { .. }));
        let bad = read("metrics.json", "{not json").unwrap_err();
        assert!(
            bad.to_string().contains("metrics.json is not valid JSON"),
            "{bad}"
        );
        let empty = read("metrics.json", r#"{"model": "lr"}"#).unwrap_err();
        assert!(empty.to_string().contains("has no numeric metric"));
    }

    #[test]
    fn nesting_past_the_limit_is_refused_quickly_with_line_and_limit() {
        // 120 KB of nested flow mappings: seconds in libyaml before the limit.
        for (name, text) in [
            (
                "metrics.yaml",
                format!("acc: 0.9\nx: {}", "{a: ".repeat(30_000)),
            ),
            (
                "metrics.json",
                format!("{{\"acc\": 0.9,\n\"x\": {}", "[".repeat(120_000)),
            ),
        ] {
            let error = read(name, &text).unwrap_err();
            let message = error.to_string();
            assert!(matches!(error, MetricsFileError::Parse { .. }), "{message}");
            assert!(message.contains(name), "{message}");
            assert!(message.contains("line 2"), "{message}");
            assert!(message.contains("64"), "{message}");
        }
    }
}
