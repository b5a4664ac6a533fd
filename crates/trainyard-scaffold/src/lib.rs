//! Project scaffolds: cargo-generate templates rendered in memory to the
//! files `cargo generate --path <template> --name <name> --silent --vcs none
//! -d key=value …` writes (cargo-generate 0.23), so `trainyard init` needs no
//! cargo-generate and a template has one meaning in both.
//!
//! What is followed, in cargo-generate's order: `.liquid` suffixes dropped
//! (a `x.liquid` wins over a plain `x`); the built-in values (`project-name`,
//! `crate_name`, `crate_type`, `authors`, `username`, `os-arch`, `is_init`,
//! `within_cargo_project`); placeholders from `--define` or their defaults,
//! checked against `choices`, `regex` (unanchored, the `regex` crate) and
//! bool; `[conditional.'<condition>']` blocks (see [`condition`]) adding to
//! `include`/`exclude`/`ignore`; `ignore` paths and `cargo-generate.toml`
//! left out; files walked sorted by name, contents before their folder; each
//! file rendered with Liquid (stdlib filters; a value the template does not
//! define renders empty, and a file Liquid cannot render is kept as is, as
//! cargo-generate does — both reported as warnings), file and folder names
//! rendered the same way; `exclude`d files copied as they are, `include`
//! (when given) the only ones rendered.
//!
//! Where trainyard is stricter, it refuses (an error) instead of writing
//! something else: Rhai hooks, sub-templates, `.genignore`, placeholder types
//! other than `string` and `bool`, placeholders inside a conditional block, a
//! condition outside the supported subset, a `--define` no placeholder takes,
//! and a file or folder name whose rendered value is not a plain name (`/`,
//! `..`, control characters: cargo-generate would replace those with `_`).

pub mod condition;
pub mod config;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::LazyLock;

use liquid::Object;
use liquid::model::Value;
use regex::Regex;

pub use config::{CONFIG_FILE, Config, Placeholder, PlaceholderKind};

/// cargo-generate's marker of template syntax in a file name.
const LIQUID_SUFFIX: &str = ".liquid";

/// Files cargo-generate always leaves out of a project.
const ALWAYS_IGNORED: [&str; 3] = [".genignore", CONFIG_FILE, ".cargo-ok"];

/// Why a template cannot be rendered with the values given.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    #[error("template `{template}`: {CONFIG_FILE}: {message}")]
    Config { template: String, message: String },
    #[error("template `{template}` uses {what}, which trainyard init does not support")]
    Unsupported { template: String, what: String },
    #[error(
        "template `{template}`: condition `{condition}`: {message} (supported: ==, !=, &&, ||, !, parentheses, \"strings\", true, false and value names)"
    )]
    Condition {
        template: String,
        condition: String,
        message: String,
    },
    #[error(
        "`{definition}` is not `key=value` (a key is a letter, then letters, digits, `-` or `_`)"
    )]
    BadDefinition { definition: String },
    #[error("template `{template}` has no placeholder `{key}`{}; its placeholders: {}", suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default(), known.join(", "))]
    UnknownKey {
        template: String,
        key: String,
        suggestion: Option<String>,
        known: Vec<String>,
    },
    #[error("`{value}` is not a valid value for `{key}`: {why}")]
    InvalidValue {
        key: String,
        value: String,
        why: String,
    },
    #[error("`{key}` has no default; give it with --define {key}=…")]
    MissingValue { key: String },
    #[error("project name: {why}")]
    ProjectName { why: String },
    #[error(
        "`{path}`: its name renders to `{rendered}`, which is not a plain file name (a value with `/`, `..` or control characters would write elsewhere); choose another value"
    )]
    FileName { path: String, rendered: String },
    #[error("template `{template}`: {} {} not UTF-8 text; list {} in [template] exclude so {} copied as is: {}", paths.len(), if paths.len() == 1 { "file is" } else { "files are" }, if paths.len() == 1 { "it" } else { "them" }, if paths.len() == 1 { "it is" } else { "they are" }, paths.join(", "))]
    NotText {
        template: String,
        paths: Vec<String>,
    },
    #[error("template `{template}`: `{path}` is not a path inside the template")]
    OutsidePath { template: String, path: String },
}

