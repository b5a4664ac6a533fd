//! `trainyard quickstart [DIR]`: copies the bundled example ML project into
//! DIR and runs every step that exists against it, so one command shows the
//! product. Each later step adds itself here, through its request.

use std::path::{Path, PathBuf};

use include_dir::{Dir, include_dir};
use trainyard_core::{Conclusion, Report, StepError, markdown};
use trainyard_ledger::{CHALLENGER, Ledger};

use super::{Request, Step};
use crate::app::fs::write_atomic;
use crate::app::git::git;
use crate::app::ledger::{self, ledger_error};
use crate::app::validation::validate_datasets;
use crate::app::{Project, StepContext};
use crate::requests::{
    ChangeRequest, CompareRequest, ConfigCheckRequest, DataFingerprintRequest, DataSampleRequest,
    DataValidateRequest, GateRequest, IacCheckRequest, IacRenderRequest, IacSelection,
    PromoteRequest, QuickstartRequest, RollbackRequest, RunMode, RunsListRequest, StatusRequest,
    TrainRequest,
};

const STEP: &str = Step::Quickstart.name();

/// The example project, compiled into the binary so `cargo install` users have it too.
static EXAMPLE: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/examples/breast-cancer");

pub fn run(request: &QuickstartRequest, context: &StepContext) -> Result<Report, StepError> {
    let dir = match &request.dir {
        Some(dir) => prepare(dir)?,
        None => tempfile::Builder::new()
            .prefix("trainyard-quickstart-")
            .tempdir()
            .map_err(|error| {
                StepError::io(
                    "creating a temporary folder in",
                    std::env::temp_dir(),
                    error,
                )
            })?
            .keep(),
    };
    extract(&EXAMPLE, &dir)?;

    let manifest = dir.join(trainyard_core::manifest::MANIFEST_FILE);
    let mut report = Report::new(
        STEP,
        Conclusion::Success,
        format!(
            "example project `breast-cancer` set up in {}",
            dir.display()
        ),
    )
    .with_output("dir", dir.display().to_string());

    // The inner steps see no CI: the example is a terminal session.
    let context = context.for_manifest(manifest.clone(), trainyard_ci::Env::default());
    let context = &context;
    report.push_child(run_step(
        &Request::ConfigCheck(ConfigCheckRequest),
        context,
    )?);
    let project = context.project()?;
    report.push_child(run_step(
        &Request::DataValidate(DataValidateRequest::default()),
        context,
    )?);
    report.push_child(broken_copy(&project)?);
    report.push_child(run_step(
        &Request::DataFingerprint(DataFingerprintRequest::default()),
        context,
    )?);
    let dataset = project
        .manifest
        .datasets
        .keys()
        .next()
        .cloned()
        .unwrap_or_default();
    report.push_child(run_step(
        &Request::DataSample(DataSampleRequest::of(dataset)),
        context,
    )?);

    // Training: sampled as on a PR, compared, full as after the merge; the ledger.
    for phase in training_phase(context)? {
        report.push_child(phase);
    }

    // Gates and GitOps promotion: staging, prod refused then tagged, promote, rollback.
    for phase in gates_phase(context)? {
        report.push_child(phase);
    }

    // Infrastructure as code: dev, staging and prod rendered, checked, drift caught.
    for phase in iac_phase(context)? {
        report.push_child(phase);
    }

    let dir = dir.display().to_string();
    report.summary = format!(
        "The example project is in {}: the UCI breast-cancer data, a standard-library \
         logistic-regression `train.py`, and a `trainyard.yaml` with dev, staging and prod.\n\n\
         Try it yourself:\n\n{}",
        markdown::code_in_text(&dir),
        markdown::fenced(
            "sh",
            &format!(
                "cd {dir}\ntrainyard config check\ntrainyard data validate\npython3 train.py --data data/breast_cancer.csv --out out\n"
            )
        )
    );
    Ok(report)
}

