//! `trainyard quickstart [DIR]`: copies the bundled example ML project into
//! DIR and runs every step that exists against it, so one command shows the
//! product. Each later step adds itself here.

use std::path::{Path, PathBuf};

use include_dir::{Dir, include_dir};
use trainyard_core::{Conclusion, Report, StepError};

use super::{Project, StepContext, config_check, data_fingerprint, data_sample, data_validate};
use crate::cli::{DataFingerprintArgs, DataSampleArgs, DataValidateArgs, QuickstartArgs};

pub const STEP: &str = "quickstart";

/// The example project, compiled into the binary so `cargo install` users have it too.
static EXAMPLE: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/examples/breast-cancer");

pub fn run(args: &QuickstartArgs) -> Result<Report, StepError> {
    let dir = match &args.dir {
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

    report.push_child(config_check::run(&manifest)?);

    let context = StepContext::new(trainyard_ci::Env::default(), manifest.clone());
    let project = context.project()?;
    report.push_child(data_validate::run(&DataValidateArgs::default(), &context)?);
    report.push_child(broken_copy(&project)?);
    report.push_child(data_fingerprint::run(
        &DataFingerprintArgs::default(),
        &context,
    )?);
    let dataset = project
        .manifest
        .datasets
        .keys()
        .next()
        .cloned()
        .unwrap_or_default();
    report.push_child(data_sample::run(
        &DataSampleArgs::for_dataset(dataset),
        &context,
    )?);

    // Training: sampled as on a PR, compared, full as after the merge; the ledger.
    for phase in super::train::quickstart_phase(&context)? {
        report.push_child(phase);
    }

    // Gates and GitOps promotion: staging, prod refused then tagged, promote, rollback.
    for phase in super::promote::quickstart_phase(&context)? {
        report.push_child(phase);
    }

    // Infrastructure as code: dev, staging and prod rendered, checked, drift caught.
    for phase in super::iac_render::quickstart_phase(&context)? {
        report.push_child(phase);
    }

    report.summary = format!(
        "The example project is in `{dir}`: the UCI breast-cancer data, a standard-library \
         logistic-regression `train.py`, and a `trainyard.yaml` with dev, staging and prod.\n\n\
         Try it yourself:\n\n```sh\ncd {dir}\ntrainyard config check\ntrainyard data validate\npython3 train.py --data data/breast_cancer.csv --out out\n```\n",
        dir = dir.display()
    );
    Ok(report)
}

/// The mistakes real data has, planted in a copy of the first dataset, and
/// what validation says about them. Shown, not failed: quickstart succeeds.
fn broken_copy(project: &Project) -> Result<Report, StepError> {
    let Some((name, dataset)) = project.manifest.datasets.iter().next() else {
        return Ok(Report::new(
            "data validate",
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
    let mut report =
        data_validate::validate_datasets(&[(name.as_str(), &broken_dataset)], &project.root, None)?;
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
