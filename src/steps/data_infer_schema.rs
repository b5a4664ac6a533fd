//! `trainyard data infer-schema DATASET [-o FILE]`: reads a dataset once and
//! writes a starting schema (types, nullability, observed bounds) as YAML that a
//! user points `schema-file:` at or pastes under `schema:`.

use std::path::{Path, PathBuf};

use trainyard_core::{Conclusion, Report, StepError, markdown};
use trainyard_data::{infer, read, validate};

use super::Step;
use crate::app::StepContext;
use crate::app::datasets::DatasetFiles;
use crate::app::paths::{Destination, SCHEMAS_DIR};
use crate::requests::DataInferSchemaRequest;

const STEP: &str = Step::DataInferSchema.name();

pub fn run(request: &DataInferSchemaRequest, context: &StepContext) -> Result<Report, StepError> {
    let project = match context.project() {
        Ok(project) => Some(project),
        Err(error) if context.manifest_path.exists() => return Err(error),
        Err(_) => None,
    };
    let declared = project
        .as_ref()
        .and_then(|p| p.manifest.datasets.get(&request.dataset).map(|d| (p, d)));
    let (inputs, options, name) = if let Some((project, dataset)) = declared {
        (
            DatasetFiles::new(project, context).inputs(&request.dataset, dataset)?,
            validate::read_options(dataset, None),
            request.dataset.clone(),
        )
    } else {
        let path = Path::new(&request.dataset);
        if !path.exists() && !request.dataset.contains(['*', '?', '[']) {
            return Err(StepError::Usage(format!(
                "`{}` is neither a dataset declared in the manifest nor an existing file or folder",
                request.dataset
            )));
        }
        let stem = path
            .file_name()
            .map(|n| {
                n.to_string_lossy()
                    .split('.')
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "dataset".to_owned());
        (
            read::resolve(Path::new("."), &request.dataset)?,
            read::ReadOptions::default(),
            stem,
        )
    };
    let files = inputs.len();
    let schema = infer::infer(inputs, options)?;
    let yaml = infer::to_yaml(&schema);
    let output = if let Some(output) = &request.output {
        Destination::Chosen(output.clone())
    } else {
        let root = project
            .as_ref()
            .map_or_else(|| PathBuf::from("."), |p| p.root.clone());
        Destination::in_project(&root, SCHEMAS_DIR).join(format!("{name}.yaml"))
    };
    let output = output.write(yaml.as_bytes())?;
    Ok(Report::new(
        STEP,
        Conclusion::Success,
        format!(
            "schema of {} column(s) inferred from {files} file(s) into {}",
            schema.columns.len(),
            output.display()
        ),
    )
    .with_summary(format!(
        "Point `schema-file:` at {} or paste its content under {}, then review the bounds:\n\n{}",
        markdown::code_in_text(&output.display().to_string()),
        markdown::code_in_text(&format!("datasets.{name}.schema")),
        markdown::fenced("yaml", &yaml)
    ))
    .with_output("path", output.display().to_string())
    .with_output("columns", schema.columns.len().to_string()))
}
