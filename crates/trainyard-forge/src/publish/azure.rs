//! A step's Report on Azure DevOps, for a job on Azure Pipelines: a status
//! `trainyard/<step> (<project>)` on the pull request (or, outside one, on
//! the commit), the sticky thread for the report the caller names, the
//! promotion's pull request in Azure Repos and the retraining pipeline run.
//! Outputs go to the log as `##vso[task.setvariable …;isOutput=true]`.
//!
//! Without `SYSTEM_ACCESSTOKEN`, or with a token Azure DevOps refuses, the
//! job summary the publisher already uploaded (`##vso[task.uploadsummary]`)
//! stands in, and the log says so once per job.

use std::collections::BTreeMap;

use trainyard_ci::{CiContext, Env};
use trainyard_core::ForgeRequest;

use super::{Job, Log, Outcome, Publication, first_refusal};
use crate::azure::{self, AzureConfig, AzureDevOps, status_name};
use crate::comment::report_marker;
use crate::error::ForgeError;
use crate::pulls::PullRequestSpec;

/// Where the fallback warning was given once for this job.
const REFUSED_MARKER: &str = ".azure-devops-refused";

const FALLBACK: &str =
    "The results are in this job's summary instead; the step's own verdict stands.";

pub(super) fn publish(publication: &Publication<'_>, job: &Job<'_>, log: &mut Log<'_>) -> Outcome {
    let env = job.env;
    // The mask before anything else is said.
    let token = azure::token(env);
    if let Some(token) = &token {
        log.mask(token.expose());
    }
    let ci = match CiContext::read(env) {
        Ok(ci) => ci,
        Err(error) => {
            log.warning(&format!("not publishing to Azure DevOps: {error}"));
            return Outcome::Done;
        }
    };
    let azure_repos = azure::is_azure_repos(env);
    let pull_request = ci
        .pull_request()
        .map(|pr| pr.number)
        .filter(|_| azure_repos);
    let say_once = |log: &mut Log<'_>, message: &str| {
        if job
            .memory
            .is_none_or(|dir| first_refusal(dir, REFUSED_MARKER))
        {
            log.warning(message);
        }
    };
    let config = match AzureConfig::from_env(env) {
        Ok(config) => config,
        Err(why) => {
            // Only worth a word where something would have been published.
            let requests = publication
                .report
                .forge
                .iter()
                .any(|request| match request {
                    ForgeRequest::OpenPullRequest { .. } => true,
                    ForgeRequest::DispatchRetraining { .. } => {
                        trainyard_ci::input(env, "retrain-pipeline").is_some()
                    }
                });
            if token.is_some() || pull_request.is_some() || requests {
                say_once(
                    log,
                    &format!("not publishing to Azure DevOps: {why}. {FALLBACK}"),
                );
            }
            return Outcome::Done;
        }
    };
    let client = match AzureDevOps::new(config) {
        Ok(client) => client,
        Err(error) => {
            log.error(&error.to_string());
            return Outcome::Failed;
        }
    };
    let mut outputs = BTreeMap::new();
    let result = publish_to(
        &client,
        publication,
        &ci,
        env,
        pull_request,
        &mut outputs,
        log,
    );
    // What was published before a refusal or a failure is still worth its outputs.
    for (name, value) in &outputs {
        log.line(&trainyard_ci::azure::set_output(name, value));
    }
    match result {
        Ok(()) => Outcome::Done,
        Err(error) if error.is_refused() => {
            say_once(log, &format!("{error}. {FALLBACK}"));
            Outcome::Done
        }
        Err(error) => {
            log.error(&error.to_string());
            Outcome::Failed
        }
    }
}

fn publish_to(
    client: &AzureDevOps,
    publication: &Publication<'_>,
    ci: &CiContext,
    env: &Env,
    pull_request: Option<u64>,
    outputs: &mut BTreeMap<String, String>,
    log: &mut Log<'_>,
) -> Result<(), ForgeError> {
    let Publication {
        report, project, ..
    } = *publication;
    let azure_repos = azure::is_azure_repos(env);
    // A refusal of the pull request's side does not keep the forge requests
    // (a retraining run needs *Queue builds*, not *Contribute*) from being tried.
    let mut refused = None;
    let mut attempt = |result: Result<(), ForgeError>| -> Result<(), ForgeError> {
        match result {
            Err(error) if error.is_refused() => {
                refused.get_or_insert(error);
                Ok(())
            }
            other => other,
        }
    };
    let name = status_name(&report.step, project);
    let state = report.conclusion.into();
    let target_url = ci.run_url.as_deref();
    let status = format!("{}/{name}", azure::STATUS_GENRE);
    if let Some(pull_request) = pull_request {
        attempt(
            client
                .set_pull_request_status(pull_request, state, &name, &report.title, target_url)
                .map(|()| {
                    outputs.insert("status".to_owned(), status.clone());
                }),
        )?;
    } else if azure_repos && let Some(sha) = &ci.sha {
        attempt(
            client
                .set_commit_status(sha, state, &name, &report.title, target_url)
                .map(|()| {
                    outputs.insert("status".to_owned(), status.clone());
                }),
        )?;
    }
    if publication.sticky_comment
        && let Some(pull_request) = pull_request
    {
        let marker = report_marker(report, project);
        let failing = report.conclusion == trainyard_core::Conclusion::Failure;
        attempt(
            client
                .upsert_sticky_thread(pull_request, &marker, &report.summary, failing)
                .map(|thread| {
                    outputs.insert("thread-id".to_owned(), thread.thread_id.to_string());
                }),
        )?;
    }
    for request in &report.forge {
        match request {
            ForgeRequest::OpenPullRequest {
                head,
                base,
                title,
                body,
            } => {
                if !azure_repos {
                    log.warning(&format!(
                        "the branch {head} was pushed; open its pull request into {base} where the repository lives ({}): trainyard opens pull requests in Azure Repos and on GitHub Actions",
                        env.get("BUILD_REPOSITORY_PROVIDER").unwrap_or_default()
                    ));
                    continue;
                }
                let pr = client.open_pull_request(&PullRequestSpec {
                    head: head.clone(),
                    base: base.clone(),
                    title: title.clone(),
                    body: body.clone(),
                })?;
                outputs.insert("pull-request-number".to_owned(), pr.id.to_string());
                if let Some(url) = pr.web_url {
                    outputs.insert("pull-request-url".to_owned(), url);
                }
            }
            ForgeRequest::DispatchRetraining { .. } => {
                if let Some(pipeline) = trainyard_ci::input(env, "retrain-pipeline") {
                    let run = client.queue_pipeline_run(&pipeline)?;
                    outputs.insert("retrain-dispatched".to_owned(), "true".to_owned());
                    outputs.insert("retrain-run-id".to_owned(), run.id.to_string());
                    if let Some(url) = run.web_url {
                        outputs.insert("retrain-run-url".to_owned(), url);
                    }
                }
            }
        }
    }
    refused.map_or(Ok(()), Err)
}
