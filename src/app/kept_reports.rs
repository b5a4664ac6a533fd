//! The Reports a job's steps keep for `trainyard report`: where they go
//! (a folder per CI job), how one is kept (atomically, named in the order
//! the steps ran) and read back.

use std::io;
use std::path::{Path, PathBuf};

use trainyard_ci::Env;
use trainyard_core::{Report, StepError};

/// The folder where this job's steps keep their Reports: `TRAINYARD_REPORTS_DIR`,
/// or a folder for this job under the runner's temporary folder (GitHub's
/// RUNNER_TEMP, Azure's AGENT_TEMPDIRECTORY). `None` on a terminal.
pub fn reports_dir(env: &Env) -> Option<PathBuf> {
    if let Some(dir) = env.get("TRAINYARD_REPORTS_DIR") {
        return Some(PathBuf::from(dir));
    }
    let part = |name: &str| env.get(name).unwrap_or("0").replace(['/', '\\'], "_");
    if let Some(temp) = env.get("RUNNER_TEMP") {
        let job = format!(
            "{}-{}-{}",
            part("GITHUB_RUN_ID"),
            part("GITHUB_RUN_ATTEMPT"),
            part("GITHUB_JOB")
        );
        return Some(Path::new(temp).join("trainyard-reports").join(job));
    }
    if let Some(temp) = env.get("AGENT_TEMPDIRECTORY") {
        let job = format!("{}-{}", part("BUILD_BUILDID"), part("SYSTEM_JOBID"));
        return Some(Path::new(temp).join("trainyard-reports").join(job));
    }
    None
}

/// Keeps `report` in `dir` as JSON, named so that files sort in the order
/// the steps ran; written to a temporary file first, then renamed.
pub fn save_report(dir: &Path, report: &Report) -> io::Result<()> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let slug: String = report
        .step
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let json = serde_json::to_vec_pretty(report)?;
    trainyard_core::fs::write_atomic(&dir.join(format!("{nanos:020}-{slug}.json")), &json)
}

/// The kept Reports, oldest first.
pub fn load_reports(dir: &Path) -> Result<Vec<Report>, StepError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(StepError::io("read the reports folder", dir, error)),
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path)
                .map_err(|error| StepError::io("read a kept report", path, error))?;
            serde_json::from_str(&text).map_err(|error| {
                StepError::Environment(format!(
                    "{}: not a trainyard report ({error}); remove it or point TRAINYARD_REPORTS_DIR elsewhere",
                    path.display()
                ))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use trainyard_core::Conclusion;

    #[test]
    fn the_reports_folder_is_per_job_under_the_runners_temp() {
        let env = Env::from_pairs([
            ("RUNNER_TEMP", "/tmp/r"),
            ("GITHUB_RUN_ID", "9"),
            ("GITHUB_RUN_ATTEMPT", "2"),
            ("GITHUB_JOB", "train"),
        ]);
        assert_eq!(
            reports_dir(&env).unwrap(),
            PathBuf::from("/tmp/r/trainyard-reports/9-2-train")
        );
        let env = Env::from_pairs([("TRAINYARD_REPORTS_DIR", "/x"), ("RUNNER_TEMP", "/tmp/r")]);
        assert_eq!(reports_dir(&env).unwrap(), PathBuf::from("/x"));
        assert!(reports_dir(&Env::default()).is_none());
    }

    #[test]
    fn kept_reports_come_back_in_the_order_they_were_saved() {
        let dir = tempfile::tempdir().unwrap();
        for step in ["data validate", "train", "gate"] {
            save_report(dir.path(), &Report::new(step, Conclusion::Success, step)).unwrap();
        }
        let steps: Vec<String> = load_reports(dir.path())
            .unwrap()
            .into_iter()
            .map(|r| r.step)
            .collect();
        assert_eq!(steps, ["data validate", "train", "gate"]);
    }
}
