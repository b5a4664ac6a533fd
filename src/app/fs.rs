//! Files a step writes: always atomically (see `trainyard_core::fs`), with
//! a failure as the step error that names the file.

use std::path::Path;

use trainyard_core::StepError;

/// Writes `bytes` to `path` through a temporary file, fsync and rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StepError> {
    // A signal waits for the rename: no temporary file is left behind.
    let _deferred = super::interrupt::defer();
    trainyard_core::fs::write_atomic(path, bytes)
        .map_err(|error| StepError::io("writing", path, error))
}
