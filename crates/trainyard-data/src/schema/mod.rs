//! Dataset schemas: where they come from (inline, a YAML file, a Frictionless Table
//! Schema, a Great Expectations suite) and how a field's bytes are read as a typed value.
//!
//! The schema types themselves live in [`trainyard_core::manifest::data`], so the
//! manifest's JSON Schema describes them.

mod frictionless;
mod gx;

use std::path::Path;

use trainyard_core::manifest::Dataset;
use trainyard_core::manifest::data::{ColumnType, DataSchema};
use trainyard_core::{ConfigError, Finding, SourceSpan, StepError};

pub use frictionless::import as import_frictionless;
pub use gx::import as import_great_expectations;

/// A schema and the warnings met while reading it (unsupported expectations, ...).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadedSchema {
    pub schema: DataSchema,
    pub warnings: Vec<Finding>,
    /// Null values the schema declares (Frictionless `missingValues`), used when the
    /// dataset's `csv.null-values` is not set.
    pub null_values: Option<Vec<String>>,
}

/// The schema of a dataset: its `schema-file` (relative to `base`, the manifest's
/// folder) with its inline `schema` on top (an inline column replaces the file's
/// column of the same name; inline table checks are added). `None` when neither is set.
pub fn for_dataset(dataset: &Dataset, base: &Path) -> Result<Option<LoadedSchema>, StepError> {
    let mut loaded = match &dataset.schema_file {
        Some(file) => load(&base.join(file), file)?,
        None if dataset.schema.is_none() => return Ok(None),
        None => LoadedSchema::default(),
    };
    if let Some(inline) = &dataset.schema {
        let schema = &mut loaded.schema;
        // The first column of each name in the file, found without a search.
        let mut at: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for (index, column) in schema.columns.iter().enumerate().rev() {
            at.insert(column.name.clone(), index);
        }
        for column in &inline.columns {
            if let Some(&index) = at.get(&column.name) {
                schema.columns[index] = column.clone();
            } else {
                at.insert(column.name.clone(), schema.columns.len());
                schema.columns.push(column.clone());
            }
        }
        if inline.column_match != trainyard_core::manifest::data::ColumnMatch::default() {
            schema.column_match = inline.column_match;
        }
        if inline.rows.is_some() {
            schema.rows = inline.rows;
        }
        schema
            .unique_together
            .extend(inline.unique_together.iter().cloned());
        schema.relations.extend(inline.relations.iter().cloned());
    }
    Ok(Some(loaded))
}

/// Reads a schema file: trainyard YAML (`.yaml`, `.yml`), or JSON that is a
/// Frictionless Table Schema (has `fields`) or a Great Expectations suite (has
/// `expectations`). `display` names the file in errors and findings.
pub fn load(path: &Path, display: &str) -> Result<LoadedSchema, StepError> {
    let text =
        std::fs::read_to_string(path).map_err(|error| StepError::io("reading", path, error))?;
    parse(&text, display)
}

/// [`load`] on text already read.
pub fn parse(text: &str, display: &str) -> Result<LoadedSchema, StepError> {
    let is_json =
        display.to_ascii_lowercase().ends_with(".json") || text.trim_start().starts_with('{');
    if !is_json {
        trainyard_core::yaml::check_strict_yaml(text)
            .map_err(|error| StepError::from(error.to_config_error(display, text)))?;
        let schema: DataSchema = serde_yaml_ng::from_str(text).map_err(|error| {
            let mut config = ConfigError::new(display, "bad-schema", error.to_string());
            if let Some(location) = error.location() {
                config = config.at(
                    text,
                    SourceSpan {
                        line: u32::try_from(location.line()).unwrap_or(u32::MAX),
                        column: u32::try_from(location.column()).unwrap_or(u32::MAX),
                    },
                );
            }
            StepError::from(config)
        })?;
        return Ok(LoadedSchema {
            schema,
            ..LoadedSchema::default()
        });
    }
    trainyard_core::yaml::check_json(text)
        .map_err(|error| StepError::from(error.to_config_error(display, text)))?;
    let value: serde_json::Value = serde_json::from_str(text).map_err(|error| {
        StepError::from(
            ConfigError::new(display, "bad-schema", format!("not valid JSON: {error}")).at(
                text,
                SourceSpan {
                    line: u32::try_from(error.line()).unwrap_or(u32::MAX),
                    column: u32::try_from(error.column()).unwrap_or(u32::MAX),
                },
            ),
        )
    })?;
    if value.get("fields").is_some() {
        frictionless::import(&value, display)
    } else if value.get("expectations").is_some() {
        gx::import(&value, display)
    } else {
        Err(ConfigError::new(
            display,
            "bad-schema",
            "a JSON schema file must be a Frictionless Table Schema (with `fields`) or a Great Expectations suite (with `expectations`)",
        )
        .into())
    }
}

