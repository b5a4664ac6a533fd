//! SIGINT and SIGTERM: a person pressed Ctrl-C, or the CI cancelled the job.
//!
//! [`install`] (the first thing `main` does) hears both signals on one
//! thread of its own (signal-hook's iterator: its handler only writes to a
//! pipe that thread reads, and we write no unsafe code). Nothing is blocked,
//! so child processes (the training command, `git`) start with the usual
//! signal mask and default actions. What a signal does depends on what the
//! process is doing:
//!
//! - **by default** trainyard ends at once with 130 (SIGINT) or 143
//!   (SIGTERM): reading, checking and judging leave nothing behind;
//! - **inside [`defer`]** (an atomic write, a promotion's commit and its
//!   ledger records) the work finishes first, then trainyard ends, so a
//!   signal never leaves a half-done change (a branch moved without its
//!   ledger record, a temporary file);
//! - **after [`take_over`]** (`train`, `reproduce` while the training
//!   command runs) the step handles it: the signal is passed on to the
//!   command's process group ([`received_flag`]), the run is recorded as
//!   cancelled, the report published, and `main` ends with [`exit_code`].
//!
//! (Blocking the signals and `sigwait`ing for them would need no handler,
//! but children inherit a blocked mask — std does not reset it — and a
//! Python training command then never sees SIGTERM.)

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};

/// The last signal received (its number), 0 before any.
static RECEIVED: LazyLock<Arc<AtomicI32>> = LazyLock::new(|| Arc::new(AtomicI32::new(0)));
/// How many [`Deferred`] sections are open.
static DEFERRED: AtomicUsize = AtomicUsize::new(0);
/// A step handles signals itself from now on.
static TAKEN_OVER: AtomicBool = AtomicBool::new(false);

/// Starts listening for SIGINT and SIGTERM. Elsewhere than Unix, a no-op
/// (the signals keep their default action).
pub fn install() {
    #[cfg(unix)]
    unix::install();
}

/// The exit code after a signal: 128 + its number (130 for SIGINT, 143 for
/// SIGTERM), as shells report a process a signal ended.
pub fn exit_code() -> Option<u8> {
    received().and_then(|signal| u8::try_from(128 + signal).ok())
}

/// The signal received, if one was.
pub fn received() -> Option<i32> {
    Some(RECEIVED.load(Ordering::SeqCst)).filter(|signal| *signal != 0)
}

/// The flag the training runner watches ([`trainyard_runner::RunOptions::cancel`]).
pub fn received_flag() -> Arc<AtomicI32> {
    Arc::clone(&RECEIVED)
}

/// The name of a signal for people and records: `SIGTERM`.
pub fn signal_name(signal: i32) -> String {
    match signal {
        2 => "SIGINT".to_owned(),
        15 => "SIGTERM".to_owned(),
        other => format!("signal {other}"),
    }
}

/// From now on the step handles signals: none ends the process; the step
/// reads [`received`] and ends by itself, and `main` exits with [`exit_code`].
pub fn take_over() {
    TAKEN_OVER.store(true, Ordering::SeqCst);
}

/// A section a signal must not cut in two; see [`defer`].
#[derive(Debug)]
#[must_use = "the section ends when this is dropped"]
pub struct Deferred(());

/// Until the returned guard is dropped, a signal waits: then the process
/// ends (unless a step took signals over), with the work of the section done.
pub fn defer() -> Deferred {
    DEFERRED.fetch_add(1, Ordering::SeqCst);
    Deferred(())
}

impl Drop for Deferred {
    fn drop(&mut self) {
        if DEFERRED.fetch_sub(1, Ordering::SeqCst) == 1 {
            end_if_signalled();
        }
    }
}

/// Ends the process when a signal came and nothing holds it back.
fn end_if_signalled() {
    if TAKEN_OVER.load(Ordering::SeqCst) || DEFERRED.load(Ordering::SeqCst) > 0 {
        return;
    }
    if let Some(code) = exit_code() {
        // `exit` is safe to call from two threads at once (std serialises it).
        std::process::exit(i32::from(code));
    }
}

#[cfg(unix)]
mod unix {
    use std::sync::atomic::Ordering;

    use signal_hook::consts::{SIGINT, SIGTERM};
    use signal_hook::iterator::Signals;

    pub fn install() {
        // If it cannot be set up, the signals keep their default action:
        // the process ends, as it did before.
        let Ok(mut signals) = Signals::new([SIGINT, SIGTERM]) else {
            return;
        };
        let _ = std::thread::Builder::new()
            .name("signals".to_owned())
            .spawn(move || {
                for signal in signals.forever() {
                    super::RECEIVED.store(signal, Ordering::SeqCst);
                    super::end_if_signalled();
                }
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_and_names_are_the_shells() {
        assert_eq!(signal_name(2), "SIGINT");
        assert_eq!(signal_name(15), "SIGTERM");
        assert_eq!(u8::try_from(128 + 15).ok(), Some(143));
    }
}
