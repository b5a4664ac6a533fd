//! Running the command: no shell, its own process group, output streamed line
//! by line to a callback that may ask to stop, a timeout, and an end that
//! always takes the whole process tree with it.
//!
//! The command is the leader of a new process group (`setpgid(0, 0)` through
//! std's safe `CommandExt::process_group`), so its children and grandchildren
//! share the group and one `killpg` reaches them all. To stop (early stop or
//! timeout) the group gets SIGTERM, then SIGKILL after a grace period; when
//! the caller reports a signal it received (SIGINT, SIGTERM: the CI cancelled
//! the job, a person pressed Ctrl-C), the group gets that same signal, then
//! SIGKILL after the grace period. When
//! the leader exits by itself, whatever it left behind in the group is killed
//! too: a run owns nothing after it ends. A descendant that moves itself into
//! another group or session (`setsid`, a daemon) escapes, as with any
//! process-group supervisor.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

/// A line longer than this is passed on in pieces, so memory stays bounded
/// whatever the command writes.
pub const MAX_LINE: usize = 64 * 1024;

/// What to run and how long it may take.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub program: OsString,
    pub args: Vec<OsString>,
    pub cwd: PathBuf,
    /// Added to (or overriding) the inherited environment.
    pub env: Vec<(OsString, OsString)>,
    /// Inherited variables the command must not see (none by default;
    /// trainyard names the CI's credentials, `trainyard_ci::CREDENTIAL_VARIABLES`).
    pub remove_env: Vec<OsString>,
    pub timeout: Option<Duration>,
    /// Between SIGTERM and SIGKILL when stopping.
    pub grace: Duration,
    /// Set (to the signal's number) when the caller received a signal that
    /// cancels the run: the group gets that signal, then SIGKILL after
    /// `grace`, and the run ends as [`Finish::Cancelled`]. Read every
    /// [`CANCEL_POLL`].
    pub cancel: Option<Arc<AtomicI32>>,
}

/// How often the run looks at [`RunOptions::cancel`].
pub const CANCEL_POLL: Duration = Duration::from_millis(50);

impl RunOptions {
    pub fn new(command: &[String], cwd: impl Into<PathBuf>) -> Self {
        let mut parts = command.iter().map(OsString::from);
        Self {
            program: parts.next().unwrap_or_default(),
            args: parts.collect(),
            cwd: cwd.into(),
            env: Vec::new(),
            remove_env: Vec::new(),
            timeout: None,
            grace: Duration::from_secs(5),
            cancel: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// A line the command wrote, without its line ending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLine<'a> {
    pub stream: Stream,
    pub text: &'a str,
}

/// What the line callback wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Continue,
    /// End the process tree now (the caller keeps the reason).
    Stop,
}

/// How the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// The command ended by itself: its exit code, or the signal that ended it.
    Exited {
        code: Option<i32>,
        signal: Option<i32>,
    },
    /// The callback asked to stop.
    Stopped,
    TimedOut,
    /// The caller received this signal ([`RunOptions::cancel`]) and passed it on.
    Cancelled {
        signal: i32,
    },
}

impl Finish {
    pub fn succeeded(self) -> bool {
        self == Finish::Exited {
            code: Some(0),
            signal: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunSummary {
    pub finish: Finish,
    pub duration: Duration,
    /// The leader's process id (also the process group id).
    pub pid: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("the command is empty")]
    Empty,
    #[error(
        "`{program}` was not found; install it or put it on PATH (the command runs without a shell)"
    )]
    NotFound { program: String },
    #[error("could not start `{program}`: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
}

enum Event {
    Line(Stream, String),
    Closed,
    Exited(std::process::ExitStatus),
    WaitFailed,
}