/// A template's files, by path relative to its folder (`/`-separated).
#[derive(Debug, Clone, Default)]
pub struct Template {
    pub name: String,
    pub files: BTreeMap<String, Vec<u8>>,
    /// Every folder, empty ones included (cargo-generate creates them).
    pub dirs: BTreeSet<String>,
}

/// What a template is rendered with.
#[derive(Debug, Clone, Default)]
pub struct Values {
    /// `project-name` (cargo-generate's `--name`).
    pub project_name: String,
    /// `--define key=value`, in order (a later one wins).
    pub definitions: Vec<String>,
    /// `authors` (`name <email>`), as cargo-generate finds it.
    pub authors: String,
    /// `username`.
    pub username: String,
    /// Whether the destination is inside a Cargo project (`within_cargo_project`).
    pub within_cargo_project: bool,
}

/// A rendered project, in memory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Project {
    pub files: BTreeMap<String, Vec<u8>>,
    /// Every folder the project has, empty ones included.
    pub dirs: BTreeSet<String>,
    /// What rendered other than the template surely meant (see the module).
    pub warnings: Vec<String>,
}

/// A template's description and placeholders, for `--list`.
#[derive(Debug, Clone)]
pub struct Description {
    pub name: String,
    pub description: String,
    pub placeholders: Vec<Placeholder>,
}

impl Template {
    /// Its config (an empty one when it has no `cargo-generate.toml`).
    pub fn config(&self) -> Result<Config, ScaffoldError> {
        match self.files.get(CONFIG_FILE) {
            Some(bytes) => Config::parse(&self.name, &String::from_utf8_lossy(bytes)),
            None => Ok(Config::default()),
        }
    }

    /// `[template] description`, else the README's first line that says something.
    pub fn describe(&self) -> Result<Description, ScaffoldError> {
        let config = self.config()?;
        let readme = ["README.md", "README.md.liquid"]
            .iter()
            .find_map(|name| self.files.get(*name))
            .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
            .unwrap_or_default();
        let description = config.description.clone().unwrap_or_else(|| {
            readme
                .lines()
                .map(|line| line.trim().trim_start_matches('#').trim())
                .find(|line| !line.is_empty())
                .unwrap_or_default()
                .to_owned()
        });
        Ok(Description {
            name: self.name.clone(),
            description,
            placeholders: config.placeholders,
        })
    }
}

static DEFINITION: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::expect_used)]
    Regex::new(r"^([a-zA-Z]+[a-zA-Z0-9\-_]*)\s*=\s*((.+))?$").expect("a valid regex")
});

static REQUESTED_VARIABLE: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::expect_used)]
    Regex::new(r"(?P<p>.*requested\svariable=)(?P<v>.*)").expect("a valid regex")
});

/// Splits `key=value` as cargo-generate's `--define` does (spaces around `=` dropped).
pub fn parse_definition(definition: &str) -> Result<(String, String), ScaffoldError> {
    let captures = DEFINITION
        .captures(definition)
        .ok_or_else(|| ScaffoldError::BadDefinition {
            definition: definition.to_owned(),
        })?;
    let key = captures.get(1).map_or("", |m| m.as_str()).to_owned();
    let value = captures.get(2).map_or("", |m| m.as_str()).to_owned();
    Ok((key, value))
}

/// cargo-generate's rename of a project name (`sanitize_project_name`):
/// kept when it is snake_case, else made kebab-case.
pub fn generator_project_name(name: &str) -> String {
    use heck::{ToKebabCase, ToSnakeCase};
    let snake = name.to_snake_case();
    if snake == name {
        snake
    } else {
        name.to_kebab_case()
    }
}

