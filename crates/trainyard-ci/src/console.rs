//! Console text of a CI log (GitHub Actions, Azure Pipelines); a terminal
//! gets `terminal::render`. Errors (`render_error`) and finding lines are
//! the same for both.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};
use trainyard_core::{Conclusion, Finding, Report, Severity, StepError};

use crate::escape::visible;

/// Renders a report: a first line with a symbol, the step, the conclusion and
/// the title; each finding (`  error[rule] file:line:col: message`); each
/// output (`  name = value`); the report's summary markdown, indented, when
/// not empty; then each child, indented, with the same layout.
pub fn render(report: &Report, color: bool) -> String {
    let mut out = String::new();
    render_at(report, color, "", &mut out);
    out
}

fn render_at(report: &Report, color: bool, indent: &str, out: &mut String) {
    let (symbol, style) = match report.conclusion {
        Conclusion::Success => ("✔", AnsiColor::Green.on_default().bold()),
        Conclusion::Failure => ("✖", AnsiColor::Red.on_default().bold()),
        Conclusion::Neutral => ("–", AnsiColor::BrightBlack.on_default().bold()),
    };
    let _ = writeln!(
        out,
        "{indent}{} {} ({}): {}",
        paint(symbol, style, color),
        paint(&one_line(&report.step), Style::new().bold(), color),
        paint(&report.conclusion.to_string(), style, color),
        one_line(&report.title),
    );
    let inner = format!("{indent}  ");
    for finding in &report.findings {
        out.push_str(&finding_line(finding, color, &inner));
    }
    for (name, value) in &report.outputs {
        let head = format!(
            "{inner}{} = ",
            paint(&one_line(name), Style::new().dimmed(), color)
        );
        push_block(out, &head, &format!("{inner}    "), value);
    }
    if !report.summary.trim().is_empty() {
        out.push('\n');
        for line in visible(report.summary.trim_end()).lines() {
            if line.is_empty() {
                out.push('\n');
            } else {
                let _ = writeln!(out, "{inner}  {line}");
            }
        }
        out.push('\n');
    }
    for child in &report.children {
        render_at(child, color, &inner, out);
    }
}

/// `  error[rule] file:line:col: message`; a multi-line message continues
/// on indented lines.
pub fn finding_line(finding: &Finding, color: bool, indent: &str) -> String {
    let style = severity_style(finding.severity);
    let mut head = format!(
        "{indent}{}",
        paint(
            &format!("{}[{}]", finding.severity, one_line(&finding.rule)),
            style,
            color
        )
    );
    if let Some(location) = &finding.location {
        let _ = write!(
            head,
            " {}",
            paint(&one_line(&location.to_string()), Style::new().bold(), color)
        );
        head.push(':');
    }
    head.push(' ');
    let mut out = String::new();
    push_block(&mut out, &head, &format!("{indent}    "), &finding.message);
    out
}

/// A step that could not run: `error: <location>: <message>`, then for a
/// configuration error its snippet and `help:` line.
pub fn render_error(step: &str, error: &StepError, color: bool) -> String {
    let label = paint("error", AnsiColor::Red.on_default().bold(), color);
    let mut out = String::new();
    match error {
        StepError::Config(config) => {
            let head = format!(
                "{label}: {}: ",
                paint(
                    &one_line(&config.location().to_string()),
                    Style::new().bold(),
                    color
                )
            );
            push_block(&mut out, &head, "    ", &config.message);
            if let Some(snippet) = config.snippet() {
                for line in visible(&snippet).lines() {
                    let _ = writeln!(out, "{}", paint(line, AnsiColor::Blue.on_default(), color));
                }
            }
            if let Some(help) = &config.help {
                let head = format!(
                    "{}: ",
                    paint("help", AnsiColor::Cyan.on_default().bold(), color)
                );
                push_block(&mut out, &head, "    ", help);
            }
        }
        other => push_block(&mut out, &format!("{label}: "), "    ", &other.to_string()),
    }
    let _ = writeln!(out, "  (in step `{}`)", one_line(step));
    out
}

fn severity_style(severity: Severity) -> Style {
    match severity {
        Severity::Error => AnsiColor::Red.on_default().bold(),
        Severity::Warning => AnsiColor::Yellow.on_default().bold(),
        Severity::Notice => AnsiColor::Cyan.on_default().bold(),
    }
}

pub(crate) fn paint(text: &str, style: Style, color: bool) -> String {
    if color {
        format!("{style}{text}{style:#}")
    } else {
        text.to_owned()
    }
}

/// Text that must stay on its line: line breaks shown as `\n`, control
/// characters escaped.
pub(crate) fn one_line(text: &str) -> String {
    visible(&text.replace('\n', "\\n"))
}

/// `head` + the first line of `text`; further lines prefixed by `continuation`.
pub(crate) fn push_block(out: &mut String, head: &str, continuation: &str, text: &str) {
    let text = visible(text);
    let mut lines = text.split('\n');
    let _ = writeln!(out, "{head}{}", lines.next().unwrap_or_default());
    for line in lines {
        let _ = writeln!(out, "{continuation}{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trainyard_core::{ConfigError, Location, SourceSpan};

    #[test]
    fn a_finding_line() {
        let finding =
            Finding::error("bad-row", "two\nlines").at(Location::file("d.csv").at(3, Some(2)));
        assert_eq!(
            finding_line(&finding, false, "  "),
            "  error[bad-row] d.csv:3:2: two\n      lines\n"
        );
        let finding = Finding::notice("n", "no place");
        assert_eq!(finding_line(&finding, false, ""), "notice[n] no place\n");
    }

    #[test]
    fn colour_only_when_asked() {
        let report = Report::new("s", Conclusion::Failure, "t");
        assert!(!render(&report, false).contains('\u{1b}'));
        assert!(render(&report, true).contains("\u{1b}["));
    }

    #[test]
    fn control_characters_cannot_reach_the_terminal() {
        let report = Report::new("s\x1b[2J", Conclusion::Success, "t\rx\ny");
        let text = render(&report, false);
        assert_eq!(text, "✔ s\\u{1b}[2J (success): t\\rx\\ny\n");
    }

    #[test]
    fn a_config_error() {
        let error = StepError::from(
            ConfigError::new("trainyard.yaml", "unknown-key", "unknown key `nmae`")
                .at("project:\n  nmae: x\n", SourceSpan { line: 2, column: 3 })
                .with_help("did you mean `name`?"),
        );
        assert_eq!(
            render_error("config check", &error, false),
            "error: trainyard.yaml:2:3: unknown key `nmae`\n  |\n2 |   nmae: x\n  |   ^\nhelp: did you mean `name`?\n  (in step `config check`)\n"
        );
    }
}
