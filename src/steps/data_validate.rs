//! `trainyard data validate [DATASET...]`: every declared dataset against its
//! schema and checks, one streaming pass each that also profiles every column;
//! findings at file:line:column, JUnit XML for the test reporters CI systems
//! already have, the profile saved for `data drift`, and the dataset's BLAKE3
//! fingerprint (from the stat cache when the files have not changed).

use trainyard_core::{Conclusion, Report, StepError};
use trainyard_data::read::Shard;

use super::Step;
use crate::app::StepContext;
use crate::app::datasets::DatasetFiles;
use crate::app::paths::{Destination, PROFILES_DIR};
use crate::app::validation::{ValidateOutputs, validate_datasets_to};
use crate::requests::DataValidateRequest;

const STEP: &str = Step::DataValidate.name();

pub fn run(request: &DataValidateRequest, context: &StepContext) -> Result<Report, StepError> {
    let project = context.project()?;
    let shard = request
        .shard
        .as_deref()
        .map(Shard::parse)
        .transpose()
        .map_err(|why| StepError::Usage(format!("--shard: {why}")))?;
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