/// Checks the project name: the manifest's rule, and one cargo-generate keeps as it is.
pub fn check_project_name(name: &str) -> Result<(), ScaffoldError> {
    trainyard_core::manifest::check_project_name(name).map_err(|why| {
        ScaffoldError::ProjectName {
            why: format!("{why}; {}", trainyard_core::manifest::PROJECT_NAME_RULE),
        }
    })?;
    let renamed = generator_project_name(name);
    if renamed != name {
        return Err(ScaffoldError::ProjectName {
            why: format!(
                "`{name}` would become `{renamed}` under cargo-generate (no double or trailing dashes); use `{renamed}`"
            ),
        });
    }
    Ok(())
}

/// Renders `template` with `values`: the project's files, in memory.
pub fn render(template: &Template, values: &Values) -> Result<Project, ScaffoldError> {
    check_project_name(&values.project_name)?;
    if template.files.contains_key(".genignore") {
        return Err(ScaffoldError::Unsupported {
            template: template.name.clone(),
            what: ".genignore".into(),
        });
    }
    let mut config = template.config()?;
    let mut object = builtin_values(values);
    fill_placeholders(template, &config, values, &mut object)?;
    apply_conditionals(template, &mut config, &object)?;

    // Copied into the work folder: `.liquid` dropped (and preferred).
    let mut work = Tree {
        files: strip_liquid_suffixes(&template.files),
        dirs: template.dirs.clone(),
    };
    for path in ALWAYS_IGNORED
        .iter()
        .map(|name| (*name).to_owned())
        .chain(config.ignore.iter().cloned())
    {
        let path = normal_path(&path).ok_or_else(|| ScaffoldError::OutsidePath {
            template: template.name.clone(),
            path: path.clone(),
        })?;
        work.remove(&path);
    }

    let matcher = Matcher::new(template, &config)?;
    let parser = liquid::ParserBuilder::with_stdlib()
        .build()
        .map_err(|error| ScaffoldError::Config {
            template: template.name.clone(),
            message: error.to_string(),
        })?;
    let mut renderer = Renderer {
        parser,
        object,
        warnings: Vec::new(),
        unsupported_filters: Vec::new(),
    };
    let mut not_text = Vec::new();
    for (path, is_dir) in walk_order(&work) {
        let include = matcher.includes(&path);
        if is_dir {
            let renamed = renderer.path(&path)?;
            if renamed != path {
                if !include {
                    return Err(ScaffoldError::Unsupported {
                        template: template.name.clone(),
                        what: format!("an excluded folder with a templated name (`{path}`)"),
                    });
                }
                work.remove(&path);
            }
            continue;
        }
        let Some(bytes) = work.files.get(&path).cloned() else {
            continue;
        };
        let contents = if include {
            let Ok(text) = String::from_utf8(bytes) else {
                not_text.push(path.clone());
                continue;
            };
            renderer.text(&text, &path).into_bytes()
        } else {
            bytes
        };
        let renamed = renderer.path(&path)?;
        work.insert(&renamed, contents);
        if renamed != path {
            work.files.remove(&path);
        }
    }
    if !renderer.unsupported_filters.is_empty() {
        return Err(ScaffoldError::Unsupported {
            template: template.name.clone(),
            what: format!(
                "cargo-generate's own filters ({}); use Liquid's standard filters",
                renderer.unsupported_filters.join(", ")
            ),
        });
    }
    if !not_text.is_empty() {
        return Err(ScaffoldError::NotText {
            template: template.name.clone(),
            paths: not_text,
        });
    }

    // Moved into the destination: `.liquid` dropped once more, as cargo-generate's copy does.
    Ok(Project {
        files: strip_liquid_suffixes(&work.files),
        dirs: work.dirs,
        warnings: renderer.warnings,
    })
}

