//! Where trainyard keeps its working files, relative to the project root
//! (the manifest's folder). Everything under `.trainyard/` is git-ignored.

use std::path::{Path, PathBuf};

use trainyard_data::read::Shard;

/// Saved dataset profiles, unless `--profiles` says otherwise.
pub const PROFILES_DIR: &str = ".trainyard/profiles";
/// Inferred schemas, unless `--output` says otherwise.
pub const SCHEMAS_DIR: &str = ".trainyard/schemas";
/// Deterministic samples, unless `--output` says otherwise.
pub const SAMPLES_DIR: &str = ".trainyard/samples";
/// The fingerprint stat cache: a file's size and time against its digest.
pub const STAT_CACHE: &str = ".trainyard/cache/fingerprints.json";
/// Where `model get` writes: `<MODELS_DIR>/<model>/<version>/`.
pub const MODELS_DIR: &str = ".trainyard/models";
/// Where runs write: `<RUNS_DIR>/<run id>/`.
pub const RUNS_DIR: &str = ".trainyard/runs";

/// The file a dataset's profile is saved to: `<dataset>.json`, or
/// `<dataset>.shard-<i>-of-<n>.json` for a shard.
pub fn profile_file(dir: &Path, dataset: &str, shard: Option<Shard>) -> PathBuf {
    match shard {
        Some(shard) => dir.join(format!(
            "{dataset}.shard-{}-of-{}.json",
            shard.index + 1,
            shard.count
        )),
        None => dir.join(format!("{dataset}.json")),
    }
}
