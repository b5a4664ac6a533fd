//! The live log the CLI gives long-running steps: lines go to stdout inside a
//! CI log group (`::group::` on GitHub, `##[group]` on Azure, a bold title on
//! a terminal), or to stderr when stdout carries the one JSON document.

use std::io::{self, Write};

use trainyard_ci::{Env, Host, OutputFormat, Publisher};

use crate::app::LogSink;

#[derive(Debug)]
pub struct CiLog {
    groups: Publisher<io::Stdout>,
    format: OutputFormat,
}

impl CiLog {
    pub fn new(host: Host, format: OutputFormat, env: &Env, color: bool) -> Self {
        Self {
            groups: Publisher::new(host, format, env, io::stdout(), color),
            format,
        }
    }
}

impl LogSink for CiLog {
    fn group_start(&mut self, title: &str) -> io::Result<()> {
        self.groups.group_start(title)
    }

    fn line(&mut self, text: &str) -> io::Result<()> {
        match self.format {
            OutputFormat::Text => writeln!(io::stdout().lock(), "{text}"),
            OutputFormat::Json => writeln!(io::stderr().lock(), "{text}"),
        }
    }

    fn group_end(&mut self) -> io::Result<()> {
        self.groups.group_end()
    }
}
