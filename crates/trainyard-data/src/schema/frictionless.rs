//! Frictionless Table Schema (<https://specs.frictionlessdata.io/table-schema/>) to a
//! [`DataSchema`]. What has no equivalent is reported as a warning, never dropped silently.

use serde_json::Value;
use trainyard_core::manifest::data::{Bound, ColumnMatch, ColumnSchema, ColumnType, DataSchema};
use trainyard_core::{ConfigError, Finding, Location, StepError};

use super::LoadedSchema;

fn bound(value: &Value) -> Option<Bound> {
    match value {
        Value::Number(number) => number.as_f64().map(Bound::Number),
        Value::String(text) => Some(Bound::Text(text.clone())),
        _ => None,
    }
}

pub(crate) fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Imports a Frictionless Table Schema; `display` names the file in warnings.
pub fn import(value: &Value, display: &str) -> Result<LoadedSchema, StepError> {
    let bad = |message: String| StepError::from(ConfigError::new(display, "bad-schema", message));
    let warn = |message: String| {
        Finding::warning("schema/unsupported", message).at(Location::file(display))
    };
    let fields = value
        .get("fields")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("`fields` must be a list".to_owned()))?;
    let mut loaded = LoadedSchema::default();
    let schema = &mut loaded.schema;
    schema.column_match = ColumnMatch::Exact;
    for (index, field) in fields.iter().enumerate() {
        let name = field
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| bad(format!("field {} has no `name`", index + 1)))?;
        let mut column = ColumnSchema::named(name);
        column.description = field
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let kind = field.get("type").and_then(Value::as_str).unwrap_or("any");
        column.kind = match kind {
            "integer" | "year" => Some(ColumnType::Integer),
            "number" => Some(ColumnType::Number),
            "string" => Some(ColumnType::String),
            "boolean" => Some(ColumnType::Boolean),
            "date" => Some(ColumnType::Date),
            "datetime" => Some(ColumnType::Datetime),
            "any" => None,
            other => {
                loaded
                    .warnings
                    .push(warn(format!("field `{name}`: type `{other}` is not supported; its values are not type-checked")));
                None
            }
        };
        if let Some(format) = field.get("format").and_then(Value::as_str)
            && format != "default"
        {
            loaded.warnings.push(warn(format!(
                "field `{name}`: format `{format}` is not supported; values are read in the default format"
            )));
        }
        if let Some(constraints) = field.get("constraints").and_then(Value::as_object) {
            for (key, constraint) in constraints {
                match key.as_str() {
                    "required" => column.nullable = !constraint.as_bool().unwrap_or(false),
                    "unique" => column.unique = constraint.as_bool().unwrap_or(false),
                    "minimum" => column.min = bound(constraint),
                    "maximum" => column.max = bound(constraint),
                    "exclusiveMinimum" => {
                        column.min = bound(constraint);
                        column.exclusive_min = true;
                    }
                    "exclusiveMaximum" => {
                        column.max = bound(constraint);
                        column.exclusive_max = true;
                    }
                    "minLength" => column.min_length = constraint.as_u64(),
                    "maxLength" => column.max_length = constraint.as_u64(),
                    "pattern" => column.pattern = constraint.as_str().map(str::to_owned),
                    "enum" => {
                        column.allowed = constraint
                            .as_array()
                            .map(|values| values.iter().map(text_of).collect());
                    }
                    other => loaded.warnings.push(warn(format!(
                        "field `{name}`: constraint `{other}` is not supported; it is not checked"
                    ))),
                }
            }
        }
        schema.columns.push(column);
    }
    match value.get("primaryKey") {
        None => {}
        Some(Value::String(key)) => primary_key(schema, std::slice::from_ref(key)),
        Some(Value::Array(keys)) => {
            let keys: Vec<String> = keys.iter().map(text_of).collect();
            primary_key(schema, &keys);
        }
        Some(_) => {
            return Err(bad(
                "`primaryKey` must be a name or a list of names".to_owned()
            ));
        }
    }
    if let Some(values) = value.get("missingValues").and_then(Value::as_array) {
        loaded.null_values = Some(values.iter().map(text_of).collect());
    }
    if value.get("foreignKeys").is_some() {
        loaded.warnings.push(warn(
            "`foreignKeys` is not supported; it is not checked".to_owned(),
        ));
    }
    Ok(loaded)
}

fn primary_key(schema: &mut DataSchema, keys: &[String]) {
    for column in &mut schema.columns {
        if keys.contains(&column.name) {
            column.nullable = false;
            if keys.len() == 1 {
                column.unique = true;
            }
        }
    }
    if keys.len() > 1 {
        schema.unique_together.push(keys.to_vec());
    }
}
