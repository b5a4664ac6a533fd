//! Checks: a [`Plan`] compiled from a [`DataSchema`], an [`Accumulator`] that takes
//! batches column by column (one per worker thread; accumulators merge in any order),
//! and a [`CheckResult`] per check at the end.

mod accumulate;
pub mod keys;
mod pattern;
mod unique;

use std::fmt::Write as _;

use serde::Serialize;
use trainyard_core::manifest::data::{
    Bound, ColumnMatch, ColumnType, CountRange, DataSchema, QuantileBound, Range,
};
use trainyard_core::{ConfigError, StepError};

pub use accumulate::{Accumulator, ColumnSink, NoProfile, ProfileSink};

/// How many offending rows a check keeps (the first ones, by file and line).
pub const MAX_OFFENDERS: usize = 20;

/// One row that failed a check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Offense {
    pub file: String,
    /// The physical line where the row starts (1-based).
    pub line: u64,
    /// The 1-based field index in the file, when one field is at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// The offending value (or values, for checks over several columns).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// What is wrong with it, when the check's name does not say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// A more precise rule than the check's (for malformed rows: `read/ragged-row`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<&'static str>,
}

/// The outcome of one check over the whole dataset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckResult {
    /// A readable name, e.g. `age: min 0`.
    pub name: String,
    /// A stable rule id, e.g. `check/min`.
    pub rule: &'static str,
    /// The column checked, for column checks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    pub passed: bool,
    /// What was seen, in words: `3 of 1000 values (0.3%) below 0`, `mean 4.2`.
    pub observed: String,
    /// How many values, rows or files the check looked at.
    pub evaluated: u64,
    /// How many of them failed.
    pub failed: u64,
    /// The first [`MAX_OFFENDERS`] failures, in file and line order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub offenders: Vec<Offense>,
}

pub(crate) type CheckId = usize;

#[derive(Debug)]
pub(crate) struct CheckSpec {
    pub(crate) name: String,
    pub(crate) rule: &'static str,
    pub(crate) column: Option<String>,
    pub(crate) mostly: Option<f64>,
}

/// The allowed values of an `enum`: values of up to 7 bytes (country codes, short
/// categories) as whole words in a collision-free table, others searched linearly
/// when few.
#[derive(Debug)]
pub(crate) enum Allowed {
    Few(Vec<Vec<u8>>),
    Many(std::collections::HashSet<Vec<u8>>),
    Short(WordTable),
}

/// The bytes of a value of up to 8 bytes, zero-padded, as one little-endian word:
/// two overlapping loads rather than a `memcpy` of variable length.
#[inline]
fn padded_word(value: &[u8]) -> u64 {
    let len = value.len();
    debug_assert!(len <= 8);
    if len >= 4 {
        // The loads overlap on the same bytes, so OR-ing them is exact.
        let low = u32::from_le_bytes([value[0], value[1], value[2], value[3]]);
        let high = u32::from_le_bytes([
            value[len - 4],
            value[len - 3],
            value[len - 2],
            value[len - 1],
        ]);
        u64::from(low) | (u64::from(high) << (8 * (len - 4)))
    } else if len > 0 {
        u64::from(value[0])
            | (u64::from(value[len / 2]) << (8 * (len / 2)))
            | (u64::from(value[len - 1]) << (8 * (len - 1)))
    } else {
        0
    }
}

/// A value of up to 7 bytes and its length in one word (distinct values, distinct words).
#[inline]
pub(crate) fn short_word(value: &[u8]) -> Option<u64> {
    if value.len() > 7 {
        return None;
    }
    Some(padded_word(value) | (u64::try_from(value.len()).unwrap_or(0) << 56))
}

/// No [`short_word`]: its top byte (the length) is at most 7.
const EMPTY_SLOT: u64 = u64::MAX;

/// Short words in a table without collisions (multiplicative hashing with a
/// multiplier searched for at compile time): a lookup is one multiply, one load and
/// one compare, whatever the number of values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WordTable {
    slots: Vec<u64>,
    multiplier: u64,
    shift: u32,
}

impl Default for WordTable {
    /// A table of no words.
    fn default() -> Self {
        Self {
            slots: vec![EMPTY_SLOT; 2],
            multiplier: 1,
            shift: 63,
        }
    }
}