/// The values cargo-generate sets before the placeholders.
fn builtin_values(values: &Values) -> Object {
    use heck::ToSnakeCase;
    let mut object = Object::new();
    let name = values.project_name.clone();
    object.insert("project-name".into(), Value::scalar(name.clone()));
    object.insert("crate_type".into(), Value::scalar("bin"));
    object.insert("authors".into(), Value::scalar(values.authors.clone()));
    object.insert("username".into(), Value::scalar(values.username.clone()));
    object.insert(
        "os-arch".into(),
        Value::scalar(format!(
            "{}-{}",
            std::env::consts::OS,
            std::env::consts::ARCH
        )),
    );
    object.insert("is_init".into(), Value::scalar(false));
    object.insert("crate_name".into(), Value::scalar(name.to_snake_case()));
    object.insert(
        "within_cargo_project".into(),
        Value::scalar(values.within_cargo_project),
    );
    object
}

/// Each placeholder's value: defined, else its default; checked as cargo-generate checks it.
fn fill_placeholders(
    template: &Template,
    config: &Config,
    values: &Values,
    object: &mut Object,
) -> Result<(), ScaffoldError> {
    let mut defined: BTreeMap<String, String> = BTreeMap::new();
    for definition in &values.definitions {
        let (key, value) = parse_definition(definition)?;
        // The project's name is not a placeholder; the caller took it.
        if key == "project-name" {
            continue;
        }
        if !config
            .placeholders
            .iter()
            .any(|placeholder| placeholder.name == key)
        {
            let known: Vec<String> = config
                .placeholders
                .iter()
                .map(|placeholder| placeholder.name.clone())
                .collect();
            let suggestion =
                trainyard_core::diagnostic::nearest(&key, known.iter().map(String::as_str))
                    .map(str::to_owned);
            return Err(ScaffoldError::UnknownKey {
                template: template.name.clone(),
                key,
                suggestion,
                known,
            });
        }
        defined.insert(key, value);
    }
    for placeholder in &config.placeholders {
        let value = match defined.get(&placeholder.name) {
            Some(value) => value.clone(),
            None => placeholder
                .default
                .clone()
                .ok_or_else(|| ScaffoldError::MissingValue {
                    key: placeholder.name.clone(),
                })?,
        };
        let invalid = |why: String| ScaffoldError::InvalidValue {
            key: placeholder.name.clone(),
            value: value.clone(),
            why,
        };
        let scalar = match placeholder.kind {
            PlaceholderKind::Bool => match value.to_lowercase().as_str() {
                "true" => Value::scalar(true),
                "false" => Value::scalar(false),
                _ => return Err(invalid("it is a bool: `true` or `false`".into())),
            },
            PlaceholderKind::String => {
                if let Some(choices) = &placeholder.choices {
                    if !choices.contains(&value) {
                        return Err(invalid(format!("one of {}", choices.join(", "))));
                    }
                } else if let Some(regex) = &placeholder.regex
                    && !regex.is_match(&value)
                {
                    return Err(invalid(format!("it must match `{}`", regex.as_str())));
                }
                Value::scalar(value.clone())
            }
        };
        object.entry(placeholder.name.clone()).or_insert(scalar);
    }
    Ok(())
}

/// Adds the blocks whose condition holds to the template's file rules.
fn apply_conditionals(
    template: &Template,
    config: &mut Config,
    object: &Object,
) -> Result<(), ScaffoldError> {
    for conditional in config.conditionals.clone() {
        let holds = condition::evaluate(&conditional.condition, object).map_err(|message| {
            ScaffoldError::Condition {
                template: template.name.clone(),
                condition: conditional.condition.clone(),
                message,
            }
        })?;
        if holds {
            if !conditional.include.is_empty() {
                config
                    .include
                    .get_or_insert_with(Vec::new)
                    .extend(conditional.include);
            }
            if !conditional.exclude.is_empty() {
                config
                    .exclude
                    .get_or_insert_with(Vec::new)
                    .extend(conditional.exclude);
            }
            config.ignore.extend(conditional.ignore);
        }
    }
    Ok(())
}

