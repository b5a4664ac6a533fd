//! `trainyard data validate [DATASET...]`: every declared dataset against its
//! schema and checks, one streaming pass each; findings at file:line:column,
//! and JUnit XML for the test reporters CI systems already have.

use std::path::Path;

use trainyard_core::manifest::Dataset;
use trainyard_core::{Conclusion, Report, StepError};
use trainyard_data::{junit, validate};

use super::StepContext;
use crate::cli::DataValidateArgs;

pub const STEP: &str = "data validate";

pub fn run(args: &DataValidateArgs, context: &StepContext) -> Result<Report, StepError> {
    let project = context.project()?;
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
    validate_datasets(&datasets, &project.root, args.junit.as_deref())
}

/// Validates the given datasets into one report (quickstart also calls this).
pub fn validate_datasets(
    datasets: &[(&str, &Dataset)],
    root: &Path,
    junit_path: Option<&Path>,
) -> Result<Report, StepError> {
    let mut validations = Vec::with_capacity(datasets.len());
    for (name, dataset) in datasets {
        validations.push(validate::validate_dataset(name, dataset, root)?);
    }

    let valid = validations
        .iter()
        .filter(|validation| validation.passed())
        .count();
    let mut report = Report::new(
        STEP,
        Conclusion::Success,
        format!("{valid} of {} dataset(s) valid", validations.len()),
    );
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

    if let Some(path) = junit_path {
        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent)
                .map_err(|error| StepError::io("creating", parent, error))?;
        }
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
