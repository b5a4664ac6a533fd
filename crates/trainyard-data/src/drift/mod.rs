//! Drift: compare a reference and a current dataset column by column.
//!
//! The test for each column is chosen as Evidently chooses it
//! (`_get_default_stattest`), from the column's kind, the reference size and
//! the number of distinct values in both:
//!
//! | kind | reference rows <= 1000 | reference rows > 1000 |
//! |---|---|---|
//! | numeric, > 5 distinct | Kolmogorov-Smirnov p-value | Wasserstein distance / std(reference) |
//! | numeric, <= 5 distinct | chi-squared p-value (z-test when <= 2) | Jensen-Shannon distance |
//! | categorical | chi-squared p-value (z-test when <= 2) | Jensen-Shannon distance |
//!
//! Before that, text columns are recognised by their values: dates and
//! timestamps are compared as days since 1970-01-01 with the numeric tests;
//! id-like columns (every value distinct), free text (long, mostly distinct
//! values) and other text with more values than half the rows are *not tested*,
//! with the reason, as is any column whose statistic cannot be computed (an
//! empty side, a non-finite result): a report never holds a NaN, and untested
//! columns do not count toward the share.
//!
//! A p-value below its threshold (default 0.05; KS: at or below) or a distance
//! at or above its threshold (default 0.1) is drift. PSI is available on
//! request. The dataset drifts when the share of drifted tested columns reaches
//! `drift_share` (default 0.5). Each statistic agrees with scipy on fixed data
//! (`tests/fixtures/drift/`).
//!
//! Inputs are either raw values ([`ColumnData`]) or two saved profiles
//! ([`drift_profiles`]): a profile keeps exact value counts below
//! [`crate::profile::TOP_VALUES_CAP`] distinct values (the result is then
//! the same as from raw data) and a bucket histogram otherwise (values within
//! [`crate::profile::QUANTILE_RELATIVE_ERROR`]; the result is marked
//! `approximate`).

// Numeric code: casts between integer counts and floats are deliberate (counts
// stay far below 2^53), exact float comparisons are intended (bit-exact
// results, bucket edges), and the formulas keep the papers' short names.
#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    clippy::float_cmp,
    clippy::many_single_char_names,
    clippy::similar_names
)]

mod special;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use trainyard_core::markdown;

use crate::profile::{ColumnProfile, DatasetProfile, Value};

/// A statistical test or distance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StatTest {
    /// Two-sample Kolmogorov-Smirnov p-value (numeric).
    Ks,
    /// Wasserstein distance normed by the reference's standard deviation (numeric).
    Wasserstein,
    /// Chi-squared goodness-of-fit p-value of current against reference frequencies.
    ChiSquare,
    /// Two-proportion z-test p-value (binary columns).
    ZTest,
    /// Jensen-Shannon distance of the binned distributions.
    JensenShannon,
    /// Population Stability Index of the binned distributions.
    Psi,
}

impl StatTest {
    pub fn default_threshold(self) -> f64 {
        match self {
            Self::Ks | Self::ChiSquare | Self::ZTest => 0.05,
            Self::Wasserstein | Self::JensenShannon | Self::Psi => 0.1,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Ks => "K-S p-value",
            Self::Wasserstein => "Wasserstein distance (normed)",
            Self::ChiSquare => "chi-square p-value",
            Self::ZTest => "Z-test p-value",
            Self::JensenShannon => "Jensen-Shannon distance",
            Self::Psi => "PSI",
        }
    }

    fn is_drift(self, statistic: f64, threshold: f64) -> bool {
        match self {
            Self::Ks => statistic <= threshold,
            Self::ChiSquare | Self::ZTest => statistic < threshold,
            Self::Wasserstein | Self::JensenShannon | Self::Psi => statistic >= threshold,
        }
    }
}

/// Per-column choices; unset fields use the defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ColumnOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<StatTest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
}

/// Options of a drift run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DriftOptions {
    /// Applies to every column without its own entry in `columns`.
    #[serde(default)]
    pub all: ColumnOptions,
    #[serde(default)]
    pub columns: BTreeMap<String, ColumnOptions>,
    /// The dataset drifts when at least this share of columns drift.
    #[serde(default = "default_drift_share")]
    pub drift_share: f64,
}

fn default_drift_share() -> f64 {
    0.5
}

impl Default for DriftOptions {
    fn default() -> Self {
        Self {
            all: ColumnOptions::default(),
            columns: BTreeMap::new(),
            drift_share: default_drift_share(),
        }
    }
}

impl DriftOptions {
    fn for_column(&self, name: &str) -> ColumnOptions {
        let own = self.columns.get(name);
        ColumnOptions {
            test: own.and_then(|o| o.test).or(self.all.test),
            threshold: own.and_then(|o| o.threshold).or(self.all.threshold),
        }
    }
}

/// One column's raw values (nulls removed by the caller; NaN and infinities
/// are dropped here, as Evidently does).
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnData {
    /// Numbers in any order (sorted here with a radix sort).
    Numeric(Vec<f64>),
    /// Category counts.
    Categorical(BTreeMap<String, u64>),
}

/// A column of the reference and the current dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnPair {
    pub name: String,
    pub reference: ColumnData,
    pub current: ColumnData,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ColumnKind {
    Numeric,
    Categorical,
    /// Dates or timestamps (`YYYY-MM-DD[THH:MM[:SS]][zone]`), compared as
    /// days since 1970-01-01 with the numeric tests.
    Date,
    /// A different value in (almost) every row: nothing to compare.
    Id,
    /// Free text: long values, (almost) all distinct.
    Text,
}

