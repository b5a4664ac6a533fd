//! The checks and profile of a column read as numbers ([`NumberColumn`]: Parquet
//! integers, doubles and decimals of a column declared `integer` or `number`).
//!
//! The results are the text path's, value for value: a number counts as what
//! reading its text (the reader's rendering: digits, shortest round-trip double,
//! fixed decimals) would give, without rendering it. Text is made only where a
//! check looks at it (`length`, `pattern`, `enum`, `unique`'s hash) and for the
//! values a finding shows or the profile takes as text (those failing the type).

use trainyard_core::manifest::data::ColumnType;

use super::{
    CheckAcc, ColumnAcc, ColumnSink, ProfileSink, RawOffense, check_number, check_text, lossy,
};
use crate::check::{ColumnPlan, Plan};
use crate::read::{Batch, NumberColumn, Numbers, integer_text};
use crate::schema::parse_number;

impl Plan {
    /// The columns whose checks and profile can take numbers as they are: declared
    /// `integer` or `number` (the last declaration of a name is the one checked),
    /// and neither compared in a relation nor in a `unique-together` group, which
    /// read text.
    pub(crate) fn numeric_columns(&self) -> Vec<String> {
        let mut last = std::collections::HashMap::new();
        for (index, column) in self.columns.iter().enumerate() {
            last.insert(column.name.as_str(), index);
        }
        self.columns
            .iter()
            .enumerate()
            .filter(|(index, column)| {
                reads_numbers(column)
                    && last.get(column.name.as_str()) == Some(index)
                    && !self
                        .relations
                        .iter()
                        .any(|r| r.left == column.name || r.right == column.name)
                    && !self
                        .compounds
                        .iter()
                        .any(|c| c.columns.contains(&column.name))
            })
            .map(|(_, column)| column.name.clone())
            .collect()
    }
}

/// Whether a declared column is one [`absorb`] checks.
pub(super) fn reads_numbers(column: &ColumnPlan) -> bool {
    matches!(column.kind, Some(ColumnType::Integer | ColumnType::Number))
}

/// A declared column's part of a batch, read as numbers.
pub(super) struct NumberPass<'a, P: ProfileSink> {
    pub(super) plan: &'a ColumnPlan,
    pub(super) acc: &'a mut ColumnAcc,
    pub(super) checks: &'a mut [CheckAcc],
    pub(super) profile: &'a mut P::Column,
    pub(super) batch: &'a Batch,
    pub(super) numbers: &'a NumberColumn,
    pub(super) column_number: Option<u32>,
    /// The `unique` table's in-memory budget (see `unique::Seen::insert`).
    pub(super) spill_entries: usize,
}

/// The exact powers of ten as doubles (10^22 is the last one a double holds).
const POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// A double as `integer` reads its text: its `Display` text has no point or
/// exponent only when it is whole, and is at most 19 digits (what the integer
/// reader takes) below 10^19. The value read back is the double itself.
#[inline]
#[allow(clippy::float_cmp)] // whole: no fraction at all
fn whole(value: f64) -> Option<f64> {
    (value.trunc() == value && value.abs() < 1e19).then_some(value)
}

/// A decimal as `number` reads its text: the correctly rounded quotient, which
/// one division gives while both operands are exact doubles.
#[inline]
#[allow(clippy::cast_precision_loss)] // only below 2^53, where it is exact
fn decimal(unscaled: i64, scale: u32, numbers: &NumberColumn, row: usize) -> Option<f64> {
    const EXACT: u64 = 1 << 53;
    match POWERS_OF_TEN.get(scale as usize) {
        Some(power) if unscaled.unsigned_abs() <= EXACT => Some(unscaled as f64 / power),
        _ => {
            let mut text = Vec::new();
            numbers.text(row, &mut text);
            parse_number(&text)
        }
    }
}

