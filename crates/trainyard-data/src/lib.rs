//! trainyard's data engine. Everything streams: memory does not grow with the
//! size of a dataset. Findings carry file and line so CI can point at the row.
//!
//! Module owners while the engine is being built: `read`, `schema`, `check`,
//! `validate`, `junit` (the validation path); `profile`, `drift`, `fingerprint`,
//! `sample` (statistics and digests).

pub mod profile;

// The validation path.
pub mod check;
pub mod drift;
pub mod fingerprint;
pub mod infer;
pub mod junit;
pub mod read;
pub mod sample;
pub mod schema;
pub mod validate;

/// Runs the engine's parallel work (the validation pass, fingerprints) on
/// `threads` worker threads instead of one per core: once per process, before
/// any pass (the pool is global; a second call fails).
pub fn use_threads(threads: usize) -> Result<(), String> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .map_err(|error| error.to_string())
}
