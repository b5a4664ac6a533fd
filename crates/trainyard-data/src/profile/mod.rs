//! Per-column statistics from one streaming pass, with mergeable sketches.
//!
//! Every statistic is **order-independent**: integer counts, min/max, an exact
//! fixed-point sum of the values and of their (exactly computed) squares, a
//! bucket histogram keyed by the bits of each value, HyperLogLog registers
//! (merged by maximum) and exact value counts up to [`TOP_VALUES_CAP`]
//! distinct values. So the profile of a dataset is the same bit for bit
//! whether it was computed in one pass, in parallel chunks, or in shards on
//! different machines merged later (`--shard i/n` then `data merge`).
//!
//! ```
//! use trainyard_data::profile::{ColumnProfile, DatasetProfile};
//! let mut a = ColumnProfile::new("x");
//! a.observe_number(1.0);
//! a.observe_null();
//! let mut b = ColumnProfile::new("x");
//! b.observe_number(3.0);
//! a.merge(&b);
//! assert_eq!(a.mean(), Some(2.0));
//! ```

mod exact;
mod sketch;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::collections::hash_map::Entry;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use exact::{ExactSum, LSB_EXPONENT, SquareSum, ValueSum};
pub use sketch::{HyperLogLog, QUANTILE_RELATIVE_ERROR, QuantileSketch};
use sketch::{MixMap, hash_bytes, hash_u64};

/// Exact value counts are kept while a column has at most this many distinct
/// values; beyond it the column is marked high-cardinality and the counts are
/// dropped (whether the cap is exceeded does not depend on the order of rows).
pub const TOP_VALUES_CAP: usize = 1000;

/// The format version written in profile files.
pub const PROFILE_FORMAT_VERSION: u32 = 1;

/// Quantiles reported in the saved profile (the sketch answers any other).
const REPORTED_QUANTILES: [(&str, f64); 7] = [
    ("p01", 0.01),
    ("p05", 0.05),
    ("p25", 0.25),
    ("p50", 0.5),
    ("p75", 0.75),
    ("p95", 0.95),
    ("p99", 0.99),
];

/// SplitMix64: a small deterministic generator for the profile's tests.
#[cfg(test)]
pub(crate) struct TestRng(pub(crate) u64);

#[cfg(test)]
impl TestRng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

const TEXT_HASH_SEED: u64 = 0x7472_6169_6e79_6172; // "trainyar"
const NUMBER_HASH_SEED: u64 = 0x6e75_6d62_6572_7321;

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error(
        "cannot merge profiles with different columns: {} vs {}",
        left.join(", "),
        right.join(", ")
    )]
    ColumnMismatch {
        left: Vec<String>,
        right: Vec<String>,
    },
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a trainyard profile: {message}")]
    Format { path: PathBuf, message: String },
    /// The merged counts would not fit 64 bits: one of the profiles is not real.
    #[error("cannot merge profiles: the {what} add up to more than {}", u64::MAX)]
    Overflow { what: &'static str },
}

/// A value counted exactly while the column is below [`TOP_VALUES_CAP`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Number(f64),
    Text(String),
}

/// Streaming statistics of one column.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnProfile {
    name: String,
    count: u64,
    nulls: u64,
    numbers: u64,
    texts: u64,
    booleans: u64,
    non_finite: u64,
    hll: HyperLogLog,
    text_length: Option<(u64, u64)>,
    values: Values,
}

/// The values of a column: counted exactly, or summarised once there are too
/// many distinct ones.
///
/// While the counts are exact they determine every numeric statistic (min,
/// max, the exact sums, the quantile buckets), so those are not kept per cell:
/// they are derived from the counts when read ([`ColumnProfile::number_summary`])
/// and when the counts are dropped ([`ColumnProfile::summarise`]). Nothing can
/// read them another way, so no merge, comparison or save can see a stale one.
#[derive(Debug, Clone, PartialEq)]
enum Values {
    /// At most [`TOP_VALUES_CAP`] distinct values: numbers by their bits.
    Counted {
        numbers: MixMap<u64, u64>,
        texts: TextCounts,
    },
    /// More distinct values: the counts were dropped.
    Summarised(Box<NumberSummary>),
}

impl Default for Values {
    fn default() -> Self {
        Self::Counted {
            numbers: MixMap::default(),
            texts: TextCounts::default(),
        }
    }
}

/// The order-independent statistics of the finite numbers of a column.
#[derive(Debug, Clone, PartialEq)]
struct NumberSummary {
    /// `+inf` / `-inf` until the first number (no `Option` test per cell).
    min: f64,
    max: f64,
    sum: ValueSum,
    squares: SquareSum,
    sketch: QuantileSketch,
}

impl NumberSummary {
    fn new() -> Self {
        Self {
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            sum: ValueSum::default(),
            squares: SquareSum::default(),
            sketch: QuantileSketch::default(),
        }
    }

    /// A finite number (`-0.0` already turned into `0.0`).
    #[inline]
    fn add(&mut self, value: f64) {
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        self.sum.add(value);
        self.squares.add_square(value);
        self.sketch.add(value);
    }

    /// The same state as `count` calls of [`Self::add`].
    fn add_times(&mut self, value: f64, count: u64) {
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        self.sum.add_times(value, count);
        self.squares.add_square_times(value, count);
        self.sketch.add_times(value, count);
    }

