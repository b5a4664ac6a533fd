//! The report as markdown: the GitHub job summary, the Azure build summary tab.

use std::fmt::Write as _;

use trainyard_core::markdown::{cell, fenced, text};
use trainyard_core::{Finding, Report, Severity, StepError};

/// GitHub rejects a step summary larger than this (1 MiB).
pub const GITHUB_SUMMARY_LIMIT: usize = 1024 * 1024;

/// The report as markdown: a heading (status emoji and title), the report's
/// own summary, its findings as a table, its outputs, then each child as a
/// sub-section.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    render_at(report, 2, &mut out);
    out
}

fn render_at(report: &Report, level: usize, out: &mut String) {
    let hashes = "#".repeat(level.min(6));
    let _ = writeln!(
        out,
        "{hashes} {} {}: {}\n",
        report.conclusion.emoji(),
        text(&report.step),
        text(&report.title)
    );
    if !report.summary.trim().is_empty() {
        out.push_str(report.summary.trim_end());
        out.push_str("\n\n");
    }
    if !report.findings.is_empty() {
        out.push_str("| Severity | Rule | Where | Message |\n|---|---|---|---|\n");
        for finding in &report.findings {
            let _ = writeln!(
                out,
                "| {} {} | {} | {} | {} |",
                severity_emoji(finding.severity),
                finding.severity,
                cell(&finding.rule),
                finding
                    .location
                    .as_ref()
                    .map_or_else(String::new, |location| cell(&location.to_string())),
                cell(&finding.message)
            );
        }
        out.push('\n');
    }
    if !report.outputs.is_empty() {
        out.push_str("| Output | Value |\n|---|---|\n");
        for (name, value) in &report.outputs {
            let _ = writeln!(out, "| {} | {} |", cell(name), cell(value));
        }
        out.push('\n');
    }
    for child in &report.children {
        render_at(child, level + 1, out);
    }
}

/// A step that could not produce a report, as markdown.
pub fn render_error(step: &str, error: &StepError) -> String {
    let mut out = format!("## ❌ {}: error\n\n", text(step));
    match error {
        StepError::Config(config) => {
            let finding: Finding = config.to_finding();
            let _ = writeln!(
                out,
                "**{}** at {}: {}\n",
                text(finding.rule.as_str()),
                text(&config.location().to_string()),
                text(&config.message)
            );
            if let Some(snippet) = config.snippet() {
                out.push_str(&fenced("", &snippet));
                out.push('\n');
            }
            if let Some(help) = &config.help {
                let _ = writeln!(out, "help: {}\n", text(help));
            }
        }
        other => {
            let _ = writeln!(out, "{}\n", text(&other.to_string()));
        }
    }
    out
}

/// Cuts `markdown` at a line boundary so that it and a note saying it was
/// cut fit in `limit` bytes. Returns it whole when it already fits; returns
/// "" when not even the note fits.
pub fn truncate(markdown: &str, limit: usize) -> String {
    if markdown.len() <= limit {
        return markdown.to_owned();
    }
    let note = "\n> [!WARNING]\n> This summary was truncated to fit GitHub's 1 MiB step summary limit. \
                Run the step with `--format json` for the full report.\n";
    let Some(budget) = limit.checked_sub(note.len()) else {
        return String::new();
    };
    // The longest prefix ending with a newline that fits the budget.
    let cut = markdown.as_bytes()[..budget]
        .iter()
        .rposition(|&byte| byte == b'\n')
        .map_or(0, |index| index + 1);
    let mut out = String::with_capacity(cut + note.len());
    out.push_str(&markdown[..cut]);
    out.push_str(note);
    out
}

fn severity_emoji(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "❌",
        Severity::Warning => "⚠️",
        Severity::Notice => "ℹ️",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trainyard_core::Conclusion;
    use trainyard_core::Location;

    #[test]
    fn truncation_cuts_at_a_line_below_the_limit() {
        let text = "a line\n".repeat(100);
        let cut = truncate(&text, 400);
        assert!(cut.len() <= 400, "{}", cut.len());
        assert!(cut.contains("--format json"));
        let kept = &cut[..cut.find("\n> [!WARNING]").unwrap()];
        assert!(text.starts_with(kept) && kept.ends_with('\n'));
        assert_eq!(truncate("short\n", 400), "short\n");
        assert_eq!(truncate(&text, 10), "");
    }

    #[test]
    fn children_are_sub_sections() {
        let mut parent = Report::new("quickstart", Conclusion::Success, "all");
        let mut child = Report::new("config check", Conclusion::Success, "ok");
        child.push_finding(
            Finding::warning("w", "careful").at(Location::file("a.yaml").at(1, None)),
        );
        parent.push_child(child);
        let markdown = render(&parent);
        assert!(
            markdown.starts_with("## ✅ quickstart: all\n"),
            "{markdown}"
        );
        assert!(markdown.contains("### ✅ config check: ok\n"), "{markdown}");
        assert!(
            markdown.contains("| ⚠️ warning | w | a.yaml:1 | careful |"),
            "{markdown}"
        );
    }
}
