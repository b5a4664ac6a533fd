//! The schema and checks of a dataset: declared inline under `datasets.<name>.schema`
//! in `trainyard.yaml`, or in a separate YAML file named by `schema-file`.
//!
//! ```yaml
//! datasets:
//!   train:
//!     path: data/train.csv
//!     csv: { delimiter: ",", null-values: ["", "NA"] }
//!     schema:
//!       columns:
//!         - { name: id, type: integer, nullable: false, unique: true }
//!         - { name: age, type: integer, min: 0, max: 120, mostly: 0.99 }
//!         - { name: city, type: categorical, enum: [paris, lyon] }
//!       rows: { min: 1000 }
//!       unique-together: [[city, id]]
//!       relations: [{ rule: "end > start" }]
//! ```

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The columns of a dataset and the checks its rows and columns must pass.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DataSchema {
    /// The declared columns, in file order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<ColumnSchema>,
    /// How the file's header must match the declared columns: `subset` (declared
    /// columns must exist, others are allowed), `set` (the same columns, any order) or
    /// `exact` (the same columns in the same order).
    #[serde(default, skip_serializing_if = "is_default")]
    pub column_match: ColumnMatch,
    /// How many rows the dataset must have (all files together).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<CountRange>,
    /// Groups of columns whose combined values must be unique, e.g. `[[user, day]]`.
    /// Rows where every column of the group is null are skipped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unique_together: Vec<Vec<String>>,
    /// Comparisons between two columns of the same row, e.g. `end > start`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relations: Vec<Relation>,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

fn default_true() -> bool {
    true
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_true(value: &bool) -> bool {
    *value
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_false(value: &bool) -> bool {
    !*value
}

/// How the columns found in a file must match the declared ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ColumnMatch {
    /// Every declared column with `required: true` must exist; other columns are allowed.
    #[default]
    Subset,
    /// The file has exactly the declared columns, in any order.
    Set,
    /// The file has exactly the declared columns, in the declared order.
    Exact,
}

/// One column: its type and the checks every value and the column as a whole must pass.
#[allow(clippy::struct_excessive_bools)] // each flag is a key of the YAML
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ColumnSchema {
    /// The column's name, as in the header row (CSV) or the key (JSON Lines, Parquet).
    pub name: String,
    /// The type every non-null value must have; any value is accepted when absent.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<ColumnType>,
    /// Free text for people; not checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The column must be present in every file.
    #[serde(default = "default_true", skip_serializing_if = "is_true")]
    pub required: bool,
    /// Null values (an empty field, or one of the CSV `null-values`) are allowed.
    #[serde(default = "default_true", skip_serializing_if = "is_true")]
    pub nullable: bool,
    /// No two non-null values are equal.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unique: bool,
    /// Smallest allowed value: a number, or an ISO date / date-time for `date` and `datetime` columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<Bound>,
    /// Largest allowed value: a number, or an ISO date / date-time for `date` and `datetime` columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<Bound>,
    /// `min` itself is not allowed (values must be strictly greater).
    #[serde(default, skip_serializing_if = "is_false")]
    pub exclusive_min: bool,
    /// `max` itself is not allowed (values must be strictly smaller).
    #[serde(default, skip_serializing_if = "is_false")]
    pub exclusive_max: bool,
    /// Fewest characters a non-null value may have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u64>,
    /// Most characters a non-null value may have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u64>,
    /// A regular expression (Rust `regex` syntax) every non-null value must match in full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// The only values allowed (compared as text).
    #[serde(default, rename = "enum", skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<String>>,
    /// Bounds on the mean of the column's numeric values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<Range>,
    /// Bounds on the sample standard deviation of the column's numeric values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stddev: Option<Range>,
    /// Bounds on quantiles of the column's numeric values (lower quantile, no interpolation).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quantiles: Vec<QuantileBound>,
    /// Bounds on the fraction of rows whose value is null, e.g. `{ max: 0.05 }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub null_fraction: Option<Range>,
    /// Tolerance for the per-value checks of this column (type, nullable, min/max, length,
    /// pattern, enum): they pass when at least this fraction of values pass, e.g. `0.99`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub mostly: Option<f64>,
    /// Profile the column (its statistics in the saved profile, for `data drift`);
    /// `false` only checks it, for wide tables where a team wants checks alone.
    #[serde(default = "default_true", skip_serializing_if = "is_true")]
    pub profile: bool,
}

impl ColumnSchema {
    /// A column with this name and no checks but presence.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            kind: None,
            description: None,
            required: true,
            nullable: true,
            unique: false,
            min: None,
            max: None,
            exclusive_min: false,
            exclusive_max: false,
            min_length: None,
            max_length: None,
            pattern: None,
            allowed: None,
            mean: None,
            stddev: None,
            quantiles: Vec::new(),
            null_fraction: None,
            mostly: None,
            profile: true,
        }
    }
}