    /// The statistics of counted numbers (keys are the bits of the values).
    fn from_counts(counts: &MixMap<u64, u64>) -> Self {
        let mut summary = Self::new();
        for (&bits, &count) in counts {
            summary.add_times(f64::from_bits(bits), count);
        }
        summary
    }

    fn merge(&mut self, other: &Self) {
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.sum.merge(&other.sum);
        self.squares.merge(&other.squares);
        self.sketch.merge(&other.sketch);
    }

    fn min(&self) -> Option<f64> {
        (self.min <= self.max).then_some(self.min)
    }

    fn max(&self) -> Option<f64> {
        (self.min <= self.max).then_some(self.max)
    }

    /// The value at quantile `q`, clamped to the observed range.
    fn quantile(&self, q: f64) -> Option<f64> {
        self.sketch
            .quantile(q)
            .map(|v| v.clamp(self.min().unwrap_or(v), self.max().unwrap_or(v)))
    }
}

/// Exact counts of text values: up to 15 bytes keyed by their bytes and length
/// in one `u128` (no allocation, no string hashing or compare per cell),
/// longer ones by `String`. A value always goes to the same map (by length).
#[derive(Debug, Clone, Default, PartialEq)]
struct TextCounts {
    short: MixMap<u128, u64>,
    long: MixMap<String, u64>,
}

/// Up to 15 bytes and their length (in the top byte) as one word: distinct
/// values, distinct words.
#[inline]
fn short_key(value: &[u8]) -> Option<u128> {
    // Built from two (possibly overlapping) loads, never through a buffer
    // written byte by byte and read back as a word (a store-forwarding stall):
    // where the loads overlap they hold the same bytes, so or-ing them is exact.
    let length = value.len();
    let bytes = match length {
        0 => 0,
        1..=3 => {
            u128::from(value[0])
                | u128::from(value[length / 2]) << (8 * (length / 2))
                | u128::from(value[length - 1]) << (8 * (length - 1))
        }
        4..=7 => {
            u128::from(load_u32(&value[..4]))
                | u128::from(load_u32(&value[length - 4..])) << (8 * (length - 4))
        }
        8..=15 => {
            u128::from(load_u64(&value[..8]))
                | u128::from(load_u64(&value[length - 8..])) << (8 * (length - 8))
        }
        _ => return None,
    };
    Some(bytes | (length as u128) << 120)
}

#[inline]
fn load_u32(bytes: &[u8]) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[..4]);
    u32::from_le_bytes(word)
}

#[inline]
fn load_u64(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(word)
}

fn short_text(key: u128) -> String {
    let word = key.to_le_bytes();
    let length = usize::from(word[15]).min(15);
    String::from_utf8_lossy(&word[..length]).into_owned()
}

impl TextCounts {
    fn len(&self) -> usize {
        self.short.len() + self.long.len()
    }

    /// One more `value`; `true` when it was not seen before.
    #[inline]
    fn count(&mut self, value: &str) -> bool {
        if let Some(key) = short_key(value.as_bytes()) {
            match self.short.entry(key) {
                Entry::Occupied(mut count) => {
                    *count.get_mut() += 1;
                    false
                }
                Entry::Vacant(slot) => {
                    slot.insert(1);
                    true
                }
            }
        } else if let Some(count) = self.long.get_mut(value) {
            *count += 1;
            false
        } else {
            self.long.insert(value.to_owned(), 1);
            true
        }
    }

    /// Every value's count.
    fn counts(&self) -> impl Iterator<Item = u64> + '_ {
        self.short.values().chain(self.long.values()).copied()
    }

    fn add(&mut self, value: &str, count: u64) {
        match short_key(value.as_bytes()) {
            Some(key) => *self.short.entry(key).or_insert(0) += count,
            None => *self.long.entry(value.to_owned()).or_insert(0) += count,
        }
    }

    fn merge(&mut self, other: &Self) {
        for (key, count) in &other.short {
            *self.short.entry(*key).or_insert(0) += count;
        }
        for (key, count) in &other.long {
            *self.long.entry(key.clone()).or_insert(0) += count;
        }
    }

    fn to_vec(&self) -> Vec<(String, u64)> {
        self.short
            .iter()
            .map(|(key, count)| (short_text(*key), *count))
            .chain(self.long.iter().map(|(text, count)| (text.clone(), *count)))
            .collect()
    }
}

/// `value.chars().count()`: the bytes that do not continue a character. One
/// loop the compiler vectorises, with no per-character decoding (most values
/// are ASCII: the count is then the length).
#[inline]
fn char_count(value: &str) -> u64 {
    value
        .as_bytes()
        .iter()
        .map(|&byte| u64::from(byte & 0xc0 != 0x80))
        .sum()
}

