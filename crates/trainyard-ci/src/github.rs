//! GitHub Actions: workflow commands (annotations, groups, masks,
//! stop-commands) and environment files (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::io::{self, Write as _};
use std::path::Path;

use trainyard_core::{Finding, Severity};

use crate::escape::{github_data, github_property};
use crate::random::token_not_in;
use crate::summary::{GITHUB_SUMMARY_LIMIT, truncate};

/// GitHub shows at most this many annotations of each type per step.
pub const ANNOTATIONS_PER_TYPE: usize = 10;

/// The workflow command name for a severity.
pub fn command_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Notice => "notice",
    }
}

/// `::error title=T,file=F,line=L,endLine=..,col=C,endColumn=..::MESSAGE`, the
/// properties in `@actions/core`'s order (so the line is byte-identical to
/// `core.error(message, {title, file, startLine, ...})`), the title being the
/// rule. No trailing newline.
pub fn annotation(finding: &Finding) -> String {
    let mut properties: Vec<(&str, String)> = Vec::new();
    if !finding.rule.is_empty() {
        properties.push(("title", finding.rule.clone()));
    }
    if let Some(location) = &finding.location {
        if !location.file.is_empty() {
            properties.push(("file", location.file.clone()));
        }
        let numbers = [
            ("line", location.line),
            ("endLine", location.end_line),
            ("col", location.column),
            ("endColumn", location.end_column),
        ];
        for (name, value) in numbers {
            // @actions/core drops falsy values, 0 included.
            if let Some(value) = value.filter(|&v| v != 0) {
                properties.push((name, value.to_string()));
            }
        }
    }
    command(
        command_name(finding.severity),
        &properties,
        &finding.message,
    )
}

/// A workflow command line: `::name k=v,k=v::data`, escaped as `@actions/core` does.
pub fn command(name: &str, properties: &[(&str, String)], data: &str) -> String {
    let mut line = format!("::{name}");
    for (index, (key, value)) in properties.iter().enumerate() {
        line.push(if index == 0 { ' ' } else { ',' });
        line.push_str(key);
        line.push('=');
        line.push_str(&github_property(value));
    }
    line.push_str("::");
    line.push_str(&github_data(data));
    line
}

/// A line about trainyard itself rather than a finding (`::warning
/// title=trainyard::…`): GitHub refusing a write, an output not written.
pub fn message(severity: Severity, text: &str) -> String {
    command(
        command_name(severity),
        &[("title", "trainyard".to_owned())],
        text,
    )
}

/// The annotation lines for `findings` (in report order): errors, then
/// warnings, then notices. Of a type with more than ten, the first nine are
/// shown and a tenth says how many more the job summary lists.
pub fn annotations(findings: &[&Finding]) -> Vec<String> {
    let mut lines = Vec::new();
    for severity in [Severity::Error, Severity::Warning, Severity::Notice] {
        let of_type: Vec<&Finding> = findings
            .iter()
            .copied()
            .filter(|f| f.severity == severity)
            .collect();
        if of_type.len() <= ANNOTATIONS_PER_TYPE {
            lines.extend(of_type.iter().map(|finding| annotation(finding)));
        } else {
            let shown = ANNOTATIONS_PER_TYPE - 1;
            lines.extend(of_type[..shown].iter().map(|finding| annotation(finding)));
            let hidden = of_type.len() - shown;
            let noun = match (severity, hidden) {
                (Severity::Error, 1) => "error",
                (Severity::Error, _) => "errors",
                (Severity::Warning, 1) => "warning",
                (Severity::Warning, _) => "warnings",
                (Severity::Notice, 1) => "notice",
                (Severity::Notice, _) => "notices",
            };
            lines.push(message(
                severity,
                &format!("{hidden} more {noun} not shown as annotations: see the job summary"),
            ));
        }
    }
    lines
}

/// `::add-mask::` lines for a secret: one per non-blank line, since the
/// runner masks log lines one at a time.
pub fn mask_commands(secret: &str) -> Vec<String> {
    secret
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .filter(|line| !line.trim().is_empty())
        .map(|line| command("add-mask", &[], line))
        .collect()
}

/// A token for `::stop-commands::TOKEN` ... `::TOKEN::` around untrusted text,
/// so that no line of it runs as a workflow command.
pub fn stop_commands_token(text: &str) -> String {
    token_not_in("trainyard-", &[text])
}

