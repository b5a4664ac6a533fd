//! `trainyard reproduce RUN`: re-runs a recorded run from its commit (checked
//! out in a temporary `git worktree`, so the user's work tree is untouched),
//! with its params and mode, on data that must still match the recorded
//! fingerprints — it refuses (exit 1) otherwise — and reports whether the
//! sample bytes are the same and the metrics match within a tolerance. It
//! warns when a tree is dirty: the run's (its commit does not hold what it
//! ran) or the checkout's (its changes are not part of the re-run).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use trainyard_core::manifest::{self, MANIFEST_FILE};
use trainyard_core::markdown::{self, cell};
use trainyard_core::{Conclusion, Finding, Location, Report, StepError};
use trainyard_data::fingerprint;
use trainyard_ledger::{Ledger, RunRecord};

use super::Step;
use crate::app::StepContext;
use crate::app::git::git;
use crate::app::ledger::{self, ledger_error};
use crate::app::training::{self, Plan};
use crate::requests::ReproduceRequest;

const STEP: &str = Step::Reproduce.name();

/// How far a reproduced metric may be from the recorded one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tolerance {
    Absolute(f64),
    /// A fraction of the recorded value.
    Relative(f64),
}

impl Tolerance {
    pub fn parse(text: &str) -> Result<Self, StepError> {
        let bad = || {
            StepError::Usage(format!(
                "--tolerance `{text}` is not a number of zero or more, or a percentage like `0.5%`"
            ))
        };
        let text = text.trim();
        let (number, relative) = match text.strip_suffix('%') {
            Some(number) => (number.trim(), true),
            None => (text, false),
        };
        let value: f64 = number.parse().map_err(|_| bad())?;
        if !(value >= 0.0 && value.is_finite()) {
            return Err(bad());
        }
        Ok(if relative {
            Self::Relative(value / 100.0)
        } else {
            Self::Absolute(value)
        })
    }

    pub fn allows(self, recorded: f64, reproduced: f64) -> bool {
        if recorded.is_nan() || reproduced.is_nan() {
            return recorded.is_nan() && reproduced.is_nan();
        }
        if recorded.is_infinite() || reproduced.is_infinite() {
            return recorded.is_infinite()
                && reproduced.is_infinite()
                && recorded.is_sign_positive() == reproduced.is_sign_positive();
        }
        let limit = match self {
            Self::Absolute(limit) => limit,
            Self::Relative(fraction) => fraction * recorded.abs(),
        };
        // The recorded value went through JSON: allow for its last bit.
        (recorded - reproduced).abs() <= limit + f64::EPSILON * recorded.abs().max(1.0)
    }
}

impl std::fmt::Display for Tolerance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Absolute(limit) => write!(f, "±{limit}"),
            Self::Relative(fraction) => write!(f, "±{}%", fraction * 100.0),
        }
    }
}

