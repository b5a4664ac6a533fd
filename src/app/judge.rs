//! Judging whether a model version may enter an environment, by the policy
//! committed on the base branch (a PR's base, else the default branch), never
//! by the checkout's own copy: evidence is gathered here and handed to the
//! pure evaluation in `trainyard-gate`. `gate` reports the verdict; `promote`
//! and `status` judge before they act or show.

use std::collections::BTreeMap;
use std::path::Path;

use trainyard_ci::{CiContext, Trigger};
use trainyard_core::manifest::{DataCheck, GatePolicy};
use trainyard_core::{
    Block, Conclusion, Finding, Location, Manifest, Report, RowStatus, StepError, Table,
};
use trainyard_gate::policy::{self, BasePolicy, BaseRef, BranchSource};
use trainyard_gate::{
    Candidate, Champion, CommitChecks, Evidence, GateError, PromotionOrder, Verdict,
};
use trainyard_ledger::{
    CHALLENGER, CHAMPION, Deployment, Ledger, LocalStore, ModelVersion, RunRecord,
};

use super::ledger::{ProjectLedger, ledger_error};
use super::{Project, StepContext};
use crate::requests::GateRequest;
use crate::steps::Step;

/// A gate's verdict and everything it was judged from, for promote to reuse.
#[derive(Debug)]
pub struct Judged {
    pub verdict: Verdict,
    pub report: Report,
    pub version: ModelVersion,
    pub run: RunRecord,
    pub base: BasePolicy,
    pub project: Project,
    pub ledger: ProjectLedger,
}

/// Evaluates the gate and builds its report; a refusal is a failing report, not an error.
pub fn judge(request: &GateRequest, context: &StepContext) -> Result<Judged, StepError> {
    let project = context.project()?;
    let repo = super::git::repository(&project.root)?;
    let manifest_in_repo =
        policy::path_in_repository(&repo, &context.manifest_path).map_err(gate_error)?;
    let ci = CiContext::read(&context.env)?;
    let base_ref = base_ref(&ci, &repo, &manifest_in_repo).map_err(gate_error)?;
    let base = policy::read_base_policy(&repo, &manifest_in_repo, &base_ref).map_err(gate_error)?;
    let manifest = &base.manifest;
    check_environment(manifest, &request.env, &base.source)?;
    let gate_policy = manifest
        .gates
        .get(&request.env)
        .cloned()
        .unwrap_or_default();

    let (model, spec) = model_spec(request.model.as_deref(), manifest, &base.source)?;
    let ledger = super::ledger::open(context, &project)?;
    let version = ledger.resolve(&model, &spec).map_err(ledger_error)?;
    let run = ledger.run(version.run_id.as_str()).map_err(ledger_error)?;
    let champion = match ledger.resolve(&model, CHAMPION) {
        Ok(champion) => Some(Champion {
            version: champion.version,
            metrics: ledger
                .run(champion.run_id.as_str())
                .map_err(ledger_error)?
                .metrics,
        }),
        Err(trainyard_ledger::LedgerError::VersionNotFound { .. }) => None,
        Err(error) => return Err(ledger_error(error)),
    };

    let store = LocalStore::in_project(&project.root);
    let artifacts = run.artifacts.clone();
    let read_artifact = move |path: &str| -> Option<Result<Vec<u8>, String>> {
        let artifact = artifacts.iter().find(|artifact| artifact.path == path)?;
        let stored = store.path_of(&artifact.digest);
        Some(std::fs::read(&stored).map_err(|error| {
            format!(
                "artifact {path} of the run is not in {} ({error})",
                store.root().display()
            )
        }))
    };
    let evidence = Evidence {
        environment: request.env.clone(),
        candidate: Candidate {
            model: model.clone(),
            version: version.version,
            run: run.id.to_string(),
            commit: Some(run.git.commit.clone()).filter(|commit| !commit.is_empty()),
            metrics: run.metrics.clone(),
            artifact_size: Some(version.artifact.size),
            tags: version.tags.clone(),
            data_checks: data_checks(&request.data_reports, &run)?,
            checks: commit_checks(context, &run.git.commit, &gate_policy)?,
        },
        champion,
        order: promotion_order(
            manifest,
            &request.env,
            &ledger,
            &version,
            request.skip_order.as_deref(),
        )?,
        directions: manifest
            .model
            .as_ref()
            .map(|model| {
                model
                    .metrics
                    .iter()
                    .map(|(name, spec)| (name.clone(), spec.direction))
                    .collect()
            })
            .unwrap_or_default(),
        root: project.root.clone(),
        repository: repo.workdir().map(Path::to_path_buf),
        policy_source: base.source.clone(),
        policy_branch: Some(base.chosen_by.describe().to_owned()),
        artifacts: &read_artifact,
    };
    let verdict = trainyard_gate::evaluate(&gate_policy, &evidence).map_err(gate_error)?;
    let mut report = verdict_report(&verdict, &gate_policy, &base, &project.manifest_file);
    if let Some(notice) = weakened_here(&project.manifest, manifest, &request.env, &base) {
        report.push_finding(notice);
    }
    Ok(Judged {
        verdict,
        report,
        version,
        run,
        base,
        project,
        ledger,
    })
}

