//! Locks between trainyard processes that cannot go stale: an OS advisory
//! lock on a file (`flock` on Unix, `LockFileEx` on Windows, through std's
//! `File::lock`). The operating system releases it when its holder ends,
//! however it ends (a kill, a crash, a cancelled CI job), so a lock left
//! behind never blocks the next run; and holding it proves that no other
//! trainyard process is inside the section it guards. The file stays in
//! place: it is the lock's name, not the lock.

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// An exclusive lock held while this lives.
#[derive(Debug)]
pub struct ProcessLock {
    _file: File,
    path: PathBuf,
}

impl ProcessLock {
    /// Takes the lock at `path` (creating the file and its folder), waiting
    /// up to `wait` while another process holds it; `Ok(None)` when it is
    /// still held then.
    pub fn acquire(path: &Path, wait: Duration) -> io::Result<Option<Self>> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        let until = Instant::now() + wait;
        let mut pause = Duration::from_millis(5);
        loop {
            match file.try_lock() {
                Ok(()) => {
                    return Ok(Some(Self {
                        _file: file,
                        path: path.to_path_buf(),
                    }));
                }
                Err(TryLockError::WouldBlock) if Instant::now() < until => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(100));
                }
                Err(TryLockError::WouldBlock) => return Ok(None),
                Err(TryLockError::Error(error)) => return Err(error),
            }
        }
    }

    /// The lock's file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_held_lock_is_refused_and_free_once_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locks/section.lock");
        let held = ProcessLock::acquire(&path, Duration::ZERO)
            .unwrap()
            .unwrap();
        assert!(
            ProcessLock::acquire(&path, Duration::from_millis(50))
                .unwrap()
                .is_none(),
            "a second holder (another open file, as another process has) is refused"
        );
        drop(held);
        assert!(
            ProcessLock::acquire(&path, Duration::ZERO)
                .unwrap()
                .is_some()
        );
    }
}
