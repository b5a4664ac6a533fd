//! `trainyard status`: per environment, what is deployed (the desired state on
//! the target branch), since when, from which run and commit, what the ledger
//! has proposed but is not merged yet, and which version waits at which gate.
//!
//! With `--record` it first brings the ledger in line with git: an environment
//! whose `release.yaml` on the default branch changed since the ledger's last
//! deployment (a review branch was merged) gets that deployment recorded and
//! its aliases moved. Git stays the source of truth; the ledger follows it.

use std::fmt::Write as _;

use trainyard_core::markdown::{MISSING, cell, code, code_in_text, text};
use trainyard_core::{Conclusion, Finding, Report, StepError};
use trainyard_gate::release::Release;
use trainyard_gate::{gitops, verdict::short};
use trainyard_ledger::{CHALLENGER, Ledger, LedgerError};

use super::Step;
use crate::app::StepContext;
use crate::app::judge::{self, gate_error, release_path};
use crate::app::ledger::{ProjectLedger, ledger_error};
use crate::app::promotion;
use crate::requests::{GateRequest, StatusRequest};

pub fn run(request: &StatusRequest, context: &StepContext) -> Result<Report, StepError> {
    let project = context.project()?;
    let manifest = &project.manifest;
    let target = &manifest.project.default_branch;
    let repo = crate::app::git::repository(&project.root)?;
    let ledger = crate::app::ledger::open(context, &project)?;
    // `StatusArgs::default()` (quickstart) has no remote name.
    let remote = Some(request.remote.as_str())
        .filter(|remote| !remote.is_empty())
        .unwrap_or("origin");
    let tip = gitops::tip(&repo, target, remote).map_err(gate_error)?;
    let (recorded, pushed) = if request.record {
        record_and_push(&repo, &ledger, context, tip.commit, request, remote)?
    } else {
        (Vec::new(), false)
    };
    let model = manifest.model.as_ref().map(|model| model.name.clone());
    // What the first environment's gate waits for: the challenger.
    let mut upstream = challenger(&ledger, model.as_deref())?;

    let mut report = Report::new(Step::Status.name(), Conclusion::Success, String::new());
    let mut table = String::from(
        "| environment | deployed | since | by | run | trained from | waiting |\n|---|---|---|---|---|---|---|\n",
    );
    let mut lines = Vec::new();
    let mut environments = Vec::new();
    // The desired state of every environment first: a version already in a
    // later environment does not wait at an earlier one's gate.
    let mut releases = Vec::new();
    for environment in &manifest.environments {
        let path = release_path(&repo, &context.manifest_path, &environment.name)?;
        let deployed = gitops::read_file(&repo, tip.commit, &path)
            .map_err(gate_error)?
            .map(|bytes| Release::parse(&String::from_utf8_lossy(&bytes), &path))
            .transpose()
            .map_err(gate_error)?;
        releases.push((path, deployed));
    }
    for (index, environment) in manifest.environments.iter().enumerate() {
        let env = &environment.name;
        let (path, deployed) = &releases[index];
        let deployed = deployed.clone();
        let history = ledger.deployments(env).map_err(ledger_error)?;
        let proposed = proposals(&repo, path, env, tip.commit)?;
        let candidate = upstream
            .filter(|candidate| waits_here(*candidate, deployed.as_ref(), &releases[index + 1..]));
        let waiting = waiting(deployed.as_ref(), &proposed, candidate, env, target);
        // Whether the version waiting at this gate would get through it now.
        let outlook = match (&model, candidate) {
            (Some(model), Some(candidate)) => Some(outlook(context, model, candidate, env)),
            _ => None,
        };
        let _ = writeln!(
            table,
            "{}",
            row(env, deployed.as_ref(), &waiting, outlook.as_deref())
        );
        lines.push(title_line(env, deployed.as_ref(), &waiting));
        report.outputs.insert(
            format!("{env}-version"),
            deployed
                .as_ref()
                .map(|release| release.version.to_string())
                .unwrap_or_default(),
        );
        environments.push(serde_json::json!({
            "environment": env,
            "deployed": deployed,
            "history": history.len(),
            "waiting": waiting.iter().map(|wait| &wait.text).collect::<Vec<_>>(),
            "gate": outlook,
        }));
        upstream = deployed.map(|release| release.version);
    }
    report.data = Some(serde_json::Value::Array(environments));
    report.title = if lines.is_empty() {
        "no environments are declared".to_owned()
    } else {
        lines.join(", ")
    };
    report.conclusion = if lines.is_empty() {
        Conclusion::Neutral
    } else {
        Conclusion::Success
    };
    report.summary = format!(
        "### Environments of {} (desired state on {} at `{}`)\n\n{table}",
        code_in_text(&manifest.project.name),
        code_in_text(target),
        short(&tip.commit.to_string())
    );
    if request.record {
        add_records(&mut report, recorded, pushed);
    }
    Ok(report)
}