/// What the promotion order asks of `version` entering `env`: to have been
/// deployed to the environment declared before it (by the policy's manifest),
/// for that environment's `min-soak`. `None` for the first environment.
fn promotion_order(
    manifest: &Manifest,
    env: &str,
    ledger: &ProjectLedger,
    version: &ModelVersion,
    skipped: Option<&str>,
) -> Result<Option<PromotionOrder>, StepError> {
    let Some(position) = manifest.environments.iter().position(|e| e.name == env) else {
        return Ok(None);
    };
    let Some(previous) = position
        .checked_sub(1)
        .map(|index| &manifest.environments[index])
    else {
        return Ok(None);
    };
    // Checked when the manifest was loaded; unreadable here means no soak.
    let min_soak = previous.min_soak_duration().ok().flatten();
    let history = ledger.deployments(&previous.name).map_err(ledger_error)?;
    Ok(Some(PromotionOrder {
        previous: previous.name.clone(),
        min_soak,
        stayed: longest_stay(&history, version, chrono::Utc::now()),
        skipped: skipped.map(str::to_owned),
    }))
}

/// The longest time `version` was an environment's deployment: from each
/// entry of it in `history` to the next entry (of any version), or to `now`.
/// `None` when it was never deployed there.
fn longest_stay(
    history: &[Deployment],
    version: &ModelVersion,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<std::time::Duration> {
    let mut entries: Vec<&Deployment> = history.iter().collect();
    entries.sort_by_key(|entry| entry.at);
    entries
        .iter()
        .enumerate()
        .filter(|(_, entry)| entry.model == version.model && entry.version == version.version)
        .map(|(index, entry)| {
            let left = entries.get(index + 1).map_or(now, |next| next.at);
            (left - entry.at).to_std().unwrap_or_default()
        })
        .max()
}

/// The check runs and commit statuses on the trained commit, when the policy
/// names any: asked of the forge the CLI hands in (the step sends no request).
fn commit_checks(
    context: &StepContext,
    commit: &str,
    policy: &GatePolicy,
) -> Result<CommitChecks, StepError> {
    if policy.checks.is_empty() || commit.is_empty() {
        return Ok(CommitChecks::default());
    }
    context.forge.commit_checks(commit)
}

/// Where the policy is read: a PR's base, else the default branch (the CI
/// event's, else `origin/HEAD`, else the one the committed manifests name;
/// never the working tree's).
pub fn base_ref(
    ci: &CiContext,
    repo: &git2::Repository,
    manifest_in_repo: &str,
) -> Result<BaseRef, GateError> {
    if let Trigger::PullRequest(pr) = &ci.trigger {
        return Ok(BaseRef {
            branch: pr.base_ref.clone(),
            commit: pr.base_sha.clone(),
            chosen_by: BranchSource::PullRequestBase,
        });
    }
    let (branch, chosen_by) =
        policy::default_branch(repo, ci.default_branch.as_deref(), manifest_in_repo)?;
    Ok(BaseRef {
        branch,
        commit: None,
        chosen_by,
    })
}

fn check_environment(manifest: &Manifest, env: &str, source: &str) -> Result<(), StepError> {
    if manifest.environment(env).is_some() {
        return Ok(());
    }
    let names: Vec<&str> = manifest
        .environments
        .iter()
        .map(|env| env.name.as_str())
        .collect();
    Err(StepError::Usage(format!(
        "no environment `{env}` is declared under `environments` in {source}; declared: {}",
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    )))
}

/// `NAME@SPEC`, or `SPEC` of the manifest's model, or the manifest's challenger.
fn model_spec(
    given: Option<&str>,
    manifest: &Manifest,
    source: &str,
) -> Result<(String, String), StepError> {
    let default_model = || {
        manifest
            .model
            .as_ref()
            .map(|model| model.name.clone())
            .ok_or_else(|| {
                StepError::Usage(format!(
                    "{source} declares no `model`; name one with --model NAME@VERSION"
                ))
            })
    };
    match given.map(str::trim).filter(|given| !given.is_empty()) {
        None => Ok((default_model()?, CHALLENGER.to_owned())),
        Some(given) => match given.split_once('@') {
            Some((name, spec)) if !name.is_empty() && !spec.is_empty() => {
                Ok((name.to_owned(), spec.to_owned()))
            }
            Some(_) => Err(StepError::Usage(format!(
                "--model `{given}`: write NAME@VERSION or NAME@ALIAS, e.g. classifier@3 or classifier@challenger"
            ))),
            None => Ok((default_model()?, given.to_owned())),
        },
    }
}

/// The `require-data` evidence: trainyard JSON reports of `data validate` / `data drift`.
/// A validation report names each dataset's fingerprint (`digest-<dataset>`); one
/// that differs from what the run trained on is about other data, and does not count.
fn data_checks(
    paths: &[std::path::PathBuf],
    run: &RunRecord,
) -> Result<BTreeMap<DataCheck, Result<(), String>>, StepError> {
    let mut checks: BTreeMap<DataCheck, Result<(), String>> = BTreeMap::new();
    for path in paths {
        let text =
            std::fs::read_to_string(path).map_err(|error| StepError::io("reading", path, error))?;
        let report: Report = serde_json::from_str(&text).map_err(|error| {
            StepError::Usage(format!(
                "{}: not a trainyard JSON report ({error}); save one with `trainyard data validate --format json > FILE`",
                path.display()
            ))
        })?;
        let check = match report.step.as_str() {
            "data validate" | "data merge" => DataCheck::Validation,
            "data drift" => DataCheck::Drift,
            other => {
                return Err(StepError::Usage(format!(
                    "{}: a report of `{other}`, not of `data validate` or `data drift`",
                    path.display()
                )));
            }
        };
        let result = if report.conclusion == Conclusion::Failure {
            Err(format!(
                "the data {} in {} failed ({}); fix the data and train again",
                check.name(),
                path.display(),
                report.title
            ))
        } else {
            other_data(&report, run).map_or(Ok(()), |(dataset, reported, trained)| {
                Err(format!(
                    "{} is about other data than run {} trained on: dataset `{dataset}` is {} there, {} in the run",
                    path.display(),
                    run.id,
                    &reported[..reported.len().min(12)],
                    &trained[..trained.len().min(12)]
                ))
            })
        };
        // Several reports of one check: all must pass; the first failure is kept.
        let entry = checks.entry(check).or_insert(Ok(()));
        if entry.is_ok() {
            *entry = result;
        }
    }
    Ok(checks)
}

/// The first dataset whose fingerprint in the report differs from the run's:
/// `(dataset, in the report, in the run)`.
fn other_data(report: &Report, run: &RunRecord) -> Option<(String, String, String)> {
    report.outputs.iter().find_map(|(name, reported)| {
        let dataset = name.strip_prefix("digest-")?;
        let trained = run.datasets.get(dataset)?;
        (trained != reported).then(|| (dataset.to_owned(), reported.clone(), trained.clone()))
    })
}

/// The manifest key of each kind of rule, to point a finding at its line.
fn policy_key(rule: &str) -> &'static str {
    match rule {
        "metric" => "metrics",
        "tests" => "tests",
        "non-regression" => "non-regression",
        "fairness" => "fairness",
        "artifact-size" => "max-artifact-size",
        "latency" => "latency",
        "signed-tag" => "require-signed-tag",
        "model-tag" => "model-tags",
        "data" => "require-data",
        _ => "require-tag",
    }
}