impl ColumnProfile {
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            count: 0,
            nulls: 0,
            numbers: 0,
            texts: 0,
            booleans: 0,
            non_finite: 0,
            hll: HyperLogLog::default(),
            text_length: None,
            values: Values::default(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    #[inline]
    pub fn observe_null(&mut self) {
        self.count += 1;
        self.nulls += 1;
    }

    /// A numeric cell. NaN and infinities are counted (`non_finite`) but kept
    /// out of the numeric statistics; `-0.0` is treated as `0.0`.
    #[inline]
    pub fn observe_number(&mut self, value: f64) {
        self.count += 1;
        if !value.is_finite() {
            self.non_finite += 1;
            return;
        }
        let value = if value == 0.0 { 0.0 } else { value };
        self.numbers += 1;
        let bits = value.to_bits();
        match &mut self.values {
            Values::Summarised(summary) => {
                summary.add(value);
                self.hll.add_hash(hash_u64(NUMBER_HASH_SEED, bits));
            }
            // While counts are exact, a value is hashed into the HyperLogLog only
            // the first time it is seen: registers keep a maximum, so a repeated
            // hash never changes them and the state is the same as hashing every cell.
            Values::Counted { numbers, .. } => match numbers.entry(bits) {
                Entry::Occupied(mut count) => *count.get_mut() += 1,
                Entry::Vacant(slot) => {
                    slot.insert(1);
                    self.hll.add_hash(hash_u64(NUMBER_HASH_SEED, bits));
                    self.check_cap();
                }
            },
        }
    }

    /// A text (or categorical, date, ...) cell, counted by its exact bytes.
    #[inline]
    pub fn observe_text(&mut self, value: &str) {
        self.count += 1;
        self.texts += 1;
        self.observe_text_value(value);
    }

    /// A boolean cell; counted as the values `true` / `false`.
    pub fn observe_bool(&mut self, value: bool) {
        self.count += 1;
        self.booleans += 1;
        self.observe_text_value(if value { "true" } else { "false" });
    }

    #[inline]
    fn observe_text_value(&mut self, value: &str) {
        // While counts are exact, a value's length and hash are taken the first
        // time it is seen only: length bounds and HyperLogLog registers keep a
        // minimum / maximum, so a repeat never changes them and the state is
        // the same as taking them for every cell.
        match &mut self.values {
            Values::Summarised(_) => self.observe_distinct_text(value),
            Values::Counted { texts, .. } => {
                if texts.count(value) {
                    self.observe_distinct_text(value);
                    self.check_cap();
                }
            }
        }
    }

    #[inline]
    fn observe_distinct_text(&mut self, value: &str) {
        let length = char_count(value);
        self.text_length = Some(match self.text_length {
            Some((lo, hi)) => (lo.min(length), hi.max(length)),
            None => (length, length),
        });
        self.hll
            .add_hash(hash_bytes(TEXT_HASH_SEED, value.as_bytes()));
    }

    fn check_cap(&mut self) {
        if let Values::Counted { numbers, texts } = &self.values
            && numbers.len() + texts.len() > TOP_VALUES_CAP
        {
            self.summarise();
        }
    }

    /// Drops the value counts, keeping the numeric statistics they determine.
    fn summarise(&mut self) {
        if let Values::Counted { numbers, .. } = &self.values {
            self.values = Values::Summarised(Box::new(NumberSummary::from_counts(numbers)));
        }
    }

    /// The numeric statistics: kept, or derived from the exact counts.
    fn number_summary(&self) -> Cow<'_, NumberSummary> {
        match &self.values {
            Values::Summarised(summary) => Cow::Borrowed(summary),
            Values::Counted { numbers, .. } => Cow::Owned(NumberSummary::from_counts(numbers)),
        }
    }