/// A value read from a field's bytes for the checks: a number (dates and date-times
/// as days / seconds since 1970-01-01 UTC), or text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Number(f64),
    Text(&'a [u8]),
}

/// Reads `bytes` as a value of `kind`; `None` when it is not one.
#[allow(clippy::cast_precision_loss)] // days since 1970 fit in f64 exactly
#[inline]
pub fn read_value(kind: Option<ColumnType>, bytes: &[u8]) -> Option<Value<'_>> {
    match kind {
        None | Some(ColumnType::String | ColumnType::Categorical) => Some(Value::Text(bytes)),
        Some(ColumnType::Integer) => parse_integer(bytes).map(Value::Number),
        Some(ColumnType::Number) => parse_number(bytes).map(Value::Number),
        Some(ColumnType::Boolean) => {
            parse_boolean(bytes).map(|b| Value::Number(f64::from(u8::from(b))))
        }
        Some(ColumnType::Date) => parse_date(bytes).map(|days| Value::Number(days as f64)),
        Some(ColumnType::Datetime) => parse_datetime(bytes).map(Value::Number),
    }
}

/// A whole number: optional sign, digits (`+7`, `-12`). `1.0` is not one.
#[inline]
pub fn parse_integer(bytes: &[u8]) -> Option<f64> {
    let (negative, digits) = match bytes.first()? {
        b'-' => (true, &bytes[1..]),
        b'+' => (false, &bytes[1..]),
        _ => (false, bytes),
    };
    // 19 digits stay below 2^64.
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let mut magnitude = 0_u64;
    for &byte in digits {
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        magnitude = magnitude * 10 + u64::from(digit);
    }
    #[allow(clippy::cast_precision_loss)]
    let value = magnitude as f64;
    Some(if negative { -value } else { value })
}

/// Any finite or infinite decimal number (`3.14`, `-1e5`, `inf`); not NaN.
#[inline]
pub fn parse_number(bytes: &[u8]) -> Option<f64> {
    match parse_short_decimal(bytes) {
        Some(value) => Some(value),
        None => parse_any_number(bytes),
    }
}

/// [`parse_number`] beyond short decimals: exponents, long mantissas, `inf`.
/// Kept out of line so the common case inlines into the checks' loops.
#[cold]
#[inline(never)]
fn parse_any_number(bytes: &[u8]) -> Option<f64> {
    fast_float2::parse::<f64, _>(bytes)
        .ok()
        .filter(|value| !value.is_nan())
}

/// Powers of ten that are exact in an `f64`.
const EXACT_POWERS_OF_TEN: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// The common case of [`parse_number`]: `[-+]digits[.digits]` with at most 15
/// digits. The digits as a whole number and the power of ten are both exact in
/// an `f64`, so one division rounds once: the same double a full parser returns
/// (the fast path of Clinger's algorithm). `None`: not this shape.
#[inline]
fn parse_short_decimal(bytes: &[u8]) -> Option<f64> {
    let (negative, text) = match bytes.first()? {
        b'-' => (true, &bytes[1..]),
        b'+' => (false, &bytes[1..]),
        _ => (false, bytes),
    };
    if text.len() > 16 {
        return None;
    }
    let mut mantissa = 0_u64;
    let mut rest = text;
    while let [byte, tail @ ..] = rest {
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            break;
        }
        mantissa = mantissa * 10 + u64::from(digit);
        rest = tail;
    }
    let whole_digits = text.len() - rest.len();
    let decimals = match rest {
        [] if whole_digits > 0 && whole_digits <= 15 => 0,
        // A digit on both sides of the point (`.5` and `5.` go to the full parser).
        [b'.', fraction @ ..] if whole_digits > 0 && !fraction.is_empty() => {
            for byte in fraction {
                let digit = byte.wrapping_sub(b'0');
                if digit > 9 {
                    return None;
                }
                mantissa = mantissa * 10 + u64::from(digit);
            }
            // At most 15 digits in all (16 bytes with the point).
            fraction.len()
        }
        _ => return None,
    };
    #[allow(clippy::cast_precision_loss)] // at most 15 digits: exact
    let value = mantissa as f64 / EXACT_POWERS_OF_TEN[decimals];
    Some(if negative { -value } else { value })
}