impl WordTable {
    /// The table of `words`, or `None` when no multiplier tried spreads them (the
    /// search is deterministic: the same table on every run).
    pub(crate) fn new(words: &[u64]) -> Option<Self> {
        let least_bits = (words.len() * 2)
            .max(2)
            .next_power_of_two()
            .trailing_zeros();
        for bits in least_bits..=least_bits + 3 {
            let mut multiplier = 0x9E37_79B9_7F4A_7C15_u64;
            for _ in 0..64 {
                let mut table = Self {
                    slots: vec![EMPTY_SLOT; 1 << bits],
                    multiplier,
                    shift: 64 - bits,
                };
                let spread = words.iter().all(|&word| {
                    let slot = table.slot(word);
                    let free = table.slots[slot] == EMPTY_SLOT || table.slots[slot] == word;
                    table.slots[slot] = word;
                    free
                });
                if spread {
                    return Some(table);
                }
                multiplier = multiplier
                    .wrapping_mul(0x2545_F491_4F6C_DD1D)
                    .wrapping_add(0x632B_E59B)
                    | 1;
            }
        }
        None
    }

    #[inline]
    fn slot(&self, word: u64) -> usize {
        usize::try_from(word.wrapping_mul(self.multiplier) >> self.shift).unwrap_or(0)
    }

    #[inline]
    pub(crate) fn contains(&self, word: u64) -> bool {
        self.slots[self.slot(word)] == word
    }
}

impl Allowed {
    fn new(values: &[String]) -> Self {
        let bytes: Vec<Vec<u8>> = values.iter().map(|v| v.as_bytes().to_vec()).collect();
        let words: Option<Vec<u64>> = bytes.iter().map(|v| short_word(v)).collect();
        if bytes.len() <= 256
            && let Some(table) = words.as_deref().and_then(WordTable::new)
        {
            Self::Short(table)
        } else if bytes.len() <= 16 {
            Self::Few(bytes)
        } else {
            Self::Many(bytes.into_iter().collect())
        }
    }

    #[inline]
    pub(crate) fn contains(&self, value: &[u8]) -> bool {
        match self {
            Self::Short(table) => short_word(value).is_some_and(|word| table.contains(word)),
            Self::Few(values) => values.iter().any(|v| v.as_slice() == value),
            Self::Many(values) => values.contains(value),
        }
    }
}

/// The compiled checks of one declared column.
#[derive(Debug)]
pub(crate) struct ColumnPlan {
    pub(crate) name: String,
    pub(crate) kind: Option<ColumnType>,
    pub(crate) required: Option<CheckId>,
    pub(crate) not_null: Option<CheckId>,
    pub(crate) type_check: Option<CheckId>,
    pub(crate) min: Option<(CheckId, f64, bool)>,
    pub(crate) max: Option<(CheckId, f64, bool)>,
    pub(crate) length: Option<(CheckId, u64, u64)>,
    pub(crate) pattern: Option<(CheckId, pattern::Pattern)>,
    pub(crate) allowed: Option<(CheckId, Allowed)>,
    pub(crate) unique: Option<CheckId>,
    pub(crate) mean: Option<(CheckId, Range)>,
    pub(crate) stddev: Option<(CheckId, Range)>,
    pub(crate) quantiles: Vec<(CheckId, QuantileBound)>,
    pub(crate) null_fraction: Option<(CheckId, Range)>,
}

impl ColumnPlan {
    pub(crate) fn needs_moments(&self) -> bool {
        self.mean.is_some() || self.stddev.is_some()
    }

