//! Copying a ledger into another through the [`Ledger`] trait: one function
//! for `ledger export` (the project's git ledger into MLflow or another
//! repository) and `ledger import` (the other way). Runs with their metric
//! series, params and everything else a run records; each model's versions
//! under their numbers and registration times; every alias move and tag
//! change, in order, with who made it, when and why; every environment's
//! deployments (through the trait's `import_*` methods, which keep what a
//! live write would set anew).
//!
//! Copying again copies only what is new: what the destination already has
//! must be the start of what the source has (the same runs, versions 1..n of
//! the same runs, the same first moves), else nothing more is written and the
//! step says which record differs.

use std::collections::BTreeSet;

use serde::Serialize;
use trainyard_core::StepError;
use trainyard_ledger::{
    AliasMove, Deployment, Ledger, LedgerError, ModelVersion, RunId, TagChange,
};

use super::ledger::ledger_error;

/// What a copy wrote (and what the destination already had).
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Copied {
    pub runs: usize,
    pub runs_already_there: usize,
    pub versions: usize,
    pub alias_moves: usize,
    pub tag_changes: usize,
    pub deployments: usize,
}

impl Copied {
    pub fn is_empty(&self) -> bool {
        self.runs + self.versions + self.alias_moves + self.tag_changes + self.deployments == 0
    }
}

/// Copies everything `from` holds that `to` lacks (see the module's
/// documentation). Every history is compared before anything is written, so
/// a refused copy writes nothing.
pub fn copy(from: &dyn Ledger, to: &dyn Ledger) -> Result<Copied, StepError> {
    let plan = plan(from, to)?;
    let mut copied = Copied {
        runs_already_there: plan.runs_already_there,
        ..Copied::default()
    };
    for id in &plan.runs {
        let run = from.run(id.as_str()).map_err(ledger_error)?;
        to.append_run(&run).map_err(ledger_error)?;
        copied.runs += 1;
    }
    for model in &plan.models {
        for version in &model.versions {
            to.import_version(version).map_err(ledger_error)?;
            copied.versions += 1;
        }
        for moved in &model.alias_moves {
            to.import_alias_move(moved).map_err(ledger_error)?;
            copied.alias_moves += 1;
        }
        for change in &model.tag_changes {
            to.import_tag_change(change).map_err(ledger_error)?;
            copied.tag_changes += 1;
        }
    }
    for (env, deployments) in &plan.deployments {
        for deployment in deployments {
            to.record_deployment(env, deployment)
                .map_err(ledger_error)?;
            copied.deployments += 1;
        }
    }
    Ok(copied)
}

/// What `to` lacks of `from`, in the order to write it.
struct Plan {
    runs: Vec<RunId>,
    runs_already_there: usize,
    models: Vec<ModelPlan>,
    deployments: Vec<(String, Vec<Deployment>)>,
}

struct ModelPlan {
    versions: Vec<ModelVersion>,
    alias_moves: Vec<AliasMove>,
    tag_changes: Vec<TagChange>,
}

fn plan(from: &dyn Ledger, to: &dyn Ledger) -> Result<Plan, StepError> {
    let present: BTreeSet<RunId> = to.run_ids().map_err(ledger_error)?.into_iter().collect();
    let (already, runs): (Vec<RunId>, Vec<RunId>) = from
        .run_ids()
        .map_err(ledger_error)?
        .into_iter()
        .partition(|id| present.contains(id));

    let mut models = Vec::new();
    for model in from.models().map_err(ledger_error)? {
        models.push(model_plan(from, to, &model)?);
    }

    let mut deployments = Vec::new();
    for env in from.environments().map_err(ledger_error)? {
        let source = from.deployments(&env).map_err(ledger_error)?;
        let there = to.deployments(&env).map_err(ledger_error)?;
        let start = common_start(&source, &there, |a, b| a == b).map_err(|index| {
            differs(&format!(
                "environment `{env}`'s deployment {} (version {} of `{}`)",
                index + 1,
                there[index].version,
                there[index].model
            ))
        })?;
        deployments.push((env, source[start..].to_vec()));
    }
    Ok(Plan {
        runs,
        runs_already_there: already.len(),
        models,
        deployments,
    })
}

fn model_plan(from: &dyn Ledger, to: &dyn Ledger, model: &str) -> Result<ModelPlan, StepError> {
    let source = from.versions(model).map_err(ledger_error)?;
    let there = or_none(to.versions(model))?;
    let start = common_start(&source, &there, |a, b| {
        (a.version, &a.run_id, &a.artifact, a.registered_at)
            == (b.version, &b.run_id, &b.artifact, b.registered_at)
    })
    .map_err(|index| {
        differs(&format!(
            "version {} of model `{model}` (of run {})",
            there[index].version, there[index].run_id
        ))
    })?;
    let versions = source[start..].to_vec();

    let source = from.alias_history(model, None).map_err(ledger_error)?;
    let there = or_none(to.alias_history(model, None))?;
    let start = common_start(&source, &there, |a, b| a == b).map_err(|index| {
        differs(&format!(
            "move {} of model `{model}`'s aliases (`{}` to version {})",
            index + 1,
            there[index].alias,
            there[index].version
        ))
    })?;
    let alias_moves = source[start..].to_vec();

    let source = from.tag_history(model).map_err(ledger_error)?;
    let there = or_none(to.tag_history(model))?;
    let start = common_start(&source, &there, |a, b| a == b).map_err(|index| {
        differs(&format!(
            "tag change {} of model `{model}` (`{}` on version {})",
            index + 1,
            there[index].key,
            there[index].version
        ))
    })?;
    let tag_changes = source[start..].to_vec();
    Ok(ModelPlan {
        versions,
        alias_moves,
        tag_changes,
    })
}

/// A model's records, or none when the registry does not know it yet.
fn or_none<T>(records: Result<Vec<T>, LedgerError>) -> Result<Vec<T>, StepError> {
    match records {
        Ok(records) => Ok(records),
        Err(LedgerError::ModelNotFound { .. }) => Ok(Vec::new()),
        Err(error) => Err(ledger_error(error)),
    }
}

/// How many of `there`'s first records `source` starts with: all of them,
/// or `Err(index)` of the first that differs (or that `source` lacks).
fn common_start<T>(
    source: &[T],
    there: &[T],
    same: impl Fn(&T, &T) -> bool,
) -> Result<usize, usize> {
    for (index, record) in there.iter().enumerate() {
        match source.get(index) {
            Some(ours) if same(ours, record) => {}
            _ => return Err(index),
        }
    }
    Ok(there.len())
}

fn differs(what: &str) -> StepError {
    StepError::Usage(format!(
        "the destination already holds {what}, which the source does not have at that place: \
         the two ledgers have diverged, and copying on would mix their histories. \
         Copy into an empty ledger (a new MLflow experiment or repository), or from the one \
         that was copied there"
    ))
}
