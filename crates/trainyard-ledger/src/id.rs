//! Random suffixes without another dependency: BLAKE3 of the time, the
//! process, the thread and a counter is unpredictable enough to keep two
//! writers' ids apart (it is not used for anything secret).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// `chars` lowercase hex characters (at most 64).
pub fn random_hex(chars: usize) -> String {
    let mut hasher = blake3::Hasher::new();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    hasher.update(&nanos.to_le_bytes());
    hasher.update(&std::process::id().to_le_bytes());
    hasher.update(format!("{:?}", std::thread::current().id()).as_bytes());
    hasher.update(&COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    let mut hex = hasher.finalize().to_hex().to_string();
    hex.truncate(chars.min(64));
    hex
}