    pub(crate) fn needs_number(&self) -> bool {
        self.min.is_some()
            || self.max.is_some()
            || self.needs_moments()
            || !self.quantiles.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
}

impl Op {
    pub(crate) fn holds(self, ordering: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::{Equal, Greater, Less};
        match self {
            Self::Gt => ordering == Greater,
            Self::Ge => ordering != Less,
            Self::Lt => ordering == Less,
            Self::Le => ordering != Greater,
            Self::Eq => ordering == Equal,
            Self::Ne => ordering != Equal,
        }
    }
}

#[derive(Debug)]
pub(crate) struct RelationPlan {
    pub(crate) check: CheckId,
    pub(crate) left: String,
    pub(crate) op: Op,
    pub(crate) right: String,
}

#[derive(Debug)]
pub(crate) struct CompoundPlan {
    pub(crate) check: CheckId,
    pub(crate) columns: Vec<String>,
}

/// Everything a validation pass checks, compiled once.
#[derive(Debug)]
pub struct Plan {
    pub(crate) checks: Vec<CheckSpec>,
    pub(crate) columns: Vec<ColumnPlan>,
    pub(crate) relations: Vec<RelationPlan>,
    pub(crate) compounds: Vec<CompoundPlan>,
    pub(crate) rows: Option<(CheckId, CountRange)>,
    pub(crate) column_match: Option<(CheckId, ColumnMatch)>,
    pub(crate) malformed: CheckId,
    /// Values a worker's `unique` table keeps in memory before it spills them to
    /// disk (tests lower it).
    pub(crate) spill_entries: usize,
    /// Keep each unique check's distinct keys for a check across shards
    /// ([`keys::ShardKeys`]).
    pub(crate) record_keys: bool,
    /// The columns declared `profile: false`.
    pub(crate) unprofiled: std::collections::HashSet<String>,
}

impl Plan {
    /// Whether a column of this name goes to the profile (not when declared
    /// `profile: false`).
    pub(crate) fn profiles(&self, name: &str) -> bool {
        self.unprofiled.is_empty() || !self.unprofiled.contains(name)
    }
}

fn number_text(value: f64) -> String {
    let mut text = String::new();
    let _ = write!(text, "{value}");
    text
}

fn range_text(range: &Range) -> String {
    match (range.min, range.max) {
        (Some(min), Some(max)) => format!("in [{}, {}]", number_text(min), number_text(max)),
        (Some(min), None) => format!(">= {}", number_text(min)),
        (None, Some(max)) => format!("<= {}", number_text(max)),
        (None, None) => "any".to_owned(),
    }
}

#[allow(clippy::cast_precision_loss)] // days since 1970 fit in f64 exactly
fn bound_value(
    bound: &Bound,
    kind: Option<ColumnType>,
    column: &str,
    file: &str,
) -> Result<f64, StepError> {
    let parsed = match bound {
        Bound::Number(number) => Some(*number),
        Bound::Text(text) => {
            let bytes = text.as_bytes();
            match kind {
                Some(ColumnType::Date) => crate::schema::parse_date(bytes).map(|d| d as f64),
                Some(ColumnType::Datetime) => crate::schema::parse_datetime(bytes)
                    .or_else(|| crate::schema::parse_date(bytes).map(|d| d as f64 * 86_400.0)),
                _ => crate::schema::parse_number(bytes),
            }
        }
    };
    parsed.ok_or_else(|| {
        ConfigError::new(
            file,
            "bad-schema",
            format!(
                "column `{column}`: bound `{}` is not a value of its type",
                bound_text(bound)
            ),
        )
        .into()
    })
}

fn bound_text(bound: &Bound) -> String {
    match bound {
        Bound::Number(number) => number_text(*number),
        Bound::Text(text) => text.clone(),
    }
}

impl Plan {
    /// Compiles a schema; `file` names where it came from in configuration errors.
    #[allow(clippy::too_many_lines)] // one block per kind of check
    pub fn new(schema: &DataSchema, file: &str) -> Result<Self, StepError> {
        let mut checks = Vec::new();
        let mut add =
            |name: String, rule: &'static str, column: Option<&str>, mostly: Option<f64>| {
                checks.push(CheckSpec {
                    name,
                    rule,
                    column: column.map(str::to_owned),
                    mostly,
                });
                checks.len() - 1
            };
        let malformed = add(
            "rows are well-formed".to_owned(),
            "read/malformed-row",
            None,
            None,
        );
        let rows = schema.rows.map(|range| {
            let text = match (range.min, range.max) {
                (Some(min), Some(max)) => format!("in [{min}, {max}]"),
                (Some(min), None) => format!(">= {min}"),
                (None, Some(max)) => format!("<= {max}"),
                (None, None) => "any".to_owned(),
            };
            (
                add(format!("row count {text}"), "check/row-count", None, None),
                range,
            )
        });
        let column_match = match schema.column_match {
            ColumnMatch::Subset => None,
            ColumnMatch::Set => Some((
                add(
                    "columns are the declared set".to_owned(),
                    "check/columns",
                    None,
                    None,
                ),
                ColumnMatch::Set,
            )),
            ColumnMatch::Exact => Some((
                add(
                    "columns are the declared list, in order".to_owned(),
                    "check/columns",
                    None,
                    None,
                ),
                ColumnMatch::Exact,
            )),
        };
        let fraction = |what: String, value: f64| {
            if (0.0..=1.0).contains(&value) {
                Ok(())
            } else {
                Err(StepError::from(ConfigError::new(
                    file,
                    "bad-schema",
                    format!("{what} {} must be in [0, 1]", number_text(value)),
                )))
            }
        };
        for column in &schema.columns {
            let name = &column.name;
            if let Some(mostly) = column.mostly {
                fraction(format!("column `{name}`: `mostly`"), mostly)?;
            }
            for bound in &column.quantiles {
                fraction(format!("column `{name}`: quantile"), bound.q)?;
            }
        }
        for relation in &schema.relations {
            if let Some(mostly) = relation.mostly {
                fraction(format!("relation `{}`: `mostly`", relation.rule), mostly)?;
            }
        }
        let mut columns = Vec::new();
        for column in &schema.columns {
            let name = column.name.as_str();
            let mostly = column.mostly;
            let c = Some(name);
            let kind = column.kind;
            let required = column.required.then(|| {
                add(
                    format!("{name}: column present"),
                    "check/required-column",
                    c,
                    None,
                )
            });
            let not_null = (!column.nullable)
                .then(|| add(format!("{name}: not null"), "check/not-null", c, mostly));
            let type_check = kind.map(|kind| {
                let kind = serde_json::to_value(kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                add(format!("{name}: type {kind}"), "check/type", c, mostly)
            });
            let min = match &column.min {
                Some(bound) => {
                    let op = if column.exclusive_min { ">" } else { ">=" };
                    Some((
                        add(
                            format!("{name}: {op} {}", bound_text(bound)),
                            "check/min",
                            c,
                            mostly,
                        ),
                        bound_value(bound, kind, name, file)?,
                        column.exclusive_min,
                    ))
                }
                None => None,
            };
            let max = match &column.max {
                Some(bound) => {
                    let op = if column.exclusive_max { "<" } else { "<=" };
                    Some((
                        add(
                            format!("{name}: {op} {}", bound_text(bound)),
                            "check/max",
                            c,
                            mostly,
                        ),
                        bound_value(bound, kind, name, file)?,
                        column.exclusive_max,
                    ))
                }
                None => None,
            };
            let pattern = match &column.pattern {
                Some(pattern) => {
                    let regex = pattern::Pattern::new(pattern).map_err(|error| {
                        StepError::from(ConfigError::new(
                            file,
                            "bad-schema",
                            format!("column `{name}`: `pattern` is not a valid regular expression: {error}"),
                        ))
                    })?;
                    Some((
                        add(
                            format!("{name}: matches /{pattern}/"),
                            "check/pattern",
                            c,
                            mostly,
                        ),
                        regex,
                    ))
                }
                None => None,
            };
            let plan = ColumnPlan {
                name: name.to_owned(),
                kind,
                required,
                not_null,
                type_check,
                min,
                max,
                length: (column.min_length.is_some() || column.max_length.is_some()).then(|| {
                    let (lo, hi) = (
                        column.min_length.unwrap_or(0),
                        column.max_length.unwrap_or(u64::MAX),
                    );
                    let text = match (column.min_length, column.max_length) {
                        (Some(lo), Some(hi)) => format!("in [{lo}, {hi}]"),
                        (Some(lo), None) => format!(">= {lo}"),
                        _ => format!("<= {hi}"),
                    };
                    (
                        add(format!("{name}: length {text}"), "check/length", c, mostly),
                        lo,
                        hi,
                    )
                }),
                pattern,
                allowed: column.allowed.as_ref().map(|values| {
                    let shown = if values.len() > 8 {
                        format!("{}, ... ({} values)", values[..8].join(", "), values.len())
                    } else {
                        values.join(", ")
                    };
                    (
                        add(format!("{name}: in {{{shown}}}"), "check/enum", c, mostly),
                        Allowed::new(values),
                    )
                }),
                unique: column
                    .unique
                    .then(|| add(format!("{name}: unique"), "check/unique", c, None)),
                mean: column.mean.map(|range| {
                    (
                        add(
                            format!("{name}: mean {}", range_text(&range)),
                            "check/mean",
                            c,
                            None,
                        ),
                        range,
                    )
                }),
                stddev: column.stddev.map(|range| {
                    (
                        add(
                            format!("{name}: stddev {}", range_text(&range)),
                            "check/stddev",
                            c,
                            None,
                        ),
                        range,
                    )
                }),
                quantiles: column
                    .quantiles
                    .iter()
                    .map(|q| {
                        let range = Range {
                            min: q.min,
                            max: q.max,
                        };
                        (
                            add(
                                format!("{name}: quantile {} {}", q.q, range_text(&range)),
                                "check/quantile",
                                c,
                                None,
                            ),
                            *q,
                        )
                    })
                    .collect(),
                null_fraction: column.null_fraction.map(|range| {
                    (
                        add(
                            format!("{name}: null fraction {}", range_text(&range)),
                            "check/null-fraction",
                            c,
                            None,
                        ),
                        range,
                    )
                }),
            };
            columns.push(plan);
        }
        let mut relations = Vec::new();
        for relation in &schema.relations {
            let (left, op, right) = parse_relation(&relation.rule).map_err(|why| {
                StepError::from(ConfigError::new(
                    file,
                    "bad-schema",
                    format!("relation `{}`: {why}", relation.rule),
                ))
            })?;
            relations.push(RelationPlan {
                check: add(
                    relation.rule.clone(),
                    "check/relation",
                    None,
                    relation.mostly,
                ),
                left,
                op,
                right,
            });
        }
        let compounds = schema
            .unique_together
            .iter()
            .map(|group| CompoundPlan {
                check: add(
                    format!("({}): unique together", group.join(", ")),
                    "check/unique-together",
                    None,
                    None,
                ),
                columns: group.clone(),
            })
            .collect();
        Ok(Self {
            checks,
            columns,
            relations,
            compounds,
            rows,
            column_match,
            malformed,
            spill_entries: unique::spill_entries(rayon::current_num_threads()),
            record_keys: false,
            unprofiled: schema
                .columns
                .iter()
                .filter(|column| !column.profile)
                .map(|column| column.name.clone())
                .collect(),
        })
    }