    /// Adds another profile of the same column (another chunk or shard).
    pub fn merge(&mut self, other: &Self) {
        self.count += other.count;
        self.nulls += other.nulls;
        self.numbers += other.numbers;
        self.texts += other.texts;
        self.booleans += other.booleans;
        self.non_finite += other.non_finite;
        self.hll.merge(&other.hll);
        self.text_length = match (self.text_length, other.text_length) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (a, b) => a.or(b),
        };
        if let (
            Values::Counted { numbers, texts },
            Values::Counted {
                numbers: their_numbers,
                texts: their_texts,
            },
        ) = (&mut self.values, &other.values)
        {
            for (key, count) in their_numbers {
                *numbers.entry(*key).or_insert(0) += count;
            }
            texts.merge(their_texts);
            self.check_cap();
        } else {
            self.summarise();
            if let Values::Summarised(summary) = &mut self.values {
                summary.merge(&other.number_summary());
            }
        }
    }

    /// The counts of a loaded column are those of cells seen: no more cells than
    /// `rows`, the kinds of cell adding up to the cells, the counted values to
    /// the values (so sums of merged profiles cannot wrap).
    fn check_counts(&self, rows: u64) -> Result<(), String> {
        if self.count > rows {
            return Err(format!("{} cells in a profile of {rows} rows", self.count));
        }
        let kinds = [
            self.nulls,
            self.numbers,
            self.non_finite,
            self.texts,
            self.booleans,
        ]
        .into_iter()
        .try_fold(0_u64, u64::checked_add);
        if kinds != Some(self.count) {
            return Err(format!(
                "nulls, numbers, non-finite numbers, texts and booleans do not add up to its {} cells",
                self.count
            ));
        }
        if let Values::Counted { numbers, texts } = &self.values {
            let counted = numbers
                .values()
                .copied()
                .chain(texts.counts())
                .try_fold(0_u64, u64::checked_add);
            if counted.is_none_or(|counted| counted > self.count) {
                return Err(format!(
                    "its value counts add up to more than its {} cells",
                    self.count
                ));
            }
        }
        Ok(())
    }

    /// Cells seen, nulls included.
    pub fn count(&self) -> u64 {
        self.count
    }
    pub fn nulls(&self) -> u64 {
        self.nulls
    }
    /// Finite numeric cells.
    pub fn numbers(&self) -> u64 {
        self.numbers
    }
    pub fn texts(&self) -> u64 {
        self.texts
    }
    pub fn booleans(&self) -> u64 {
        self.booleans
    }
    pub fn non_finite(&self) -> u64 {
        self.non_finite
    }
    pub fn min(&self) -> Option<f64> {
        match &self.values {
            Values::Summarised(summary) => summary.min(),
            Values::Counted { numbers, .. } => numbers
                .keys()
                .map(|bits| f64::from_bits(*bits))
                .reduce(f64::min),
        }
    }
    pub fn max(&self) -> Option<f64> {
        match &self.values {
            Values::Summarised(summary) => summary.max(),
            Values::Counted { numbers, .. } => numbers
                .keys()
                .map(|bits| f64::from_bits(*bits))
                .reduce(f64::max),
        }
    }
    /// Fraction of null cells (0 when the column is empty).
    pub fn null_fraction(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            ratio(self.nulls, self.count)
        }
    }
    /// `(min, max)` length in characters of the text cells.
    pub fn text_length(&self) -> Option<(u64, u64)> {
        self.text_length
    }

    /// The exact sum of the numeric cells, rounded once.
    pub fn sum(&self) -> f64 {
        self.number_summary().sum.to_exact().to_f64()
    }

    /// The mean of the numeric cells (the exact sum rounded, divided by n).
    pub fn mean(&self) -> Option<f64> {
        (self.numbers > 0).then(|| self.sum() / u64_to_f64(self.numbers))
    }

    /// Population variance (divides by n, like `numpy.var`).
    pub fn variance_population(&self) -> Option<f64> {
        let n = u64_to_f64(self.numbers);
        scaled_second_moment(self.numbers, &self.number_summary()).map(|m| m / n / n)
    }

    /// Sample variance (divides by n - 1, like pandas); `None` below 2 values.
    pub fn variance(&self) -> Option<f64> {
        sample_variance(self.numbers, &self.number_summary())
    }

    /// Sample standard deviation.
    pub fn std(&self) -> Option<f64> {
        self.variance().map(f64::sqrt)
    }

    /// The quantile sketch of the numeric cells.
    pub fn sketch(&self) -> Cow<'_, QuantileSketch> {
        match self.number_summary() {
            Cow::Borrowed(summary) => Cow::Borrowed(&summary.sketch),
            Cow::Owned(summary) => Cow::Owned(summary.sketch),
        }
    }

    /// The value at quantile `q` of the numeric cells, within
    /// [`QUANTILE_RELATIVE_ERROR`] (relative) of the exact one.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        self.number_summary().quantile(q)
    }

    /// Distinct non-null values: exact below [`TOP_VALUES_CAP`], else the
    /// HyperLogLog estimate (1.6% standard error).
    pub fn distinct(&self) -> u64 {
        match &self.values {
            Values::Summarised(_) => {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let estimate = self.hll.estimate().round() as u64;
                estimate
            }
            Values::Counted { numbers, texts } => (numbers.len() + texts.len()) as u64,
        }
    }

    /// Whether [`Self::distinct`] is exact.
    pub fn distinct_is_exact(&self) -> bool {
        !self.is_high_cardinality()
    }

    /// More than [`TOP_VALUES_CAP`] distinct values: exact counts were dropped.
    pub fn is_high_cardinality(&self) -> bool {
        matches!(self.values, Values::Summarised(_))
    }

    /// Every distinct value with its count, most frequent first (ties by
    /// value); `None` for a high-cardinality column.
    pub fn value_counts(&self) -> Option<Vec<(Value, u64)>> {
        let Values::Counted { numbers, texts } = &self.values else {
            return None;
        };
        let mut numbers: Vec<(f64, u64)> = numbers
            .iter()
            .map(|(bits, c)| (f64::from_bits(*bits), *c))
            .collect();
        numbers.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.total_cmp(&b.0)));
        let mut texts = texts.to_vec();
        texts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut out: Vec<(Value, u64)> = numbers
            .into_iter()
            .map(|(v, c)| (Value::Number(v), c))
            .chain(texts.into_iter().map(|(v, c)| (Value::Text(v), c)))
            .collect();
        out.sort_by_key(|pair| std::cmp::Reverse(pair.1));
        Some(out)
    }

    /// The `n` most frequent values (exact counts).
    pub fn top_values(&self, n: usize) -> Option<Vec<(Value, u64)>> {
        self.value_counts().map(|mut v| {
            v.truncate(n);
            v
        })
    }

    /// Whether the column is numeric: it has numbers and no text or booleans.
    pub fn is_numeric(&self) -> bool {
        self.numbers > 0 && self.texts == 0 && self.booleans == 0
    }
}

/// `n^2 * population variance` as an exact integer times 2^(2 * -1074):
/// `n * sum(x^2) - sum(x)^2`, computed with big integers from the exact sums.
fn scaled_second_moment(numbers: u64, summary: &NumberSummary) -> Option<f64> {
    if numbers == 0 {
        return None;
    }
    if summary.squares.overflow() {
        return Some(f64::INFINITY);
    }
    let (_, sum) = summary.sum.to_exact().to_sign_magnitude();
    let (negative_squares, squares) = summary.squares.to_exact().to_sign_magnitude();
    if negative_squares {
        return Some(0.0);
    }
    let shift = u32::try_from(-LSB_EXPONENT).unwrap_or(1074);
    let left = squares.mul_small(numbers).shl(shift);
    let right = sum.mul(&sum);
    let moment = left.saturating_sub(&right);
    if moment.is_zero() {
        return Some(0.0);
    }
    Some(moment.to_f64_scaled(2 * LSB_EXPONENT))
}