/// The mistakes real data has, planted in a copy of the first dataset, and
/// what validation says about them. Shown, not failed: quickstart succeeds.
fn broken_copy(project: &Project) -> Result<Report, StepError> {
    let Some((name, dataset)) = project.manifest.datasets.iter().next() else {
        return Ok(Report::new(
            Step::DataValidate.name(),
            Conclusion::Neutral,
            "no dataset to break",
        ));
    };
    let original = project.root.join(&dataset.path);
    let text = std::fs::read_to_string(&original)
        .map_err(|error| StepError::io("reading", &original, error))?;
    let broken: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(index, line)| match index {
            // A negative radius, a misspelt class, a row that lost a field.
            3 => line.replacen(|c: char| c.is_ascii_digit(), "-", 1),
            10 => line
                .replace("malignant", "malignent")
                .replace("benign", "benihn"),
            20 => line
                .rsplit_once(',')
                .map_or_else(|| line.to_owned(), |(head, _)| head.to_owned()),
            _ => line.to_owned(),
        })
        .collect();
    let broken_path = format!("{}.broken.csv", dataset.path.trim_end_matches(".csv"));
    let target = project.root.join(&broken_path);
    std::fs::write(&target, broken.join("\n") + "\n")
        .map_err(|error| StepError::io("writing", &target, error))?;

    let mut broken_dataset = dataset.clone();
    broken_dataset.path.clone_from(&broken_path);
    let mut report = validate_datasets(&[(name.as_str(), &broken_dataset)], &project.root, None)?;
    report.title = format!(
        "a deliberately broken copy, {broken_path}: {} finding(s), as expected",
        report.findings.len()
    );
    // The failure is the demonstration, not a failure of quickstart.
    report.conclusion = Conclusion::Neutral;
    Ok(report)
}

/// The target must be empty or absent: quickstart never overwrites a user's files.
fn prepare(dir: &Path) -> Result<PathBuf, StepError> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(StepError::Usage(format!(
                    "{} is not empty; give quickstart an empty or new folder",
                    dir.display()
                )));
            }
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map_err(|error| StepError::io("creating", dir, error))?;
        }
        Err(error) => return Err(StepError::io("reading", dir, error)),
    }
    Ok(dir.to_path_buf())
}

fn extract(source: &Dir<'_>, target: &Path) -> Result<(), StepError> {
    for entry in source.entries() {
        let path = target.join(entry.path());
        match entry {
            include_dir::DirEntry::Dir(dir) => {
                std::fs::create_dir_all(&path)
                    .map_err(|error| StepError::io("creating", &path, error))?;
                extract(dir, target)?;
            }
            include_dir::DirEntry::File(file) => {
                std::fs::write(&path, file.contents())
                    .map_err(|error| StepError::io("writing", &path, error))?;
            }
        }
    }
    Ok(())
}

/// Runs one inner step through the registry.
fn run_step(request: &Request, context: &StepContext) -> Result<Report, StepError> {
    super::run(request, context)
}

/// The training phase: a sampled training as on a pull request, a
/// comparison with the champion, a full training as after the merge (the
/// model becomes the challenger), and the ledger's runs. The example folder
/// becomes its own git repository first: the ledger lives in it.
fn training_phase(context: &StepContext) -> Result<Vec<Report>, StepError> {
    let project = context.project()?;
    ensure_repository(&project.root, &project.manifest.project.default_branch)?;
    let mut reports = Vec::new();

    let mut sampled = train(RunMode::Sample, context)?;
    sampled.title = format!("as on a pull request, {}", sampled.title);
    reports.push(sampled);
    reports.push(run_step(
        &Request::Compare(CompareRequest::default()),
        context,
    )?);
    let mut full = train(RunMode::Full, context)?;
    full.title = format!("as after the merge, {}", full.title);
    reports.push(full);
    reports.push(run_step(
        &Request::RunsList(RunsListRequest::default()),
        context,
    )?);
    Ok(reports)
}

