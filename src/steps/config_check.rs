//! `trainyard config check`: is trainyard.yaml well-formed and consistent?

use std::fmt::Write;
use std::path::Path;

use trainyard_core::manifest::{KeyPath, Manifest, TrackingBackend};
use trainyard_core::{Conclusion, ConfigError, Report, StepError};

use super::Step;
use crate::app::{Project, StepContext, iac_plan};
use crate::requests::ConfigCheckRequest;

const STEP: &str = Step::ConfigCheck.name();

pub fn run(_: &ConfigCheckRequest, context: &StepContext) -> Result<Report, StepError> {
    let project = context.project()?;
    // What steps refuse in the manifest beyond the loader's rules (which
    // include metrics used without a declared direction, and the tracking
    // backend's URI): schema files `data` steps cannot read, and the IaC
    // rules of `iac render`/`iac check`.
    let source = std::fs::read_to_string(&context.manifest_path)
        .map_err(|error| StepError::io("reading", &context.manifest_path, error))?;
    check_schema_files(&project, &source)?;
    iac_plan::check(&project)?;
    Ok(describe(&project.manifest, &context.manifest_path))
}

/// Each dataset's schema, read as `data validate` reads it (its `schema-file`
/// with the inline `schema` on top): a file that is missing is refused at the
/// manifest's line, one that does not parse at its own line.
fn check_schema_files(project: &Project, source: &str) -> Result<(), StepError> {
    for (name, dataset) in &project.manifest.datasets {
        if let Some(file) = &dataset.schema_file
            && !project.root.join(file).is_file()
        {
            return Err(StepError::from(
                ConfigError::new(
                    project.manifest_file.clone(),
                    "schema-file-missing",
                    format!("dataset `{name}`: the schema file `{file}` does not exist"),
                )
                .at_key(source, &KeyPath::new(&["datasets", name, "schema-file"]))
                .with_help("the path is relative to the manifest's folder; `trainyard data infer-schema` writes one"),
            ));
        }
        // Loaded, then planned as `data validate` plans its checks (patterns,
        // relations), without reading any data.
        if let Some(loaded) = trainyard_data::schema::for_dataset(dataset, &project.root)? {
            let shown = dataset
                .schema_file
                .as_deref()
                .unwrap_or(&project.manifest_file);
            trainyard_data::check::Plan::new(&loaded.schema, shown)?;
        }
    }
    Ok(())
}

fn describe(manifest: &Manifest, path: &Path) -> Report {
    let environments: Vec<&str> = manifest
        .environments
        .iter()
        .map(|env| env.name.as_str())
        .collect();
    let title = format!(
        "{} is valid: project `{}`, {} dataset{}, {} environment{}",
        path.display(),
        manifest.project.name,
        manifest.datasets.len(),
        plural(manifest.datasets.len()),
        environments.len(),
        plural(environments.len()),
    );

    let mut summary = String::from("| section | declared |\n|---|---|\n");
    let datasets: Vec<&str> = manifest.datasets.keys().map(String::as_str).collect();
    let rows = [
        (
            "project",
            format!(
                "`{}` (default branch `{}`)",
                manifest.project.name, manifest.project.default_branch
            ),
        ),
        ("datasets", list_or_none(&datasets)),
        (
            "train",
            presence(manifest.train.as_ref().map(|train| train.command.join(" "))),
        ),
        (
            "model",
            presence(manifest.model.as_ref().map(|model| model.name.clone())),
        ),
        (
            "tracking",
            match &manifest.tracking.uri {
                Some(uri) if manifest.tracking.backend == TrackingBackend::Mlflow => {
                    format!("mlflow at {uri}")
                }
                _ => format!("{:?}", manifest.tracking.backend).to_lowercase(),
            },
        ),
        (
            "gates",
            list_or_none(
                &manifest
                    .gates
                    .keys()
                    .map(String::as_str)
                    .collect::<Vec<_>>(),
            ),
        ),
        ("environments", list_or_none(&environments)),
        (
            "iac",
            presence(manifest.iac.as_ref().map(|iac| {
                let targets: Vec<String> = iac
                    .targets
                    .iter()
                    .map(|target| format!("{target:?}").to_lowercase())
                    .collect();
                format!("{} into {}", targets.join(", "), iac.output_dir)
            })),
        ),
    ];
    for (section, value) in rows {
        let _ = writeln!(summary, "| {section} | {} |", value.replace('|', "\\|"));
    }

    Report::new(STEP, Conclusion::Success, title)
        .with_summary(summary)
        .with_output("project", manifest.project.name.clone())
        .with_output("datasets", datasets.join(","))
        .with_output("environments", environments.join(","))
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

fn list_or_none(items: &[&str]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items
            .iter()
            .map(|item| format!("`{item}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn presence(value: Option<String>) -> String {
    value.map_or_else(|| "none".to_owned(), |value| format!("`{value}`"))
}
