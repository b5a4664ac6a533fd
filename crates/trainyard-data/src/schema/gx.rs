//! Great Expectations suite JSON (0.x `expectation_type` and 1.x `type`) to a
//! [`DataSchema`]. Every expectation that has no equivalent is reported by name as a
//! warning finding, never ignored silently.

use serde_json::{Map, Value};
use trainyard_core::manifest::data::{
    Bound, ColumnMatch, ColumnSchema, ColumnType, CountRange, DataSchema, QuantileBound, Range,
    Relation,
};
use trainyard_core::{ConfigError, Finding, Location, StepError};

use super::LoadedSchema;
use super::frictionless::text_of;

fn column<'a>(schema: &'a mut DataSchema, name: &str) -> &'a mut ColumnSchema {
    let index = if let Some(index) = schema.columns.iter().position(|c| c.name == name) {
        index
    } else {
        schema.columns.push(ColumnSchema::named(name));
        schema.columns.len() - 1
    };
    &mut schema.columns[index]
}

fn bound(value: Option<&Value>) -> Option<Bound> {
    match value? {
        Value::Number(number) => number.as_f64().map(Bound::Number),
        Value::String(text) => Some(Bound::Text(text.clone())),
        _ => None,
    }
}

fn range(kwargs: &Map<String, Value>) -> Range {
    Range {
        min: kwargs.get("min_value").and_then(Value::as_f64),
        max: kwargs.get("max_value").and_then(Value::as_f64),
    }
}

fn type_named(name: &str) -> Option<ColumnType> {
    let lower = name.to_ascii_lowercase();
    // `int64`, `float32`, `datetime64[ns]`: the family is what is checked.
    let lower = lower.split('[').next().unwrap_or_default();
    let lower = lower.trim_end_matches(|c: char| c.is_ascii_digit());
    Some(match lower {
        "int" | "integer" | "long" | "bigint" | "smallint" | "tinyint" | "uint" | "int_" => {
            ColumnType::Integer
        }
        "float" | "double" | "number" | "decimal" | "numeric" | "real" | "float_" => {
            ColumnType::Number
        }
        "str" | "string" | "object" | "varchar" | "text" | "unicode" | "str_" => ColumnType::String,
        "bool" | "boolean" | "bool_" => ColumnType::Boolean,
        "date" => ColumnType::Date,
        "datetime" | "timestamp" => ColumnType::Datetime,
        "category" => ColumnType::Categorical,
        _ if lower.starts_with("datetime") || lower.starts_with("timestamp") => {
            ColumnType::Datetime
        }
        _ => return None,
    })
}

