//! Where trainyard keeps its working files, relative to the project root
//! (the manifest's folder), and the one rule for every path trainyard derives
//! from the manifest: it stays inside the project, and no folder on the way is
//! a symbolic link (`trainyard_core::fs`'s `*_within`). Everything under
//! `.trainyard/` is git-ignored. Paths a person names with a flag (`-o`,
//! `--profiles`, `--junit`) are written where they point.

use std::path::{Path, PathBuf};

use trainyard_core::fs::ContainmentError;
use trainyard_core::{ConfigError, StepError};
use trainyard_data::read::Shard;

/// Saved dataset profiles, unless `--profiles` says otherwise.
pub const PROFILES_DIR: &str = ".trainyard/profiles";
/// Inferred schemas, unless `--output` says otherwise.
pub const SCHEMAS_DIR: &str = ".trainyard/schemas";
/// Deterministic samples, unless `--output` says otherwise.
pub const SAMPLES_DIR: &str = ".trainyard/samples";
/// The fingerprint stat cache: a file's size and time against its digest.
pub const STAT_CACHE: &str = ".trainyard/cache/fingerprints.json";
/// Where `model get` writes: `<MODELS_DIR>/<model>/<version>/`.
pub const MODELS_DIR: &str = ".trainyard/models";
/// Where runs write: `<RUNS_DIR>/<run id>/`.
pub const RUNS_DIR: &str = ".trainyard/runs";
/// Where `site build` writes the static site, unless `--output` says otherwise.
pub const SITE_DIR: &str = ".trainyard/site";

/// The name of a dataset's profile file: `<dataset>.json`, or
/// `<dataset>.shard-<i>-of-<n>.json` for a shard.
fn profile_file_name(dataset: &str, shard: Option<Shard>) -> String {
    match shard {
        Some(shard) => format!(
            "{dataset}.shard-{}-of-{}.json",
            shard.index + 1,
            shard.count
        ),
        None => format!("{dataset}.json"),
    }
}

/// Where a step writes a file: where a person pointed a flag, or a path
/// trainyard derives inside the project (checked before anything is written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A flag's path, written where it points.
    Chosen(PathBuf),
    /// `relative` inside the project at `root`.
    InProject { root: PathBuf, relative: PathBuf },
}

impl Destination {
    /// `relative` inside the project at `root`.
    pub fn in_project(root: &Path, relative: impl Into<PathBuf>) -> Self {
        Self::InProject {
            root: root.to_path_buf(),
            relative: relative.into(),
        }
    }

    /// The flag's path if one was given, else `relative` in the project.
    pub fn chosen_or(chosen: Option<&Path>, root: &Path, relative: impl Into<PathBuf>) -> Self {
        chosen.map_or_else(
            || Self::in_project(root, relative),
            |path| Self::Chosen(path.to_path_buf()),
        )
    }

    /// This folder's entry `name`, under the same rule.
    #[must_use]
    pub fn join(&self, name: impl AsRef<Path>) -> Self {
        match self {
            Self::Chosen(path) => Self::Chosen(path.join(name)),
            Self::InProject { root, relative } => Self::InProject {
                root: root.clone(),
                relative: relative.join(name),
            },
        }
    }

    /// A dataset's profile file in this folder.
    #[must_use]
    pub fn profile_file(&self, dataset: &str, shard: Option<Shard>) -> Self {
        self.join(profile_file_name(dataset, shard))
    }

    /// The path, for messages and outputs (not checked).
    pub fn path(&self) -> PathBuf {
        match self {
            Self::Chosen(path) => path.clone(),
            Self::InProject { root, relative } => root.join(relative),
        }
    }

    /// The path to write this file to, its folder created: a project path is
    /// refused when it leaves the project or passes through a link.
    pub fn prepare_file(&self) -> Result<PathBuf, StepError> {
        match self {
            Self::Chosen(path) => {
                if let Some(parent) = path
                    .parent()
                    .filter(|parent| !parent.as_os_str().is_empty())
                {
                    std::fs::create_dir_all(parent)
                        .map_err(|error| StepError::io("creating", parent, error))?;
                }
                Ok(path.clone())
            }
            Self::InProject { root, relative } => {
                if let Some(parent) = relative.parent() {
                    create_dir(root, parent)?;
                }
                inside(root, relative)
            }
        }
    }

    /// Creates this folder (a project path under the same rule) and returns it.
    pub fn prepare_dir(&self) -> Result<PathBuf, StepError> {
        match self {
            Self::Chosen(path) => std::fs::create_dir_all(path)
                .map(|()| path.clone())
                .map_err(|error| StepError::io("creating", path, error)),
            Self::InProject { root, relative } => create_dir(root, relative),
        }
    }

    /// Writes `bytes` to this file atomically.
    pub fn write(&self, bytes: &[u8]) -> Result<PathBuf, StepError> {
        match self {
            Self::Chosen(path) => super::fs::write_atomic(path, bytes).map(|()| path.clone()),
            Self::InProject { root, relative } => {
                trainyard_core::fs::write_atomic_within(root, relative, bytes)
                    .map_err(|error| containment_error(&root.join(relative), error))
            }
        }
    }
}

/// `root/relative`, refused when it leaves the project or passes through a
/// symbolic link (nothing is created).
pub fn inside(root: &Path, relative: &Path) -> Result<PathBuf, StepError> {
    trainyard_core::fs::resolve_within(root, relative)
        .map_err(|error| containment_error(&root.join(relative), error))
}

/// Creates the folder `root/relative` under the rule of [`inside`].
pub fn create_dir(root: &Path, relative: &Path) -> Result<PathBuf, StepError> {
    trainyard_core::fs::create_dir_within(root, relative)
        .map_err(|error| containment_error(&root.join(relative), error))
}

/// A refused path is the repository's (or the manifest's) doing: exit 2, at
/// the path; a failing file system is the environment's: exit 3.
pub fn containment_error(path: &Path, error: ContainmentError) -> StepError {
    match error {
        ContainmentError::Io {
            action,
            path,
            source,
        } => StepError::io(action, path, source),
        refused => {
            let rule = match refused {
                ContainmentError::Symlink { .. } => "symlink-refused",
                _ => "outside-project",
            };
            StepError::from(
                ConfigError::new(path.display().to_string(), rule, refused.to_string()).with_help(
                    "trainyard writes only inside the project and never through a symbolic link: replace the link by a folder, or point a flag (-o, --profiles) where you want the file",
                ),
            )
        }
    }
}
