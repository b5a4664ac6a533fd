//! The `trainyard` binary: parse, dispatch, publish, exit. Nothing else lives here.
//!
//! Data flows one way: `cli` (clap, into a request) -> `steps` (a request
//! in, a Report out, using `app`'s shared services and the domain crates)
//! -> `publish` (console, CI outputs, the forge).

use std::process::ExitCode;

mod app;
mod cli;
mod publish;
mod requests;
mod steps;

fn main() -> ExitCode {
    // First: the signal thread must exist before any other thread starts.
    app::interrupt::install();
    let status = cli::run().code();
    // A signal the step handled (a cancelled training) ends with 130 or 143.
    ExitCode::from(app::interrupt::exit_code().unwrap_or(status))
}
