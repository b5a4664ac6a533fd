//! `trainyard data fingerprint`: BLAKE3 digests of every dataset into the
//! committed `trainyard.lock`; `--check` fails when data changed without it.

use std::fmt::Write;

use trainyard_core::{Conclusion, Finding, Location, Report, StepError, markdown};
use trainyard_data::fingerprint::{self, LOCK_FILE, LockFile, StatCache};

use super::Step;
use crate::app::StepContext;
use crate::app::datasets::DatasetFiles;
use crate::app::paths::{Destination, STAT_CACHE};
use crate::requests::DataFingerprintRequest;

const STEP: &str = Step::DataFingerprint.name();

pub fn run(request: &DataFingerprintRequest, context: &StepContext) -> Result<Report, StepError> {
    let project = context.project()?;
    // Checked (inside the project, no link on the way) before anything is read or written.
    let lock_path = Destination::in_project(&project.root, LOCK_FILE).prepare_file()?;
    let cache_path = Destination::in_project(&project.root, STAT_CACHE).prepare_file()?;
    let mut cache = StatCache::load(&cache_path);

    let files = DatasetFiles::new(&project, context);
    let mut lock = LockFile::default();
    for (name, dataset) in &project.manifest.datasets {
        let inputs = files.inputs(name, dataset)?;
        // An object in storage is read again only when its ETag changed.
        let fingerprint = fingerprint::fingerprint_inputs(&project.root, &inputs, Some(&mut cache))
            .map_err(fingerprint_error)?;
        lock.datasets.insert(name.clone(), fingerprint);
    }
    // An unchanged lock is neither rendered, parsed nor rewritten (no fsync): a
    // re-run on unchanged data only stats files.
    let summary_digest = fingerprint::lock_summary(&lock);
    let unchanged = cache.lock_is_current(&lock_path, &summary_digest)
        || std::fs::read_to_string(&lock_path).is_ok_and(|existing| existing == lock.to_yaml());
    let committed = if unchanged {
        Some(lock.clone())
    } else {
        LockFile::load(&lock_path).map_err(|error| StepError::Environment(error.to_string()))?
    };
    let mut report = Report::new(STEP, Conclusion::Success, String::new());
    let mut summary =
        String::from("| dataset | files | bytes | BLAKE3 | lock |\n|---|---|---|---|---|\n");
    for (name, fingerprint) in &lock.datasets {
        let recorded = committed.as_ref().and_then(|lock| lock.datasets.get(name));
        let state = match recorded {
            Some(recorded) if recorded.digest == fingerprint.digest => "unchanged",
            Some(_) => "changed",
            None => "new",
        };
        let _ = writeln!(
            summary,
            "| {} | {} | {} | `{}` | {state} |",
            markdown::cell(name),
            fingerprint.files.len(),
            fingerprint.size(),
            markdown::short_digest(&fingerprint.digest)
        );
        report
            .outputs
            .insert(format!("digest-{name}"), fingerprint.digest.clone());
        if request.check && state != "unchanged" {
            report.push_finding(
                Finding::error(
                    "lock/out-of-date",
                    format!(
                        "dataset `{name}` is {state} since {LOCK_FILE} was written; run `trainyard data fingerprint` and commit {LOCK_FILE}"
                    ),
                )
                .at(Location::file(LOCK_FILE)),
            );
        }
    }
    let stale: Vec<&String> = committed
        .iter()
        .flat_map(|lock| lock.datasets.keys())
        .filter(|name| !lock.datasets.contains_key(*name))
        .collect();
    if request.check {
        for name in stale {
            report.push_finding(
                Finding::error(
                    "lock/out-of-date",
                    format!("{LOCK_FILE} records dataset `{name}`, which the manifest no longer declares"),
                )
                .at(Location::file(LOCK_FILE)),
            );
        }
        report.title = if report.conclusion == Conclusion::Failure {
            format!("{LOCK_FILE} is out of date with the data")
        } else {
            format!(
                "{LOCK_FILE} matches the data of {} dataset(s)",
                lock.datasets.len()
            )
        };
    } else {
        if !unchanged {
            lock.save(&lock_path)
                .map_err(|error| StepError::Environment(error.to_string()))?;
        }
        cache.stamp_lock(&lock_path, summary_digest.clone());
        report.title = format!(
            "fingerprinted {} dataset(s) into {LOCK_FILE}",
            lock.datasets.len()
        );
        report
            .outputs
            .insert("lock-file".to_owned(), lock_path.display().to_string());
    }
    if unchanged {
        cache.stamp_lock(&lock_path, summary_digest);
    }
    cache
        .save(&cache_path)
        .map_err(|error| StepError::Environment(error.to_string()))?;
    report.summary = summary;
    Ok(report)
}

fn fingerprint_error(error: fingerprint::FingerprintError) -> StepError {
    match error {
        fingerprint::FingerprintError::Io {
            action,
            path,
            source,
        } => StepError::io(action, path, source),
        other => StepError::Environment(other.to_string()),
    }
}
