//! `trainyard data infer-schema`: a starting schema from the data itself: each
//! column's type, nullability, observed range, and an `enum` for low-cardinality text.

use std::collections::BTreeSet;

use trainyard_core::StepError;
use trainyard_core::manifest::data::{Bound, ColumnSchema, ColumnType, DataSchema};

use crate::read::{Batch, InputFile, ReadOptions};
use crate::schema::{parse_boolean, parse_date, parse_datetime, parse_integer, parse_number};
use crate::validate::run;

/// At most this many distinct values make a text column `categorical` with an `enum`.
pub const MAX_CATEGORIES: usize = 10;

#[allow(clippy::struct_excessive_bools)] // one flag per candidate type
#[derive(Debug, Clone)]
struct ColumnGuess {
    name: String,
    rows: u64,
    nulls: u64,
    integer: bool,
    number: bool,
    boolean: bool,
    date: bool,
    datetime: bool,
    min: f64,
    max: f64,
    min_length: u64,
    max_length: u64,
    /// Distinct values while there are few; `None` once there are too many.
    distinct: Option<BTreeSet<String>>,
}

impl ColumnGuess {
    fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            rows: 0,
            nulls: 0,
            integer: true,
            number: true,
            boolean: true,
            date: true,
            datetime: true,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            min_length: u64::MAX,
            max_length: 0,
            distinct: Some(BTreeSet::new()),
        }
    }

    fn observe(&mut self, bytes: &[u8]) {
        let number = parse_number(bytes);
        self.integer &= parse_integer(bytes).is_some();
        self.number &= number.is_some();
        // Only words count as booleans; 0/1 columns stay integers.
        self.boolean &= parse_boolean(bytes).is_some() && bytes.len() > 1;
        self.date &= parse_date(bytes).is_some();
        self.datetime &= parse_datetime(bytes).is_some();
        if let Some(number) = number {
            self.min = self.min.min(number);
            self.max = self.max.max(number);
        }
        let length = bytes.iter().filter(|&&b| (b & 0xC0) != 0x80).count() as u64;
        self.min_length = self.min_length.min(length);
        self.max_length = self.max_length.max(length);
        if let Some(distinct) = &mut self.distinct
            && !distinct.contains(String::from_utf8_lossy(bytes).as_ref())
        {
            if distinct.len() >= MAX_CATEGORIES {
                self.distinct = None;
            } else {
                distinct.insert(String::from_utf8_lossy(bytes).into_owned());
            }
        }
    }

    fn merge(&mut self, other: Self) {
        self.rows += other.rows;
        self.nulls += other.nulls;
        self.integer &= other.integer;
        self.number &= other.number;
        self.boolean &= other.boolean;
        self.date &= other.date;
        self.datetime &= other.datetime;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.min_length = self.min_length.min(other.min_length);
        self.max_length = self.max_length.max(other.max_length);
        self.distinct = match (self.distinct.take(), other.distinct) {
            (Some(mut a), Some(b)) => {
                a.extend(b);
                (a.len() <= MAX_CATEGORIES).then_some(a)
            }
            _ => None,
        };
    }

    fn column(&self) -> ColumnSchema {
        let mut column = ColumnSchema::named(&self.name);
        column.nullable = self.nulls > 0;
        let values = self.rows - self.nulls;
        if values == 0 {
            return column;
        }
        let kind = if self.boolean {
            ColumnType::Boolean
        } else if self.integer {
            ColumnType::Integer
        } else if self.number {
            ColumnType::Number
        } else if self.date {
            ColumnType::Date
        } else if self.datetime {
            ColumnType::Datetime
        } else if self
            .distinct
            .as_ref()
            .is_some_and(|d| (d.len() as u64) * 2 <= values)
        {
            ColumnType::Categorical
        } else {
            ColumnType::String
        };
        column.kind = Some(kind);
        match kind {
            ColumnType::Integer | ColumnType::Number => {
                column.min = Some(Bound::Number(self.min));
                column.max = Some(Bound::Number(self.max));
            }
            ColumnType::Categorical => {
                column.allowed = self.distinct.as_ref().map(|d| d.iter().cloned().collect());
            }
            ColumnType::String => {
                column.min_length = Some(self.min_length);
                column.max_length = Some(self.max_length);
            }
            ColumnType::Boolean | ColumnType::Date | ColumnType::Datetime => {}
        }
        column
    }
}

#[derive(Debug, Default)]
struct Guesses {
    columns: Vec<ColumnGuess>,
    /// The index of each name in `columns` (a search by name per column and
    /// batch was quadratic in the columns).
    index: std::collections::HashMap<String, usize>,
}

impl Guesses {
    fn column_mut(&mut self, name: &str) -> &mut ColumnGuess {
        let index = if let Some(&index) = self.index.get(name) {
            index
        } else {
            self.columns.push(ColumnGuess::new(name));
            self.index.insert(name.to_owned(), self.columns.len() - 1);
            self.columns.len() - 1
        };
        &mut self.columns[index]
    }

    fn absorb(&mut self, batch: &Batch) {
        for (physical, name) in batch.file.columns.iter().enumerate() {
            let guess = self.column_mut(name);
            for row in 0..batch.rows() {
                guess.rows += 1;
                match batch.field(row, physical) {
                    Some(bytes) if !batch.file.nulls.contains(bytes) => guess.observe(bytes),
                    _ => guess.nulls += 1,
                }
            }
        }
    }

    fn merge(&mut self, other: Self) {
        for column in other.columns {
            let name = column.name.clone();
            self.column_mut(&name).merge(column);
        }
    }
}

/// Infers a schema from files. Columns come in the order of the first file.
pub fn infer(inputs: Vec<InputFile>, options: ReadOptions) -> Result<DataSchema, StepError> {
    let (guesses, files, _) = run(
        inputs,
        options,
        Guesses::default,
        Guesses::absorb,
        Guesses::merge,
    )?;
    let mut order: Vec<&str> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for file in &files {
        for name in &file.columns {
            if seen.insert(name.as_str()) {
                order.push(name);
            }
        }
    }
    let columns = order
        .iter()
        .map(|name| {
            guesses
                .index
                .get(*name)
                .map(|&at| &guesses.columns[at])
                .map_or_else(|| ColumnSchema::named(*name), ColumnGuess::column)
        })
        .collect();
    Ok(DataSchema {
        columns,
        ..DataSchema::default()
    })
}

/// The schema as YAML, ready for `schema-file:` or to paste under `schema:`.
pub fn to_yaml(schema: &DataSchema) -> String {
    let body = serde_yaml_ng::to_string(schema).unwrap_or_default();
    format!(
        "# Inferred by `trainyard data infer-schema`: a starting point; review the bounds.\n{body}"
    )
}