/// `--record`, then the ledger pushed when something was recorded and the clone has the remote.
fn record_and_push(
    repo: &git2::Repository,
    ledger: &ProjectLedger,
    context: &StepContext,
    tip: git2::Oid,
    request: &StatusRequest,
    remote: &str,
) -> Result<(Vec<String>, bool), StepError> {
    let recorded = record_deployed(repo, ledger, context, tip)?;
    let push = !recorded.is_empty() && !request.no_push && gitops::has_remote(repo, remote);
    if push {
        ledger.git().push(remote).map_err(ledger_error)?;
    }
    Ok((recorded, push))
}

/// The challenger's version, if the manifest's model has one.
fn challenger(ledger: &ProjectLedger, model: Option<&str>) -> Result<Option<u64>, StepError> {
    let Some(model) = model else {
        return Ok(None);
    };
    match ledger.resolve(model, CHALLENGER) {
        Ok(version) => Ok(Some(version.version)),
        Err(LedgerError::VersionNotFound { .. } | LedgerError::ModelNotFound { .. }) => Ok(None),
        Err(error) => Err(ledger_error(error)),
    }
}

/// What `--record` did, in the report: outputs, a summary section, a notice each.
fn add_records(report: &mut Report, recorded: Vec<String>, pushed: bool) {
    report
        .outputs
        .insert("recorded".to_owned(), recorded.len().to_string());
    report
        .outputs
        .insert("pushed".to_owned(), pushed.to_string());
    let _ = write!(
        report.summary,
        "\n{}\n",
        if recorded.is_empty() {
            "The ledger already had every deployment on the branch.".to_owned()
        } else {
            format!(
                "Recorded in the ledger:\n\n- {}",
                recorded
                    .iter()
                    .map(|line| text(line))
                    .collect::<Vec<_>>()
                    .join("\n- ")
            )
        }
    );
    for line in recorded {
        report.push_finding(Finding::notice("recorded", line));
    }
}

/// `--record`: for each environment whose release on the default branch is not
/// the ledger's last deployment, records it (made by the commit that brought it
/// onto the branch: the merge commit, its author and time) and moves the
/// environment's alias, and `champion` for the last environment. Runs under a
/// lock, so two at once record once; a second run finds nothing to record.
fn record_deployed(
    repo: &git2::Repository,
    ledger: &ProjectLedger,
    context: &StepContext,
    tip: git2::Oid,
) -> Result<Vec<String>, StepError> {
    let project = context.project()?;
    let manifest = &project.manifest;
    let last = manifest.environments.last().map(|last| last.name.as_str());
    let _lock = gitops::lock(repo, promotion::RECORD_LOCK).map_err(|error| match error {
        trainyard_gate::GateError::Conflict(why) => StepError::Environment(why),
        error => gate_error(error),
    })?;
    // A signal waits for the records: a deployment never without its aliases.
    let _deferred = crate::app::interrupt::defer();
    let mut recorded = Vec::new();
    for environment in &manifest.environments {
        let env = environment.name.as_str();
        let path = release_path(repo, &context.manifest_path, env)?;
        let champion = last == Some(env);
        let target = &manifest.project.default_branch;
        recorded.extend(promotion::catch_up(
            repo, ledger, env, &path, tip, champion, target,
        )?);
    }
    Ok(recorded)
}

/// One unmerged review branch for an environment, with the release it proposes.
struct Proposed {
    branch: String,
    commit: String,
    release: Release,
}

/// The review branches (`trainyard/promote/<env>/…`, local or fetched) not
/// merged into the target, with the release each proposes.
fn proposals(
    repo: &git2::Repository,
    path: &str,
    env: &str,
    tip: git2::Oid,
) -> Result<Vec<Proposed>, StepError> {
    let mut found = Vec::new();
    for proposal in
        gitops::proposals(repo, &format!("trainyard/promote/{env}/"), tip).map_err(gate_error)?
    {
        let Some(bytes) = gitops::read_file(repo, proposal.commit, path).map_err(gate_error)?
        else {
            continue;
        };
        // A branch whose file does not parse is someone's hand edit: not a proposal.
        if let Ok(release) = Release::parse(&String::from_utf8_lossy(&bytes), path) {
            found.push(Proposed {
                branch: proposal.branch,
                commit: proposal.commit.to_string(),
                release,
            });
        }
    }
    Ok(found)
}

