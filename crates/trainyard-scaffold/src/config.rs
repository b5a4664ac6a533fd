//! `cargo-generate.toml`: the template's description, its placeholders
//! (checked as cargo-generate checks them), its file rules and conditionals.

use regex::Regex;
use serde::Deserialize;

use crate::ScaffoldError;

/// The config file's name, as cargo-generate reads it (and never writes it out).
pub const CONFIG_FILE: &str = "cargo-generate.toml";

/// A parsed `cargo-generate.toml`.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// `[template] description`, if given.
    pub description: Option<String>,
    /// `[template] include`: only these are rendered (the rest copied as is).
    pub include: Option<Vec<String>>,
    /// `[template] exclude`: copied as is, not rendered.
    pub exclude: Option<Vec<String>>,
    /// `[template] ignore`: paths left out of the output.
    pub ignore: Vec<String>,
    /// The placeholders, in the file's order.
    pub placeholders: Vec<Placeholder>,
    /// `[conditional.'<condition>']` blocks, in the file's order.
    pub conditionals: Vec<Conditional>,
}

/// One `[conditional.'<condition>']` block.
#[derive(Debug, Clone)]
pub struct Conditional {
    pub condition: String,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub ignore: Vec<String>,
}

/// A value the template asks for.
#[derive(Debug, Clone)]
pub struct Placeholder {
    pub name: String,
    pub prompt: String,
    pub kind: PlaceholderKind,
    /// The default, as text (`true`/`false` for a bool).
    pub default: Option<String>,
    pub choices: Option<Vec<String>>,
    pub regex: Option<Regex>,
}

impl Placeholder {
    /// The `regex` a value must match, as written.
    pub fn pattern(&self) -> Option<&str> {
        self.regex.as_ref().map(Regex::as_str)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaceholderKind {
    String,
    Bool,
}

impl PlaceholderKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Bool => "bool",
        }
    }
}

/// Names cargo-generate sets itself; a placeholder may not take them.
pub const RESERVED_NAMES: [&str; 7] = [
    "authors",
    "os-arch",
    "project-name",
    "crate_name",
    "crate_type",
    "within_cargo_project",
    "is_init",
];

#[derive(Debug, Deserialize)]
struct RawConfig {
    template: Option<RawTemplate>,
    placeholders: Option<OrderedTable>,
    hooks: Option<toml::Value>,
    conditional: Option<OrderedTable>,
}