/// The type of a column's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ColumnType {
    /// A whole number (`-12`, `42`).
    Integer,
    /// Any number (`3.14`, `-1e5`, `7`).
    Number,
    /// Any text.
    String,
    /// `true`/`false`, `True`/`False`, `TRUE`/`FALSE` or `1`/`0`.
    Boolean,
    /// An ISO 8601 date, `YYYY-MM-DD`.
    Date,
    /// An ISO 8601 date and time, `YYYY-MM-DDTHH:MM:SS` (a space may replace `T`;
    /// fractions of a second and a `Z` or `+HH:MM` offset are allowed).
    Datetime,
    /// Text from a small set of values; give the set with `enum`.
    Categorical,
}

/// A bound: a number, or a date / date-time written as text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Bound {
    Number(f64),
    Text(String),
}

/// An inclusive range of numbers; either end may be left open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Range {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

impl Range {
    /// Whether `value` lies within the range (NaN never does).
    pub fn contains(&self, value: f64) -> bool {
        !value.is_nan()
            && self.min.is_none_or(|min| value >= min)
            && self.max.is_none_or(|max| value <= max)
    }
}

/// An inclusive range of counts; either end may be left open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CountRange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
}

impl CountRange {
    pub fn contains(&self, value: u64) -> bool {
        self.min.is_none_or(|min| value >= min) && self.max.is_none_or(|max| value <= max)
    }
}

/// Bounds on one quantile, e.g. `{ q: 0.5, min: 10, max: 20 }` for the median.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct QuantileBound {
    /// The quantile, in (0, 1]: 0.5 is the median.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub q: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// A comparison between two columns of the same row; rows where either is null are skipped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Relation {
    /// `LEFT OP RIGHT` with OP one of `>`, `>=`, `<`, `<=`, `==`, `!=`, e.g. `end > start`.
    /// Values are compared as numbers, dates, or else as text.
    pub rule: String,
    /// The check passes when at least this fraction of compared rows hold, e.g. `0.99`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub mostly: Option<f64>,
}

/// How a CSV file is written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CsvOptions {
    /// The field separator, one ASCII character; `\t` for tab. Default `,` (`\t` for `.tsv`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    /// The quote character, one ASCII character. Default `"`.
    #[serde(default = "default_quote", skip_serializing_if = "is_default_quote")]
    pub quote: String,
    /// The first row names the columns. Without it, columns are named `column_1`, `column_2`, ...
    #[serde(default = "default_true", skip_serializing_if = "is_true")]
    pub header: bool,
    /// Field values read as null. Default: empty, `NA`, `N/A`, `NaN`, `nan`, `null`, `NULL`, `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub null_values: Option<Vec<String>>,
}

fn default_quote() -> String {
    "\"".to_owned()
}

fn is_default_quote(quote: &String) -> bool {
    quote == "\""
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self {
            delimiter: None,
            quote: default_quote(),
            header: true,
            null_values: None,
        }
    }
}