fn train(mode: RunMode, context: &StepContext) -> Result<Report, StepError> {
    run_step(&Request::Train(TrainRequest::with_mode(mode)), context)
}

/// The gates phase: the staging gate passes and the model is promoted there;
/// the prod gate refuses without a release tag; the commit is tagged and the
/// gate passes; promote to prod; a second version goes to staging and is
/// rolled back. Every step's report is returned, refusals shown as the
/// demonstration they are (neutral), not as failures.
fn gates_phase(context: &StepContext) -> Result<Vec<Report>, StepError> {
    let project = context.project()?;
    let mut reports = Vec::new();
    ensure_repository(&project.root, &project.manifest.project.default_branch)?;
    let repo = git2::Repository::open(&project.root).map_err(|error| {
        StepError::Environment(format!("opening {}: {error}", project.root.display()))
    })?;
    let model = project
        .manifest
        .model
        .as_ref()
        .map(|model| model.name.clone())
        .ok_or_else(|| StepError::Usage("the example project declares no model".to_owned()))?;
    let ledger = ledger::open(context, &project)?;
    if ledger.resolve(&model, CHALLENGER).is_err() {
        reports.push(train(RunMode::Full, context)?);
    }
    // A local demo commits straight onto the branch and pushes nothing.
    let local = ChangeRequest {
        direct: true,
        no_push: true,
        ..ChangeRequest::default()
    };
    let promote = |env: &str, reason: &str| {
        Request::Promote(PromoteRequest {
            gate: GateRequest::for_env(env),
            change: local.clone(),
            reason: Some(reason.to_owned()),
            skip_order: false,
        })
    };
    let gate = |env: &str| Request::Gate(GateRequest::for_env(env));

    // Environments are entered in their declared order: dev, then staging.
    reports.push(run_step(&promote("dev", "a first model"), context)?);
    reports.push(run_step(&gate("staging"), context)?);
    reports.push(run_step(
        &promote("staging", "the staging gate passed"),
        context,
    )?);

    let mut refused = run_step(&gate("prod"), context)?;
    if refused.conclusion == Conclusion::Failure {
        refused.title = format!("refused, as it should be: {}", refused.title);
        // The refusal is the demonstration, not a failure of quickstart.
        refused.conclusion = Conclusion::Neutral;
        for finding in &mut refused.findings {
            finding.severity = trainyard_core::Severity::Notice;
        }
    }
    reports.push(refused);

    let candidate = ledger.resolve(&model, CHALLENGER).map_err(ledger_error)?;
    let run_commit = ledger
        .run(candidate.run_id.as_str())
        .map_err(ledger_error)?
        .git
        .commit;
    reports.push(tag_release(&repo, &run_commit, "v1.0.0")?);
    reports.push(run_step(&gate("prod"), context)?);
    reports.push(run_step(&promote("prod", "v1.0.0 released"), context)?);

    // A second version reaches staging, then staging goes back to the first.
    reports.push(train(RunMode::Full, context)?);
    reports.push(run_step(&promote("dev", "a second model"), context)?);
    reports.push(run_step(
        &promote("staging", "the staging gate passed"),
        context,
    )?);
    reports.push(run_step(
        &Request::Rollback(RollbackRequest {
            env: "staging".to_owned(),
            to: None,
            reason: "quickstart: showing a rollback".to_owned(),
            change: local.clone(),
        }),
        context,
    )?);
    reports.push(run_step(
        &Request::Status(StatusRequest::default()),
        context,
    )?);
    // A local demo has no remote to push to; that warning is noise here.
    for report in &mut reports {
        report
            .findings
            .retain(|finding| finding.rule != "not-pushed");
    }
    Ok(reports)
}

