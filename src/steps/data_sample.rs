//! `trainyard data sample DATASET`: a deterministic sample — the same data and
//! seed give the same bytes on any machine. Pull-request builds train on it.

use std::fmt::Write;

use trainyard_core::markdown::{cell, code_in_text};
use trainyard_core::{Conclusion, Report, StepError};
use trainyard_data::sample::{self, SampleError, SampleOptions, SampleSize};

use super::Step;
use crate::app::StepContext;
use crate::app::paths::{Destination, SAMPLES_DIR};
use crate::requests::DataSampleRequest;

const STEP: &str = Step::DataSample.name();

pub fn run(request: &DataSampleRequest, context: &StepContext) -> Result<Report, StepError> {
    let project = context.project()?;
    let dataset = project.dataset(&request.dataset)?;
    let declared = dataset.sample.as_ref();

    let size = match (request.fraction, request.rows, declared) {
        (Some(fraction), None, _) => SampleSize::Fraction(fraction),
        (None, Some(rows), _) => SampleSize::Rows(rows),
        // The manifest guarantees exactly one of `fraction` and `rows`.
        (None, None, Some(declared)) => declared
            .fraction
            .map(SampleSize::Fraction)
            .or(declared.rows.map(SampleSize::Rows))
            .unwrap_or(SampleSize::Fraction(1.0)),
        (None, None, None) => {
            return Err(StepError::Usage(format!(
                "dataset `{}` declares no `sample`; give --fraction or --rows",
                request.dataset
            )));
        }
        (Some(_), Some(_), _) => unreachable!("clap makes --fraction and --rows exclusive"),
    };
    let seed = request
        .seed
        .or(declared.map(|sample| sample.seed))
        .unwrap_or(0);
    let mut options = SampleOptions::new(size, seed);
    if request.stratify || declared.is_some_and(|sample| sample.stratify) {
        let label = dataset.label.clone().ok_or_else(|| {
            StepError::Usage(format!(
                "stratifying needs `datasets.{}.label` in the manifest",
                request.dataset
            ))
        })?;
        options = options.stratified(label);
    }

    let files = crate::app::dataset_files(
        &project.manifest_file,
        &project.root,
        &request.dataset,
        dataset,
    )?;
    let [input] = files.as_slice() else {
        return Err(StepError::Usage(format!(
            "dataset `{}` has {} files; sampling takes a single CSV file for now",
            request.dataset,
            files.len()
        )));
    };
    let output = match &request.output {
        Some(output) => {
            if let Some(parent) = output.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .map_err(|error| StepError::io("creating", parent, error))?;
            }
            output.clone()
        }
        None => Destination::in_project(&project.root, SAMPLES_DIR)
            .join(format!("{}.csv", request.dataset))
            .prepare_file()?,
    };
    let summary = sample::sample_csv(input, &output, &options).map_err(|error| match error {
        SampleError::Io {
            action,
            path,
            source,
        } => StepError::io(action, path, source),
        SampleError::Usage(message) => StepError::Usage(message),
        csv @ SampleError::Csv { .. } => StepError::Environment(csv.to_string()),
    })?;

    let mut markdown = format!(
        "Sampled {} of {} rows of {} (seed {seed}) into {}.\n",
        summary.output_rows,
        summary.input_rows,
        code_in_text(&request.dataset),
        code_in_text(&output.display().to_string())
    );
    if !summary.classes.is_empty() {
        markdown.push_str("\n| class | rows | kept |\n|---|---|---|\n");
        for (class, (rows, kept)) in &summary.classes {
            let _ = writeln!(markdown, "| {} | {rows} | {kept} |", cell(class));
        }
    }
    Ok(Report::new(
        STEP,
        Conclusion::Success,
        format!(
            "sampled {} of {} rows of `{}`",
            summary.output_rows, summary.input_rows, request.dataset
        ),
    )
    .with_summary(markdown)
    .with_output("path", output.display().to_string())
    .with_output("rows", summary.output_rows.to_string()))
}