/// The verdict on one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnDrift {
    pub column: String,
    pub kind: ColumnKind,
    /// The test run; absent when the column was not tested (see `not_tested`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<StatTest>,
    /// The p-value or distance, always finite; absent when not tested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistic: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    pub drifted: bool,
    /// Why the column was not tested (id-like, free text, a side without
    /// values, a statistic that cannot be computed): such a column does not
    /// count toward the drift share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_tested: Option<String>,
    pub reference_count: u64,
    pub current_count: u64,
    /// Computed from a profile's histogram rather than exact values.
    #[serde(default)]
    pub approximate: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The verdict on a dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftReport {
    pub columns: Vec<ColumnDrift>,
    /// Columns with a test result: the denominator of `share`.
    pub tested_columns: usize,
    pub drifted_columns: usize,
    pub share: f64,
    pub drift_share: f64,
    pub dataset_drift: bool,
    /// Rows of either side that could not be read, one error finding each (the
    /// first ones a profile names): left out of the comparison, not ignored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<trainyard_core::Finding>,
    /// `(side, count)` of the malformed rows left out, for the summary.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub malformed: Vec<(String, u64)>,
}

impl DriftReport {
    fn new(columns: Vec<ColumnDrift>, drift_share: f64) -> Self {
        let drifted_columns = columns.iter().filter(|c| c.drifted).count();
        let tested_columns = columns.iter().filter(|c| c.not_tested.is_none()).count();
        let share = if tested_columns == 0 {
            0.0
        } else {
            usize_f64(drifted_columns) / usize_f64(tested_columns)
        };
        Self {
            dataset_drift: tested_columns > 0 && share >= drift_share,
            columns,
            tested_columns,
            drifted_columns,
            share,
            drift_share,
            findings: Vec::new(),
            malformed: Vec::new(),
        }
    }

    pub fn drifted(&self) -> impl Iterator<Item = &ColumnDrift> {
        self.columns.iter().filter(|c| c.drifted)
    }

    /// A Markdown table for the job summary and the PR report.
    pub fn markdown(&self) -> String {
        let mut out = format!(
            "{} of {} tested columns drifted ({:.0}%; dataset drift at {:.0}%): **{}**\n\n",
            self.drifted_columns,
            self.tested_columns,
            self.share * 100.0,
            self.drift_share * 100.0,
            if self.dataset_drift {
                "drift"
            } else {
                "no drift"
            }
        );
        for (side, count) in &self.malformed {
            let _ = writeln!(
                out,
                "**{count} malformed row{}** in the {side} data could not be read and were left out.\n",
                if *count == 1 { "" } else { "s" }
            );
        }
        out.push_str(
            "| column | test | statistic | threshold | drifted |\n|---|---|---|---|---|\n",
        );
        for c in &self.columns {
            match (c.test, c.statistic, c.threshold) {
                (Some(test), Some(statistic), Some(threshold)) => {
                    let _ = writeln!(
                        out,
                        "| {} | {} | {statistic:.6} | {threshold} | {} |",
                        markdown::cell(&c.column),
                        test.name(),
                        if c.drifted { "yes" } else { "no" }
                    );
                }
                _ => {
                    let _ = writeln!(
                        out,
                        "| {} | not tested: {} | - | - | - |",
                        markdown::cell(&c.column),
                        markdown::cell(c.not_tested.as_deref().unwrap_or("no test applies")),
                    );
                }
            }
        }
        out
    }
}

/// Compares every column pair, in parallel over columns.
pub fn drift(columns: Vec<ColumnPair>, options: &DriftOptions) -> DriftReport {
    let results = columns
        .into_par_iter()
        .map(|pair| {
            let reference = Distribution::from_data(pair.reference);
            let current = Distribution::from_data(pair.current);
            column_drift(
                &pair.name,
                &reference,
                &current,
                false,
                &options.for_column(&pair.name),
            )
        })
        .collect();
    DriftReport::new(results, options.drift_share)
}

#[derive(Debug, thiserror::Error)]
pub enum DriftError {
    #[error("column `{0}` is in the reference but not in the current data")]
    MissingColumn(String),
    /// A side without a single well-formed row: there is nothing to compare, so
    /// no verdict (neither "drift" nor "no drift").
    #[error(
        "the {side} data has no well-formed row ({rows} read, {malformed} malformed{first}): drift cannot be judged; fix the rows or compare other data"
    )]
    NoRows {
        side: &'static str,
        rows: u64,
        malformed: u64,
        /// `; the first at file:line: why`, when a malformed row is named.
        first: String,
    },
}

/// The side's rows that are well-formed, or the error saying there are none.
fn well_formed(side: &'static str, profile: &DatasetProfile) -> Result<(), DriftError> {
    let malformed = &profile.malformed;
    if profile.rows.saturating_sub(malformed.count) > 0 {
        return Ok(());
    }
    Err(DriftError::NoRows {
        side,
        rows: profile.rows,
        malformed: malformed.count,
        first: malformed
            .first_place()
            .map(|place| format!("; the first at {place}"))
            .unwrap_or_default(),
    })
}

