//! Validating datasets into one report: schema and checks in one streaming
//! pass per dataset that also profiles every column, the fingerprint on its
//! own thread beside it, profiles saved, JUnit written. `data validate` runs
//! it on the manifest's datasets; quickstart on a deliberately broken copy.

use std::path::Path;

use trainyard_core::manifest::Dataset;
use trainyard_core::{Block, Conclusion, Report, RowStatus, StepError, Table};
use trainyard_data::check::keys::{ShardKeys, keys_path_for};
use trainyard_data::fingerprint::{self, StatCache};
use trainyard_data::junit;
use trainyard_data::profile::{DatasetProfile, ProfileMeta};
use trainyard_data::read::Shard;
use trainyard_data::validate::{self, Phases, Validation};

use super::datasets::DatasetFiles;
use super::fs::write_atomic;
use super::paths::{Destination, STAT_CACHE};
use crate::steps::Step;

const STEP: &str = Step::DataValidate.name();

/// What a validation run writes besides its report.
#[derive(Debug, Default)]
pub struct ValidateOutputs<'a> {
    pub junit: Option<&'a Path>,
    /// Save each dataset's profile in this folder.
    pub profiles: Option<Destination>,
    /// Fingerprint each dataset (with the stat cache under the project root).
    pub fingerprint: bool,
    pub shard: Option<Shard>,
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
        &DatasetFiles::local(root, trainyard_core::manifest::MANIFEST_FILE),
        &ValidateOutputs {
            junit: junit_path,
            ..ValidateOutputs::default()
        },
    )
}

/// Validates, profiles and fingerprints the datasets into one report, each
/// read where `files` finds it (the project, or object storage).
pub fn validate_datasets_to(
    datasets: &[(&str, &Dataset)],
    files: &DatasetFiles<'_>,
    outputs: &ValidateOutputs<'_>,
) -> Result<Report, StepError> {
    let root = files.root();
    let mut validations: Vec<Validation> = Vec::with_capacity(datasets.len());
    let mut phase_times: Vec<Phases> = Vec::with_capacity(datasets.len());
    let mut report = Report::new(STEP, Conclusion::Success, String::new());
    let cache_file = Destination::in_project(root, STAT_CACHE);
    let mut cache = outputs
        .fingerprint
        .then(|| StatCache::load(&cache_file.path()));
    for (name, dataset) in datasets {
        let inputs = files.inputs(name, dataset)?;
        let digest_inputs = &inputs;
        // The digest reads the files on its own thread while the pass parses them:
        // the pass leaves a core idle at its start and end, and this fills it
        // (done after the pass, it added its whole time to the wall clock).
        let (validated, digest) = std::thread::scope(|scope| {
            let digest = cache.as_mut().map(|cache| {
                scope.spawn(move || {
                    let started = std::time::Instant::now();
                    let digest = fingerprint::fingerprint_inputs(root, digest_inputs, Some(cache));
                    (digest, started.elapsed().as_secs_f64())
                })
            });
            let validated = validate::validate_inputs_keyed::<DatasetProfile>(
                name,
                dataset,
                root,
                inputs.clone(),
                outputs.shard,
            );
            let digest = digest.map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            });
            (validated, digest)
        });
        let pass = validated?;
        let (validation, profile, keys, mut phases) =
            (pass.validation, pass.profile, pass.keys, pass.phases);
        if let Some(dir) = &outputs.profiles {
            save_profile(dir, name, outputs.shard, &profile, keys, &mut report)?;
        }
        if let Some((digest, seconds)) = digest {
            phases.fingerprint_seconds = Some(seconds);
            let fingerprint = digest.map_err(|error| StepError::Environment(error.to_string()))?;
            report
                .outputs
                .insert(format!("digest-{name}"), fingerprint.digest);
        }
        validations.push(validation);
        phase_times.push(phases);
    }
    if let Some(cache) = cache.as_mut() {
        cache
            .save(&cache_file.prepare_file()?)
            .map_err(|error| StepError::Environment(error.to_string()))?;
    }

    report.data = Some(datasets_json(&validations, &phase_times));
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
        for block in validation_blocks(validation) {
            report.blocks.push(block);
        }
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

/// What the terminal shows of one dataset: a line, and its checks with a
/// status each (the same results as the Markdown table and the JSON).
fn validation_blocks(validation: &Validation) -> [Block; 2] {
    let line = Block::text(format!(
        "{}: {} rows in {} file(s)",
        validation.dataset,
        validation.rows,
        validation.files.len(),
    ));
    let mut table = Table::new("checks", ["check", "observed"]);
    for check in &validation.checks {
        let status = if check.passed {
            RowStatus::Pass
        } else {
            RowStatus::Fail
        };
        table.row(Some(status), [check.name.clone(), check.observed.clone()]);
    }
    [line, table.into()]
}

/// Per dataset and per check as JSON values for `--format json`; each dataset
/// also says where its pass spent its time (`phases`).
fn datasets_json(validations: &[Validation], phases: &[Phases]) -> serde_json::Value {
    let datasets: Vec<serde_json::Value> = validations
        .iter()
        .zip(phases)
        .map(|(validation, phases)| {
            let mut value = serde_json::to_value(validation).unwrap_or_default();
            if let Some(object) = value.as_object_mut() {
                object.insert(
                    "phases".to_owned(),
                    serde_json::to_value(phases).unwrap_or_default(),
                );
            }
            value
        })
        .collect();
    serde_json::json!({ "datasets": datasets })
}

/// Saves a dataset's profile in `dir` (and a shard's unique keys beside it, for
/// `data merge`), naming them in the report's outputs.
fn save_profile(
    dir: &Destination,
    name: &str,
    shard: Option<Shard>,
    profile: &DatasetProfile,
    keys: Option<ShardKeys>,
    report: &mut Report,
) -> Result<(), StepError> {
    let path = dir.profile_file(name, shard).prepare_file()?;
    let meta = ProfileMeta {
        dataset: Some(name.to_owned()),
        shard: shard.map(|s| s.to_string()),
    };
    profile
        .save_with(&path, &meta)
        .map_err(|error| StepError::Environment(error.to_string()))?;
    let keys_path = keys_path_for(&path);
    match (keys.filter(|keys| !keys.is_empty()), shard) {
        (Some(keys), Some(shard)) => {
            keys.save(&keys_path, Some(name), &shard.to_string())
                .map_err(|error| StepError::Environment(error.to_string()))?;
            report
                .outputs
                .insert(format!("keys-{name}"), keys_path.display().to_string());
        }
        // No unique check now: keys an earlier run left would be merged as this run's.
        (None, Some(_)) => {
            if let Err(error) = std::fs::remove_file(&keys_path)
                && error.kind() != std::io::ErrorKind::NotFound
            {
                return Err(StepError::io("removing", &keys_path, error));
            }
        }
        _ => {}
    }
    report
        .outputs
        .insert(format!("profile-{name}"), path.display().to_string());
    Ok(())
}
