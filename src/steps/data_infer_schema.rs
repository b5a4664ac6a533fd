//! `trainyard data infer-schema DATASET [-o FILE]`: reads a dataset once and
//! writes a starting schema (types, nullability, observed bounds) as YAML that a
//! user points `schema-file:` at or pastes under `schema:`.

use std::path::{Path, PathBuf};

use trainyard_core::{Conclusion, Report, StepError};
use trainyard_data::{infer, read, validate};

use super::StepContext;
use crate::cli::DataInferSchemaArgs;

pub const STEP: &str = "data infer-schema";

/// Where schemas go, beside the manifest, unless `-o` says otherwise.
pub const SCHEMAS_DIR: &str = ".trainyard/schemas";

pub fn run(args: &DataInferSchemaArgs, context: &StepContext) -> Result<Report, StepError> {
    let project = match context.project() {
        Ok(project) => Some(project),
        Err(error) if context.manifest_path.exists() => return Err(error),
        Err(_) => None,
    };
    let declared = project
        .as_ref()
        .and_then(|p| p.manifest.datasets.get(&args.dataset).map(|d| (p, d)));
    let (inputs, options, name) = if let Some((project, dataset)) = declared {
        (
            read::resolve(&project.root, &dataset.path)?,
            validate::read_options(dataset, None),
            args.dataset.clone(),
        )
    } else {
        let path = Path::new(&args.dataset);
        if !path.exists() && !args.dataset.contains(['*', '?', '[']) {
            return Err(StepError::Usage(format!(
                "`{}` is neither a dataset declared in the manifest nor an existing file or folder",
                args.dataset
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
            read::resolve(Path::new("."), &args.dataset)?,
            read::ReadOptions::default(),
            stem,
        )
    };
    let files = inputs.len();
    let schema = infer::infer(inputs, options)?;
    let yaml = infer::to_yaml(&schema);
    let output = args.output.clone().unwrap_or_else(|| {
        let root = project
            .as_ref()
            .map_or_else(|| PathBuf::from("."), |p| p.root.clone());
        root.join(SCHEMAS_DIR).join(format!("{name}.yaml"))
    });
    trainyard_data::profile::write_atomic(&output, yaml.as_bytes())
        .map_err(|error| StepError::io("writing", &output, error))?;
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
        "Point `schema-file:` at `{}` or paste its content under `datasets.{name}.schema`, then review the bounds:\n\n```yaml\n{yaml}```\n",
        output.display()
    ))
    .with_output("path", output.display().to_string())
    .with_output("columns", schema.columns.len().to_string()))
}