/// `true`/`false` in lower, title or upper case, or `1`/`0`.
pub fn parse_boolean(bytes: &[u8]) -> Option<bool> {
    match bytes {
        b"true" | b"True" | b"TRUE" | b"1" => Some(true),
        b"false" | b"False" | b"FALSE" | b"0" => Some(false),
        _ => None,
    }
}

fn digits(bytes: &[u8]) -> Option<i64> {
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        bytes
            .iter()
            .fold(0, |acc, &d| acc * 10 + i64::from(d - b'0')),
    )
}

/// Days from 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The value of ASCII digits; `None` if one is not a digit.
#[inline]
fn digit_value<const N: usize>(bytes: [u8; N]) -> Option<i64> {
    let mut value = 0;
    for byte in bytes {
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        value = value * 10 + i64::from(digit);
    }
    Some(value)
}

/// `YYYY-MM-DD`, as days since 1970-01-01.
#[inline]
pub fn parse_date(bytes: &[u8]) -> Option<i64> {
    let &[y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2] = bytes else {
        return None;
    };
    let (year, month, day) = (
        digit_value([y1, y2, y3, y4])?,
        digit_value([m1, m2])?,
        digit_value([d1, d2])?,
    );
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (1..=days_in_month)
        .contains(&day)
        .then(|| days_from_civil(year, month, day))
}

