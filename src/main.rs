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
    ExitCode::from(cli::run().code())
}