#[derive(Debug, Deserialize)]
struct RawTemplate {
    description: Option<String>,
    sub_templates: Option<toml::Value>,
    include: Option<Vec<String>>,
    exclude: Option<Vec<String>>,
    ignore: Option<Vec<String>>,
    init: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct RawConditional {
    include: Option<Vec<String>>,
    exclude: Option<Vec<String>>,
    ignore: Option<Vec<String>>,
    placeholders: Option<toml::Value>,
}

/// `toml`'s table keeps the file's order (the `preserve_order` feature).
type OrderedTable = toml::Table;

impl Config {
    /// Parses and checks `cargo-generate.toml` of the template `template`.
    pub fn parse(template: &str, text: &str) -> Result<Self, ScaffoldError> {
        let bad = |message: String| ScaffoldError::Config {
            template: template.to_owned(),
            message,
        };
        let raw: RawConfig = toml::from_str(text).map_err(|error| bad(error.to_string()))?;
        let unsupported = |what: &str| ScaffoldError::Unsupported {
            template: template.to_owned(),
            what: what.to_owned(),
        };
        if raw.hooks.is_some() {
            return Err(unsupported("[hooks] (Rhai scripts)"));
        }
        let mut config = Self::default();
        if let Some(section) = raw.template {
            if section.sub_templates.is_some() {
                return Err(unsupported("[template] sub_templates"));
            }
            if section.init == Some(true) {
                return Err(unsupported("[template] init = true"));
            }
            config.description = section.description;
            config.include = section.include;
            config.exclude = section.exclude;
            config.ignore = section.ignore.unwrap_or_default();
        }
        for (name, value) in raw.placeholders.unwrap_or_default() {
            config
                .placeholders
                .push(placeholder(&name, &value).map_err(bad)?);
        }
        for (condition, value) in raw.conditional.unwrap_or_default() {
            let block: RawConditional = value
                .try_into()
                .map_err(|error| bad(format!("[conditional.'{condition}']: {error}")))?;
            if block.placeholders.is_some() {
                return Err(unsupported("placeholders inside a [conditional] block"));
            }
            config.conditionals.push(Conditional {
                condition,
                include: block.include.unwrap_or_default(),
                exclude: block.exclude.unwrap_or_default(),
                ignore: block.ignore.unwrap_or_default(),
            });
        }
        Ok(config)
    }
}

/// One placeholder, with cargo-generate's checks of its definition.
fn placeholder(name: &str, value: &toml::Value) -> Result<Placeholder, String> {
    if RESERVED_NAMES.contains(&name) {
        return Err(format!(
            "placeholder `{name}` is not valid: `project-name`, `crate_name`, `crate_type`, `authors` and `os-arch` are set by the generator"
        ));
    }
    let table = value
        .as_table()
        .ok_or_else(|| format!("placeholder `{name}` should be a table"))?;
    let kind = match table.get("type") {
        None => PlaceholderKind::String,
        Some(toml::Value::String(kind)) if kind == "string" => PlaceholderKind::String,
        Some(toml::Value::String(kind)) if kind == "bool" => PlaceholderKind::Bool,
        Some(other) => {
            return Err(format!(
                "placeholder `{name}` has type {other}; trainyard init supports `string` and `bool`"
            ));
        }
    };
    let regex = match (table.get("regex"), kind) {
        (None, _) => None,
        (Some(_), PlaceholderKind::Bool) => {
            return Err(format!(
                "placeholder `{name}`: bool type does not support `regex`"
            ));
        }
        (Some(toml::Value::String(pattern)), PlaceholderKind::String) => {
            Some(Regex::new(pattern).map_err(|error| {
                format!("placeholder `{name}`: `regex` is not a valid regex: {error}")
            })?)
        }
        (Some(_), _) => return Err(format!("placeholder `{name}`: `regex` should be a string")),
    };
    let prompt = match table.get("prompt") {
        Some(toml::Value::String(prompt)) => prompt.clone(),
        Some(_) => return Err(format!("placeholder `{name}`: `prompt` should be a string")),
        None => return Err(format!("placeholder `{name}` has no `prompt`")),
    };
    let choices = choices(name, kind, regex.as_ref(), table.get("choices"))?;
    let default = match (table.get("default"), kind) {
        (None, _) => None,
        (Some(toml::Value::Boolean(value)), PlaceholderKind::Bool) => Some(value.to_string()),
        (Some(toml::Value::String(value)), PlaceholderKind::String) => {
            if let Some(choices) = &choices
                && !choices.contains(value)
            {
                return Err(format!(
                    "placeholder `{name}`: default `{value}` is not one of its choices {choices:?}"
                ));
            }
            if let Some(regex) = &regex
                && !regex.is_match(value)
            {
                return Err(format!(
                    "placeholder `{name}`: default `{value}` does not match its `regex`"
                ));
            }
            Some(value.clone())
        }
        (Some(_), kind) => {
            return Err(format!(
                "placeholder `{name}`: `default` should be a {}",
                kind.name()
            ));
        }
    };
    Ok(Placeholder {
        name: name.to_owned(),
        prompt,
        kind,
        default,
        choices,
        regex,
    })
}

/// A string placeholder's `choices`, each matching its `regex`.
fn choices(
    name: &str,
    kind: PlaceholderKind,
    regex: Option<&Regex>,
    value: Option<&toml::Value>,
) -> Result<Option<Vec<String>>, String> {
    Ok(match (value, kind) {
        (None, _) => None,
        (Some(_), PlaceholderKind::Bool) => {
            return Err(format!(
                "placeholder `{name}`: bool type does not support `choices`"
            ));
        }
        (Some(toml::Value::Array(items)), PlaceholderKind::String) => {
            if items.is_empty() {
                return Err(format!("placeholder `{name}`: `choices` is empty"));
            }
            let mut choices = Vec::with_capacity(items.len());
            for item in items {
                let toml::Value::String(choice) = item else {
                    return Err(format!("placeholder `{name}`: `choices` should be strings"));
                };
                if let Some(regex) = regex
                    && !regex.is_match(choice)
                {
                    return Err(format!(
                        "placeholder `{name}`: choice `{choice}` does not match its `regex`"
                    ));
                }
                choices.push(choice.clone());
            }
            Some(choices)
        }
        (Some(_), _) => {
            return Err(format!(
                "placeholder `{name}`: `choices` should be an array"
            ));
        }
    })
}