/// One thing waiting for an environment, as text and as Markdown.
struct Waiting {
    text: String,
    markdown: String,
}

/// Whether `candidate` (the version upstream of an environment) waits at its
/// gate: not when the environment runs it or a newer version already, nor
/// when a later environment runs it (it went past this gate).
fn waits_here(
    candidate: u64,
    deployed: Option<&Release>,
    later: &[(String, Option<Release>)],
) -> bool {
    let ahead = deployed.is_some_and(|deployed| deployed.version >= candidate);
    let went_past = later.iter().any(|(_, release)| {
        release
            .as_ref()
            .is_some_and(|release| release.version == candidate)
    });
    !ahead && !went_past
}

/// What waits for `env`: unmerged review branches that would change it, and
/// the upstream version not yet let in.
fn waiting(
    deployed: Option<&Release>,
    proposed: &[Proposed],
    upstream: Option<u64>,
    env: &str,
    target: &str,
) -> Vec<Waiting> {
    let mut waiting = Vec::new();
    for proposed in proposed.iter().filter(|proposed| {
        deployed.is_none_or(|deployed| deployed.version != proposed.release.version)
    }) {
        let (version, kind, commit) = (
            proposed.release.version,
            proposed.release.kind_name(),
            short(&proposed.commit),
        );
        waiting.push(Waiting {
            text: format!(
                "v{version} {kind} ({commit}) on `{}`, not yet on `{target}`",
                proposed.branch
            ),
            markdown: format!(
                "v{version} {kind} ({commit}) on {}, not yet on {}",
                code(&proposed.branch),
                code(target)
            ),
        });
    }
    if let Some(candidate) =
        upstream.filter(|candidate| deployed.is_none_or(|deployed| deployed.version != *candidate))
    {
        let text = format!("v{candidate} waits at the {env} gate");
        waiting.push(Waiting {
            markdown: cell(&text),
            text,
        });
    }
    waiting
}

/// The environment's part of the report's title.
fn title_line(env: &str, deployed: Option<&Release>, waiting: &[Waiting]) -> String {
    format!(
        "{env}: {}{}",
        deployed.map_or_else(
            || "nothing deployed".to_owned(),
            |release| format!("v{}", release.version)
        ),
        if waiting.is_empty() {
            String::new()
        } else {
            format!(
                " ({})",
                waiting
                    .iter()
                    .map(|wait| wait.text.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        }
    )
}

/// One row of the environments table.
fn row(
    env: &str,
    deployed: Option<&Release>,
    waiting: &[Waiting],
    outlook: Option<&str>,
) -> String {
    let cells = cells(deployed);
    let waiting = if waiting.is_empty() {
        MISSING.to_owned()
    } else {
        waiting
            .iter()
            .map(|wait| wait.markdown.as_str())
            .collect::<Vec<_>>()
            .join("; ")
            + &outlook
                .map(|outlook| format!(" — {}", cell(outlook)))
                .unwrap_or_default()
    };
    format!(
        "| {} | {} | {} | {} | {} | {} | {waiting} |",
        cell(env),
        cells[0],
        cells[1],
        cells[2],
        cells[3],
        cells[4]
    )
}

/// The table's cells for what is deployed: model and version, since, by, run, commit.
fn cells(deployed: Option<&Release>) -> [String; 5] {
    match deployed {
        Some(release) => [
            format!("{} v{}", cell(&release.model), release.version),
            release.at.format("%Y-%m-%d %H:%M UTC").to_string(),
            // Not yet through `cell`: tests/promote.rs spells this cell as
            // written (issue 12).
            release.by.clone(),
            code(&release.run),
            release.commit.as_deref().map_or_else(
                || MISSING.to_owned(),
                |commit| format!("`{}`", short(commit)),
            ),
        ],
        None => [
            "nothing".to_owned(),
            MISSING.into(),
            MISSING.into(),
            MISSING.into(),
            MISSING.into(),
        ],
    }
}

/// The gate's answer for `model@version` entering `env` now: "would pass", or
/// the first reason it would refuse.
fn outlook(context: &StepContext, model: &str, version: u64, env: &str) -> String {
    let request = GateRequest {
        model: Some(format!("{model}@{version}")),
        ..GateRequest::for_env(env)
    };
    match judge::judge(&request, context) {
        Ok(judged) if judged.verdict.passed => "would pass".to_owned(),
        Ok(judged) => {
            let failed = judged.verdict.failures().count();
            let first = judged
                .verdict
                .failures()
                .next()
                .and_then(|rule| rule.reason.clone())
                .unwrap_or_default();
            format!("would be refused ({failed} rule(s)): {first}")
        }
        Err(error) => format!("cannot be judged: {error}"),
    }
}
