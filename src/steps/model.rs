//! `trainyard model list|show|alias|tag`: the model registry on the ledger.

use std::fmt::Write;

use trainyard_core::markdown::{self, MISSING, cell, or_missing};
use trainyard_core::{Conclusion, Report, StepError};
use trainyard_ledger::{Ledger, ModelVersion};

use super::Step;
use crate::app::StepContext;
use crate::app::ledger::{self, ProjectLedger, actor, ledger_error};
use crate::requests::{ModelAliasRequest, ModelListRequest, ModelShowRequest, ModelTagRequest};

pub fn list(_: &ModelListRequest, context: &StepContext) -> Result<Report, StepError> {
    let ledger = ledger::open_in(context)?;
    let models = ledger.models().map_err(ledger_error)?;
    if models.is_empty() {
        return Ok(Report::new(
            Step::ModelList.name(),
            Conclusion::Neutral,
            "no models registered yet (a full training on the default branch registers one)",
        )
        .with_data(serde_json::json!({})));
    }
    let mut summary = String::from("| model | versions | latest | aliases |\n|---|---|---|---|\n");
    let mut data = serde_json::Map::new();
    for model in &models {
        let versions = ledger.versions(model).map_err(ledger_error)?;
        let aliases = ledger.aliases(model).map_err(ledger_error)?;
        let latest = versions.last().map_or(0, |v| v.version);
        let alias_text = aliases
            .iter()
            .map(|(alias, version)| format!("{alias} → v{version}"))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            summary,
            "| {} | {} | v{latest} | {} |",
            cell(model),
            versions.len(),
            or_missing(cell(&alias_text))
        );
        data.insert(
            model.clone(),
            serde_json::json!({ "versions": versions, "aliases": aliases }),
        );
    }
    Ok(Report::new(
        Step::ModelList.name(),
        Conclusion::Success,
        format!("{} registered model(s)", models.len()),
    )
    .with_summary(summary)
    .with_output("models", models.join(","))
    .with_data(serde_json::Value::Object(data)))
}

/// `NAME` or `NAME@SPEC`.
fn split_target(target: &str) -> (&str, Option<&str>) {
    match target.split_once('@') {
        Some((model, spec)) => (model, Some(spec)),
        None => (target, None),
    }
}

pub fn show(request: &ModelShowRequest, context: &StepContext) -> Result<Report, StepError> {
    let ledger = ledger::open_in(context)?;
    let (model, spec) = split_target(&request.target);
    if let Some(spec) = spec {
        return show_version(&ledger, model, spec);
    }
    let versions = ledger.versions(model).map_err(ledger_error)?;
    let history = ledger.alias_history(model, None).map_err(ledger_error)?;
    let mut summary = String::from(
        "| version | run | artifact | bytes | aliases | tags | registered |\n|---|---|---|---|---|---|---|\n",
    );
    for version in versions.iter().rev() {
        let _ = writeln!(
            summary,
            "| v{} | `{}` | `{}` | {} | {} | {} | {} |",
            version.version,
            version.run_id,
            markdown::short_digest(&version.artifact.digest),
            version.artifact.size,
            or_missing(cell(&version.aliases.join(", "))),
            or_missing(cell(&tags_text(version))),
            version.registered_at.format("%Y-%m-%d %H:%M UTC"),
        );
    }
    if !history.is_empty() {
        summary.push_str(
            "\n| alias moved | to | from | by | when | why |\n|---|---|---|---|---|---|\n",
        );
        for moved in history.iter().rev() {
            let _ = writeln!(
                summary,
                "| {} | v{} | {} | {} | {} | {} |",
                cell(&moved.alias),
                moved.version,
                previous(moved.previous),
                cell(&moved.actor),
                moved.at.format("%Y-%m-%d %H:%M UTC"),
                or_missing(cell(&moved.reason)),
            );
        }
    }
    let latest = versions.last().map_or(0, |v| v.version);
    Ok(Report::new(
        Step::ModelShow.name(),
        Conclusion::Success,
        format!("{model}: {} version(s), latest v{latest}", versions.len()),
    )
    .with_summary(summary)
    .with_output("latest-version", latest.to_string())
    .with_data(
        serde_json::json!({ "model": model, "versions": versions, "alias_history": history }),
    ))
}