/// Compares two saved profiles, column by column (the reference's columns).
pub fn drift_profiles(
    reference: &DatasetProfile,
    current: &DatasetProfile,
    options: &DriftOptions,
) -> Result<DriftReport, DriftError> {
    well_formed("reference", reference)?;
    well_formed("current", current)?;
    // The first column of each name, as `DatasetProfile::column` finds it.
    let mut by_name: std::collections::HashMap<&str, &ColumnProfile> =
        std::collections::HashMap::with_capacity(current.columns.len());
    for column in current.columns.iter().rev() {
        by_name.insert(column.name(), column);
    }
    let pairs = reference
        .columns
        .iter()
        .map(|r| {
            by_name
                .get(r.name())
                .map(|c| (r, *c))
                .ok_or_else(|| DriftError::MissingColumn(r.name().to_owned()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let results = pairs
        .into_par_iter()
        .map(|(r, c)| {
            let numeric =
                r.is_numeric() && (c.is_numeric() || c.numbers() + c.texts() + c.booleans() == 0);
            let (reference, approx_r) = Distribution::from_profile(r, numeric);
            let (current, approx_c) = Distribution::from_profile(c, numeric);
            if matches!(reference, Distribution::Unavailable)
                || matches!(current, Distribution::Unavailable)
            {
                let (kind, reason) = uncounted_text(r, c);
                let mut result = not_tested(r.name(), kind, &reference, &current, reason);
                result.reference_count = r.count() - r.nulls();
                result.current_count = c.count() - c.nulls();
                return result;
            }
            column_drift(
                r.name(),
                &reference,
                &current,
                approx_r || approx_c,
                &options.for_column(r.name()),
            )
        })
        .collect();
    let mut report = DriftReport::new(results, options.drift_share);
    for (side, profile) in [("reference", reference), ("current", current)] {
        if !profile.malformed.is_empty() {
            report
                .findings
                .extend(profile.malformed.findings(&format!("{side} data")));
            report
                .malformed
                .push((side.to_owned(), profile.malformed.count));
        }
    }
    Ok(report)
}

/// A column's distribution: sorted distinct numbers with counts, or category counts.
#[derive(Debug, Clone)]
enum Distribution {
    Numeric {
        values: Vec<f64>,
        counts: Vec<u64>,
        total: u64,
    },
    Categorical {
        counts: BTreeMap<String, u64>,
        total: u64,
    },
    Unavailable,
}

impl Distribution {
    fn from_data(data: ColumnData) -> Self {
        match data {
            ColumnData::Numeric(mut values) => {
                values.retain(|v| v.is_finite());
                radix_sort(&mut values);
                Self::from_sorted(&values)
            }
            ColumnData::Categorical(counts) => {
                let counts: BTreeMap<String, u64> =
                    counts.into_iter().filter(|(_, c)| *c > 0).collect();
                let total = counts.values().sum();
                Self::Categorical { counts, total }
            }
        }
    }

    fn from_sorted(sorted: &[f64]) -> Self {
        let mut values = Vec::new();
        let mut counts: Vec<u64> = Vec::new();
        for &v in sorted {
            // -0.0 == 0.0: one value, as numpy's unique treats them.
            if values.last() == Some(&v) {
                if let Some(c) = counts.last_mut() {
                    *c += 1;
                }
            } else {
                values.push(v);
                counts.push(1);
            }
        }
        Self::Numeric {
            total: sorted.len() as u64,
            values,
            counts,
        }
    }

    fn from_pairs(mut pairs: Vec<(f64, u64)>) -> Self {
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let total = pairs.iter().map(|p| p.1).sum();
        let (values, counts) = pairs.into_iter().unzip();
        Self::Numeric {
            values,
            counts,
            total,
        }
    }

    /// The distribution kept in a profile; `true` when approximate.
    fn from_profile(column: &ColumnProfile, numeric: bool) -> (Self, bool) {
        match (numeric, column.value_counts()) {
            (true, Some(values)) => {
                let pairs = values
                    .into_iter()
                    .filter_map(|(v, c)| match v {
                        Value::Number(n) => Some((n, c)),
                        Value::Text(_) => None,
                    })
                    .collect();
                (Self::from_pairs(pairs), false)
            }
            (true, None) => (Self::from_pairs(column.sketch().buckets()), true),
            (false, Some(values)) => {
                let counts: BTreeMap<String, u64> = values
                    .into_iter()
                    .map(|(v, c)| match v {
                        Value::Number(n) => (format_number(n), c),
                        Value::Text(t) => (t, c),
                    })
                    .collect();
                let total = counts.values().sum();
                (Self::Categorical { counts, total }, false)
            }
            (false, None) => (Self::Unavailable, false),
        }
    }

    fn total(&self) -> u64 {
        match self {
            Self::Numeric { total, .. } | Self::Categorical { total, .. } => *total,
            Self::Unavailable => 0,
        }
    }

    fn kind(&self) -> ColumnKind {
        match self {
            Self::Numeric { .. } => ColumnKind::Numeric,
            _ => ColumnKind::Categorical,
        }
    }

    /// Category counts (numbers keyed by their shortest round-trip text).
    fn categories(&self) -> BTreeMap<String, u64> {
        match self {
            Self::Numeric { values, counts, .. } => values
                .iter()
                .zip(counts)
                .map(|(v, c)| (format_number(*v), *c))
                .collect(),
            Self::Categorical { counts, .. } => counts.clone(),
            Self::Unavailable => BTreeMap::new(),
        }
    }
}

fn format_number(n: f64) -> String {
    format!("{n}")
}

fn distinct_union(reference: &Distribution, current: &Distribution) -> usize {
    if let (Distribution::Numeric { values: a, .. }, Distribution::Numeric { values: b, .. }) =
        (reference, current)
    {
        let (mut i, mut j, mut n) = (0, 0, 0);
        while i < a.len() || j < b.len() {
            n += 1;
            match (a.get(i), b.get(j)) {
                (Some(x), Some(y)) if x == y => {
                    i += 1;
                    j += 1;
                }
                (Some(x), Some(y)) if x < y => i += 1,
                (Some(_), None) => i += 1,
                _ => j += 1,
            }
        }
        n
    } else {
        let a = reference.categories();
        let b = current.categories();
        a.keys().chain(b.keys()).collect::<BTreeSet<_>>().len()
    }
}

/// Evidently's default choice of test.
fn default_test(kind: ColumnKind, reference_rows: u64, distinct: usize) -> StatTest {
    match (kind, reference_rows <= 1000) {
        (ColumnKind::Numeric, true) if distinct > 5 => StatTest::Ks,
        (ColumnKind::Numeric, false) if distinct > 5 => StatTest::Wasserstein,
        (_, true) if distinct > 2 => StatTest::ChiSquare,
        (_, true) => StatTest::ZTest,
        (_, false) => StatTest::JensenShannon,
    }
}

/// A column without a test result, with the reason.
fn not_tested(
    name: &str,
    kind: ColumnKind,
    reference: &Distribution,
    current: &Distribution,
    reason: String,
) -> ColumnDrift {
    ColumnDrift {
        column: name.to_owned(),
        kind,
        test: None,
        statistic: None,
        threshold: None,
        drifted: false,
        not_tested: Some(reason),
        reference_count: reference.total(),
        current_count: current.total(),
        approximate: false,
        note: None,
    }
}

/// Values longer than this (in characters), nearly all distinct, are free text.
const FREE_TEXT_LENGTH: u64 = 40;
/// Below this many rows a column of distinct values may still be a category.
const ID_MIN_ROWS: u64 = 10;

/// Why a text column whose profile kept no value counts (more than
/// [`crate::profile::TOP_VALUES_CAP`] distinct values) cannot be tested.
fn uncounted_text(reference: &ColumnProfile, current: &ColumnProfile) -> (ColumnKind, String) {
    let column = if reference.is_high_cardinality() {
        reference
    } else {
        current
    };
    let values = column.texts() + column.booleans();
    // The estimate (1.6% standard error) can exceed the rows.
    let distinct = column.distinct().min(values);
    let longest = column.text_length().map_or(0, |(_, hi)| hi);
    if u64_f64(distinct) >= 0.9 * u64_f64(values) {
        if longest > FREE_TEXT_LENGTH {
            return (
                ColumnKind::Text,
                format!(
                    "free text (about {distinct} distinct values of up to {longest} characters in {values} rows)"
                ),
            );
        }
        return (
            ColumnKind::Id,
            format!("id-like (about {distinct} distinct values in {values} rows)"),
        );
    }
    (
        ColumnKind::Categorical,
        format!(
            "high cardinality (about {distinct} distinct values in {values} rows): the profile keeps no value counts above {}",
            crate::profile::TOP_VALUES_CAP
        ),
    )
}

/// Why a text column with exact counts is not a category to test, if it is not.
fn counted_text(counts: &BTreeMap<String, u64>) -> Option<(ColumnKind, String)> {
    let rows: u64 = counts.values().sum();
    let distinct = counts.len() as u64;
    if rows < ID_MIN_ROWS || 2 * distinct <= rows {
        return None;
    }
    let longest = counts
        .keys()
        .map(|k| k.chars().count() as u64)
        .max()
        .unwrap_or(0);
    if longest > FREE_TEXT_LENGTH {
        return Some((
            ColumnKind::Text,
            format!(
                "free text ({distinct} distinct values of up to {longest} characters in {rows} rows)"
            ),
        ));
    }
    if distinct == rows {
        return Some((
            ColumnKind::Id,
            format!("id-like (every one of the {rows} values is distinct)"),
        ));
    }
    Some((
        ColumnKind::Categorical,
        format!(
            "high cardinality ({distinct} distinct values in {rows} rows: too few rows per value for a test)"
        ),
    ))
}

/// The column as days since 1970-01-01 when every value of both sides is a
/// date or a timestamp.
fn as_dates(
    reference: &Distribution,
    current: &Distribution,
) -> Option<(Distribution, Distribution)> {
    let days = |distribution: &Distribution| -> Option<Distribution> {
        let Distribution::Categorical { counts, .. } = distribution else {
            return None;
        };
        let pairs = counts
            .iter()
            .map(|(text, count)| {
                let bytes = text.trim().as_bytes();
                crate::schema::parse_date(bytes)
                    .map(|d| d as f64)
                    .or_else(|| crate::schema::parse_datetime(bytes).map(|s| s / 86_400.0))
                    .filter(|d| d.is_finite())
                    .map(|d| (d, *count))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Distribution::from_pairs(pairs))
    };
    if reference.total() == 0 && current.total() == 0 {
        return None;
    }
    Some((days(reference)?, days(current)?))
}

fn column_drift(
    name: &str,
    reference: &Distribution,
    current: &Distribution,
    approximate: bool,
    options: &ColumnOptions,
) -> ColumnDrift {
    let mut kind = if matches!(current, Distribution::Categorical { .. }) {
        ColumnKind::Categorical
    } else {
        reference.kind()
    };
    let dates;
    let (reference, current) = match as_dates(reference, current) {
        Some(converted) if kind == ColumnKind::Categorical => {
            kind = ColumnKind::Date;
            dates = converted;
            (&dates.0, &dates.1)
        }
        _ => (reference, current),
    };
    if reference.total() == 0 || current.total() == 0 {
        let side = if reference.total() == 0 {
            "reference"
        } else {
            "current"
        };
        return not_tested(
            name,
            kind,
            reference,
            current,
            format!("no values in the {side} data"),
        );
    }
    // Ids and free text have no distribution to compare, whatever test is named.
    if kind == ColumnKind::Categorical
        && let Some((kind, reason)) = counted_text(&reference.categories())
    {
        return not_tested(name, kind, reference, current, reason);
    }
    let distinct = distinct_union(reference, current);
    let test_kind = if kind == ColumnKind::Date {
        ColumnKind::Numeric
    } else {
        kind
    };
    let test = options
        .test
        .unwrap_or_else(|| default_test(test_kind, reference.total(), distinct));
    let threshold = options
        .threshold
        .unwrap_or_else(|| test.default_threshold());
    let mut result = ColumnDrift {
        column: name.to_owned(),
        kind,
        test: Some(test),
        statistic: None,
        threshold: Some(threshold),
        drifted: false,
        not_tested: None,
        reference_count: reference.total(),
        current_count: current.total(),
        approximate,
        note: (kind == ColumnKind::Date).then(|| "compared as days since 1970-01-01".to_owned()),
    };
    let Some(statistic) = statistic(test, reference, current) else {
        return not_tested(
            name,
            kind,
            reference,
            current,
            format!("{} needs numeric values", test.name()),
        );
    };
    // Never a NaN or an infinity in a report: a statistic that cannot be
    // computed leaves the column untested, and out of the share.
    if !statistic.is_finite() {
        return not_tested(
            name,
            kind,
            reference,
            current,
            format!("{} cannot be computed on these values", test.name()),
        );
    }
    result.statistic = Some(statistic);
    result.drifted = test.is_drift(statistic, threshold);
    result
}

/// The test's statistic; `None` when the test needs numbers and the column has none.
fn statistic(test: StatTest, reference: &Distribution, current: &Distribution) -> Option<f64> {
    Some(match (test, reference, current) {
        (
            StatTest::Ks | StatTest::Wasserstein,
            Distribution::Numeric {
                values: rv,
                counts: rc,
                total: rn,
            },
            Distribution::Numeric {
                values: cv,
                counts: cc,
                total: cn,
            },
        ) => {
            let (r, c) = (
                (rv.as_slice(), rc.as_slice(), *rn),
                (cv.as_slice(), cc.as_slice(), *cn),
            );
            if test == StatTest::Ks {
                ks_p_value(r, c).1
            } else {
                wasserstein_normed(r, c)
            }
        }
        (StatTest::Ks | StatTest::Wasserstein, _, _) => return None,
        (StatTest::ChiSquare, _, _) => chi_square(&reference.categories(), &current.categories()),
        (StatTest::ZTest, _, _) => z_test(&reference.categories(), &current.categories()),
        (StatTest::JensenShannon | StatTest::Psi, _, _) => {
            let (r, c) = binned_percents(reference, current);
            if test == StatTest::Psi {
                psi(&r, &c)
            } else {
                jensen_shannon(&r, &c)
            }
        }
    })
}

type Ecdf<'a> = (&'a [f64], &'a [u64], u64);

/// Two-sample KS statistic and two-sided p-value, as `scipy.stats.ks_2samp`
/// with `method="auto"`.
fn ks_p_value(reference: Ecdf<'_>, current: Ecdf<'_>) -> (f64, f64) {
    let (n1, n2) = (reference.2, current.2);
    let g = gcd(n1, n2);
    let (a, b) = (u128::from(n2 / g), u128::from(n1 / g));
    // |c1/n1 - c2/n2| * lcm = |c1 * n2/g - c2 * n1/g|, exactly in integers.
    let mut h: u128 = 0;
    let (mut i, mut j, mut c1, mut c2) = (0usize, 0usize, 0u128, 0u128);
    let (rv, rc, _) = reference;
    let (cv, cc, _) = current;
    while i < rv.len() || j < cv.len() {
        let x = match (rv.get(i), cv.get(j)) {
            (Some(x), Some(y)) => x.min(*y),
            (Some(x), None) => *x,
            (None, Some(y)) => *y,
            (None, None) => break,
        };
        while i < rv.len() && rv[i] <= x {
            c1 += u128::from(rc[i]);
            i += 1;
        }
        while j < cv.len() && cv[j] <= x {
            c2 += u128::from(cc[j]);
            j += 1;
        }
        h = h.max((c1 * a).abs_diff(c2 * b));
    }
    let lcm = u128::from(n1 / g) * u128::from(n2);
    #[allow(clippy::cast_precision_loss)]
    let d = h as f64 / lcm as f64;
    if h == 0 {
        return (d, 1.0);
    }
    if n1.max(n2) <= 10_000 {
        let h = u64::try_from(h).unwrap_or(u64::MAX);
        let p = if n1 == n2 {
            special::ks_prob_outside_square(n1, h)
        } else {
            special::ks_outer_prob_inside(n1, n2, g, h)
        };
        if (0.0..=1.0).contains(&p) {
            return (d, p);
        }
    }
    let (m, n) = (u64_f64(n1.max(n2)), u64_f64(n1.min(n2)));
    let en = m * n / (m + n);
    (d, special::kolmogorov_sf(en.round(), d).clamp(0.0, 1.0))
}

/// `scipy.stats.wasserstein_distance(reference, current) / max(np.std(reference), 0.001)`.
fn wasserstein_normed(reference: Ecdf<'_>, current: Ecdf<'_>) -> f64 {
    let (rv, rc, rn) = reference;
    let (cv, cc, cn) = current;
    let (rnf, cnf) = (u64_f64(rn), u64_f64(cn));
    let mut sum = Neumaier::default();
    let (mut i, mut j, mut c1, mut c2) = (0usize, 0usize, 0u64, 0u64);
    let mut previous: Option<f64> = None;
    while i < rv.len() || j < cv.len() {
        let x = match (rv.get(i), cv.get(j)) {
            (Some(x), Some(y)) => x.min(*y),
            (Some(x), None) => *x,
            (None, Some(y)) => *y,
            (None, None) => break,
        };
        if let Some(p) = previous {
            sum.add((u64_f64(c1) / rnf - u64_f64(c2) / cnf).abs() * (x - p));
        }
        while i < rv.len() && rv[i] <= x {
            c1 += rc[i];
            i += 1;
        }
        while j < cv.len() && cv[j] <= x {
            c2 += cc[j];
            j += 1;
        }
        previous = Some(x);
    }
    // Population standard deviation of the reference (np.std).
    let mut mean = Neumaier::default();
    for (v, c) in rv.iter().zip(rc) {
        mean.add(v * u64_f64(*c));
    }
    let mean = mean.value() / rnf;
    let mut squares = Neumaier::default();
    for (v, c) in rv.iter().zip(rc) {
        squares.add((v - mean) * (v - mean) * u64_f64(*c));
    }
    let std = (squares.value() / rnf).sqrt();
    sum.value() / std.max(0.001)
}

/// `scipy.stats.chisquare(f_obs=current, f_exp=reference * n_cur / n_ref)` p-value.
fn chi_square(reference: &BTreeMap<String, u64>, current: &BTreeMap<String, u64>) -> f64 {
    let keys: BTreeSet<&String> = reference.keys().chain(current.keys()).collect();
    if keys.len() < 2 {
        return 1.0;
    }
    let rn: u64 = reference.values().sum();
    let cn: u64 = current.values().sum();
    let k_norm = u64_f64(cn) / u64_f64(rn);
    let mut statistic = Neumaier::default();
    for key in &keys {
        let expected = u64_f64(reference.get(*key).copied().unwrap_or(0)) * k_norm;
        let observed = u64_f64(current.get(*key).copied().unwrap_or(0));
        statistic.add((observed - expected) * (observed - expected) / expected);
    }
    special::chi2_sf(statistic.value(), usize_f64(keys.len() - 1))
}

/// Evidently's two-proportion z-test p-value (binary columns).
fn z_test(reference: &BTreeMap<String, u64>, current: &BTreeMap<String, u64>) -> f64 {
    let keys: BTreeSet<&String> = reference.keys().chain(current.keys()).collect();
    let Some(first) = keys.iter().next() else {
        return 1.0;
    };
    if keys.len() == 1 {
        return 1.0;
    }
    let rn = u64_f64(reference.values().sum());
    let cn = u64_f64(current.values().sum());
    let p1 = u64_f64(reference.get(*first).copied().unwrap_or(0)) / rn;
    let p2 = u64_f64(current.get(*first).copied().unwrap_or(0)) / cn;
    let pooled = (p1 * rn + p2 * cn) / (rn + cn);
    let z = (p1 - p2) / (pooled * (1.0 - pooled) * (1.0 / rn + 1.0 / cn)).sqrt();
    special::normal_two_sided(z)
}

/// Evidently's `get_binned_data`: shares per Sturges histogram bin (numeric
/// with more than 20 distinct reference values) or per category, zero shares
/// replaced by a small value.
fn binned_percents(reference: &Distribution, current: &Distribution) -> (Vec<f64>, Vec<f64>) {
    let (mut r, mut c) = match (reference, current) {
        (
            Distribution::Numeric {
                values: rv,
                counts: rc,
                total: rn,
            },
            Distribution::Numeric {
                values: cv,
                counts: cc,
                total: cn,
            },
        ) if rv.len() > 20 => {
            let lo = rv[0].min(cv[0]);
            let hi = rv[rv.len() - 1].max(cv[cv.len() - 1]);
            let edges = sturges_edges(lo, hi, rn + cn);
            let r = histogram(&edges, rv, rc, *rn);
            let c = histogram(&edges, cv, cc, *cn);
            (r, c)
        }
        _ => {
            let rcat = reference.categories();
            let ccat = current.categories();
            let rn = u64_f64(reference.total());
            let cn = u64_f64(current.total());
            let keys: BTreeSet<&String> = rcat.keys().chain(ccat.keys()).collect();
            let r = keys
                .iter()
                .map(|k| u64_f64(rcat.get(*k).copied().unwrap_or(0)) / rn)
                .collect();
            let c = keys
                .iter()
                .map(|k| u64_f64(ccat.get(*k).copied().unwrap_or(0)) / cn)
                .collect();
            (r, c)
        }
    };
    fill_zeroes(&mut r);
    fill_zeroes(&mut c);
    (r, c)
}

fn fill_zeroes(shares: &mut [f64]) {
    let smallest = shares
        .iter()
        .copied()
        .filter(|s| *s != 0.0)
        .fold(f64::INFINITY, f64::min);
    if !smallest.is_finite() {
        return;
    }
    let fill = if smallest <= 0.0001 {
        smallest / 1e6
    } else {
        0.0001
    };
    for s in shares.iter_mut().filter(|s| **s == 0.0) {
        *s = fill;
    }
}

/// `np.histogram_bin_edges(data, bins="sturges")` for data spanning `lo..=hi`.
fn sturges_edges(mut lo: f64, mut hi: f64, n: u64) -> Vec<f64> {
    if lo == hi {
        lo -= 0.5;
        hi += 0.5;
    }
    let width = (hi - lo) / (u64_f64(n).log2() + 1.0);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let bins = if width > 0.0 {
        ((hi - lo) / width).ceil() as usize
    } else {
        1
    };
    let step = (hi - lo) / usize_f64(bins);
    let mut edges: Vec<f64> = (0..=bins).map(|i| usize_f64(i) * step + lo).collect();
    edges[bins] = hi;
    edges
}

/// `np.histogram(values, edges)[0] / total` (last bin closed on the right).
fn histogram(edges: &[f64], values: &[f64], counts: &[u64], total: u64) -> Vec<f64> {
    let bins = edges.len() - 1;
    let mut out = vec![0u64; bins];
    for (v, c) in values.iter().zip(counts) {
        if *v < edges[0] || *v > edges[bins] {
            continue;
        }
        let index = edges
            .partition_point(|e| e <= v)
            .saturating_sub(1)
            .min(bins - 1);
        out[index] += c;
    }
    out.into_iter()
        .map(|c| u64_f64(c) / u64_f64(total))
        .collect()
}

/// `scipy.spatial.distance.jensenshannon(p, q)` (natural logarithm).
fn jensen_shannon(p: &[f64], q: &[f64]) -> f64 {
    let ps: f64 = p.iter().sum();
    let qs: f64 = q.iter().sum();
    let mut total = Neumaier::default();
    for (a, b) in p.iter().zip(q) {
        let (a, b) = (a / ps, b / qs);
        let m = f64::midpoint(a, b);
        total.add(rel_entr(a, m));
        total.add(rel_entr(b, m));
    }
    (total.value() / 2.0).sqrt()
}

fn rel_entr(x: f64, y: f64) -> f64 {
    if x > 0.0 && y > 0.0 {
        x * (x / y).ln()
    } else if x == 0.0 && y >= 0.0 {
        0.0
    } else {
        f64::INFINITY
    }
}

/// Population Stability Index: `sum((r - c) * ln(r / c))`.
fn psi(reference: &[f64], current: &[f64]) -> f64 {
    let mut total = Neumaier::default();
    for (r, c) in reference.iter().zip(current) {
        total.add((r - c) * (r / c).ln());
    }
    total.value()
}

/// Neumaier's compensated summation.
#[derive(Default)]
struct Neumaier {
    sum: f64,
    compensation: f64,
}

impl Neumaier {
    fn add(&mut self, value: f64) {
        let t = self.sum + value;
        if !t.is_finite() {
            self.sum = t;
            return;
        }
        if self.sum.abs() >= value.abs() {
            self.compensation += (self.sum - t) + value;
        } else {
            self.compensation += (value - t) + self.sum;
        }
        self.sum = t;
    }
    fn value(&self) -> f64 {
        if !self.sum.is_finite() {
            return self.sum;
        }
        self.sum + self.compensation
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[allow(clippy::cast_precision_loss)]
fn u64_f64(v: u64) -> f64 {
    v as f64
}

#[allow(clippy::cast_precision_loss)]
fn usize_f64(v: usize) -> f64 {
    v as f64
}

/// Sorts finite doubles ascending with an LSD radix sort on their bits
/// (11-bit digits; passes where every key shares the digit are skipped).
/// Several times faster than a comparison sort for a million values.
pub fn radix_sort(values: &mut [f64]) {
    const BITS: u32 = 11;
    const BUCKETS: usize = 1 << BITS;
    if values.len() < 256 {
        values.sort_unstable_by(f64::total_cmp);
        return;
    }
    let key = |v: f64| -> u64 {
        let bits = (if v == 0.0 { 0.0 } else { v }).to_bits();
        if bits >> 63 == 1 {
            !bits
        } else {
            bits | (1 << 63)
        }
    };
    let mut keys: Vec<u64> = values.iter().map(|&v| key(v)).collect();
    let passes = 64u32.div_ceil(BITS) as usize;
    let mut histograms = vec![[0usize; BUCKETS]; passes];
    for &k in &keys {
        for (pass, histogram) in histograms.iter_mut().enumerate() {
            histogram[((k >> (pass as u32 * BITS)) as usize) & (BUCKETS - 1)] += 1;
        }
    }
    let mut scratch = vec![0u64; keys.len()];
    for (pass, histogram) in histograms.iter().enumerate() {
        if histogram.contains(&keys.len()) {
            continue;
        }
        let mut offsets = [0usize; BUCKETS];
        let mut running = 0;
        for (offset, count) in offsets.iter_mut().zip(histogram) {
            *offset = running;
            running += count;
        }
        for &k in &keys {
            let digit = ((k >> (pass as u32 * BITS)) as usize) & (BUCKETS - 1);
            scratch[offsets[digit]] = k;
            offsets[digit] += 1;
        }
        std::mem::swap(&mut keys, &mut scratch);
    }
    for (slot, k) in values.iter_mut().zip(keys) {
        let bits = if k >> 63 == 1 { k & !(1 << 63) } else { !k };
        *slot = f64::from_bits(bits);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radix_sort_sorts() {
        let mut values: Vec<f64> = (0..5000)
            .map(|i| f64::from((i * 7919) % 5003) - 2500.5)
            .collect();
        values.extend([-0.0, 0.0, 1e-300, -1e300, f64::MIN_POSITIVE]);
        let mut expected = values.clone();
        expected.sort_by(f64::total_cmp);
        radix_sort(&mut values);
        for (a, b) in values.iter().zip(&expected) {
            assert!(a == b, "{a} vs {b}");
        }
    }

    fn counts<'a>(values: impl IntoIterator<Item = &'a str>) -> ColumnData {
        let mut out = BTreeMap::new();
        for v in values {
            *out.entry(v.to_owned()).or_insert(0) += 1;
        }
        ColumnData::Categorical(out)
    }

    fn one(name: &str, reference: ColumnData, current: ColumnData) -> ColumnDrift {
        let pair = ColumnPair {
            name: name.to_owned(),
            reference,
            current,
        };
        drift(vec![pair], &DriftOptions::default())
            .columns
            .remove(0)
    }

    fn assert_finite(report: &DriftReport) {
        let json = serde_json::to_string(report).unwrap_or_default();
        assert!(!json.contains("null") && !json.contains("NaN"), "{json}");
        assert!(!report.markdown().contains("NaN") && !report.markdown().contains("inf"));
    }

    #[test]
    fn ids_are_not_tested_and_leave_the_share() {
        let ids: Vec<String> = (0..50).map(|i| format!("P-{i:05}")).collect();
        let later: Vec<String> = (50..100).map(|i| format!("P-{i:05}")).collect();
        let column = one(
            "id",
            counts(ids.iter().map(String::as_str)),
            counts(later.iter().map(String::as_str)),
        );
        assert_eq!(column.kind, ColumnKind::Id);
        assert_eq!((column.test, column.statistic), (None, None));
        assert!(!column.drifted);
        assert_eq!(
            column.not_tested.as_deref(),
            Some("id-like (every one of the 50 values is distinct)")
        );
        // One drifted numeric column and the id: the share is 1 of 1 tested.
        let report = drift(
            vec![
                ColumnPair {
                    name: "id".into(),
                    reference: counts(ids.iter().map(String::as_str)),
                    current: counts(later.iter().map(String::as_str)),
                },
                ColumnPair {
                    name: "x".into(),
                    reference: ColumnData::Numeric((0..50).map(f64::from).collect()),
                    current: ColumnData::Numeric((100..150).map(f64::from).collect()),
                },
            ],
            &DriftOptions {
                drift_share: 0.75,
                ..DriftOptions::default()
            },
        );
        assert_eq!((report.tested_columns, report.drifted_columns), (1, 1));
        assert!(report.dataset_drift);
        assert!(report.markdown().contains(
            "| id | not tested: id-like (every one of the 50 values is distinct) | - | - | - |"
        ));
    }

    #[test]
    fn free_text_is_not_tested() {
        let notes: Vec<String> = (0..30)
            .map(|i| format!("patient {i} reports mild symptoms after the second visit"))
            .collect();
        let column = one(
            "notes",
            counts(notes.iter().map(String::as_str)),
            counts(notes.iter().map(String::as_str)),
        );
        assert_eq!(column.kind, ColumnKind::Text);
        assert!(
            column
                .not_tested
                .unwrap()
                .starts_with("free text (30 distinct values")
        );
    }

    #[test]
    fn dates_are_compared_as_days() {
        let days: Vec<String> = (1..=28).map(|d| format!("2024-02-{d:02}")).collect();
        let later: Vec<String> = (1..=28)
            .map(|d| format!("2025-02-{d:02}T08:30:00Z"))
            .collect();
        let column = one(
            "visited",
            counts(days.iter().map(String::as_str)),
            counts(later.iter().map(String::as_str)),
        );
        assert_eq!(column.kind, ColumnKind::Date);
        assert_eq!(column.test, Some(StatTest::Ks));
        // Two disjoint ranges: the smallest p-value there is, finite.
        assert!(column.statistic.is_some_and(|p| p < 1e-9), "{column:?}");
        assert!(column.drifted);
        let same = one(
            "visited",
            counts(days.iter().map(String::as_str)),
            counts(days.iter().map(String::as_str)),
        );
        assert_eq!(same.statistic, Some(1.0));
    }

    #[test]
    fn low_cardinality_categories_keep_their_tests() {
        let column = one(
            "channel",
            counts(["web", "store", "phone", "web", "store", "web"]),
            counts(["web", "phone", "phone", "store"]),
        );
        assert_eq!(column.kind, ColumnKind::Categorical);
        assert_eq!(column.test, Some(StatTest::ChiSquare));
        assert!(column.statistic.is_some_and(f64::is_finite));
    }

    #[test]
    fn what_cannot_be_computed_is_not_tested_rather_than_nan() {
        // An empty side.
        let column = one(
            "x",
            ColumnData::Numeric(vec![1.0, 2.0]),
            ColumnData::Numeric(vec![f64::NAN]),
        );
        assert_eq!(
            column.not_tested.as_deref(),
            Some("no values in the current data")
        );
        // Constant on both sides: KS says "same", never NaN.
        let column = one(
            "x",
            ColumnData::Numeric(vec![3.0; 20]),
            ColumnData::Numeric(vec![3.0; 20]),
        );
        assert_eq!(column.statistic, Some(1.0));
        // A category that is new in the current data: the z-test's pooled
        // variance is finite; a zero one would leave the column untested.
        let report = drift(
            vec![ColumnPair {
                name: "flag".into(),
                reference: counts(["a"; 10]),
                current: counts(["b"; 10]),
            }],
            &DriftOptions::default(),
        );
        assert!(report.columns[0].statistic.is_some_and(f64::is_finite));
        // PSI on constant columns.
        let mut psi = DriftOptions::default();
        psi.all.test = Some(StatTest::Psi);
        let report = drift(
            vec![ColumnPair {
                name: "x".into(),
                reference: ColumnData::Numeric(vec![1.0; 5]),
                current: ColumnData::Numeric(vec![1.0; 5]),
            }],
            &psi,
        );
        assert_finite(&report);
    }

    #[test]
    fn high_cardinality_text_in_profiles_is_not_tested() {
        let mut reference = DatasetProfile::new(["id", "comment"]);
        let mut current = DatasetProfile::new(["id", "comment"]);
        for (i, profile) in [(0, &mut reference), (5000, &mut current)] {
            for row in i..i + 3000 {
                profile.rows += 1;
                profile.columns[0].observe_text(&format!("row-{row}"));
                profile.columns[1].observe_text(&format!(
                    "a long comment about row {row}, written by hand, with words"
                ));
            }
        }
        let report = drift_profiles(&reference, &current, &DriftOptions::default()).unwrap();
        assert_eq!(report.columns[0].kind, ColumnKind::Id);
        assert_eq!(report.columns[1].kind, ColumnKind::Text);
        assert_eq!(report.tested_columns, 0);
        assert!(!report.dataset_drift);
        assert_finite(&report);
    }

    #[test]
    fn default_tests_follow_evidently() {
        assert_eq!(default_test(ColumnKind::Numeric, 1000, 6), StatTest::Ks);
        assert_eq!(
            default_test(ColumnKind::Numeric, 1001, 6),
            StatTest::Wasserstein
        );
        assert_eq!(
            default_test(ColumnKind::Numeric, 10, 5),
            StatTest::ChiSquare
        );
        assert_eq!(default_test(ColumnKind::Numeric, 10, 2), StatTest::ZTest);
        assert_eq!(
            default_test(ColumnKind::Numeric, 5000, 3),
            StatTest::JensenShannon
        );
        assert_eq!(
            default_test(ColumnKind::Categorical, 5000, 30),
            StatTest::JensenShannon
        );
        assert_eq!(
            default_test(ColumnKind::Categorical, 50, 3),
            StatTest::ChiSquare
        );
    }
}