fn sample_variance(numbers: u64, summary: &NumberSummary) -> Option<f64> {
    if numbers < 2 {
        return None;
    }
    let n = u64_to_f64(numbers);
    scaled_second_moment(numbers, summary).map(|m| m / n / (n - 1.0))
}

#[allow(clippy::cast_precision_loss)]
pub(crate) fn u64_to_f64(value: u64) -> f64 {
    value as f64
}

pub(crate) fn ratio(a: u64, b: u64) -> f64 {
    u64_to_f64(a) / u64_to_f64(b)
}

/// The statistics of a whole dataset: rows and one profile per column, in
/// column order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetProfile {
    /// Rows read, malformed ones included.
    pub rows: u64,
    pub columns: Vec<ColumnProfile>,
    /// The rows that could not be read (not in any column); saved only when
    /// there are some, so a clean profile's file is unchanged.
    #[serde(default, skip_serializing_if = "MalformedRows::is_empty")]
    pub malformed: MalformedRows,
}

/// How many rows of a profiled dataset were malformed, and the first of them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MalformedRows {
    pub count: u64,
    /// The first ones, in file and line order (at most [`MALFORMED_KEPT`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub first: Vec<MalformedRow>,
}

/// Malformed rows a profile names (the rest are counted only).
pub const MALFORMED_KEPT: usize = 20;

/// One malformed row: where, and what the reader said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MalformedRow {
    pub file: String,
    pub line: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// The finding's rule, e.g. `read/ragged-row`.
    pub rule: String,
    pub message: String,
}

impl MalformedRows {
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn merge(&mut self, other: &Self) -> Result<(), ProfileError> {
        self.count = self
            .count
            .checked_add(other.count)
            .ok_or(ProfileError::Overflow {
                what: "malformed rows",
            })?;
        self.first.extend(other.first.iter().cloned());
        self.first
            .sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        self.first.truncate(MALFORMED_KEPT);
        Ok(())
    }

    /// One error finding per malformed row named, at its place; `side` says
    /// whose rows they are (`current data`, ...).
    pub fn findings(&self, side: &str) -> Vec<trainyard_core::Finding> {
        self.first
            .iter()
            .map(|row| {
                let line = u32::try_from(row.line).unwrap_or(u32::MAX);
                trainyard_core::Finding::error(
                    row.rule.clone(),
                    format!("{side}: malformed row, left out: {}", row.message),
                )
                .at(trainyard_core::Location::file(row.file.clone()).at(line, row.column))
            })
            .collect()
    }

    /// `file:line: message` of the first malformed row, if one is named.
    pub fn first_place(&self) -> Option<String> {
        self.first
            .first()
            .map(|row| format!("{}:{}: {}", row.file, row.line, row.message))
    }
}

impl DatasetProfile {
    /// An empty profile with these columns.
    pub fn new<I, S>(columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            rows: 0,
            columns: columns.into_iter().map(ColumnProfile::new).collect(),
            malformed: MalformedRows::default(),
        }
    }

    pub fn column(&self, name: &str) -> Option<&ColumnProfile> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Adds another profile of the same columns (a chunk or a shard).
    pub fn merge(&mut self, other: &Self) -> Result<(), ProfileError> {
        let names = |p: &Self| p.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
        if names(self) != names(other) {
            return Err(ProfileError::ColumnMismatch {
                left: names(self),
                right: names(other),
            });
        }
        // Every count of a column is at most the rows (checked on load), so the
        // rows' sum not wrapping means no count's does.
        let rows = self
            .rows
            .checked_add(other.rows)
            .ok_or(ProfileError::Overflow { what: "rows" })?;
        let mut malformed = self.malformed.clone();
        malformed.merge(&other.malformed)?;
        self.rows = rows;
        self.malformed = malformed;
        for (mine, theirs) in self.columns.iter_mut().zip(&other.columns) {
            mine.merge(theirs);
        }
        Ok(())
    }

    /// The canonical JSON text (the saved file's content).
    pub fn to_json(&self) -> String {
        self.to_json_with(&ProfileMeta::default())
    }

    /// [`Self::to_json`] with where the profile came from.
    pub fn to_json_with(&self, meta: &ProfileMeta) -> String {
        let mut text = serde_json::to_string_pretty(&ProfileFile {
            format: "trainyard-profile".to_owned(),
            version: PROFILE_FORMAT_VERSION,
            dataset: meta.dataset.clone(),
            shard: meta.shard.clone(),
            profile: self.clone(),
        })
        .unwrap_or_default();
        text.push('\n');
        text
    }

    pub fn from_json(text: &str) -> Result<Self, String> {
        Self::from_json_with(text).map(|(profile, _)| profile)
    }

    /// [`Self::from_json`], with where the profile came from.
    pub fn from_json_with(text: &str) -> Result<(Self, ProfileMeta), String> {
        trainyard_core::yaml::check_json(text).map_err(|e| e.to_string())?;
        let file: ProfileFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if file.format != "trainyard-profile" || file.version != PROFILE_FORMAT_VERSION {
            return Err(format!(
                "unsupported format {} version {}",
                file.format, file.version
            ));
        }
        if let Some(shard) = &file.shard {
            crate::read::Shard::parse(shard)?;
        }
        let malformed = &file.profile.malformed;
        if malformed.count > file.profile.rows || malformed.first.len() as u64 > malformed.count {
            return Err(format!(
                "{} malformed rows ({} named) in a profile of {} rows",
                malformed.count,
                malformed.first.len(),
                file.profile.rows
            ));
        }
        for column in &file.profile.columns {
            column
                .check_counts(file.profile.rows)
                .map_err(|why| format!("column `{}`: {why}", column.name))?;
        }
        Ok((
            file.profile,
            ProfileMeta {
                dataset: file.dataset,
                shard: file.shard,
            },
        ))
    }

    /// Writes the profile as JSON, atomically (temporary file, then rename).
    pub fn save(&self, path: &Path) -> Result<(), ProfileError> {
        self.save_with(path, &ProfileMeta::default())
    }

    /// [`Self::save`] with where the profile came from.
    pub fn save_with(&self, path: &Path, meta: &ProfileMeta) -> Result<(), ProfileError> {
        write_atomic(path, self.to_json_with(meta).as_bytes()).map_err(|source| ProfileError::Io {
            action: "write",
            path: path.to_owned(),
            source,
        })
    }

    pub fn load(path: &Path) -> Result<Self, ProfileError> {
        Self::load_with(path).map(|(profile, _)| profile)
    }

    /// [`Self::load`], with where the profile came from.
    pub fn load_with(path: &Path) -> Result<(Self, ProfileMeta), ProfileError> {
        let bytes = std::fs::read(path).map_err(|source| ProfileError::Io {
            action: "read",
            path: path.to_owned(),
            source,
        })?;
        // Bad content is the input's fault (exit 2), not the environment's.
        let text = String::from_utf8(bytes).map_err(|error| ProfileError::Format {
            path: path.to_owned(),
            message: format!(
                "it is not UTF-8 text (byte {} is not)",
                error.utf8_error().valid_up_to()
            ),
        })?;
        Self::from_json_with(&text).map_err(|message| ProfileError::Format {
            path: path.to_owned(),
            message,
        })
    }
}

