//! The binary's edge of IaC planning (`trainyard_render::plan`): the built-in
//! templates compiled in, a plan's errors as step errors pointing at the
//! manifest's line, and the summary `iac render` and `iac check` share.

use std::fmt::Write as _;

use include_dir::{Dir, include_dir};
use trainyard_core::{ConfigError, SourceSpan, StepError};
use trainyard_render::RenderError;
use trainyard_render::plan::{self, ManifestError, Plan, PlanError, Selection, Sources};

use super::Project;
use crate::requests::IacSelection;

/// The built-in templates, compiled into the binary (the repository's own,
/// under `templates/iac/`, override them at run time).
static TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates/iac");

/// The project's plan for `selection`.
pub fn plan(project: &Project, selection: &IacSelection) -> Result<Plan, StepError> {
    let sources = Sources {
        manifest: &project.manifest,
        root: &project.root,
        builtin: &TEMPLATES,
    };
    let selection = Selection {
        environments: &selection.environments,
        all: selection.all,
        targets: &selection.targets,
    };
    plan::plan(&sources, &selection).map_err(|error| plan_error(project, error))
}

/// The manifest's IaC rules and the repository's template overrides (`config
/// check`): what `iac render --all` would refuse in them.
pub fn check(project: &Project) -> Result<(), StepError> {
    let file = &project.manifest_file;
    plan::check(&project.manifest).map_err(|error| StepError::from(manifest_error(file, error)))?;
    let sources = Sources {
        manifest: &project.manifest,
        root: &project.root,
        builtin: &TEMPLATES,
    };
    plan::check_templates(&sources).map_err(|error| plan_error(project, error))
}

/// A refused manifest value as a configuration error at its line.
fn manifest_error(file: &str, error: ManifestError) -> ConfigError {
    // Only for pointing at lines; the manifest itself was already parsed.
    let source = std::fs::read_to_string(file).unwrap_or_default();
    let config = ConfigError::new(file, error.rule, error.message).at_key(&source, &error.at);
    match error.help {
        Some(help) => config.with_help(help),
        None => config,
    }
}

fn plan_error(project: &Project, error: PlanError) -> StepError {
    let file = &project.manifest_file;
    match error {
        PlanError::NoIac => ConfigError::new(file.clone(), "iac-missing", error.to_string())
            .with_help("add `iac: { targets: [terraform, kubernetes] }` (see docs/steps/iac.md)")
            .into(),
        PlanError::UnknownEnvironment { wanted, declared } => {
            let hint =
                trainyard_core::diagnostic::nearest(&wanted, declared.iter().map(String::as_str))
                    .map_or_else(String::new, |near| format!("did you mean `{near}`? "));
            StepError::Usage(format!(
                "--env {wanted}: no environment `{wanted}` is declared in {file}; {hint}declared: {}",
                declared.join(", ")
            ))
        }
        PlanError::Manifest(error) => manifest_error(file, error).into(),
        PlanError::Render(error) => render_error(error),
    }
}

fn render_error(error: RenderError) -> StepError {
    match error {
        RenderError::Template { .. } | RenderError::Encoding { .. } => {
            StepError::from(ConfigError::new(error.to_string(), "template-error", "the template does not render").with_help(
                "fix the template (a user override under templates/iac/, or report a bug if it is built in)",
            ))
        }
        RenderError::UnknownValue {
            template,
            line,
            column,
            text,
            name,
            suggestion,
        } => {
            let mut error = ConfigError::new(
                template,
                "template-unknown-value",
                format!("`{name}` is undefined: no such value is given to templates"),
            );
            error.span = line.map(|line| SourceSpan {
                line: u32::try_from(line).unwrap_or(u32::MAX),
                column: u32::try_from(column).unwrap_or(u32::MAX),
            });
            error.source_line = text;
            StepError::from(error.with_help(suggestion.map_or_else(
                || "see the values templates get in docs/steps/iac.md (Your own templates)".to_owned(),
                |near| format!("did you mean `{near}`?"),
            )))
        }
        RenderError::Io { path, source } => StepError::io("reading", path, source),
        RenderError::Refused { template, message } => StepError::from(
            ConfigError::new(template, "template-refused", message).with_help(
                "a repository's templates under templates/iac/ are plain files that render into iac.output-dir (see docs/steps/iac.md)",
            ),
        ),
    }
}

/// The plan's targets, comma-separated.
pub fn targets(plan: &Plan) -> String {
    plan.targets
        .iter()
        .map(|target| target.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The names of every environment and the files, as Markdown.
pub fn summary(plan: &Plan) -> String {
    let mut text = String::from(
        "| environment | resource group | storage account | key vault | registry | online endpoint |\n|---|---|---|---|---|---|\n",
    );
    for (env, names) in &plan.names {
        let _ = writeln!(
            text,
            "| {env} | `{}` | `{}` | `{}` | `{}` | `{}` |",
            names.resource_group,
            names.storage_account,
            names.key_vault,
            names.container_registry,
            names.online_endpoint
        );
    }
    if !plan.overrides.is_empty() {
        let _ = writeln!(
            text,
            "\nTemplates from this repository: {}",
            plan.overrides
                .iter()
                .map(|path| format!("`{path}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    text
}
