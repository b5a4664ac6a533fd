//! The publisher: turns a Report (or a StepError) into everything a person or
//! a machine sees, for the host we run on.

use std::fmt;
use std::io::{self, Write};
use std::path::PathBuf;
use std::str::FromStr;

use serde_json::json;
use trainyard_core::{Finding, Location, Report, StepError};

use crate::env::Env;
use crate::escape::azure_log_text;
use crate::host::Host;
use crate::terminal::{self, TerminalOptions};
use crate::{azure, console, github, summary};

/// How results are printed on `out`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Console text for people (and, in CI, workflow commands).
    Text,
    /// Exactly one JSON document; no workflow commands on `out`.
    Json,
}

impl FromStr for OutputFormat {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        match value {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            other => Err(format!("{other:?} is not a format; expected text or json")),
        }
    }
}

/// Publishes reports for one host. Console text, JSON and workflow commands go
/// to `out` (stdout in the binary); GitHub's GITHUB_OUTPUT and
/// GITHUB_STEP_SUMMARY files and Azure's summary file are written directly.
///
/// In Json format nothing but the JSON document goes to `out`; secret masks,
/// which must not be skipped, then go to the side channel (stderr by default;
/// both runners read workflow commands from stderr too).
pub struct Publisher<W: Write> {
    host: Host,
    format: OutputFormat,
    out: W,
    color: bool,
    verbose: bool,
    github_output: Option<PathBuf>,
    github_step_summary: Option<PathBuf>,
    azure_temp_dir: PathBuf,
    side: Box<dyn Write + Send>,
}

impl<W: Write> fmt::Debug for Publisher<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Publisher")
            .field("host", &self.host)
            .field("format", &self.format)
            .field("color", &self.color)
            .field("verbose", &self.verbose)
            .field("github_output", &self.github_output)
            .field("github_step_summary", &self.github_step_summary)
            .field("azure_temp_dir", &self.azure_temp_dir)
            .finish_non_exhaustive()
    }
}

impl<W: Write> Publisher<W> {
    /// `color` is used for console text only (the binary decides it: a TTY
    /// and no NO_COLOR).
    pub fn new(host: Host, format: OutputFormat, env: &Env, out: W, color: bool) -> Self {
        Self {
            host,
            format,
            out,
            color,
            verbose: false,
            github_output: env.get("GITHUB_OUTPUT").map(PathBuf::from),
            github_step_summary: env.get("GITHUB_STEP_SUMMARY").map(PathBuf::from),
            azure_temp_dir: env
                .get("AGENT_TEMPDIRECTORY")
                .map_or_else(std::env::temp_dir, PathBuf::from),
            side: Box::new(io::stderr()),
        }
    }

    /// On a terminal: every row of a table, every output and every folded
    /// section (`--verbose`).
    #[must_use]
    pub fn with_verbose(mut self, verbose: bool) -> Self {
        self.verbose = verbose;
        self
    }

    /// Where secret masks go in Json format (stderr unless set).
    #[must_use]
    pub fn with_side_channel(mut self, side: impl Write + Send + 'static) -> Self {
        self.side = Box::new(side);
        self
    }

    /// Publishes a step's report: console text or JSON on `out`; in CI also
    /// annotations, step outputs (with `conclusion` added) and the summary.
    pub fn publish(&mut self, report: &Report) -> io::Result<()> {
        let report = with_conclusion(&crate::redact::report(report));
        match self.format {
            OutputFormat::Text => {
                let text = match self.host {
                    Host::Terminal => terminal::render(
                        &report,
                        TerminalOptions {
                            color: self.color,
                            verbose: self.verbose,
                        },
                    ),
                    Host::GitHubActions | Host::AzurePipelines => {
                        console::render(&report, self.color)
                    }
                };
                self.write_log_text(&text)?;
            }
            OutputFormat::Json => {
                serde_json::to_writer_pretty(&mut self.out, &report)?;
                self.out.write_all(b"\n")?;
            }
        }
        match self.host {
            Host::Terminal => {}
            Host::GitHubActions => {
                if self.format == OutputFormat::Text {
                    for line in github::annotations(&report.all_findings()) {
                        writeln!(self.out, "{line}")?;
                    }
                }
                if let Some(path) = &self.github_output {
                    github::write_outputs(path, &report.outputs)?;
                }
                if let Some(path) = &self.github_step_summary {
                    github::append_summary(path, &summary::render(&report))?;
                }
            }
            Host::AzurePipelines => {
                if self.format == OutputFormat::Text {
                    for finding in report.all_findings() {
                        if let Some(line) = azure::log_issue(finding) {
                            writeln!(self.out, "{line}")?;
                        }
                    }
                    for (name, value) in &report.outputs {
                        writeln!(self.out, "{}", azure::set_output(name, value))?;
                    }
                    let line = azure::write_summary(
                        &self.azure_temp_dir,
                        &report.step,
                        &summary::render(&report),
                    )?;
                    writeln!(self.out, "{line}")?;
                }
            }
        }
        self.out.flush()
    }