/// Where a saved profile came from: the dataset's name and, for a shard, `i/n`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileMeta {
    pub dataset: Option<String>,
    pub shard: Option<String>,
}

pub use trainyard_core::fs::write_atomic;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    format: String,
    version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dataset: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    shard: Option<String>,
    #[serde(flatten)]
    profile: DatasetProfile,
}

/// The saved form of a column: the mergeable state plus derived statistics
/// for people (ignored when loading; recomputed from the state).
#[derive(Serialize, Deserialize)]
struct ColumnFile {
    name: String,
    count: u64,
    nulls: u64,
    numbers: u64,
    texts: u64,
    booleans: u64,
    non_finite: u64,
    min: Option<f64>,
    max: Option<f64>,
    #[serde(default)]
    mean: Option<f64>,
    #[serde(default)]
    std: Option<f64>,
    #[serde(default)]
    quantiles: BTreeMap<String, f64>,
    #[serde(default)]
    distinct: u64,
    text_length: Option<(u64, u64)>,
    high_cardinality: bool,
    /// Exact counts of every distinct value (absent when high-cardinality).
    values: Option<Vec<ValueCount>>,
    /// `sum * 2^1074` in hexadecimal: the exact sum of the numbers.
    sum: String,
    /// `sum(x^2) * 2^1074` in hexadecimal, squares computed exactly.
    sum_squares: String,
    squares_overflow: bool,
    sketch: SketchFile,
    hll: String,
}

#[derive(Serialize, Deserialize)]
struct ValueCount {
    value: Value,
    count: u64,
}

#[derive(Serialize, Deserialize)]
struct SketchFile {
    zeros: u64,
    positive: Vec<(u32, u64)>,
    negative: Vec<(u32, u64)>,
}