/// The IaC phase: renders dev, staging and prod of the example, checks them,
/// then shows `iac check` catching a hand edit (neutral: the failure is the lesson).
fn iac_phase(context: &StepContext) -> Result<Vec<Report>, StepError> {
    let rendered = run_step(
        &Request::IacRender(IacRenderRequest {
            selection: IacSelection::everything(),
        }),
        context,
    )?;
    let check = run_step(&Request::IacCheck(IacCheckRequest::default()), context)?;

    let project = context.project()?;
    let output_dir = project
        .manifest
        .iac
        .as_ref()
        .map_or("infra", |iac| iac.output_dir.as_str());
    let Some(edited) = project.manifest.environments.last().and_then(|env| {
        [
            format!("{output_dir}/kubernetes/{}/inferenceservice.yaml", env.name),
            format!("{output_dir}/terraform/{}/main.tf", env.name),
        ]
        .into_iter()
        .find(|path| project.root.join(path).is_file())
    }) else {
        return Ok(vec![rendered, check]);
    };
    let path = project.root.join(&edited);
    let original =
        std::fs::read_to_string(&path).map_err(|error| StepError::io("reading", &path, error))?;
    let hand_edit = format!("{original}# a hand edit someone forgot to put in trainyard.yaml\n");
    write_atomic(&path, hand_edit.as_bytes())?;
    let mut drift = run_step(&Request::IacCheck(IacCheckRequest::default()), context)?;
    write_atomic(&path, original.as_bytes())?;
    drift.title = format!(
        "a hand edit of {edited}, caught: {} finding(s), as expected",
        drift.findings.len()
    );
    drift.conclusion = Conclusion::Neutral;
    Ok(vec![rendered, check, drift])
}

/// Makes `root` a git repository with everything committed on `branch`,
/// unless it already is the top of one.
fn ensure_repository(root: &Path, branch: &str) -> Result<(), StepError> {
    let top = git(root, &["rev-parse", "--show-toplevel"]).map(PathBuf::from);
    if let (Some(top), Ok(root)) = (top, root.canonicalize())
        && top.canonicalize().is_ok_and(|top| top == root)
    {
        return Ok(());
    }
    let ignore = root.join(".gitignore");
    if !ignore.exists() {
        std::fs::write(&ignore, ".trainyard/\n")
            .map_err(|error| StepError::io("writing", &ignore, error))?;
    }
    // Someone trying trainyard may have no git identity yet.
    let identity: &[&str] = if git(root, &["config", "user.email"]).is_some() {
        &[]
    } else {
        &[
            "-c",
            "user.name=trainyard quickstart",
            "-c",
            "user.email=quickstart@trainyard.invalid",
        ]
    };
    let initial_branch = format!("--initial-branch={branch}");
    for args in [
        vec!["init", "--quiet", initial_branch.as_str()],
        vec!["add", "--all"],
        [
            identity,
            &["commit", "--quiet", "-m", "The example project"],
        ]
        .concat(),
    ] {
        let status = std::process::Command::new("git")
            .args(&args)
            .current_dir(root)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .output()
            .map_err(|error| {
                StepError::Environment(format!(
                    "could not run `git` ({error}); the ledger lives in git: install it"
                ))
            })?;
        if !status.status.success() {
            return Err(StepError::Environment(format!(
                "`git {}` failed in {}: {}",
                args.join(" "),
                root.display(),
                String::from_utf8_lossy(&status.stderr).trim()
            )));
        }
    }
    Ok(())
}

/// An annotated release tag on the commit the model was trained from.
fn tag_release(repo: &git2::Repository, commit: &str, name: &str) -> Result<Report, StepError> {
    let git = |error: git2::Error| StepError::Environment(format!("tagging {name}: {error}"));
    let target = repo.revparse_single(commit).map_err(git)?;
    let signature = repo
        .signature()
        .or_else(|_| git2::Signature::now("trainyard quickstart", "quickstart@trainyard.invalid"))
        .map_err(git)?;
    repo.tag(name, &target, &signature, &format!("release {name}"), false)
        .map_err(git)?;
    Ok(Report::new(
        "tag",
        Conclusion::Success,
        format!(
            "tagged {} as {name} (git tag -a {name})",
            markdown::short_commit(commit)
        ),
    ))
}