/// Runs the command, calling `on_line` for each line of its output as it
/// arrives, until it ends, `on_line` returns [`Control::Stop`], or the timeout
/// passes. Returns when the process tree is gone (or, for descendants that
/// left the group and keep the output open, after the grace period).
#[allow(clippy::too_many_lines)] // one event loop, read top to bottom
pub fn run_command(
    options: &RunOptions,
    mut on_line: impl FnMut(OutputLine<'_>) -> Control,
) -> Result<RunSummary, RunError> {
    if options.program.is_empty() {
        return Err(RunError::Empty);
    }
    let program = options.program.to_string_lossy().into_owned();
    let started = Instant::now();
    let mut command = Command::new(&options.program);
    command.args(&options.args).current_dir(&options.cwd);
    for name in &options.remove_env {
        command.env_remove(name);
    }
    command
        .envs(options.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    tree::own_group(&mut command);
    let mut child = command.spawn().map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => RunError::NotFound {
            program: program.clone(),
        },
        _ => RunError::Spawn {
            program: program.clone(),
            source,
        },
    })?;
    let pid = child.id();

    let (sender, events) = mpsc::channel();
    let mut readers = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        readers.push(spawn_reader(stdout, Stream::Stdout, sender.clone()));
    }
    if let Some(stderr) = child.stderr.take() {
        readers.push(spawn_reader(stderr, Stream::Stderr, sender.clone()));
    }
    let waiter = sender;
    thread::spawn(move || {
        let event = child.wait().map_or(Event::WaitFailed, Event::Exited);
        let _ = waiter.send(event);
    });

    let deadline = options.timeout.map(|timeout| started + timeout);
    let mut open_streams = readers.len();
    let mut exited = false;
    let mut exit = None;
    let mut ending: Option<Finish> = None;
    // When to SIGKILL the group, once SIGTERM was sent.
    let mut kill_at: Option<Instant> = None;
    // After the leader exited: how long to wait for the output to close.
    let mut drain_until: Option<Instant> = None;

    loop {
        if exited && open_streams == 0 {
            break;
        }
        let now = Instant::now();
        if drain_until.is_some_and(|until| now >= until) {
            break; // a descendant outside the group holds the output open
        }
        if ending.is_none() && deadline.is_some_and(|deadline| now >= deadline) {
            ending = Some(Finish::TimedOut);
            tree::terminate(pid);
            kill_at = Some(now + options.grace);
        }
        if !exited
            && !matches!(ending, Some(Finish::Cancelled { .. }))
            && let Some(signal) = cancelled(options.cancel.as_ref())
        {
            // Passed on once; the group has `grace` (or less, when a stop
            // or the timeout already started it) before SIGKILL.
            tree::forward(pid, signal);
            let at = now + options.grace;
            kill_at = Some(kill_at.map_or(at, |earlier| earlier.min(at)));
            ending = Some(Finish::Cancelled { signal });
        }
        if kill_at.is_some_and(|at| now >= at) {
            tree::kill(pid);
            kill_at = None;
        }
        let poll = options
            .cancel
            .as_ref()
            .filter(|_| !matches!(ending, Some(Finish::Cancelled { .. })) && !exited)
            .map(|_| now + CANCEL_POLL);
        let wake = [
            deadline.filter(|_| ending.is_none()),
            kill_at,
            drain_until,
            poll,
        ]
        .into_iter()
        .flatten()
        .min();
        let event = match wake {
            Some(wake) => events.recv_timeout(wake.saturating_duration_since(now)),
            None => events.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match event {
            Ok(Event::Line(stream, text)) => {
                let control = on_line(OutputLine {
                    stream,
                    text: &text,
                });
                if control == Control::Stop && ending.is_none() {
                    ending = Some(Finish::Stopped);
                    tree::terminate(pid);
                    kill_at = Some(Instant::now() + options.grace);
                }
            }
            Ok(Event::Closed) => open_streams -= 1,
            Ok(Event::Exited(status)) => {
                exited = true;
                exit = Some(status);
                // The leader is gone; what it left in the group goes too.
                tree::kill(pid);
                kill_at = None;
                drain_until = Some(Instant::now() + options.grace);
            }
            Ok(Event::WaitFailed) => {
                exited = true;
                tree::kill(pid);
                drain_until = Some(Instant::now() + options.grace);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    if open_streams == 0 {
        for reader in readers {
            let _ = reader.join();
        }
    }

    let finish = ending.unwrap_or_else(|| Finish::Exited {
        code: exit.and_then(|status| status.code()),
        signal: exit.and_then(tree::signal_of),
    });
    Ok(RunSummary {
        finish,
        duration: started.elapsed(),
        pid,
    })
}

/// The signal the caller received, if any (0: none).
fn cancelled(cancel: Option<&Arc<AtomicI32>>) -> Option<i32> {
    cancel
        .map(|flag| flag.load(Ordering::SeqCst))
        .filter(|signal| *signal != 0)
}

/// The process tree: a process group on Unix. A group that is already gone
/// (ESRCH) is what we wanted, so signal errors are ignored.
#[cfg(unix)]
mod tree {
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    use std::process::{Command, ExitStatus};

    use nix::sys::signal::{Signal, killpg};
    use nix::unistd::Pid;

    /// The command leads a new process group (`setpgid(0, 0)`).
    pub fn own_group(command: &mut Command) {
        command.process_group(0);
    }

    pub fn terminate(leader: u32) {
        signal(leader, Signal::SIGTERM);
    }

    pub fn kill(leader: u32) {
        signal(leader, Signal::SIGKILL);
    }

    /// Passes on a signal trainyard received (by number; an unknown one ends the group).
    pub fn forward(leader: u32, number: i32) {
        signal(leader, Signal::try_from(number).unwrap_or(Signal::SIGTERM));
    }

    fn signal(leader: u32, signal: Signal) {
        if let Ok(group) = i32::try_from(leader) {
            let _ = killpg(Pid::from_raw(group), signal);
        }
    }

    pub fn signal_of(status: ExitStatus) -> Option<i32> {
        status.signal()
    }
}

/// Elsewhere (Windows): `taskkill /T` ends the command and its descendants;
/// there is no polite first signal for a console program, and what a finished
/// command left behind is not found.
#[cfg(not(unix))]
mod tree {
    use std::process::{Command, ExitStatus, Stdio};

    pub fn own_group(_command: &mut Command) {}

    pub fn terminate(leader: u32) {
        kill(leader);
    }

    pub fn forward(leader: u32, _number: i32) {
        kill(leader);
    }

    pub fn kill(leader: u32) {
        let _ = Command::new("taskkill")
            .args(["/T", "/F", "/PID", &leader.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    pub fn signal_of(_status: ExitStatus) -> Option<i32> {
        None
    }
}

fn spawn_reader(
    source: impl Read + Send + 'static,
    stream: Stream,
    sender: mpsc::Sender<Event>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut reader = BufReader::new(source);
        let mut line = Vec::new();
        loop {
            let buffer = match reader.fill_buf() {
                Ok([]) | Err(_) => break,
                Ok(buffer) => buffer,
            };
            let room = MAX_LINE - line.len();
            let newline = buffer.iter().take(room).position(|&b| b == b'\n');
            let (take, complete) = if let Some(newline) = newline {
                (newline + 1, true)
            } else {
                let take = buffer.len().min(room);
                (take, line.len() + take >= MAX_LINE)
            };
            line.extend_from_slice(&buffer[..take]);
            reader.consume(take);
            if complete && !send_line(&sender, stream, &mut line) {
                return;
            }
        }
        if !line.is_empty() {
            send_line(&sender, stream, &mut line);
        }
        let _ = sender.send(Event::Closed);
    })
}

fn send_line(sender: &mpsc::Sender<Event>, stream: Stream, line: &mut Vec<u8>) -> bool {
    let text = String::from_utf8_lossy(line)
        .trim_end_matches(['\n', '\r'])
        .to_owned();
    line.clear();
    sender.send(Event::Line(stream, text)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> RunOptions {
        RunOptions::new(
            &["sh".to_owned(), "-c".to_owned(), script.to_owned()],
            std::env::temp_dir(),
        )
    }

    #[test]
    fn streams_both_outputs_and_the_exit_code() {
        let mut lines = Vec::new();
        let summary = run_command(
            &sh("echo one; echo two >&2; printf three; exit 4"),
            |line| {
                lines.push((line.stream, line.text.to_owned()));
                Control::Continue
            },
        )
        .unwrap();
        assert_eq!(
            summary.finish,
            Finish::Exited {
                code: Some(4),
                signal: None
            }
        );
        lines.sort_by_key(|(stream, _)| *stream == Stream::Stderr);
        assert_eq!(
            lines,
            vec![
                (Stream::Stdout, "one".to_owned()),
                (Stream::Stdout, "three".to_owned()),
                (Stream::Stderr, "two".to_owned()),
            ]
        );
    }

    #[test]
    fn environment_and_folder_are_passed() {
        let dir = tempfile::tempdir().unwrap();
        let mut options = sh("echo \"$TRAINYARD_MODE $(pwd)\"");
        options.cwd = dir.path().to_owned();
        options.env.push(("TRAINYARD_MODE".into(), "sample".into()));
        let mut seen = String::new();
        run_command(&options, |line| {
            seen = line.text.to_owned();
            Control::Continue
        })
        .unwrap();
        let cwd = dir.path().canonicalize().unwrap();
        assert_eq!(seen, format!("sample {}", cwd.display()));
    }

    #[test]
    fn a_stop_ends_the_command() {
        let options = sh("echo start; exec sleep 600");
        let summary = run_command(&options, |line| {
            if line.text == "start" {
                Control::Stop
            } else {
                Control::Continue
            }
        })
        .unwrap();
        assert_eq!(summary.finish, Finish::Stopped);
    }

    #[test]
    fn a_missing_program_says_so() {
        let options = RunOptions::new(&["no-such-program-trainyard".to_owned()], ".");
        let error = run_command(&options, |_| Control::Continue).unwrap_err();
        assert!(matches!(error, RunError::NotFound { .. }), "{error}");
    }

    #[test]
    fn very_long_lines_come_in_pieces() {
        let options = sh("head -c 200000 /dev/zero | tr '\\0' x; echo");
        let mut sizes = Vec::new();
        run_command(&options, |line| {
            sizes.push(line.text.len());
            Control::Continue
        })
        .unwrap();
        assert_eq!(sizes.iter().sum::<usize>(), 200_000);
        assert!(sizes.iter().all(|size| *size <= MAX_LINE));
    }
}
