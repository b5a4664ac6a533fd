//! The `trainyard` binary: parse, dispatch, publish, exit. Nothing else lives here.

use std::process::ExitCode;

mod cli;
mod steps;

fn main() -> ExitCode {
    ExitCode::from(cli::run().code())
}