    /// Publishes a step that could not produce a report: `error: <location>:
    /// <message>` (with the snippet and help of a configuration error), or the
    /// JSON error document; in CI also an error annotation at the error's
    /// location, so a broken trainyard.yaml is marked in the PR.
    pub fn publish_error(&mut self, step: &str, error: &StepError) -> io::Result<()> {
        let error = &crate::redact::error(error);
        match self.format {
            OutputFormat::Text => {
                let text = console::render_error(step, error, self.color);
                self.write_log_text(&text)?;
            }
            OutputFormat::Json => {
                serde_json::to_writer_pretty(&mut self.out, &error_document(step, error))?;
                self.out.write_all(b"\n")?;
            }
        }
        let finding = error_finding(error);
        match self.host {
            Host::Terminal => {}
            Host::GitHubActions => {
                if self.format == OutputFormat::Text {
                    writeln!(self.out, "{}", github::annotation(&finding))?;
                }
                if let Some(path) = &self.github_step_summary {
                    github::append_summary(path, &summary::render_error(step, error))?;
                }
            }
            Host::AzurePipelines => {
                if self.format == OutputFormat::Text
                    && let Some(line) = azure::log_issue(&finding)
                {
                    writeln!(self.out, "{line}")?;
                }
            }
        }
        self.out.flush()
    }

    /// Tells the host to hide `secret` (each of its lines) in logs. Nothing on
    /// a terminal.
    pub fn mask(&mut self, secret: &str) -> io::Result<()> {
        let lines = match self.host {
            Host::Terminal => return Ok(()),
            Host::GitHubActions => github::mask_commands(secret),
            Host::AzurePipelines => azure::mask_commands(secret),
        };
        let sink: &mut dyn Write = match self.format {
            OutputFormat::Text => &mut self.out,
            OutputFormat::Json => &mut self.side,
        };
        for line in lines {
            writeln!(sink, "{line}")?;
        }
        sink.flush()
    }

    /// Starts a collapsible log group (a bold heading on a terminal). Nothing
    /// in Json format.
    pub fn group_start(&mut self, title: &str) -> io::Result<()> {
        if self.format == OutputFormat::Json {
            return Ok(());
        }
        match self.host {
            Host::GitHubActions => writeln!(
                self.out,
                "{}",
                github::command("group", &[], &crate::escape::single_line(title))
            ),
            Host::AzurePipelines => writeln!(self.out, "{}", azure::group_start(title)),
            Host::Terminal => {
                let title = crate::escape::visible(&crate::escape::single_line(title));
                if self.color {
                    let bold = anstyle::Style::new().bold();
                    writeln!(self.out, "{bold}{title}{bold:#}")
                } else {
                    writeln!(self.out, "{title}")
                }
            }
        }
    }

    /// Ends the log group.
    pub fn group_end(&mut self) -> io::Result<()> {
        if self.format == OutputFormat::Json {
            return Ok(());
        }
        match self.host {
            Host::GitHubActions => writeln!(self.out, "::endgroup::"),
            Host::AzurePipelines => writeln!(self.out, "{}", azure::GROUP_END),
            Host::Terminal => Ok(()),
        }
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    /// Console text that must not run as commands: on GitHub wrapped in
    /// `::stop-commands::`, on Azure with `##vso[` / `##[` defused.
    fn write_log_text(&mut self, text: &str) -> io::Result<()> {
        match self.host {
            Host::Terminal => self.out.write_all(text.as_bytes()),
            Host::AzurePipelines => self.out.write_all(azure_log_text(text).as_bytes()),
            Host::GitHubActions => {
                let token = github::stop_commands_token(text);
                writeln!(self.out, "::stop-commands::{token}")?;
                self.out.write_all(text.as_bytes())?;
                writeln!(self.out, "::{token}::")
            }
        }
    }
}

/// The report with `conclusion` among the outputs of it and every child.
fn with_conclusion(report: &Report) -> Report {
    let mut report = report.clone();
    add_conclusion(&mut report);
    report
}

fn add_conclusion(report: &mut Report) {
    report
        .outputs
        .insert("conclusion".to_owned(), report.conclusion.to_string());
    for child in &mut report.children {
        add_conclusion(child);
    }
}

/// A stable rule id for a step error.
pub fn error_rule(error: &StepError) -> &str {
    match error {
        StepError::Config(config) => config.rule,
        StepError::Usage(_) => "usage",
        StepError::Io { .. } => "io",
        StepError::Environment(_) => "environment",
    }
}

fn error_location(error: &StepError) -> Option<Location> {
    match error {
        StepError::Config(config) => Some(config.location()),
        StepError::Io { path, .. } => Some(Location::file(path.to_string_lossy())),
        StepError::Usage(_) | StepError::Environment(_) => None,
    }
}

/// The error as a finding, for an annotation.
fn error_finding(error: &StepError) -> Finding {
    match error {
        StepError::Config(config) => config.to_finding(),
        other => Finding::error(error_rule(other), other.to_string()),
    }
}

/// `{"error":{"step","exit-code","rule","message","location","help"}}`
pub fn error_document(step: &str, error: &StepError) -> serde_json::Value {
    let (message, help) = match error {
        StepError::Config(config) => (config.message.clone(), config.help.clone()),
        other => (other.to_string(), None),
    };
    json!({
        "error": {
            "step": step,
            "exit-code": error.exit_status().code(),
            "rule": error_rule(error),
            "message": message,
            "location": error_location(error),
            "help": help,
        }
    })
}
