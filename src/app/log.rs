//! The live log of a long-running step: the output of a command it runs
//! (training, a deployment tool) has to reach the person while it runs, not
//! in the Report at the end. Steps still never print: they write lines to the
//! [`LogStream`] the CLI gives them, and the CLI decides where they go (a CI
//! log group on stdout, stderr when stdout carries JSON, nowhere in tests).

use std::fmt;
use std::io;
use std::sync::Mutex;

/// Where the lines go; the CLI implements it on top of the publisher.
pub trait LogSink: Send {
    fn group_start(&mut self, title: &str) -> io::Result<()>;
    fn line(&mut self, text: &str) -> io::Result<()>;
    fn group_end(&mut self) -> io::Result<()>;
}

/// A step's live log. Writing never fails the step: a log that cannot be
/// written (a closed pipe) is dropped, the work goes on.
pub struct LogStream {
    sink: Mutex<Option<Box<dyn LogSink>>>,
}

impl fmt::Debug for LogStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogStream").finish_non_exhaustive()
    }
}

impl Default for LogStream {
    fn default() -> Self {
        Self::discard()
    }
}

impl LogStream {
    /// A log that goes nowhere (quickstart's inner steps, tests).
    pub fn discard() -> Self {
        Self {
            sink: Mutex::new(None),
        }
    }

    pub fn new(sink: impl LogSink + 'static) -> Self {
        Self {
            sink: Mutex::new(Some(Box::new(sink))),
        }
    }

    /// Starts a collapsible group; it ends when the guard is dropped.
    pub fn group(&self, title: &str) -> LogGroup<'_> {
        self.with(|sink| sink.group_start(title));
        LogGroup { log: self }
    }

    pub fn line(&self, text: &str) {
        self.with(|sink| sink.line(text));
    }

    fn with(&self, write: impl FnOnce(&mut dyn LogSink) -> io::Result<()>) {
        let mut guard = self
            .sink
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(sink) = guard.as_mut()
            && write(sink.as_mut()).is_err()
        {
            *guard = None;
        }
    }
}

/// An open log group; dropping it ends the group.
#[derive(Debug)]
pub struct LogGroup<'a> {
    log: &'a LogStream,
}

impl LogGroup<'_> {
    pub fn line(&self, text: &str) {
        self.log.line(text);
    }
}

impl Drop for LogGroup<'_> {
    fn drop(&mut self) {
        self.log.with(|sink| sink.group_end());
    }
}
