//! `trainyard data merge PROFILE...`: combines the profiles that `data validate
//! --shard i/n` wrote on n runners into the profile one pass would have made (bit
//! for bit: every statistic of a profile is order-independent), then evaluates the
//! checks over the whole dataset (row count, mean, stddev, quantiles, null
//! fraction) that the shards left to it.

use std::path::{Path, PathBuf};

use trainyard_core::{Conclusion, Finding, Location, Report, StepError, markdown};
use trainyard_data::check::CheckResult;
use trainyard_data::check::keys::{self, KeysError, KeysFile, keys_path_for};
use trainyard_data::profile::{DatasetProfile, ProfileMeta};
use trainyard_data::read::Shard;
use trainyard_data::validate;

use super::Step;
use crate::app::StepContext;
use crate::app::paths::{Destination, PROFILES_DIR};
use crate::requests::DataMergeRequest;

const STEP: &str = Step::DataMerge.name();

pub fn run(request: &DataMergeRequest, context: &StepContext) -> Result<Report, StepError> {
    let mut loaded: Vec<(PathBuf, DatasetProfile, ProfileMeta)> = Vec::new();
    for path in &request.profiles {
        let (profile, meta) = DatasetProfile::load_with(path).map_err(|error| match error {
            trainyard_data::profile::ProfileError::Io { .. } => {
                StepError::Environment(error.to_string())
            }
            _ => StepError::Usage(format!(
                "{error}; give the files `data validate --shard i/n` wrote"
            )),
        })?;
        loaded.push((path.clone(), profile, meta));
    }
    let dataset = one_dataset(&loaded)?;
    check_shards(&loaded)?;
    let across = unique_across_shards(&loaded)?;

    let mut parts = loaded.into_iter();
    let Some((first_path, mut merged, _)) = parts.next() else {
        return Err(StepError::Usage("give at least one profile".to_owned()));
    };
    for (path, profile, _) in parts {
        merged.merge(&profile).map_err(|error| {
            StepError::Usage(format!(
                "{} and {}: {error}",
                first_path.display(),
                path.display()
            ))
        })?;
    }

    // The manifest, when there is one, says which whole-dataset checks to run.
    let project = context.project().ok();
    let output = match (&request.output, &dataset, &project) {
        (Some(output), _, _) => Destination::Chosen(output.clone()),
        // The name comes from the profiles (another runner wrote them): it names a file only if it is a dataset name.
        (None, Some(name), _) if trainyard_core::manifest::check_dataset_name(name).is_err() => {
            return Err(StepError::Usage(format!(
                "the profiles name their dataset `{}`, which is not a dataset name; say where to write the merged profile with --output",
                name.escape_default()
            )));
        }
        (None, Some(name), Some(project)) => {
            Destination::in_project(&project.root, PROFILES_DIR).profile_file(name, None)
        }
        (None, Some(name), None) => {
            Destination::in_project(Path::new("."), PROFILES_DIR).profile_file(name, None)
        }
        (None, None, _) => {
            return Err(StepError::Usage(
                "the profiles do not name their dataset; say where to write the merged one with --output"
                    .to_owned(),
            ));
        }
    };
    let output = output.prepare_file()?;
    merged
        .save_with(
            &output,
            &ProfileMeta {
                dataset: dataset.clone(),
                shard: None,
            },
        )
        .map_err(|error| StepError::Environment(error.to_string()))?;

    let mut report = Report::new(
        STEP,
        Conclusion::Success,
        format!(
            "{} profile(s) merged: {} rows, {} columns",
            request.profiles.len(),
            merged.rows,
            merged.columns.len()
        ),
    )
    .with_output("profile", output.display().to_string())
    .with_output("rows", merged.rows.to_string());

    if let (Some(name), Some(project)) = (&dataset, &project) {
        whole_dataset_checks(name, project, &merged, &mut report)?;
    }
    report_across(dataset.as_deref().unwrap_or(""), &across, &mut report);
    Ok(report)
}

/// The checks of `unique` across shards in the report: a table under the
/// summary, a finding per failed check and per duplicate shown.
fn report_across(name: &str, across: &[CheckResult], report: &mut Report) {
    if across.is_empty() {
        return;
    }
    if report.summary.is_empty() {
        report.summary = format!("**{}** (merged)\n\n", markdown::text(name));
    }
    report.summary.push_str("\n\n");
    report.summary.push_str(&validate::checks_markdown(across));
    for check in across.iter().filter(|check| !check.passed) {
        report.conclusion = Conclusion::Failure;
        let more = if check.failed > check.offenders.len() as u64 {
            format!("; the first {} are reported", check.offenders.len())
        } else {
            String::new()
        };
        let mut finding = Finding::error(
            check.rule,
            format!(
                "dataset `{name}`: check `{}` failed: {}{more}",
                check.name, check.observed
            ),
        );
        if let Some(first) = check.offenders.first() {
            finding = finding.at(Location::file(first.file.clone()));
        }
        report.push_finding(finding);
        for offense in &check.offenders {
            report.push_finding(validate::offense_finding(check, offense));
        }
    }
}

