//! `trainyard data drift --reference R --current C`: compares two datasets (or
//! their saved profiles) column by column with the test Evidently would choose
//! for each column's type and size, or the one the manifest's `drift:` names;
//! the dataset drifts when enough columns do (exit 1), and the report asks the
//! forge to start retraining (sent where the user configured a retraining
//! event or workflow). Scheduled pipelines may also act on the `drifted` output.

use std::path::{Path, PathBuf};

use trainyard_core::manifest::Dataset;
use trainyard_core::manifest::data::{DriftPolicy, DriftTest};
use trainyard_core::{
    Block, Conclusion, Finding, ForgeRequest, Location, Report, RowStatus, StepError, Table,
    markdown,
};
use trainyard_data::drift::{self, ColumnOptions, DriftOptions, StatTest};
use trainyard_data::profile::DatasetProfile;
use trainyard_data::{read, validate};

use super::Step;
use crate::app::datasets::DatasetFiles;
use crate::app::{Project, StepContext};
use crate::requests::DataDriftRequest;

const STEP: &str = Step::DataDrift.name();

/// One side of the comparison, as the user named it.
enum Side<'a> {
    Profile(PathBuf),
    /// A declared dataset: its name and its declaration.
    Dataset(&'a str, &'a Dataset),
    Path(PathBuf),
}

impl Side<'_> {
    fn shown(&self) -> String {
        match self {
            Self::Profile(path) | Self::Path(path) => path.display().to_string(),
            Self::Dataset(name, dataset) => format!("{name} ({})", dataset.path),
        }
    }

    fn location(&self) -> String {
        match self {
            Self::Profile(path) | Self::Path(path) => path.display().to_string(),
            Self::Dataset(_, dataset) => dataset.path.clone(),
        }
    }
}

pub fn run(request: &DataDriftRequest, context: &StepContext) -> Result<Report, StepError> {
    // A manifest is needed only to name datasets; two profiles or paths need none.
    let project = match context.project() {
        Ok(project) => Some(project),
        Err(error) if context.manifest_path.exists() => return Err(error),
        Err(_) => None,
    };
    let reference = side(&request.reference, "--reference", project.as_ref())?;
    let current = side(&request.current, "--current", project.as_ref())?;
    let files = project
        .as_ref()
        .map(|project| DatasetFiles::new(project, context));
    let (mut reference_profile, reference_name) = load(&reference, files.as_ref())?;
    let (mut current_profile, current_name) = load(&current, files.as_ref())?;
    // The policy of the current dataset (else the reference's), also when a side is
    // a profile saved by `data validate`, which records its dataset's name.
    let policy = [current_name, reference_name]
        .into_iter()
        .flatten()
        .find_map(|name| {
            project
                .as_ref()
                .and_then(|p| p.manifest.datasets.get(&name))
                .and_then(|d| d.drift.clone())
        })
        .unwrap_or_default();
    let options = drift_options(&policy, request)?;
    let ignored: Vec<&str> = policy
        .columns
        .iter()
        .filter(|(_, column)| column.ignore)
        .map(|(name, _)| name.as_str())
        .collect();
    for profile in [&mut reference_profile, &mut current_profile] {
        profile.columns.retain(|c| !ignored.contains(&c.name()));
    }

    let mut report = Report::new(STEP, Conclusion::Success, String::new());
    // A column the current data lost is a finding of its own, not a test result.
    // One set of the current names, not a search per column: wide tables stay linear.
    let current_names: std::collections::HashSet<&str> = current_profile
        .columns
        .iter()
        .map(trainyard_data::profile::ColumnProfile::name)
        .collect();
    let missing: Vec<String> = reference_profile
        .columns
        .iter()
        .filter(|c| !current_names.contains(c.name()))
        .map(|c| c.name().to_owned())
        .collect();
    for name in &missing {
        report.push_finding(
            Finding::error(
                "drift/missing-column",
                format!(
                    "column `{name}` of the reference {} is not in the current data {}",
                    reference.shown(),
                    current.shown()
                ),
            )
            .at(Location::file(current.location())),
        );
    }
    reference_profile
        .columns
        .retain(|c| !missing.iter().any(|m| m == c.name()));

    let result = drift::drift_profiles(&reference_profile, &current_profile, &options)
        .map_err(|error| StepError::Usage(error.to_string()))?;
    publish(
        &result,
        &reference,
        &current,
        [&reference_profile, &current_profile],
        &mut report,
    );
    if result.dataset_drift {
        report.forge.push(ForgeRequest::DispatchRetraining {
            reason: format!("data drift: {}", report.title),
        });
    }
    Ok(report)
}