/// A relative `/`-separated path without `.`, or `None` when it would leave its folder.
fn normal_path(path: &str) -> Option<String> {
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            part => parts.push(part),
        }
    }
    (!path.starts_with('/')).then(|| parts.join("/"))
}

fn parent(path: &str) -> Option<&str> {
    path.rsplit_once('/').map(|(parent, _)| parent)
}

fn file_name(path: &str) -> &str {
    path.rsplit_once('/').map_or(path, |(_, name)| name)
}

/// cargo-generate's copy: `x.liquid` becomes `x` and wins over a plain `x`.
fn strip_liquid_suffixes(files: &BTreeMap<String, Vec<u8>>) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for (path, bytes) in files {
        if let Some(stripped) = path.strip_suffix(LIQUID_SUFFIX)
            && !file_name(stripped).is_empty()
        {
            out.insert(stripped.to_owned(), bytes.clone());
        } else if !files.contains_key(&format!("{path}{LIQUID_SUFFIX}")) {
            out.entry(path.clone()).or_insert_with(|| bytes.clone());
        }
    }
    out
}

/// The work folder: files and folders by relative path.
#[derive(Debug, Default)]
struct Tree {
    files: BTreeMap<String, Vec<u8>>,
    dirs: BTreeSet<String>,
}

impl Tree {
    /// Removes a file, or a folder and everything in it.
    fn remove(&mut self, path: &str) {
        self.files.remove(path);
        let prefix = format!("{path}/");
        self.files.retain(|file, _| !file.starts_with(&prefix));
        self.dirs
            .retain(|dir| dir != path && !dir.starts_with(&prefix));
    }

    /// Writes a file, creating its folders.
    fn insert(&mut self, path: &str, bytes: Vec<u8>) {
        let mut dir = parent(path);
        while let Some(folder) = dir {
            self.dirs.insert(folder.to_owned());
            dir = parent(folder);
        }
        self.files.insert(path.to_owned(), bytes);
    }
}

/// walkdir's order with `sort_by_file_name` and `contents_first`: within a
/// folder, entries by name; a folder after its contents. `(path, is_dir)`.
fn walk_order(tree: &Tree) -> Vec<(String, bool)> {
    fn visit(tree: &Tree, dir: &str, out: &mut Vec<(String, bool)>) {
        let mut children: BTreeMap<&str, bool> = BTreeMap::new();
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let direct = |path: &str| -> bool {
            path.strip_prefix(prefix.as_str())
                .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
        };
        for file in tree.files.keys().filter(|path| direct(path)) {
            children.insert(file_name(file), false);
        }
        for folder in tree.dirs.iter().filter(|path| direct(path)) {
            children.insert(file_name(folder), true);
        }
        for (name, is_dir) in children {
            let path = format!("{prefix}{name}");
            if is_dir {
                visit(tree, &path, out);
            }
            out.push((path, is_dir));
        }
    }
    let mut out = Vec::new();
    visit(tree, "", &mut out);
    out
}

/// `include`/`exclude` with gitignore's rules (the `ignore` crate, as cargo-generate).
struct Matcher {
    rules: Option<(bool, ignore::gitignore::Gitignore)>,
}

impl Matcher {
    fn new(template: &Template, config: &Config) -> Result<Self, ScaffoldError> {
        // cargo-generate keeps only `include` when both are given.
        let (is_include, patterns) = match (&config.include, &config.exclude) {
            (Some(include), _) => (true, include),
            (None, Some(exclude)) => (false, exclude),
            (None, None) => return Ok(Self { rules: None }),
        };
        let mut builder = ignore::gitignore::GitignoreBuilder::new(".");
        for pattern in patterns {
            builder
                .add_line(None, pattern)
                .map_err(|error| ScaffoldError::Config {
                    template: template.name.clone(),
                    message: format!("pattern `{pattern}`: {error}"),
                })?;
        }
        let rules = builder.build().map_err(|error| ScaffoldError::Config {
            template: template.name.clone(),
            message: error.to_string(),
        })?;
        Ok(Self {
            rules: Some((is_include, rules)),
        })
    }