/// The GITHUB_OUTPUT text for `outputs`: `name=value` lines, and for a value
/// with a line break `name<<DELIM`, the value, `DELIM`, where DELIM is
/// `ghadelimiter_` + random hex not found in the value.
pub fn output_file_text(outputs: &BTreeMap<String, String>) -> io::Result<String> {
    let mut text = String::new();
    for (name, value) in outputs {
        if name.is_empty() || name.contains(['=', '\n', '\r']) || name.contains("<<") {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{name:?} cannot be a GitHub output name (no `=`, `<<` or line breaks)"),
            ));
        }
        if value.contains(['\n', '\r']) {
            let delimiter = token_not_in("ghadelimiter_", &[value, name]);
            let _ = write!(text, "{name}<<{delimiter}\n{value}\n{delimiter}\n");
        } else {
            let _ = writeln!(text, "{name}={value}");
        }
    }
    Ok(text)
}

/// Appends `outputs` to the GITHUB_OUTPUT file.
pub fn write_outputs(path: &Path, outputs: &BTreeMap<String, String>) -> io::Result<()> {
    let text = output_file_text(outputs)?;
    append(path, &text)
}

/// Appends `markdown` to the GITHUB_STEP_SUMMARY file, truncated (at a line
/// boundary, with a note) so the whole file stays under GitHub's 1 MiB limit.
pub fn append_summary(path: &Path, markdown: &str) -> io::Result<()> {
    let existing = match std::fs::metadata(path) {
        Ok(metadata) => usize::try_from(metadata.len()).unwrap_or(usize::MAX),
        Err(error) if error.kind() == io::ErrorKind::NotFound => 0,
        Err(error) => return Err(annotate(path, &error)),
    };
    // Strictly below the cap.
    let room = (GITHUB_SUMMARY_LIMIT - 1).saturating_sub(existing);
    let text = truncate(markdown, room);
    append(path, &text)
}

pub(crate) fn append(path: &Path, text: &str) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|error| annotate(path, &error))?;
    file.write_all(text.as_bytes())
        .map_err(|error| annotate(path, &error))
}

/// The error with the file it concerns, keeping its kind.
pub(crate) fn annotate(path: &Path, error: &io::Error) -> io::Error {
    io::Error::new(error.kind(), format!("{}: {error}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use trainyard_core::Location;

    #[test]
    fn annotation_lines() {
        let finding = Finding::error("bad-row", "100% wrong\nreally").at(Location {
            file: "data/a,b:c.csv".into(),
            line: Some(3),
            column: Some(4),
            end_line: Some(5),
            end_column: None,
        });
        assert_eq!(
            annotation(&finding),
            "::error title=bad-row,file=data/a%2Cb%3Ac.csv,line=3,endLine=5,col=4::100%25 wrong%0Areally"
        );
        assert_eq!(annotation(&Finding::notice("", "n")), "::notice::n");
    }

    #[test]
    fn messages_about_trainyard_carry_its_name_as_title() {
        assert_eq!(
            message(Severity::Warning, "GitHub refused: 100%"),
            "::warning title=trainyard::GitHub refused: 100%25"
        );
    }

    #[test]
    fn masks_each_line() {
        assert_eq!(
            mask_commands("a%b\r\n\n  \nc"),
            ["::add-mask::a%25b", "::add-mask::c"]
        );
    }

    #[test]
    fn outputs_text_and_bad_names() {
        let outputs = BTreeMap::from([
            ("a".to_owned(), "1".to_owned()),
            ("b".to_owned(), "x\ny".to_owned()),
        ]);
        let text = output_file_text(&outputs).unwrap();
        assert!(text.starts_with("a=1\nb<<ghadelimiter_"), "{text}");
        assert!(text.ends_with('\n'));
        let bad = BTreeMap::from([("a=b".to_owned(), "1".to_owned())]);
        assert_eq!(
            output_file_text(&bad).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }

    #[test]
    fn io_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing-dir").join("out");
        let error =
            write_outputs(&path, &BTreeMap::from([("a".to_owned(), "1".to_owned())])).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
        assert!(error.to_string().contains("missing-dir"), "{error}");
    }

    #[test]
    fn the_summary_cap_counts_what_the_file_already_holds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.md");
        std::fs::write(&path, "x".repeat(GITHUB_SUMMARY_LIMIT - 1000)).unwrap();
        let markdown = "line\n".repeat(200);
        append_summary(&path, &markdown).unwrap();
        let len = usize::try_from(std::fs::metadata(&path).unwrap().len()).unwrap();
        assert!(len < GITHUB_SUMMARY_LIMIT, "{len}");
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .contains("--format json")
        );
    }
}
