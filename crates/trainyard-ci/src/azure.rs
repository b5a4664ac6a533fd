//! Azure Pipelines: `##vso[` logging commands and `##[` formatting commands.

use std::io;
use std::path::{Path, PathBuf};

use trainyard_core::{Finding, Severity};

use crate::escape::{azure_data, azure_log_text, azure_property, single_line};

/// A logging command line: `##vso[area.action k=v;k=v]data`, escaped as
/// azure-pipelines-task-lib's `taskcommand.js` does. No trailing newline.
pub fn command(name: &str, properties: &[(&str, String)], data: &str) -> String {
    let mut line = format!("##vso[{name}");
    for (index, (key, value)) in properties.iter().enumerate() {
        line.push(if index == 0 { ' ' } else { ';' });
        line.push_str(key);
        line.push('=');
        line.push_str(&azure_property(value));
    }
    line.push(']');
    line.push_str(&azure_data(data));
    line
}

/// `##vso[task.logissue type=error;sourcepath=F;linenumber=L;columnnumber=C;code=RULE]MESSAGE`
/// for an error or a warning; `None` for a notice (Azure has no notice: the
/// console text shows it).
pub fn log_issue(finding: &Finding) -> Option<String> {
    let kind = match finding.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Notice => return None,
    };
    let mut properties: Vec<(&str, String)> = vec![("type", kind.to_owned())];
    if let Some(location) = &finding.location {
        properties.push(("sourcepath", location.file.clone()));
        if let Some(line) = location.line {
            properties.push(("linenumber", line.to_string()));
        }
        if let Some(column) = location.column {
            properties.push(("columnnumber", column.to_string()));
        }
    }
    if !finding.rule.is_empty() {
        properties.push(("code", finding.rule.clone()));
    }
    Some(command("task.logissue", &properties, &finding.message))
}

/// `##vso[task.setvariable variable=NAME;isOutput=true]VALUE`
pub fn set_output(name: &str, value: &str) -> String {
    command(
        "task.setvariable",
        &[
            ("variable", name.to_owned()),
            ("isOutput", "true".to_owned()),
        ],
        value,
    )
}

/// `##vso[task.setsecret]` lines for a secret, one per non-blank line.
pub fn mask_commands(secret: &str) -> Vec<String> {
    secret
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .filter(|line| !line.trim().is_empty())
        .map(|line| command("task.setsecret", &[], line))
        .collect()
}

/// `##[group]TITLE` (one line, commands defused).
pub fn group_start(title: &str) -> String {
    format!("##[group]{}", azure_log_text(&single_line(title)))
}

pub const GROUP_END: &str = "##[endgroup]";

/// Writes the summary markdown to `dir/trainyard-<step>.md` (another free
/// name if taken) and returns the `##vso[task.uploadsummary]<absolute path>` line.
pub fn write_summary(dir: &Path, step: &str, markdown: &str) -> io::Result<String> {
    let dir = std::path::absolute(dir)?;
    let path = free_path(&dir, &slug(step));
    std::fs::write(&path, markdown).map_err(|error| crate::github::annotate(&path, &error))?;
    Ok(command("task.uploadsummary", &[], &path.to_string_lossy()))
}

fn free_path(dir: &Path, slug: &str) -> PathBuf {
    let mut path = dir.join(format!("trainyard-{slug}.md"));
    let mut counter = 2;
    while path.exists() {
        path = dir.join(format!("trainyard-{slug}-{counter}.md"));
        counter += 1;
    }
    path
}

/// `config check` -> `config-check`: lowercase ASCII letters, digits and `-`.
fn slug(step: &str) -> String {
    let slug: String = step
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let slug = slug.trim_matches('-').to_owned();
    if slug.is_empty() {
        "report".to_owned()
    } else {
        slug
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trainyard_core::Location;

    #[test]
    fn log_issue_lines() {
        let finding =
            Finding::warning("r;1", "a]b\n100%").at(Location::file("x;y].csv").at(2, Some(9)));
        assert_eq!(
            log_issue(&finding).unwrap(),
            "##vso[task.logissue type=warning;sourcepath=x%3By%5D.csv;linenumber=2;columnnumber=9;code=r%3B1]a]b%0A100%AZP25"
        );
        assert_eq!(log_issue(&Finding::notice("n", "m")), None);
        assert_eq!(
            log_issue(&Finding::error("", "m")).unwrap(),
            "##vso[task.logissue type=error]m"
        );
    }

    #[test]
    fn outputs_masks_groups() {
        assert_eq!(
            set_output("a", "1\n2"),
            "##vso[task.setvariable variable=a;isOutput=true]1%0A2"
        );
        assert_eq!(
            mask_commands("s1\r\ns2\n"),
            ["##vso[task.setsecret]s1", "##vso[task.setsecret]s2"]
        );
        assert_eq!(group_start("a\n##vso[x]"), "##[group]a ##vso [x]");
    }

    #[test]
    fn summary_file_is_named_after_the_step_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let first = write_summary(dir.path(), "config check", "# a").unwrap();
        let second = write_summary(dir.path(), "config check", "# b").unwrap();
        let expected = dir.path().join("trainyard-config-check.md");
        assert_eq!(
            first,
            format!("##vso[task.uploadsummary]{}", expected.display())
        );
        assert!(second.ends_with("trainyard-config-check-2.md"), "{second}");
        assert_eq!(std::fs::read_to_string(expected).unwrap(), "# a");
        assert_eq!(slug("../Évil step"), "vil-step");
        assert_eq!(slug("::"), "report");
    }
}