fn show_version(ledger: &ProjectLedger, model: &str, spec: &str) -> Result<Report, StepError> {
    let version = ledger.resolve(model, spec).map_err(ledger_error)?;
    let history: Vec<_> = ledger
        .alias_history(model, None)
        .map_err(ledger_error)?
        .into_iter()
        .filter(|moved| moved.version == version.version || moved.previous == Some(version.version))
        .collect();
    let mut summary = String::from("| field | value |\n|---|---|\n");
    let rows = [
        ("model", cell(model)),
        ("version", format!("v{}", version.version)),
        ("run", format!("`{}`", version.run_id)),
        ("artifact", cell(&version.artifact.path)),
        ("BLAKE3", format!("`{}`", version.artifact.digest)),
        ("bytes", version.artifact.size.to_string()),
        ("aliases", or_missing(cell(&version.aliases.join(", ")))),
        ("tags", or_missing(cell(&tags_text(&version)))),
        (
            "registered",
            version
                .registered_at
                .format("%Y-%m-%d %H:%M:%S UTC")
                .to_string(),
        ),
    ];
    for (field, value) in rows {
        let _ = writeln!(summary, "| {field} | {value} |");
    }
    if !history.is_empty() {
        summary.push_str("\n| alias | move | by | when | why |\n|---|---|---|---|---|\n");
        for moved in &history {
            let _ = writeln!(
                summary,
                "| {} | {} → v{} | {} | {} | {} |",
                cell(&moved.alias),
                previous(moved.previous),
                moved.version,
                cell(&moved.actor),
                moved.at.format("%Y-%m-%d %H:%M UTC"),
                or_missing(cell(&moved.reason)),
            );
        }
    }
    Ok(Report::new(
        Step::ModelShow.name(),
        Conclusion::Success,
        format!(
            "{model} v{} (`{}`)",
            version.version,
            markdown::short_digest(&version.artifact.digest)
        ),
    )
    .with_summary(summary)
    .with_output("version", version.version.to_string())
    .with_output("digest", version.artifact.digest.clone())
    .with_output("run", version.run_id.to_string())
    .with_data(serde_json::json!({ "version": version, "alias_history": history })))
}

pub fn alias(request: &ModelAliasRequest, context: &StepContext) -> Result<Report, StepError> {
    if request.reason.trim().is_empty() {
        return Err(StepError::Usage(
            "`--reason` is empty: say why the alias moves (it is recorded with the move)"
                .to_owned(),
        ));
    }
    let ledger = ledger::open_in(context)?;
    let version = ledger
        .resolve(&request.model, &request.version)
        .map_err(ledger_error)?;
    let actor = actor(context, &ledger);
    let moved = ledger
        .move_alias(
            &request.model,
            &request.alias,
            version.version,
            &actor,
            &request.reason,
        )
        .map_err(ledger_error)?;
    let from = moved
        .previous
        .map_or_else(|| "new alias".to_owned(), |v| format!("was v{v}"));
    Ok(Report::new(
        Step::ModelAlias.name(),
        Conclusion::Success,
        format!(
            "{}@{} → v{} ({from})",
            request.model, request.alias, moved.version
        ),
    )
    .with_summary(format!(
        "| alias | to | from | by | why |\n|---|---|---|---|---|\n| {} | v{} | {} | {} | {} |\n",
        cell(&moved.alias),
        moved.version,
        previous(moved.previous),
        cell(&moved.actor),
        cell(&moved.reason),
    ))
    .with_output("version", moved.version.to_string())
    .with_data(serde_json::to_value(&moved).unwrap_or_default()))
}

pub fn tag(request: &ModelTagRequest, context: &StepContext) -> Result<Report, StepError> {
    let (model, Some(spec)) = split_target(&request.target) else {
        return Err(StepError::Usage(format!(
            "`{}` names no version: write NAME@VERSION, for example `{}@3` or `{}@champion`",
            request.target, request.target, request.target
        )));
    };
    let pairs: Vec<(&str, &str)> = request
        .tags
        .iter()
        .map(|tag| {
            tag.split_once('=')
                .filter(|(key, _)| !key.is_empty())
                .ok_or_else(|| {
                    StepError::Usage(format!(
                        "`{tag}` is not a tag: write key=value, for example `reviewed=yes`"
                    ))
                })
        })
        .collect::<Result<_, _>>()?;
    let ledger = ledger::open_in(context)?;
    let version = ledger.resolve(model, spec).map_err(ledger_error)?;
    let actor = actor(context, &ledger);
    let mut summary = String::from("| tag | value | by |\n|---|---|---|\n");
    let mut changes = Vec::new();
    for (key, value) in pairs {
        let change = ledger
            .set_tag(model, version.version, key, value, &actor, &request.reason)
            .map_err(ledger_error)?;
        let _ = writeln!(
            summary,
            "| {} | {} | {} |",
            cell(key),
            cell(value),
            cell(&actor)
        );
        changes.push(change);
    }
    Ok(Report::new(
        Step::ModelTag.name(),
        Conclusion::Success,
        format!(
            "tagged {model} v{} ({} tag(s))",
            version.version,
            changes.len()
        ),
    )
    .with_summary(summary)
    .with_output("version", version.version.to_string())
    .with_data(serde_json::to_value(&changes).unwrap_or_default()))
}

fn tags_text(version: &ModelVersion) -> String {
    version
        .tags
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The version an alias pointed at before it moved, or [`MISSING`].
fn previous(version: Option<u64>) -> String {
    version.map_or_else(|| MISSING.to_owned(), |v| format!("v{v}"))
}
