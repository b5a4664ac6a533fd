//! Deterministic samples of a dataset, for `data sample` and
//! `train --mode sample`: the dataset's file (in the project or in object
//! storage) sampled in its own format, CSV, JSON Lines or Parquet, so a
//! training command reads a sample exactly as it reads the full data.

use std::path::{Path, PathBuf};

use trainyard_core::StepError;
use trainyard_core::manifest::{DataFormat, Dataset};
use trainyard_data::sample::{self, SampleError, SampleOptions, SampleSummary};

use super::datasets::DatasetFiles;
use super::paths::Destination;

/// A sample written, and where.
#[derive(Debug)]
pub struct Sampled {
    pub summary: SampleSummary,
    pub path: PathBuf,
}

/// Samples dataset `name` into the file `output` gives for its format (its
/// extension: `sample::extension`; a flag's path as given, a project path
/// checked). Malformed input is exit 2 at its line.
pub fn sample_dataset(
    files: &DatasetFiles<'_>,
    name: &str,
    dataset: &Dataset,
    mut options: SampleOptions,
    output: impl FnOnce(DataFormat) -> Destination,
) -> Result<Sampled, StepError> {
    let inputs = files.inputs(name, dataset)?;
    let [input] = inputs.as_slice() else {
        return Err(StepError::Usage(format!(
            "dataset `{name}` has {} files; sampling takes a single file for now (name one file in `datasets.{name}.path`, or sample each)",
            inputs.len()
        )));
    };
    let format = sample::sample_format(input, dataset.format);
    let declared = dataset
        .csv
        .as_ref()
        .map(trainyard_core::manifest::data::CsvOptions::delimiter_byte)
        .transpose()
        .map_err(|why| StepError::Usage(format!("datasets.{name}.csv: {why}")))?
        .flatten();
    // As the readers decide: `.tsv` (also compressed) is tab-separated.
    let lowered = input.path.to_string_lossy().to_ascii_lowercase();
    let stem = lowered.trim_end_matches(".gz").trim_end_matches(".zst");
    let tsv = Path::new(stem)
        .extension()
        .is_some_and(|extension| extension.eq_ignore_ascii_case("tsv"));
    options.delimiter = declared.unwrap_or(if tsv { b'\t' } else { b',' });
    // A flag's path gets its folder; a project path stays in the project and
    // passes no link (paths.rs).
    let path = output(format).prepare_file()?;
    let summary = sample::sample_file(input, format, &path, &options)
        .map_err(|error| sample_error(name, &path, error))?;
    Ok(Sampled { summary, path })
}

fn sample_error(name: &str, output: &Path, error: SampleError) -> StepError {
    match error {
        SampleError::Io {
            action,
            path,
            source,
        } => StepError::io(action, path, source),
        SampleError::Usage(message) => StepError::Usage(format!("dataset `{name}`: {message}")),
        SampleError::Malformed {
            file,
            line,
            message,
        } => StepError::Usage(format!(
            "dataset `{name}`: {file}:{line}: {message}; nothing was written to {}; `trainyard data validate {name}` lists every malformed row",
            output.display()
        )),
    }
}
