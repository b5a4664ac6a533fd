//! `trainyard data validate [DATASET|PATH...]`: every declared dataset against
//! its schema and checks, one streaming pass each that also profiles every
//! column; findings at file:line:column, JUnit XML for the test reporters CI
//! systems already have, the profile saved for `data drift`, and the dataset's
//! BLAKE3 fingerprint (from the stat cache when the files have not changed).
//! A data path with `--schema FILE` is validated the same way without a manifest.

use std::path::Path;

use trainyard_core::manifest::{Dataset, MANIFEST_FILE};
use trainyard_core::{Conclusion, Report, StepError};
use trainyard_data::read::{self, Shard};

use super::Step;
use crate::app::StepContext;
use crate::app::datasets::DatasetFiles;
use crate::app::paths::{Destination, PROFILES_DIR};
use crate::app::validation::{ValidateOutputs, validate_datasets_to};
use crate::requests::DataValidateRequest;

const STEP: &str = Step::DataValidate.name();

pub fn run(request: &DataValidateRequest, context: &StepContext) -> Result<Report, StepError> {
    if let Some(threads) = request.threads {
        trainyard_data::use_threads(threads)
            .map_err(|why| StepError::Environment(format!("--threads {threads}: {why}")))?;
    }
    let shard = request
        .shard
        .as_deref()
        .map(Shard::parse)
        .transpose()
        .map_err(|why| StepError::Usage(format!("--shard: {why}")))?;
    // Without a manifest, names can only be paths; a manifest that exists but
    // does not load is still its own error.
    let project = match context.project() {
        Ok(project) => Some(project),
        Err(error) if context.manifest_path.exists() => return Err(error),
        Err(error) if request.datasets.is_empty() => return Err(error),
        Err(_) => None,
    };
    // A declared dataset wins over a file of the same name.
    let declared = |name: &str| {
        project
            .as_ref()
            .is_some_and(|p| p.manifest.datasets.contains_key(name))
    };
    let paths: Vec<&str> = request
        .datasets
        .iter()
        .map(String::as_str)
        .filter(|name| !declared(name) && (project.is_none() || is_data_path(name)))
        .collect();
    if !paths.is_empty() {
        if let Some(name) = request.datasets.iter().find(|name| declared(name)) {
            return Err(StepError::Usage(format!(
                "`{name}` is a declared dataset and `{}` a data path: validate them in separate runs",
                paths[0]
            )));
        }
        return validate_paths(request, &paths, shard);
    }
    let Some(project) = project else {
        return Err(context.project().err().unwrap_or_else(|| {
            StepError::Usage("no manifest and no data path to validate".to_owned())
        }));
    };
    if request.schema.is_some() {
        return Err(StepError::Usage(
            "--schema is for data paths: a declared dataset's schema is its `schema` or `schema-file` in the manifest".to_owned(),
        ));
    }
    let names: Vec<&str> = if request.datasets.is_empty() {
        project
            .manifest
            .datasets
            .keys()
            .map(String::as_str)
            .collect()
    } else {
        request.datasets.iter().map(String::as_str).collect()
    };
    if names.is_empty() {
        return Ok(Report::new(
            STEP,
            Conclusion::Neutral,
            "no datasets declared in the manifest",
        ));
    }

    let datasets = names
        .iter()
        .map(|name| Ok((*name, project.dataset(name)?)))
        .collect::<Result<Vec<_>, StepError>>()?;
    let profiles = Destination::chosen_or(request.profiles.as_deref(), &project.root, PROFILES_DIR);
    validate_datasets_to(
        &datasets,
        &DatasetFiles::new(&project, context),
        &ValidateOutputs {
            junit: request.junit.as_deref(),
            profiles: Some(profiles),
            // Every shard reads every file; one digest per dataset is the full run's job.
            fingerprint: shard.is_none(),
            shard,
        },
    )
}

/// Whether a name that is not a declared dataset names data: an existing
/// file or folder, or a glob.
fn is_data_path(name: &str) -> bool {
    Path::new(name).exists() || name.contains(['*', '?', '['])
}

/// Validates data paths (relative to the current folder) against `--schema`,
/// as datasets named after their files. No fingerprint (there is no lock to
/// keep it in) and a profile only where `--profiles` points.
fn validate_paths(
    request: &DataValidateRequest,
    paths: &[&str],
    shard: Option<Shard>,
) -> Result<Report, StepError> {
    let root = Path::new(".");
    for path in paths {
        let found = read::resolve(root, path).map_err(|_| not_found(path))?;
        if found.is_empty() {
            return Err(not_found(path));
        }
    }
    let Some(schema) = &request.schema else {
        return Err(StepError::Usage(format!(
            "no schema to validate `{path}` against: pass `--schema FILE` (a trainyard YAML schema, a Frictionless Table Schema or a Great Expectations suite), or start one with `trainyard data infer-schema {path}`",
            path = paths[0]
        )));
    };
    if !schema.is_file() {
        return Err(StepError::Usage(format!(
            "--schema: `{}` is not a file",
            schema.display()
        )));
    }
    let mut datasets: Vec<(String, Dataset)> = Vec::with_capacity(paths.len());
    for path in paths {
        let name = dataset_name(path);
        if let Some((_, other)) = datasets.iter().find(|(taken, _)| *taken == name) {
            return Err(StepError::Usage(format!(
                "`{}` and `{path}` would both be reported as `{name}`: validate them in separate runs",
                other.path
            )));
        }
        datasets.push((
            name,
            Dataset {
                path: (*path).to_owned(),
                format: None,
                label: None,
                sample: None,
                csv: None,
                schema: None,
                schema_file: Some(schema.to_string_lossy().into_owned()),
                drift: None,
            },
        ));
    }
    let named: Vec<(&str, &Dataset)> = datasets
        .iter()
        .map(|(name, dataset)| (name.as_str(), dataset))
        .collect();
    validate_datasets_to(
        &named,
        &DatasetFiles::local(root, MANIFEST_FILE),
        &ValidateOutputs {
            junit: request.junit.as_deref(),
            profiles: request.profiles.clone().map(Destination::Chosen),
            fingerprint: false,
            shard,
        },
    )
}

fn not_found(path: &str) -> StepError {
    StepError::Usage(format!(
        "`{path}` is neither a dataset declared in the manifest nor an existing file or folder"
    ))
}

/// The name a data path is reported under: its file name up to the first
/// dot (`data/train.csv` -> `train`), or its folder's for a glob or folder.
fn dataset_name(path: &str) -> String {
    Path::new(path)
        .components()
        .rev()
        .filter_map(|part| match part {
            std::path::Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
            _ => None,
        })
        .map(|part| part.split('.').next().unwrap_or_default().to_owned())
        .find(|stem| !stem.is_empty() && !stem.contains(['*', '?', '[']))
        .unwrap_or_else(|| "data".to_owned())
}