impl Serialize for ColumnProfile {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let summary = self.number_summary();
        let quantiles = if self.numbers > 0 {
            REPORTED_QUANTILES
                .iter()
                .filter_map(|(name, q)| summary.quantile(*q).map(|v| ((*name).to_owned(), v)))
                .collect()
        } else {
            BTreeMap::new()
        };
        let values = self.value_counts().map(|v| {
            v.into_iter()
                .map(|(value, count)| ValueCount { value, count })
                .collect()
        });
        let sum = summary.sum.to_exact();
        ColumnFile {
            name: self.name.clone(),
            count: self.count,
            nulls: self.nulls,
            numbers: self.numbers,
            texts: self.texts,
            booleans: self.booleans,
            non_finite: self.non_finite,
            min: summary.min(),
            max: summary.max(),
            mean: (self.numbers > 0).then(|| sum.to_f64() / u64_to_f64(self.numbers)),
            std: sample_variance(self.numbers, &summary).map(f64::sqrt),
            quantiles,
            distinct: self.distinct(),
            text_length: self.text_length,
            high_cardinality: self.is_high_cardinality(),
            values,
            sum: sum.to_hex(),
            sum_squares: summary.squares.to_exact().to_hex(),
            squares_overflow: summary.squares.overflow(),
            sketch: SketchFile {
                zeros: summary.sketch.zeros(),
                positive: summary.sketch.positive_pairs(),
                negative: summary.sketch.negative_pairs(),
            },
            hll: self.hll.to_hex(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ColumnProfile {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let file = ColumnFile::deserialize(deserializer)?;
        let hll = HyperLogLog::from_hex(&file.hll).ok_or_else(|| D::Error::custom("bad `hll`"))?;
        // Below the cap the counts determine the numeric statistics, which are
        // derived from them again; above it the saved statistics are the state.
        let values = if file.high_cardinality {
            let sum = ExactSum::from_hex(&file.sum).ok_or_else(|| D::Error::custom("bad `sum`"))?;
            let sum_squares = ExactSum::from_hex(&file.sum_squares)
                .ok_or_else(|| D::Error::custom("bad `sum_squares`"))?;
            let sketch = QuantileSketch::from_pairs(
                file.sketch.zeros,
                &file.sketch.positive,
                &file.sketch.negative,
            )
            .ok_or_else(|| D::Error::custom("bad `sketch` bucket key"))?;
            Values::Summarised(Box::new(NumberSummary {
                min: file.min.unwrap_or(f64::INFINITY),
                max: file.max.unwrap_or(f64::NEG_INFINITY),
                sum: ValueSum::from_exact(sum),
                squares: SquareSum::from_exact(sum_squares, file.squares_overflow),
                sketch,
            }))
        } else {
            let mut numbers = MixMap::default();
            let mut texts = TextCounts::default();
            for entry in file.values.unwrap_or_default() {
                match entry.value {
                    Value::Number(n) => *numbers.entry(n.to_bits()).or_insert(0) += entry.count,
                    Value::Text(t) => texts.add(&t, entry.count),
                }
            }
            Values::Counted { numbers, texts }
        };
        Ok(Self {
            name: file.name,
            count: file.count,
            nulls: file.nulls,
            numbers: file.numbers,
            texts: file.texts,
            booleans: file.booleans,
            non_finite: file.non_finite,
            hll,
            text_length: file.text_length,
            values,
        })
    }
}

/// The validation pass feeds every value it reads to a `DatasetProfile` (one per
/// worker thread, merged by column name), so one pass validates and profiles.
impl crate::check::ProfileSink for DatasetProfile {
    type Column = ColumnProfile;

    fn empty() -> Self {
        Self {
            rows: 0,
            columns: Vec::new(),
            malformed: MalformedRows::default(),
        }
    }

    fn malformed(&mut self, count: u64, first: &[crate::check::Offense]) {
        self.malformed = MalformedRows {
            count,
            first: first
                .iter()
                .take(MALFORMED_KEPT)
                .map(|offense| MalformedRow {
                    file: offense.file.clone(),
                    line: offense.line,
                    column: offense.column,
                    rule: offense.rule.unwrap_or("read/malformed-row").to_owned(),
                    message: offense.detail.clone().unwrap_or_default(),
                })
                .collect(),
        };
    }

    fn add_column(&mut self, name: &str) -> usize {
        self.columns.push(ColumnProfile::new(name));
        self.columns.len() - 1
    }

    fn column_at(&mut self, index: usize) -> &mut ColumnProfile {
        &mut self.columns[index]
    }

    fn column_names(&self, each: &mut dyn FnMut(usize, &str)) {
        for (index, column) in self.columns.iter().enumerate() {
            each(index, &column.name);
        }
    }

    fn merge(&mut self, other: Self) {
        self.merge_by_name(other);
    }

    fn finish(&mut self, columns: &[&str], rows: u64) {
        self.arrange(columns.iter().copied());
        self.rows = rows;
    }
}

impl crate::check::ColumnSink for ColumnProfile {
    #[inline]
    fn observe_null(&mut self) {
        Self::observe_null(self);
    }
    #[inline]
    fn observe_number(&mut self, value: f64) {
        Self::observe_number(self, value);
    }
    #[inline]
    fn observe_text(&mut self, value: &str) {
        Self::observe_text(self, value);
    }
}

impl DatasetProfile {
    /// Adds another profile whose columns may differ (another worker's, which saw
    /// other files): columns are matched by name, new ones are appended.
    pub fn merge_by_name(&mut self, other: Self) {
        self.rows += other.rows;
        let mut index: std::collections::HashMap<String, usize> = self
            .columns
            .iter()
            .enumerate()
            .map(|(at, c)| (c.name.clone(), at))
            .collect();
        for column in other.columns {
            if let Some(&at) = index.get(&column.name) {
                self.columns[at].merge(&column);
            } else {
                index.insert(column.name.clone(), self.columns.len());
                self.columns.push(column);
            }
        }
    }

    /// Puts the columns in this order (missing ones are added empty; others follow,
    /// by name), so profiles of the same files have the same layout whatever the
    /// order workers met the columns in.
    pub fn arrange<'a>(&mut self, order: impl IntoIterator<Item = &'a str>) {
        // By name, the first column of a name first (names are unique once merged).
        let mut rest: std::collections::HashMap<String, Vec<ColumnProfile>> =
            std::collections::HashMap::new();
        for column in std::mem::take(&mut self.columns).into_iter().rev() {
            rest.entry(column.name.clone()).or_default().push(column);
        }
        let mut placed = std::collections::HashSet::new();
        for name in order {
            if !placed.insert(name) {
                continue;
            }
            let column = rest
                .get_mut(name)
                .and_then(Vec::pop)
                .unwrap_or_else(|| ColumnProfile::new(name));
            self.columns.push(column);
        }
        let mut rest: Vec<ColumnProfile> = rest.into_values().flatten().collect();
        rest.sort_by(|a, b| a.name.cmp(&b.name));
        self.columns.extend(rest);
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::float_cmp
    )]
    use super::*;

    use crate::profile::TestRng as Rng;

    /// Every finite number fed to a summary one by one: what the profile kept
    /// per cell before counted columns derived their statistics.
    fn straightforward(values: &[f64]) -> NumberSummary {
        let mut summary = NumberSummary::new();
        for &v in values.iter().filter(|v| v.is_finite()) {
            summary.add(if v == 0.0 { 0.0 } else { v });
        }
        summary
    }