/// The verdict into the report: a warning per drifted column, an error for the
/// dataset, the summary table and the outputs.
fn publish(
    result: &drift::DriftReport,
    reference: &Side<'_>,
    current: &Side<'_>,
    [reference_profile, current_profile]: [&DatasetProfile; 2],
    report: &mut Report,
) {
    // Rows either side could not read: left out of the comparison, never ignored.
    for finding in &result.findings {
        report.push_finding(finding.clone());
    }
    for column in result.drifted() {
        let (Some(test), Some(statistic), Some(threshold)) =
            (column.test, column.statistic, column.threshold)
        else {
            continue;
        };
        report.push_finding(
            Finding::warning(
                "drift/column",
                format!(
                    "column `{}` drifted: {} {statistic:.6} (threshold {threshold})",
                    column.column,
                    test.name(),
                ),
            )
            .at(Location::file(current.location())),
        );
    }
    if result.dataset_drift {
        report.push_finding(
            Finding::error(
                "drift/dataset",
                format!(
                    "{} drifted from {}: {} of {} columns ({:.0}%, the limit is {:.0}%)",
                    current.shown(),
                    reference.shown(),
                    result.drifted_columns,
                    result.tested_columns,
                    result.share * 100.0,
                    result.drift_share * 100.0
                ),
            )
            .at(Location::file(current.location())),
        );
    }
    report.title = format!(
        "{} of {} tested columns drifted: {}",
        result.drifted_columns,
        result.tested_columns,
        if result.dataset_drift {
            "dataset drift"
        } else {
            "no dataset drift"
        }
    );
    report.summary = format!(
        "**{}** against **{}** ({} and {} rows)\n\n{}",
        markdown::text(&current.shown()),
        markdown::text(&reference.shown()),
        current_profile.rows,
        reference_profile.rows,
        result.markdown()
    );
    report.blocks = drift_blocks(
        result,
        &current.shown(),
        &reference.shown(),
        current_profile.rows,
        reference_profile.rows,
    );
    // Per column as JSON values for `--format json` (the statistic, the
    // threshold, the verdict), not only the Markdown table.
    report.data = serde_json::to_value(result).ok();
    report
        .outputs
        .insert("drifted".to_owned(), result.dataset_drift.to_string());
    report.outputs.insert(
        "drifted-columns".to_owned(),
        result.drifted_columns.to_string(),
    );
    report
        .outputs
        .insert("share".to_owned(), format!("{:.4}", result.share));
}

/// What the terminal shows: which data against which, the share, and each
/// column (drifted ones fail, untested ones are skipped with the reason).
fn drift_blocks(
    result: &drift::DriftReport,
    current: &str,
    reference: &str,
    current_rows: u64,
    reference_rows: u64,
) -> Vec<Block> {
    let mut lines = vec![format!(
        "{current} against {reference} ({current_rows} and {reference_rows} rows): {} of {} tested columns drifted ({:.0}%; dataset drift at {:.0}%)",
        result.drifted_columns,
        result.tested_columns,
        result.share * 100.0,
        result.drift_share * 100.0,
    )];
    for (side, count) in &result.malformed {
        lines.push(format!(
            "{count} malformed row{} in the {side} data could not be read and were left out",
            if *count == 1 { "" } else { "s" }
        ));
    }
    let mut table = Table::new("columns", ["column", "test", ">statistic", ">threshold"]);
    for column in &result.columns {
        if let (Some(test), Some(statistic), Some(threshold)) =
            (column.test, column.statistic, column.threshold)
        {
            let status = if column.drifted {
                RowStatus::Fail
            } else {
                RowStatus::Pass
            };
            table.row(
                Some(status),
                [
                    column.column.clone(),
                    test.name().to_owned(),
                    format!("{statistic:.6}"),
                    threshold.to_string(),
                ],
            );
        } else {
            let why = column.not_tested.as_deref().unwrap_or("no test applies");
            table.row(
                Some(RowStatus::Skip),
                [column.column.clone(), format!("not tested: {why}")],
            );
        }
    }
    vec![Block::text(lines.join("\n")), table.into()]
}