/// The verdict's rules for the terminal, each with its status; none set is
/// said in words.
fn rules_table(verdict: &Verdict) -> Block {
    if verdict.rules.is_empty() {
        return Block::text(
            "No rules are set for this environment: any registered model may enter.",
        );
    }
    let mut table = Table::new("rules", ["rule", "subject", "observed", "required"]);
    for rule in &verdict.rules {
        let status = if rule.passed {
            RowStatus::Pass
        } else {
            RowStatus::Fail
        };
        table.row(
            Some(status),
            [
                rule.rule.clone(),
                rule.subject.clone(),
                rule.observed.clone(),
                rule.required.clone(),
            ],
        );
    }
    table.into()
}

/// The report of a verdict: the table as summary, one error finding per failed
/// rule at the rule's line of the manifest (`manifest_file` as the user named it).
pub fn verdict_report(
    verdict: &Verdict,
    policy: &GatePolicy,
    base: &BasePolicy,
    manifest_file: &str,
) -> Report {
    let failed = verdict.failures().count();
    let title = if verdict.passed {
        format!(
            "{} v{} may enter {}: {} rule(s) passed",
            verdict.model,
            verdict.version,
            verdict.environment,
            verdict.rules.len()
        )
    } else {
        format!(
            "{} v{} may not enter {}: {failed} of {} rule(s) failed",
            verdict.model,
            verdict.version,
            verdict.environment,
            verdict.rules.len()
        )
    };
    let conclusion = if verdict.passed {
        Conclusion::Success
    } else {
        Conclusion::Failure
    };
    let mut report = Report::new(Step::Gate.name(), conclusion, title)
        .with_data(serde_json::to_value(verdict).unwrap_or_default())
        .with_summary(verdict.markdown())
        .with_block(Block::text(format!(
            "run {}{}; policy from {}{}",
            verdict.run,
            verdict
                .commit
                .as_deref()
                .map(|commit| format!(", commit {}", trainyard_gate::verdict::short(commit)))
                .unwrap_or_default(),
            verdict.policy,
            verdict
                .policy_branch
                .as_deref()
                .map(|why| format!(", {why}"))
                .unwrap_or_default()
        )))
        .with_block(rules_table(verdict))
        .with_output("passed", verdict.passed.to_string())
        .with_output("environment", verdict.environment.clone())
        .with_output("model", verdict.model.clone())
        .with_output("version", verdict.version.to_string())
        .with_output("verdict-digest", verdict.digest())
        .with_output(
            "verdict",
            serde_json::to_string(verdict).unwrap_or_default(),
        );
    for rule in verdict.failures() {
        let env = verdict.environment.as_str();
        // The order is the `environments` list's; every other rule is under `gates`.
        let line = if rule.rule == "order" {
            base.line_of(&["environments"])
        } else {
            base.line_of(&["gates", env, policy_key(&rule.rule)])
                .or_else(|| base.line_of(&["gates", env]))
        };
        let location = Location::file(manifest_file);
        report.push_finding(
            Finding::error(
                format!("gate-{}", rule.rule),
                rule.reason.clone().unwrap_or_else(|| rule.subject.clone()),
            )
            .at(match line {
                Some(line) => location.at(line, None),
                None => location,
            }),
        );
    }
    if *policy == GatePolicy::default() {
        report.push_finding(Finding::warning(
            "gate-empty",
            if verdict.rules.is_empty() {
                format!(
                    "no `gates.{}` policy on the base branch: any registered model may enter {}",
                    verdict.environment, verdict.environment
                )
            } else {
                format!(
                    "no `gates.{}` policy on the base branch: only the promotion order is checked before a model enters {}",
                    verdict.environment, verdict.environment
                )
            },
        ));
    }
    report
}