/// The null values used when `null-values` is not given.
pub const DEFAULT_NULL_VALUES: &[&str] = &["", "NA", "N/A", "NaN", "nan", "null", "NULL", "None"];

impl CsvOptions {
    /// The delimiter byte; an error names what is wrong.
    pub fn delimiter_byte(&self) -> Result<Option<u8>, String> {
        self.delimiter
            .as_deref()
            .map(|text| single_byte(text, "delimiter"))
            .transpose()
    }

    /// The quote byte; an error names what is wrong.
    pub fn quote_byte(&self) -> Result<u8, String> {
        single_byte(&self.quote, "quote")
    }
}

fn single_byte(text: &str, what: &str) -> Result<u8, String> {
    match text {
        "\\t" | "\t" => Ok(b'\t'),
        _ if text.len() == 1 && text.is_ascii() => Ok(text.as_bytes()[0]),
        _ => Err(format!(
            "`{text}` is not a single ASCII character for the {what}"
        )),
    }
}

/// How `trainyard data drift` judges this dataset against a reference.
///
/// ```yaml
/// drift:
///   share: 0.3                    # the dataset drifts when 30% of its columns do
///   columns:
///     age: { test: psi, threshold: 0.2 }
///     id: { ignore: true }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DriftPolicy {
    /// The test for every column without its own; chosen by type and size when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<DriftTest>,
    /// The threshold for every column without its own; the test's default when absent
    /// (0.05 for p-values, 0.1 for distances and PSI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// The dataset drifts when at least this share of its columns drift (default 0.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub share: Option<f64>,
    /// Per-column test, threshold, or `ignore: true` (ids, timestamps).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub columns: std::collections::BTreeMap<String, ColumnDrift>,
}

/// One column's drift test and threshold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ColumnDrift {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<DriftTest>,
    /// A p-value below it (K-S: at or below), or a distance / PSI at or above it, is drift.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Leave the column out of the comparison.
    #[serde(default, skip_serializing_if = "is_false")]
    pub ignore: bool,
}

/// A drift test: the statistic compared with the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DriftTest {
    /// Two-sample Kolmogorov-Smirnov p-value (numeric).
    Ks,
    /// Wasserstein distance divided by the reference's standard deviation (numeric).
    Wasserstein,
    /// Chi-squared p-value of the current frequencies against the reference's.
    ChiSquare,
    /// Two-proportion z-test p-value (two values).
    ZTest,
    /// Jensen-Shannon distance of the binned distributions.
    JensenShannon,
    /// Population Stability Index of the binned distributions.
    Psi,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schema_reads_with_defaults_and_rejects_typos() {
        let schema: DataSchema = serde_yaml_ng::from_str(
            "columns:\n  - { name: age, type: integer, min: 0, max: 120.5 }\n  - { name: day, type: date, min: '2020-01-01' }\nrows: { min: 1 }\n",
        )
        .unwrap();
        assert!(schema.columns[0].required && schema.columns[0].nullable);
        assert_eq!(schema.columns[0].max, Some(Bound::Number(120.5)));
        assert_eq!(
            schema.columns[1].min,
            Some(Bound::Text("2020-01-01".to_owned()))
        );
        let error =
            serde_yaml_ng::from_str::<DataSchema>("columns:\n  - { name: a, nulable: false }\n")
                .unwrap_err();
        assert!(
            error.to_string().contains("unknown field `nulable`"),
            "{error}"
        );
    }

    #[test]
    fn csv_options_check_their_characters() {
        let options: CsvOptions = serde_yaml_ng::from_str("delimiter: '\\t'\n").unwrap();
        assert_eq!(options.delimiter_byte(), Ok(Some(b'\t')));
        assert_eq!(options.quote_byte(), Ok(b'"'));
        let options: CsvOptions = serde_yaml_ng::from_str("delimiter: ';;'\n").unwrap();
        assert!(options.delimiter_byte().is_err());
    }
}
