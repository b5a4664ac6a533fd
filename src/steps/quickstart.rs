//! `trainyard quickstart [DIR]`: copies the bundled example ML project into
//! DIR and runs every step that exists against it, so one command shows the
//! product. Each later step adds itself here.

use std::path::{Path, PathBuf};

use include_dir::{Dir, include_dir};
use trainyard_core::{Conclusion, Report, StepError};

use super::config_check;
use crate::cli::QuickstartArgs;

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

    report.summary = format!(
        "The example project is in `{dir}`: the UCI breast-cancer data, a standard-library \
         logistic-regression `train.py`, and a `trainyard.yaml` with dev, staging and prod.\n\n\
         Try it yourself:\n\n```sh\ncd {dir}\ntrainyard config check\npython3 train.py --data data/breast_cancer.csv --out out\n```\n",
        dir = dir.display()
    );
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
