//! The static site `site build` writes: the ledger (through the
//! [`Ledger`] trait, whichever backend opened it), the kept step reports and
//! the saved dataset profiles, rendered as HTML pages that need no server,
//! no JavaScript to read and nothing from another host.
//!
//! Three parts: [`gather`] reads what the site shows, [`render`] turns it
//! into pages (minijinja templates compiled in from `templates/site/`, with
//! HTML auto-escaping, and inline SVG charts from [`charts`]), and
//! [`Writer`] puts each page in place only when its bytes changed, so a
//! second build rewrites nothing and a new run rewrites only the pages that
//! show it.

mod charts;
mod pages;

use std::collections::BTreeMap;
use std::path::Path;

use include_dir::{Dir, include_dir};
use trainyard_core::{Report, StepError};
use trainyard_data::profile::DatasetProfile;
use trainyard_ledger::{AliasMove, Deployment, Ledger, ModelVersion, RunRecord, TagChange};

use super::ledger::ledger_error;
use super::paths::{Destination, containment_error};

pub use pages::render;

/// The templates and static files of the site, compiled in.
static TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates/site");

/// Everything the site shows, read once.
#[derive(Debug, Default)]
pub struct Inputs {
    /// The manifest's project name, when it loads.
    pub project: Option<String>,
    /// The manifest's model, whose champion the run pages compare against.
    pub model: Option<String>,
    /// Environments in promotion order: the manifest's, then any other the ledger knows.
    pub environments: Vec<String>,
    /// Every run, oldest first.
    pub runs: Vec<RunRecord>,
    pub models: Vec<ModelHistory>,
    /// Each environment's deployment history, oldest first.
    pub deployments: BTreeMap<String, Vec<Deployment>>,
    /// Saved dataset profiles by dataset name.
    pub profiles: BTreeMap<String, DatasetProfile>,
    /// Kept step reports (gate verdicts, drift checks), oldest first.
    pub reports: Vec<Report>,
}

/// One registered model and everything that happened to it.
#[derive(Debug)]
pub struct ModelHistory {
    pub name: String,
    pub versions: Vec<ModelVersion>,
    pub aliases: BTreeMap<String, u64>,
    pub moves: Vec<AliasMove>,
    pub tags: Vec<TagChange>,
}

/// Reads the ledger, the profiles in `profiles_dir` and takes the kept reports.
pub fn gather<L: Ledger + ?Sized>(
    ledger: &L,
    manifest_environments: &[String],
    profiles_dir: &Path,
    reports: Vec<Report>,
) -> Result<Inputs, StepError> {
    let runs = ledger.runs().map_err(ledger_error)?;
    let mut models = Vec::new();
    for name in ledger.models().map_err(ledger_error)? {
        models.push(ModelHistory {
            versions: ledger.versions(&name).map_err(ledger_error)?,
            aliases: ledger.aliases(&name).map_err(ledger_error)?,
            moves: ledger.alias_history(&name, None).map_err(ledger_error)?,
            tags: ledger.tag_history(&name).map_err(ledger_error)?,
            name,
        });
    }
    let mut environments = manifest_environments.to_vec();
    for environment in ledger.environments().map_err(ledger_error)? {
        if !environments.contains(&environment) {
            environments.push(environment);
        }
    }
    let mut deployments = BTreeMap::new();
    for environment in &environments {
        deployments.insert(
            environment.clone(),
            ledger.deployments(environment).map_err(ledger_error)?,
        );
    }
    Ok(Inputs {
        runs,
        models,
        environments,
        deployments,
        profiles: load_profiles(profiles_dir)?,
        reports,
        ..Inputs::default()
    })
}

/// The whole-dataset profiles `data validate` saved (shard files are left
/// to `data merge`), by dataset name.
fn load_profiles(dir: &Path) -> Result<BTreeMap<String, DatasetProfile>, StepError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(error) => return Err(StepError::io("reading the profiles folder", dir, error)),
    };
    let mut files: Vec<std::path::PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension().is_some_and(|e| e == "json")
                && !path
                    .file_name()
                    .is_some_and(|name| name.to_string_lossy().contains(".shard-"))
        })
        .collect();
    files.sort();
    let mut profiles = BTreeMap::new();
    for path in files {
        let (profile, meta) = DatasetProfile::load_with(&path).map_err(|error| {
            StepError::Environment(format!(
                "{}: not a dataset profile ({error}); run `trainyard data validate` again or remove it",
                path.display()
            ))
        })?;
        let name = meta.dataset.unwrap_or_else(|| {
            path.file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
        profiles.insert(name, profile);
    }
    Ok(profiles)
}

/// One file of the site: its path under the site's folder and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub path: String,
    pub bytes: Vec<u8>,
}

/// What a [`Writer`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// The pages whose bytes changed (or that were new), written atomically.
    pub changed: Vec<String>,
    /// The pages already holding exactly these bytes, left alone.
    pub unchanged: usize,
}

/// Writes each page under `dir` (a flag's folder as given; the default one
/// inside the project, never through a link), only when its bytes differ
/// from what is there.
#[derive(Debug)]
pub struct Writer<'a> {
    dir: &'a Destination,
    pub written: Written,
}

impl<'a> Writer<'a> {
    pub fn new(dir: &'a Destination) -> Self {
        Self {
            dir,
            written: Written::default(),
        }
    }

    pub fn put(&mut self, page: &Page) -> Result<(), StepError> {
        let changed = match self.dir.join(&page.path) {
            Destination::Chosen(path) => trainyard_core::fs::write_if_changed(&path, &page.bytes)
                .map_err(|error| StepError::io("writing", &path, error))?,
            Destination::InProject { root, relative } => {
                trainyard_core::fs::write_if_changed_within(&root, &relative, &page.bytes)
                    .map_err(|error| containment_error(&root.join(&relative), error))?
            }
        };
        if changed {
            self.written.changed.push(page.path.clone());
        } else {
            self.written.unchanged += 1;
        }
        Ok(())
    }
}

/// Text made safe for HTML (element content and quoted attributes).
pub fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#x27;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

/// A name (model, environment, dataset) as a file name: the ledger's
/// letters, digits, `.`, `-`, `_` kept, anything else `_`, never a leading dot.
pub fn file_name(name: &str) -> String {
    let mut slug: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if slug.is_empty() || slug.starts_with('.') {
        slug.insert(0, '_');
    }
    slug
}
