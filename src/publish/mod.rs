//! After the CLI: run the step a request names, then turn its Report (or its
//! error) into everything a person or machine sees — the publisher of
//! `trainyard-ci` (console, JSON, outputs, summary, annotations) and then
//! `trainyard_forge::publish` (check runs, statuses, the sticky comment, the
//! Report's forge requests), through `forge.rs`, which also keeps the Report
//! for `trainyard report` and answers the steps' questions to the forge.

mod forge;
mod log;

use std::io::Write;
use std::path::PathBuf;

use trainyard_ci::{Env, Host, OutputFormat, Publisher};
use trainyard_core::ExitStatus;

use crate::app::{LogStream, StepContext};
use crate::steps::{self, Request};

pub use forge::CiForgeEvidence;

/// How the console text looks, from the global options.
#[derive(Debug, Clone, Copy)]
pub struct Console {
    /// `--color`: `Auto` colours a TTY unless `NO_COLOR` is set
    /// (`CLICOLOR_FORCE` forces it); `Always` and `Never` are the user's word.
    pub color: anstream::ColorChoice,
    /// `--verbose`: every row, output and folded section on a terminal.
    pub verbose: bool,
}

impl Console {
    /// Whether text written to `stream` is coloured.
    fn color_on(self, stream: &impl anstream::stream::RawStream) -> bool {
        match self.color {
            anstream::ColorChoice::Auto => {
                anstream::AutoStream::choice(stream) != anstream::ColorChoice::Never
            }
            choice => choice != anstream::ColorChoice::Never,
        }
    }
}

/// Runs `request` with the process's environment and publishes the result;
/// returns how the process exits.
pub fn run(
    request: &Request,
    env: Env,
    manifest_path: PathBuf,
    format: OutputFormat,
    console: Console,
) -> ExitStatus {
    let host = Host::detect(&env);
    let stdout = std::io::stdout();
    let color = console.color_on(&stdout);
    let forge = Box::new(CiForgeEvidence::new(&env));
    let mut context = StepContext::new(env, manifest_path, forge);
    context.log = LogStream::new(log::CiLog::new(host, format, &context.env, color));
    let step = request.step();

    // Every URL shown (console, JSON, annotations, summary, the forge) loses its userinfo and query.
    match steps::run(request, &context)
        .map(|report| trainyard_ci::redact::report(&report))
        .map_err(|error| trainyard_ci::redact::error(&error))
    {
        Ok(report) => {
            let mut publisher = Publisher::new(host, format, &context.env, stdout.lock(), color)
                .with_verbose(console.verbose);
            match publisher.publish(&report) {
                // A reader that stopped reading (`trainyard … | head -1`) took
                // what it wanted: the step's result stands.
                Ok(()) => {
                    drop(publisher);
                    forge::publish(&report, &context, host, format)
                }
                Err(error) if is_closed_output(&error) => {
                    drop(publisher);
                    forge::publish(&report, &context, host, format)
                }
                Err(error) => report_publish_failure(&error),
            }
        }
        Err(error) => {
            // People read errors on stderr; CI reads workflow commands and JSON on stdout.
            let published = if host == Host::Terminal && format == OutputFormat::Text {
                let stderr = std::io::stderr();
                let color = console.color_on(&stderr);
                Publisher::new(host, format, &context.env, stderr.lock(), color)
                    .publish_error(step.name(), &error)
            } else {
                Publisher::new(host, format, &context.env, stdout.lock(), color)
                    .publish_error(step.name(), &error)
            };
            match published {
                Ok(()) => forge::publish_error(step, &error, &context, host, format),
                Err(publish_error) if is_closed_output(&publish_error) => {
                    forge::publish_error(step, &error, &context, host, format)
                }
                Err(publish_error) => report_publish_failure(&publish_error),
            }
        }
    }
}

/// Whether writing failed because the reader closed its end (`| head -1`):
/// not a failure of the step, so it ends quietly with the step's own exit code.
pub fn is_closed_output(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::BrokenPipe
}

/// Output that could not be written (a full disk, a device error); a closed
/// pipe is not this (see [`is_closed_output`]).
pub fn report_publish_failure(error: &std::io::Error) -> ExitStatus {
    let _ = writeln!(
        std::io::stderr(),
        "error: could not write the step's output: {error}"
    );
    ExitStatus::Environment
}