    fn observe(profile: &mut ColumnProfile, values: &[f64]) {
        for &v in values {
            profile.observe_number(v);
        }
    }

    #[test]
    fn statistics_derived_from_counts_equal_the_per_cell_ones() {
        let mut rng = Rng(21);
        // Few distinct values (with -0.0, NaN, a huge one whose square overflows,
        // a tiny one), then more than the cap in the second half.
        let pool = [0.0, -0.0, 1.5, -2.25, 1e300, 5e-324, f64::NAN, 7.0, 0.1];
        let mut values: Vec<f64> = (0..5000)
            .map(|_| pool[(rng.next() % pool.len() as u64) as usize])
            .collect();
        let mut one = ColumnProfile::new("x");
        observe(&mut one, &values);
        assert!(!one.is_high_cardinality());
        assert_eq!(*one.number_summary(), straightforward(&values));
        assert_eq!(one.min(), Some(-2.25));
        assert_eq!(one.max(), Some(1e300));

        values.extend((0..3000).map(|i| f64::from(i) * 0.37 - 100.0));
        for _ in 0..3 {
            for i in (1..values.len()).rev() {
                values.swap(i, (rng.next() % (i as u64 + 1)) as usize);
            }
            // Random chunks, some crossing the cap and some not, merged in order.
            let mut merged = ColumnProfile::new("x");
            let mut at = 0;
            while at < values.len() {
                let len = 1 + (rng.next() % 2500) as usize;
                let mut part = ColumnProfile::new("x");
                observe(&mut part, &values[at..(at + len).min(values.len())]);
                merged.merge(&part);
                at += len;
            }
            let mut one = ColumnProfile::new("x");
            observe(&mut one, &values);
            assert!(merged.is_high_cardinality());
            assert_eq!(*merged.number_summary(), straightforward(&values));
            assert_eq!(merged, one);
            let json = DatasetProfile {
                rows: merged.count(),
                columns: vec![merged],
                malformed: MalformedRows::default(),
            }
            .to_json();
            let again = DatasetProfile::from_json(&json).unwrap();
            assert_eq!(again.to_json(), json);
        }
    }

    #[test]
    fn a_text_crossing_the_cap_summarises_the_counted_numbers() {
        let numbers = [3.0, -1.0, 3.0, 0.5];
        let mut column = ColumnProfile::new("mixed");
        observe(&mut column, &numbers);
        for i in 0..=TOP_VALUES_CAP {
            column.observe_text(&format!("t{i}"));
        }
        assert!(column.is_high_cardinality());
        assert_eq!(*column.number_summary(), straightforward(&numbers));
        assert_eq!(column.sum(), 5.5);
    }

    #[test]
    fn texts_short_and_long_are_counted_by_their_exact_bytes() {
        let texts = [
            "",
            "a",
            "a\0",
            "seven77",
            "eight888",
            "fifteen-bytes15",
            "sixteen-bytes-16",
            "ünïcode",
            "a much longer text than fifteen bytes",
            "eight888",
            "",
            "a",
        ];
        let mut column = ColumnProfile::new("t");
        for t in texts {
            column.observe_text(t);
        }
        let mut expected: BTreeMap<&str, u64> = BTreeMap::new();
        for t in texts {
            *expected.entry(t).or_insert(0) += 1;
        }
        let counted: BTreeMap<String, u64> = column
            .value_counts()
            .unwrap()
            .into_iter()
            .map(|(v, c)| match v {
                Value::Text(t) => (t, c),
                Value::Number(_) => panic!("a number"),
            })
            .collect();
        let expected: BTreeMap<String, u64> = expected
            .into_iter()
            .map(|(t, c)| (t.to_owned(), c))
            .collect();
        assert_eq!(counted, expected);
        assert_eq!(column.distinct(), 9);
        assert_eq!(column.text_length(), Some((0, 37)));
    }
}

#[cfg(test)]
mod char_count_tests {
    use super::*;

    #[test]
    fn char_count_equals_chars_count() {
        for text in [
            "",
            "a",
            "user12345@example.com",
            "ünïcode",
            "日本語のテキスト",
            "emoji 🚂🚃🚃 train",
            "\u{7f}\u{80}\u{7ff}\u{800}\u{ffff}\u{10000}\u{10ffff}",
            &"mixé".repeat(40),
        ] {
            assert_eq!(char_count(text), text.chars().count() as u64, "{text}");
        }
    }
}

#[cfg(test)]
mod short_key_tests {
    #![allow(clippy::unwrap_used, clippy::cast_possible_truncation)]
    use super::*;

    #[test]
    fn short_keys_are_the_bytes_and_length_of_every_short_value() {
        let mut seen = std::collections::HashSet::new();
        for length in 0..=15usize {
            for fill in [0u8, b'a', 0xff] {
                let bytes: Vec<u8> = (0..length)
                    .map(|i| fill.wrapping_add(i as u8 * 7))
                    .collect();
                let mut word = [0u8; 16];
                word[..length].copy_from_slice(&bytes);
                word[15] = length as u8;
                let key = short_key(&bytes).unwrap();
                assert_eq!(key, u128::from_le_bytes(word), "length {length}");
                assert!(seen.insert(key) || length == 0);
            }
        }
        assert_eq!(short_text(short_key(b"eight888").unwrap()), "eight888");
        assert!(short_key(&[b'x'; 16]).is_none());
    }
}