    /// Whether the file is rendered (else copied as it is).
    fn includes(&self, path: &str) -> bool {
        match &self.rules {
            None => true,
            Some((is_include, rules)) => {
                let matched = rules
                    .matched_path_or_any_parents(Path::new(path), false)
                    .is_ignore();
                matched == *is_include
            }
        }
    }
}

struct Renderer {
    parser: liquid::Parser,
    object: Object,
    warnings: Vec<String>,
    /// Where a cargo-generate-only filter is used.
    unsupported_filters: Vec<String>,
}

impl Renderer {
    /// Renders as cargo-generate's `render_string_gracefully`: a name the
    /// values lack becomes an empty value (kept for later files too) and the
    /// rendering is tried again; any other error keeps the text as it is.
    fn text(&mut self, text: &str, what: &str) -> String {
        loop {
            let result = self
                .parser
                .parse(text)
                .and_then(|template| template.render(&self.object));
            let error = match result {
                Ok(rendered) => return rendered,
                Err(error) => error.to_string(),
            };
            let missing = REQUESTED_VARIABLE
                .captures(&error)
                .and_then(|captures| captures.name("v"))
                .map(|name| name.as_str().to_owned())
                .filter(|name| !self.object.contains_key(name.as_str()));
            if let Some(name) = missing {
                self.warnings.push(format!(
                    "{what}: `{name}` is not a value the template defines; it renders empty"
                ));
                self.object.insert(name.into(), Value::scalar(""));
                continue;
            }
            let first_line = error.lines().next().unwrap_or_default();
            // cargo-generate has filters of its own (`snake_case`, `rhai`, …):
            // it would render what Liquid alone keeps as it is.
            if first_line.contains("Unknown filter") {
                let filter = error
                    .lines()
                    .find_map(|line| line.trim().strip_prefix("requested filter="))
                    .unwrap_or("?");
                self.unsupported_filters
                    .push(format!("{what} (`{filter}`)"));
            }
            self.warnings.push(format!(
                "{what}: kept as is, Liquid cannot render it ({first_line})"
            ));
            return text.to_owned();
        }
    }

    /// Each part of a path rendered; refused when a part is not a plain name.
    fn path(&mut self, path: &str) -> Result<String, ScaffoldError> {
        let mut parts = Vec::new();
        for part in path.split('/') {
            let rendered = self.text(part, path);
            if rendered != sanitize_file_name(&rendered) {
                return Err(ScaffoldError::FileName {
                    path: path.to_owned(),
                    rendered,
                });
            }
            // An empty part adds nothing to a path (as `PathBuf::push("")`).
            if !rendered.is_empty() {
                parts.push(rendered);
            }
        }
        let joined = parts.join("/");
        if joined.is_empty() {
            return Err(ScaffoldError::FileName {
                path: path.to_owned(),
                rendered: joined,
            });
        }
        Ok(joined)
    }
}

/// What cargo-generate's `sanitize-filename` (Unix rules) makes of a name:
/// `/ ? < > \ : * | "` and control characters replaced by `_`, a name of
/// dots alone by `_`, cut at 255 bytes. A name it would change is refused.
fn sanitize_file_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if matches!(c, '/' | '?' | '<' | '>' | '\\' | ':' | '*' | '|' | '"')
                || matches!(c as u32, 0x00..=0x1f | 0x80..=0x9f)
            {
                '_'
            } else {
                c
            }
        })
        .collect();
    if !out.is_empty() && out.chars().all(|c| c == '.') {
        out = "_".into();
    }
    if out.len() > 255 {
        let mut end = 255;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
    }
    out
}

#[cfg(test)]
mod tests;
