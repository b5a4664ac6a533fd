//! Unpredictable hex tokens (heredoc delimiters, stop-commands tokens) from
//! std's randomly seeded `RandomState`: no extra dependency.

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// 32 hex digits (128 bits) that differ on every call.
pub(crate) fn hex_token() -> String {
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    let high = RandomState::new().hash_one((count, nanos, 1_u8));
    let low = RandomState::new().hash_one((count, nanos, 2_u8));
    format!("{high:016x}{low:016x}")
}

/// A token that does not occur in any of `texts`.
pub(crate) fn token_not_in(prefix: &str, texts: &[&str]) -> String {
    loop {
        let token = format!("{prefix}{}", hex_token());
        if texts.iter().all(|text| !text.contains(&token)) {
            return token;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_differ_and_avoid_the_text() {
        let a = hex_token();
        let b = hex_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        let token = token_not_in("ghadelimiter_", &["ghadelimiter_"]);
        assert!(token.starts_with("ghadelimiter_") && token.len() > "ghadelimiter_".len());
    }
}