impl<P: ProfileSink> NumberPass<'_, P> {
    /// Checks and profiles every row, as the text path would.
    pub(super) fn run(self) {
        let integer = self.plan.kind == Some(ColumnType::Integer);
        let numbers = self.numbers;
        match &numbers.values {
            #[allow(clippy::cast_precision_loss)] // as the text's digits read
            Numbers::Integers(values) => self.rows(|row| Some(values[row] as f64)),
            Numbers::Doubles(values) if integer => self.rows(|row| whole(values[row])),
            // NaN's text is not a number; infinities' are (`inf`, `-inf`).
            Numbers::Doubles(values) => self.rows(|row| Some(values[row]).filter(|x| !x.is_nan())),
            // A decimal's text has a point: never an integer.
            Numbers::Decimals { .. } if integer => self.rows(|_| None),
            Numbers::Decimals { unscaled, scale } => {
                self.rows(|row| decimal(unscaled[row], *scale, numbers, row));
            }
        }
    }

    /// The row loop; `read` is the value at a row as the column's type reads its
    /// text (`None`: not a value of the type).
    #[inline]
    fn rows(self, read: impl Fn(usize) -> Option<f64>) {
        let Self {
            plan,
            acc,
            checks,
            profile,
            batch,
            numbers,
            column_number,
            spill_entries,
        } = self;
        let file_index = batch.file.index;
        let needs_number = plan.needs_number();
        let needs_text = plan.length.is_some()
            || plan.pattern.is_some()
            || plan.allowed.is_some()
            || plan.unique.is_some();
        let render = |row: usize| {
            let mut text = Vec::new();
            numbers.text(row, &mut text);
            text
        };
        let mut text = Vec::new();
        let mut digits = [0; 20];
        for (row, &line) in batch.lines.iter().enumerate() {
            let offense = |detail: Option<String>| RawOffense {
                file: file_index,
                line,
                column: column_number,
                value: Some(lossy(&render(row))),
                detail,
                rule: None,
            };
            if !numbers.is_present(row) {
                acc.nulls += 1;
                profile.observe_null();
                if let Some(check) = plan.not_null {
                    checks[check].fail(file_index, line, || RawOffense {
                        file: file_index,
                        line,
                        column: column_number,
                        value: None,
                        detail: None,
                        rule: None,
                    });
                }
                continue;
            }
            let Some(number) = read(row) else {
                if P::ACTIVE {
                    let text = render(row);
                    profile.observe_text(std::str::from_utf8(&text).unwrap_or_default());
                }
                if let Some(check) = plan.type_check {
                    checks[check].fail(file_index, line, || offense(None));
                }
                continue;
            };
            profile.observe_number(number);
            if needs_number {
                check_number(plan, acc, checks, number, (file_index, line), offense);
            }
            if !needs_text {
                continue;
            }
            let bytes = if let Numbers::Integers(values) = &numbers.values {
                integer_text(values[row], &mut digits)
            } else {
                text.clear();
                numbers.text(row, &mut text);
                text.as_slice()
            };
            let offense = |detail: Option<String>| RawOffense {
                file: file_index,
                line,
                column: column_number,
                value: Some(lossy(bytes)),
                detail,
                rule: None,
            };
            check_text(
                plan,
                acc,
                checks,
                bytes,
                (file_index, line, column_number),
                spill_entries,
                offense,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use trainyard_core::manifest::data::DataSchema;

    use super::*;

    #[test]
    fn numeric_columns_are_the_ones_only_read_as_numbers() {
        let schema: DataSchema = serde_yaml_ng::from_str(
            "columns:
  - { name: id, type: integer, unique: true }
  - { name: x, type: number, pattern: '[0-9]+' }
  - { name: s, type: string }
  - { name: d, type: date }
  - { name: free }
  - { name: a, type: integer }
  - { name: b, type: number }
  - { name: g, type: integer }
  - { name: twice, type: number }
  - { name: twice, type: string }
  - { name: again, type: string }
  - { name: again, type: integer }
relations: [{ rule: a < b }]
unique-together: [[g, s]]
",
        )
        .unwrap();
        let plan = Plan::new(&schema, "schema.yaml").unwrap();
        assert_eq!(plan.numeric_columns(), ["id", "x", "again"]);
    }

    #[test]
    fn doubles_read_as_their_text_reads() {
        use crate::schema::read_value;
        let specials = [
            0.0,
            -0.0,
            2.0,
            1.5,
            -7.0,
            1e19,
            9_999_999_999_999_998_976.0,
            -9_999_999_999_999_998_976.0,
            1e300,
            5e-324,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
            0.1,
            1_152_921_504_606_846_976.0, // 2^60: its shortest text ends in zeros
        ];
        for value in specials {
            let text = value.to_string();
            let as_integer = read_value(Some(ColumnType::Integer), text.as_bytes());
            let as_number = read_value(Some(ColumnType::Number), text.as_bytes());
            let expected = |read: Option<crate::schema::Value<'_>>| match read {
                Some(crate::schema::Value::Number(x)) => Some(x.to_bits()),
                _ => None,
            };
            assert_eq!(
                whole(value).map(f64::to_bits),
                expected(as_integer),
                "{text} as integer"
            );
            assert_eq!(
                Some(value).filter(|x| !x.is_nan()).map(f64::to_bits),
                expected(as_number),
                "{text} as number"
            );
        }
    }

    #[test]
    fn decimals_read_as_their_text_reads() {
        let column = |unscaled: i64, scale: u32| NumberColumn {
            column: 0,
            values: Numbers::Decimals {
                unscaled: vec![unscaled],
                scale,
            },
            present: Vec::new(),
        };
        for (unscaled, scale) in [
            (12_345, 2),
            (-1, 18),
            (1 << 53, 3),
            ((1 << 53) + 1, 3),
            (i64::MAX, 7),
            (i64::MIN, 1),
            (7, 22),
            (7, 23),
        ] {
            let numbers = column(unscaled, scale);
            let mut text = Vec::new();
            numbers.text(0, &mut text);
            assert_eq!(
                decimal(unscaled, scale, &numbers, 0).map(f64::to_bits),
                parse_number(&text).map(f64::to_bits),
                "{}",
                String::from_utf8_lossy(&text)
            );
        }
    }
}