#[allow(clippy::too_many_lines)] // the re-run from start to end, read top to bottom
pub fn run(request: &ReproduceRequest, context: &StepContext) -> Result<Report, StepError> {
    let project = context.project()?;
    let tolerance = Tolerance::parse(&request.tolerance)?;
    let ledger = ledger::open(context, &project)?;
    let recorded = ledger.run(&request.run).map_err(ledger_error)?;
    if recorded.git.commit.is_empty() {
        return Err(StepError::Usage(format!(
            "run {} recorded no commit, so it cannot be checked out again",
            recorded.id
        )));
    }

    let dirty = dirty_warnings(&recorded, &project.root);
    let worktree = Worktree::add(&project.root, &recorded.git.commit)?;
    let root = worktree.project_root(&project.root)?;
    let manifest_file = root.join(MANIFEST_FILE);
    let manifest_name = format!(
        "{MANIFEST_FILE} at {}",
        markdown::short_commit(&recorded.git.commit)
    );
    let manifest = manifest::load(&manifest_file)?;

    // The data must be the data the run trained on.
    let mut report = Report::new(STEP, Conclusion::Success, String::new())
        .with_output("run-id", recorded.id.to_string());
    for warning in dirty {
        report.push_finding(warning);
    }
    let mut mismatched = Vec::new();
    for (name, dataset) in &manifest.datasets {
        let Some(digest) = recorded.datasets.get(name) else {
            continue;
        };
        provide_data(&project.root, &root, &dataset.path)?;
        let current = fingerprint::fingerprint_dataset(&root, &dataset.path, None)
            .map_err(|error| StepError::Environment(format!("dataset `{name}`: {error}")))?;
        if &current.digest != digest {
            mismatched.push(name.clone());
            report.push_finding(
                Finding::error(
                    "reproduce/data-changed",
                    format!(
                        "dataset `{name}` (`{}`) no longer matches run {}: recorded BLAKE3 {}, now {}; restore that data (e.g. `dvc checkout` at {}) to reproduce the run",
                        dataset.path,
                        recorded.id,
                        markdown::short_digest(digest),
                        markdown::short_digest(&current.digest),
                        markdown::short_commit(&recorded.git.commit)
                    ),
                )
                .at(Location::file(project.manifest_file.clone())),
            );
        }
    }
    if !mismatched.is_empty() {
        report.title = format!(
            "refused: the data of {} changed since run {}",
            mismatched.join(", "),
            recorded.id
        );
        return Ok(report);
    }

    let plan = Plan {
        root: &root,
        manifest: &manifest,
        manifest_file: &manifest_name,
        mode: recorded.mode,
        params: recorded.params.clone(),
    };
    let execution = training::execute(&plan, &context.log)?;
    drop(worktree);

    let mut md = format!(
        "Re-ran run `{}` ({} data) from commit `{}` with its params; tolerance {tolerance}.\n\n",
        recorded.id,
        recorded.mode,
        markdown::short_commit(&recorded.git.commit)
    );
    if !execution.outcome.is_success() {
        report.push_finding(Finding::error(
            "reproduce/failed",
            format!("the re-run did not succeed: {}", execution.outcome),
        ));
    }
    compare_samples(&recorded, &execution.datasets, &mut report, &mut md);
    let different = compare_metrics(
        &recorded,
        &execution.metrics,
        tolerance,
        &mut report,
        &mut md,
    );

    report.title = if report.conclusion == Conclusion::Failure {
        format!("run {} did not reproduce", recorded.id)
    } else {
        format!(
            "run {} reproduced: same data, {} metric(s) within {tolerance}",
            recorded.id,
            recorded.metrics.len()
        )
    };
    report
        .outputs
        .insert("different".to_owned(), different.join(","));
    report.summary = md;
    Ok(report)
}

/// Warnings about uncommitted changes: the recorded run's (what it ran is
/// not all in its commit) and the checkout's (they are not in the re-run).
fn dirty_warnings(recorded: &RunRecord, root: &Path) -> Vec<Finding> {
    let commit = markdown::short_commit(&recorded.git.commit);
    let mut warnings = Vec::new();
    if recorded.git.dirty {
        warnings.push(Finding::warning(
            "reproduce/run-dirty",
            format!(
                "run {} was trained from a work tree with uncommitted changes: commit {commit} does not hold \
                 exactly what it ran, so a difference may come from those changes",
                recorded.id
            ),
        ));
    }
    if git(root, &["status", "--porcelain", "--untracked-files=no"]).is_some() {
        warnings.push(Finding::warning(
            "reproduce/tree-dirty",
            format!(
                "the work tree has uncommitted changes; they are not part of the re-run, which runs commit {commit} as committed"
            ),
        ));
    }
    warnings
}

fn compare_samples(
    recorded: &RunRecord,
    reproduced: &BTreeMap<String, String>,
    report: &mut Report,
    md: &mut String,
) {
    let samples: Vec<(&String, &String)> = recorded
        .datasets
        .iter()
        .filter(|(name, _)| name.ends_with(".sample"))
        .collect();
    if samples.is_empty() {
        return;
    }
    md.push_str("| sample | recorded BLAKE3 | reproduced | |\n|---|---|---|---|\n");
    for (name, digest) in samples {
        let again = reproduced.get(name).map_or("", String::as_str);
        let same = again == digest;
        let _ = writeln!(
            md,
            "| {} | `{}` | `{}` | {} |",
            cell(name.trim_end_matches(".sample")),
            markdown::short_digest(digest),
            markdown::short_digest(again),
            if same { "same bytes" } else { "different" }
        );
        if !same {
            report.push_finding(Finding::error(
                "reproduce/sample-differs",
                format!(
                    "the sample of `{}` differs from the recorded one ({} vs {})",
                    name.trim_end_matches(".sample"),
                    digest,
                    again
                ),
            ));
        }
    }
    md.push('\n');
}

fn compare_metrics(
    recorded: &RunRecord,
    reproduced: &BTreeMap<String, f64>,
    tolerance: Tolerance,
    report: &mut Report,
    md: &mut String,
) -> Vec<String> {
    let mut different = Vec::new();
    md.push_str("| metric | recorded | reproduced | difference | |\n|---|---:|---:|---:|---|\n");
    for (name, value) in &recorded.metrics {
        let again = reproduced.get(name).copied();
        let ok = again.is_some_and(|again| tolerance.allows(*value, again));
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            cell(name),
            markdown::metric(*value),
            markdown::metric_or_missing(again),
            again.map_or_else(String::new, |again| format!("{:e}", (again - value).abs())),
            if ok { "match" } else { "differs" }
        );
        if !ok {
            different.push(name.clone());
            report.push_finding(Finding::error(
                "reproduce/metric-differs",
                match again {
                    Some(again) => format!(
                        "`{name}` was {value}, the re-run gave {again} (tolerance {tolerance})"
                    ),
                    None => format!("`{name}` was {value}; the re-run did not report it"),
                },
            ));
        }
    }
    md.push('\n');
    different
}