fn side<'a>(text: &str, flag: &str, project: Option<&'a Project>) -> Result<Side<'a>, StepError> {
    if let Some(project) = project
        && let Some((name, dataset)) = project.manifest.datasets.get_key_value(text)
    {
        return Ok(Side::Dataset(name, dataset));
    }
    let path = PathBuf::from(text);
    if !path.exists() && !text.contains(['*', '?', '[']) {
        let known = project
            .map(|p| {
                p.manifest
                    .datasets
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        return Err(StepError::Usage(format!(
            "{flag} `{text}` is neither a declared dataset ({}) nor an existing file",
            if known.is_empty() {
                "none declared"
            } else {
                &known
            }
        )));
    }
    let is_profile = path
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("json"))
        && path.is_file();
    Ok(if is_profile {
        Side::Profile(path)
    } else {
        Side::Path(path)
    })
}

/// The side's profile and the name of the dataset it is of, when known.
fn load(
    side: &Side<'_>,
    files: Option<&DatasetFiles<'_>>,
) -> Result<(DatasetProfile, Option<String>), StepError> {
    match side {
        Side::Profile(path) => DatasetProfile::load_with(path)
            .map(|(profile, meta)| (profile, meta.dataset))
            .map_err(|error| match error {
                trainyard_data::profile::ProfileError::Io { .. } => {
                    StepError::Environment(error.to_string())
                }
                _ => StepError::Usage(format!(
                    "{error}; a `.json` side must be a profile saved by `data validate`"
                )),
            }),
        Side::Dataset(name, dataset) => {
            // A dataset side exists only with a manifest, hence with `files`.
            let files = files
                .ok_or_else(|| StepError::Usage(format!("dataset `{name}` needs the manifest")))?;
            let inputs = files.inputs(name, dataset)?;
            validate::profile_dataset_inputs(dataset, files.root(), inputs)
                .map(|p| (p, Some((*name).to_owned())))
        }
        Side::Path(path) => {
            let inputs = read::resolve(Path::new("."), &path.to_string_lossy())?;
            validate::profile_files(
                inputs,
                &trainyard_core::manifest::data::DataSchema::default(),
                read::ReadOptions::default(),
            )
            .map(|p| (p, None))
        }
    }
}

fn stat_test(test: DriftTest) -> StatTest {
    match test {
        DriftTest::Ks => StatTest::Ks,
        DriftTest::Wasserstein => StatTest::Wasserstein,
        DriftTest::ChiSquare => StatTest::ChiSquare,
        DriftTest::ZTest => StatTest::ZTest,
        DriftTest::JensenShannon => StatTest::JensenShannon,
        DriftTest::Psi => StatTest::Psi,
    }
}

/// The manifest's policy, with the flags on top for columns without their own.
fn drift_options(
    policy: &DriftPolicy,
    request: &DataDriftRequest,
) -> Result<DriftOptions, StepError> {
    let flag_test = request
        .test
        .as_deref()
        .map(|text| {
            serde_json::from_value::<DriftTest>(serde_json::Value::String(text.to_owned()))
                .map_err(|_| {
                    StepError::Usage(format!(
                        "--test `{text}` is not one of ks, wasserstein, chi-square, z-test, jensen-shannon, psi"
                    ))
                })
        })
        .transpose()?;
    let share = request.drift_share.or(policy.share).unwrap_or(0.5);
    if !(0.0..=1.0).contains(&share) {
        return Err(StepError::Usage(format!(
            "the drift share must be in [0, 1], got {share}"
        )));
    }
    Ok(DriftOptions {
        all: ColumnOptions {
            test: flag_test.or(policy.test).map(stat_test),
            threshold: request.threshold.or(policy.threshold),
        },
        columns: policy
            .columns
            .iter()
            .map(|(name, column)| {
                (
                    name.clone(),
                    ColumnOptions {
                        test: column.test.map(stat_test),
                        threshold: column.threshold,
                    },
                )
            })
            .collect(),
        drift_share: share,
    })
}