/// `YYYY-MM-DD[T ]HH:MM[:SS[.fff]][Z|±HH[:MM]]`, as seconds since 1970-01-01 UTC.
pub fn parse_datetime(bytes: &[u8]) -> Option<f64> {
    if bytes.len() < 16 || !matches!(bytes[10], b'T' | b't' | b' ') || bytes[13] != b':' {
        return None;
    }
    let days = parse_date(&bytes[..10])?;
    let (hour, minute) = (digits(&bytes[11..13])?, digits(&bytes[14..16])?);
    let mut rest = &bytes[16..];
    let mut seconds = 0.0;
    if let Some(after) = rest.strip_prefix(b":") {
        let end = after
            .iter()
            .position(|b| !(b.is_ascii_digit() || *b == b'.'))
            .unwrap_or(after.len());
        if end < 2 || !after[..2].iter().all(u8::is_ascii_digit) {
            return None;
        }
        seconds = parse_number(&after[..end])?;
        rest = &after[end..];
    }
    let offset = match rest {
        b"" | b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), hours @ ..] => {
            let (hh, mm) = match hours {
                [h1, h2] => (digits(&[*h1, *h2])?, 0),
                [h1, h2, m1, m2] | [h1, h2, b':', m1, m2] => {
                    (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?)
                }
                _ => return None,
            };
            let total = hh * 3600 + mm * 60;
            if *sign == b'-' { -total } else { total }
        }
        _ => return None,
    };
    if hour > 23 || minute > 59 || !(0.0..61.0).contains(&seconds) {
        return None;
    }
    #[allow(clippy::cast_precision_loss)]
    let whole = (days * 86_400 + hour * 3600 + minute * 60 - offset) as f64;
    Some(whole + seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_booleans() {
        assert_eq!(parse_integer(b"-42"), Some(-42.0));
        assert_eq!(parse_integer(b"4.0"), None);
        assert_eq!(parse_integer(b"-"), None);
        assert_eq!(parse_number(b"1e3"), Some(1000.0));
        assert_eq!(parse_number(b"NaN"), None);
        assert_eq!(parse_number(b"12abc"), None);
        assert_eq!(parse_boolean(b"True"), Some(true));
        assert_eq!(parse_boolean(b"yes"), None);
    }

    /// Strings from `alphabet`, deterministic (xorshift).
    fn random_texts(alphabet: &[u8], count: usize, max_len: u64) -> Vec<Vec<u8>> {
        let mut state = 0x2545_F491_4F6C_DD1D_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        (0..count)
            .map(|_| {
                let len = next() % (max_len + 1);
                (0..len)
                    .map(|_| alphabet[usize::try_from(next() % alphabet.len() as u64).unwrap()])
                    .collect()
            })
            .collect()
    }

    #[test]
    fn short_decimals_parse_to_the_same_bits_as_the_full_parser() {
        let full = |bytes: &[u8]| {
            fast_float2::parse::<f64, _>(bytes)
                .ok()
                .filter(|value| !value.is_nan())
        };
        let mut texts = random_texts(b"0123456789.-+", 200_000, 18);
        texts.extend(random_texts(b"0123456789.", 200_000, 17));
        texts.extend(random_texts(b"9.", 50_000, 17));
        for text in [
            "0",
            "-0",
            "+0",
            "-0.0",
            "0.1",
            "0.3",
            "2.675",
            "1.005",
            "9007199254740993",
            "999999999999999",
            "9999999999999999",
            "0.000000000000001",
            "123456789012345.",
            ".5",
            "5.",
            "-.5",
            "+",
            "-",
            ".",
            "1.2.3",
            "1e5",
            "00000000000000012",
            "4.35",
            "0.1234567890123",
            "-89.29523",
            "5672.8",
        ] {
            texts.push(text.as_bytes().to_vec());
        }
        let mut fast = 0;
        for text in &texts {
            let mine = parse_number(text).map(f64::to_bits);
            assert_eq!(
                mine,
                full(text).map(f64::to_bits),
                "{}",
                String::from_utf8_lossy(text)
            );
            fast += usize::from(parse_short_decimal(text).is_some());
        }
        assert!(fast > 100_000, "the fast path took only {fast}");
    }

    #[test]
    fn integers_parse_like_the_old_two_pass_parser() {
        let old = |bytes: &[u8]| {
            let digits = match bytes.first()? {
                b'-' | b'+' => &bytes[1..],
                _ => bytes,
            };
            if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let magnitude = digits.iter().fold(0_u64, |acc, &digit| {
                acc.wrapping_mul(10).wrapping_add(u64::from(digit - b'0'))
            });
            #[allow(clippy::cast_precision_loss)]
            let value = magnitude as f64;
            Some(if bytes[0] == b'-' { -value } else { value })
        };
        let mut texts = random_texts(b"0123456789-+.a", 100_000, 22);
        texts.extend(random_texts(b"9", 100, 21));
        for text in &texts {
            assert_eq!(
                parse_integer(text).map(f64::to_bits),
                old(text).map(f64::to_bits),
                "{}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn dates_read_like_the_digit_folding_parser() {
        // The parser before: digits folded from slices, then the same calendar rules.
        let old = |bytes: &[u8]| -> Option<i64> {
            if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
                return None;
            }
            let (year, month, day) = (
                digits(&bytes[..4])?,
                digits(&bytes[5..7])?,
                digits(&bytes[8..])?,
            );
            let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
            let days_in_month = match month {
                1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
                4 | 6 | 9 | 11 => 30,
                2 if leap => 29,
                2 => 28,
                _ => return None,
            };
            (1..=days_in_month)
                .contains(&day)
                .then(|| days_from_civil(year, month, day))
        };
        let mut texts = random_texts(b"0123456789-", 100_000, 11);
        for year in (0..10_000).step_by(7) {
            for month in 0..=13 {
                for day in [0, 1, 15, 28, 29, 30, 31, 32] {
                    texts.push(format!("{year:04}-{month:02}-{day:02}").into_bytes());
                }
            }
        }
        texts.push(b"2024-0a-01".to_vec());
        texts.push(b"2024/01/01".to_vec());
        let mut valid = 0;
        for text in &texts {
            assert_eq!(
                parse_date(text),
                old(text),
                "{}",
                String::from_utf8_lossy(text)
            );
            valid += usize::from(old(text).is_some());
        }
        assert!(valid > 10_000);
    }

    #[test]
    fn dates_and_datetimes() {
        assert_eq!(parse_date(b"1970-01-01"), Some(0));
        assert_eq!(parse_date(b"2000-03-01"), Some(11_017));
        assert_eq!(parse_date(b"2023-02-29"), None);
        assert_eq!(parse_date(b"2024-02-29"), Some(19_782));
        assert_eq!(parse_datetime(b"1970-01-02T00:00:01Z"), Some(86_401.0));
        assert_eq!(parse_datetime(b"1970-01-01 01:00:00+01:00"), Some(0.0));
        assert_eq!(parse_datetime(b"1970-01-01T00:00:00.5"), Some(0.5));
        assert_eq!(parse_datetime(b"1970-01-01T25:00"), None);
        assert_eq!(parse_datetime(b"1970-01-01"), None);
    }
}