/// Imports a Great Expectations suite; `display` names the file in warnings.
#[allow(clippy::too_many_lines)] // one arm per expectation
pub fn import(value: &Value, display: &str) -> Result<LoadedSchema, StepError> {
    let bad = |message: String| StepError::from(ConfigError::new(display, "bad-schema", message));
    let expectations = value
        .get("expectations")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("`expectations` must be a list".to_owned()))?;
    let mut loaded = LoadedSchema::default();
    let empty = Map::new();
    for (index, expectation) in expectations.iter().enumerate() {
        let name = expectation
            .get("expectation_type")
            .or_else(|| expectation.get("type"))
            .and_then(Value::as_str)
            .ok_or_else(|| {
                bad(format!(
                    "expectation {} has no `expectation_type`",
                    index + 1
                ))
            })?;
        let kwargs = expectation
            .get("kwargs")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let warnings = &mut loaded.warnings;
        let mut warn = |message: String| {
            warnings.push(
                Finding::warning("schema/unsupported-expectation", message)
                    .at(Location::file(display)),
            );
        };
        let string = |key: &str| kwargs.get(key).and_then(Value::as_str).map(str::to_owned);
        let names = |key: &str| -> Vec<String> {
            kwargs
                .get(key)
                .and_then(Value::as_array)
                .map(|list| list.iter().map(text_of).collect())
                .unwrap_or_default()
        };
        // `mostly` is a fraction of rows; 1 is the same as none.
        let mostly = match kwargs.get("mostly") {
            None | Some(Value::Null) => None,
            Some(given) => match given.as_f64() {
                Some(mostly) if (0.0..=1.0).contains(&mostly) => Some(mostly).filter(|m| *m < 1.0),
                _ => {
                    return Err(bad(format!(
                        "`{name}` (expectation {}): `mostly` must be a number in [0, 1], found {given}",
                        index + 1
                    )));
                }
            },
        };
        let schema = &mut loaded.schema;
        let needs_column = || {
            bad(format!(
                "`{name}` (expectation {}) has no `column`",
                index + 1
            ))
        };
        match name {
            "expect_column_to_exist" => {
                column(schema, &string("column").ok_or_else(needs_column)?).required = true;
            }
            "expect_column_values_to_not_be_null" => {
                let col = column(schema, &string("column").ok_or_else(needs_column)?);
                match mostly {
                    Some(mostly) => {
                        col.null_fraction = Some(Range {
                            min: None,
                            max: Some(1.0 - mostly),
                        });
                    }
                    None => col.nullable = false,
                }
                continue;
            }
            "expect_column_values_to_be_between" => {
                let col = column(schema, &string("column").ok_or_else(needs_column)?);
                col.min = bound(kwargs.get("min_value"));
                col.max = bound(kwargs.get("max_value"));
                col.exclusive_min = kwargs
                    .get("strict_min")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                col.exclusive_max = kwargs
                    .get("strict_max")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
            }
            "expect_column_values_to_be_unique" => {
                column(schema, &string("column").ok_or_else(needs_column)?).unique = true;
            }
            "expect_column_values_to_be_in_set" => {
                column(schema, &string("column").ok_or_else(needs_column)?).allowed =
                    Some(names("value_set"));
            }
            "expect_column_values_to_match_regex" => {
                let regex = string("regex").unwrap_or_default();
                // GX searches (the regex may match anywhere); trainyard matches whole values.
                column(schema, &string("column").ok_or_else(needs_column)?).pattern =
                    Some(format!("(?s).*(?:{regex}).*"));
            }
            "expect_column_values_to_be_of_type" => {
                let wanted = string("type_").unwrap_or_default();
                match type_named(&wanted) {
                    Some(kind) => {
                        column(schema, &string("column").ok_or_else(needs_column)?).kind =
                            Some(kind);
                    }
                    None => warn(format!(
                        "`{name}`: type `{wanted}` is not supported; it is not checked"
                    )),
                }
            }
            "expect_table_row_count_to_be_between" => {
                schema.rows = Some(CountRange {
                    min: kwargs.get("min_value").and_then(Value::as_u64),
                    max: kwargs.get("max_value").and_then(Value::as_u64),
                });
            }
            "expect_column_mean_to_be_between" => {
                column(schema, &string("column").ok_or_else(needs_column)?).mean =
                    Some(range(kwargs));
            }
            "expect_column_stdev_to_be_between" => {
                column(schema, &string("column").ok_or_else(needs_column)?).stddev =
                    Some(range(kwargs));
            }
            "expect_column_quantile_values_to_be_between" => {
                let col = column(schema, &string("column").ok_or_else(needs_column)?);
                let ranges = kwargs.get("quantile_ranges");
                let quantiles = ranges
                    .and_then(|r| r.get("quantiles"))
                    .and_then(Value::as_array);
                let values = ranges
                    .and_then(|r| r.get("value_ranges"))
                    .and_then(Value::as_array);
                for (q, bounds) in quantiles
                    .into_iter()
                    .flatten()
                    .zip(values.into_iter().flatten())
                {
                    let bounds = bounds.as_array().cloned().unwrap_or_default();
                    let Some(q_value) = q.as_f64().filter(|q| (0.0..=1.0).contains(q)) else {
                        return Err(bad(format!(
                            "`{name}` (expectation {}): quantile {} must be a number in [0, 1]",
                            index + 1,
                            match q {
                                Value::String(text) => text.clone(),
                                other => other.to_string(),
                            }
                        )));
                    };
                    col.quantiles.push(QuantileBound {
                        q: q_value,
                        min: bounds.first().and_then(Value::as_f64),
                        max: bounds.get(1).and_then(Value::as_f64),
                    });
                }
            }
            "expect_table_columns_to_match_ordered_list" => {
                let list = names("column_list");
                for name in &list {
                    column(schema, name);
                }
                schema
                    .columns
                    .sort_by_key(|c| list.iter().position(|n| *n == c.name).unwrap_or(usize::MAX));
                schema.column_match = ColumnMatch::Exact;
            }
            "expect_table_columns_to_match_set" => {
                for name in names("column_set") {
                    column(schema, &name);
                }
                let exact = kwargs
                    .get("exact_match")
                    .and_then(Value::as_bool)
                    .unwrap_or(true);
                if exact && schema.column_match != ColumnMatch::Exact {
                    schema.column_match = ColumnMatch::Set;
                }
            }
            "expect_column_value_lengths_to_be_between" => {
                let col = column(schema, &string("column").ok_or_else(needs_column)?);
                col.min_length = kwargs.get("min_value").and_then(Value::as_u64);
                col.max_length = kwargs.get("max_value").and_then(Value::as_u64);
            }
            "expect_column_pair_values_A_to_be_greater_than_B" => {
                let (a, b) = (string("column_A"), string("column_B"));
                let (Some(a), Some(b)) = (a, b) else {
                    return Err(bad(format!("`{name}` needs `column_A` and `column_B`")));
                };
                let or_equal = kwargs
                    .get("or_equal")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                let op = if or_equal { ">=" } else { ">" };
                schema.relations.push(Relation {
                    rule: format!("{a} {op} {b}"),
                    mostly,
                });
                continue;
            }
            "expect_compound_columns_to_be_unique" | "expect_multicolumn_values_to_be_unique" => {
                schema.unique_together.push(names("column_list"));
                continue;
            }
            other => {
                warn(format!(
                    "expectation `{other}` is not supported; it is not checked"
                ));
                continue;
            }
        }
        if let (Some(mostly), Some(name)) = (mostly, string("column")) {
            let col = column(schema, &name);
            match col.mostly {
                Some(previous) if (previous - mostly).abs() > f64::EPSILON => {
                    col.mostly = Some(previous.min(mostly));
                    loaded.warnings.push(
                        Finding::warning(
                            "schema/mostly-merged",
                            format!("column `{name}`: expectations give different `mostly` values; the smallest, {}, applies to all its checks", previous.min(mostly)),
                        )
                        .at(Location::file(display)),
                    );
                }
                _ => col.mostly = Some(mostly),
            }
        }
    }
    Ok(loaded)
}
