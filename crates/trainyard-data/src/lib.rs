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
