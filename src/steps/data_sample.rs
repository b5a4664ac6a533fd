//! `trainyard data sample DATASET`: a deterministic sample in the dataset's own
//! format (CSV, JSON Lines, Parquet) — the same data and seed give the same
//! bytes on any machine. Pull-request builds train on it.

use std::fmt::Write;

use trainyard_core::markdown::{cell, code_in_text};
use trainyard_core::{Conclusion, Report, StepError};
use trainyard_data::sample::{self, SampleOptions, SampleSize};

use super::Step;
use crate::app::StepContext;
use crate::app::datasets::DatasetFiles;
use crate::app::paths::{Destination, SAMPLES_DIR};
use crate::app::sampling::sample_dataset;
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

    let sampled = sample_dataset(
        &DatasetFiles::new(&project, context),
        &request.dataset,
        dataset,
        options,
        |format| {
            let file = format!("{}.{}", request.dataset, sample::extension(format));
            request.output.clone().map_or_else(
                || Destination::in_project(&project.root, SAMPLES_DIR).join(file),
                Destination::Chosen,
            )
        },
    )?;
    let (summary, output) = (sampled.summary, sampled.path);
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