/// When the data is not in git (DVC, an object store), the worktree lacks it:
/// copy the current checkout's files in, so their fingerprint decides.
fn provide_data(current_root: &Path, worktree_root: &Path, pattern: &str) -> Result<(), StepError> {
    if fingerprint::list_files(worktree_root, pattern).is_ok_and(|files| !files.is_empty()) {
        return Ok(());
    }
    let Ok(files) = fingerprint::list_files(current_root, pattern) else {
        return Ok(()); // the fingerprint below reports the missing data
    };
    for file in files {
        let Ok(relative) = file.strip_prefix(current_root) else {
            continue;
        };
        // Only what lies inside the checkout is copied, and only inside the worktree.
        let Ok(relative) = trainyard_core::fs::relative_inside(relative) else {
            continue;
        };
        if let Some(parent) = relative.parent() {
            crate::app::paths::create_dir(worktree_root, parent)?;
        }
        let target = crate::app::paths::inside(worktree_root, &relative)?;
        std::fs::copy(&file, &target).map_err(|error| StepError::io("copying", &file, error))?;
    }
    Ok(())
}

/// A temporary `git worktree` at a commit, removed on drop.
struct Worktree {
    repo_root: PathBuf,
    path: PathBuf,
    _parent: tempfile::TempDir,
}

impl Worktree {
    fn add(project_root: &Path, commit: &str) -> Result<Self, StepError> {
        let repo_root = git(project_root, &["rev-parse", "--show-toplevel"])
            .map(PathBuf::from)
            .ok_or_else(|| {
                StepError::Environment(format!(
                    "{} is not inside a git work tree; reproduce checks out the run's commit with `git worktree`",
                    project_root.display()
                ))
            })?;
        let parent = tempfile::Builder::new()
            .prefix("trainyard-reproduce-")
            .tempdir()
            .map_err(|error| {
                StepError::io(
                    "creating a temporary folder in",
                    std::env::temp_dir(),
                    error,
                )
            })?;
        let path = parent.path().join("tree");
        let output = std::process::Command::new("git")
            .args(["worktree", "add", "--detach", "--quiet"])
            .arg(&path)
            .arg(commit)
            .current_dir(&repo_root)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|error| {
                StepError::Environment(format!("could not run `git` ({error}); install git"))
            })?;
        if !output.status.success() {
            return Err(StepError::Environment(format!(
                "`git worktree add {commit}` failed: {}; if the commit is not in this clone, fetch it (a shallow clone needs `git fetch --unshallow`)",
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        Ok(Self {
            repo_root,
            path,
            _parent: parent,
        })
    }

    /// The project folder inside the worktree (the manifest may live below the repository root).
    fn project_root(&self, project_root: &Path) -> Result<PathBuf, StepError> {
        let absolute = project_root
            .canonicalize()
            .map_err(|error| StepError::io("resolving", project_root, error))?;
        let repo = self
            .repo_root
            .canonicalize()
            .map_err(|error| StepError::io("resolving", &self.repo_root, error))?;
        let relative = absolute.strip_prefix(&repo).unwrap_or(Path::new(""));
        Ok(self.path.join(relative))
    }
}

impl Drop for Worktree {
    fn drop(&mut self) {
        let _ = std::process::Command::new("git")
            .args(["worktree", "remove", "--force"])
            .arg(&self.path)
            .current_dir(&self.repo_root)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerances_absolute_and_relative() {
        assert_eq!(Tolerance::parse("1e-6").unwrap(), Tolerance::Absolute(1e-6));
        assert_eq!(
            Tolerance::parse("0.5%").unwrap(),
            Tolerance::Relative(0.005)
        );
        assert!(Tolerance::parse("-1").is_err());
        assert!(Tolerance::parse("close").is_err());
        let absolute = Tolerance::Absolute(0.01);
        assert!(absolute.allows(0.95, 0.955));
        assert!(!absolute.allows(0.95, 0.97));
        let relative = Tolerance::Relative(0.01);
        assert!(relative.allows(100.0, 100.9));
        assert!(!relative.allows(100.0, 102.0));
        assert!(Tolerance::Absolute(0.0).allows(f64::NAN, f64::NAN));
    }
}