/// `unique` and `unique-together` across shards, from the keys each shard wrote
/// beside its profile (`x.shard-1-of-4.keys`): none when no shard wrote any
/// (no unique check, or profiles that are not shards).
fn unique_across_shards(
    loaded: &[(PathBuf, DatasetProfile, ProfileMeta)],
) -> Result<Vec<CheckResult>, StepError> {
    let shards: Vec<(&Path, &str)> = loaded
        .iter()
        .filter_map(|(path, _, meta)| meta.shard.as_deref().map(|shard| (path.as_path(), shard)))
        .collect();
    let present: Vec<bool> = shards
        .iter()
        .map(|(path, _)| keys_path_for(path).is_file())
        .collect();
    if !present.contains(&true) {
        return Ok(Vec::new());
    }
    let keys_error = |error: KeysError| match error {
        KeysError::Io { .. } => StepError::Environment(error.to_string()),
        _ => StepError::Usage(error.to_string()),
    };
    let mut files = Vec::with_capacity(shards.len());
    for ((path, shard), present) in shards.iter().zip(present) {
        let keys = keys_path_for(path);
        if !present {
            return Err(StepError::Usage(format!(
                "{} is missing beside {} (the other shards have theirs): a check of `unique` across shards needs every shard's keys; copy the whole profiles folder of each shard",
                keys.display(),
                path.display()
            )));
        }
        let file = KeysFile::open(&keys).map_err(keys_error)?;
        if file.shard() != *shard {
            return Err(StepError::Usage(format!(
                "{} holds the keys of shard {} but {} is shard {shard}; keep each shard's files together",
                keys.display(),
                file.shard(),
                path.display()
            )));
        }
        files.push(file);
    }
    keys::duplicates_across(&files).map_err(keys_error)
}

/// Runs the manifest's whole-dataset checks of `name` on the merged profile.
fn whole_dataset_checks(
    name: &str,
    project: &crate::app::Project,
    merged: &DatasetProfile,
    report: &mut Report,
) -> Result<(), StepError> {
    let Some(declared) = project.manifest.datasets.get(name) else {
        return Ok(());
    };
    let loaded = trainyard_data::schema::for_dataset(declared, &project.root)?.unwrap_or_default();
    let checks = validate::aggregate_checks(&loaded.schema, merged);
    report.summary = format!(
        "**{}** (merged): {} rows, {} of {} whole-dataset checks passed\n\n{}",
        markdown::text(name),
        merged.rows,
        checks.iter().filter(|c| c.passed).count(),
        checks.len(),
        validate::checks_markdown(&checks)
    );
    for check in &checks {
        if !check.passed {
            report.conclusion = Conclusion::Failure;
            report.push_finding(
                Finding::error(
                    check.rule,
                    format!(
                        "dataset `{name}`: check `{}` failed: {}",
                        check.name, check.observed
                    ),
                )
                .at(Location::file(project.manifest_file.clone())),
            );
        }
    }
    Ok(())
}

/// The dataset all profiles name (they must agree), if any names one.
fn one_dataset(
    loaded: &[(PathBuf, DatasetProfile, ProfileMeta)],
) -> Result<Option<String>, StepError> {
    let mut dataset: Option<(&Path, &str)> = None;
    for (path, _, meta) in loaded {
        if let Some(name) = meta.dataset.as_deref() {
            match dataset {
                Some((first, other)) if other != name => {
                    return Err(StepError::Usage(format!(
                        "{} is a profile of dataset `{other}` but {} is of `{name}`; merge one dataset at a time",
                        first.display(),
                        path.display()
                    )));
                }
                Some(_) => {}
                None => dataset = Some((path, name)),
            }
        }
    }
    Ok(dataset.map(|(_, name)| name.to_owned()))
}

/// Shard profiles must be all `n` shards of one split, each once.
fn check_shards(loaded: &[(PathBuf, DatasetProfile, ProfileMeta)]) -> Result<(), StepError> {
    let shards: Vec<(&Path, Shard)> = loaded
        .iter()
        .filter_map(|(path, _, meta)| {
            meta.shard
                .as_deref()
                .and_then(|s| Shard::parse(s).ok())
                .map(|s| (path.as_path(), s))
        })
        .collect();
    if shards.is_empty() {
        return Ok(());
    }
    if shards.len() != loaded.len() {
        return Err(StepError::Usage(
            "some profiles are shards and some are not; merge the shards of one run".to_owned(),
        ));
    }
    let count = shards[0].1.count;
    let mut seen = vec![None::<&Path>; count as usize];
    for (path, shard) in &shards {
        if shard.count != count {
            return Err(StepError::Usage(format!(
                "{} is shard {shard} but {} is of {count} shards; merge the shards of one run",
                path.display(),
                shards[0].0.display()
            )));
        }
        if let Some(first) = seen[shard.index as usize].replace(path) {
            return Err(StepError::Usage(format!(
                "shard {shard} is given twice ({} and {})",
                first.display(),
                path.display()
            )));
        }
    }
    let missing: Vec<String> = seen
        .iter()
        .enumerate()
        .filter(|(_, path)| path.is_none())
        .map(|(index, _)| format!("{}/{count}", index + 1))
        .collect();
    if !missing.is_empty() {
        return Err(StepError::Usage(format!(
            "shard(s) {} missing: a merged profile must cover every row; give all {count} shard profiles",
            missing.join(", ")
        )));
    }
    Ok(())
}
