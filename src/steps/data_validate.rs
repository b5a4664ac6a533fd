//! `trainyard data validate [DATASET...]`: every declared dataset against its
//! schema and checks, one streaming pass each that also profiles every column;
//! findings at file:line:column, JUnit XML for the test reporters CI systems
//! already have, the profile saved for `data drift`, and the dataset's BLAKE3
//! fingerprint (from the stat cache when the files have not changed).

use std::path::{Path, PathBuf};

use trainyard_core::manifest::Dataset;
use trainyard_core::{Conclusion, Report, StepError};
use trainyard_data::fingerprint::{self, StatCache};
use trainyard_data::junit;
use trainyard_data::profile::{DatasetProfile, ProfileMeta};
use trainyard_data::read::Shard;
use trainyard_data::validate::{self, Validation};

use super::StepContext;
use super::data_fingerprint::STAT_CACHE;
use crate::cli::DataValidateArgs;

pub const STEP: &str = "data validate";

/// Where profiles go, beside the manifest, unless `--profiles` says otherwise.
pub const PROFILES_DIR: &str = ".trainyard/profiles";

/// What a validation run writes besides its report.
#[derive(Debug, Default)]
pub struct ValidateOutputs<'a> {
    pub junit: Option<&'a Path>,
    /// Save each dataset's profile in this folder.
    pub profiles: Option<PathBuf>,
    /// Fingerprint each dataset (with the stat cache under the project root).
    pub fingerprint: bool,
    pub shard: Option<Shard>,
}

pub fn run(args: &DataValidateArgs, context: &StepContext) -> Result<Report, StepError> {
    let project = context.project()?;
    let shard = args
        .shard
        .as_deref()
        .map(Shard::parse)
        .transpose()
        .map_err(|why| StepError::Usage(format!("--shard: {why}")))?;
    let names: Vec<&str> = if args.datasets.is_empty() {
        project
            .manifest
            .datasets
            .keys()
            .map(String::as_str)
            .collect()
    } else {
        args.datasets.iter().map(String::as_str).collect()
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
    let profiles = args
        .profiles
        .clone()
        .unwrap_or_else(|| project.root.join(PROFILES_DIR));
    validate_datasets_to(
        &datasets,
        &project.root,
        &ValidateOutputs {
            junit: args.junit.as_deref(),
            profiles: Some(profiles),
            // Every shard reads every file; one digest per dataset is the full run's job.
            fingerprint: shard.is_none(),
            shard,
        },
    )
}

/// Validates the given datasets into one report, writing nothing but the JUnit
/// file (quickstart calls this for its broken copy).
pub fn validate_datasets(
    datasets: &[(&str, &Dataset)],
    root: &Path,
    junit_path: Option<&Path>,
) -> Result<Report, StepError> {
    validate_datasets_to(
        datasets,
        root,
        &ValidateOutputs {
            junit: junit_path,
            ..ValidateOutputs::default()
        },
    )
}

/// The file a dataset's profile is saved to: `<dataset>.json`, or
/// `<dataset>.shard-<i>-of-<n>.json` for a shard.
pub fn profile_file(dir: &Path, dataset: &str, shard: Option<Shard>) -> PathBuf {
    match shard {
        Some(shard) => dir.join(format!(
            "{dataset}.shard-{}-of-{}.json",
            shard.index + 1,
            shard.count
        )),
        None => dir.join(format!("{dataset}.json")),
    }
}

/// Validates, profiles and fingerprints the datasets into one report.
pub fn validate_datasets_to(
    datasets: &[(&str, &Dataset)],
    root: &Path,
    outputs: &ValidateOutputs<'_>,
) -> Result<Report, StepError> {
    let mut validations: Vec<Validation> = Vec::with_capacity(datasets.len());
    let mut report = Report::new(STEP, Conclusion::Success, String::new());
    let cache_path = root.join(STAT_CACHE);
    let mut cache = outputs.fingerprint.then(|| StatCache::load(&cache_path));
    for (name, dataset) in datasets {
        // The digest reads the files on its own thread while the pass parses them:
        // the pass leaves a core idle at its start and end, and this fills it
        // (done after the pass, it added its whole time to the wall clock).
        let (validated, digest) = std::thread::scope(|scope| {
            let digest = cache.as_mut().map(|cache| {
                scope.spawn(move || {
                    fingerprint::fingerprint_dataset(root, &dataset.path, Some(cache))
                })
            });
            let validated =
                validate::validate_shard_with::<DatasetProfile>(name, dataset, root, outputs.shard);
            let digest = digest.map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            });
            (validated, digest)
        });
        let (validation, profile) = validated?;
        if let Some(dir) = &outputs.profiles {
            let path = profile_file(dir, name, outputs.shard);
            let meta = ProfileMeta {
                dataset: Some((*name).to_owned()),
                shard: outputs.shard.map(|s| s.to_string()),
            };
            profile
                .save_with(&path, &meta)
                .map_err(|error| StepError::Environment(error.to_string()))?;
            report
                .outputs
                .insert(format!("profile-{name}"), path.display().to_string());
        }
        if let Some(digest) = digest {
            let fingerprint = digest.map_err(|error| StepError::Environment(error.to_string()))?;
            report
                .outputs
                .insert(format!("digest-{name}"), fingerprint.digest);
        }
        validations.push(validation);
    }
    if let Some(cache) = cache.as_mut() {
        cache
            .save(&cache_path)
            .map_err(|error| StepError::Environment(error.to_string()))?;
    }

    let valid = validations
        .iter()
        .filter(|validation| validation.passed())
        .count();
    report.title = match outputs.shard {
        Some(shard) => format!(
            "shard {shard}: {valid} of {} dataset(s) valid",
            validations.len()
        ),
        None => format!("{valid} of {} dataset(s) valid", validations.len()),
    };
    let mut summary = String::new();
    for validation in &validations {
        for finding in validation.findings() {
            report.push_finding(finding);
        }
        if !validation.passed() {
            report.conclusion = Conclusion::Failure;
        }
        summary.push_str(&validation.summary_markdown());
        summary.push('\n');
        report.outputs.insert(
            format!("rows-{}", validation.dataset),
            validation.rows.to_string(),
        );
    }
    report.summary = summary;
    report
        .outputs
        .insert("valid".to_owned(), format!("{valid}/{}", validations.len()));

    if let Some(path) = outputs.junit {
        write_atomic(path, junit::render(&validations).as_bytes())?;
        report
            .outputs
            .insert("junit".to_owned(), path.display().to_string());
    }
    Ok(report)
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StepError> {
    trainyard_data::profile::write_atomic(path, bytes)
        .map_err(|error| StepError::io("writing", path, error))
}