    /// The number of checks (results come in this order).
    pub fn len(&self) -> usize {
        self.checks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.checks.is_empty()
    }
}

fn parse_relation(rule: &str) -> Result<(String, Op, String), String> {
    let mut parts = rule.split_whitespace();
    let (Some(left), Some(op), Some(right), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("expected `LEFT OP RIGHT`, e.g. `end > start`".to_owned());
    };
    let op = match op {
        ">" => Op::Gt,
        ">=" => Op::Ge,
        "<" => Op::Lt,
        "<=" => Op::Le,
        "==" | "=" => Op::Eq,
        "!=" => Op::Ne,
        other => return Err(format!("`{other}` is not one of >, >=, <, <=, ==, !=")),
    };
    Ok((left.to_owned(), op, right.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_enums_match_whole_values() {
        let allowed = Allowed::new(&["FR".to_owned(), "DE".to_owned(), String::new()]);
        assert!(matches!(allowed, Allowed::Short(_)));
        assert!(allowed.contains(b"FR") && allowed.contains(b""));
        assert!(!allowed.contains(b"F") && !allowed.contains(b"FR\0") && !allowed.contains(b"FRA"));
        assert!(!allowed.contains(b"a much longer value"));
    }

    #[test]
    fn words_are_the_padded_bytes_and_length() {
        for len in 0..=7 {
            let value: Vec<u8> = (1..=len).map(|b: u8| b.wrapping_mul(37)).collect();
            let mut expected = [0u8; 8];
            expected[..value.len()].copy_from_slice(&value);
            expected[7] = len;
            assert_eq!(short_word(&value), Some(u64::from_le_bytes(expected)));
        }
        assert_eq!(short_word(b"12345678"), None);
    }

    #[test]
    fn word_tables_agree_with_a_linear_search() {
        let mut seed = 0x1234_5678_9ABC_DEF1_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let alphabet = b"abAB01-_xZ";
        let random_value = |bits: u64| -> String {
            let len = usize::try_from(bits % 8).unwrap_or(0);
            (0..len)
                .map(|at| {
                    char::from(alphabet[usize::try_from((bits >> (3 + 4 * at)) % 10).unwrap_or(0)])
                })
                .collect()
        };
        for count in [1, 2, 3, 5, 20, 64, 200] {
            let values: Vec<String> = (0..count).map(|_| random_value(next())).collect();
            let allowed = Allowed::new(&values);
            assert!(matches!(allowed, Allowed::Short(_)), "{count} values");
            for _ in 0..20_000 {
                let probe = random_value(next());
                assert_eq!(
                    allowed.contains(probe.as_bytes()),
                    values.contains(&probe),
                    "{probe:?} in {values:?}"
                );
            }
            for value in &values {
                assert!(allowed.contains(value.as_bytes()));
            }
        }
        let countries: Vec<String> = "FR DE ES IT NL BE PT PL SE DK FI NO AT CH IE GB US CA JP BR"
            .split(' ')
            .map(str::to_owned)
            .collect();
        let allowed = Allowed::new(&countries);
        assert!(countries.iter().all(|c| allowed.contains(c.as_bytes())));
        assert!(!allowed.contains(b"XX") && !allowed.contains(b"F") && !allowed.contains(b"FRA"));
    }

    #[test]
    fn relations_parse() {
        assert_eq!(
            parse_relation("a >= b"),
            Ok(("a".to_owned(), Op::Ge, "b".to_owned()))
        );
        assert!(parse_relation("a => b").unwrap_err().contains("`=>`"));
        assert!(parse_relation("a >").is_err());
    }
}