/// When the checkout's manifest has a different gate than the base branch, say
/// that it does not count yet (a PR cannot lower the bar it is judged by).
fn weakened_here(
    checkout: &Manifest,
    base: &Manifest,
    env: &str,
    source: &BasePolicy,
) -> Option<Finding> {
    (checkout.gates.get(env) != base.gates.get(env)).then(|| {
        Finding::notice(
            "gate-policy-changed",
            format!(
                "this checkout changes `gates.{env}`; the gate judged by {} and the change counts once it is merged",
                source.source
            ),
        )
        .at(Location::file(source.path.clone()))
    })
}

/// `deploy/<env>/release.yaml` beside the manifest, as a path in the repository
/// (a project in `ml/` keeps its desired state in `ml/deploy/`, next to its IaC).
pub fn release_path(
    repo: &git2::Repository,
    manifest_path: &Path,
    env: &str,
) -> Result<String, StepError> {
    let manifest = policy::path_in_repository(repo, manifest_path).map_err(gate_error)?;
    let folder = manifest.rsplit_once('/').map_or("", |(folder, _)| folder);
    let file = trainyard_gate::release::path(env);
    Ok(if folder.is_empty() {
        file
    } else {
        format!("{folder}/{file}")
    })
}

/// A gate failure as a step error: the manifest's own errors keep their place.
#[allow(clippy::needless_pass_by_value)] // made for `.map_err(gate_error)`
pub fn gate_error(error: GateError) -> StepError {
    match error {
        GateError::Manifest(error) => StepError::Config(error),
        GateError::Config(message) => StepError::Usage(message),
        GateError::Io {
            action,
            path,
            source,
        } => StepError::Io {
            action,
            path,
            source,
        },
        other @ (GateError::Git { .. }
        | GateError::GitCli(_)
        | GateError::Conflict(_)
        | GateError::Rejected(_)) => StepError::Environment(other.to_string()),
    }
}
